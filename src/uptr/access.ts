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
import { Errno, LinuxError } from '../errno/index.js';
import { AddrSpace } from '../mm/index.js';
import { CPU_MMU, type Mmu, mmuFor } from '../paging/index.js';
import { PerCpu } from '../percpu/index.js';

/** axptr's `ACCESSING_USER_MEM`: one flag per CPU, initially false. */
export const ACCESSING_USER_MEM = new PerCpu<boolean>(false);

/** True while the current CPU is inside {@link accessUserMemory}. */
export function isAccessingUserMemory(): boolean {
  return ACCESSING_USER_MEM.readCurrent();
}

// What each open user access saved, as a stack of parallel arrays (nothing is allocated per
// access). One stack serves every CPU: an access pins its CPU, so accesses never interleave.
const savedFlag: boolean[] = [];
const savedMmu: (Mmu | null)[] = [];
const savedSpace: (object | null)[] = [];
// True when userMmu itself switched the CPU to another space during that access: only such a
// switch is undone at its end (a switch the kernel made inside the access, e.g. exec, stays).
const switchedByAccess: boolean[] = [];

/**
 * Opens a user access on the current CPU (the first half of
 * {@link accessUserMemory}, for hot paths that avoid a closure). Every call
 * must be paired with {@link endUserAccess} in a `finally`.
 */
export function beginUserAccess(): void {
  const mmu = CPU_MMU.readCurrent();
  savedFlag.push(ACCESSING_USER_MEM.readCurrent());
  savedMmu.push(mmu);
  savedSpace.push(mmu === null ? null : mmu.owner);
  switchedByAccess.push(false);
  ACCESSING_USER_MEM.writeCurrent(true);
  if (mmu !== null) mmu.userAccessAllowed = true;
  ACCESSING_USER_MEM.machine.pinEnter();
}

/** Closes the innermost user access: restores the flag, the access window and the CPU's space. */
export function endUserAccess(): void {
  ACCESSING_USER_MEM.machine.unpin();
  const outer = savedFlag.pop()!;
  const mmu = savedMmu.pop() ?? null;
  const spaceBefore = savedSpace.pop();
  const switched = switchedByAccess.pop() === true;
  ACCESSING_USER_MEM.writeCurrent(outer);
  if (!outer && borrowed.length > 0) {
    // Side MMUs (over other physical memory) used by the access: close their windows.
    for (const side of borrowed) side.userAccessAllowed = false;
    borrowed.length = 0;
  }
  const now = CPU_MMU.readCurrent();
  // The MMU the access opened may have been replaced meanwhile (the kernel switching machines): close it too.
  if (mmu !== null && mmu !== now) mmu.userAccessAllowed = outer;
  if (now === null) return;
  now.userAccessAllowed = outer;
  // An access to another process's space switched this CPU to it (userMmu): switch back,
  // or the interrupted process would run on the other one's page table.
  if (
    switched &&
    now === mmu &&
    now.owner !== spaceBefore &&
    spaceBefore instanceof AddrSpace &&
    !spaceBefore.isDestroyed
  ) {
    spaceBefore.activate(now);
  }
}

// Side MMUs whose window an open access opened (closed when the outermost access ends).
const borrowed: Mmu[] = [];

/**
 * Runs `fn` with the flag set and kernel access to USER pages allowed on the
 * current CPU, keeping the CPU pinned (no migration mid-access); restores
 * both afterwards, also when `fn` throws.
 */
export function accessUserMemory<R>(fn: () => R): R {
  beginUserAccess();
  try {
    return fn();
  } finally {
    endUserAccess();
  }
}

/**
 * The current CPU's MMU running `aspace`, with the user-access window
 * matching the flag: the CPU's own MMU, switched to `aspace` when it runs
 * another space (as a kernel's `switch_mm` would; {@link endUserAccess}
 * switches back), or a side MMU when `aspace` lives in other physical memory
 * (another simulated machine). `EFAULT` for a destroyed space.
 */
export function userMmu(aspace: AddrSpace): Mmu {
  // A reference kept past its space's end (UserRef / UserSlice): the memory is gone.
  if (aspace.isDestroyed) throw new LinuxError(Errno.EFAULT, 'address space destroyed');
  const mmu = mmuFor(aspace.mem);
  if (!aspace.isActiveOn(mmu)) {
    aspace.activate(mmu);
    if (switchedByAccess.length > 0) switchedByAccess[switchedByAccess.length - 1] = true;
  }
  const open = ACCESSING_USER_MEM.readCurrent();
  if (open && mmu !== CPU_MMU.readCurrent() && !mmu.userAccessAllowed) borrowed.push(mmu);
  mmu.userAccessAllowed = open;
  return mmu;
}
