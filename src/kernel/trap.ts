/**
 * The kernel's page-fault entry (axptr's "Page Fault Coordination").
 *
 * Installed as a machine's trap vector. A fault from user mode, or from
 * kernel mode while `isAccessingUserMemory()` is true on the faulting CPU,
 * goes to the address space running on the faulting MMU, taken through the
 * space's provider (a process's space under its lock, as a real kernel
 * would), which fixes it or not. A kernel-mode fault outside a user access
 * is a kernel bug: it raises {@link KernelPanic}, which nothing in axptr
 * catches. The counters are the machine's (`machine.trapStats`).
 */
import { activeSpaceOf } from '../mm/index.js';
import {
  Access,
  type Machine,
  MappingFlags,
  type Mmu,
  type PageFault,
  Privilege,
  type TrapStats,
} from '../paging/index.js';
import { isAccessingUserMemory } from '../uptr/index.js';

export type { TrapStats } from '../paging/index.js';

/** A fault the kernel cannot survive (a real kernel would halt). */
export class KernelPanic extends Error {
  constructor(
    message: string,
    readonly fault?: PageFault,
  ) {
    super(message);
    this.name = 'KernelPanic';
  }
}

/** The handler itself, for a fault on `machine`: answers true when the fault is fixed and the access may be retried. */
export function handlePageFaultTrap(machine: Machine, fault: PageFault, mmu: Mmu): boolean {
  const stats = machine.trapStats;
  const fromUser = fault.privilege === Privilege.User;
  if (!fromUser && !isAccessingUserMemory(machine)) {
    stats.panics++;
    throw new KernelPanic(`kernel ${fault} outside a user-memory access`, fault);
  }
  if (fromUser) stats.userFaults++;
  else stats.kernelUserAccessFaults++;
  const aspace = activeSpaceOf(mmu);
  // A kernel fetch from a user page (SMEP / S-mode X on U pages) is refused by the MMU whatever the
  // page table says: no handler can fix it, so it is one unfixed fault, not a "fix" retried.
  if (aspace === undefined || (!fromUser && fault.access === Access.Execute)) {
    stats.unfixed++;
    return false;
  }
  const access = fault.access | (fromUser ? MappingFlags.USER : 0);
  const fixed = aspace.provider.withAddrSpace((as) => as.handlePageFault(fault.vaddr, access));
  if (fixed) stats.fixed++;
  else stats.unfixed++;
  return fixed;
}

/** Makes {@link handlePageFaultTrap} the trap vector of `machine` (every CPU's MMU and every space's walker). */
export function installPageFaultHandler(machine: Machine): void {
  machine.trapHandler = (fault, mmu) => handlePageFaultTrap(machine, fault, mmu);
}

/** A copy of `machine`'s trap counters. */
export function trapStats(machine: Machine): TrapStats {
  return { ...machine.trapStats };
}
