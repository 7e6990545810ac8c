/**
 * AArch64 VMSAv8-64 stage-1 descriptors, 4 KiB granule, 48-bit addresses
 * (page_table_entry's `A64PTE`; Arm ARM D8.3 "Translation table descriptor
 * formats").
 *
 * | bits  | name      | meaning                                              |
 * | ----- | --------- | ---------------------------------------------------- |
 * | 0     | VALID     | descriptor is valid                                  |
 * | 1     | NON_BLOCK | 1: table (levels 0-2) or page (level 3); 0: block    |
 * | 2-4   | AttrIndx  | index into MAIR_EL1 (see {@link MemAttr})            |
 * | 5     | NS        | non-secure                                           |
 * | 6     | AP[1]     | accessible from EL0                                  |
 * | 7     | AP[2]     | read-only                                            |
 * | 8-9   | SH        | shareability (0b11: inner shareable)                 |
 * | 10    | AF        | access flag                                          |
 * | 11    | nG        | not global                                           |
 * | 12-47 | OA        | output address / next-level table address           |
 * | 52    | Contig    | contiguous hint                                      |
 * | 53    | PXN       | privileged execute-never                             |
 * | 54    | UXN       | unprivileged execute-never                           |
 * | 59-63 | (table)   | PXNTable, XNTable, APTable[0..1], NSTable             |
 *
 * A level-3 page descriptor has bits[1:0] = 0b11, a level-1/2 block 0b01, a
 * table descriptor 0b11 (at levels 0-2).
 *
 * Crate quirks, all **kept**:
 * - Without `READ` the descriptor gets no VALID bit: the mapping is invalid
 *   and decodes as `EMPTY`.
 * - `isHuge` is `!NON_BLOCK`, so an all-zero (unused) entry counts as huge.
 *   Harmless: the generic page table checks "unused" first.
 * - `new_page` / `set_flags` always add AF (no access-flag faults), and add
 *   NON_BLOCK for a non-huge page. `set_flags` keeps only the address bits.
 * - `DEVICE` wins over `UNCACHED` (AttrIndx 0, no shareability bits);
 *   AttrIndx 3..7 decode to neither.
 * - A user mapping always gets PXN (the kernel never executes user pages); a
 *   kernel mapping always gets UXN.
 * - The `arm-el2` feature is not modelled (default EL1 build).
 *
 * Decoders use only 32-bit `number` operations on the two halves.
 */
import { MappingFlags } from '../flags.js';
import type { PteFormat } from '../pte.js';
import { inPlaceEntry, inPlacePaddr, withInPlaceBits, withInPlacePaddr } from './common.js';

/** The AttrIndx values the encoder uses (the crate's `MemAttr`). */
export const MemAttr = {
  /** Device-nGnRE memory (MAIR Attr0 = 0x04). */
  Device: 0,
  /** Normal memory, inner and outer write-back non-transient RW-allocate (Attr1 = 0xff). */
  Normal: 1,
  /** Normal memory, inner and outer non-cacheable (Attr2 = 0x44). */
  NormalNonCacheable: 2,
} as const;
export type MemAttr = (typeof MemAttr)[keyof typeof MemAttr];

/** The MAIR_EL1 value matching {@link MemAttr}: Attr2 = 0x44, Attr1 = 0xff, Attr0 = 0x04. */
export const MAIR_VALUE = 0x44_ff_04;

const READ = MappingFlags.READ;
const WRITE = MappingFlags.WRITE;
const EXECUTE = MappingFlags.EXECUTE;
const USER = MappingFlags.USER;
const DEVICE = MappingFlags.DEVICE;
const UNCACHED = MappingFlags.UNCACHED;

// Low-half bits.
const VALID = 1 << 0;
const NON_BLOCK = 1 << 1;
const ATTR_SHIFT = 2;
const ATTR_MASK = 0b111;
const AP_EL0 = 1 << 6;
const AP_RO = 1 << 7;
const INNER = 1 << 8;
const SHAREABLE = 1 << 9;
const AF = 1 << 10;
// High-half bits (entry bit n is bit n - 32 here).
const PXN_HI = 1 << (53 - 32);
const UXN_HI = 1 << (54 - 32);
/** Software bit 58 (Linux's PTE_PROT_NONE). */
const PROT_NONE_HI = 1 << (58 - 32);

/** Address bits 12..31 (in `lo`). */
const PA_LO_MASK = 0xffff_f000;
/** Address bits 32..47 (bits 0..15 of `hi`). */
const PA_HI_MASK = 0x0000_ffff;

function memAttrBits(idx: MemAttr): number {
  const bits = idx << ATTR_SHIFT;
  return idx === MemAttr.Device ? bits : bits | INNER | SHAREABLE;
}

function flagsLo(flags: MappingFlags): number {
  if (flags === 0) return 0;
  let bits: number;
  if ((flags & DEVICE) !== 0) bits = memAttrBits(MemAttr.Device);
  else if ((flags & UNCACHED) !== 0) bits = memAttrBits(MemAttr.NormalNonCacheable);
  else bits = memAttrBits(MemAttr.Normal);
  if ((flags & READ) !== 0) bits |= VALID;
  if ((flags & WRITE) === 0) bits |= AP_RO;
  if ((flags & USER) !== 0) bits |= AP_EL0;
  return bits;
}

function flagsHi(flags: MappingFlags): number {
  if (flags === 0) return 0;
  const noExec = (flags & EXECUTE) === 0;
  if ((flags & USER) !== 0) return noExec ? PXN_HI | UXN_HI : PXN_HI;
  return noExec ? UXN_HI | PXN_HI : UXN_HI;
}

export const A64_FORMAT: PteFormat = {
  arch: 'aarch64',
  levels: 4,
  vaMaxBits: 48,
  paMaxBits: 48,
  accessedBit: AF,
  dirtyBit: 0,

  newPage(paddr: number, flags: MappingFlags, isHuge: boolean): bigint {
    return inPlaceEntry(
      paddr,
      flagsLo(flags) | AF | (isHuge ? 0 : NON_BLOCK),
      flagsHi(flags),
      PA_LO_MASK,
      PA_HI_MASK,
    );
  },

  newTable(paddr: number): bigint {
    return inPlaceEntry(paddr, VALID | NON_BLOCK, 0, PA_LO_MASK, PA_HI_MASK);
  },

  setPaddr(lo: number, hi: number, paddr: number): bigint {
    return withInPlacePaddr(lo, hi, paddr, PA_LO_MASK, PA_HI_MASK);
  },

  setFlags(lo: number, hi: number, flags: MappingFlags, isHuge: boolean): bigint {
    return withInPlaceBits(
      lo,
      hi,
      flagsLo(flags) | AF | (isHuge ? 0 : NON_BLOCK),
      flagsHi(flags),
      PA_LO_MASK,
      PA_HI_MASK,
    );
  },

  paddr(lo: number, hi: number): number {
    return inPlacePaddr(lo, hi, PA_LO_MASK, PA_HI_MASK);
  },

  flags(lo: number, hi: number): MappingFlags {
    if ((lo & VALID) === 0) return 0;
    let flags = READ;
    if ((lo & AP_RO) === 0) flags |= WRITE;
    if ((lo & AP_EL0) !== 0) {
      flags |= USER;
      if ((hi & UXN_HI) === 0) flags |= EXECUTE;
    } else if ((hi & PXN_HI) === 0) {
      flags |= EXECUTE;
    }
    const idx = (lo >>> ATTR_SHIFT) & ATTR_MASK;
    if (idx === MemAttr.Device) flags |= DEVICE;
    else if (idx === MemAttr.NormalNonCacheable) flags |= UNCACHED;
    return flags;
  },

  isPresent(lo: number, _hi: number): boolean {
    return (lo & VALID) !== 0;
  },

  // Linux's PTE_PROT_NONE: software bit 58 with VALID clear; NON_BLOCK as for any leaf.
  newProtNone(paddr: number, isHuge: boolean): bigint {
    return inPlaceEntry(paddr, isHuge ? 0 : NON_BLOCK, PROT_NONE_HI, PA_LO_MASK, PA_HI_MASK);
  },

  isProtNone(lo: number, hi: number): boolean {
    return (lo & VALID) === 0 && (hi & PROT_NONE_HI) !== 0;
  },

  isHuge(lo: number, _hi: number): boolean {
    return (lo & NON_BLOCK) === 0;
  },
};
