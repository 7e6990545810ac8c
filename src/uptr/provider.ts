/**
 * Address-space providers (axptr's `AddrSpaceProvider`): how a user pointer
 * reaches the address space it points into.
 *
 * A bare {@link AddrSpace} is a provider (it has `withAddrSpace`). A process
 * space behind a lock is a {@link LockedAddrSpace}. The lock is modelled
 * faithfully: taking it while the same CPU holds it is a deadlock and throws
 * {@link DeadlockError} (a spin lock would hang forever). That is what makes
 * the NUL-terminated scan's design testable: the scan releases the lock
 * before it reads, so the page-fault handler, which takes the same lock, can
 * run in the middle of the scan (axptr held it and deadlocked there).
 */
import type { AddrSpace, AddrSpaceProvider } from '../mm/index.js';
import type { CpuSet } from '../percpu/index.js';

export type { AddrSpaceProvider } from '../mm/index.js';

/** Taking a lock its own CPU already holds. */
export class DeadlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlockError';
  }
}

/** A non-reentrant kernel mutex around a value; its owner is a CPU of `cpus` (the machine it lives on). */
export class Mutex<T> {
  private owner = -1;
  private acquisitions = 0;

  constructor(
    private readonly value: T,
    private readonly cpus: CpuSet,
  ) {}

  get isLocked(): boolean {
    return this.owner >= 0;
  }

  /** How many times the lock was taken (for tests and statistics). */
  get lockCount(): number {
    return this.acquisitions;
  }

  /** Runs `fn` holding the lock. */
  lock<R>(fn: (value: T) => R): R {
    const cpu = this.cpus.currentCpu;
    if (this.owner === cpu) throw new DeadlockError(`CPU ${cpu} takes a lock it already holds`);
    if (this.owner >= 0)
      throw new DeadlockError(
        `lock held by CPU ${this.owner} while CPU ${cpu} waits (no scheduler to release it)`,
      );
    this.owner = cpu;
    this.acquisitions++;
    try {
      return fn(this.value);
    } finally {
      this.owner = -1;
    }
  }
}

/**
 * A process's address space behind its lock: the provider a kernel hands to
 * user pointers. It attaches itself to the space, so the page-fault handler
 * takes the same lock without being told.
 */
export class LockedAddrSpace implements AddrSpaceProvider {
  readonly mutex: Mutex<AddrSpace>;

  constructor(aspace: AddrSpace) {
    this.mutex = new Mutex(aspace, aspace.machine);
    aspace.attachProvider(this);
  }

  withAddrSpace<R>(fn: (aspace: AddrSpace) => R): R {
    return this.mutex.lock(fn);
  }
}
