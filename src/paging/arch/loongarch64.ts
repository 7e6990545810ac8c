/**
 * LoongArch64 page-table entries as the page walker (`lddir`/`ldpte`) and the
 * TLB refill see them (page_table_entry's `LA64PTE`; LoongArch Reference
 * Manual vol. 1, §5.4 "Page walking" and the TLBELO register layout).
 *
 * | bits  | name | meaning                                                      |
 * | ----- | ---- | ------------------------------------------------------------ |
 * | 0     | V    | valid                                                        |
 * | 1     | D    | dirty; the hardware write enable (a store to D=0 faults)     |
 * | 2-3   | PLV  | privilege level (3 = user)                                   |
 * | 4-5   | MAT  | memory access type: 0 SUC, 1 CC, 2 WUC                       |
 * | 6     | G/H  | global; in a directory-level entry: huge page                |
 * | 7     | P    | physical page exists (software)                              |
 * | 8     | W    | writable (software)                                          |
 * | 12    | G    | global, for huge pages                                       |
 * | 12-47 | PA   | physical address                                             |
 * | 61    | NR   | not readable                                                 |
 * | 62    | NX   | not executable                                               |
 * | 63    | RPLV | restricted privilege level                                   |
 *
 * Quirk decisions:
 * - **Fixed**: 0.5.3 always set D, making every page writable to the
 *   hardware whatever `W` said. Here D is set only together with `WRITE`, as
 *   upstream did later (e537bd4, July 2025).
 * - **Kept**: `new_table` is the bare physical address with no flag bits,
 *   which is what the hardware walker expects in a directory entry. Such an
 *   entry is not `isPresent` (no P bit); the generic page table treats a
 *   non-zero, non-huge upper-level entry as a table instead.
 * - **Kept**: `isPresent` tests the software P bit, `isHuge` the GH bit.
 * - **Kept**: `DEVICE` (MAT 0) wins over `UNCACHED` (MAT 2); decoding reports
 *   `DEVICE` for MAT 0, `UNCACHED` for MAT 2, neither for MAT 1 and
 *   the reserved MAT 3.
 * - **Kept**: `set_flags` keeps only the address bits of the old entry.
 * - The hardware sets no accessed/dirty bits here (D is a permission), so
 *   `accessedBit` and `dirtyBit` are 0.
 *
 * Decoders use only 32-bit `number` operations on the two halves.
 */
import { MappingFlags } from '../flags.js';
import type { PteFormat } from '../pte.js';
import { inPlaceEntry, inPlacePaddr, withInPlaceBits, withInPlacePaddr } from './common.js';

const READ = MappingFlags.READ;
const WRITE = MappingFlags.WRITE;
const EXECUTE = MappingFlags.EXECUTE;
const USER = MappingFlags.USER;
const DEVICE = MappingFlags.DEVICE;
const UNCACHED = MappingFlags.UNCACHED;

// Low-half bits.
const V = 1 << 0;
const D = 1 << 1;
const PLVL = 1 << 2;
const PLVH = 1 << 3;
const MATL = 1 << 4;
const MATH = 1 << 5;
const GH = 1 << 6;
const P = 1 << 7;
const W = 1 << 8;
/** Software PROT_NONE mark (Linux's _PAGE_PROTNONE). */
const PROTNONE = 1 << 10;
// High-half bits (entry bit n is bit n - 32 here).
const NR_HI = 1 << (61 - 32);
const NX_HI = 1 << (62 - 32);

/** Address bits 12..31 (in `lo`). */
const PA_LO_MASK = 0xffff_f000;
/** Address bits 32..47 (bits 0..15 of `hi`). */
const PA_HI_MASK = 0x0000_ffff;

function flagsLo(flags: MappingFlags): number {
  if (flags === 0) return 0;
  let bits = V | P;
  if ((flags & WRITE) !== 0) bits |= W | D;
  if ((flags & USER) !== 0) bits |= PLVL | PLVH;
  if ((flags & DEVICE) === 0) bits |= (flags & UNCACHED) !== 0 ? MATH : MATL;
  return bits;
}

function flagsHi(flags: MappingFlags): number {
  if (flags === 0) return 0;
  let bits = 0;
  if ((flags & READ) === 0) bits |= NR_HI;
  if ((flags & EXECUTE) === 0) bits |= NX_HI;
  return bits;
}

export const LA64_FORMAT: PteFormat = {
  arch: 'loongarch64',
  levels: 4,
  vaMaxBits: 48,
  paMaxBits: 48,
  accessedBit: 0,
  dirtyBit: 0,

  newPage(paddr: number, flags: MappingFlags, isHuge: boolean): bigint {
    return inPlaceEntry(paddr, flagsLo(flags) | (isHuge ? GH : 0), flagsHi(flags), PA_LO_MASK, PA_HI_MASK);
  },

  newTable(paddr: number): bigint {
    return inPlaceEntry(paddr, 0, 0, PA_LO_MASK, PA_HI_MASK);
  },

  setPaddr(lo: number, hi: number, paddr: number): bigint {
    return withInPlacePaddr(lo, hi, paddr, PA_LO_MASK, PA_HI_MASK);
  },

  setFlags(lo: number, hi: number, flags: MappingFlags, isHuge: boolean): bigint {
    return withInPlaceBits(
      lo,
      hi,
      flagsLo(flags) | (isHuge ? GH : 0),
      flagsHi(flags),
      PA_LO_MASK,
      PA_HI_MASK,
    );
  },

  paddr(lo: number, hi: number): number {
    return inPlacePaddr(lo, hi, PA_LO_MASK, PA_HI_MASK);
  },

  flags(lo: number, hi: number): MappingFlags {
    if ((lo & V) === 0) return 0;
    let flags = 0;
    if ((hi & NR_HI) === 0) flags |= READ;
    if ((lo & W) !== 0) flags |= WRITE;
    if ((hi & NX_HI) === 0) flags |= EXECUTE;
    if ((lo & (PLVL | PLVH)) === (PLVL | PLVH)) flags |= USER;
    if ((lo & MATL) === 0) flags |= (lo & MATH) !== 0 ? UNCACHED : DEVICE;
    return flags;
  },

  isPresent(lo: number, _hi: number): boolean {
    return (lo & P) !== 0;
  },

  // Linux's _PAGE_PROTNONE: software bit 10 with V and P clear; GH for a block.
  newProtNone(paddr: number, isHuge: boolean): bigint {
    return inPlaceEntry(paddr, PROTNONE | (isHuge ? GH : 0), 0, PA_LO_MASK, PA_HI_MASK);
  },

  isProtNone(lo: number, _hi: number): boolean {
    return (lo & (V | P | PROTNONE)) === PROTNONE;
  },

  isHuge(lo: number, _hi: number): boolean {
    return (lo & GH) !== 0;
  },
};
