/**
 * 64-bit values.
 *
 * JavaScript numbers hold integers exactly only below 2^53, and bit operators
 * work on 32 bits. axptr therefore keeps 64-bit quantities in one of two forms:
 *
 * - at the API edges (register values, `u64` user data, page-table entries in
 *   tests) as a `bigint` holding the unsigned value 0 ≤ v < 2^64;
 * - in hot paths (page-table walks, the MMU) as two unsigned 32-bit halves
 *   `lo` and `hi`, so that masks are plain `&` on numbers and no bigint is
 *   allocated.
 *
 * This module converts between the forms. Nothing here throws on a value that
 * came from user space; the `try*` functions answer `undefined` instead.
 */

export const TWO_POW_32 = 0x1_0000_0000;
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** The low 32 bits of a 64-bit value, as an unsigned number. */
export function lo32(v: bigint): number {
  return Number(v & 0xffff_ffffn);
}

/** The high 32 bits of a 64-bit value (taken modulo 2^64), as an unsigned number. */
export function hi32(v: bigint): number {
  return Number((v >> 32n) & 0xffff_ffffn);
}

/** Joins two 32-bit halves into a bigint. */
export function joinU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Joins two halves into a number when the value is a safe integer, else undefined. */
export function tryJoinSafe(lo: number, hi: number): number | undefined {
  const h = hi >>> 0;
  if (h > 0x1f_ffff) return undefined;
  return h * TWO_POW_32 + (lo >>> 0);
}

/** Splits a non-negative safe integer into its halves. */
export function splitSafe(v: number): [lo: number, hi: number] {
  return [v >>> 0, Math.floor(v / TWO_POW_32) >>> 0];
}

/** The high half of a non-negative safe integer (bits 32..52). */
export function safeHi(v: number): number {
  return Math.floor(v / TWO_POW_32) >>> 0;
}

/** Wraps any integer (number or bigint) to the unsigned 64-bit value a register would hold. */
export function toU64(v: number | bigint): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

/** Reinterprets an unsigned 64-bit value as signed (two's complement). */
export function toI64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/**
 * Turns an untrusted 64-bit quantity into a safe non-negative integer.
 * Undefined for anything that is not exactly such an integer: NaN, ±Infinity,
 * fractions, negatives, bigints at or above 2^53 (including values ≥ 2^64).
 */
export function toSafeIndex(v: unknown): number | undefined {
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) && v >= 0 ? v + 0 : undefined; // `+ 0` turns -0 into 0
  }
  if (typeof v === 'bigint') {
    return v >= 0n && v <= 0x1f_ffff_ffff_ffffn ? Number(v) : undefined;
  }
  return undefined;
}
