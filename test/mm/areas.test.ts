/**
 * AreaSet against a plain sorted-array model. Enough areas (up to ~2000) are
 * inserted that chunks (256 areas each) split, and removals empty chunks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AnonBackend, AreaSet, MemoryArea } from 'axptr/mm';
import { MappingFlags } from 'axptr/paging';
import fc from 'fast-check';

const BACKEND = new AnonBackend(false);

/** Slots of 16 units; an area occupies [slot*16 + off, slot*16 + off + len) with off+len <= 16. */
const SLOTS = 4096;

type Op =
  | { t: 'insert'; slot: number; off: number; len: number }
  | { t: 'remove'; pick: number }
  | { t: 'removeForeign'; pick: number }
  | { t: 'query'; addr: number; len: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('insert' as const),
      slot: fc.integer({ min: 0, max: SLOTS - 1 }),
      off: fc.integer({ min: 0, max: 15 }),
      len: fc.integer({ min: 1, max: 16 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('removeForeign' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('query' as const),
      addr: fc.integer({ min: -20, max: SLOTS * 16 + 20 }),
      len: fc.integer({ min: -2, max: 400 }),
    }),
  },
);

class Model {
  areas: MemoryArea[] = [];
  insert(a: MemoryArea): void {
    let i = 0;
    while (i < this.areas.length && this.areas[i].start < a.start) i++;
    this.areas.splice(i, 0, a);
  }
  overlapping(s: number, e: number): MemoryArea[] {
    return this.areas.filter((a) => a.start < e && s < a.end);
  }
}

function checkQueries(set: AreaSet, model: Model, addr: number, len: number): void {
  const m = model.areas;
  const at = (x: number) => m.find((a) => a.start <= x && x < a.end);
  const lastLe = (x: number) => m.filter((a) => a.start <= x).at(-1);
  const firstEndAfter = (x: number) => m.find((a) => a.end > x);
  for (const x of [addr, addr - 1, addr + 1, addr + len]) {
    assert.equal(set.find(x), at(x), `find(${x})`);
    assert.equal(set.lastStartingAtOrBefore(x), lastLe(x), `lastStartingAtOrBefore(${x})`);
    assert.equal(set.firstEndingAfter(x), firstEndAfter(x), `firstEndingAfter(${x})`);
  }
  const from = [...set.iterFrom(addr)];
  assert.deepEqual(
    from.map((a) => a.start),
    m.filter((a) => a.end > addr).map((a) => a.start),
    `iterFrom(${addr})`,
  );
  for (let k = 0; k < from.length; k++) assert.equal(from[k], m.filter((a) => a.end > addr)[k]);
  const end = addr + len;
  const expected = len > 0 ? model.overlapping(addr, end) : [];
  const got = set.overlapping(addr, end);
  assert.equal(got.length, expected.length, `overlapping(${addr}, ${end})`);
  for (let k = 0; k < got.length; k++) assert.equal(got[k], expected[k]);
  assert.equal(set.overlaps(addr, end), expected.length > 0, `overlaps(${addr}, ${end})`);
}

function checkWhole(set: AreaSet, model: Model): void {
  assert.equal(set.size, model.areas.length);
  const arr = set.toArray();
  assert.equal(arr.length, model.areas.length);
  for (let i = 0; i < arr.length; i++) assert.equal(arr[i], model.areas[i]);
  assert.deepEqual([...set], arr);
}

describe('MemoryArea', () => {
  test('size, contains, slice', () => {
    const a = new MemoryArea(0x1000, 0x5000, MappingFlags.READ, BACKEND);
    assert.equal(a.size, 0x4000);
    assert.ok(a.contains(0x1000));
    assert.ok(a.contains(0x4fff));
    assert.ok(!a.contains(0x5000));
    assert.ok(!a.contains(0xfff));
    const b = a.slice(0x2000, 0x3000);
    assert.equal(b.start, 0x2000);
    assert.equal(b.end, 0x3000);
    assert.equal(b.flags, MappingFlags.READ);
    assert.equal(b.backend, a.backend);
    assert.equal(a.slice(0x1000, 0x2000, MappingFlags.WRITE).flags, MappingFlags.WRITE);
    assert.equal(a.start, 0x1000, 'slice leaves the original alone');
  });
});

describe('AreaSet', () => {
  test('empty set', () => {
    const s = new AreaSet();
    assert.equal(s.size, 0);
    assert.equal(s.find(0), undefined);
    assert.equal(s.lastStartingAtOrBefore(100), undefined);
    assert.equal(s.firstEndingAfter(0), undefined);
    assert.deepEqual([...s.iterFrom(0)], []);
    assert.deepEqual(s.overlapping(0, 100), []);
    assert.equal(s.overlaps(0, 100), false);
    assert.equal(s.remove(new MemoryArea(0, 1, 0, BACKEND)), false);
  });

  test('small hand-made case', () => {
    const s = new AreaSet();
    const a = new MemoryArea(10, 20, 0, BACKEND);
    const b = new MemoryArea(30, 40, 0, BACKEND);
    const c = new MemoryArea(40, 41, 0, BACKEND);
    s.insert(b);
    s.insert(c);
    s.insert(a);
    assert.deepEqual(s.toArray(), [a, b, c]);
    assert.equal(s.find(9), undefined);
    assert.equal(s.find(10), a);
    assert.equal(s.find(19), a);
    assert.equal(s.find(20), undefined);
    assert.equal(s.find(40), c);
    assert.equal(s.lastStartingAtOrBefore(25), a);
    assert.equal(s.firstEndingAfter(25), b);
    assert.equal(s.firstEndingAfter(20), b);
    assert.equal(s.firstEndingAfter(19), a);
    assert.equal(s.firstEndingAfter(41), undefined);
    assert.deepEqual(s.overlapping(19, 31), [a, b]);
    assert.deepEqual(s.overlapping(20, 30), []);
    assert.equal(s.overlaps(20, 30), false);
    assert.equal(s.overlaps(20, 31), true);
    assert.equal(s.overlaps(15, 15), false, 'empty range overlaps nothing');
    assert.deepEqual(s.overlapping(15, 15), []);
    // remove needs the same object
    assert.equal(s.remove(new MemoryArea(30, 40, 0, BACKEND)), false);
    assert.equal(s.remove(b), true);
    assert.equal(s.remove(b), false);
    assert.deepEqual(s.toArray(), [a, c]);
    s.clear();
    assert.equal(s.size, 0);
    assert.deepEqual([...s], []);
  });

  test('ascending and descending bulk inserts across many chunks', () => {
    for (const order of ['asc', 'desc', 'interleaved'] as const) {
      const s = new AreaSet();
      const model = new Model();
      const n = 2000;
      const idx = Array.from({ length: n }, (_, i) => i);
      if (order === 'desc') idx.reverse();
      if (order === 'interleaved') idx.sort((x, y) => (x % 7) - (y % 7) || x - y);
      for (const i of idx) {
        const a = new MemoryArea(i * 10, i * 10 + 5, 0, BACKEND);
        s.insert(a);
        model.insert(a);
      }
      checkWhole(s, model);
      for (const x of [0, 4, 5, 9, 2555, 2560, 19995, 19999, 20000, -1]) checkQueries(s, model, x, 37);
      // Remove every other area, then all of them.
      for (const a of [...model.areas].filter((_, i) => i % 2 === 0)) {
        assert.ok(s.remove(a));
        model.areas.splice(model.areas.indexOf(a), 1);
      }
      checkWhole(s, model);
      for (const x of [0, 5, 10, 2560, 19990, 19999]) checkQueries(s, model, x, 100);
      for (const a of [...model.areas].reverse()) assert.ok(s.remove(a));
      assert.equal(s.size, 0);
      assert.deepEqual(s.toArray(), []);
      s.insert(new MemoryArea(7, 8, 0, BACKEND));
      assert.equal(s.find(7)?.start, 7, 'usable after emptying');
    }
  });

  test('matches a sorted-array model (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 50, maxLength: 3000 }),
        fc.array(fc.integer({ min: -20, max: SLOTS * 16 + 20 }), { minLength: 5, maxLength: 20 }),
        (ops, probes) => {
          const set = new AreaSet();
          const model = new Model();
          const usedSlots = new Set<number>();
          let step = 0;
          for (const op of ops) {
            step++;
            if (op.t === 'insert') {
              if (usedSlots.has(op.slot)) continue;
              const len = Math.min(op.len, 16 - op.off);
              const a = new MemoryArea(op.slot * 16 + op.off, op.slot * 16 + op.off + len, 0, BACKEND);
              assert.equal(set.overlaps(a.start, a.end), false);
              usedSlots.add(op.slot);
              set.insert(a);
              model.insert(a);
            } else if (op.t === 'remove') {
              if (model.areas.length === 0) {
                continue;
              }
              const a = model.areas[op.pick % model.areas.length];
              assert.equal(set.remove(a), true);
              model.areas.splice(model.areas.indexOf(a), 1);
              usedSlots.delete(Math.floor(a.start / 16));
            } else if (op.t === 'removeForeign') {
              // An equal-looking but different object, or an absent one, is not removed.
              const base = model.areas[op.pick % Math.max(model.areas.length, 1)];
              const fake =
                base === undefined
                  ? new MemoryArea(op.pick % 1000, (op.pick % 1000) + 1, 0, BACKEND)
                  : new MemoryArea(base.start, base.end, base.flags, base.backend);
              assert.equal(set.remove(fake), false);
            } else {
              checkQueries(set, model, op.addr, op.len);
            }
            if (step % 200 === 0) checkWhole(set, model);
          }
          checkWhole(set, model);
          for (const p of probes) checkQueries(set, model, p, 64);
        },
      ),
      { numRuns: 25 },
    );
  });

  test('grow to 2000, shrink to 0, grow again (fast-check order)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1_000_000 }), { minLength: 1500, maxLength: 2000 }), (keys) => {
        const set = new AreaSet();
        const model = new Model();
        const uniq = [...new Set(keys)];
        for (const k of uniq) {
          const a = new MemoryArea(k * 2, k * 2 + 1, 0, BACKEND);
          set.insert(a);
          model.insert(a);
        }
        checkWhole(set, model);
        for (const k of uniq.slice(0, 50)) checkQueries(set, model, k * 2, 1000);
        // Remove in key order of the original array (random w.r.t. address order).
        const byStart = new Map(model.areas.map((a) => [a.start, a]));
        for (let i = 0; i < uniq.length; i++) {
          const a = byStart.get(uniq[i] * 2)!;
          assert.equal(set.remove(a), true);
          model.areas.splice(model.areas.indexOf(a), 1);
          if (i % 97 === 0) {
            checkWhole(set, model);
            checkQueries(set, model, uniq[i] * 2, 5000);
          }
        }
        assert.equal(set.size, 0);
        for (const k of uniq.slice(0, 600)) {
          const a = new MemoryArea(k * 2, k * 2 + 2, 0, BACKEND);
          set.insert(a);
          model.insert(a);
        }
        checkWhole(set, model);
      }),
      { numRuns: 10 },
    );
  });
});
