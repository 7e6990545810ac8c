/**
 * The software TLB: direct-mapped, one array set per access kind, tagged by
 * virtual page number. Each entry remembers in which modes it may be used
 * (user, kernel, kernel with user access allowed), so toggling user access
 * needs no flush. The arrays are public so that a CPU can check a hit
 * inline (a tag compare and a mode test on typed arrays, no call).
 */
import { Access } from './fault.js';
import { MappingFlags } from './flags.js';

export interface TlbStats {
  hits: number;
  misses: number;
  flushes: number;
  faults: number;
}

// Mode bits stored per TLB entry.
export const MODE_USER = 1;
export const MODE_KERNEL = 2;
export const MODE_KERNEL_SUM = 4;

export class TlbSet {
  readonly tag: Float64Array;
  /** Index of the frame in the memory views: up to 4 GiB, so unsigned (an Int32Array wrapped above 2 GiB). */
  readonly off: Uint32Array;
  readonly modes: Uint8Array;
  constructor(entries: number) {
    // NaN marks an empty slot: it equals no page number (-1 would match the
    // page number of a negative address and revive a flushed entry).
    this.tag = new Float64Array(entries).fill(Number.NaN);
    this.off = new Uint32Array(entries);
    this.modes = new Uint8Array(entries);
  }
}

/** The modes (user / kernel / kernel with user access) in which `access` to a page with `flags` is allowed. */
export function allowedModes(flags: MappingFlags, access: Access): number {
  if ((flags & access) === 0) return 0;
  if ((flags & MappingFlags.USER) === 0) return MODE_KERNEL | MODE_KERNEL_SUM;
  // A USER page: the kernel may read / write it only with user access allowed, and never execute it.
  return access === Access.Execute ? MODE_USER : MODE_USER | MODE_KERNEL_SUM;
}
