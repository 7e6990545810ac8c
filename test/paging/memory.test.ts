import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PHYS_BASE, FrameAllocator, PhysMemory, PhysMemoryError } from 'axptr/paging';
import fc from 'fast-check';

const K4 = 0x1000;
const M2 = 0x20_0000;

describe('PhysMemory', () => {
  test('defaults to RAM at 0x8000_0000', () => {
    const mem = new PhysMemory(16 * K4);
    assert.equal(DEFAULT_PHYS_BASE, 0x8000_0000);
    assert.equal(mem.base, 0x8000_0000);
    assert.equal(mem.size, 16 * K4);
    assert.equal(mem.end, 0x8000_0000 + 16 * K4);
    assert.equal(mem.bytes.length, 16 * K4);
    assert.equal(mem.u32.length, 4 * K4);
    assert.ok(mem.buffer instanceof ArrayBuffer);
  });

  test('custom base', () => {
    const mem = new PhysMemory(K4, { base: 0x1000 });
    assert.equal(mem.base, 0x1000);
    assert.equal(mem.end, 0x2000);
    assert.ok(mem.contains(0x1000));
    assert.ok(!mem.contains(0));
  });

  test('bad sizes throw', () => {
    for (const size of [0, -4096, 100, 4097, 1.5 * K4, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32 + K4]) {
      assert.throws(() => new PhysMemory(size), PhysMemoryError, `size ${size}`);
    }
  });

  test('bad bases throw', () => {
    for (const base of [-4096, 1, 0x8000_0800, Number.NaN, 0.5, 2 ** 60]) {
      assert.throws(() => new PhysMemory(K4, { base }), PhysMemoryError, `base ${base}`);
    }
  });

  test('contains / offsetOf', () => {
    const mem = new PhysMemory(4 * K4);
    const b = mem.base;
    assert.ok(mem.contains(b));
    assert.ok(mem.contains(b, 4 * K4));
    assert.ok(mem.contains(mem.end - 1));
    assert.ok(mem.contains(mem.end, 0));
    assert.ok(!mem.contains(mem.end));
    assert.ok(!mem.contains(b - 1));
    assert.ok(!mem.contains(b, 4 * K4 + 1));
    assert.ok(!mem.contains(mem.end - 4, 8));
    assert.ok(!mem.contains(b, -1));
    assert.ok(!mem.contains(Number.NaN));
    assert.equal(mem.offsetOf(b), 0);
    assert.equal(mem.offsetOf(b + 0x123, 8), 0x123);
    assert.throws(() => mem.offsetOf(b - 1), PhysMemoryError);
    assert.throws(() => mem.offsetOf(mem.end - 7, 8), PhysMemoryError);
  });

  test('read / write helpers are little-endian and agree with each other', () => {
    const mem = new PhysMemory(2 * K4);
    const b = mem.base;
    mem.write64(b + 8, 0x0102_0304_0506_0708n);
    assert.equal(mem.read8(b + 8), 0x08);
    assert.equal(mem.read8(b + 15), 0x01);
    assert.equal(mem.read32(b + 8), 0x0506_0708);
    assert.equal(mem.read32(b + 12), 0x0102_0304);
    assert.equal(mem.read64(b + 8), 0x0102_0304_0506_0708n);
    mem.write32(b + 0x100, 0xdead_beef);
    assert.equal(mem.read32(b + 0x100), 0xdead_beef);
    assert.deepEqual([...mem.readBytes(b + 0x100, 4)], [0xef, 0xbe, 0xad, 0xde]);
    mem.write8(b + 0x200, 0x1ff);
    assert.equal(mem.read8(b + 0x200), 0xff);
    mem.write64(b + K4 - 8, 0xffff_ffff_ffff_ffffn);
    assert.equal(mem.read64(b + K4 - 8), 0xffff_ffff_ffff_ffffn);
    // Unaligned access across the 4K boundary is fine inside RAM.
    mem.write32(b + K4 - 2, 0x1122_3344);
    assert.equal(mem.read32(b + K4 - 2), 0x1122_3344);
    assert.equal(mem.u32[(K4 - 8) >>> 2], 0xffff_ffff);
  });

  test('readBytes copies, writeBytes / fill / copy', () => {
    const mem = new PhysMemory(2 * K4);
    const b = mem.base;
    mem.writeBytes(b + 10, new Uint8Array([1, 2, 3, 4, 5]));
    const copy = mem.readBytes(b + 10, 5);
    assert.deepEqual([...copy], [1, 2, 3, 4, 5]);
    copy[0] = 99;
    assert.equal(mem.read8(b + 10), 1, 'readBytes returns a copy');
    mem.fill(b + 11, 2, 0xaa);
    assert.deepEqual([...mem.readBytes(b + 10, 5)], [1, 0xaa, 0xaa, 4, 5]);
    mem.fill(b + 10, 1);
    assert.equal(mem.read8(b + 10), 0);
    // Overlapping copy behaves like memmove.
    mem.writeBytes(b + 100, new Uint8Array([1, 2, 3, 4, 5, 6]));
    mem.copy(b + 102, b + 100, 4);
    assert.deepEqual([...mem.readBytes(b + 100, 6)], [1, 2, 1, 2, 3, 4]);
    mem.copy(b + 100, b + 102, 4);
    assert.deepEqual([...mem.readBytes(b + 100, 6)], [1, 2, 3, 4, 3, 4]);
  });

  test('access outside RAM throws PhysMemoryError and changes nothing', () => {
    const mem = new PhysMemory(K4);
    const b = mem.base;
    const e = mem.end;
    assert.throws(() => mem.read8(b - 1), PhysMemoryError);
    assert.throws(() => mem.read8(e), PhysMemoryError);
    assert.throws(() => mem.read32(e - 3), PhysMemoryError);
    assert.throws(() => mem.read64(e - 4), PhysMemoryError);
    assert.throws(() => mem.write8(e, 1), PhysMemoryError);
    assert.throws(() => mem.write32(b - 4, 1), PhysMemoryError);
    assert.throws(() => mem.write64(e - 7, 1n), PhysMemoryError);
    assert.throws(() => mem.readBytes(e - 2, 3), PhysMemoryError);
    assert.throws(() => mem.writeBytes(e - 2, new Uint8Array([1, 2, 3])), PhysMemoryError);
    assert.throws(() => mem.fill(e - 2, 3, 7), PhysMemoryError);
    assert.throws(() => mem.copy(e - 2, b, 3), PhysMemoryError);
    assert.throws(() => mem.copy(b, e - 2, 3), PhysMemoryError);
    assert.ok(
      mem.bytes.every((x) => x === 0),
      'failed writes left RAM untouched',
    );
  });

  test('shared option gives a SharedArrayBuffer', () => {
    const mem = new PhysMemory(K4, { shared: true });
    assert.ok(mem.buffer instanceof SharedArrayBuffer);
    mem.write32(mem.base, 42);
    assert.equal(new Uint32Array(mem.buffer)[0], 42);
    assert.ok(new PhysMemory(K4, { shared: false }).buffer instanceof ArrayBuffer);
  });
});

function garbage(mem: PhysMemory, paddr: number): void {
  mem.fill(paddr, K4, 0xa5);
}

function isZero(mem: PhysMemory, paddr: number, len = K4): boolean {
  return mem.readBytes(paddr, len).every((x) => x === 0);
}

describe('FrameAllocator', () => {
  test('alloc gives distinct zeroed 4K-aligned frames inside RAM', () => {
    const mem = new PhysMemory(64 * K4);
    mem.fill(mem.base, mem.size, 0x5a); // never-used frames are not assumed clean by the test
    const fa = new FrameAllocator(mem);
    assert.equal(fa.frameCount, 64);
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const f = fa.alloc();
      assert.ok(f !== undefined);
      assert.equal(f % K4, 0);
      assert.ok(mem.contains(f, K4));
      assert.ok(!seen.has(f), 'frame handed out twice');
      seen.add(f);
      assert.equal(fa.refCount(f), 1);
    }
    assert.equal(seen.size, 64);
  });

  test('a freed dirty frame comes back zeroed', () => {
    const mem = new PhysMemory(8 * K4);
    const fa = new FrameAllocator(mem);
    const f = fa.alloc()!;
    garbage(mem, f);
    assert.ok(!isZero(mem, f));
    assert.equal(fa.dealloc(f), true);
    const g = fa.alloc()!;
    assert.equal(g, f, 'the last freed frame is reused first');
    assert.ok(isZero(mem, g));
  });

  test('low frames are handed out first', () => {
    const mem = new PhysMemory(8 * K4);
    const fa = new FrameAllocator(mem);
    assert.equal(fa.alloc(), mem.base);
    assert.equal(fa.alloc(), mem.base + K4);
  });

  test('start / end restrict the managed range', () => {
    const mem = new PhysMemory(16 * K4);
    const fa = new FrameAllocator(mem, { start: mem.base + 4 * K4, end: mem.base + 8 * K4 });
    assert.equal(fa.frameCount, 4);
    const got: number[] = [];
    for (let f = fa.alloc(); f !== undefined; f = fa.alloc()) got.push(f);
    assert.deepEqual(
      got.sort((a, b) => a - b),
      [4, 5, 6, 7].map((i) => mem.base + i * K4),
    );
    assert.ok(fa.manages(mem.base + 4 * K4));
    assert.ok(!fa.manages(mem.base + 3 * K4));
    assert.ok(!fa.manages(mem.base + 8 * K4));
    assert.throws(() => fa.refCount(mem.base), PhysMemoryError);
    assert.throws(() => new FrameAllocator(mem, { start: mem.base + 1 }), PhysMemoryError);
    assert.throws(() => new FrameAllocator(mem, { start: mem.base - K4 }), PhysMemoryError);
    assert.throws(() => new FrameAllocator(mem, { end: mem.end + K4 }), PhysMemoryError);
  });

  test('exhaustion answers undefined without throwing and counts failed calls', () => {
    const mem = new PhysMemory(4 * K4);
    const fa = new FrameAllocator(mem);
    for (let i = 0; i < 4; i++) assert.notEqual(fa.alloc(), undefined);
    assert.equal(fa.alloc(), undefined);
    assert.equal(fa.alloc(), undefined);
    assert.equal(fa.allocContiguous(1), undefined);
    const s = fa.stats();
    assert.equal(s.failedCalls, 3);
    assert.equal(s.allocCalls, 7);
    assert.equal(s.free, 0);
    assert.equal(s.used, 4);
  });

  test('stats: total / free / used / peakUsed', () => {
    const mem = new PhysMemory(10 * K4);
    const fa = new FrameAllocator(mem);
    assert.deepEqual(fa.stats(), {
      total: 10,
      free: 10,
      used: 0,
      peakUsed: 0,
      allocCalls: 0,
      failedCalls: 0,
    });
    const a = fa.alloc()!;
    const b = fa.alloc()!;
    const c = fa.alloc()!;
    assert.equal(fa.stats().peakUsed, 3);
    fa.dealloc(a);
    fa.dealloc(b);
    let s = fa.stats();
    assert.equal(s.free, 9);
    assert.equal(s.used, 1);
    assert.equal(s.peakUsed, 3, 'peak stays at the maximum');
    assert.equal(fa.freeFrames, 9);
    assert.equal(fa.usedFrames, 1);
    fa.allocContiguous(4);
    s = fa.stats();
    assert.equal(s.used, 5);
    assert.equal(s.peakUsed, 5);
    assert.equal(s.allocCalls, 4);
    fa.dealloc(c);
    assert.equal(fa.stats().total, 10);
  });

  test('retain / release / refCount: freed only at the last release', () => {
    const mem = new PhysMemory(4 * K4);
    const fa = new FrameAllocator(mem);
    const f = fa.alloc()!;
    fa.retain(f);
    fa.retain(f);
    assert.equal(fa.refCount(f), 3);
    assert.equal(fa.release(f), false);
    assert.equal(fa.refCount(f), 2);
    assert.equal(fa.freeFrames, 3);
    assert.equal(fa.release(f), false);
    assert.equal(fa.freeFrames, 3);
    assert.equal(fa.release(f), true);
    assert.equal(fa.refCount(f), 0);
    assert.equal(fa.freeFrames, 4);
    assert.throws(() => fa.retain(f), PhysMemoryError, 'retain of a free frame');
  });

  test('double free and foreign addresses throw', () => {
    const mem = new PhysMemory(4 * K4);
    const fa = new FrameAllocator(mem);
    const f = fa.alloc()!;
    fa.dealloc(f);
    assert.throws(() => fa.dealloc(f), PhysMemoryError);
    assert.throws(() => fa.release(f), PhysMemoryError);
    assert.equal(fa.freeFrames, 4, 'the failed free did not change the count');
    const g = fa.alloc()!;
    assert.throws(() => fa.dealloc(g + 8), PhysMemoryError, 'unaligned');
    assert.throws(() => fa.dealloc(mem.end), PhysMemoryError, 'beyond the range');
    assert.throws(() => fa.dealloc(mem.base - K4), PhysMemoryError, 'below the range');
    assert.equal(fa.refCount(g), 1);
  });

  test('allocContiguous aligns by physical address', () => {
    // RAM starting at 1 MiB: frame index 0 is not 2 MiB-aligned.
    const mem = new PhysMemory(8 * 1024 * K4, { base: 0x10_0000 });
    const fa = new FrameAllocator(mem);
    fa.alloc();
    const p = fa.allocContiguous(512, 512)!;
    assert.ok(p !== undefined);
    assert.equal(p % M2, 0);
    assert.equal(p, 0x20_0000);
    for (let i = 0; i < 512; i++) assert.equal(fa.refCount(p + i * K4), 1);
    const q = fa.allocContiguous(512, 512)!;
    assert.equal(q, 0x40_0000);
    const r = fa.allocContiguous(3, 4)!;
    assert.equal((r - 0) % (4 * K4), 0);
    assert.equal(fa.usedFrames, 1 + 512 + 512 + 3);
  });

  test('allocContiguous frames are zeroed and never overlap single frames', () => {
    const mem = new PhysMemory(2048 * K4);
    const fa = new FrameAllocator(mem);
    const singles = new Set<number>();
    for (let i = 0; i < 10; i++) singles.add(fa.alloc()!);
    const big = fa.allocContiguous(512, 512)!;
    garbage(mem, big + 5 * K4);
    fa.deallocContiguous(big, 512);
    const again = fa.allocContiguous(512, 512)!;
    assert.equal(again, big);
    assert.ok(isZero(mem, again, 512 * K4));
    for (let i = 0; i < 512; i++) assert.ok(!singles.has(again + i * K4));
    // Single allocations now skip the frames the contiguous run took.
    const rest = new Set<number>();
    for (let f = fa.alloc(); f !== undefined; f = fa.alloc()) {
      assert.ok(f < again || f >= again + 512 * K4, 'single frame inside a contiguous run');
      assert.ok(!rest.has(f) && !singles.has(f));
      rest.add(f);
    }
    assert.equal(rest.size, 2048 - 10 - 512);
  });

  test('allocContiguous fails when memory is fragmented', () => {
    const mem = new PhysMemory(16 * K4);
    const fa = new FrameAllocator(mem);
    const all: number[] = [];
    for (let i = 0; i < 16; i++) all.push(fa.alloc()!);
    // Free every other frame: 8 free frames, no two adjacent.
    for (let i = 0; i < 16; i += 2) fa.dealloc(all[i]);
    assert.equal(fa.freeFrames, 8);
    const before = fa.stats().failedCalls;
    assert.equal(fa.allocContiguous(2), undefined);
    assert.equal(fa.stats().failedCalls, before + 1);
    assert.equal(fa.freeFrames, 8, 'a failed request takes nothing');
    assert.notEqual(fa.allocContiguous(1), undefined);
    // Enough free frames in total but not aligned.
    fa.dealloc(all[1]);
    fa.dealloc(all[3]);
    // Free now: 1..4 and every other frame above (frame 0 went to allocContiguous(1)).
    assert.notEqual(fa.allocContiguous(2, 2), undefined);
    assert.equal(fa.allocContiguous(4, 4), undefined);
  });

  test('allocContiguous rejects bad requests', () => {
    const fa = new FrameAllocator(new PhysMemory(4 * K4));
    for (const [c, a] of [
      [0, 1],
      [-1, 1],
      [1.5, 1],
      [1, 0],
      [1, 0.5],
    ]) {
      assert.throws(() => fa.allocContiguous(c, a), PhysMemoryError);
    }
  });

  test('failNthAllocation fails exactly the n-th call, once', () => {
    const mem = new PhysMemory(32 * K4);
    const fa = new FrameAllocator(mem);
    fa.failNthAllocation(3);
    assert.notEqual(fa.alloc(), undefined);
    assert.notEqual(fa.allocContiguous(2), undefined);
    assert.equal(fa.alloc(), undefined, 'third call fails');
    assert.equal(fa.stats().failedCalls, 1);
    assert.equal(fa.usedFrames, 3);
    for (let i = 0; i < 5; i++) assert.notEqual(fa.alloc(), undefined, 'only once');
    fa.failNthAllocation(1);
    assert.equal(fa.allocContiguous(1), undefined);
    assert.notEqual(fa.allocContiguous(1), undefined);
    fa.failNthAllocation(2);
    fa.failNthAllocation(undefined);
    assert.notEqual(fa.alloc(), undefined);
    assert.notEqual(fa.alloc(), undefined);
    assert.equal(fa.stats().failedCalls, 2);
  });

  test('repeated contiguous alloc/free cycles keep working and do not grow the free list', () => {
    const mem = new PhysMemory(1024 * K4);
    const fa = new FrameAllocator(mem);
    for (let round = 0; round < 50; round++) {
      const p = fa.allocContiguous(512, 512)!;
      assert.ok(p !== undefined);
      const single = fa.alloc()!;
      assert.ok(single < p || single >= p + 512 * K4);
      fa.deallocContiguous(p, 512);
      fa.dealloc(single);
    }
    assert.equal(fa.freeFrames, 1024);
    // White-box: the free stack holds each free frame at most once.
    const stack = Reflect.get(fa, 'stack') as number[];
    assert.ok(stack.length <= fa.frameCount, `free stack grew to ${stack.length} entries`);
    const seen = new Set<number>();
    for (let f = fa.alloc(); f !== undefined; f = fa.alloc()) {
      assert.ok(!seen.has(f));
      seen.add(f);
    }
    assert.equal(seen.size, 1024);
  });

  type Op =
    | { kind: 'alloc' }
    | { kind: 'contig'; count: number; align: number }
    | { kind: 'free'; pick: number }
    | { kind: 'retain'; pick: number }
    | { kind: 'fail'; n: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.constant<Op>({ kind: 'alloc' }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('contig' as const),
        count: fc.integer({ min: 1, max: 9 }),
        align: fc.constantFrom(1, 2, 4, 8),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('retain' as const), pick: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('fail' as const), n: fc.integer({ min: 1, max: 3 }) }),
    },
  );

  test('property: random alloc / free / retain / release against a model', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const TOTAL = 48;
        const mem = new PhysMemory(TOTAL * K4);
        const fa = new FrameAllocator(mem);
        const refs = new Map<number, number>(); // model: frame -> refcount
        let failAt = -1;
        let calls = 0;
        let failed = 0;
        const failNow = (): boolean => {
          calls++;
          if (calls === failAt) {
            failAt = -1;
            failed++;
            return true;
          }
          return false;
        };
        const checkFresh = (f: number) => {
          assert.equal(f % K4, 0);
          assert.ok(f >= mem.base && f < mem.end);
          assert.ok(!refs.has(f), `frame ${f.toString(16)} handed out while in use`);
          assert.ok(isZero(mem, f), 'fresh frame is zeroed');
          refs.set(f, 1);
          garbage(mem, f);
        };
        for (const op of ops) {
          switch (op.kind) {
            case 'alloc': {
              const injected = failNow();
              const f = fa.alloc();
              if (injected || refs.size === TOTAL) {
                if (!injected) failed++;
                assert.equal(f, undefined);
              } else {
                assert.ok(f !== undefined);
                checkFresh(f);
              }
              break;
            }
            case 'contig': {
              const injected = failNow();
              const f = fa.allocContiguous(op.count, op.align);
              // Model: the first aligned run of free frames.
              let expected: number | undefined;
              if (!injected) {
                for (let i = 0; i + op.count <= TOTAL && expected === undefined; i += op.align) {
                  let ok = true;
                  for (let j = 0; j < op.count; j++) if (refs.has(mem.base + (i + j) * K4)) ok = false;
                  if (ok) expected = mem.base + i * K4;
                }
                if (expected === undefined) failed++;
              }
              assert.equal(f, expected);
              if (f !== undefined) for (let j = 0; j < op.count; j++) checkFresh(f + j * K4);
              break;
            }
            case 'free':
            case 'retain': {
              if (refs.size === 0) break;
              const frames = [...refs.keys()].sort((a, b) => a - b);
              const f = frames[op.pick % frames.length];
              const n = refs.get(f)!;
              if (op.kind === 'retain') {
                fa.retain(f);
                refs.set(f, n + 1);
              } else {
                assert.equal(fa.release(f), n === 1);
                if (n === 1) refs.delete(f);
                else refs.set(f, n - 1);
              }
              break;
            }
            case 'fail':
              fa.failNthAllocation(op.n);
              failAt = calls + op.n;
              break;
          }
          const s = fa.stats();
          assert.equal(s.used, refs.size);
          assert.equal(s.free, TOTAL - refs.size);
          assert.equal(s.allocCalls, calls);
          assert.equal(s.failedCalls, failed);
          for (const [f, n] of refs) assert.equal(fa.refCount(f), n);
        }
      }),
      { numRuns: 150 },
    );
  });
});

test('RAM at physical 0: frame 0 is never handed out (a zero entry means "nothing here")', () => {
  const mem = new PhysMemory(16 * 4096, { base: 0 });
  const frames = new FrameAllocator(mem);
  assert.equal(frames.frameCount, 15);
  const got = new Set<number>();
  for (let f = frames.alloc(); f !== undefined; f = frames.alloc()) got.add(f);
  assert.equal(got.size, 15);
  assert.ok(!got.has(0));
});
