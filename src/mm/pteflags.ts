/**
 * The PTE flag policy: which page-table entry flags realise an area's flags
 * on one format.
 *
 * An entry never grants more than the area asks, except the READ that WRITE
 * implies (every format: RISC-V reserves W without R, and Linux maps
 * PROT_WRITE readable everywhere) and, on formats without an execute-only
 * encoding (AArch64 here), the READ that EXECUTE implies. Flags that grant no
 * access (PROT_NONE) become a PROT_NONE entry in the page table, which keeps
 * the frame and its data while every access in every mode faults. The area
 * flags keep saying what the user asked for, so the checks still refuse a
 * user read of a write-only area.
 */
import { grantsAccess, MappingFlags, type PteFormat } from '../paging/index.js';

const ACCESS = MappingFlags.READ | MappingFlags.WRITE | MappingFlags.EXECUTE;

export class PteFlagPolicy {
  // Per flag value (0..ALL): 1 when the format encodes a leaf with those flags as present, -1 when not.
  private readonly present = new Int8Array(MappingFlags.ALL + 1);
  // Per flag value: 1 + the flags an entry for them really grants (0: not computed yet).
  private readonly grants = new Uint16Array(MappingFlags.ALL + 1);

  constructor(readonly format: PteFormat) {}

  /** The entry flags for area flags `flags`. */
  flagsFor(flags: MappingFlags): MappingFlags {
    if ((flags & MappingFlags.WRITE) !== 0) flags |= MappingFlags.READ;
    if (!grantsAccess(flags)) return flags;
    if (this.encodesPresent(flags)) return flags;
    return flags | MappingFlags.READ;
  }

  /**
   * What an entry for area flags `flags` really grants, decoded back from the
   * format's encoding: READ / WRITE / EXECUTE as the hardware sees them (x86
   * reads every present page), USER as asked; nothing for PROT_NONE.
   */
  granted(flags: MappingFlags): MappingFlags {
    const i = flags & MappingFlags.ALL;
    let g = this.grants[i];
    if (g === 0) {
      const pte = this.flagsFor(i);
      let decoded = 0;
      if (grantsAccess(pte)) {
        const e = this.format.newPage(0x1000, pte, false);
        decoded = this.format.flags(Number(e & 0xffff_ffffn), Number(e >> 32n)) & ACCESS;
      }
      g = 1 + (decoded | (i & MappingFlags.USER));
      this.grants[i] = g;
    }
    return g - 1;
  }

  /** True when the format encodes a leaf with `flags` as a present (valid) entry. */
  private encodesPresent(flags: MappingFlags): boolean {
    const i = flags & MappingFlags.ALL;
    if (this.present[i] === 0) {
      const e = this.format.newPage(0x1000, i, false);
      this.present[i] = this.format.isPresent(Number(e & 0xffff_ffffn), Number(e >> 32n)) ? 1 : -1;
    }
    return this.present[i] === 1;
  }
}
