import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FrameAllocator,
  isPagingError,
  MappingFlags,
  PageSize,
  PageTable64,
  PagingError,
  type PagingErrorKind,
  PhysMemory,
  PTE_FORMATS,
  type PteFormat,
  type WalkEntry,
} from 'axptr/paging';
import fc from 'fast-check';

const K4 = 0x1000;
const M2 = 0x20_0000;
const G1 = 0x4000_0000;
const MiB = 0x10_0000;

const { READ, WRITE, EXECUTE, USER } = MappingFlags;
/** Flag sets every format encodes and decodes unchanged. */
const FLAG_SETS = [
  READ,
  READ | WRITE,
  READ | EXECUTE,
  READ | WRITE | USER,
  READ | EXECUTE | USER,
  READ | WRITE | EXECUTE,
];

const FORMATS: PteFormat[] = Object.values(PTE_FORMATS);

function setup(format: PteFormat, memSize = 64 * MiB) {
  const mem = new PhysMemory(memSize);
  const frames = new FrameAllocator(mem);
  const start = frames.freeFrames;
  const pt = new PageTable64(mem, frames, format);
  return { mem, frames, start, pt };
}

type Outcome<T> = { ok: T } | { err: PagingErrorKind };

function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof PagingError) return { err: e.kind };
    throw e;
  }
}

function throwsKind(fn: () => unknown, kind: PagingErrorKind, msg?: string): void {
  assert.throws(
    fn,
    (e: unknown) => {
      assert.ok(e instanceof PagingError, `expected PagingError, got ${String(e)}`);
      assert.equal(e.kind, kind, msg);
      return true;
    },
    msg,
  );
}

function leaves(pt: PageTable64): WalkEntry[] {
  const out: WalkEntry[] = [];
  pt.walk(512, (e) => {
    if (e.isLeaf) out.push(e);
  });
  return out;
}

function leafSpans(pt: PageTable64): [number, number][] {
  const levels = pt.levels;
  return leaves(pt).map((e) => [e.vaddr, [K4, M2, G1][levels - 1 - e.level]]);
}

for (const fmt of FORMATS) {
  describe(`PageTable64 (${fmt.arch})`, () => {
    const vaLimit = 2 ** (fmt.vaMaxBits - 1);

    test('the root is one zeroed frame; levels follow the format', () => {
      const { pt, frames, start, mem } = setup(fmt);
      assert.equal(frames.freeFrames, start - 1);
      assert.equal(pt.levels, fmt.levels);
      assert.equal(pt.root % K4, 0);
      assert.ok(mem.readBytes(pt.root, K4).every((b) => b === 0));
      assert.equal(pt.countTables(), 1);
      assert.deepEqual(leaves(pt), []);
    });

    test('forEachMapped: exactly the leaves that start in the range, PROT_NONE included, in order', () => {
      const { pt, mem } = setup(fmt);
      const p = mem.base + 32 * MiB;
      const far = Math.min(vaLimit / 2, 2 ** 38); // another top-level table on every format
      pt.map(0x1000, p, PageSize.Size4K, READ);
      pt.map(0x5000, p + K4, PageSize.Size4K, READ | WRITE);
      pt.map(M2, p + M2, PageSize.Size2M, READ | EXECUTE);
      pt.map(far, p + 3 * K4, PageSize.Size4K, MappingFlags.EMPTY); // a PROT_NONE leaf
      const seen: [number, number, number, number][] = [];
      pt.forEachMapped(0, far + K4, (v, pa, flags, size) => seen.push([v, pa, flags, size]));
      assert.deepEqual(seen, [
        [0x1000, p, pt.flagsOf(0x1000)!, K4],
        [0x5000, p + K4, pt.flagsOf(0x5000)!, K4],
        [M2, p + M2, pt.flagsOf(M2)!, M2],
        [far, p + 3 * K4, MappingFlags.EMPTY, K4],
      ]);
      // A sub-range: only what starts in it; a huge leaf that starts before it is not reported.
      const sub: number[] = [];
      pt.forEachMapped(0x2000, M2 + K4 - 0x2000, (v) => sub.push(v));
      assert.deepEqual(sub, [0x5000, M2]);
      const inside: number[] = [];
      pt.forEachMapped(M2 + K4, K4, (v) => inside.push(v));
      assert.deepEqual(inside, []);
      // The callback may remove the leaf it is given.
      pt.forEachMapped(0, far + K4, (v) => pt.unmap(v));
      assert.deepEqual(leaves(pt), []);
      pt.forEachMapped(0, vaLimit, () => assert.fail('nothing left'));
    });

    test('map / query: paddr includes the page offset, flags round-trip', () => {
      const { pt } = setup(fmt);
      FLAG_SETS.forEach((flags, i) => {
        const v = 0x40_0000 + i * K4;
        const p = 0x1_2345_6000 + i * K4;
        pt.map(v, p, K4, flags);
        for (const off of [0, 1, 0x123, K4 - 1]) {
          assert.deepEqual(pt.query(v + off), { paddr: p + off, flags, pageSize: K4 });
          assert.equal(pt.translate(v + off), p + off);
        }
        assert.equal(pt.flagsOf(v), flags);
      });
      // The neighbours stay unmapped.
      throwsKind(() => pt.query(0x40_0000 - 1), 'NotMapped');
      throwsKind(() => pt.query(0x40_0000 + FLAG_SETS.length * K4), 'NotMapped');
      assert.equal(pt.translate(0x40_0000 - 1), -1);
      assert.equal(pt.flagsOf(0x40_0000 - 1), undefined);
    });

    test('map aligns a page-internal paddr / vaddr down (index bits ignore low bits)', () => {
      const { pt } = setup(fmt);
      pt.map(0x7000 + 0x321, 0x9_0000_0000 + 0x456, K4, READ);
      assert.deepEqual(pt.query(0x7010), { paddr: 0x9_0000_0010, flags: READ, pageSize: K4 });
      pt.map(3 * M2 + 5 * K4, 0x9_0000_0000 + 7 * K4, M2, READ | WRITE);
      assert.deepEqual(pt.query(3 * M2 + 0x1234), {
        paddr: 0x9_0000_1234,
        flags: READ | WRITE,
        pageSize: M2,
      });
    });

    test('unmap answers the page paddr and size; the page is gone', () => {
      const { pt } = setup(fmt);
      pt.map(0x5000, 0x8000_3000, K4, READ | WRITE);
      assert.deepEqual(pt.unmap(0x5abc), { paddr: 0x8000_3000, pageSize: K4 });
      throwsKind(() => pt.query(0x5000), 'NotMapped');
      throwsKind(() => pt.unmap(0x5000), 'NotMapped');
      // The slot can be reused.
      pt.map(0x5000, 0x8000_4000, K4, READ);
      assert.equal(pt.query(0x5000).paddr, 0x8000_4000);
    });

    test('AlreadyMapped', () => {
      const { pt } = setup(fmt);
      pt.map(0x1000, 0x8000_0000, K4, READ);
      throwsKind(() => pt.map(0x1000, 0x8000_1000, K4, READ | WRITE), 'AlreadyMapped');
      throwsKind(() => pt.map(0x1fff, 0x8000_1000, K4, READ), 'AlreadyMapped');
      assert.deepEqual(pt.query(0x1000), { paddr: 0x8000_0000, flags: READ, pageSize: K4 });
      pt.map(4 * M2, 0x8000_0000, M2, READ);
      throwsKind(() => pt.map(4 * M2, 0, M2, READ), 'AlreadyMapped');
      pt.map(2 * G1, 0, G1, READ);
      throwsKind(() => pt.map(2 * G1 + M2, 0, G1, READ), 'AlreadyMapped');
      // A 2M page over a table of 4K pages (even an emptied one) is refused, as in the crate.
      throwsKind(() => pt.map(0, 0, M2, READ), 'AlreadyMapped');
      pt.unmap(0x1000);
      throwsKind(() => pt.map(0, 0, M2, READ), 'AlreadyMapped');
      throwsKind(() => pt.map(0, 0, G1, READ), 'AlreadyMapped');
      // The error carries the Linux errno.
      try {
        pt.map(4 * M2, 0, M2, READ);
        assert.fail('no error');
      } catch (e) {
        assert.ok(e instanceof PagingError);
        assert.equal(e.errno, 17); // EEXIST
      }
    });

    test('NotMapped on unmap / query / protect / remap of an absent page', () => {
      const { pt } = setup(fmt);
      const check = (v: number) => {
        throwsKind(() => pt.unmap(v), 'NotMapped');
        throwsKind(() => pt.query(v), 'NotMapped');
        throwsKind(() => pt.protect(v, READ), 'NotMapped');
        throwsKind(() => pt.remap(v, 0x8000_0000, READ), 'NotMapped');
        assert.equal(pt.translate(v), -1);
        assert.equal(pt.flagsOf(v), undefined);
      };
      check(0x1000); // no table at all
      pt.map(0x2000, 0x8000_0000, K4, READ);
      check(0x1000); // the 4K table exists, the entry is empty
      check(0x3000);
      check(M2 + 0x1000); // the 2M-level table exists, the entry is empty
      check(3 * G1); // another 1G slot
      assert.deepEqual(leafSpans(pt), [[0x2000, K4]], 'failed operations created no mapping');
    });

    test('MappedToHugePage', () => {
      const { pt } = setup(fmt);
      pt.map(M2, 0x8000_0000, M2, READ);
      throwsKind(() => pt.map(M2 + 0x3000, 0x8000_0000, K4, READ), 'MappedToHugePage');
      pt.map(G1, 0, G1, READ);
      throwsKind(() => pt.map(G1 + 4 * M2, 0, M2, READ), 'MappedToHugePage');
      throwsKind(() => pt.map(G1 + 4 * M2 + K4, 0, K4, READ), 'MappedToHugePage');
      // Operations on an address inside a huge page act on the huge page.
      assert.equal(pt.protect(M2 + 0x5000, READ | WRITE), M2);
      assert.deepEqual(pt.query(M2), { paddr: 0x8000_0000, flags: READ | WRITE, pageSize: M2 });
    });

    test('NotCanonical: beyond the lower half, negative, fractional, non-finite', () => {
      const { pt } = setup(fmt);
      const bad = [
        vaLimit,
        vaLimit + K4,
        2 ** 52,
        -1,
        -K4,
        0.5,
        K4 + 0.25,
        Number.NaN,
        Number.POSITIVE_INFINITY,
      ];
      for (const v of bad) {
        throwsKind(() => pt.map(v, 0x8000_0000, K4, READ), 'NotCanonical', `map ${v}`);
        throwsKind(() => pt.query(v), 'NotCanonical', `query ${v}`);
        throwsKind(() => pt.unmap(v), 'NotCanonical', `unmap ${v}`);
        throwsKind(() => pt.protect(v, READ), 'NotCanonical', `protect ${v}`);
        throwsKind(() => pt.remap(v, 0, READ), 'NotCanonical', `remap ${v}`);
        assert.equal(pt.translate(v), -1);
        assert.equal(pt.flagsOf(v), undefined);
        assert.equal(pt.isValidVaddr(v), false);
      }
      throwsKind(() => pt.mapRegion(vaLimit - K4, 0, 2 * K4, READ), 'NotCanonical');
      throwsKind(() => pt.map(0, 2 ** fmt.paMaxBits, K4, READ), 'NotCanonical');
      throwsKind(() => pt.map(0, -K4, K4, READ), 'NotCanonical');
      assert.deepEqual(leaves(pt), []);
      // The last page of the lower half works.
      pt.map(vaLimit - K4, 0x8000_0000, K4, READ);
      assert.equal(pt.translate(vaLimit - 1), 0x8000_0fff);
      assert.equal(pt.isValidVaddr(vaLimit - 1), true);
    });

    test('2M and 1G pages: query inside returns the right paddr and page size', () => {
      const { pt } = setup(fmt);
      pt.map(5 * M2, 0x1_0060_0000, M2, READ | WRITE);
      pt.map(2 * G1, 0x40_0000_0000, G1, READ | EXECUTE);
      for (const off of [0, 1, K4, M2 - 1, 0x12_3456]) {
        assert.deepEqual(pt.query(5 * M2 + off), {
          paddr: 0x1_0060_0000 + off,
          flags: READ | WRITE,
          pageSize: M2,
        });
      }
      for (const off of [0, 7, M2 + 5, G1 - 1, 0x1234_5678]) {
        assert.deepEqual(pt.query(2 * G1 + off), {
          paddr: 0x40_0000_0000 + off,
          flags: READ | EXECUTE,
          pageSize: G1,
        });
        assert.equal(pt.translate(2 * G1 + off), 0x40_0000_0000 + off);
      }
      throwsKind(() => pt.query(6 * M2), 'NotMapped');
      throwsKind(() => pt.query(3 * G1), 'NotMapped');
      assert.deepEqual(pt.unmap(2 * G1 + 0x555), { paddr: 0x40_0000_0000, pageSize: G1 });
      assert.deepEqual(pt.unmap(5 * M2 + 0x555), { paddr: 0x1_0060_0000, pageSize: M2 });
      assert.deepEqual(leaves(pt), []);
    });

    test('remap changes paddr and flags of a present page, keeping its size', () => {
      const { pt } = setup(fmt);
      pt.map(0x3000, 0x8000_0000, K4, READ);
      assert.equal(pt.remap(0x3abc, 0x8010_0123, READ | WRITE | USER), K4);
      assert.deepEqual(pt.query(0x3001), { paddr: 0x8010_0001, flags: READ | WRITE | USER, pageSize: K4 });
      pt.map(M2 * 9, 0x8000_0000, M2, READ);
      assert.equal(pt.remap(M2 * 9 + 0x1000, 0x1_0020_0000 + 0x3000, READ | EXECUTE), M2);
      assert.deepEqual(pt.query(M2 * 9 + 0x1000), {
        paddr: 0x1_0020_1000,
        flags: READ | EXECUTE,
        pageSize: M2,
      });
      assert.equal(pt.protect(M2 * 9, READ), M2);
      assert.deepEqual(pt.query(M2 * 9 + 8), { paddr: 0x1_0020_0008, flags: READ, pageSize: M2 });
    });

    test('mapRegion: NotAligned for unaligned start or size', () => {
      const { pt } = setup(fmt);
      throwsKind(() => pt.mapRegion(0x1001, 0x8000_0000, K4, READ), 'NotAligned');
      throwsKind(() => pt.mapRegion(0x1000, 0x8000_0000, 0x1001, READ), 'NotAligned');
      throwsKind(() => pt.mapRegion(0x1000, 0x8000_0000, -K4, READ), 'NotAligned');
      throwsKind(() => pt.mapRegion(0x1000, 0x8000_0000, 1.5 * K4, READ), 'NotAligned');
      throwsKind(() => pt.unmapRegion(0x1000, 0x800), 'NotAligned');
      throwsKind(() => pt.protectRegion(0x800, K4, READ), 'NotAligned');
      assert.deepEqual(leaves(pt), []);
      pt.mapRegion(0x1000, 0x8000_0000, 0, READ); // empty region: nothing to do
      assert.deepEqual(leaves(pt), []);
    });

    test('mapRegion maps 4K pages linearly or through a function', () => {
      const { pt } = setup(fmt);
      pt.mapRegion(M2 - 2 * K4, 0x8000_0000, 4 * K4, READ | WRITE);
      assert.deepEqual(leafSpans(pt), [
        [M2 - 2 * K4, K4],
        [M2 - K4, K4],
        [M2, K4],
        [M2 + K4, K4],
      ]);
      for (let i = 0; i < 4; i++)
        assert.equal(pt.translate(M2 - 2 * K4 + i * K4 + 9), 0x8000_0000 + i * K4 + 9);
      const frames = [0x9000_5000, 0x9000_1000, 0x9000_9000];
      pt.mapRegion(0x10_0000, (v) => frames[(v - 0x10_0000) / K4], 3 * K4, READ);
      for (let i = 0; i < 3; i++) assert.equal(pt.translate(0x10_0000 + i * K4), frames[i]);
      // Without allowHuge a 2M-aligned 2M region is 512 4K pages.
      pt.mapRegion(4 * M2, 0x1_0000_0000, M2, READ);
      assert.equal(pt.query(4 * M2 + 0x1234).pageSize, K4);
      assert.equal(leaves(pt).length, 4 + 3 + 512);
    });

    test('mapRegion with allowHuge picks huge pages where both addresses are aligned', () => {
      const { pt } = setup(fmt);
      const va = G1 - M2 - 2 * K4;
      const pa = 0x10_0000_0000 + va; // same alignment as va
      const size = 2 * K4 + M2 + G1 + M2 + K4;
      pt.mapRegion(va, pa, size, READ | WRITE, true);
      assert.deepEqual(leafSpans(pt), [
        [va, K4],
        [va + K4, K4],
        [G1 - M2, M2],
        [G1, G1],
        [2 * G1, M2],
        [2 * G1 + M2, K4],
      ]);
      for (const v of [va, G1 - 1, G1 + 0x1234_5678, 2 * G1 + 0x1_2345, 2 * G1 + M2 + 0xfff]) {
        assert.equal(pt.translate(v), pa + (v - va));
      }
      // Misaligned physical addresses force 4K pages.
      const { pt: pt2 } = setup(fmt);
      pt2.mapRegion(4 * M2, 0x8000_1000, M2 + 2 * K4, READ, true);
      assert.equal(leaves(pt2).length, 514);
      assert.ok(leafSpans(pt2).every(([, s]) => s === K4));
      pt2.unmapRegion(4 * M2, M2 + 2 * K4);
      assert.deepEqual(leaves(pt2), []);
    });

    test('mapRegion rolls back when a table allocation fails part-way', () => {
      const { pt, frames } = setup(fmt);
      pt.map(0x1000, 0x8000_0000, K4, READ); // the upper tables exist now
      const va = 8 * M2 - 4 * K4; // needs a 4K table for each of four 2M slots
      const size = 4 * K4 + 2 * M2 + 4 * K4;
      frames.failNthAllocation(3); // the third: 4K pages of the first two slots are mapped by then
      const before = frames.stats().failedCalls;
      throwsKind(() => pt.mapRegion(va, 0x8000_0000, size, READ | WRITE), 'NoMemory');
      assert.equal(frames.stats().failedCalls, before + 1, 'the injected failure was hit');
      assert.deepEqual(leafSpans(pt), [[0x1000, K4]], 'nothing of the region stays mapped');
      for (let v = va; v < va + size; v += K4) assert.equal(pt.translate(v), -1);
      // The same call succeeds afterwards.
      pt.mapRegion(va, 0x8000_0000, size, READ | WRITE);
      assert.equal(leaves(pt).length, 1 + size / K4);
    });

    test('mapRegion rolls back when it meets an existing mapping', () => {
      const { pt } = setup(fmt);
      pt.map(0x20_5000, 0x9000_0000, K4, READ);
      throwsKind(() => pt.mapRegion(0x20_0000, 0x8000_0000, 16 * K4, READ | WRITE), 'AlreadyMapped');
      assert.deepEqual(leafSpans(pt), [[0x20_5000, K4]]);
      assert.deepEqual(pt.query(0x20_5000), { paddr: 0x9000_0000, flags: READ, pageSize: K4 });
      // A huge page in the way: rollback too.
      pt.map(G1, 0, M2, READ);
      throwsKind(() => pt.mapRegion(G1 - 8 * K4, 0x8000_0000, 16 * K4, READ), 'MappedToHugePage');
      assert.deepEqual(leafSpans(pt), [
        [0x20_5000, K4],
        [G1, M2],
      ]);
    });

    test('unmapRegion / protectRegion refuse a range with a hole and change nothing', () => {
      const { pt } = setup(fmt);
      const base = 0x40_0000;
      for (const i of [0, 1, 3]) pt.map(base + i * K4, 0x8000_0000 + i * K4, K4, READ | WRITE);
      const snapshot = () => leaves(pt).map((e) => [e.vaddr, e.entry]);
      const before = snapshot();
      throwsKind(() => pt.unmapRegion(base, 4 * K4), 'NotMapped');
      throwsKind(() => pt.protectRegion(base, 4 * K4, READ), 'NotMapped');
      throwsKind(() => pt.unmapRegion(base + 3 * K4, 2 * K4), 'NotMapped');
      assert.deepEqual(snapshot(), before);
      for (const i of [0, 1, 3]) assert.equal(pt.query(base + i * K4).flags, READ | WRITE);
      // Without the hole it works.
      pt.protectRegion(base, 2 * K4, READ);
      assert.equal(pt.query(base).flags, READ);
      assert.equal(pt.query(base + K4).flags, READ);
      assert.equal(pt.query(base + 3 * K4).flags, READ | WRITE);
      pt.unmapRegion(base, 2 * K4);
      assert.deepEqual(leafSpans(pt), [[base + 3 * K4, K4]]);
    });

    test('unmapRegion / protectRegion refuse to cut a huge page and change nothing', () => {
      const { pt } = setup(fmt);
      pt.map(2 * M2, 0x8000_0000 + 0, M2, READ | WRITE);
      pt.map(3 * M2, 0x8020_0000, K4, READ | WRITE);
      throwsKind(() => pt.unmapRegion(2 * M2, K4), 'NotAligned');
      throwsKind(() => pt.unmapRegion(2 * M2 + K4, M2), 'NotAligned');
      throwsKind(() => pt.protectRegion(2 * M2, M2 - K4, READ), 'NotAligned');
      assert.deepEqual(pt.query(2 * M2), { paddr: 0x8000_0000, flags: READ | WRITE, pageSize: M2 });
      pt.protectRegion(2 * M2, M2 + K4, READ);
      assert.equal(pt.query(2 * M2 + 5).flags, READ);
      assert.equal(pt.query(3 * M2).flags, READ);
      pt.unmapRegion(2 * M2, M2 + K4);
      assert.deepEqual(leaves(pt), []);
    });

    test('walk visits entries in address order with levels and limit', () => {
      const { pt } = setup(fmt);
      const vs = [5 * G1, 0x3000, 7 * M2, 0x1000, G1 + 3 * M2, 0x20_0000 + K4, 0x1ff_f000];
      const sizes = [G1, K4, M2, K4, M2, K4, K4];
      for (let i = 0; i < vs.length; i++) pt.map(vs[i], 0x8000_0000, sizes[i] as PageSize, READ);
      const got = leafSpans(pt);
      const want = vs.map((v, i): [number, number] => [v, sizes[i]]).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(got, want);
      // Leaf levels: 4K leaves at the last level; the root is level 0.
      for (const e of leaves(pt)) {
        const size = want.find(([v]) => v === e.vaddr)![1];
        assert.equal(e.level, fmt.levels - 1 - [K4, M2, G1].indexOf(size));
      }
      // pre / post order: a table's pre comes before its children, its post after.
      const events: string[] = [];
      pt.walk(
        512,
        (e) => events.push(`pre ${e.level} ${e.vaddr}`),
        (e) => events.push(`post ${e.level} ${e.vaddr}`),
      );
      const preOrder = events.filter((s) => s.startsWith('pre'));
      assert.equal(preOrder.length, events.length / 2);
      const firstTable = events[0];
      assert.equal(firstTable, `pre 0 0`);
      assert.ok(events.indexOf('post 0 0') > events.indexOf(`pre ${fmt.levels - 1} ${0x1000}`));
      // limit 1: one entry per table.
      const limited: WalkEntry[] = [];
      pt.walk(1, (e) => limited.push(e));
      assert.equal(limited.length, fmt.levels);
      assert.deepEqual(
        limited.map((e) => e.vaddr),
        Array(fmt.levels - 1)
          .fill(0)
          .concat([0x1000]),
      );
    });

    test('destroy returns every table frame, root included', () => {
      const { pt, frames, start } = setup(fmt);
      pt.mapRegion(0, 0x8000_0000, 8 * K4, READ);
      pt.map(7 * M2 + K4, 0, K4, READ);
      pt.map(3 * G1, 0, G1, READ);
      pt.map(4 * G1 + M2, 0, M2, READ);
      pt.map((fmt.levels === 4 ? 600 : 200) * G1, 0, K4, READ); // another 512G slot (another 1G slot in Sv39)
      const tables = pt.countTables();
      assert.ok(tables > 4, `${tables} tables`);
      assert.equal(frames.freeFrames, start - tables);
      assert.equal(pt.destroy(), tables);
      assert.equal(frames.freeFrames, start);
      assert.equal(pt.destroy(), 0, 'a second destroy frees nothing');
      assert.equal(frames.freeFrames, start);
      assert.throws(() => pt.root);
      assert.throws(() => pt.map(0, 0, K4, READ));
    });

    test('an exhausted allocator gives NoMemory', () => {
      const mem = new PhysMemory(2 * K4);
      const frames = new FrameAllocator(mem);
      frames.alloc();
      frames.alloc();
      throwsKind(() => new PageTable64(mem, frames, fmt), 'NoMemory');
      const { pt, frames: f2 } = setup(fmt);
      f2.failNthAllocation(1);
      throwsKind(() => pt.map(0x1000, 0, K4, READ), 'NoMemory');
      pt.map(0x1000, 0, K4, READ);
      assert.equal(pt.translate(0x1000), 0);
    });

    test('property: random map / unmap / protect / query / remap against a model', () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 200 }), (ops) => runModel(fmt, ops)),
        {
          numRuns: 30,
        },
      );
    });
  });
}

// ---- the reference model -------------------------------------------------

interface Leaf {
  paddr: number;
  flags: number;
  size: number;
}

type Op =
  | { kind: 'map'; v: number; p: number; size: number; flags: number }
  | { kind: 'unmap' | 'query'; v: number }
  | { kind: 'protect'; v: number; flags: number }
  | { kind: 'remap'; v: number; p: number; flags: number };

// A window of 4 GiB; most addresses fall in the first few 2M slots of each 1G
// slot so that 4K, 2M and 1G pages collide often.
const vaddrArb = fc
  .tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 511 })),
    fc.integer({ min: 0, max: 7 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: K4 - 1 })),
  )
  .map(([g, m, k, off]) => g * G1 + m * M2 + k * K4 + off);
const paddrArb = fc.integer({ min: 0, max: 2 ** 28 - 1 }).map((x) => x * K4 + (x % 3) * 0x10);
const flagsArb = fc.constantFrom(...FLAG_SETS);
const sizeArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(K4) },
  { weight: 3, arbitrary: fc.constant(M2) },
  { weight: 1, arbitrary: fc.constant(G1) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('map' as const),
      v: vaddrArb,
      p: paddrArb,
      size: sizeArb,
      flags: flagsArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), v: vaddrArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('query' as const), v: vaddrArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('protect' as const), v: vaddrArb, flags: flagsArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('remap' as const), v: vaddrArb, p: paddrArb, flags: flagsArb }),
  },
);

class Model {
  readonly l1g = new Map<number, Leaf>();
  readonly l2m = new Map<number, Leaf>();
  readonly l4k = new Map<number, Leaf>();
  /** 1G slots that hold a table of 2M entries. */
  readonly t2 = new Set<number>();
  /** 2M slots that hold a table of 4K entries. */
  readonly t4 = new Set<number>();
  anyMap = false;

  /** The leaf holding `v`: [base, leaf]; 'hole' for a missing page. */
  find(v: number): [number, Leaf, Map<number, Leaf>] | 'hole' {
    const g = v - (v % G1);
    const big = this.l1g.get(g);
    if (big) return [g, big, this.l1g];
    if (!this.t2.has(g)) return 'hole';
    const m = v - (v % M2);
    const mid = this.l2m.get(m);
    if (mid) return [m, mid, this.l2m];
    if (!this.t4.has(m)) return 'hole';
    const k = v - (v % K4);
    const small = this.l4k.get(k);
    return small ? [k, small, this.l4k] : 'hole';
  }

  map(v: number, p: number, size: number, flags: number): PagingErrorKind | undefined {
    this.anyMap = true;
    const g = v - (v % G1);
    const m = v - (v % M2);
    const k = v - (v % K4);
    const leaf = { paddr: p - (p % size), flags, size };
    if (size === G1) {
      if (this.l1g.has(g) || this.t2.has(g)) return 'AlreadyMapped';
      this.l1g.set(g, leaf);
      return undefined;
    }
    if (this.l1g.has(g)) return 'MappedToHugePage';
    this.t2.add(g);
    if (size === M2) {
      if (this.l2m.has(m) || this.t4.has(m)) return 'AlreadyMapped';
      this.l2m.set(m, leaf);
      return undefined;
    }
    if (this.l2m.has(m)) return 'MappedToHugePage';
    this.t4.add(m);
    if (this.l4k.has(k)) return 'AlreadyMapped';
    this.l4k.set(k, leaf);
    return undefined;
  }

  tables(levels: number): number {
    return 1 + (levels === 4 && this.anyMap ? 1 : 0) + this.t2.size + this.t4.size;
  }
}

function runModel(fmt: PteFormat, ops: Op[]): void {
  const { pt, frames, start } = setup(fmt);
  const model = new Model();
  for (const op of ops) {
    const where = `${op.kind} ${op.v.toString(16)}`;
    switch (op.kind) {
      case 'map': {
        const got = attempt(() => pt.map(op.v, op.p, op.size as PageSize, op.flags));
        const want = model.map(op.v, op.p, op.size, op.flags);
        assert.deepEqual(got, want === undefined ? { ok: undefined } : { err: want }, where);
        break;
      }
      case 'query': {
        const got = attempt(() => pt.query(op.v));
        const f = model.find(op.v);
        if (f === 'hole') {
          assert.deepEqual(got, { err: 'NotMapped' }, where);
          assert.equal(pt.translate(op.v), -1);
        } else {
          const [base, leaf] = f;
          const want = { paddr: leaf.paddr + (op.v - base), flags: leaf.flags, pageSize: leaf.size };
          assert.deepEqual(got, { ok: want }, where);
          assert.equal(pt.translate(op.v), want.paddr);
        }
        break;
      }
      case 'unmap': {
        const got = attempt(() => pt.unmap(op.v));
        const f = model.find(op.v);
        if (f === 'hole') assert.deepEqual(got, { err: 'NotMapped' }, where);
        else {
          const [base, leaf, map] = f;
          map.delete(base);
          assert.deepEqual(got, { ok: { paddr: leaf.paddr, pageSize: leaf.size } }, where);
        }
        break;
      }
      case 'protect': {
        const got = attempt(() => pt.protect(op.v, op.flags));
        const f = model.find(op.v);
        if (f === 'hole') assert.deepEqual(got, { err: 'NotMapped' }, where);
        else {
          f[1].flags = op.flags;
          assert.deepEqual(got, { ok: f[1].size }, where);
        }
        break;
      }
      case 'remap': {
        const got = attempt(() => pt.remap(op.v, op.p, op.flags));
        const f = model.find(op.v);
        if (f === 'hole') assert.deepEqual(got, { err: 'NotMapped' }, where);
        else {
          const leaf = f[1];
          leaf.flags = op.flags;
          leaf.paddr = op.p - (op.p % leaf.size);
          assert.deepEqual(got, { ok: leaf.size }, where);
        }
        break;
      }
    }
  }
  // The whole mapping: every modelled page, at its first and last byte.
  const want: [number, number][] = [];
  for (const map of [model.l1g, model.l2m, model.l4k]) {
    for (const [base, leaf] of map) {
      want.push([base, leaf.size]);
      assert.deepEqual(pt.query(base), { paddr: leaf.paddr, flags: leaf.flags, pageSize: leaf.size });
      assert.equal(pt.translate(base + leaf.size - 1), leaf.paddr + leaf.size - 1);
    }
  }
  want.sort((a, b) => a[0] - b[0]);
  assert.deepEqual(leafSpans(pt), want, 'walk sees exactly the modelled pages, in order');
  const tables = model.tables(fmt.levels);
  assert.equal(pt.countTables(), tables);
  assert.equal(frames.freeFrames, start - tables);
  assert.equal(pt.destroy(), tables);
  assert.equal(frames.freeFrames, start, 'no frame leaked');
}

describe('leaf encodings the walk would misread (review regressions)', () => {
  for (const format of Object.values(PTE_FORMATS)) {
    test(`${format.arch}: huge pages need flags the format encodes as a leaf; no 512 GiB pages`, () => {
      const mem = new PhysMemory(8 << 20);
      const frames = new FrameAllocator(mem);
      const start = frames.usedFrames;
      const pt = new PageTable64(mem, frames, format);
      const block = frames.allocContiguous(512, 512)!;
      const risky = MappingFlags.WRITE | MappingFlags.USER; // no R, no X: a table on RISC-V
      const encodable = (() => {
        const e = format.newPage(block, risky, true);
        const lo = Number(e & 0xffff_ffffn);
        const hi = Number(e >> 32n);
        // A leaf the table accepts: huge, and present or PROT_NONE (an invalid entry is refused).
        return format.isHuge(lo, hi) && (format.isPresent(lo, hi) || format.isProtNone(lo, hi));
      })();
      if (encodable) {
        // A huge leaf (valid, or invalid as on AArch64 without READ): never walked into as a table.
        pt.map(0x20_0000, block, PageSize.Size2M, risky);
        const e = format.newPage(block, risky, true);
        const present = format.isPresent(Number(e & 0xffff_ffffn), Number(e >> 32n));
        assert.equal(pt.translate(0x20_1000), present ? block + 0x1000 : -1);
        assert.equal(pt.countTables(), format.levels - 1);
        if (present) assert.deepEqual(pt.unmap(0x20_0000), { paddr: block, pageSize: PageSize.Size2M });
        else
          assert.throws(
            () => pt.unmap(0x20_0000),
            (err) => isPagingError(err, 'NotMapped'),
          );
      } else {
        assert.throws(
          () => pt.map(0x20_0000, block, PageSize.Size2M, risky),
          (e) => isPagingError(e, 'InvalidFlags'),
        );
        assert.throws(
          () => pt.query(0x20_0000),
          (e) => isPagingError(e, 'NotMapped'),
        );
      }
      // protect cannot turn a huge leaf into something that reads as a table.
      pt.map(0x20_0000, block, PageSize.Size2M, MappingFlags.READ | MappingFlags.WRITE);
      if (!encodable) {
        assert.throws(
          () => pt.protect(0x20_0000, risky),
          (e) => isPagingError(e, 'InvalidFlags'),
        );
        assert.equal(pt.query(0x20_0000).flags & MappingFlags.READ, MappingFlags.READ);
      }
      pt.unmap(0x20_0000);
      if (format.levels === 4) {
        assert.throws(
          () => pt.map(0, 0, (512 * PageSize.Size1G) as PageSize, MappingFlags.READ),
          (e) => isPagingError(e, 'NotAligned'),
        );
      }
      frames.deallocContiguous(block, 512);
      pt.destroy();
      assert.equal(frames.usedFrames, start);
    });
  }
});

test('a refused huge leaf allocates no table on the way (review regression)', () => {
  for (const format of [PTE_FORMATS['riscv64-sv39'], PTE_FORMATS['riscv64-sv48']]) {
    const mem = new PhysMemory(8 << 20);
    const frames = new FrameAllocator(mem);
    const pt = new PageTable64(mem, frames, format);
    const used = frames.usedFrames;
    assert.throws(
      // W without R or X: a RISC-V entry the walk would read as a table. (Flags granting
      // nothing are a PROT_NONE block now, which decodes as a leaf.)
      () => pt.map(0x4000_0000, 0x20_0000, PageSize.Size2M, MappingFlags.WRITE | MappingFlags.USER),
      (e) => isPagingError(e, 'InvalidFlags'),
    );
    assert.equal(frames.usedFrames, used);
    pt.destroy();
  }
});

test('releaseEmptyTables frees only emptied tables in the range, bottom up', () => {
  for (const format of Object.values(PTE_FORMATS)) {
    const mem = new PhysMemory(8 << 20);
    const frames = new FrameAllocator(mem);
    const pt = new PageTable64(mem, frames, format);
    const a = 0x4000_0000; // 1 GiB: its own upper tables
    const b = 0x1000;
    pt.map(a, mem.base + 0x10_0000, PageSize.Size4K, MappingFlags.READ);
    pt.map(b, mem.base + 0x20_0000, PageSize.Size4K, MappingFlags.READ);
    const tables = pt.countTables();
    assert.equal(pt.releaseEmptyTables(0, 2 * PageSize.Size1G), 0, `${format.arch}: nothing empty yet`);
    pt.unmap(a);
    const freed = pt.releaseEmptyTables(a, PageSize.Size4K);
    // Sv39: the leaf table and the 1 GiB-level table under the root; 4-level: the same two.
    assert.equal(freed, 2, format.arch);
    assert.equal(pt.countTables(), tables - 2);
    assert.equal(pt.translate(b), mem.base + 0x20_0000);
    assert.equal(pt.translate(a), -1);
    pt.map(a, mem.base + 0x10_0000, PageSize.Size4K, MappingFlags.READ); // tables come back on demand
    assert.equal(pt.countTables(), tables);
    pt.destroy();
    assert.equal(frames.usedFrames, 0);
  }
});

test('a map that runs out of frames half-way keeps no table it made (review regression)', () => {
  for (const format of Object.values(PTE_FORMATS)) {
    const mem = new PhysMemory(64 * 4096);
    const frames = new FrameAllocator(mem);
    const pt = new PageTable64(mem, frames, format);
    const used = frames.usedFrames;
    frames.failNthAllocation(2); // the first new table succeeds, the second fails
    assert.throws(
      () => pt.map(0x4000_0000, mem.base, PageSize.Size4K, MappingFlags.READ),
      (e) => isPagingError(e, 'NoMemory'),
    );
    assert.equal(pt.countTables(), 1, format.arch);
    assert.equal(frames.usedFrames, used);
    pt.destroy();
  }
});
