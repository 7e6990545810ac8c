/** Shared fixtures for the mm tests (not a test file itself). */
import { AddrRange, type VirtAddrRange, va } from 'axptr/addr';
import { LinuxError } from 'axptr/errno';
import { AddrSpace } from 'axptr/mm';
import { FrameAllocator, Machine, PhysMemory, PTE_FORMATS, type PteFormat } from 'axptr/paging';

export const K4 = 0x1000;
export const M2 = 0x20_0000;

export const FORMATS: readonly PteFormat[] = Object.values(PTE_FORMATS);

/** Physical memory reserved below the allocator for linear mappings. */
export const LINEAR_FRAMES = 64;

export interface World {
  machine: Machine;
  mem: PhysMemory;
  frames: FrameAllocator;
  /** Physical address of the first reserved (non-allocator) frame. */
  linearBase: number;
}

export function world(ramFrames = 2048): World {
  const mem = new PhysMemory(ramFrames * K4);
  const frames = new FrameAllocator(mem, { start: mem.base + LINEAR_FRAMES * K4 });
  return { machine: new Machine({ mem, frames }), mem, frames, linearBase: mem.base };
}

/** A user space `[base, base + size)`, by default 0x1_0000 .. 1 GiB (fits every format). */
export function space(
  w: World,
  format: PteFormat,
  base = 0x1_0000,
  size = 0x4000_0000 - 0x1_0000,
): AddrSpace {
  return new AddrSpace({ base, size, format, machine: w.machine });
}

export function range(start: number, end: number): VirtAddrRange {
  return AddrRange.new(va(start), va(end));
}

/** Asserts `fn` throws a LinuxError with `errno`. */
export function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LinuxError) return e.errno;
    throw e;
  }
  return undefined;
}

export function bytesOf(sp: AddrSpace, start: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  sp.read(start, b);
  return b;
}

export function areasOf(sp: AddrSpace): [number, number, number, string][] {
  return [...sp.iterAreas()].map((a) => [a.start, a.end, a.flags, a.backend.kind]);
}

export { pattern } from '../support/bytes.js';
