/**
 * The mapping backends: private file, shared (anonymous and file), linear
 * and private anonymous, with merging, grow / shrink and discard, on every
 * format. A small page cache over bytes in memory stands in for the
 * kernel's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from 'axptr/errno';
import { type AddrSpace, type PageSource, ShmemObject } from 'axptr/mm';
import { type FrameAllocator, MappingFlags, type PhysMemory, PTE_FORMATS } from 'axptr/paging';
import { areasOf, bytesOf, errnoOf, FORMATS, K4, pattern, space, type World, world } from './helpers.js';

const { READ: R, WRITE: W, USER: U } = MappingFlags;
const UR = U | R;
const URW = U | R | W;
const AT = 0x40_0000;

/** A file's page cache: one frame per page on first use, filled from `bytes` (zero past the end). */
class TestFile implements PageSource {
  readonly pages = new Map<number, number>();
  lookups = 0;
  constructor(
    readonly frames: FrameAllocator,
    readonly mem: PhysMemory,
    readonly bytes: Uint8Array,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  getPage(index: number): number | undefined {
    this.lookups++;
    if (index < 0 || index * K4 >= this.bytes.length) return undefined;
    let f = this.pages.get(index);
    if (f === undefined) {
      f = this.frames.alloc();
      if (f === undefined) return undefined;
      this.mem.writeBytes(f, this.bytes.subarray(index * K4, index * K4 + K4));
      this.pages.set(index, f);
    }
    this.frames.retain(f);
    return f;
  }

  /** The bytes the cache holds for page `index` now. */
  cached(index: number): Uint8Array {
    return this.mem.readBytes(this.pages.get(index)!, K4);
  }

  evict(): void {
    for (const f of this.pages.values()) this.frames.release(f);
    this.pages.clear();
  }
}

/** A user read through the fault path: page faults as user mode would take them. */
function userRead(sp: AddrSpace, vaddr: number, len: number): Uint8Array | 'fault' {
  const page = vaddr - (vaddr % K4);
  if (sp.pt.translate(page) < 0 && !sp.handlePageFault(page, U | R)) return 'fault';
  return bytesOf(sp, vaddr, len);
}

function userWrite(sp: AddrSpace, vaddr: number, data: Uint8Array): boolean {
  const page = vaddr - (vaddr % K4);
  const flags = sp.pt.flagsOf(page);
  if (flags === undefined || (flags & W) === 0) {
    if (!sp.handlePageFault(page, U | W)) return false;
  }
  const p = sp.pt.translate(vaddr);
  sp.mem.writeBytes(p, data);
  return true;
}

function fileWorld(format: (typeof FORMATS)[number], bytes = pattern(3 * K4 + 100, 7)) {
  const w = world();
  const file = new TestFile(w.frames, w.mem, bytes);
  return { w, sp: space(w, format), file };
}

for (const format of FORMATS) {
  describe(`mapping backends on ${format.arch}`, () => {
    test('private file: reads share the page cache, the first write copies, EOF is zero then unmappable', () => {
      const { w, sp, file } = fileWorld(format);
      const used0 = w.frames.usedFrames;
      sp.mapFile(AT, 6 * K4, URW, file, 0);
      assert.deepEqual(areasOf(sp), [[AT, AT + 6 * K4, URW, 'file']]);
      assert.deepEqual(userRead(sp, AT + K4, 16), file.bytes.subarray(K4, K4 + 16));
      const cacheFrame = file.pages.get(1)!;
      assert.equal(sp.pt.translate(AT + K4), cacheFrame, 'the mapping is the page-cache frame itself');
      assert.equal((sp.pt.flagsOf(AT + K4)! & W) === 0, true, 'mapped read-only: copy on write');
      // The partial last page: file bytes, then zeroes.
      const last = userRead(sp, AT + 3 * K4, K4) as Uint8Array;
      assert.deepEqual(last.subarray(0, 100), file.bytes.subarray(3 * K4));
      assert.deepEqual(last.subarray(100), new Uint8Array(K4 - 100));
      // A page wholly past the end of the file cannot be mapped.
      assert.equal(userRead(sp, AT + 4 * K4, 4), 'fault');
      // A write copies the page: the process sees it, the file does not.
      assert.equal(userWrite(sp, AT + K4, Uint8Array.of(1, 2, 3)), true);
      assert.notEqual(sp.pt.translate(AT + K4), cacheFrame);
      assert.deepEqual(bytesOf(sp, AT + K4, 3), Uint8Array.of(1, 2, 3));
      assert.deepEqual(file.cached(1).subarray(0, 3), file.bytes.subarray(K4, K4 + 3));
      assert.equal(sp.stats().faults.cowCopy, 1);
      // A write to a page never read copies it out of the cache at once.
      assert.equal(userWrite(sp, AT + 2 * K4 + 5, Uint8Array.of(9)), true);
      assert.equal(bytesOf(sp, AT + 2 * K4 + 4, 1)[0], file.bytes[2 * K4 + 4]);
      assert.equal(bytesOf(sp, AT + 2 * K4 + 5, 1)[0], 9);
      assert.deepEqual(file.cached(2), file.bytes.subarray(2 * K4, 3 * K4));
      // The kernel's own read of an untouched page gives the file's bytes without mapping it.
      const resident = sp.stats().residentPages;
      assert.deepEqual(bytesOf(sp, AT, 8), file.bytes.subarray(0, 8));
      assert.equal(sp.stats().residentPages, resident);
      sp.destroy();
      file.evict();
      assert.equal(w.frames.usedFrames, used0 - 1, 'no frame leaked (the root table of the space went too)');
    });

    test('private file at an offset; fork shares written pages copy-on-write and untouched ones from the file', () => {
      const { w, sp, file } = fileWorld(format);
      const used0 = w.frames.usedFrames;
      sp.mapFile(AT, 2 * K4, URW, file, K4); // file pages 1 and 2
      assert.deepEqual(userRead(sp, AT, 4), file.bytes.subarray(K4, K4 + 4));
      assert.equal(userWrite(sp, AT + 8, Uint8Array.of(0xee)), true);
      const child = sp.fork();
      assert.equal(bytesOf(child, AT + 8, 1)[0], 0xee, 'the child sees the parent write');
      assert.deepEqual(userRead(child, AT + K4, 4), file.bytes.subarray(2 * K4, 2 * K4 + 4));
      assert.equal(userWrite(child, AT + 8, Uint8Array.of(0x11)), true);
      assert.equal(bytesOf(sp, AT + 8, 1)[0], 0xee, 'the parent keeps its page');
      assert.equal(bytesOf(child, AT + 8, 1)[0], 0x11);
      child.destroy();
      sp.destroy();
      file.evict();
      assert.equal(w.frames.usedFrames, used0 - 1, 'no frame leaked (the root table of the space went too)');
    });

    test('shared anonymous memory: one object, the same frames in two spaces and across fork', () => {
      const w = world();
      const used0 = w.frames.usedFrames;
      const shm = new ShmemObject(w.frames, 2 * K4);
      const a = space(w, format);
      const b = space(w, format);
      a.mapShared(AT, 2 * K4, URW, shm, 0);
      b.mapShared(0x80_0000, K4, URW, shm, K4); // b sees the object's second page
      assert.equal(userWrite(a, AT + K4 + 3, Uint8Array.of(42)), true);
      assert.deepEqual(
        userRead(b, 0x80_0003, 1),
        Uint8Array.of(42),
        'a write in one space shows in the other',
      );
      assert.equal(userWrite(b, 0x80_0004, Uint8Array.of(43)), true);
      assert.equal(bytesOf(a, AT + K4 + 4, 1)[0], 43);
      const child = a.fork();
      assert.equal(userWrite(child, AT + K4 + 5, Uint8Array.of(44)), true);
      assert.equal(bytesOf(a, AT + K4 + 5, 1)[0], 44, 'after fork the parent sees the child write');
      assert.equal(a.stats().faults.cowCopy + child.stats().faults.cowCopy, 0, 'nothing copied');
      // Discard drops the mappings; the object keeps the data.
      a.discard(AT, 2 * K4);
      assert.equal(a.stats().residentPages, 0);
      assert.deepEqual(userRead(a, AT + K4 + 3, 3), Uint8Array.of(42, 43, 44));
      for (const sp of [child, a, b]) sp.destroy();
      shm.release();
      assert.equal(w.frames.usedFrames, used0, 'no frame leaked');
    });

    test('shared file mapping: writes reach the page cache', () => {
      const { sp, file } = fileWorld(format);
      sp.mapShared(AT, 3 * K4, URW, file, 0);
      assert.equal(userWrite(sp, AT + 10, Uint8Array.of(0xab)), true);
      assert.equal(file.cached(0)[10], 0xab);
      assert.equal(sp.pt.translate(AT), file.pages.get(0)!);
      sp.destroy();
      file.evict();
    });

    test('adjacent maps merge: 1,000 one-page anonymous maps are one area; offsets must line up for files', () => {
      const { sp, file } = fileWorld(format);
      for (let i = 0; i < 1000; i++) sp.mapAlloc(0x100_0000 + i * K4, K4, URW, false);
      assert.deepEqual(areasOf(sp), [[0x100_0000, 0x100_0000 + 1000 * K4, URW, 'alloc']]);
      sp.mapAlloc(0x100_0000 + 1000 * K4, K4, UR, false); // other flags: no merge
      assert.equal(sp.areaCount, 2);
      sp.mapFile(AT, K4, UR, file, 0);
      sp.mapFile(AT + K4, K4, UR, file, K4); // continues the file: merges
      sp.mapFile(AT + 2 * K4, K4, UR, file, 0); // offset does not line up: stays apart
      assert.deepEqual(areasOf(sp).slice(0, 2), [
        [AT, AT + 2 * K4, UR, 'file'],
        [AT + 2 * K4, AT + 3 * K4, UR, 'file'],
      ]);
      sp.mapAlloc(AT + 3 * K4, K4, UR, false); // anonymous beside a file: apart
      assert.equal(sp.areaCount, 5);
      sp.destroy();
    });

    test('grow and shrink (brk): lazy growth, no growth into a mapping, merging, freed pages', () => {
      const w = world();
      const used0 = w.frames.usedFrames;
      const sp = space(w, format);
      sp.mapAlloc(AT, K4, URW, false);
      sp.grow(AT + K4, AT + 4 * K4);
      assert.deepEqual(areasOf(sp), [[AT, AT + 4 * K4, URW, 'alloc']]);
      assert.equal(sp.stats().residentPages, 0, 'growth is lazy');
      assert.equal(sp.handlePageFault(AT + 3 * K4, U | W), true);
      sp.mapAlloc(AT + 6 * K4, K4, URW, false);
      assert.equal(
        errnoOf(() => sp.grow(AT + 4 * K4, AT + 7 * K4)),
        Errno.ENOMEM,
      );
      assert.equal(
        errnoOf(() => sp.grow(AT + 5 * K4, AT + 6 * K4)),
        Errno.EINVAL,
        'no area ends there',
      );
      sp.grow(AT + 4 * K4, AT + 6 * K4); // up to the next area: they merge
      assert.deepEqual(areasOf(sp), [[AT, AT + 7 * K4, URW, 'alloc']]);
      sp.shrink(AT + 7 * K4, AT + 2 * K4);
      assert.deepEqual(areasOf(sp), [[AT, AT + 2 * K4, URW, 'alloc']]);
      assert.equal(sp.stats().residentPages, 0, 'the touched page went with the shrink');
      assert.equal(
        errnoOf(() => sp.shrink(AT + 5 * K4, AT + 4 * K4)),
        Errno.EINVAL,
      );
      sp.destroy();
      assert.equal(w.frames.usedFrames, used0);
    });

    test('discard (MADV_DONTNEED): anonymous reads zero, private file reads the file again, linear refused', () => {
      const { w, sp, file } = fileWorld(format);
      sp.mapAlloc(AT, 2 * K4, URW, true);
      sp.write(AT, pattern(2 * K4, 1));
      sp.mapFile(0x80_0000, K4, URW, file, 0);
      assert.equal(userWrite(sp, 0x80_0000, Uint8Array.of(1, 1, 1)), true);
      const used = w.frames.usedFrames;
      const tables = sp.stats().tableFrames;
      sp.discard(AT, 2 * K4);
      assert.equal(tables - sp.stats().tableFrames, 1, 'the emptied leaf table is freed');
      assert.equal(w.frames.usedFrames, used - 3, 'the two frames and the table are freed');
      assert.deepEqual(userRead(sp, AT + 100, 4), new Uint8Array(4));
      sp.discard(0x80_0000, K4);
      assert.deepEqual(userRead(sp, 0x80_0000, 3), file.bytes.subarray(0, 3));
      sp.mapLinear(0x90_0000, w.linearBase, K4, URW);
      const before = areasOf(sp);
      assert.equal(
        errnoOf(() => sp.discard(0x80_0000, 0x11_0000)),
        Errno.EINVAL,
      );
      assert.deepEqual(areasOf(sp), before);
      // A hole in the range: the mapped part is dropped, then ENOMEM (as Linux's madvise).
      userWrite(sp, AT, Uint8Array.of(5));
      assert.equal(
        errnoOf(() => sp.discard(AT, 0x10_0000)),
        Errno.ENOMEM,
      );
      assert.equal(bytesOf(sp, AT, 1)[0], 0);
      sp.destroy();
    });
  });
}

describe('linear areas merge only when the physical offset lines up', () => {
  test('x86_64', () => {
    const w: World = world();
    const sp = space(w, PTE_FORMATS.x86_64);
    sp.mapLinear(AT, w.linearBase, K4, URW);
    sp.mapLinear(AT + K4, w.linearBase + K4, K4, URW);
    sp.mapLinear(AT + 2 * K4, w.linearBase + 8 * K4, K4, URW);
    assert.deepEqual(areasOf(sp), [
      [AT, AT + 2 * K4, URW, 'linear'],
      [AT + 2 * K4, AT + 3 * K4, URW, 'linear'],
    ]);
    sp.destroy();
  });
});
