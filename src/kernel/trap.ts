/**
 * The kernel's page-fault entry (axptr's "Page Fault Coordination").
 *
 * Installed as every CPU's MMU trap handler. A fault from user mode, or from
 * kernel mode while `isAccessingUserMemory()` is true, goes to the address
 * space running on the faulting MMU (through its provider, so a process
 * space is locked as a real kernel would), which fixes it or not. A
 * kernel-mode fault outside a user access is a kernel bug: it raises
 * {@link KernelPanic}, which nothing in axptr catches.
 */
import { type AddrSpace, activeSpaceOf } from '../mm/index.js';
import {
  Access,
  MappingFlags,
  type Mmu,
  type PageFault,
  Privilege,
  setDefaultTrapHandler,
} from '../paging/index.js';
import { type AddrSpaceProvider, isAccessingUserMemory } from '../uptr/index.js';

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

export interface TrapStats {
  userFaults: number;
  kernelUserAccessFaults: number;
  fixed: number;
  unfixed: number;
  panics: number;
}

const providers = new WeakMap<AddrSpace, AddrSpaceProvider>();
const stats: TrapStats = { userFaults: 0, kernelUserAccessFaults: 0, fixed: 0, unfixed: 0, panics: 0 };

/**
 * Tells the fault handler to reach `aspace` through `provider` (e.g. the
 * process's `LockedAddrSpace`) instead of directly.
 */
export function registerAddrSpaceProvider(aspace: AddrSpace, provider: AddrSpaceProvider): void {
  providers.set(aspace, provider);
}

/** The handler itself: answers true when the fault is fixed and the access may be retried. */
export function handlePageFaultTrap(fault: PageFault, mmu: Mmu): boolean {
  const fromUser = fault.privilege === Privilege.User;
  if (!fromUser && !isAccessingUserMemory()) {
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
  const provider = providers.get(aspace) ?? aspace;
  const access = fault.access | (fromUser ? MappingFlags.USER : 0);
  const fixed = provider.withAddrSpace((as) => as.handlePageFault(fault.vaddr, access));
  if (fixed) stats.fixed++;
  else stats.unfixed++;
  return fixed;
}

/** Makes {@link handlePageFaultTrap} the trap handler of every CPU's MMU. */
export function installPageFaultHandler(): void {
  setDefaultTrapHandler(handlePageFaultTrap);
}

export function trapStats(): TrapStats {
  return { ...stats };
}
