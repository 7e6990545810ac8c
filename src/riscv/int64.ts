/**
 * 64-bit integer arithmetic on two 32-bit halves, for the hart's registers
 * (no `bigint` in the loop). Values are `(hi, lo)` pairs of int32; results
 * that are pairs go to a caller-owned `Int32Array` out-slot (`out[0]` = lo,
 * `out[1]` = hi), so nothing allocates.
 */

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two u32 (as uint32 in a number). */
export function mulhu32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  // Sum of the middle terms and the carry out of the low half.
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** The low 64 bits of a × b into out. */
export function mul64(out: Int32Array, alo: number, ahi: number, blo: number, bhi: number): void {
  const lo = Math.imul(alo, blo);
  const hi = (mulhu32(alo >>> 0, blo >>> 0) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
  out[0] = lo;
  out[1] = hi;
}

// Scratch for the 128-bit products (four u32 limbs, little-endian).
const limbs = new Float64Array(8);

/**
 * The high 64 bits of the 128-bit product of a and b into out; `aSigned` /
 * `bSigned` pick MULH (both), MULHSU (a only) or MULHU (neither).
 */
export function mulh64(
  out: Int32Array,
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  aSigned: boolean,
  bSigned: boolean,
): void {
  const aNeg = aSigned && ahi < 0;
  const bNeg = bSigned && bhi < 0;
  // Unsigned magnitudes' product, then correct: for signed x, x = ux - 2^64·[x<0].
  const a0 = alo >>> 0;
  const a1 = ahi >>> 0;
  const b0 = blo >>> 0;
  const b1 = bhi >>> 0;
  // 128-bit unsigned product in four u32 limbs.
  mulAdd32(0, a0, b0, true);
  mulAdd32(1, a0, b1, false);
  mulAdd32(1, a1, b0, false);
  mulAdd32(2, a1, b1, false);
  let h0 = limbs[2];
  let h1 = limbs[3];
  // high(a·b) for signed: subtract b (unsigned) << 64 when a < 0, and a << 64 when b < 0.
  if (aNeg) {
    h0 -= b0;
    h1 -= b1;
  }
  if (bNeg) {
    h0 -= a0;
    h1 -= a1;
  }
  // Normalise the two limbs (they may be negative now): borrow from h1.
  const borrow = Math.floor(h0 / TWO32);
  h0 -= borrow * TWO32;
  h1 += borrow;
  out[0] = h0 | 0;
  out[1] = h1 | 0;
}

/** limbs[i..] += a × b (u32 × u32), with carries; `reset` zeroes the limbs first. */
function mulAdd32(i: number, a: number, b: number, reset: boolean): void {
  if (reset) limbs.fill(0);
  const lo = Math.imul(a, b) >>> 0;
  const hi = mulhu32(a, b);
  let s = limbs[i] + lo;
  limbs[i] = s % TWO32;
  let carry = s >= TWO32 ? 1 : 0;
  s = limbs[i + 1] + hi + carry;
  limbs[i + 1] = s % TWO32;
  carry = s >= TWO32 ? 1 : 0;
  for (let k = i + 2; carry !== 0 && k < 4; k++) {
    s = limbs[k] + carry;
    limbs[k] = s % TWO32;
    carry = s >= TWO32 ? 1 : 0;
  }
}

/** True when the unsigned 64-bit a < b. */
export function ltu64(alo: number, ahi: number, blo: number, bhi: number): boolean {
  const ah = ahi >>> 0;
  const bh = bhi >>> 0;
  return ah < bh || (ah === bh && alo >>> 0 < blo >>> 0);
}

/** True when the signed 64-bit a < b. */
export function lt64(alo: number, ahi: number, blo: number, bhi: number): boolean {
  return ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0);
}

/**
 * Unsigned 64-bit division: quotient to out[0..1], remainder to out[2..3].
 * The divisor is non-zero (the caller handles RISC-V's division by zero).
 */
export function divu64(out: Int32Array, alo: number, ahi: number, blo: number, bhi: number): void {
  const a0 = alo >>> 0;
  const a1 = ahi >>> 0;
  const b0 = blo >>> 0;
  const b1 = bhi >>> 0;
  if (a1 === 0 && b1 === 0) {
    // Both fit in 32 bits: a double division is exact here.
    const q = Math.floor(a0 / b0);
    out[0] = q | 0;
    out[1] = 0;
    out[2] = (a0 - q * b0) | 0;
    out[3] = 0;
    return;
  }
  // Both below 2^53: exact double arithmetic with one correction step.
  if (a1 < 0x200000 && b1 < 0x200000) {
    const a = a1 * TWO32 + a0;
    const b = b1 * TWO32 + b0;
    let q = Math.floor(a / b);
    let r = a - q * b;
    if (r < 0) {
      q -= 1;
      r += b;
    } else if (r >= b) {
      q += 1;
      r -= b;
    }
    out[0] = (q % TWO32) | 0;
    out[1] = Math.floor(q / TWO32) | 0;
    out[2] = (r % TWO32) | 0;
    out[3] = Math.floor(r / TWO32) | 0;
    return;
  }
  if (b1 === 0) {
    // A 32-bit divisor: long division in 16-bit digits (every partial dividend stays below 2^48, exact).
    let r = 0;
    let q = 0;
    let qhi = 0;
    for (let k = 3; k >= 0; k--) {
      const digit = k >= 2 ? (a1 >>> ((k - 2) * 16)) & 0xffff : (a0 >>> (k * 16)) & 0xffff;
      const cur = r * 65536 + digit;
      const d = Math.floor(cur / b0);
      r = cur - d * b0;
      if (k >= 2) qhi = qhi * 65536 + d;
      else q = q * 65536 + d;
    }
    out[0] = q | 0;
    out[1] = qhi | 0;
    out[2] = r | 0;
    out[3] = 0;
    return;
  }
  // A divisor of 2^32 or more: the quotient fits in 32 bits. Estimate it in doubles, then correct
  // with the exact remainder a - q·b (the estimate is off by a few at most).
  let q = Math.floor((a1 * TWO32 + a0) / (b1 * TWO32 + b0));
  if (q > 0xffffffff) q = 0xffffffff;
  for (;;) {
    // r = a - q·b, exactly, on halves (q < 2^32).
    const plo = Math.imul(q | 0, b0 | 0) >>> 0;
    const phi = (mulhu32(q, b0) + Math.imul(q | 0, b1 | 0)) >>> 0;
    const overflow = mulhu32(q, b1) !== 0 || phi < Math.imul(q | 0, b1 | 0) >>> 0;
    // q·b > a: one less.
    if (overflow || phi > a1 || (phi === a1 && plo > a0)) {
      q -= 1;
      continue;
    }
    let rlo = a0 - plo;
    let rhi = a1 - phi;
    if (rlo < 0) {
      rlo += TWO32;
      rhi -= 1;
    }
    // r ≥ b: one more.
    if (rhi > b1 || (rhi === b1 && rlo >= b0)) {
      q += 1;
      continue;
    }
    out[0] = q | 0;
    out[1] = 0;
    out[2] = rlo | 0;
    out[3] = rhi | 0;
    return;
  }
}

/** Signed 64-bit division with RISC-V's rules (÷0 and overflow handled by the caller); quotient and remainder as {@link divu64}. */
export function div64(out: Int32Array, alo: number, ahi: number, blo: number, bhi: number): void {
  const aNeg = ahi < 0;
  const bNeg = bhi < 0;
  let ul = alo;
  let uh = ahi;
  if (aNeg) {
    ul = -alo | 0;
    uh = (~ahi + (alo === 0 ? 1 : 0)) | 0;
  }
  let vl = blo;
  let vh = bhi;
  if (bNeg) {
    vl = -blo | 0;
    vh = (~bhi + (blo === 0 ? 1 : 0)) | 0;
  }
  divu64(out, ul, uh, vl, vh);
  if (aNeg !== bNeg) negateInto(out, 0);
  if (aNeg) negateInto(out, 2);
}

/** out[i..i+1] = −out[i..i+1] (two's complement). */
function negateInto(out: Int32Array, i: number): void {
  const lo = out[i];
  const hi = out[i + 1];
  out[i] = -lo | 0;
  out[i + 1] = (~hi + (lo === 0 ? 1 : 0)) | 0;
}

/** Count of leading zeros of a 64-bit value. */
export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

/** Count of trailing zeros of a 32-bit value (32 for zero). */
export function ctz32(v: number): number {
  if (v === 0) return 32;
  return 31 - Math.clz32(v & -v);
}

/** Count of set bits of a 32-bit value. */
export function popcount32(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
