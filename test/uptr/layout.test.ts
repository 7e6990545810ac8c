/**
 * Type layouts: C sizes, alignments and offsets; encode / decode round
 * trips; and the same values through user memory on each page-table format.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  array,
  c_char,
  decodeFromBytes,
  encodeToBytes,
  f32,
  f64,
  i8,
  i16,
  i32,
  i64,
  isize,
  type Layout,
  readVal,
  struct,
  UserConstPtr,
  UserPtr,
  u8,
  u16,
  u32,
  u64,
  usize,
  writeVal,
} from 'axptr';
import fc from 'fast-check';
import { bytesOf, FORMATS, K4, makeWorld, put, RW_AREA } from './helpers.js';

const S1 = struct('s1', [
  ['a', u8],
  ['b', u32],
  ['c', u16],
] as const);
const S2 = struct('s2', [
  ['a', u8],
  ['b', u64],
] as const);
const NESTED = struct('nested', [
  ['x', u16],
  ['inner', S1],
  ['tail', array(u8, 3)],
] as const);

describe('layouts', () => {
  test('primitives', () => {
    const table: [Layout<unknown>, number][] = [
      [u8, 1],
      [i8, 1],
      [c_char, 1],
      [u16, 2],
      [i16, 2],
      [u32, 4],
      [i32, 4],
      [f32, 4],
      [u64, 8],
      [i64, 8],
      [f64, 8],
      [usize, 8],
      [isize, 8],
    ];
    for (const [l, size] of table) {
      assert.equal(l.size, size, l.name);
      assert.equal(l.align, size, l.name);
    }
    assert.equal(usize.name, 'usize');
    assert.equal(c_char.name, 'c_char');
  });

  test('C structs: offsets, alignment, tail padding', () => {
    assert.deepEqual([S1.size, S1.align, S1.offsets], [12, 4, { a: 0, b: 4, c: 8 }]);
    assert.deepEqual([S2.size, S2.align, S2.offsets], [16, 8, { a: 0, b: 8 }]);
    const packed = struct('p', [
      ['a', u32],
      ['b', u16],
      ['c', u8],
      ['d', u8],
    ] as const);
    assert.deepEqual([packed.size, packed.align, packed.offsets], [8, 4, { a: 0, b: 4, c: 6, d: 7 }]);
    const tail = struct('t', [
      ['a', u64],
      ['b', u8],
    ] as const);
    assert.deepEqual([tail.size, tail.align], [16, 8]);
    assert.deepEqual([NESTED.size, NESTED.align, NESTED.offsets], [20, 4, { x: 0, inner: 4, tail: 16 }]);
    const empty = struct('e', [] as const);
    assert.deepEqual([empty.size, empty.align], [0, 1]);
    const timespec = struct('timespec', [
      ['tv_sec', i64],
      ['tv_nsec', i64],
    ] as const);
    assert.equal(timespec.size, 16);
  });

  test('arrays', () => {
    const a = array(u32, 5);
    assert.deepEqual([a.size, a.align, a.name], [20, 4, 'u32[5]']);
    const sa = array(S1, 3);
    assert.deepEqual([sa.size, sa.align], [36, 4]);
    assert.equal(array(u8, 0).size, 0);
    assert.throws(() => array(u8, -1), RangeError);
    assert.throws(() => array(u8, 1.5), RangeError);
    assert.throws(() => encodeToBytes(a, [1, 2]), RangeError);
    assert.deepEqual(decodeFromBytes(array(u16, 2), Uint8Array.of(1, 0, 0, 1)), [1, 256]);
  });

  test('encodeToBytes zeroes padding and encodes little-endian', () => {
    const b = encodeToBytes(S1, { a: 0xff, b: 0x0102_0304, c: 0xa0b0 });
    assert.deepEqual(b, Uint8Array.of(0xff, 0, 0, 0, 4, 3, 2, 1, 0xb0, 0xa0, 0, 0));
    const b2 = encodeToBytes(S2, { a: 1, b: -1n });
    assert.deepEqual(b2, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255));
    assert.deepEqual(decodeFromBytes(S2, b2), { a: 1, b: 2n ** 64n - 1n });
    assert.deepEqual(encodeToBytes(i64, -2n), Uint8Array.of(0xfe, 255, 255, 255, 255, 255, 255, 255));
    assert.deepEqual(encodeToBytes(u64, 2n ** 64n + 5n), Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0), 'wraps');
  });

  test('decodeFromBytes honours the offset and a subarray', () => {
    const raw = Uint8Array.of(9, 9, 9, 1, 0, 0, 0, 2, 0);
    assert.equal(decodeFromBytes(u32, raw, 3), 1);
    assert.equal(decodeFromBytes(u16, raw.subarray(7)), 2);
    assert.equal(decodeFromBytes(i8, Uint8Array.of(0xff)), -1);
  });

  test('round trips (property)', () => {
    const cases: [Layout<unknown>, fc.Arbitrary<unknown>][] = [
      [u8, fc.integer({ min: 0, max: 255 })],
      [i8, fc.integer({ min: -128, max: 127 })],
      [u16, fc.integer({ min: 0, max: 0xffff })],
      [i16, fc.integer({ min: -0x8000, max: 0x7fff })],
      [u32, fc.integer({ min: 0, max: 0xffff_ffff })],
      [i32, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })],
      [u64, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })],
      [i64, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
      [f64, fc.double({ noNaN: true })],
      [f32, fc.float({ noNaN: true })],
      [
        NESTED,
        fc
          .record({
            x: fc.integer({ min: 0, max: 0xffff }),
            inner: fc.record({
              a: fc.integer({ min: 0, max: 255 }),
              b: fc.integer({ min: 0, max: 0xffff_ffff }),
              c: fc.integer({ min: 0, max: 0xffff }),
            }),
            tail: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 3, maxLength: 3 }),
          })
          .map((v) => JSON.parse(JSON.stringify(v))), // plain objects (fc.record's have a null prototype)
      ],
    ];
    for (const [layout, arb] of cases) {
      fc.assert(
        fc.property(arb, fc.integer({ min: 0, max: 7 }), (v, off) => {
          const bytes = new Uint8Array(off + layout.size).fill(0xee);
          layout.encode(new DataView(bytes.buffer), off, v);
          assert.ok(
            bytes.subarray(0, off).every((b) => b === 0xee),
            'nothing before the value',
          );
          assert.deepEqual(decodeFromBytes(layout, bytes, off), v);
          assert.deepEqual(decodeFromBytes(layout, encodeToBytes(layout, v)), v);
        }),
        { numRuns: 100 },
      );
    }
  });
});

for (const format of FORMATS) {
  describe(`layouts through user memory on ${format.arch}`, () => {
    test('struct values round-trip through writeVal / readVal and the pointers', () => {
      const w = makeWorld(format);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 * K4 - 1 }),
          fc.integer({ min: 0, max: 255 }),
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          (off, a, b) => {
            const at = RW_AREA + K4 + off;
            put(w, at, new Uint8Array(16).fill(0xcc));
            writeVal(w.aspace, at, S2, { a, b });
            const raw = bytesOf(w, at, 16);
            assert.deepEqual(raw, encodeToBytes(S2, { a, b }));
            assert.ok(
              raw.subarray(1, 8).every((x) => x === 0),
              'padding zero in user memory',
            );
            assert.deepEqual(readVal(w.aspace, at, S2), { a, b });
            const aligned = RW_AREA + 4 * K4 + (off & ~7);
            new UserPtr(aligned, S2).get(w.aspace).write({ a, b });
            assert.deepEqual(new UserConstPtr(aligned, S2).get(w.aspace).read(), { a, b });
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}
