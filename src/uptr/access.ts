/**
 * Page-fault coordination: the per-CPU "accessing user memory" flag.
 *
 * While it is set, a page fault taken in kernel mode is a legitimate access
 * to user memory (the kernel's handler fills the page or fails the copy);
 * while it is clear, such a fault is a kernel bug. {@link accessUserMemory}
 * also opens the CPU's user-access window (SUM / cleared PAN / `stac`), so a
 * kernel-mode touch of a USER page outside it faults, SMAP-like.
 *
 * Unlike axptr, which set the flag to false on exit, the previous value is
 * restored: nested calls keep the outer window open, and an exception leaves
 * the flag as it was before the outermost call (clear). An access to another
 * space than the one the CPU runs (a ptrace- or process_vm_readv-style read)
 * switches the CPU to it for the access and back afterwards.
 */
import { type AddrSpace, activeSpaceOf } from '../mm/index.js';
import { CPU_MMU, currentMmu, type Mmu } from '../paging/index.js';
import { PerCpu } from '../percpu/index.js';

/** axptr's `ACCESSING_USER_MEM`: one flag per CPU, initially false. */
export const ACCESSING_USER_MEM = new PerCpu<boolean>(false);

/** True while the current CPU is inside {@link accessUserMemory}. */
export function isAccessingUserMemory(): boolean {
  return ACCESSING_USER_MEM.readCurrent();
}

/**
 * Runs `fn` with the flag set and kernel access to USER pages allowed on the
 * current CPU, keeping the CPU pinned (no migration mid-access); restores
 * both afterwards, also when `fn` throws.
 */
export function accessUserMemory<R>(fn: () => R): R {
  // Hot path (every user access): no closures, no allocation.
  // The CPU's user-access window mirrors the flag (userMmu() opens it on an MMU made inside fn).
  const machine = ACCESSING_USER_MEM.machine;
  const outer = ACCESSING_USER_MEM.readCurrent();
  ACCESSING_USER_MEM.writeCurrent(true);
  const mmu = CPU_MMU.readCurrent();
  const spaceBefore = mmu === null ? undefined : activeSpaceOf(mmu);
  if (mmu !== null) mmu.userAccessAllowed = true;
  machine.pinEnter();
  try {
    return fn();
  } finally {
    machine.unpin();
    ACCESSING_USER_MEM.writeCurrent(outer);
    const now = CPU_MMU.readCurrent();
    if (now !== null) {
      now.userAccessAllowed = outer;
      // An access to another process's space switched this CPU to it (userMmu): switch back,
      // or the interrupted process would run on the other one's page table.
      if (
        now === mmu &&
        spaceBefore !== undefined &&
        !spaceBefore.isDestroyed &&
        activeSpaceOf(now) !== spaceBefore
      ) {
        spaceBefore.activate(now);
      }
    }
  }
}

/**
 * The current CPU's MMU running `aspace` (switching the CPU to it when it
 * runs another space, as a kernel's `switch_mm` would), with the user-access
 * window matching the flag.
 */
export function userMmu(aspace: AddrSpace): Mmu {
  const mmu = currentMmu(aspace.mem);
  if (!aspace.isActiveOn(mmu)) aspace.activate(mmu);
  mmu.userAccessAllowed = ACCESSING_USER_MEM.readCurrent();
  return mmu;
}
