/**
 * x86_64 4-level paging entries (page_table_entry's `X64PTE`, Intel SDM vol. 3
 * §4.5 "4-Level Paging"): PML4E / PDPTE / PDE / PTE all share this layout.
 *
 * | bit  | name | meaning                                        |
 * | ---- | ---- | ---------------------------------------------- |
 * | 0    | P    | present                                        |
 * | 1    | R/W  | writable                                       |
 * | 2    | U/S  | user accessible                                |
 * | 3    | PWT  | page-level write-through                       |
 * | 4    | PCD  | page-level cache disable                       |
 * | 5    | A    | accessed (set by the walker)                   |
 * | 6    | D    | dirty (set by the walker on a write, leaves)   |
 * | 7    | PS   | page size: a 2 MiB (PDE) or 1 GiB (PDPTE) leaf |
 * | 8    | G    | global                                         |
 * | 12-51| addr | physical address of the page / next table      |
 * | 63   | XD   | execute disable ("NX")                         |
 *
 * Crate quirks, all **kept**:
 * - A present entry always reports `READ` (x86 has no "not readable" bit).
 * - `DEVICE` and `UNCACHED` both encode as PCD|PWT, and only `UNCACHED` is
 *   reported back: `DEVICE` never round-trips.
 * - `new_table` is P|RW|US, so the permissions are decided by the leaf alone.
 * - `set_flags` keeps only the address bits of the old entry (A, D, G and the
 *   software-available bits are dropped); `set_paddr` keeps every other bit.
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
const P = 1 << 0;
/** Software PROT_NONE mark in a not-present entry (the G bit's position, as Linux). */
const PROTNONE = 1 << 8;
const RW = 1 << 1;
const US = 1 << 2;
const PWT = 1 << 3;
const PCD = 1 << 4;
const A = 1 << 5;
const D = 1 << 6;
const PS = 1 << 7;
// High-half bits (entry bit n is bit n - 32 here).
const NX_HI = 0x8000_0000; // bit 63

/** Address bits 12..31 of the entry (in `lo`). */
const PA_LO_MASK = 0xffff_f000;
/** Address bits 32..51 of the entry (bits 0..19 of `hi`). */
const PA_HI_MASK = 0x000f_ffff;

function flagsLo(flags: MappingFlags): number {
  if (flags === 0) return 0;
  let bits = P;
  if ((flags & WRITE) !== 0) bits |= RW;
  if ((flags & USER) !== 0) bits |= US;
  if ((flags & (DEVICE | UNCACHED)) !== 0) bits |= PCD | PWT;
  return bits;
}

function flagsHi(flags: MappingFlags): number {
  return flags !== 0 && (flags & EXECUTE) === 0 ? NX_HI : 0;
}

export const X64_FORMAT: PteFormat = {
  arch: 'x86_64',
  levels: 4,
  vaMaxBits: 48,
  paMaxBits: 52,
  accessedBit: A,
  dirtyBit: D,

  newPage(paddr: number, flags: MappingFlags, isHuge: boolean): bigint {
    return inPlaceEntry(paddr, flagsLo(flags) | (isHuge ? PS : 0), flagsHi(flags), PA_LO_MASK, PA_HI_MASK);
  },

  newTable(paddr: number): bigint {
    return inPlaceEntry(paddr, P | RW | US, 0, PA_LO_MASK, PA_HI_MASK);
  },

  setPaddr(lo: number, hi: number, paddr: number): bigint {
    return withInPlacePaddr(lo, hi, paddr, PA_LO_MASK, PA_HI_MASK);
  },

  setFlags(lo: number, hi: number, flags: MappingFlags, isHuge: boolean): bigint {
    return withInPlaceBits(
      lo,
      hi,
      flagsLo(flags) | (isHuge ? PS : 0),
      flagsHi(flags),
      PA_LO_MASK,
      PA_HI_MASK,
    );
  },

  paddr(lo: number, hi: number): number {
    return inPlacePaddr(lo, hi, PA_LO_MASK, PA_HI_MASK);
  },

  flags(lo: number, hi: number): MappingFlags {
    if ((lo & P) === 0) return 0;
    let flags = READ;
    if ((lo & RW) !== 0) flags |= WRITE;
    if ((hi & NX_HI) === 0) flags |= EXECUTE;
    if ((lo & US) !== 0) flags |= USER;
    if ((lo & PCD) !== 0) flags |= UNCACHED;
    return flags;
  },

  isPresent(lo: number, _hi: number): boolean {
    return (lo & P) !== 0;
  },

  // Linux's _PAGE_PROTNONE: the G bit (8) with P clear; PS kept for a block.
  newProtNone(paddr: number, isHuge: boolean): bigint {
    return inPlaceEntry(paddr, PROTNONE | (isHuge ? PS : 0), 0, PA_LO_MASK, PA_HI_MASK);
  },

  isProtNone(lo: number, _hi: number): boolean {
    return (lo & (P | PROTNONE)) === PROTNONE;
  },

  isHuge(lo: number, _hi: number): boolean {
    return (lo & PS) !== 0;
  },
};
