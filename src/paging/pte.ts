/**
 * The interface every page-table-entry format implements (page_table_entry's
 * `GenericPTE` plus page_table_multiarch's `PagingMetaData`).
 *
 * An entry is a 64-bit word. Encoders return it as a `bigint` (they run when
 * a mapping changes); decoders take it as two unsigned 32-bit halves `lo`
 * (bits 0..31) and `hi` (bits 32..63), because the page-table walk and the MMU
 * decode on every TLB miss and must not allocate.
 */
import type { MappingFlags } from './flags.js';

export type PagingArch = 'x86_64' | 'aarch64' | 'riscv64-sv39' | 'riscv64-sv48' | 'loongarch64';

export interface PteFormat {
  readonly arch: PagingArch;
  /** Levels of the table tree: 3 (Sv39) or 4. */
  readonly levels: 3 | 4;
  /** Width of a virtual address; the canonical lower half is `[0, 2^(vaMaxBits-1))`. */
  readonly vaMaxBits: number;
  /** Width of a physical address; `paddr <= 2^paMaxBits - 1`. */
  readonly paMaxBits: number;
  /**
   * Leaf-entry bits (in `lo`) that the hardware page walker sets on an access
   * and on a write, as the MMU model updates them; 0 when the architecture
   * leaves them to software or the format always presets them.
   */
  readonly accessedBit: number;
  readonly dirtyBit: number;

  /** A leaf entry mapping `paddr` with `flags`; `isHuge` for a 2 MiB / 1 GiB block. */
  newPage(paddr: number, flags: MappingFlags, isHuge: boolean): bigint;
  /** A non-leaf entry pointing at the next-level table at `paddr`. */
  newTable(paddr: number): bigint;
  /** The entry with its address replaced (flags kept). */
  setPaddr(lo: number, hi: number, paddr: number): bigint;
  /** The entry with its flags replaced (address kept). */
  setFlags(lo: number, hi: number, flags: MappingFlags, isHuge: boolean): bigint;

  /** The physical address the entry holds (page- or table-aligned, no offset). */
  paddr(lo: number, hi: number): number;
  /** The mapping flags the entry grants; `EMPTY` when it is not valid. */
  flags(lo: number, hi: number): MappingFlags;
  isPresent(lo: number, hi: number): boolean;
  /**
   * Linux's PROT_NONE entry (`_PAGE_PROTNONE`): a leaf that keeps `paddr`
   * while the hardware sees it not present (every access faults, in every
   * mode), marked by a software bit so the page table still owns its frame.
   * `isHuge` for a block, which then still decodes as huge.
   */
  newProtNone(paddr: number, isHuge: boolean): bigint;
  /** True for an entry made by {@link newProtNone}. */
  isProtNone(lo: number, hi: number): boolean;
  /** True for a leaf above the last level (a block / huge page), as the crate defines it. */
  isHuge(lo: number, hi: number): boolean;
}

/** An all-zero entry: nothing was ever written there. */
export function isUnused(lo: number, hi: number): boolean {
  return lo === 0 && hi === 0;
}
