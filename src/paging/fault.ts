/**
 * What a failed translation is: the kind of access, the privilege, the
 * reason, and the two forms a fault takes (a value for the trap handler, an
 * exception for an access nobody fixed).
 */
import { hex } from '../addr/index.js';

/** Kind of access: the same bits as READ / WRITE / EXECUTE in `MappingFlags`. */
export const Access = { Read: 1, Write: 2, Execute: 4 } as const;
export type Access = (typeof Access)[keyof typeof Access];

export const Privilege = { User: 0, Kernel: 1 } as const;
export type Privilege = (typeof Privilege)[keyof typeof Privilege];

/**
 * `not-present` and `permission` are page faults; `bus-error` is an access
 * fault (the page maps physical memory that is not RAM), which no page-fault
 * handler can fix, so it is raised without calling the trap handler.
 */
export type PageFaultReason = 'not-present' | 'permission' | 'bus-error';

export function accessName(access: Access): string {
  return access === Access.Read ? 'read' : access === Access.Write ? 'write' : 'execute';
}

/** A failed translation: what the trap handler is given. */
export class PageFault {
  constructor(
    readonly vaddr: number,
    readonly access: Access,
    readonly privilege: Privilege,
    readonly reason: PageFaultReason,
  ) {}

  toString(): string {
    const who = this.privilege === Privilege.User ? 'user' : 'kernel';
    return `page fault: ${who} ${accessName(this.access)} at ${hex(this.vaddr)} (${this.reason})`;
  }
}

/**
 * An access that faulted and that the trap handler did not fix. `done` is how
 * many bytes of a bulk access completed before the fault.
 */
export class PageFaultError extends Error {
  constructor(
    readonly fault: PageFault,
    readonly done = 0,
  ) {
    super(fault.toString());
    this.name = 'PageFaultError';
  }
}
