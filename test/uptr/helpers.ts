/**
 * Shared fixtures for the uptr tests (not a test file itself).
 *
 * A "world" is physical memory, its frame allocator and one address space
 * with a fixed set of areas (the standard layout below), on one of the five
 * page-table formats. User areas carry `USER` (the copy family needs it);
 * the seed API (`UserPtr` / `UserConstPtr`) checks only READ / READ|WRITE.
 */
import { LinuxError } from 'axptr/errno';
import { installPageFaultHandler } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import {
  type FrameAllocator,
  Machine,
  MappingFlags,
  type PhysMemory,
  PTE_FORMATS,
  type PteFormat,
} from 'axptr/paging';
import { pattern } from '../support/bytes.js';

export const K4 = 0x1000;

export const FORMATS: readonly PteFormat[] = Object.values(PTE_FORMATS);

export const { READ: R, WRITE: W, EXECUTE: X, USER: U } = MappingFlags;
export const URW = U | R | W;
export const UR = U | R;
export const UW = U | W;
export const RW = R | W;

/** Space base and end: [64 KiB, 128 GiB) fits every format (Sv39's user half is 256 GiB). */
export const SPACE_BASE = 0x1_0000;
export const SPACE_END = 2 ** 37;

// The standard layout.
/** 16 pages USER|READ|WRITE, populated. The page before it is a hole. */
export const RW_AREA = 0x10_0000;
export const RW_PAGES = 16;
/** 4 pages USER|READ, populated, directly after RW_AREA. */
export const RO_AREA = RW_AREA + RW_PAGES * K4;
export const RO_PAGES = 4;
/** The hole after RO_AREA (nothing mapped until LAZY_AREA). */
export const HOLE = RO_AREA + RO_PAGES * K4;
/** 16 pages USER|READ|WRITE, lazily allocated; a hole follows. */
export const LAZY_AREA = 0x20_0000;
export const LAZY_PAGES = 16;
export const LAZY_END = LAZY_AREA + LAZY_PAGES * K4;
/** 4 pages READ|WRITE without USER (kernel memory inside the space), populated. */
export const KERNEL_AREA = 0x30_0000;
/** 1 page USER|WRITE without READ, populated. */
export const WO_AREA = 0x40_0000;
/** 4 pages USER|READ, lazily allocated. */
export const LAZY_RO_AREA = 0x50_0000;

export interface World {
  format: PteFormat;
  /** The world's own machine, with the kernel's page-fault entry installed. */
  machine: Machine;
  mem: PhysMemory;
  frames: FrameAllocator;
  aspace: AddrSpace;
}

/**
 * An empty space (no areas) on a fresh machine whose trap vector is the
 * kernel's page-fault entry. The machine becomes the one running now (a
 * kernel's boot), so the seed's free functions (`accessUserMemory(fn)`,
 * `isAccessingUserMemory()`) act on it.
 */
export function emptyWorld(format: PteFormat, ramFrames = 1024): World {
  const machine = new Machine({ memSize: ramFrames * K4 });
  installPageFaultHandler(machine);
  machine.makeCurrent();
  const aspace = new AddrSpace({ base: SPACE_BASE, size: SPACE_END - SPACE_BASE, format, machine });
  return { format, machine, mem: machine.mem, frames: machine.frames, aspace };
}

/** A space with the standard layout. */
export function makeWorld(format: PteFormat, ramFrames = 1024): World {
  const w = emptyWorld(format, ramFrames);
  const a = w.aspace;
  a.mapAlloc(RW_AREA, RW_PAGES * K4, URW, true);
  a.mapAlloc(RO_AREA, RO_PAGES * K4, UR, true);
  a.mapAlloc(LAZY_AREA, LAZY_PAGES * K4, URW, false);
  a.mapAlloc(KERNEL_AREA, 4 * K4, RW, true);
  a.mapAlloc(WO_AREA, K4, UW, true);
  a.mapAlloc(LAZY_RO_AREA, 4 * K4, UR, false);
  return w;
}

/** The errno of the LinuxError `fn` throws; undefined when it returns. Other exceptions propagate. */
export function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LinuxError) return e.errno;
    throw e;
  }
  return undefined;
}

/** The bytes at `[start, start + len)`, read ignoring permissions (lazy pages read as zero, nothing allocated). */
export function bytesOf(w: World | AddrSpace, start: number, len: number): Uint8Array {
  const sp = w instanceof AddrSpace ? w : w.aspace;
  const b = new Uint8Array(len);
  sp.read(start, b);
  return b;
}

/** Writes `data` at `start`, ignoring permissions (populates the pages). */
export function put(
  w: World | AddrSpace,
  start: number,
  data: Uint8Array | string | readonly number[],
): void {
  const sp = w instanceof AddrSpace ? w : w.aspace;
  sp.write(start, typeof data === 'string' ? utf8(data) : Uint8Array.from(data));
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A NUL-terminated C string's bytes. */
export function cstr(s: string): Uint8Array {
  const b = utf8(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

export { pattern };

/** Pattern bytes with no zero byte (for strings). */
export function nonZero(len: number, seed: number): Uint8Array {
  return pattern(len, seed).map((b) => (b === 0 ? 0x41 : b));
}

export function residentPages(w: World | AddrSpace): number {
  const sp = w instanceof AddrSpace ? w : w.aspace;
  return sp.stats().residentPages;
}

/** Little-endian u32 bytes. */
export function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Little-endian u64 bytes. */
export function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

export function readU32(w: World | AddrSpace, addr: number): number {
  return new DataView(bytesOf(w, addr, 4).buffer).getUint32(0, true);
}

/** Values no user address can have, as a register might hold them. */
export const WILD_ADDRESSES: readonly (number | bigint)[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  -4096,
  1.5,
  RW_AREA + 0.5,
  2 ** 53,
  2 ** 64,
  -1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 64n,
  2n ** 64n + BigInt(RW_AREA),
];
