import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADDR_END,
  AddrRange,
  alignDown,
  alignDown4K,
  alignOffset,
  alignUp,
  alignUp4K,
  hex,
  hi32,
  isAligned,
  isAligned4K,
  isPowerOfTwo,
  joinU64,
  lo32,
  PAGE_SHIFT_4K,
  PAGE_SIZE_1G,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  pa,
  pageIter,
  pageNumber4K,
  pageOffset4K,
  pagesCovering,
  parseUserAddr,
  parseUserRange,
  parseUserSize,
  safeHi,
  splitSafe,
  TWO_POW_32,
  toI64,
  toSafeIndex,
  toU64,
  tryJoinSafe,
  tryParseUserAddr,
  U64_MAX,
  va,
} from 'axptr/addr';
import { Errno, errnoName, isLinuxError, LinuxError } from 'axptr/errno';
import fc from 'fast-check';

const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const B53 = 2n ** 53n;
const B64 = 2n ** 64n;

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

/** Integers 0..2^53-1, with the interesting edges and small values weighted in. */
const addrArb = fc.oneof(
  { arbitrary: fc.maxSafeNat(), weight: 4 },
  { arbitrary: fc.nat(0x10_0000), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      0,
      1,
      0xfff,
      0x1000,
      0x1001,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 47 - 1,
      2 ** 47,
      MAX - 1,
      MAX,
    ),
    weight: 2,
  },
);

/** Power-of-two alignments 2^0..2^30. */
const alignArb = fc.integer({ min: 0, max: 30 }).map((k) => 2 ** k);

/** A range bound 0..2^53 (2^53 = ADDR_END is a valid end). */
const boundArb = fc.oneof(
  { arbitrary: fc.nat(64), weight: 3 },
  { arbitrary: fc.maxSafeNat(), weight: 2 },
  { arbitrary: fc.constantFrom(0, 2 ** 47, MAX, ADDR_END), weight: 1 },
);

const rangeArb = fc
  .tuple(boundArb, boundArb)
  .map(([a, b]) => AddrRange.new<number>(Math.min(a, b), Math.max(a, b)));

// Plain bigint models of memory_addr's usize arithmetic (no wrap can happen below 2^54).
const mAlignDown = (a: bigint, al: bigint): bigint => a & ~(al - 1n);
const mAlignUp = (a: bigint, al: bigint): bigint => (a + al - 1n) & ~(al - 1n);
const mAlignOffset = (a: bigint, al: bigint): bigint => a & (al - 1n);

function assertEfault(fn: () => unknown, errno: number = Errno.EFAULT): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LinuxError, `expected LinuxError, got ${String(e)}`);
    assert.equal(e.errno, errno);
    assert.equal(e.code, errnoName(errno));
    return true;
  });
}

// ---------------------------------------------------------------------------

describe('constants and brands', () => {
  test('page sizes and ADDR_END', () => {
    assert.equal(PAGE_SIZE_4K, 4096);
    assert.equal(PAGE_SIZE_2M, 2 * 1024 * 1024);
    assert.equal(PAGE_SIZE_1G, 1024 * 1024 * 1024);
    assert.equal(PAGE_SHIFT_4K, 12);
    assert.equal(2 ** PAGE_SHIFT_4K, PAGE_SIZE_4K);
    assert.equal(ADDR_END, 2 ** 53);
    assert.equal(ADDR_END, MAX + 1);
  });

  test('va and pa return the number unchanged', () => {
    assert.equal(va(0x1234), 0x1234);
    assert.equal(pa(MAX), MAX);
  });

  test('hex', () => {
    assert.equal(hex(0), '0x0');
    assert.equal(hex(0x1000), '0x1000');
    assert.equal(hex(2n ** 64n - 1n), '0xffffffffffffffff');
    assert.equal(hex(1.5), '1.5');
    assert.equal(hex(Number.NaN), 'NaN');
  });
});

describe('isPowerOfTwo', () => {
  test('every 2^k for k = 0..52 is a power of two', () => {
    for (let k = 0; k <= 52; k++) assert.equal(isPowerOfTwo(2 ** k), true, `2^${k}`);
  });

  test('2^k ± 1 and 3·2^k are not (including above 2^30, where Math.log2 rounds)', () => {
    for (let k = 2; k <= 52; k++) {
      assert.equal(isPowerOfTwo(2 ** k + 1), false, `2^${k} + 1`);
      assert.equal(isPowerOfTwo(2 ** k - 1), false, `2^${k} - 1`);
      if (3 * 2 ** k <= MAX) assert.equal(isPowerOfTwo(3 * 2 ** k), false, `3 * 2^${k}`);
    }
  });

  test('0, negatives, fractions, NaN, infinities and 2^53 are not', () => {
    for (const n of [
      0,
      -1,
      -2,
      -4096,
      0.5,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      2 ** 60,
    ]) {
      assert.equal(isPowerOfTwo(n), false, String(n));
    }
  });

  test('property: agrees with the bigint model on 1..2^53-1', () => {
    const near = fc
      .tuple(fc.integer({ min: 0, max: 52 }), fc.integer({ min: -2, max: 2 }))
      .map(([k, d]) => 2 ** k + d)
      .filter((n) => n >= 1 && n <= MAX);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.maxSafeNat().filter((n) => n > 0),
          near,
        ),
        (n) => {
          const b = BigInt(n);
          assert.equal(isPowerOfTwo(n), (b & (b - 1n)) === 0n);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('alignment', () => {
  test('examples', () => {
    assert.equal(alignDown(0x1234, 0x1000), 0x1000);
    assert.equal(alignUp(0x1234, 0x1000), 0x2000);
    assert.equal(alignUp(0x2000, 0x1000), 0x2000);
    assert.equal(alignOffset(0x1234, 0x1000), 0x234);
    assert.equal(isAligned(0x2000, 0x1000), true);
    assert.equal(isAligned(0x2001, 0x1000), false);
    assert.equal(alignUp(0, 0x1000), 0);
    assert.equal(alignDown(0, 0x1000), 0);
    assert.equal(isAligned(0, 2 ** 30), true);
    // Above 2^32, where `&` on numbers would truncate.
    assert.equal(alignDown(2 ** 40 + 0x1234, 0x1000), 2 ** 40 + 0x1000);
    assert.equal(alignUp(2 ** 40 + 0x1234, 0x1000), 2 ** 40 + 0x2000);
  });

  test('edges 0, 2^47 and 2^53-1', () => {
    for (let k = 0; k <= 30; k++) {
      const al = 2 ** k;
      assert.equal(alignDown(0, al), 0);
      assert.equal(alignUp(0, al), 0);
      assert.equal(alignDown(2 ** 47, al), 2 ** 47);
      assert.equal(alignUp(2 ** 47, al), 2 ** 47);
      assert.equal(isAligned(2 ** 47, al), true);
      assert.equal(alignDown(MAX, al), MAX - (al - 1));
      assert.equal(alignOffset(MAX, al), al - 1);
    }
  });

  test('alignUp(2^53-1, a) is exactly 2^53 = ADDR_END for every a in 2^1..2^52: not wrapped, not rounded', () => {
    // memory_addr computes (a + al - 1) & !(al - 1) in usize; on a 64-bit machine that is 2^53 too.
    // 2^53 is not a safe integer but it is exactly representable, and it is the documented upper limit.
    for (let k = 1; k <= 52; k++) {
      const up = alignUp(MAX, 2 ** k);
      assert.equal(up, 2 ** 53, `k = ${k}`);
      assert.equal(BigInt(up), mAlignUp(BigInt(MAX), 2n ** BigInt(k)));
      assert.equal(up, ADDR_END);
    }
    assert.equal(alignUp(MAX, 1), MAX);
    assert.equal(alignUp4K(MAX), ADDR_END);
  });

  test('property: alignDown/alignUp/alignOffset/isAligned match the bigint model (alignments up to 2^30)', () => {
    fc.assert(
      fc.property(addrArb, alignArb, (a, al) => {
        const A = BigInt(a);
        const AL = BigInt(al);
        const down = alignDown(a, al);
        const up = alignUp(a, al);
        assert.equal(BigInt(down), mAlignDown(A, AL));
        assert.equal(BigInt(up), mAlignUp(A, AL));
        assert.ok(Number.isInteger(down) && Number.isInteger(up));
        assert.ok(up <= ADDR_END);
        assert.equal(BigInt(alignOffset(a, al)), mAlignOffset(A, AL));
        assert.equal(isAligned(a, al), mAlignOffset(A, AL) === 0n);
        assert.equal(isAligned(down, al), true);
        assert.equal(isAligned(up, al), true);
        assert.ok(down <= a && a <= up);
        assert.ok(up - down === 0 || up - down === al);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: the same holds for alignments 2^31..2^52 (no 32-bit truncation)', () => {
    fc.assert(
      fc.property(
        addrArb,
        fc.integer({ min: 31, max: 52 }).map((k) => 2 ** k),
        (a, al) => {
          assert.equal(BigInt(alignDown(a, al)), mAlignDown(BigInt(a), BigInt(al)));
          assert.equal(BigInt(alignUp(a, al)), mAlignUp(BigInt(a), BigInt(al)));
          assert.equal(BigInt(alignOffset(a, al)), mAlignOffset(BigInt(a), BigInt(al)));
        },
      ),
    );
  });

  test('property: the 4K variants equal the generic ones with 4096', () => {
    fc.assert(
      fc.property(addrArb, (a) => {
        assert.equal(alignDown4K(a), alignDown(a, PAGE_SIZE_4K));
        assert.equal(alignUp4K(a), alignUp(a, PAGE_SIZE_4K));
        assert.equal(pageOffset4K(a), alignOffset(a, PAGE_SIZE_4K));
        assert.equal(isAligned4K(a), isAligned(a, PAGE_SIZE_4K));
        assert.equal(BigInt(pageNumber4K(a)), BigInt(a) >> 12n);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('AddrRange', () => {
  test('new / tryNew', () => {
    const r = AddrRange.new<number>(0x1000, 0x3000);
    assert.equal(r.start, 0x1000);
    assert.equal(r.end, 0x3000);
    assert.equal(r.size, 0x2000);
    assert.equal(r.isEmpty(), false);
    assert.equal(r.toString(), '[0x1000, 0x3000)');
    assert.equal(AddrRange.new<number>(5, 5).isEmpty(), true);
    assert.equal(AddrRange.new<number>(5, 5).size, 0);
    assert.equal(AddrRange.tryNew<number>(0, ADDR_END)?.size, ADDR_END);
    assert.equal(AddrRange.tryNew<number>(ADDR_END, ADDR_END)?.isEmpty(), true);

    assert.equal(AddrRange.tryNew<number>(0x3000, 0x1000), undefined);
    assertEfault(() => AddrRange.new<number>(0x3000, 0x1000));
    assert.equal(AddrRange.tryNew<number>(1, 0), undefined);
    for (const [s, e] of [
      [-1, 5],
      [0, ADDR_END + 2],
      [0, 2 ** 60],
      [1.5, 2],
      [0, 2.5],
      [Number.NaN, 1],
      [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY],
    ]) {
      assert.equal(AddrRange.tryNew<number>(s, e), undefined, `tryNew(${s}, ${e})`);
      assertEfault(() => AddrRange.new<number>(s, e));
    }
  });

  test('fromStartSize / tryFromStartSize', () => {
    const r = AddrRange.fromStartSize<number>(0x1000, 0x2000);
    assert.equal(r.start, 0x1000);
    assert.equal(r.end, 0x3000);
    assert.equal(AddrRange.fromStartSize<number>(MAX, 1).end, ADDR_END);
    assert.equal(AddrRange.fromStartSize<number>(0, ADDR_END).end, ADDR_END);
    assert.equal(AddrRange.fromStartSize<number>(ADDR_END, 0).isEmpty(), true);

    // end > 2^53: refused, including the sums that would round back down to 2^53 in floating point.
    for (const [s, n] of [
      [MAX, 2],
      [1, ADDR_END],
      [ADDR_END, 1],
      [2 ** 47, ADDR_END],
      [ADDR_END, ADDR_END],
      [MAX, MAX],
      [-1, 1],
      [0, -1],
      [0, 1.5],
      [Number.NaN, 0],
      [0, Number.POSITIVE_INFINITY],
      [0, 2 ** 60],
    ]) {
      assert.equal(AddrRange.tryFromStartSize<number>(s, n), undefined, `tryFromStartSize(${s}, ${n})`);
      assertEfault(() => AddrRange.fromStartSize<number>(s, n));
    }
  });

  test('property: tryFromStartSize against the bigint model', () => {
    fc.assert(
      fc.property(boundArb, boundArb, (s, n) => {
        const r = AddrRange.tryFromStartSize<number>(s, n);
        const end = BigInt(s) + BigInt(n);
        if (end > B53) {
          assert.equal(r, undefined);
          assert.throws(
            () => AddrRange.fromStartSize<number>(s, n),
            (e) => isLinuxError(e, 'EFAULT'),
          );
        } else {
          assert.ok(r !== undefined);
          assert.equal(r.start, s);
          assert.equal(BigInt(r.end), end);
          assert.equal(r.size, n);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('property: tryNew against the bigint model', () => {
    fc.assert(
      fc.property(boundArb, boundArb, (s, e) => {
        const r = AddrRange.tryNew<number>(s, e);
        if (s > e) assert.equal(r, undefined);
        else {
          assert.ok(r !== undefined);
          assert.equal(BigInt(r.size), BigInt(e) - BigInt(s));
          assert.equal(r.isEmpty(), s === e);
        }
      }),
    );
  });

  test('contains, containsRange, containedIn, overlaps: examples', () => {
    const r = AddrRange.new<number>(0x1000, 0x3000);
    assert.equal(r.contains(0xfff), false);
    assert.equal(r.contains(0x1000), true);
    assert.equal(r.contains(0x2fff), true);
    assert.equal(r.contains(0x3000), false);

    const inner = AddrRange.new<number>(0x1000, 0x2000);
    assert.equal(r.containsRange(inner), true);
    assert.equal(inner.containedIn(r), true);
    assert.equal(inner.containsRange(r), false);
    assert.equal(r.containedIn(inner), false);
    assert.equal(r.containsRange(r), true);

    const touching = AddrRange.new<number>(0x3000, 0x4000);
    assert.equal(r.overlaps(touching), false);
    assert.equal(touching.overlaps(r), false);
    assert.equal(r.overlaps(AddrRange.new<number>(0x2fff, 0x4000)), true);
    assert.equal(r.overlaps(r), true);

    // An empty range overlaps nothing, not even a range that contains its position or itself.
    const empty = AddrRange.new<number>(0x2000, 0x2000);
    assert.equal(empty.overlaps(r), false);
    assert.equal(r.overlaps(empty), false);
    assert.equal(empty.overlaps(empty), false);
    assert.equal(empty.contains(0x2000), false);
    // …but it is contained in a range that spans its position (contains_range has no emptiness check).
    assert.equal(r.containsRange(empty), true);
    assert.equal(empty.containedIn(r), true);
  });

  test('property: the predicates match the bigint model', () => {
    fc.assert(
      fc.property(rangeArb, rangeArb, boundArb, (a, b, x) => {
        const as = BigInt(a.start);
        const ae = BigInt(a.end);
        const bs = BigInt(b.start);
        const be = BigInt(b.end);
        const X = BigInt(x);
        assert.equal(a.isEmpty(), as >= ae);
        assert.equal(BigInt(a.size), ae - as);
        assert.equal(a.contains(x), as <= X && X < ae);
        assert.equal(a.containsRange(b), as <= bs && be <= ae);
        assert.equal(b.containedIn(a), as <= bs && be <= ae);
        // Some byte lies in both: max(starts) < min(ends).
        const shareByte = (as > bs ? as : bs) < (ae < be ? ae : be);
        assert.equal(a.overlaps(b), shareByte);
        assert.equal(b.overlaps(a), shareByte);
        if (a.isEmpty() || b.isEmpty()) assert.equal(a.overlaps(b), false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pageIter', () => {
  test('yields the pages of an aligned range', () => {
    const it = pageIter(0x1000, 0x4000);
    assert.ok(it !== undefined);
    assert.deepEqual([...it], [0x1000, 0x2000, 0x3000]);
    // Iterable more than once.
    assert.deepEqual([...it], [0x1000, 0x2000, 0x3000]);
    assert.deepEqual([...(pageIter(0x2000, 0x2000) ?? [1])], []);
    assert.deepEqual(
      [...(pageIter(0, 3 * PAGE_SIZE_2M, PAGE_SIZE_2M) ?? [])],
      [0, PAGE_SIZE_2M, 2 * PAGE_SIZE_2M],
    );
    assert.deepEqual([...(pageIter(PAGE_SIZE_1G, 2 * PAGE_SIZE_1G, PAGE_SIZE_1G) ?? [])], [PAGE_SIZE_1G]);
    assert.deepEqual([...(pageIter(2 ** 47 - 0x2000, 2 ** 47) ?? [])], [2 ** 47 - 0x2000, 2 ** 47 - 0x1000]);
    assert.deepEqual([...(pageIter(ADDR_END - 0x1000, ADDR_END) ?? [])], [ADDR_END - 0x1000]);
  });

  test('start > end (both aligned) yields nothing', () => {
    assert.deepEqual([...(pageIter(0x4000, 0x1000) ?? [1])], []);
  });

  test('undefined on a misaligned bound', () => {
    assert.equal(pageIter(0x1001, 0x4000), undefined);
    assert.equal(pageIter(0x1000, 0x4001), undefined);
    assert.equal(pageIter(0x1000, 0x3000, PAGE_SIZE_2M), undefined);
    assert.equal(pageIter(0, PAGE_SIZE_1G + PAGE_SIZE_2M, PAGE_SIZE_1G), undefined);
  });

  test('undefined on a page size that is not a power of two', () => {
    for (const ps of [0, 3, 0x1800, 4097, -4096, 1.5, Number.NaN, 2 ** 49 + 1, 3 * 2 ** 40]) {
      assert.equal(pageIter(0, 0, ps), undefined, `page size ${ps}`);
    }
    // Bounds divisible by 2^49 + 1: only the power-of-two check can refuse this.
    assert.equal(pageIter(0, 2 ** 49 + 1, 2 ** 49 + 1), undefined);
  });

  test('property: pages of [k·ps, (k+n)·ps) are exactly k·ps, …, (k+n-1)·ps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.nat(1000), fc.nat(20), (shift, k, n) => {
        const ps = 2 ** shift;
        const it = pageIter(k * ps, (k + n) * ps, ps);
        assert.ok(it !== undefined);
        const pages = [...it];
        assert.equal(pages.length, n);
        pages.forEach((p, i) => {
          assert.equal(p, (k + i) * ps);
        });
      }),
    );
  });
});

describe('pagesCovering', () => {
  test('examples', () => {
    assert.deepEqual(pagesCovering(0, 0), { first: 0, end: 0, count: 0 });
    assert.deepEqual(pagesCovering(0x1000, 0), { first: 0x1000, end: 0x1000, count: 0 });
    assert.deepEqual(pagesCovering(0x1fff, 1), { first: 0x1000, end: 0x2000, count: 1 });
    assert.deepEqual(pagesCovering(0x1fff, 2), { first: 0x1000, end: 0x3000, count: 2 });
    assert.deepEqual(pagesCovering(0x1000, 0x1000), { first: 0x1000, end: 0x2000, count: 1 });
    assert.deepEqual(pagesCovering(MAX, 1), { first: ADDR_END - 0x1000, end: ADDR_END, count: 1 });
  });

  test('property: against the bigint model for start + size <= 2^53', () => {
    fc.assert(
      fc.property(addrArb, fc.oneof(fc.nat(0x10_0000), fc.maxSafeNat()), (start, size0) => {
        const size = Math.min(size0, ADDR_END - start);
        const S = BigInt(start);
        const E = S + BigInt(size);
        const first = (S / 4096n) * 4096n;
        const end = ((E + 4095n) / 4096n) * 4096n;
        const r = pagesCovering(start, size);
        assert.equal(BigInt(r.first), first);
        assert.equal(BigInt(r.end), end);
        assert.equal(BigInt(r.count), (end - first) / 4096n);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------
// Untrusted user values
// ---------------------------------------------------------------------------

/** Every class of value that is not an exact integer 0 ≤ v < 2^53. */
const BAD_INPUTS: ReadonlyArray<[string, unknown]> = [
  ['NaN', Number.NaN],
  ['+Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['1.5', 1.5],
  ['0.5', 0.5],
  ['4096.000001', 4096.000001],
  ['-1', -1],
  ['-4096', -4096],
  ['-(2^53 - 1)', -MAX],
  ['2^53', 2 ** 53],
  ['2^53 + 2', 2 ** 53 + 2],
  ['2^60', 2 ** 60],
  ['2^64', 2 ** 64],
  ['Number.MAX_VALUE', Number.MAX_VALUE],
  ['-1n', -1n],
  ['-(2^64)n', -(2n ** 64n)],
  ['2n^53n', B53],
  ['2n^53n + 1n', B53 + 1n],
  ['2n^63n', 2n ** 63n],
  ['2n^64n - 1n', B64 - 1n],
  ['2n^64n', B64],
  ['2n^64n + 0x1000n', B64 + 0x1000n],
  ['2n^128n', 2n ** 128n],
  ["string '0x1000'", '0x1000'],
  ["string '4096'", '4096'],
  ["string ''", ''],
  ['undefined', undefined],
  ['null', null],
  ['object', { valueOf: () => 0x1000 }],
  ['array', [0x1000]],
  ['boolean', true],
  ['symbol', Symbol('addr')],
  ['Number object', new Number(0x1000)],
  ['function', () => 0x1000],
];

/** Valid inputs and the number they must parse to. */
const GOOD_INPUTS: ReadonlyArray<[string, unknown, number]> = [
  ['0', 0, 0],
  ['0n', 0n, 0],
  ['1', 1, 1],
  ['0x1000', 0x1000, 0x1000],
  ['2^47', 2 ** 47, 2 ** 47],
  ['2n^47n', 2n ** 47n, 2 ** 47],
  ['2^53 - 1', MAX, MAX],
  ['2n^53n - 1n', B53 - 1n, MAX],
];

describe('parseUserAddr / tryParseUserAddr / parseUserSize / toSafeIndex', () => {
  for (const [label, v] of BAD_INPUTS) {
    test(`bad input ${label} → EFAULT / undefined`, () => {
      assertEfault(() => parseUserAddr(v));
      assertEfault(() => parseUserSize(v));
      assert.equal(tryParseUserAddr(v), undefined);
      assert.equal(toSafeIndex(v), undefined);
      assertEfault(() => parseUserRange(v, 0));
      assertEfault(() => parseUserRange(0, v));
    });
  }

  test('the LinuxError says what was wrong', () => {
    assert.throws(
      () => parseUserAddr(2n ** 64n),
      (e: unknown) =>
        e instanceof LinuxError && e.code === 'EFAULT' && e.message.includes('0x10000000000000000'),
    );
    assert.throws(
      () => parseUserSize('0x1000'),
      (e: unknown) => e instanceof LinuxError && e.message.includes('string'),
    );
  });

  for (const [label, v, expected] of GOOD_INPUTS) {
    test(`valid input ${label} parses exactly`, () => {
      assert.equal(parseUserAddr(v), expected);
      assert.equal(parseUserSize(v), expected);
      assert.equal(tryParseUserAddr(v), expected);
      assert.equal(toSafeIndex(v), expected);
      assert.equal(typeof parseUserAddr(v), 'number');
    });
  }

  test('-0 is the integer 0 (and comes back as +0, not -0)', () => {
    assert.equal(parseUserAddr(-0), 0);
    assert.ok(Object.is(parseUserAddr(-0), 0));
    assert.ok(Object.is(parseUserSize(-0), 0));
    assert.ok(Object.is(tryParseUserAddr(-0), 0));
    assert.ok(Object.is(toSafeIndex(-0), 0));
    assert.deepEqual(parseUserRange(-0, -0), AddrRange.new<number>(0, 0));
  });

  test('a custom errno is honoured, and only on failure', () => {
    assertEfault(() => parseUserAddr(-1, Errno.EINVAL), Errno.EINVAL);
    assertEfault(() => parseUserAddr('0x1000', Errno.EINVAL), Errno.EINVAL);
    assertEfault(() => parseUserSize(1.5, Errno.EINVAL), Errno.EINVAL);
    assertEfault(() => parseUserSize(2n ** 64n, Errno.ENOMEM), Errno.ENOMEM);
    assert.throws(
      () => parseUserSize(Number.NaN, Errno.EOVERFLOW),
      (e) => isLinuxError(e, 'EOVERFLOW'),
    );
    assert.equal(parseUserAddr(0x1000, Errno.EINVAL), 0x1000);
    assert.equal(parseUserSize(7n, Errno.EINVAL), 7);
  });

  test('property: any number or bigint parses iff it is an integer in [0, 2^53), to exactly that value', () => {
    const anyNumber = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.constantFrom(-0, 2 ** 53, -(2 ** 53), MAX, -MAX),
    );
    const anyBigint = fc.oneof(
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.bigInt({ min: B53 - 4n, max: B53 + 4n }),
      fc.bigInt({ min: B64 - 4n, max: B64 + 4n }),
    );
    fc.assert(
      fc.property(fc.oneof(anyNumber, anyBigint), (v) => {
        let valid: boolean;
        if (typeof v === 'number') valid = Number.isInteger(v) && v >= 0 && v < 2 ** 53;
        else valid = v >= 0n && v < B53;
        const t = tryParseUserAddr(v);
        if (valid) {
          assert.ok(t !== undefined);
          assert.equal(BigInt(t), BigInt(v));
          assert.equal(parseUserAddr(v), t);
          assert.equal(parseUserSize(v), t);
        } else {
          assert.equal(t, undefined);
          assertEfault(() => parseUserAddr(v));
          assertEfault(() => parseUserSize(v));
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseUserRange', () => {
  test('valid ranges', () => {
    const r = parseUserRange(0x1000, 0x2000);
    assert.equal(r.start, 0x1000);
    assert.equal(r.end, 0x3000);
    assert.deepEqual(parseUserRange(0n, 0n), AddrRange.new<number>(0, 0));
    assert.equal(parseUserRange(2 ** 47, 0x1000n).end, 2 ** 47 + 0x1000);
    assert.equal(parseUserRange(B53 - 1n, 1).end, ADDR_END);
    assert.equal(parseUserRange(0, MAX).end, MAX);
  });

  test('ranges whose end passes 2^53 (which includes every wrap around 2^64) are EFAULT', () => {
    assertEfault(() => parseUserRange(MAX, 2));
    assertEfault(() => parseUserRange(1, MAX + 1 - 0));
    assertEfault(() => parseUserRange(2 ** 47, MAX));
    assertEfault(() => parseUserRange(MAX, MAX));
    // A size that wraps a 64-bit add: 0x7fff_ffff_f000 + (2^64 - 0x1000) = 0x7fff_ffff_e000 mod 2^64.
    assertEfault(() => parseUserRange(0x7fff_ffff_f000, B64 - 0x1000n));
    // A "negative" size as a register would hold it.
    assertEfault(() => parseUserRange(0x1000, toU64(-1)));
  });

  test('property: against the bigint model', () => {
    fc.assert(
      fc.property(
        // Bounds near 2^53 too, where a floating-point `addr + size` would round back to 2^53.
        fc.oneof(
          fc.bigInt({ min: 0n, max: B53 + 2n }),
          fc.bigInt({ min: 0n, max: B64 + 2n }),
          fc.bigInt({ min: B53 - 8n, max: B53 }),
        ),
        fc.oneof(
          fc.bigInt({ min: 0n, max: 8n }),
          fc.bigInt({ min: 0n, max: 0x10_0000n }),
          fc.bigInt({ min: 0n, max: B53 + 2n }),
          fc.bigInt({ min: B53 - 8n, max: B53 }),
          fc.bigInt({ min: 0n, max: B64 + 2n }),
        ),
        (addr, size) => {
          const ok = addr < B53 && size < B53 && addr + size <= B53;
          if (ok) {
            const r = parseUserRange(addr, size);
            assert.equal(BigInt(r.start), addr);
            assert.equal(BigInt(r.end), addr + size);
          } else {
            assertEfault(() => parseUserRange(addr, size));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------------------
// u64 helpers
// ---------------------------------------------------------------------------

const u64Arb = fc.oneof(
  fc.bigInt({ min: 0n, max: U64_MAX }),
  fc.constantFrom(0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, B53 - 1n, B53, 2n ** 63n, U64_MAX),
);
const u32Arb = fc.oneof(
  fc.nat({ max: 0xffff_ffff }),
  fc.constantFrom(0, 1, 0x1f_ffff, 0x20_0000, 0xffff_ffff),
);

describe('u64 helpers', () => {
  test('constants', () => {
    assert.equal(TWO_POW_32, 2 ** 32);
    assert.equal(U64_MAX, B64 - 1n);
  });

  test('examples', () => {
    assert.equal(lo32(0x1234_5678_9abc_def0n), 0x9abc_def0);
    assert.equal(hi32(0x1234_5678_9abc_def0n), 0x1234_5678);
    assert.equal(lo32(U64_MAX), 0xffff_ffff);
    assert.equal(hi32(U64_MAX), 0xffff_ffff);
    assert.equal(joinU64(0x9abc_def0, 0x1234_5678), 0x1234_5678_9abc_def0n);
    assert.equal(joinU64(0xffff_ffff, 0xffff_ffff), U64_MAX);
    assert.equal(joinU64(-1, -1), U64_MAX); // halves are taken as uint32
    assert.equal(tryJoinSafe(0xffff_ffff, 0x1f_ffff), MAX);
    assert.equal(tryJoinSafe(0, 0x20_0000), undefined);
    assert.equal(tryJoinSafe(0, 0xffff_ffff), undefined);
    assert.deepEqual(splitSafe(MAX), [0xffff_ffff, 0x1f_ffff]);
    assert.deepEqual(splitSafe(0), [0, 0]);
    assert.deepEqual(splitSafe(2 ** 32), [0, 1]);
    assert.equal(safeHi(MAX), 0x1f_ffff);
  });

  test('lo32/hi32 of a negative bigint take it modulo 2^64', () => {
    assert.equal(lo32(-1n), 0xffff_ffff);
    assert.equal(hi32(-1n), 0xffff_ffff);
    assert.equal(hi32(-(2n ** 32n)), 0xffff_ffff);
    assert.equal(lo32(-(2n ** 32n)), 0);
  });

  test('toU64 wraps negatives to 2^64 - x and values ≥ 2^64 modulo 2^64', () => {
    assert.equal(toU64(-1), U64_MAX);
    assert.equal(toU64(-1n), U64_MAX);
    assert.equal(toU64(-4096), B64 - 4096n);
    assert.equal(toU64(0), 0n);
    assert.equal(toU64(MAX), B53 - 1n);
    assert.equal(toU64(B64), 0n);
    assert.equal(toU64(B64 + 5n), 5n);
    assert.equal(toU64(-(2n ** 63n)), 2n ** 63n);
    assert.throws(() => toU64(1.5), RangeError);
  });

  test('toI64', () => {
    assert.equal(toI64(U64_MAX), -1n);
    assert.equal(toI64(2n ** 63n), -(2n ** 63n));
    assert.equal(toI64(2n ** 63n - 1n), 2n ** 63n - 1n);
    assert.equal(toI64(0n), 0n);
    assert.equal(toI64(B64 - 14n), -14n);
  });

  test('property: joinU64(lo32(v), hi32(v)) === v for every u64', () => {
    fc.assert(
      fc.property(u64Arb, (v) => {
        const lo = lo32(v);
        const hi = hi32(v);
        assert.ok(Number.isInteger(lo) && lo >= 0 && lo <= 0xffff_ffff);
        assert.ok(Number.isInteger(hi) && hi >= 0 && hi <= 0xffff_ffff);
        assert.equal(joinU64(lo, hi), v);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: lo32/hi32 of any bigint are those of toU64 of it', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (v) => {
        assert.equal(joinU64(lo32(v), hi32(v)), toU64(v));
      }),
    );
  });

  test('property: tryJoinSafe(lo, hi) is the joined value when below 2^53, else undefined', () => {
    fc.assert(
      fc.property(u32Arb, u32Arb, (lo, hi) => {
        const full = joinU64(lo, hi);
        const t = tryJoinSafe(lo, hi);
        if (full < B53) assert.equal(t, Number(full));
        else assert.equal(t, undefined);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: splitSafe / tryJoinSafe / safeHi round-trip every safe integer', () => {
    fc.assert(
      fc.property(addrArb, (v) => {
        const [lo, hi] = splitSafe(v);
        assert.equal(tryJoinSafe(lo, hi), v);
        assert.equal(joinU64(lo, hi), BigInt(v));
        assert.equal(lo, lo32(BigInt(v)));
        assert.equal(hi, hi32(BigInt(v)));
        assert.equal(safeHi(v), hi);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: toU64/toI64 round trips', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (x) => {
        const u = toU64(x);
        assert.ok(u >= 0n && u <= U64_MAX);
        assert.equal(toI64(u), x);
        if (x < 0n) assert.equal(u, B64 + x);
        else assert.equal(u, x);
      }),
    );
    fc.assert(
      fc.property(u64Arb, (u) => {
        assert.equal(toU64(toI64(u)), u);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -MAX, max: MAX }), (n) => {
        assert.equal(toU64(n), toU64(BigInt(n)));
      }),
    );
  });

  test('property: toSafeIndex(toU64(x)) is x for 0 ≤ x < 2^53 and undefined for negatives', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX, max: MAX }), (x) => {
        const t = toSafeIndex(toU64(x));
        if (x >= 0) assert.equal(t, x);
        else assert.equal(t, undefined);
      }),
    );
  });
});
