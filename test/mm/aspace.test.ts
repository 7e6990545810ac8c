/**
 * AddrSpace unit tests, on each of the five page-table formats.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from 'axptr/errno';
import { AddrSpace } from 'axptr/mm';
import { MappingFlags, Mmu, PageFaultError, Privilege } from 'axptr/paging';
import { areasOf, bytesOf, errnoOf, FORMATS, K4, M2, pattern, range, space, world } from './helpers.js';

const { READ: R, WRITE: W, EXECUTE: X, USER: U } = MappingFlags;
const RW = R | W;
const URW = U | R | W;
const UR = U | R;

for (const format of FORMATS) {
  describe(`AddrSpace on ${format.arch}`, () => {
    test('constructor validates the range and takes one root frame', () => {
      const w = world();
      const used0 = w.frames.usedFrames;
      const mk = (base: number, size: number) => () =>
        new AddrSpace({ base, size, format, machine: w.machine });
      const half = 2 ** (format.vaMaxBits - 1);
      assert.equal(errnoOf(mk(0x1001, K4)), Errno.EINVAL);
      assert.equal(errnoOf(mk(0x1000, 0x1800)), Errno.EINVAL);
      assert.equal(errnoOf(mk(0x1000, 0)), Errno.EINVAL);
      assert.equal(errnoOf(mk(0x1000, -K4)), Errno.EINVAL);
      assert.equal(errnoOf(mk(0x1000, half)), Errno.EINVAL, 'beyond the user half');
      assert.equal(errnoOf(mk(half, K4)), Errno.EINVAL);
      assert.equal(errnoOf(mk(Number.NaN, K4)), Errno.EINVAL);
      assert.equal(errnoOf(mk(2 ** 53, K4)), Errno.EINVAL);
      assert.equal(w.frames.usedFrames, used0, 'rejected spaces take no frame');
      const sp = mk(0x1000, half - 0x1000)();
      assert.equal(sp.base, 0x1000);
      assert.equal(sp.end, half);
      assert.equal(sp.size, half - 0x1000);
      assert.equal(sp.format, format);
      assert.equal(w.frames.usedFrames, used0 + 1);
      assert.equal(w.frames.refCount(sp.pageTableRoot()), 1);
      const st = sp.stats();
      assert.deepEqual(
        { ...st, faults: undefined },
        { areas: 0, mappedBytes: 0, residentPages: 0, tableFrames: 1, faults: undefined },
      );
      sp.destroy();
      sp.destroy(); // idempotent
      assert.equal(w.frames.usedFrames, used0);
    });

    test('constructor fails with ENOMEM when no frame is left for the root', () => {
      const w = world();
      w.frames.failNthAllocation(1);
      assert.equal(
        errnoOf(() => space(w, format)),
        Errno.ENOMEM,
      );
      assert.equal(w.frames.usedFrames, 0);
    });

    test('mapAlloc / mapLinear validation: EINVAL, EEXIST', () => {
      const w = world();
      const sp = space(w, format, 0x10_0000, 0x100_0000);
      const used0 = w.frames.usedFrames;
      sp.mapAlloc(0x20_0000, 4 * K4, URW, false);
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x20_0000, K4, UR, false)),
        Errno.EEXIST,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x1f_f000, 2 * K4, UR, true)),
        Errno.EEXIST,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x20_3000, 2 * K4, UR, true)),
        Errno.EEXIST,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x1f_0000, 0x10_0000, UR, false)),
        Errno.EEXIST,
      );
      assert.equal(
        errnoOf(() => sp.mapLinear(0x20_1000, w.linearBase, K4, UR)),
        Errno.EEXIST,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x30_0001, K4, UR, false)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x30_0000, 0x800, UR, false)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x30_0000, 0, UR, false)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x30_0000, -K4, UR, false)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x0f_f000, K4, UR, false)),
        Errno.EINVAL,
        'below base',
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x10f_f000, 2 * K4, UR, false)),
        Errno.EINVAL,
        'past end',
      );
      assert.equal(
        errnoOf(() => sp.mapAlloc(Number.NaN, K4, UR, false)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapLinear(0x30_0000, w.linearBase + 1, K4, UR)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapLinear(0x30_0000, -K4, K4, UR)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.mapLinear(0x30_0800, w.linearBase, K4, UR)),
        Errno.EINVAL,
      );
      assert.deepEqual(areasOf(sp), [[0x20_0000, 0x20_4000, URW, 'alloc']]);
      assert.equal(w.frames.usedFrames, used0, 'lazy and failed maps take no frame');
      // Adjacent areas are fine; the last page of the space too.
      sp.mapAlloc(0x1f_f000, K4, UR, false);
      sp.mapAlloc(0x20_4000, K4, UR, false);
      sp.mapAlloc(0x10f_f000, K4, UR, false);
      sp.mapAlloc(0x10_0000, K4, UR, false);
      assert.equal(sp.areaCount, 5);
      assert.equal(sp.findArea(0x20_3fff)?.start, 0x20_0000);
      assert.equal(sp.findArea(0x20_4000)?.start, 0x20_4000);
      assert.equal(sp.findArea(0x20_5000), undefined);
      sp.destroy();
      assert.equal(w.frames.usedFrames, used0 - 1);
    });

    test('eager mapAlloc takes zeroed frames; mapLinear shows physical memory', () => {
      const w = world();
      const sp = space(w, format);
      const used0 = w.frames.usedFrames;
      sp.mapAlloc(0x40_0000, 3 * K4, URW, true);
      const st = sp.stats();
      assert.equal(st.residentPages, 3);
      assert.equal(st.mappedBytes, 3 * K4);
      assert.equal(w.frames.usedFrames, used0 + 3 + (st.tableFrames - 1));
      assert.deepEqual(bytesOf(sp, 0x40_0000, 3 * K4), new Uint8Array(3 * K4));
      // linear: the reserved physical frames below the allocator
      w.mem.writeBytes(w.linearBase + K4, pattern(K4, 7));
      sp.mapLinear(0x80_0000, w.linearBase, 4 * K4, UR);
      assert.equal(
        w.frames.usedFrames,
        used0 + 3 + (sp.stats().tableFrames - 1),
        'linear takes no data frame',
      );
      assert.deepEqual(bytesOf(sp, 0x80_1000, K4), pattern(K4, 7));
      sp.write(0x80_2010, pattern(16, 9));
      assert.deepEqual(w.mem.readBytes(w.linearBase + 2 * K4 + 0x10, 16), pattern(16, 9));
      assert.equal(sp.stats().residentPages, 7);
      sp.destroy();
      assert.equal(w.frames.usedFrames, used0 - 1);
      assert.deepEqual(w.mem.readBytes(w.linearBase + K4, K4), pattern(K4, 7), 'linear memory is not freed');
    });

    test('unmap shrinks and splits areas and frees their frames', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 8 * K4, URW, true);
      sp.mapAlloc(0x50_0000, 4 * K4, UR, false);
      sp.mapLinear(0x60_0000, w.linearBase, 4 * K4, UR);
      for (let i = 0; i < 8; i++) sp.write(0x40_0000 + i * K4, pattern(K4, i + 1));
      const used = () => w.frames.usedFrames;
      const u0 = used();
      sp.unmap(0x40_3000, 2 * K4); // hole punch
      assert.deepEqual(areasOf(sp), [
        [0x40_0000, 0x40_3000, URW, 'alloc'],
        [0x40_5000, 0x40_8000, URW, 'alloc'],
        [0x50_0000, 0x50_4000, UR, 'alloc'],
        [0x60_0000, 0x60_4000, UR, 'linear'],
      ]);
      assert.equal(used(), u0 - 2);
      assert.equal(sp.stats().residentPages, 6 + 4);
      assert.equal(sp.findArea(0x40_3000), undefined);
      assert.equal(sp.checkRegionAccess(range(0x40_2000, 0x40_6000), R), false);
      assert.equal(
        errnoOf(() => bytesOf(sp, 0x40_3000, 1)),
        Errno.EFAULT,
      );
      // Remaining pages keep their data.
      assert.deepEqual(bytesOf(sp, 0x40_2000, K4), pattern(K4, 3));
      assert.deepEqual(bytesOf(sp, 0x40_5000, K4), pattern(K4, 6));
      sp.unmap(0x40_0000, K4); // left edge
      sp.unmap(0x40_7000, K4); // right edge
      assert.deepEqual(areasOf(sp).slice(0, 2), [
        [0x40_1000, 0x40_3000, URW, 'alloc'],
        [0x40_5000, 0x40_7000, URW, 'alloc'],
      ]);
      assert.equal(used(), u0 - 4);
      // A range spanning areas and holes, partially covering the linear area.
      sp.unmap(0x40_2000, 0x20_0000);
      assert.deepEqual(areasOf(sp), [
        [0x40_1000, 0x40_2000, URW, 'alloc'],
        [0x60_2000, 0x60_4000, UR, 'linear'],
      ]);
      assert.equal(used(), u0 - 7);
      assert.equal(sp.stats().residentPages, 1 + 2);
      assert.equal(sp.stats().mappedBytes, 3 * K4);
      // Unmapping nothing is fine; misaligned or outside is EINVAL.
      sp.unmap(0x90_0000, 0x10_0000);
      sp.unmap(0x90_0000, 0);
      assert.equal(
        errnoOf(() => sp.unmap(0x40_1800, K4)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.unmap(0x40_1000, 0x800)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.unmap(0, K4)),
        Errno.EINVAL,
      );
      assert.equal(sp.areaCount, 2);
      sp.destroy();
    });

    test('protect splits into up to three areas, merges equal neighbours, and changes access', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 6 * K4, URW, true);
      sp.write(0x40_0000, pattern(6 * K4, 3));
      sp.protect(0x40_2000, 2 * K4, UR);
      assert.deepEqual(areasOf(sp), [
        [0x40_0000, 0x40_2000, URW, 'alloc'],
        [0x40_2000, 0x40_4000, UR, 'alloc'],
        [0x40_4000, 0x40_6000, URW, 'alloc'],
      ]);
      assert.deepEqual(bytesOf(sp, 0x40_0000, 6 * K4), pattern(6 * K4, 3), 'contents kept');
      assert.equal(sp.checkRegionAccess(range(0x40_0000, 0x40_6000), UR), true);
      assert.equal(sp.checkRegionAccess(range(0x40_0000, 0x40_6000), U | W), false);
      assert.equal(sp.checkRegionAccess(range(0x40_4000, 0x40_6000), U | W), true);
      assert.equal(sp.handlePageFault(0x40_2000, U | W), false);
      assert.equal(sp.handlePageFault(0x40_4000, U | W), true, 'present writable: spurious');
      // Whole area, a range covering several areas and a hole, and an edge.
      sp.mapAlloc(0x40_8000, 2 * K4, UR, false);
      sp.protect(0x40_1000, 0x9000, URW | X);
      // The three touching pieces that now have the same flags merge (vma_merge); the hole stays.
      assert.deepEqual(areasOf(sp), [
        [0x40_0000, 0x40_1000, URW, 'alloc'],
        [0x40_1000, 0x40_6000, URW | X, 'alloc'],
        [0x40_8000, 0x40_a000, URW | X, 'alloc'],
      ]);
      assert.equal(sp.handlePageFault(0x40_2000, U | W), true);
      assert.equal(sp.handlePageFault(0x40_9000, U | X), true, 'lazy page, now executable');
      assert.equal(sp.stats().residentPages, 7);
      assert.equal(
        errnoOf(() => sp.protect(0x40_0800, K4, UR)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.protect(0x40_0000, 0x10, UR)),
        Errno.EINVAL,
      );
      sp.protect(0x70_0000, K4, UR); // hole only: nothing happens
      assert.equal(sp.areaCount, 3);
      sp.protect(0x40_0000, K4, URW | X); // the first page joins the rest
      assert.deepEqual(areasOf(sp), [
        [0x40_0000, 0x40_6000, URW | X, 'alloc'],
        [0x40_8000, 0x40_a000, URW | X, 'alloc'],
      ]);
      assert.deepEqual(
        bytesOf(sp, 0x40_0000, 6 * K4),
        pattern(6 * K4, 3),
        'contents kept through the merges',
      );
      sp.destroy();
    });

    test('findFreeArea: hint, gaps, alignment, limit', () => {
      const w = world();
      const sp = space(w, format);
      const lim = range(0x10_0000, 0x100_0000);
      assert.equal(sp.findFreeArea(0, K4, lim), 0x10_0000, 'hint below the limit');
      assert.equal(sp.findFreeArea(0x20_0000, K4, lim), 0x20_0000);
      assert.equal(sp.findFreeArea(0x20_0800, K4, lim), 0x20_1000, 'hint aligned up');
      sp.mapAlloc(0x10_0000, 0x2000, UR, false);
      sp.mapAlloc(0x10_3000, 0x1000, UR, false); // 1-page gap at 0x10_2000
      sp.mapAlloc(0x10_6000, 0x1000, UR, false); // 2-page gap at 0x10_4000
      assert.equal(sp.findFreeArea(0, K4, lim), 0x10_2000);
      assert.equal(sp.findFreeArea(0, 2 * K4, lim), 0x10_4000);
      assert.equal(sp.findFreeArea(0, 3 * K4, lim), 0x10_7000);
      assert.equal(sp.findFreeArea(0x10_1000, K4, lim), 0x10_2000, 'hint inside an area');
      assert.equal(sp.findFreeArea(0x10_4800, K4, lim), 0x10_5000);
      assert.equal(sp.findFreeArea(0x10_5000, 2 * K4, lim), 0x10_7000);
      // Alignment.
      assert.equal(sp.findFreeArea(0, K4, lim, 0x2000), 0x10_2000);
      assert.equal(sp.findFreeArea(0, K4, lim, 0x4000), 0x10_4000);
      assert.equal(sp.findFreeArea(0, K4, lim, M2), 0x20_0000);
      sp.mapAlloc(0x20_0000, K4, UR, false);
      assert.equal(sp.findFreeArea(0, K4, lim, M2), 0x40_0000);
      assert.equal(sp.findFreeArea(0, M2, lim, M2), 0x40_0000);
      assert.equal(sp.findFreeArea(0, K4, lim, 3 * K4), undefined, 'not a power of two');
      assert.equal(sp.findFreeArea(0, K4, lim, 0x800), undefined, 'below 4 KiB');
      assert.equal(sp.findFreeArea(0, 0, lim), undefined, 'size 0');
      assert.equal(sp.findFreeArea(0, -K4, lim), undefined);
      assert.equal(sp.findFreeArea(0, Number.NaN, lim), undefined);
      // Limit edges: an exact fit at the end is allowed, one byte more is not.
      const small = range(0x10_0000, 0x10_8000);
      assert.equal(sp.findFreeArea(0x10_7000, K4, small), 0x10_7000);
      assert.equal(sp.findFreeArea(0x10_7000, 2 * K4, small), undefined);
      assert.equal(sp.findFreeArea(0, 3 * K4, small), undefined, 'no gap of 3 pages below the limit');
      assert.equal(sp.findFreeArea(0, 2 * K4, range(0x10_0000, 0x10_5000)), undefined);
      assert.equal(sp.findFreeArea(0, 2 * K4, range(0x10_0000, 0x10_6000)), 0x10_4000);
      assert.equal(sp.findFreeArea(0x10_8000, K4, small), undefined, 'hint past the limit');
      assert.equal(sp.findFreeArea(0, K4, range(0x10_3000, 0x10_4000)), undefined, 'limit inside an area');
      assert.equal(sp.findFreeArea(0, 0x100, range(0x10_2000, 0x10_3000)), 0x10_2000, 'small size');
      // Above every area.
      assert.equal(sp.findFreeArea(0x80_0000, 0x80_0000, lim), 0x80_0000);
      assert.equal(sp.findFreeArea(0x80_1000, 0x80_0000, lim), undefined);
      // A found gap is really free.
      for (const [size, align] of [
        [K4, K4],
        [2 * K4, K4],
        [K4, M2],
        [5 * K4, 0x4000],
      ]) {
        const at = sp.findFreeArea(0x10_0000, size, lim, align)!;
        assert.equal(at % align, 0);
        sp.mapAlloc(at, alignUp4K(size), UR, false);
      }
      sp.destroy();
    });

    test('checkRegionAccess: holes, flags, empty ranges', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 2 * K4, URW, false);
      sp.mapAlloc(0x40_2000, 2 * K4, UR, false);
      sp.mapAlloc(0x40_5000, K4, URW, false);
      const c = (s: number, e: number, f: number) => sp.checkRegionAccess(range(s, e), f);
      assert.equal(c(0x40_0000, 0x40_4000, UR), true, 'adjacent areas');
      assert.equal(c(0x40_0000, 0x40_4000, R), true);
      assert.equal(c(0x40_0000, 0x40_4000, U | W), false, 'second area is read-only');
      assert.equal(c(0x40_0000, 0x40_2000, URW), true);
      assert.equal(c(0x40_1fff, 0x40_2001, W), false);
      assert.equal(c(0x40_0000, 0x40_4001, R), false, 'one byte past into a hole');
      assert.equal(c(0x3f_ffff, 0x40_0010, R), false, 'one byte before, in a hole');
      assert.equal(c(0x40_3000, 0x40_6000, R), false, 'hole in the middle');
      assert.equal(c(0x40_5123, 0x40_5124, URW), true, 'single byte');
      assert.equal(c(0x40_0000, 0x40_1000, X), false);
      assert.equal(c(0x40_0000, 0x40_1000, 0), true, 'no flags: mapped is enough');
      assert.equal(c(0x40_4000, 0x40_4001, 0), false);
      // Empty range: passes when its start lies in an area with the flags.
      assert.equal(c(0x40_1000, 0x40_1000, URW), true);
      assert.equal(c(0x40_2000, 0x40_2000, W), false);
      assert.equal(c(0x40_4000, 0x40_4000, R), false, 'empty range in a hole');
      assert.equal(c(0x40_6000, 0x40_6000, R), false, 'empty range at an area end');
      assert.equal(c(0x50_0000, 0x50_0001, 0), false);
      assert.equal(sp.canAccessRange(0x40_0000, 0x4000, UR), true);
      assert.equal(sp.canAccessRange(0x40_0000, -1, UR), false);
      assert.equal(sp.canAccessRange(0x40_0000, 2 ** 53, UR), false);
      assert.equal(sp.canAccessRange(Number.NaN, 1, UR), false);
      assert.equal(sp.stats().residentPages, 0, 'looks at areas only');
      sp.destroy();
    });

    test('populateArea: errors change nothing; fills lazy pages', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 4 * K4, URW, false);
      sp.mapAlloc(0x40_4000, 2 * K4, UR, false);
      sp.mapLinear(0x40_6000, w.linearBase, K4, URW);
      const used0 = w.frames.usedFrames;
      assert.equal(
        errnoOf(() => sp.populateArea(0x40_0800, K4)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.populateArea(0x40_0000, 0x800)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.populateArea(0, K4)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => sp.populateArea(0x40_0000, 8 * K4)),
        Errno.ENOMEM,
        'hole at the end',
      );
      assert.equal(
        errnoOf(() => sp.populateArea(0x3f_f000, 2 * K4)),
        Errno.ENOMEM,
        'hole at the start',
      );
      assert.equal(
        errnoOf(() => sp.populateArea(0x40_0000, 6 * K4, W)),
        Errno.EFAULT,
        'read-only area',
      );
      assert.equal(
        errnoOf(() => sp.populateArea(0x40_0000, K4, X)),
        Errno.EFAULT,
      );
      assert.equal(sp.stats().residentPages, 1, 'only the linear page');
      assert.equal(w.frames.usedFrames, used0);
      sp.populateArea(0x40_1000, 2 * K4, W);
      assert.equal(sp.stats().residentPages, 3);
      assert.equal(sp.stats().faults.lazyFill, 2);
      sp.populateArea(0x40_0000, 7 * K4); // READ; the linear page is skipped
      assert.equal(sp.stats().residentPages, 7);
      assert.equal(sp.stats().faults.lazyFill, 6);
      sp.populateArea(0x40_0000, 7 * K4); // again: nothing to do
      assert.equal(sp.stats().faults.lazyFill, 6);
      sp.populateArea(0x40_0000, 0); // empty
      assert.equal(w.frames.usedFrames - used0, 6, 'tables were built by mapLinear');
      sp.destroy();
    });

    test('handlePageFault: lazy fill, refusals, copy-on-write', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 4 * K4, URW, false);
      sp.mapAlloc(0x40_4000, K4, UR, false);
      sp.mapAlloc(0x40_5000, K4, RW, false); // kernel-only
      sp.mapLinear(0x40_6000, w.linearBase, K4, URW);
      sp.unmap(0x40_6000, K4);
      sp.mapLinear(0x40_7000, w.linearBase, K4, URW);
      assert.equal(sp.handlePageFault(0x40_0123, U | R), true);
      assert.equal(sp.stats().faults.lazyFill, 1);
      assert.equal(sp.stats().residentPages, 2);
      assert.equal(sp.handlePageFault(0x40_1fff, U | W), true);
      assert.equal(sp.handlePageFault(0x40_2000, W), true, 'kernel access to a user page');
      assert.equal(sp.stats().faults.lazyFill, 3);
      assert.equal(sp.handlePageFault(0x40_4000, U | W), false, 'write to read-only');
      assert.equal(sp.handlePageFault(0x40_4000, U | X), false, 'execute');
      assert.equal(sp.handlePageFault(0x40_5000, U | R), false, 'user access to a kernel area');
      assert.equal(sp.handlePageFault(0x40_5000, R), true);
      assert.equal(sp.handlePageFault(0x40_6000, U | R), false, 'outside any area');
      assert.equal(sp.handlePageFault(0x40_8000, U | R), false);
      assert.equal(sp.handlePageFault(0, U | R), false, 'outside the space');
      assert.equal(sp.handlePageFault(2 ** 60, U | R), false);
      assert.equal(sp.handlePageFault(Number.NaN, U | R), false);
      assert.equal(sp.handlePageFault(-1, U | R), false);
      assert.equal(sp.handlePageFault(0x40_7000, U | R), true, 'linear page present: spurious');
      assert.equal(sp.stats().faults.spurious, 1);
      sp.protect(0x40_7000, K4, U);
      assert.equal(sp.handlePageFault(0x40_7000, U | R), false);
      assert.equal(sp.stats().faults.refused, 10);
      assert.equal(sp.stats().faults.lazyFill, 4);

      // Copy-on-write after fork.
      sp.write(0x40_0000, pattern(K4, 1));
      const child = sp.fork();
      const used1 = w.frames.usedFrames;
      assert.equal(child.handlePageFault(0x40_0010, U | R), true, 'shared page readable');
      assert.equal(child.handlePageFault(0x40_0010, U | W), true, 'cow break');
      assert.equal(child.stats().faults.cowCopy, 1);
      assert.equal(w.frames.usedFrames, used1 + 1);
      child.write(0x40_0000, new Uint8Array([0xee]));
      assert.equal(bytesOf(sp, 0x40_0000, 1)[0], pattern(1, 1)[0], 'parent unchanged');
      assert.deepEqual(bytesOf(child, 0x40_0001, K4 - 1), pattern(K4, 1).subarray(1));
      // The parent's page now has refcount 1: a write reuses it.
      assert.equal(sp.handlePageFault(0x40_0000, U | W), true);
      assert.equal(sp.stats().faults.cowReuse, 1);
      assert.equal(sp.stats().faults.cowCopy, 0);
      assert.equal(w.frames.usedFrames, used1 + 1);
      assert.equal(sp.handlePageFault(0x40_0000, U | W), true, 'now spurious');
      // Page 1 still shared; destroy the child, then the parent reuses it.
      child.destroy();
      assert.equal(sp.handlePageFault(0x40_1000, U | W), true);
      assert.equal(sp.stats().faults.cowReuse, 2);
      assert.equal(sp.stats().faults.cowCopy, 0);
      // A read-only area's shared page is never written through a fault.
      const c2 = sp.fork();
      assert.equal(c2.handlePageFault(0x40_4000, U | W), false);
      c2.destroy();
      sp.destroy();
      assert.equal(w.frames.usedFrames, 0);
    });

    test('read / write: lazy zero, fill, COW break, EFAULT', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 4 * K4, UR, false); // read-only to the user; the kernel may still write
      sp.mapAlloc(0x40_5000, 2 * K4, URW, false);
      const used0 = w.frames.usedFrames;
      assert.deepEqual(bytesOf(sp, 0x40_0ff0, 2 * K4), new Uint8Array(2 * K4));
      assert.equal(w.frames.usedFrames, used0, 'reading lazy pages allocates nothing');
      assert.equal(sp.stats().residentPages, 0);
      const data = pattern(K4 + 32, 5);
      sp.write(0x40_0ff0, data); // spans 3 pages? 0x40_0ff0 .. 0x40_2010
      assert.equal(sp.stats().residentPages, 3);
      assert.deepEqual(bytesOf(sp, 0x40_0ff0, data.length), data);
      assert.deepEqual(bytesOf(sp, 0x40_0000, 0xff0), new Uint8Array(0xff0));
      assert.equal(sp.handlePageFault(0x40_1000, U | W), false, 'kernel write did not make it writable');
      assert.equal(
        errnoOf(() => sp.write(0x40_3ff0, new Uint8Array(0x20))),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => bytesOf(sp, 0x40_3ff0, 0x20)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => bytesOf(sp, 0x40_4000, 1)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => bytesOf(sp, -1, 1)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => bytesOf(sp, Number.NaN, 1)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => sp.write(0x3f_ffff, new Uint8Array(2))),
        Errno.EFAULT,
      );
      assert.equal(sp.stats().residentPages, 3, 'failed write changed nothing');
      sp.write(0x40_4000, new Uint8Array(0)); // empty write outside: nothing
      bytesOf(sp, 0x40_4000, 0);
      // Fork, then kernel writes on both sides are private.
      const child = sp.fork();
      const used1 = w.frames.usedFrames;
      child.write(0x40_1000, new Uint8Array([1, 2, 3]));
      assert.equal(w.frames.usedFrames, used1 + 1, 'write broke the sharing with a copy');
      assert.deepEqual(bytesOf(child, 0x40_1000, 3), new Uint8Array([1, 2, 3]));
      assert.deepEqual(bytesOf(sp, 0x40_1000, 3), data.subarray(0x10, 0x13));
      sp.write(0x40_0ff0, new Uint8Array([9]));
      assert.equal(bytesOf(child, 0x40_0ff0, 1)[0], data[0]);
      assert.equal(bytesOf(sp, 0x40_0ff0, 1)[0], 9);
      // Writes into a lazy page of the child
      child.write(0x40_6000, new Uint8Array([7]));
      assert.deepEqual(bytesOf(sp, 0x40_6000, 1), new Uint8Array([0]));
      child.destroy();
      sp.destroy();
      assert.equal(w.frames.usedFrames, 0);
    });

    test('read / write of a linear mapping outside RAM: EFAULT, nothing written', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapLinear(0x40_0000, w.mem.end - K4, 2 * K4, URW); // last RAM page, then beyond RAM
      sp.write(0x40_0ff0, pattern(16, 1));
      const buf = new Uint8Array(32).fill(7);
      assert.equal(
        errnoOf(() => sp.read(0x40_0ff0, buf)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => sp.write(0x40_0ff8, new Uint8Array(16).fill(0xee))),
        Errno.EFAULT,
      );
      assert.deepEqual(w.mem.readBytes(w.mem.end - 16, 16), pattern(16, 1), 'nothing written');
      sp.destroy();
    });

    test('fork: child sees the data, writes are private, linear areas shared', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 3 * K4, URW, true);
      sp.mapAlloc(0x50_0000, 3 * K4, URW, false);
      sp.mapLinear(0x60_0000, w.linearBase, 2 * K4, URW);
      sp.write(0x40_0000, pattern(3 * K4, 11));
      sp.write(0x50_1000, pattern(K4, 12));
      sp.write(0x60_0000, pattern(K4, 13));
      const before = sp.stats();
      const used0 = w.frames.usedFrames;
      const child = sp.fork();
      assert.deepEqual(areasOf(child), areasOf(sp));
      assert.equal(child.stats().residentPages, before.residentPages);
      assert.equal(
        w.frames.usedFrames,
        used0 + child.stats().tableFrames,
        'fork copies no data frame, only tables',
      );
      assert.deepEqual(bytesOf(child, 0x40_0000, 3 * K4), pattern(3 * K4, 11));
      assert.deepEqual(bytesOf(child, 0x50_1000, K4), pattern(K4, 12));
      assert.deepEqual(bytesOf(child, 0x50_0000, K4), new Uint8Array(K4));
      assert.deepEqual(bytesOf(child, 0x60_0000, K4), pattern(K4, 13));
      // User-style writes (fault + MMU-less write through the kernel copy).
      assert.equal(sp.handlePageFault(0x40_0000, U | W), true);
      sp.write(0x40_0000, new Uint8Array([0xaa]));
      assert.equal(child.handlePageFault(0x40_1000, U | W), true);
      child.write(0x40_1000, new Uint8Array([0xbb]));
      assert.equal(bytesOf(child, 0x40_0000, 1)[0], pattern(1, 11)[0]);
      assert.equal(bytesOf(sp, 0x40_1000, 1)[0], pattern(K4 + 1, 11)[K4]);
      assert.equal(bytesOf(sp, 0x40_0000, 1)[0], 0xaa);
      assert.equal(bytesOf(child, 0x40_1000, 1)[0], 0xbb);
      // Lazy pages filled after the fork are private from the start.
      child.write(0x50_0000, new Uint8Array([5]));
      assert.equal(bytesOf(sp, 0x50_0000, 1)[0], 0);
      // Linear: one physical memory.
      child.write(0x60_1000, new Uint8Array([0x77]));
      assert.equal(bytesOf(sp, 0x60_1000, 1)[0], 0x77);
      // Fork of a fork, then drop the middle one.
      const grand = child.fork();
      child.destroy();
      assert.equal(bytesOf(grand, 0x40_1000, 1)[0], 0xbb);
      assert.equal(grand.handlePageFault(0x40_1000, U | W), true);
      assert.equal(grand.stats().faults.cowReuse, 1, 'the last holder reuses the frame');
      grand.destroy();
      // The parent alone again: unchanged contents.
      assert.deepEqual(bytesOf(sp, 0x40_1000, 2 * K4), pattern(3 * K4, 11).subarray(K4));
      sp.destroy();
      assert.equal(w.frames.usedFrames, 0);
    });

    test('clear returns every data frame and emptied table; stats()', () => {
      const w = world();
      const sp = space(w, format);
      const used0 = w.frames.usedFrames;
      sp.mapAlloc(0x40_0000, 5 * K4, URW, true);
      sp.mapAlloc(0x80_0000, 5 * K4, URW, false);
      sp.mapLinear(0xc0_0000, w.linearBase, 2 * K4, UR);
      sp.populateArea(0x80_1000, 2 * K4);
      const st = sp.stats();
      assert.equal(st.areas, 3);
      assert.equal(st.mappedBytes, 12 * K4);
      assert.equal(st.residentPages, 5 + 2 + 2);
      assert.ok(st.tableFrames >= format.levels);
      assert.equal(w.frames.usedFrames, used0 + 7 + st.tableFrames - 1);
      const c = sp.fork();
      c.write(0x40_0000, new Uint8Array([1]));
      sp.clear();
      assert.equal(sp.areaCount, 0);
      assert.equal(sp.stats().residentPages, 0);
      assert.equal(sp.stats().mappedBytes, 0);
      assert.equal(sp.stats().tableFrames, 1, 'clear frees the emptied tables; the root stays');
      assert.equal(w.frames.usedFrames, used0 + c.stats().tableFrames + 7);
      assert.equal(bytesOf(c, 0x40_0000, 1)[0], 1);
      c.destroy();
      assert.equal(w.frames.usedFrames, used0);
      // Usable after clear.
      sp.mapAlloc(0x40_0000, K4, URW, true);
      sp.destroy();
      assert.equal(w.frames.usedFrames, used0 - 1);
    });

    test('no-access flags (PROT_NONE, EMPTY) keep pages and frames', () => {
      // Some formats encode such flags as an invalid entry that still holds the
      // frame (all of them for EMPTY, AArch64 for anything without READ).
      for (const none of [U, 0]) {
        const w = world();
        const sp = space(w, format);
        sp.mapAlloc(0x40_0000, 2 * K4, URW, true);
        sp.mapLinear(0x50_0000, w.linearBase, K4, URW);
        sp.mapAlloc(0x60_0000, K4, none, true);
        sp.write(0x40_0000, pattern(2 * K4, 21));
        sp.write(0x50_0000, pattern(K4, 22));
        const used = w.frames.usedFrames;
        sp.protect(0x40_0000, K4, none);
        sp.protect(0x50_0000, K4, none);
        assert.equal(sp.stats().residentPages, 4);
        assert.deepEqual(bytesOf(sp, 0x40_0000, 2 * K4), pattern(2 * K4, 21));
        assert.deepEqual(bytesOf(sp, 0x50_0000, K4), pattern(K4, 22));
        assert.deepEqual(bytesOf(sp, 0x60_0000, K4), new Uint8Array(K4));
        for (const a of [R, W, X, U | R, U | W]) {
          assert.equal(sp.handlePageFault(0x40_0000, a), false);
          assert.equal(sp.handlePageFault(0x50_0000, a), false);
          assert.equal(sp.handlePageFault(0x60_0000, a), false);
        }
        assert.equal(sp.checkRegionAccess(range(0x40_0000, 0x40_0001), R), false);
        assert.equal(
          errnoOf(() => sp.populateArea(0x40_0000, K4, R)),
          Errno.EFAULT,
        );
        // A user access through the MMU faults.
        const mmu = new Mmu(w.mem);
        sp.activate(mmu);
        mmu.trapHandler = (f) =>
          sp.handlePageFault(f.vaddr, f.access | (f.privilege === Privilege.User ? U : 0));
        assert.throws(() => mmu.write8(0x40_0000, 1, Privilege.User), PageFaultError);
        assert.throws(() => mmu.write8(0x60_0000, 1, Privilege.User), PageFaultError);
        // The kernel may still fill them (a loader), and fork shares them.
        sp.write(0x60_0010, new Uint8Array([5]));
        const child = sp.fork();
        assert.equal(bytesOf(child, 0x60_0010, 1)[0], 5);
        assert.deepEqual(bytesOf(child, 0x40_0000, K4), pattern(K4, 21));
        child.destroy();
        // Back to read-write: the data is there and writable.
        sp.protect(0x40_0000, K4, URW);
        sp.protect(0x50_0000, K4, URW);
        assert.equal(mmu.read8(0x40_0000, Privilege.User), pattern(1, 21)[0]);
        mmu.write8(0x50_0000, 0x5a, Privilege.User);
        assert.equal(w.mem.read8(w.linearBase), 0x5a);
        assert.equal(w.frames.usedFrames, used, 'no frame taken or lost');
        const tables = sp.stats().tableFrames;
        sp.unmap(0x40_0000, 0x30_0000);
        assert.equal(sp.stats().tableFrames, 1, 'the emptied tables went too; the root stays');
        assert.equal(w.frames.usedFrames, used - 3 - (tables - 1), 'the frames came back');
        sp.destroy();
        assert.equal(w.frames.usedFrames, 0);
      }
    });

    test('accessibleLength stops at the first hole or refused area', () => {
      const w = world();
      const sp = space(w, format);
      sp.mapAlloc(0x40_0000, 2 * K4, URW, false);
      sp.mapAlloc(0x40_2000, K4, UR, false);
      sp.mapAlloc(0x40_4000, K4, URW, false);
      assert.equal(sp.accessibleLength(0x40_0010, 0x10, UR), 0x10);
      assert.equal(sp.accessibleLength(0x40_0010, 10 * K4, UR), 3 * K4 - 0x10);
      assert.equal(sp.accessibleLength(0x40_0010, 10 * K4, U | W), 2 * K4 - 0x10);
      assert.equal(sp.accessibleLength(0x40_3000, K4, R), 0);
      assert.equal(sp.accessibleLength(0x40_0000, 0, R), 0);
      assert.equal(sp.accessibleLength(0x40_4ff0, 0x100, R), 0x10);
      sp.destroy();
    });

    test('MMU integration: lazy areas, faults, shootdown on two MMUs', () => {
      const w = world();
      const sp = space(w, format);
      const mmuA = new Mmu(w.mem);
      const mmuB = new Mmu(w.mem);
      for (const m of [mmuA, mmuB]) {
        sp.activate(m);
        m.trapHandler = (f) =>
          sp.handlePageFault(f.vaddr, f.access | (f.privilege === Privilege.User ? MappingFlags.USER : 0));
      }
      assert.ok(sp.isActiveOn(mmuA) && sp.isActiveOn(mmuB));
      assert.equal(mmuA.root, sp.pageTableRoot());
      sp.mapAlloc(0x40_0000, 4 * K4, URW, false);
      sp.mapAlloc(0x50_0000, K4, UR, false);
      sp.mapAlloc(0x51_0000, K4, URW, false);
      const User = Privilege.User;
      mmuA.write32(0x40_0ffe, 0xdeadbeef, User); // crosses a page boundary, two lazy fills
      assert.equal(mmuB.read32(0x40_0ffe, User), 0xdeadbeef);
      assert.equal(sp.stats().faults.lazyFill, 2);
      assert.equal(mmuA.read8(0x50_0000, User), 0, 'read-only lazy page reads zero');
      assert.throws(() => mmuA.write8(0x50_0000, 1, User), PageFaultError);
      assert.throws(() => mmuA.read8(0x60_0000, User), PageFaultError, 'no area');
      assert.throws(() => mmuA.fetch16(0x40_0000, User), PageFaultError, 'not executable');
      // TLB warm on both MMUs, then protect: neither may write any more.
      mmuA.write8(0x51_0000, 1, User);
      mmuB.write8(0x51_0001, 2, User);
      assert.equal(mmuA.read8(0x51_0001, User), 2);
      sp.protect(0x51_0000, K4, UR);
      assert.throws(() => mmuA.write8(0x51_0000, 3, User), PageFaultError);
      assert.throws(() => mmuB.write8(0x51_0000, 3, User), PageFaultError);
      assert.equal(mmuB.read8(0x51_0000, User), 1);
      // Unmap: neither may read.
      assert.equal(mmuA.read8(0x40_1001, User), 0xde);
      assert.equal(mmuB.read8(0x40_1000, User), 0xad);
      sp.unmap(0x40_1000, K4);
      assert.throws(() => mmuA.read8(0x40_1000, User), PageFaultError);
      assert.throws(() => mmuB.read8(0x40_1000, User), PageFaultError);
      assert.equal(mmuB.read16(0x40_0ffe, User), 0xbeef);
      // Fork: the parent's warm writable TLB entries must be dropped (COW).
      mmuA.write8(0x40_0000, 0x11, User);
      mmuB.write8(0x40_0001, 0x22, User);
      const child = sp.fork();
      mmuA.write8(0x40_0000, 0x33, User);
      mmuB.write8(0x40_0001, 0x44, User);
      assert.deepEqual(
        bytesOf(child, 0x40_0000, 2),
        new Uint8Array([0x11, 0x22]),
        'child kept the fork-time data',
      );
      assert.deepEqual(bytesOf(sp, 0x40_0000, 2), new Uint8Array([0x33, 0x44]));
      // Switch mmuB to the child: it sees the child's memory and joins its shootdown set.
      child.activate(mmuB);
      mmuB.trapHandler = (f) =>
        child.handlePageFault(f.vaddr, f.access | (f.privilege === Privilege.User ? MappingFlags.USER : 0));
      assert.ok(!sp.isActiveOn(mmuB) && child.isActiveOn(mmuB));
      assert.equal(mmuB.read8(0x40_0000, User), 0x11);
      mmuB.write8(0x40_0000, 0x55, User);
      assert.equal(mmuA.read8(0x40_0000, User), 0x33);
      child.unmap(0x40_0000, K4);
      assert.throws(() => mmuB.read8(0x40_0000, User), PageFaultError);
      assert.equal(mmuA.read8(0x40_0000, User), 0x33);
      // A kernel access to a user page without user access allowed faults (and is refused).
      assert.throws(() => mmuA.read8(0x40_0000, Privilege.Kernel), PageFaultError);
      child.destroy();
      assert.equal(mmuB.root, -1, 'destroy takes the space off its MMUs');
      sp.deactivate(mmuA);
      assert.throws(() => mmuA.read8(0x40_0000, User), PageFaultError);
      sp.destroy();
      assert.equal(w.frames.usedFrames, 0);
    });
  });
}

function alignUp4K(n: number): number {
  return Math.ceil(n / K4) * K4;
}

test('spaces of different formats can share one allocator', () => {
  const w = world(4096);
  const spaces = FORMATS.map((f) => space(w, f));
  spaces.forEach((sp, i) => {
    sp.mapAlloc(0x40_0000, K4, URW, true);
    sp.write(0x40_0000, pattern(K4, i + 100));
  });
  spaces.forEach((sp, i) => {
    assert.deepEqual(bytesOf(sp, 0x40_0000, K4), pattern(K4, i + 100));
  });
  for (const sp of spaces) sp.destroy();
  assert.equal(w.frames.usedFrames, 0);
});
