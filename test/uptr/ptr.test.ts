/**
 * The seed's API (UserPtr / UserConstPtr / UserRef / UserSlice) and every
 * branch of axptr's diagrams: check order (alignment, region, population),
 * the access inside accessUserMemory, page faults in the middle of an access
 * going to the kernel's handler, and a kernel fault outside a user access
 * being a panic. On each of the five page-table formats.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  accessUserMemory,
  array,
  c_char,
  DeadlockError,
  i16,
  i32,
  isAccessingUserMemory,
  LockedAddrSpace,
  struct,
  UserConstPtr,
  UserConstRef,
  UserConstSlice,
  UserPtr,
  UserRef,
  UserSlice,
  u8,
  u16,
  u32,
  u64,
  userMmu,
} from 'axptr';
import { Errno, LinuxError } from 'axptr/errno';
import { KernelPanic, trapStats } from 'axptr/kernel';
import { PageFaultError, Privilege } from 'axptr/paging';
import { PerCpuError } from 'axptr/percpu';
import {
  bytesOf,
  cstr,
  errnoOf,
  FORMATS,
  HOLE,
  K4,
  KERNEL_AREA,
  LAZY_AREA,
  le32,
  makeWorld,
  pattern,
  put,
  RO_AREA,
  RW_AREA,
  residentPages,
  URW,
  WILD_ADDRESSES,
  WO_AREA,
} from './helpers.js';

const KERNEL = Privilege.Kernel;
const S3 = struct('s3', [
  ['a', u8],
  ['b', u32],
  ['c', u16],
] as const);

after(() => {
  // No test may leave the flag set or the CPU count changed.
  assert.equal(isAccessingUserMemory(), false);
});

for (const format of FORMATS) {
  describe(`UserPtr / UserConstPtr on ${format.arch}`, () => {
    test('get: read and write primitives through the MMU, little-endian', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      put(w, RW_AREA, [0x78, 0x56, 0x34, 0x12, 0xfe, 0xff, 0xf0, 0xff, 0xff, 0xff]);
      assert.equal(new UserConstPtr(RW_AREA, u32).get(a).read(), 0x1234_5678);
      assert.equal(new UserConstPtr(RW_AREA + 4, i16).get(a).read(), -2);
      assert.equal(new UserConstPtr(RW_AREA + 4, i32).get(a).read(), -0xf_0002);
      assert.equal(new UserConstPtr(RW_AREA + 4, u16).get(a).read(), 0xfffe);
      assert.equal(new UserConstPtr(RW_AREA + 3, u8).get(a).read(), 0x12);
      assert.equal(new UserConstPtr(RW_AREA + 3, c_char).get(a).read(), 0x12);
      assert.equal(new UserConstPtr(RW_AREA, u64).get(a).read(), 0xfff0_fffe_1234_5678n);

      const r = new UserPtr(RW_AREA + 8, u32).get(a);
      assert.ok(r instanceof UserRef);
      r.write(0xdead_beef);
      assert.deepEqual(bytesOf(w, RW_AREA + 8, 4), Uint8Array.of(0xef, 0xbe, 0xad, 0xde));
      new UserPtr(RW_AREA + 12, i32).get(a).write(-2);
      assert.deepEqual(bytesOf(w, RW_AREA + 12, 4), Uint8Array.of(0xfe, 0xff, 0xff, 0xff));
      new UserPtr(RW_AREA + 16, u64).get(a).write(-1n);
      assert.deepEqual(bytesOf(w, RW_AREA + 16, 8), new Uint8Array(8).fill(0xff));
      new UserPtr(RW_AREA + 24, i16).get(a).write(-3);
      assert.deepEqual(bytesOf(w, RW_AREA + 24, 2), Uint8Array.of(0xfd, 0xff));

      // A reference is not a snapshot: each read sees memory as it is now.
      const ref = new UserConstPtr(RW_AREA + 8, u32).get(a);
      put(w, RW_AREA + 8, le32(7));
      assert.equal(ref.read(), 7);
    });

    test('get of a struct: decode, and a write zeroes the padding', () => {
      const w = makeWorld(format);
      put(w, RW_AREA, new Uint8Array(12).fill(0xaa));
      const p = new UserPtr(RW_AREA, S3);
      p.get(w.aspace).write({ a: 1, b: 0x0102_0304, c: 0x0506 });
      assert.deepEqual(bytesOf(w, RW_AREA, 12), Uint8Array.of(1, 0, 0, 0, 4, 3, 2, 1, 6, 5, 0, 0));
      assert.deepEqual(p.get(w.aspace).read(), { a: 1, b: 0x0102_0304, c: 0x0506 });
      const arr = new UserConstPtr(RW_AREA + 4, array(u16, 2));
      assert.deepEqual(arr.get(w.aspace).read(), [0x0304, 0x0102]);
    });

    test('get through a UserConstPtr reference cannot write (a compile-time error, and no method at run time)', () => {
      const w = makeWorld(format);
      const r = new UserConstPtr(RW_AREA, u32).get(w.aspace);
      assert.ok(r instanceof UserConstRef && !(r instanceof UserRef));
      // @ts-expect-error a UserConstRef has no write
      assert.throws(() => r.write(1), TypeError);
      assert.deepEqual(bytesOf(w, RW_AREA, 4), new Uint8Array(4));
    });

    test('getAsSlice: elements, bulk copies, zero length', () => {
      const w = makeWorld(format);
      const data = pattern(3 * K4, 1);
      put(w, RW_AREA + 100, data);
      const s = new UserConstPtr(RW_AREA + 100, u8).getAsSlice(w.aspace, 3 * K4);
      assert.ok(s instanceof UserConstSlice && !(s instanceof UserSlice));
      assert.equal(s.length, 3 * K4);
      assert.deepEqual(s.readBytes(), data);
      assert.equal(s.get(K4), data[K4]);
      assert.throws(() => s.get(3 * K4), RangeError);
      // @ts-expect-error a UserConstSlice has no writeBytes
      assert.throws(() => s.writeBytes(Uint8Array.of(1)), TypeError);
      // @ts-expect-error nor set
      assert.throws(() => s.set(0, 1), TypeError);

      const ws = new UserPtr(RW_AREA + 4 * K4 - 8, u32).getAsSlice(w.aspace, 4);
      ws.set(0, 1);
      ws.set(3, 0xffff_ffff);
      assert.deepEqual(ws.toArray(), [1, 0, 0, 0xffff_ffff]);
      ws.writeBytes(Uint8Array.of(9, 9), 6);
      assert.deepEqual(
        bytesOf(w, RW_AREA + 4 * K4 - 8, 16),
        Uint8Array.of(1, 0, 0, 0, 0, 0, 9, 9, 0, 0, 0, 0, 255, 255, 255, 255),
      );
      assert.throws(() => ws.writeBytes(new Uint8Array(2), 15), RangeError);

      // bigint length; zero length inside an area is fine, in a hole it is EFAULT (axmm's empty-range rule).
      assert.equal(new UserConstPtr(RW_AREA, u32).getAsSlice(w.aspace, 2n).toArray().length, 2);
      assert.equal(new UserPtr(RW_AREA, u8).getAsSlice(w.aspace, 0).length, 0);
      assert.equal(
        errnoOf(() => new UserPtr(HOLE, u8).getAsSlice(w.aspace, 0)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => new UserPtr(0, u8).getAsSlice(w.aspace, 0)),
        Errno.EFAULT,
      );
    });

    test('getAsNullTerminated copies up to the first all-zero element', () => {
      const w = makeWorld(format);
      const words = new Uint8Array(20);
      const v = new DataView(words.buffer);
      for (const [i, x] of [1, 0x100, 0xffff_ffff, 0, 5].entries()) v.setUint32(i * 4, x, true);
      put(w, RW_AREA + 2 * K4 - 8, words); // crosses a page boundary
      assert.deepEqual(
        new UserConstPtr(RW_AREA + 2 * K4 - 8, u32).getAsNullTerminated(w.aspace),
        [1, 0x100, 0xffff_ffff],
      );
      assert.deepEqual(
        new UserPtr(RW_AREA + 2 * K4 - 8, u32).getAsNullTerminated(w.aspace),
        [1, 0x100, 0xffff_ffff],
      );
      put(w, RW_AREA + 40, cstr('xyz'));
      assert.deepEqual(new UserConstPtr(RW_AREA + 40, u8).getAsNullTerminated(w.aspace), [0x78, 0x79, 0x7a]);
      assert.deepEqual(new UserConstPtr(RW_AREA + 43, u8).getAsNullTerminated(w.aspace), []);
      // The copy is taken once: changing memory afterwards does not change it.
      const got = new UserConstPtr(RW_AREA + 40, u8).getAsNullTerminated(w.aspace);
      put(w, RW_AREA + 40, 'Q');
      assert.deepEqual(got, [0x78, 0x79, 0x7a]);
      // A struct element is "zero" only when all its bytes are.
      put(w, RW_AREA + 3 * K4, Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, ...new Uint8Array(12)));
      assert.deepEqual(new UserConstPtr(RW_AREA + 3 * K4, S3).getAsNullTerminated(w.aspace), [
        { a: 0, b: 1, c: 0 },
      ]);
    });

    test('getAsStr: ASCII, multi-byte UTF-8, across pages; invalid UTF-8 is EILSEQ', () => {
      const w = makeWorld(format);
      put(w, RW_AREA, cstr('hello'));
      assert.equal(new UserConstPtr(RW_AREA, c_char).getAsStr(w.aspace), 'hello');
      assert.equal(new UserConstPtr(RW_AREA, u8).getAsStr(w.aspace), 'hello');
      const s = 'héllo wörld ✓ 𝄞';
      put(w, RW_AREA + K4 - 7, cstr(s));
      assert.equal(new UserConstPtr(RW_AREA + K4 - 7, c_char).getAsStr(w.aspace), s);
      const long = 'x'.repeat(3 * K4 + 17);
      put(w, RW_AREA + 5 * K4 + 3, cstr(long));
      assert.equal(new UserConstPtr(RW_AREA + 5 * K4 + 3, c_char).getAsStr(w.aspace), long);
      put(w, RW_AREA + 100, [0x61, 0xff, 0x62, 0]);
      assert.equal(
        errnoOf(() => new UserConstPtr(RW_AREA + 100, c_char).getAsStr(w.aspace)),
        Errno.EILSEQ,
      );
      put(w, RW_AREA + 200, [0xe2, 0x9c, 0]); // truncated sequence
      assert.equal(
        errnoOf(() => new UserConstPtr(RW_AREA + 200, c_char).getAsStr(w.aspace)),
        Errno.EILSEQ,
      );
      assert.throws(() => new UserConstPtr(RW_AREA, u32).getAsStr(w.aspace), TypeError);
    });

    test('misaligned → EFAULT, checked before the region (nothing populated)', () => {
      const w = makeWorld(format);
      const before = residentPages(w);
      for (const off of [1, 2, 3]) {
        assert.equal(
          errnoOf(() => new UserPtr(LAZY_AREA + off, u32).get(w.aspace)),
          Errno.EFAULT,
        );
        assert.equal(
          errnoOf(() => new UserConstPtr(LAZY_AREA + off, u32).get(w.aspace)),
          Errno.EFAULT,
        );
        assert.equal(
          errnoOf(() => new UserPtr(LAZY_AREA + off, u32).getAsSlice(w.aspace, 1)),
          Errno.EFAULT,
        );
        assert.equal(
          errnoOf(() => new UserConstPtr(LAZY_AREA + off, u32).getAsNullTerminated(w.aspace)),
          Errno.EFAULT,
        );
      }
      assert.equal(
        errnoOf(() => new UserPtr(LAZY_AREA + 4, u64).get(w.aspace)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => new UserPtr(LAZY_AREA + 2, S3).get(w.aspace)),
        Errno.EFAULT,
      );
      assert.equal(residentPages(w), before);
      // The same pointers aligned work.
      assert.equal(new UserPtr(LAZY_AREA + 4, u32).get(w.aspace).read(), 0);
      assert.equal(new UserPtr(LAZY_AREA + 8, u64).get(w.aspace).read(), 0n);
    });

    test('checkRegionAccess false → EFAULT: hole, missing WRITE, missing READ, straddling', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      const efault = (fn: () => unknown) => assert.equal(errnoOf(fn), Errno.EFAULT);
      efault(() => new UserConstPtr(HOLE, u32).get(a));
      efault(() => new UserPtr(HOLE, u8).get(a));
      efault(() => new UserConstPtr(RW_AREA - 4, u32).get(a)); // the page before is a hole
      efault(() => new UserConstPtr(0, u8).get(a));
      // Missing WRITE for UserPtr, fine for UserConstPtr.
      efault(() => new UserPtr(RO_AREA, u32).get(a));
      efault(() => new UserPtr(RO_AREA, u8).getAsSlice(a, 1));
      efault(() => new UserPtr(RO_AREA, u8).getAsNullTerminated(a));
      assert.equal(new UserConstPtr(RO_AREA, u32).get(a).read(), 0);
      // Missing READ: a write-only area fails both.
      efault(() => new UserConstPtr(WO_AREA, u32).get(a));
      efault(() => new UserPtr(WO_AREA, u32).get(a));
      efault(() => new UserConstPtr(WO_AREA, c_char).getAsStr(a));
      // Straddling RW → RO: readable as a whole, not writable.
      assert.equal(new UserConstPtr(RO_AREA - 8, u8).getAsSlice(a, 16).length, 16);
      efault(() => new UserPtr(RO_AREA - 8, u8).getAsSlice(a, 16));
      efault(() => new UserPtr(RO_AREA - 8, u64).getAsSlice(a, 2));
      // Straddling RO → hole.
      efault(() => new UserConstPtr(HOLE - 8, u8).getAsSlice(a, 9));
      assert.equal(new UserConstPtr(HOLE - 8, u8).getAsSlice(a, 8).length, 8);
      // The seed checks no USER bit: a kernel-only area passes (as in axptr).
      new UserPtr(KERNEL_AREA, u32).get(a).write(0x55);
      assert.equal(new UserConstPtr(KERNEL_AREA, u32).get(a).read(), 0x55);
    });

    test('strings that run into a hole or an unreadable page → EFAULT', () => {
      const w = makeWorld(format);
      put(w, HOLE - 3, 'abc'); // no NUL before the hole
      assert.equal(
        errnoOf(() => new UserConstPtr(HOLE - 3, c_char).getAsStr(w.aspace)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => new UserConstPtr(HOLE - 4, u32).getAsNullTerminated(w.aspace)),
        Errno.EFAULT,
      );
      put(w, HOLE - 4, cstr('abc'));
      assert.equal(new UserConstPtr(HOLE - 4, c_char).getAsStr(w.aspace), 'abc');
      // Straight into the read-only area: a UserPtr (READ|WRITE) scan fails there.
      put(w, RO_AREA - 2, 'zz');
      assert.equal(
        errnoOf(() => new UserPtr(RO_AREA - 2, u8).getAsNullTerminated(w.aspace)),
        Errno.EFAULT,
      );
      assert.deepEqual(new UserConstPtr(RO_AREA - 2, u8).getAsNullTerminated(w.aspace), [0x7a, 0x7a]);
    });

    test('population ENOMEM: the error comes back and nothing changed', () => {
      let sawFailure = 0;
      let sawSuccess = 0;
      for (let n = 1; n <= 8; n++) {
        const w = makeWorld(format);
        const resident = residentPages(w);
        const used = w.frames.usedFrames;
        w.frames.failNthAllocation(n);
        const e = errnoOf(() => new UserPtr(LAZY_AREA + K4, u8).getAsSlice(w.aspace, 3 * K4));
        w.frames.failNthAllocation(undefined);
        if (e === undefined) {
          sawSuccess++;
          assert.equal(residentPages(w), resident + 3);
        } else {
          sawFailure++;
          assert.equal(e, Errno.ENOMEM, `failing allocation ${n}`);
          assert.equal(residentPages(w), resident, `failing allocation ${n}: pages`);
          assert.equal(w.frames.usedFrames, used, `failing allocation ${n}: frames`);
        }
      }
      assert.ok(sawFailure >= 3, 'each of the three frames can fail');
      assert.ok(sawSuccess >= 1);
      const w = makeWorld(format);
      w.frames.failNthAllocation(1);
      assert.equal(
        errnoOf(() => new UserPtr(LAZY_AREA, u32).get(w.aspace)),
        Errno.ENOMEM,
      );
      assert.equal(new UserPtr(LAZY_AREA, u32).get(w.aspace).read(), 0, 'the retry works');
    });

    test('overflowing sizes and wrapping ranges → EFAULT', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      const efault = (fn: () => unknown) => assert.equal(errnoOf(fn), Errno.EFAULT);
      efault(() => new UserConstPtr(RW_AREA, u32).getAsSlice(a, 2 ** 52));
      efault(() => new UserConstPtr(RW_AREA, u32).getAsSlice(a, 2n ** 64n));
      efault(() => new UserConstPtr(RW_AREA, u32).getAsSlice(a, 2n ** 62n));
      efault(() => new UserConstPtr(RW_AREA, u8).getAsSlice(a, 2 ** 53 - 1));
      efault(() => new UserConstPtr(RW_AREA, u8).getAsSlice(a, -1));
      efault(() => new UserConstPtr(RW_AREA, u8).getAsSlice(a, -1n));
      efault(() => new UserConstPtr(RW_AREA, u8).getAsSlice(a, Number.NaN));
      efault(() => new UserConstPtr(RW_AREA, u8).getAsSlice(a, 1.5));
      efault(() => new UserConstPtr(RW_AREA, u8).getAsSlice(a, Number.POSITIVE_INFINITY));
      efault(() => new UserConstPtr(2 ** 53 - 4, u32).get(a));
      efault(() => new UserConstPtr(2 ** 53 - 4, u32).getAsSlice(a, 2));
      efault(() => new UserConstPtr(2n ** 64n - 4n, u32).get(a)); // wraps in 64 bits
      efault(() => new UserConstPtr(2n ** 64n - 4n, u32).getAsSlice(a, 2));
      efault(() => new UserPtr(2n ** 64n - 8n, u64).getAsSlice(a, 2));
    });

    test('wild addresses → EFAULT from every method; address() answers or EFAULT', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      for (const v of WILD_ADDRESSES) {
        const efault = (fn: () => unknown) => assert.equal(errnoOf(fn), Errno.EFAULT, String(v));
        efault(() => new UserConstPtr(v, u8).get(a));
        efault(() => new UserPtr(v, u32).get(a));
        efault(() => new UserPtr(v, u8).getAsSlice(a, 1));
        efault(() => new UserPtr(v, u8).getAsSlice(a, 0));
        efault(() => new UserConstPtr(v, u32).getAsNullTerminated(a));
        efault(() => new UserConstPtr(v, c_char).getAsStr(a));
        efault(() => new UserConstPtr(v, c_char).address());
        assert.equal(new UserPtr(v, u8).isNull(), false);
      }
      assert.equal(new UserPtr(RW_AREA, u8).address(), RW_AREA);
      assert.equal(new UserPtr(BigInt(RW_AREA), u8).address(), RW_AREA);
      assert.equal(new UserPtr(2 ** 53 - 1, u8).address(), 2 ** 53 - 1);
      assert.equal(new UserPtr(0, u8).address(), 0);
    });

    test('isNull, nullable, cast', () => {
      const w = makeWorld(format);
      for (const z of [0, 0n, -0]) {
        assert.equal(new UserPtr(z, u8).isNull(), true);
        assert.equal(new UserPtr(z, u8).nullable(), null);
        assert.equal(new UserConstPtr(z, u32).nullable(), null);
        assert.equal(
          errnoOf(() => new UserConstPtr(z, u32).get(w.aspace)),
          Errno.EFAULT,
        );
      }
      const p = new UserPtr(RW_AREA, u32);
      assert.equal(p.isNull(), false);
      assert.equal(p.nullable(), p);
      const c = new UserConstPtr(RW_AREA, u32);
      assert.equal(c.nullable(), c);
      const b = p.cast(u8);
      assert.ok(b instanceof UserPtr);
      assert.equal(b.layout, u8);
      assert.equal(b.address(), RW_AREA);
      const cb = c.cast(u16);
      assert.ok(cb instanceof UserConstPtr);
      assert.ok(!(cb instanceof UserPtr));
      assert.equal(cb.address(), RW_AREA);
      // cast keeps a wild value wild, and 0n null.
      assert.equal(
        errnoOf(() => new UserPtr(2n ** 64n - 1n, u32).cast(u8).address()),
        Errno.EFAULT,
      );
      assert.equal(new UserPtr(0n, u32).cast(u8).isNull(), true);
      // Through a cast pointer the bytes of a word are visible one by one.
      put(w, RW_AREA, le32(0x0403_0201));
      assert.deepEqual(p.cast(u8).getAsSlice(w.aspace, 4).toArray(), [1, 2, 3, 4]);
      assert.equal(
        errnoOf(() => new UserPtr(RW_AREA + 1, u8).cast(u16).get(w.aspace)),
        Errno.EFAULT,
      );
    });

    test('a UserRef whose page was unmapped after get(): read and write are EFAULT (LinuxError)', () => {
      const w = makeWorld(format);
      const ref = new UserPtr(RW_AREA + 2 * K4, u32).get(w.aspace);
      ref.write(5);
      w.aspace.unmap(RW_AREA + 2 * K4, K4);
      assert.throws(
        () => ref.read(),
        (e) => e instanceof LinuxError && e.errno === Errno.EFAULT,
      );
      assert.throws(
        () => ref.write(6),
        (e) => e instanceof LinuxError && e.errno === Errno.EFAULT,
      );
      assert.equal(isAccessingUserMemory(), false);
      // Mapped again lazily: the next read faults and the handler fills a zero page.
      w.aspace.mapAlloc(RW_AREA + 2 * K4, K4, URW, false);
      assert.equal(ref.read(), 0);
    });

    test('a UserRef to a value across two pages: a failing write stores nothing', () => {
      const w = makeWorld(format);
      const addr = RW_AREA + 3 * K4 - 4; // 12-byte struct: 4 bytes in one page, 8 in the next
      put(w, addr, new Uint8Array(12).fill(0x33));
      const ref = new UserPtr(addr, S3).get(w.aspace);
      w.aspace.unmap(RW_AREA + 3 * K4, K4);
      assert.equal(
        errnoOf(() => ref.write({ a: 1, b: 2, c: 3 })),
        Errno.EFAULT,
      );
      assert.deepEqual(bytesOf(w, addr, 4), new Uint8Array(4).fill(0x33), 'first page untouched');
      // Same for a slice element and a bulk write.
      const sl = new UserPtr(addr, u8).getAsSlice(w.aspace, 4);
      w.aspace.mapAlloc(RW_AREA + 3 * K4, K4, URW, true);
      const big = new UserPtr(addr, u8).getAsSlice(w.aspace, 12);
      w.aspace.unmap(RW_AREA + 3 * K4, K4);
      assert.equal(
        errnoOf(() => big.writeBytes(new Uint8Array(12).fill(0x44))),
        Errno.EFAULT,
      );
      assert.deepEqual(sl.readBytes(), new Uint8Array(4).fill(0x33), 'bulk write stored nothing');
    });

    test('a fault in the middle of a multi-page access goes to the kernel handler', () => {
      const w = makeWorld(format);
      const addr = LAZY_AREA + 2 * K4 + 100;
      const slice = new UserPtr(addr, u8).getAsSlice(w.aspace, 2 * K4 + 50); // 3 pages, populated by the check
      // Drop the pages again (another thread's madvise(DONTNEED)): they are lazy and absent now.
      w.aspace.mapAllocReplacing(LAZY_AREA + 2 * K4, 3 * K4, URW, false);
      const resident = residentPages(w);
      const t0 = trapStats(w.machine);
      assert.deepEqual(slice.readBytes(), new Uint8Array(2 * K4 + 50));
      const t1 = trapStats(w.machine);
      assert.equal(t1.kernelUserAccessFaults - t0.kernelUserAccessFaults, 3);
      assert.equal(t1.fixed - t0.fixed, 3);
      assert.equal(t1.panics, t0.panics);
      assert.equal(residentPages(w), resident + 3);
      // Writes fault the same way.
      w.aspace.mapAllocReplacing(LAZY_AREA + 2 * K4, 3 * K4, URW, false);
      const data = pattern(2 * K4 + 50, 9);
      slice.writeBytes(data);
      assert.equal(trapStats(w.machine).kernelUserAccessFaults - t1.kernelUserAccessFaults, 3);
      assert.deepEqual(bytesOf(w, addr, data.length), data);
    });

    test('a string scan crossing into a lazy page fills it on demand', () => {
      const w = makeWorld(format);
      const addr = LAZY_AREA + K4 - 5;
      put(w, addr, 'abcde'); // fills page 0 only; its NUL is the first byte of (lazy) page 1
      const resident = residentPages(w);
      const t0 = trapStats(w.machine);
      assert.equal(new UserConstPtr(addr, c_char).getAsStr(w.aspace), 'abcde');
      assert.equal(trapStats(w.machine).kernelUserAccessFaults - t0.kernelUserAccessFaults, 1);
      assert.equal(residentPages(w), resident + 1);
    });

    test('a kernel fault outside a user access is a KernelPanic; SMAP guards USER pages', () => {
      const w = makeWorld(format);
      const mmu = w.machine.mmu;
      w.aspace.activate(mmu);
      const t0 = trapStats(w.machine);
      // Lazy USER page, not yet present: the fault comes from kernel mode with the flag clear.
      assert.throws(
        () => mmu.read32(LAZY_AREA + 5 * K4, KERNEL),
        (e) => e instanceof KernelPanic && e.fault?.reason === 'not-present',
      );
      assert.equal(trapStats(w.machine).panics - t0.panics, 1);
      assert.equal(bytesOf(w, LAZY_AREA, K4).length, K4);
      const resident = residentPages(w);
      // A present USER page: outside the window the kernel access faults on permission → panic.
      put(w, RW_AREA, le32(0xabcd));
      assert.throws(
        () => mmu.read32(RW_AREA, KERNEL),
        (e) => e instanceof KernelPanic && e.fault?.reason === 'permission',
      );
      assert.throws(() => mmu.write8(RW_AREA, 1, KERNEL), KernelPanic);
      assert.equal(trapStats(w.machine).panics - t0.panics, 3);
      // Inside accessUserMemory both work (the lazy one through the handler).
      assert.equal(
        accessUserMemory(() => mmu.read32(RW_AREA, KERNEL)),
        0xabcd,
      );
      assert.equal(
        accessUserMemory(() => mmu.read32(LAZY_AREA + 5 * K4, KERNEL)),
        0,
      );
      assert.equal(residentPages(w), resident + 1);
      // After the window closes the TLB entry does not let the kernel in.
      assert.throws(() => mmu.read32(RW_AREA, KERNEL), KernelPanic);
      // A kernel-only page is fine outside the window.
      assert.equal(mmu.read32(KERNEL_AREA, KERNEL), 0);
      // A fault from user mode is not a panic: the handler fixes a lazy USER page...
      const t1 = trapStats(w.machine);
      assert.equal(mmu.read32(LAZY_AREA + 6 * K4, Privilege.User), 0);
      assert.equal(trapStats(w.machine).userFaults - t1.userFaults, 1);
      // ...and refuses a kernel page (PageFaultError: the kernel would send SIGSEGV).
      assert.throws(() => mmu.read32(KERNEL_AREA, Privilege.User), PageFaultError);
      assert.equal(trapStats(w.machine).panics - t0.panics, 4);
    });

    test('the uptr API never panics: it opens the window itself', () => {
      const w = makeWorld(format);
      const t0 = trapStats(w.machine);
      put(w, RW_AREA, le32(77));
      assert.equal(new UserConstPtr(RW_AREA, u32).get(w.aspace).read(), 77);
      assert.equal(isAccessingUserMemory(), false);
      assert.equal(w.machine.mmu.userAccessAllowed, false);
      assert.equal(trapStats(w.machine).panics, t0.panics);
    });

    test('a lock-guarded provider: a fault mid-scan takes the lock; holding it would deadlock', () => {
      const w = makeWorld(format);
      const locked = new LockedAddrSpace(w.aspace); // attaches itself: the fault handler takes this lock
      assert.equal(w.aspace.provider, locked);
      const addr = LAZY_AREA + 3 * K4 - 3;
      put(w, addr, 'xyz'); // the NUL is in the next, lazy page
      const locks0 = locked.mutex.lockCount;
      const t0 = trapStats(w.machine);
      assert.equal(new UserConstPtr(addr, c_char).getAsStr(locked), 'xyz');
      assert.equal(trapStats(w.machine).kernelUserAccessFaults - t0.kernelUserAccessFaults, 1);
      assert.ok(locked.mutex.lockCount - locks0 >= 3, 'two page checks and the fault handler');
      assert.equal(locked.mutex.isLocked, false);
      // get / UserRef through the same provider, with a fault on a dropped page.
      const ref = new UserPtr(LAZY_AREA + 8 * K4, u32).get(locked);
      w.aspace.mapAllocReplacing(LAZY_AREA + 8 * K4, K4, URW, false);
      ref.write(9);
      assert.equal(ref.read(), 9);
      // The lock model bites: reading a lazy page while holding the lock deadlocks in the handler.
      assert.throws(
        () =>
          locked.withAddrSpace((as) =>
            accessUserMemory(() => userMmu(as).read8(LAZY_AREA + 10 * K4, KERNEL)),
          ),
        DeadlockError,
      );
      assert.equal(locked.mutex.isLocked, false);
      assert.equal(isAccessingUserMemory(), false);
      assert.throws(() => locked.withAddrSpace(() => locked.withAddrSpace(() => 0)), DeadlockError);
      // The same read without the lock works.
      assert.equal(
        accessUserMemory(() => userMmu(w.aspace).read8(LAZY_AREA + 10 * K4, KERNEL)),
        0,
      );
    });
  });
}

describe('accessUserMemory and the per-CPU flag', () => {
  test('nesting keeps the outer value; a throw clears it and closes the window', () => {
    const w = makeWorld(FORMATS[0]);
    const mmu = w.machine.mmu;
    assert.equal(isAccessingUserMemory(), false);
    const seen: boolean[] = [];
    accessUserMemory(() => {
      seen.push(isAccessingUserMemory(), mmu.userAccessAllowed);
      accessUserMemory(() => seen.push(isAccessingUserMemory()));
      seen.push(isAccessingUserMemory(), mmu.userAccessAllowed);
      assert.throws(() =>
        accessUserMemory(() => {
          throw new Error('inner');
        }),
      );
      seen.push(isAccessingUserMemory(), mmu.userAccessAllowed);
    });
    assert.deepEqual(seen, [true, true, true, true, true, true, true]);
    assert.equal(isAccessingUserMemory(), false);
    const boom = new Error('boom');
    assert.throws(
      () =>
        accessUserMemory(() => {
          throw boom;
        }),
      (e) => e === boom,
    );
    assert.equal(isAccessingUserMemory(), false);
    assert.equal(mmu.userAccessAllowed, false);
    assert.equal(
      accessUserMemory(() => 42),
      42,
    );
  });

  test('the flag is per CPU, and the CPU is pinned inside', () => {
    const w = makeWorld(FORMATS[0]);
    const m = w.machine;
    m.setCpuCount(2);
    accessUserMemory(() => {
      assert.equal(m.currentCpu, 0);
      assert.equal(isAccessingUserMemory(), true);
      assert.equal(m.cpuAt(1).accessingUserMem, false);
      assert.throws(() => m.switchTo(1), PerCpuError);
      assert.throws(() => m.runOn(1, () => 0), PerCpuError);
      assert.equal(m.currentCpu, 0);
    });
    m.runOn(1, () => {
      assert.equal(isAccessingUserMemory(), false);
      accessUserMemory(() => {
        assert.equal(isAccessingUserMemory(), true);
        assert.equal(m.cpuAt(0).accessingUserMem, false);
      });
    });
    // A user access on CPU 1 through its own MMU.
    put(w, RW_AREA, le32(3));
    w.aspace.activate(m.cpuAt(1).mmu);
    const hits = m.cpuAt(1).mmu.stats().hits + m.cpuAt(1).mmu.stats().misses;
    const v = m.runOn(1, () => new UserConstPtr(RW_AREA, u32).get(w.aspace).read());
    assert.equal(v, 3);
    assert.ok(m.cpuAt(1).mmu.stats().hits + m.cpuAt(1).mmu.stats().misses > hits, "CPU 1's MMU did the read");
    assert.notEqual(m.cpuAt(1).mmu, m.cpuAt(0).mmu);
    assert.equal(isAccessingUserMemory(), false);
  });
});
