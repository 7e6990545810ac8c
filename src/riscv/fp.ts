/**
 * IEEE 754 arithmetic for the F and D extensions, exact in every rounding
 * mode and in its flags, on JavaScript numbers.
 *
 * A double operation is computed by the host in round-to-nearest-even;
 * error-free transformations (TwoSum, Dekker's TwoProduct, with exact power
 * of two scaling away from the ends of the exponent range) give the sign of
 * the exact result minus the rounded one, which decides inexactness and
 * moves the result one ulp where another rounding mode wants it. A single
 * operation is computed in double (exact, or rounded once: double carries
 * more than twice single's precision, so rounding that to single is the
 * correctly rounded single result) and rounded to single with the same
 * machinery. Arithmetic results that are NaN are the canonical NaN; a
 * signalling NaN operand raises NV. Values cross this file as raw bits.
 */

export const RM = { RNE: 0, RTZ: 1, RDN: 2, RUP: 3, RMM: 4 } as const;
export const FLAG = { NX: 1, UF: 2, OF: 4, DZ: 8, NV: 16 } as const;

const buf = new ArrayBuffer(8);
const f64 = new Float64Array(buf);
const f32 = new Float32Array(buf);
const i32 = new Int32Array(buf);

export const CANONICAL_NAN_HI = 0x7ff80000;
export const CANONICAL_NAN32 = 0x7fc00000;
const MIN_NORMAL64 = 2 ** -1022;
const MIN_NORMAL32 = 2 ** -126;
const MAX64 = Number.MAX_VALUE;
const MAX32 = (2 - 2 ** -23) * 2 ** 127;

/** The double with bits (lo, hi). */
export function f64Of(lo: number, hi: number): number {
  i32[0] = lo;
  i32[1] = hi;
  return f64[0];
}

/** The single with bits `b`, as a number. */
export function f32Of(b: number): number {
  i32[0] = b;
  return f32[0];
}

/** Bits of double `v` into out[0] (lo), out[1] (hi); NaN is canonical. */
export function bits64(v: number, out: Int32Array): void {
  if (Number.isNaN(v)) {
    out[0] = 0;
    out[1] = CANONICAL_NAN_HI;
    return;
  }
  f64[0] = v;
  out[0] = i32[0];
  out[1] = i32[1];
}

/** Bits of single `v` (already a single value); NaN is canonical. */
export function bits32(v: number): number {
  if (Number.isNaN(v)) return CANONICAL_NAN32;
  f32[0] = v;
  return i32[0];
}

export function isSNaN64(lo: number, hi: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0 && (hi & 0x80000) === 0;
}

export function isSNaN32(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0 && (b & 0x400000) === 0;
}

export function isNaN32(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
}

export function isNaN64(lo: number, hi: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0;
}

// ---- neighbours -------------------------------------------------------------

/** The next double above `v` (v finite or -Inf). */
function nextUp64(v: number): number {
  if (v === 0) return 2 ** -1074;
  f64[0] = v;
  let lo = i32[0] >>> 0;
  let hi = i32[1];
  if (v > 0) {
    lo += 1;
    if (lo > 0xffffffff) {
      lo = 0;
      hi += 1;
    }
  } else {
    if (lo === 0) {
      lo = 0xffffffff;
      hi -= 1;
    } else lo -= 1;
  }
  i32[0] = lo | 0;
  i32[1] = hi;
  return f64[0];
}

function nextDown64(v: number): number {
  return -nextUp64(-v);
}

function nextUp32(v: number): number {
  if (v === 0) return 2 ** -149;
  f32[0] = v;
  i32[0] = v > 0 ? i32[0] + 1 : i32[0] - 1;
  return f32[0];
}

function nextDown32(v: number): number {
  return -nextUp32(-v);
}

// ---- exact error terms --------------------------------------------------

/** The exact a + b - (a + b rounded): TwoSum. */
function sumError(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}

const SPLIT = 134217729; // 2^27 + 1

/** The exact a·b − p for p = RN(a·b), when a, b and the product are well inside the range. */
function productError(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Sign (-1, 0, 1) of the exact x + y for doubles x, y. */
function signOfSum(x: number, y: number): number {
  const s = x + y;
  if (s !== 0) return s > 0 ? 1 : -1;
  const e = sumError(x, y, s);
  return e > 0 ? 1 : e < 0 ? -1 : 0;
}

/** Splits finite non-zero v into m · 2^e with 1 ≤ |m| < 2 (exact). */
function exponentOf(v: number): number {
  f64[0] = v;
  const biased = (i32[1] >>> 20) & 0x7ff;
  if (biased !== 0) return biased - 1023;
  return exponentOf(v * 2 ** 64) - 64;
}

// The exact product a·b scaled near 1 (scaledProduct): p + err = a·b · 2^-k exactly.
let spP = 0;
let spErr = 0;
let spK = 0;

/** Scales both factors near 1 (exact) so that the product and its error are representable. */
function scaledProduct(a: number, b: number): void {
  const ea = exponentOf(a);
  const eb = exponentOf(b);
  const sa = scale(a, -ea);
  const sb = scale(b, -eb);
  spP = sa * sb;
  spErr = productError(sa, sb, spP);
  spK = ea + eb;
}

/** The sign of a·b − r, where r is the double the product a·b rounds to in round-to-nearest-even. */
function mulErrorSign(a: number, b: number, r: number): number {
  scaledProduct(a, b);
  const p = spP;
  const err = spErr;
  const k = spK;
  // r scaled by the same power of two is exact while it is not 0 or Inf.
  if (r === 0 || !Number.isFinite(r)) {
    // Underflow to zero or overflow: the exact value's sign relative to r.
    if (r === 0) return p > 0 ? 1 : -1;
    return r > 0 ? -1 : 1;
  }
  const rs = scale(r, -k);
  return signOfSum(p - rs, err);
}

/** v · 2^k, exactly (v finite, the result representable). */
function scale(v: number, k: number): number {
  while (k > 1000) {
    v *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    v *= 2 ** -1000;
    k += 1000;
  }
  return v * 2 ** k;
}

// ---- rounding a host result to the wanted mode -----------------------------

/**
 * The result in mode `rm` given the round-to-nearest-even result `r` of a
 * finite exact value X and the sign `es` of X − r (0: exact). `half` is
 * true when X lies exactly halfway between r and its neighbour (for RMM).
 * Flags go to `flags[0]`.
 */
function adjust(
  r: number,
  es: number,
  half: boolean,
  rm: number,
  single: boolean,
  flags: Int32Array,
): number {
  const max = single ? MAX32 : MAX64;
  const up = single ? nextUp32 : nextUp64;
  const down = single ? nextDown32 : nextDown64;
  if (!Number.isFinite(r)) {
    // Overflow of a finite exact value: ±Inf, or the largest finite where the mode rounds towards it.
    flags[0] |= FLAG.OF | FLAG.NX;
    const neg = r < 0;
    if (rm === RM.RTZ || (rm === RM.RDN && !neg) || (rm === RM.RUP && neg)) return neg ? -max : max;
    return r;
  }
  if (es === 0) return r;
  flags[0] |= FLAG.NX;
  let v = r;
  switch (rm) {
    case RM.RTZ:
      if ((r > 0 && es < 0) || (r < 0 && es > 0)) v = r > 0 ? down(r) : up(r);
      else if (r === 0) v = r;
      break;
    case RM.RDN:
      if (es < 0) v = down(r);
      break;
    case RM.RUP:
      if (es > 0) v = up(r);
      break;
    case RM.RMM:
      // Ties away from zero: RNE chose the even neighbour; move outwards when that was the inner one.
      if (half && ((r >= 0 && es > 0) || (r <= 0 && es < 0))) v = es > 0 ? up(r) : down(r);
      break;
  }
  if (Math.abs(v) > max) {
    flags[0] |= FLAG.OF;
    return v;
  }
  if (Math.abs(v) < (single ? MIN_NORMAL32 : MIN_NORMAL64)) flags[0] |= FLAG.UF;
  return v;
}

/** True when X = r + e (e the exact error) lies exactly halfway between r and its neighbour towards X. */
function isHalfway(r: number, e: number, single: boolean): boolean {
  if (e === 0) return false;
  const n = e > 0 ? (single ? nextUp32(r) : nextUp64(r)) : single ? nextDown32(r) : nextDown64(r);
  return (n - r) / 2 === e;
}

// ---- double operations ---------------------------------------------------------

export type BinOp = 'add' | 'sub' | 'mul' | 'div';

/**
 * A double binary operation on raw bits; result bits in out[0..1], flags
 * OR-ed into flags[0].
 */
export function op64(
  op: BinOp,
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  rm: number,
  out: Int32Array,
  flags: Int32Array,
): void {
  const a = f64Of(alo, ahi);
  const b = f64Of(blo, bhi);
  if (isSNaN64(alo, ahi) || isSNaN64(blo, bhi)) flags[0] |= FLAG.NV;
  const r = compute(op, a, b, rm, false, flags);
  bits64(r, out);
}

/** A single binary operation on raw bits; answers the result bits. */
export function op32(op: BinOp, a32: number, b32: number, rm: number, flags: Int32Array): number {
  const a = f32Of(a32);
  const b = f32Of(b32);
  if (isSNaN32(a32) || isSNaN32(b32)) flags[0] |= FLAG.NV;
  return bits32(compute(op, a, b, rm, true, flags));
}

function compute(op: BinOp, a: number, b: number, rm: number, single: boolean, flags: Int32Array): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  let r: number;
  switch (op) {
    case 'add':
    case 'sub': {
      const bb = op === 'sub' ? -b : b;
      r = a + bb;
      if (Number.isNaN(r)) {
        flags[0] |= FLAG.NV; // Inf - Inf
        return r;
      }
      if (!Number.isFinite(a) || !Number.isFinite(bb)) return r;
      if (r === 0) {
        // An exact zero sum (addition never underflows to zero): zeros of one sign keep it;
        // otherwise +0, or -0 in RDN.
        if (a === 0 && bb === 0 && Object.is(a, -0) === Object.is(bb, -0)) return a;
        return rm === RM.RDN ? -0 : 0;
      }
      if (single) return roundToSingle(r, Number.isFinite(r) ? sumError(a, bb, r) : 0, rm, flags);
      const e = Number.isFinite(r) ? sumError(a, bb, r) : 0;
      return adjust(r, Math.sign(e), isHalfway(r, e, false), rm, false, flags);
    }
    case 'mul': {
      r = a * b;
      if (Number.isNaN(r)) {
        flags[0] |= FLAG.NV; // 0 × Inf
        return r;
      }
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return r;
      if (single) return roundToSingle(r, 0, rm, flags); // a 24 × 24-bit product is exact in double
      const es = mulErrorSign(a, b, r);
      return adjust(r, es, es !== 0 && mulHalfway(a, b, r, es), rm, false, flags);
    }
    default: {
      // div
      if (b === 0 && Number.isFinite(a) && a !== 0) flags[0] |= FLAG.DZ;
      r = a / b;
      if (Number.isNaN(r)) {
        flags[0] |= FLAG.NV; // 0/0, Inf/Inf
        return r;
      }
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return r;
      if (single) {
        // The double quotient's own error direction decides ties and exactness at single precision.
        const es = divErrorSign(a, b, r);
        return roundToSingle(r, es, rm, flags);
      }
      const es = divErrorSign(a, b, r);
      return adjust(r, es, false, rm, false, flags);
    }
  }
}

/** Whether the exact product a·b lies exactly halfway between r and its neighbour (a tie). */
function mulHalfway(a: number, b: number, r: number, es: number): boolean {
  if (!Number.isFinite(r) || r === 0) return false;
  const n = es > 0 ? nextUp64(r) : nextDown64(r);
  // a·b − r = (n − r)/2 exactly?  Scaled, so that the comparison stays exact.
  scaledProduct(a, b);
  const p = spP;
  const err = spErr;
  const k = spK;
  const half = scale(n - r, -k) / 2;
  const d = p - scale(r, -k);
  return d + err === half && sumError(d, err, d + err) === 0;
}

/** Sign of a/b − r for r = RN(a/b): the sign of the exact residual a − r·b, times the sign of b. */
function divErrorSign(a: number, b: number, r: number): number {
  if (r === 0 || !Number.isFinite(r)) {
    if (r === 0) return a > 0 === b > 0 ? 1 : -1;
    return r > 0 ? -1 : 1;
  }
  // Scale a and b near 1; the quotient r scales by the difference of their exponents.
  const ea = exponentOf(a);
  const eb = exponentOf(b);
  const sa = scale(a, -ea);
  const sb = scale(b, -eb);
  const rs = scale(r, eb - ea);
  const p = rs * sb;
  const err = productError(rs, sb, p);
  // residual = sa − (p + err), with sa − p exact (they are close).
  const s = signOfSum(sa - p, -err);
  return sb > 0 ? s : -s;
}

/**
 * Rounds the double `d` (with `e`: the sign or the exact value of what the
 * double computation left out, 0 when d is exact) to single precision in
 * mode `rm`, with the flags.
 */
function roundToSingle(d: number, e: number, rm: number, flags: Int32Array): number {
  if (!Number.isFinite(d)) {
    if (Number.isNaN(d)) return d;
    return adjust(d, 0, false, rm, true, flags); // overflowed already in double
  }
  const f = Math.fround(d);
  if (!Number.isFinite(f)) return adjust(f, 1, false, rm, true, flags); // beyond single's range
  // Sign of X − f: from d − f when d is not exactly f, else from e.
  let es = d > f ? 1 : d < f ? -1 : Math.sign(e);
  let half = false;
  if (d !== f) {
    const n = es > 0 ? nextUp32(f) : nextDown32(f);
    if (Number.isFinite(n) && (n - f) / 2 === d - f) {
      // d is exactly halfway; X may lie to one side of it.
      if (e === 0) half = true;
      else {
        // Math.fround chose by ties-to-even; the true value decides.
        const side = Math.sign(e) * (d > f ? 1 : -1);
        if (side > 0) {
          // X is beyond the midpoint, away from f: the correct RNE result is n.
          return adjust(n, -es, false, rm, true, flags);
        }
        es = d > f ? 1 : -1;
      }
    }
  }
  if (!Number.isFinite(f)) return adjust(f, es, false, rm, true, flags);
  return adjust(f, es, half, rm, true, flags);
}

/** The square root, double or single, on raw bits. */
export function sqrt64(lo: number, hi: number, rm: number, out: Int32Array, flags: Int32Array): void {
  if (isSNaN64(lo, hi)) flags[0] |= FLAG.NV;
  bits64(sqrtOf(f64Of(lo, hi), rm, false, flags), out);
}

export function sqrt32(b: number, rm: number, flags: Int32Array): number {
  if (isSNaN32(b)) flags[0] |= FLAG.NV;
  return bits32(sqrtOf(f32Of(b), rm, true, flags));
}

function sqrtOf(a: number, rm: number, single: boolean, flags: Int32Array): number {
  if (Number.isNaN(a)) return a;
  if (a < 0) {
    flags[0] |= FLAG.NV;
    return Number.NaN;
  }
  if (a === 0 || a === Number.POSITIVE_INFINITY) return a;
  const r = Math.sqrt(a);
  // Sign of √a − r = sign of a − r² (scaled to keep r² exact).
  const e = exponentOf(a) & ~1;
  const sa = scale(a, -e);
  const sr = scale(r, -e / 2);
  const p = sr * sr;
  const err = productError(sr, sr, p);
  const es = signOfSum(sa - p, -err);
  if (single) return roundToSingle(r, es, rm, flags);
  return adjust(r, es, false, rm, false, flags);
}

/**
 * Fused multiply-add a·b + c, rounded once. Single: the product is exact in
 * double and the sum's error is known exactly. Double: the exact result is
 * the sum of three doubles (the product's two parts and c), rounded from an
 * exact expansion.
 */
export function fma64(
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  clo: number,
  chi: number,
  negProduct: boolean,
  negAddend: boolean,
  rm: number,
  out: Int32Array,
  flags: Int32Array,
): void {
  if (isSNaN64(alo, ahi) || isSNaN64(blo, bhi) || isSNaN64(clo, chi)) flags[0] |= FLAG.NV;
  let a = f64Of(alo, ahi);
  const b = f64Of(blo, bhi);
  let c = f64Of(clo, chi);
  if (negProduct) a = -a;
  if (negAddend) c = -c;
  bits64(fmaOf(a, b, c, rm, false, flags), out);
}

export function fma32(
  a32: number,
  b32: number,
  c32: number,
  negProduct: boolean,
  negAddend: boolean,
  rm: number,
  flags: Int32Array,
): number {
  if (isSNaN32(a32) || isSNaN32(b32) || isSNaN32(c32)) flags[0] |= FLAG.NV;
  let a = f32Of(a32);
  const b = f32Of(b32);
  let c = f32Of(c32);
  if (negProduct) a = -a;
  if (negAddend) c = -c;
  return bits32(fmaOf(a, b, c, rm, true, flags));
}

function fmaOf(a: number, b: number, c: number, rm: number, single: boolean, flags: Int32Array): number {
  // Invalid: 0 × Inf, or Inf − Inf between the product and c; NaN operands give NaN.
  if (
    (a === 0 && !Number.isFinite(b) && !Number.isNaN(b)) ||
    (b === 0 && !Number.isFinite(a) && !Number.isNaN(a))
  ) {
    flags[0] |= FLAG.NV;
    return Number.NaN;
  }
  if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(c)) return Number.NaN;
  const p = a * b;
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    const r = p + c;
    if (Number.isNaN(r)) flags[0] |= FLAG.NV;
    return r;
  }
  if (!Number.isFinite(c)) return c;
  if (a === 0 || b === 0) {
    // The exact product is a signed zero.
    if (c === 0) {
      const pz = Object.is(p, -0);
      const cz = Object.is(c, -0);
      if (pz === cz) return c;
      return rm === RM.RDN ? -0 : 0;
    }
    return single ? roundToSingle(c, 0, rm, flags) : c;
  }
  if (single) {
    // p is exact (24 × 24 bits); p + c rounded once in double, its error exact.
    const s = p + c;
    if (s === 0) return rm === RM.RDN ? -0 : 0; // p = -c exactly
    return roundToSingle(s, sumError(p, c, s), rm, flags);
  }
  // Double: the exact value is ph + pl + c, with (ph, pl) the product's exact expansion.
  const ea = exponentOf(a);
  const eb = exponentOf(b);
  const k = ea + eb;
  // Dekker's split and the error terms need every operand and the product well inside the range.
  const far = (x: number) => x > 900 || x < -900;
  if (far(ea) || far(eb) || far(k) || (c !== 0 && far(exponentOf(c)))) {
    return fmaWide(a, b, c, rm, flags);
  }
  const ph = p;
  const pl = productError(a, b, p);
  // s = RN(ph + c) with error t; the exact value is s + t + pl.
  const s = ph + c;
  const t = Number.isFinite(s) ? sumError(ph, c, s) : 0;
  const u = t + pl;
  const v = sumError(t, pl, u);
  // Now X = s + u + v exactly, |v| tiny. Round: r = RN(s + u), then its error is (s + u − r) + v.
  const r = s + u;
  if (r === 0) {
    // s + u is exactly zero, so the exact value is v (itself a double) or an exact zero.
    if (v === 0) return rm === RM.RDN ? -0 : 0;
    return v;
  }
  const w = Number.isFinite(r) ? sumError(s, u, r) : 0;
  // The exact error of r is w + v; its sign, and whether it is exactly half an ulp.
  const es = signOfSum(w, v);
  // RN(s + u) is the correct RNE result unless w is exactly half an ulp and v breaks the tie.
  if (Number.isFinite(r) && w !== 0 && isHalfway(r, w, false) && v !== 0) {
    if (Math.sign(v) === Math.sign(w)) {
      // The true value is past the midpoint: RNE rounds to the far neighbour.
      const n = w > 0 ? nextUp64(r) : nextDown64(r);
      return adjust(n, -Math.sign(w), false, rm, false, flags);
    }
    return adjust(r, Math.sign(w), false, rm, false, flags);
  }
  return adjust(r, es, es !== 0 && v === 0 && isHalfway(r, w, false), rm, false, flags);
}

/**
 * fma where the operands' exponents reach the ends of the range (the
 * product or the addend near overflow or in the subnormal range), where the
 * error-free transformations above could overflow or lose bits. Rare: it is
 * done exactly with BigInt, the one place this file uses it.
 */
function fmaWide(a: number, b: number, c: number, rm: number, flags: Int32Array): number {
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  // X = ma·mb·2^(ea+eb) + mc·2^ec, aligned to the smaller exponent.
  const ep = ea + eb;
  const e = Math.min(ep, ec);
  const n = ((ma * mb) << BigInt(ep - e)) + (mc << BigInt(ec - e));
  if (n === 0n) return rm === RM.RDN ? -0 : 0; // an exact zero from non-zero terms
  return roundExact(n, e, rm, flags);
}

/** A finite double as an integer mantissa (signed BigInt) and a power of two. */
function decompose(v: number): [bigint, number] {
  if (v === 0) return [0n, 0];
  f64[0] = v;
  const hi = i32[1];
  const lo = i32[0] >>> 0;
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) e = -1074;
  else {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  return [hi < 0 ? -m : m, e];
}

/** Rounds the exact value n·2^e (n a non-zero BigInt) to a double in mode rm, with the flags. */
function roundExact(n: bigint, e: number, rm: number, flags: Int32Array): number {
  const neg = n < 0n;
  let m = neg ? -n : n;
  const bitLength = m.toString(2).length;
  // The exponent of the leading bit; the result's quantum is 2^q with 53 bits, or 2^-1074 below normal.
  const top = e + bitLength - 1;
  const q = Math.max(top - 52, -1074);
  let rounded: bigint;
  let inexact = false;
  if (q > e) {
    const shift = BigInt(q - e);
    const kept = m >> shift;
    const rest = m - (kept << shift);
    const half = 1n << (shift - 1n);
    inexact = rest !== 0n;
    let up = false;
    if (inexact) {
      switch (rm) {
        case RM.RTZ:
          break;
        case RM.RDN:
          up = neg;
          break;
        case RM.RUP:
          up = !neg;
          break;
        case RM.RMM:
          up = rest >= half;
          break;
        default:
          up = rest > half || (rest === half && (kept & 1n) === 1n);
      }
    }
    rounded = up ? kept + 1n : kept;
    m = rounded;
  } else {
    m <<= BigInt(e - q);
  }
  // m · 2^q, m < 2^54; exact as a double product (m fits in 53 bits, or is 2^53 after rounding up).
  let v = scale(Number(m), q);
  if (neg) v = -v;
  if (inexact) flags[0] |= FLAG.NX;
  if (!Number.isFinite(v) || Math.abs(v) > MAX64) {
    flags[0] |= FLAG.OF | FLAG.NX;
    if (rm === RM.RTZ || (rm === RM.RDN && !neg) || (rm === RM.RUP && neg)) return neg ? -MAX64 : MAX64;
    return neg ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  // Tininess after rounding (RISC-V): the value rounded to 53 bits with an unbounded exponent is below 2^-1022.
  if (inexact && top <= -1023) {
    let tiny = true;
    if (top === -1023) {
      // Rounding at 53 bits (quantum 2^(top-52)) may carry up to exactly 2^-1022.
      const qu = top - 52;
      const shift = BigInt(qu - e);
      const whole = neg ? -n : n;
      if (shift > 0n) {
        const kept = whole >> shift;
        const rest = whole - (kept << shift);
        const half = 1n << (shift - 1n);
        let up = false;
        if (rest !== 0n) {
          if (rm === RM.RDN) up = neg;
          else if (rm === RM.RUP) up = !neg;
          else if (rm === RM.RMM) up = rest >= half;
          else if (rm === RM.RNE) up = rest > half || (rest === half && (kept & 1n) === 1n);
        }
        if (up && kept + 1n === 1n << 53n) tiny = false;
      }
    }
    if (tiny) flags[0] |= FLAG.UF;
  }
  return v;
}

// ---- conversions, comparisons, classification ----------------------------

/**
 * A float to an integer of `bits` (32 or 64), signed or not, in mode `rm`:
 * NV and the saturated value for NaN and out-of-range values (NaN gives the
 * largest positive), NX when the value was not an integer. Answers the
 * integer as a double for 32-bit results; 64-bit results go to out[0..1].
 */
export function toInt(
  v: number,
  bits: 32 | 64,
  signed: boolean,
  rm: number,
  out: Int32Array,
  flags: Int32Array,
): void {
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const maxPlus1 = signed ? 2 ** (bits - 1) : 2 ** bits;
  let i: number;
  if (Number.isNaN(v)) i = Number.NaN;
  else i = roundInt(v, rm);
  if (Number.isNaN(i) || i < min || i >= maxPlus1) {
    flags[0] |= FLAG.NV;
    const positive = Number.isNaN(v) || v > 0;
    if (bits === 32) {
      const r = positive ? (signed ? 0x7fffffff : 0xffffffff) : signed ? -0x80000000 : 0;
      out[0] = r | 0;
      out[1] = (r | 0) >> 31; // W results are sign-extended
    } else if (signed) {
      out[0] = positive ? -1 : 0;
      out[1] = positive ? 0x7fffffff : -0x80000000;
    } else {
      out[0] = positive ? -1 : 0;
      out[1] = positive ? -1 : 0;
    }
    return;
  }
  if (i !== v) flags[0] |= FLAG.NX;
  if (bits === 32) {
    out[0] = i | 0;
    out[1] = (i | 0) >> 31;
    return;
  }
  // 64-bit: |i| < 2^64 is an integer-valued double.
  if (i >= 0) {
    out[0] = (i % 4294967296) | 0;
    out[1] = Math.floor(i / 4294967296) | 0;
  } else {
    const m = -i;
    const lo = m % 4294967296;
    const hi = Math.floor(m / 4294967296);
    out[0] = -lo | 0;
    out[1] = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
}

/** v rounded to an integer in mode rm. */
function roundInt(v: number, rm: number): number {
  if (Math.abs(v) >= 2 ** 52) return v;
  switch (rm) {
    case RM.RTZ:
      return Math.trunc(v);
    case RM.RDN:
      return Math.floor(v);
    case RM.RUP:
      return Math.ceil(v);
    case RM.RMM:
      // Halves away from zero; |v| + 0.5 is exact below 2^52, and above it v is an integer already.
      if (Math.abs(v) >= 2 ** 52) return v;
      return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
    default: {
      const f = Math.floor(v);
      const d = v - f;
      if (d > 0.5) return f + 1;
      if (d < 0.5) return f;
      return f % 2 === 0 ? f : f + 1;
    }
  }
}

/**
 * An integer (the 64-bit value lo, hi; `signed`) to a float, rounded in
 * mode rm; answers the double or single value.
 */
export function fromInt(
  lo: number,
  hi: number,
  signed: boolean,
  single: boolean,
  rm: number,
  flags: Int32Array,
): number {
  const neg = signed && hi < 0;
  let ulo = lo >>> 0;
  let uhi = hi >>> 0;
  if (neg) {
    ulo = -lo >>> 0;
    uhi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  // The exact magnitude is uhi·2^32 + ulo; split so the sum's rounding and error are exact.
  const big = uhi * 4294967296;
  let r = big + ulo;
  let e = sumError(big, ulo, r);
  if (neg) {
    r = -r;
    e = -e;
  }
  if (single) return roundToSingle(r, e, rm, flags);
  return adjust(r, Math.sign(e), isHalfway(r, e, false), rm, false, flags);
}

/** FCLASS: one of ten bits. */
export function classify(
  negative: boolean,
  expAllOnes: boolean,
  expZero: boolean,
  fracZero: boolean,
  quiet: boolean,
): number {
  if (expAllOnes) {
    if (fracZero) return negative ? 1 << 0 : 1 << 7;
    return quiet ? 1 << 9 : 1 << 8;
  }
  if (expZero) {
    if (fracZero) return negative ? 1 << 3 : 1 << 4;
    return negative ? 1 << 2 : 1 << 5;
  }
  return negative ? 1 << 1 : 1 << 6;
}

/** Single to double (exact; NaN canonical, NV for a signalling NaN). */
export function widen(b: number, out: Int32Array, flags: Int32Array): void {
  if (isSNaN32(b)) flags[0] |= FLAG.NV;
  bits64(f32Of(b), out);
}

/** Double to single, rounded in mode rm. */
export function narrow(lo: number, hi: number, rm: number, flags: Int32Array): number {
  if (isSNaN64(lo, hi)) flags[0] |= FLAG.NV;
  const d = f64Of(lo, hi);
  if (Number.isNaN(d)) return CANONICAL_NAN32;
  if (!Number.isFinite(d) || d === 0) return bits32(d);
  return bits32(roundToSingle(d, 0, rm, flags));
}
