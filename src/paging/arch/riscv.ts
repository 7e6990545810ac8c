/**
 * RISC-V Sv39 / Sv48 page-table entries (page_table_entry's `Rv64PTE`; RISC-V
 * privileged spec §10.4 "Sv39", §10.5 "Sv48"). Both modes share the entry
 * format; they differ in the number of levels and the virtual-address width.
 *
 * | bits  | name | meaning                                                   |
 * | ----- | ---- | --------------------------------------------------------- |
 * | 0     | V    | valid                                                     |
 * | 1     | R    | readable                                                  |
 * | 2     | W    | writable                                                  |
 * | 3     | X    | executable                                                |
 * | 4     | U    | user accessible                                           |
 * | 5     | G    | global                                                    |
 * | 6     | A    | accessed                                                  |
 * | 7     | D    | dirty                                                     |
 * | 8-9   | RSW  | reserved for software                                     |
 * | 10-53 | PPN  | physical page number (`paddr >> 12`), i.e. `paddr >> 2`   |
 * | 54-63 | -    | reserved / Svpbmt / Svnapot (not used)                    |
 *
 * R = W = X = 0 marks a pointer to the next level; any of R or X marks a leaf,
 * and a leaf above the last level is a superpage.
 *
 * Crate quirks, all **kept**:
 * - `DEVICE` and `UNCACHED` are ignored (no Svpbmt), so they never round-trip.
 * - `new_page` / `set_flags` always add A|D, so the hardware never has to
 *   update them and an access never faults for A/D.
 * - The huge argument of `new_page` / `set_flags` is ignored: a leaf is a
 *   superpage because of the level it sits at.
 * - `isHuge` is "R or X set", i.e. true for *every* leaf (4 KiB ones too);
 *   the generic table only asks it above the last level.
 * - `set_flags` keeps only the PPN of the old entry.
 * - The crate debug-asserts that a leaf has R or X; we do not throw (an
 *   encoder never throws). The generic page table refuses a huge leaf
 *   without R or X (`InvalidFlags`: it would read as a table), and the
 *   address space never asks for W without R (Linux maps PROT_WRITE as
 *   R|W). A 4 KiB leaf with W and no R (reserved by the spec) is still
 *   decoded as WRITE by this codec if a caller writes one.
 * - `new_table` is V plus the PPN (0.5.3; later versions wrote R|W as well,
 *   which the hardware would take for a leaf).
 *
 * Physical addresses reach 2^56 - 4096, above `Number.MAX_SAFE_INTEGER`; every
 * page-aligned value there is still exact as a double, and all arithmetic here
 * stays exact.
 *
 * Decoders use only 32-bit `number` operations on the two halves.
 */
import { MappingFlags } from '../flags.js';
import type { PagingArch, PteFormat } from '../pte.js';
import { join, TWO_32 } from './common.js';

const READ = MappingFlags.READ;
const WRITE = MappingFlags.WRITE;
const EXECUTE = MappingFlags.EXECUTE;
const USER = MappingFlags.USER;

const V = 1 << 0;
const R = 1 << 1;
const W = 1 << 2;
const X = 1 << 3;
const U = 1 << 4;
const G = 1 << 5;
const A = 1 << 6;
const D = 1 << 7;

/** PPN bits 10..31 of the entry (in `lo`): paddr bits 12..33. */
const PPN_LO_MASK = 0xffff_fc00;
/** PPN bits 32..53 of the entry (bits 0..21 of `hi`): paddr bits 34..55. */
const PPN_HI_MASK = 0x003f_ffff;

const TWO_34 = 0x4_0000_0000;

/** Low half of `paddr >> 2`, masked to the PPN field. */
function ppnLo(paddr: number): number {
  const paHi = Math.floor(paddr / TWO_32);
  return ((paddr >>> 2) | (paHi << 30)) & PPN_LO_MASK;
}

/** High half of `paddr >> 2`, masked to the PPN field. */
function ppnHi(paddr: number): number {
  return Math.floor(paddr / TWO_34) & PPN_HI_MASK;
}

function flagBits(flags: MappingFlags): number {
  if (flags === 0) return 0;
  let bits = V;
  if ((flags & READ) !== 0) bits |= R;
  if ((flags & WRITE) !== 0) bits |= W;
  if ((flags & EXECUTE) !== 0) bits |= X;
  if ((flags & USER) !== 0) bits |= U;
  return bits;
}

function makeFormat(arch: PagingArch, levels: 3 | 4, vaMaxBits: number): PteFormat {
  return {
    arch,
    levels,
    vaMaxBits,
    paMaxBits: 56,
    accessedBit: A,
    dirtyBit: D,

    newPage(paddr: number, flags: MappingFlags, _isHuge: boolean): bigint {
      return join(ppnLo(paddr) | flagBits(flags) | A | D, ppnHi(paddr));
    },

    newTable(paddr: number): bigint {
      return join(ppnLo(paddr) | V, ppnHi(paddr));
    },

    setPaddr(lo: number, hi: number, paddr: number): bigint {
      return join((lo & ~PPN_LO_MASK) | ppnLo(paddr), (hi & ~PPN_HI_MASK) | ppnHi(paddr));
    },

    setFlags(lo: number, hi: number, flags: MappingFlags, _isHuge: boolean): bigint {
      return join((lo & PPN_LO_MASK) | flagBits(flags) | A | D, hi & PPN_HI_MASK);
    },

    paddr(lo: number, hi: number): number {
      return (hi & PPN_HI_MASK) * TWO_34 + ((lo & PPN_LO_MASK) >>> 0) * 4;
    },

    flags(lo: number, _hi: number): MappingFlags {
      if ((lo & V) === 0) return 0;
      let flags = 0;
      if ((lo & R) !== 0) flags |= READ;
      if ((lo & W) !== 0) flags |= WRITE;
      if ((lo & X) !== 0) flags |= EXECUTE;
      if ((lo & U) !== 0) flags |= USER;
      return flags;
    },

    isPresent(lo: number, _hi: number): boolean {
      return (lo & V) !== 0;
    },

    // Linux's PAGE_NONE: G (_PAGE_PROT_NONE) and R with V clear; R keeps a block decoding as a leaf.
    newProtNone(paddr: number, _isHuge: boolean): bigint {
      return join(ppnLo(paddr) | G | R, ppnHi(paddr));
    },

    isProtNone(lo: number, _hi: number): boolean {
      return (lo & (V | G)) === G;
    },

    isHuge(lo: number, _hi: number): boolean {
      return (lo & (R | X)) !== 0;
    },
  };
}

/** Sv39: 3 levels, 39-bit virtual addresses, 56-bit physical addresses. */
export const SV39_FORMAT: PteFormat = makeFormat('riscv64-sv39', 3, 39);
/** Sv48: 4 levels, 48-bit virtual addresses, 56-bit physical addresses. */
export const SV48_FORMAT: PteFormat = makeFormat('riscv64-sv48', 4, 48);
