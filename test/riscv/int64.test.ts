/** The hart's 64-bit arithmetic on 32-bit halves, against BigInt on random and edge operands. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { div64, divu64, mul64, mulh64 } from 'axptr/riscv';
import fc from 'fast-check';

const M = (1n << 64n) - 1n;
const lo = (v: bigint) => Number(v & 0xffff_ffffn) | 0;
const hi = (v: bigint) => Number((v >> 32n) & 0xffff_ffffn) | 0;
const u = (l: number, h: number) => (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
const s64 = (v: bigint) => BigInt.asIntN(64, v);

const edge = fc.constantFrom(
  0n,
  1n,
  M,
  1n << 63n,
  (1n << 63n) - 1n,
  0xffff_ffffn,
  1n << 32n,
  0x8000_0000n,
  3n,
  M - 1n,
);
const operand = fc.oneof(
  fc.bigInt({ min: 0n, max: M }),
  edge,
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }),
  fc.bigInt({ min: 0n, max: (1n << 53n) - 1n }),
);

test('mul64 and mulh64 (signed, unsigned, mixed) equal BigInt products', () => {
  const out = new Int32Array(4);
  fc.assert(
    fc.property(operand, operand, (a, b) => {
      mul64(out, lo(a), hi(a), lo(b), hi(b));
      assert.equal(u(out[0], out[1]), (a * b) & M);
      mulh64(out, lo(a), hi(a), lo(b), hi(b), false, false);
      assert.equal(u(out[0], out[1]), (a * b) >> 64n);
      mulh64(out, lo(a), hi(a), lo(b), hi(b), true, true);
      assert.equal(u(out[0], out[1]), BigInt.asUintN(64, (s64(a) * s64(b)) >> 64n));
      mulh64(out, lo(a), hi(a), lo(b), hi(b), true, false);
      assert.equal(u(out[0], out[1]), BigInt.asUintN(64, (s64(a) * b) >> 64n));
    }),
    { numRuns: 5000 },
  );
});

test('divu64 and div64 equal BigInt division (the divisor non-zero; MIN / -1 is the caller’s)', () => {
  const out = new Int32Array(4);
  fc.assert(
    fc.property(operand, operand, (a, b) => {
      if (b === 0n) return;
      divu64(out, lo(a), hi(a), lo(b), hi(b));
      assert.equal(u(out[0], out[1]), a / b, 'quotient');
      assert.equal(u(out[2], out[3]), a % b, 'remainder');
      if (s64(a) === -(1n << 63n) && s64(b) === -1n) return;
      div64(out, lo(a), hi(a), lo(b), hi(b));
      assert.equal(u(out[0], out[1]), BigInt.asUintN(64, s64(a) / s64(b)), 'signed quotient');
      assert.equal(u(out[2], out[3]), BigInt.asUintN(64, s64(a) % s64(b)), 'signed remainder');
    }),
    { numRuns: 10000 },
  );
});
