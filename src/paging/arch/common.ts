/**
 * Pieces the entry formats share. x86_64, AArch64 and LoongArch64 keep the
 * physical address at its own bit positions (bits 12 and up), split over the
 * two 32-bit halves by a low and a high mask; RISC-V shifts it (see riscv.ts).
 */
import { joinU64 } from '../../addr/index.js';

export { joinU64 as join };

export const TWO_32 = 0x1_0000_0000;

/** The address held in place in `lo`/`hi` under the two masks. */
export function inPlacePaddr(lo: number, hi: number, loMask: number, hiMask: number): number {
  return (hi & hiMask) * TWO_32 + ((lo & loMask) >>> 0);
}

/** The entry with its in-place address replaced by `paddr`, every other bit kept. */
export function withInPlacePaddr(
  lo: number,
  hi: number,
  paddr: number,
  loMask: number,
  hiMask: number,
): bigint {
  const newLo = (lo & ~loMask) | (paddr & loMask);
  const newHi = (hi & ~hiMask) | (Math.floor(paddr / TWO_32) & hiMask);
  return joinU64(newLo, newHi);
}

/** An entry holding `paddr` in place under the masks, with the given flag bits in each half. */
export function inPlaceEntry(
  paddr: number,
  lowBits: number,
  highBits: number,
  loMask: number,
  hiMask: number,
): bigint {
  return joinU64((paddr & loMask) | lowBits, (Math.floor(paddr / TWO_32) & hiMask) | highBits);
}

/** The entry with its in-place address kept and every other bit replaced by the given flag bits. */
export function withInPlaceBits(
  lo: number,
  hi: number,
  lowBits: number,
  highBits: number,
  loMask: number,
  hiMask: number,
): bigint {
  return joinU64((lo & loMask) | lowBits, (hi & hiMask) | highBits);
}
