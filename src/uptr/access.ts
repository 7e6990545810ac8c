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
 * the flag as it was before the outermost call (clear). The flag lives on
 * each CPU of its machine (`Cpu.userAccessDepth`), so two machines in one
 * process have their own.
 *
 * The user-pointer layer never switches address spaces: an access to a space
 * that the current CPU does not run (a ptrace- or process_vm_readv-style
 * access, the kernel writing a new program's stack) goes through that
 * space's own walker ({@link AddrSpace.remoteMmu}), and whatever space the
 * CPU runs stays installed, including one the kernel switched to inside the
 * access (an exec).
 */
import { Errno, LinuxError } from '../errno/index.js';
import type { AddrSpace } from '../mm/index.js';
import { currentMachine, type Machine, type Mmu } from '../paging/index.js';
import { type CpuSet, PerCpuError, restoreRunningCpuSet } from '../percpu/index.js';

/**
 * True while the current CPU of `machine` (by default the machine running
 * now) is inside {@link accessUserMemory}: axptr's `ACCESSING_USER_MEM`.
 */
export function isAccessingUserMemory(machine: Machine | null = currentMachine()): boolean {
  return machine !== null && machine.cpu.userAccessDepth > 0;
}

/**
 * Opens a user access on the current CPU of `machine` (the first half of
 * {@link accessUserMemory}, for hot paths that avoid a closure): sets the
 * flag, opens the CPU's user-access window, pins the CPU, and makes
 * `machine` the one running now. Answers the machine that ran before; pass
 * it to {@link endUserAccess} in a `finally`.
 */
export function beginUserAccess(machine: Machine | null = currentMachine()): CpuSet | null {
  if (machine === null) throw new PerCpuError('no machine is running: enter one with machine.makeCurrent()');
  const outer = machine.makeCurrent();
  machine.pinEnter();
  const cpu = machine.cpu;
  cpu.userAccessDepth++;
  cpu.mmu.userAccessAllowed = true;
  return outer;
}

/** Closes the innermost user access on `machine`: restores the flag, the access window and the running machine. */
export function endUserAccess(machine: Machine, outer: CpuSet | null): void {
  const cpu = machine.cpu;
  const depth = --cpu.userAccessDepth;
  cpu.mmu.userAccessAllowed = depth > 0;
  machine.unpin();
  restoreRunningCpuSet(outer);
}

/**
 * Runs `fn` with the flag set and kernel access to USER pages allowed on the
 * current CPU of `machine` (by default the machine running now), keeping the
 * CPU pinned (no migration mid-access); restores both afterwards, also when
 * `fn` throws.
 */
export function accessUserMemory<R>(fn: () => R, machine: Machine | null = currentMachine()): R {
  const outer = beginUserAccess(machine);
  try {
    return fn();
  } finally {
    endUserAccess(machine!, outer);
  }
}

/**
 * The MMU through which the current CPU reaches `aspace`, with the
 * user-access window matching the flag: the CPU's own MMU when it runs
 * `aspace`, else the space's own walker (no switch of the CPU's space, no
 * flush). `EFAULT` for a destroyed space.
 */
export function userMmu(aspace: AddrSpace): Mmu {
  // A reference kept past its space's end (UserRef / UserSlice): the memory is gone.
  if (aspace.isDestroyed) throw new LinuxError(Errno.EFAULT, 'address space destroyed');
  const cpu = aspace.machine.cpu;
  const mmu = cpu.mmu;
  if (mmu.owner === aspace) return mmu;
  const remote = aspace.remoteMmu();
  remote.userAccessAllowed = cpu.userAccessDepth > 0;
  return remote;
}
