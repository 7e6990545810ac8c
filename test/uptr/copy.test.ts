/**
 * The copy family (Linux's uaccess): partial-count copies, typed values,
 * bounded strings and paths, argv arrays, iovecs, futex atomics and
 * extensible structs. On each of the five page-table formats.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  atomicCmpxchgU32,
  atomicFetchOpU32,
  atomicLoadU32,
  atomicSwapU32,
  clearUser,
  copyFromIovec,
  copyFromUser,
  copyStructFromUser,
  copyToIovec,
  copyToUser,
  importIovec,
  LockedAddrSpace,
  MAX_RW_COUNT,
  PATH_MAX,
  readStringArray,
  readUserPath,
  readUserPathString,
  readVal,
  strncpyFromUser,
  struct,
  UIO_MAXIOV,
  u8,
  u16,
  u32,
  u64,
  writeVal,
} from 'axptr';
import { Errno } from 'axptr/errno';
import { trapStats } from 'axptr/kernel';
import {
  bytesOf,
  cstr,
  errnoOf,
  FORMATS,
  HOLE,
  K4,
  KERNEL_AREA,
  LAZY_AREA,
  LAZY_END,
  LAZY_RO_AREA,
  le32,
  le64,
  makeWorld,
  nonZero,
  pattern,
  put,
  RO_AREA,
  RW_AREA,
  readU32,
  residentPages,
  SPACE_END,
  utf8,
  WILD_ADDRESSES,
  WO_AREA,
} from './helpers.js';

const S3 = struct('s3', [
  ['a', u8],
  ['b', u32],
  ['c', u16],
] as const);

/** iovec array bytes. */
function iovecs(list: readonly (readonly [number | bigint, number | bigint])[]): Uint8Array {
  const b = new Uint8Array(list.length * 16);
  const v = new DataView(b.buffer);
  list.forEach(([base, len], i) => {
    v.setBigUint64(i * 16, BigInt.asUintN(64, BigInt(base)), true);
    v.setBigUint64(i * 16 + 8, BigInt.asUintN(64, BigInt(len)), true);
  });
  return b;
}

/** An argv-style pointer array (NULL-terminated unless `terminate` is false). */
function ptrArray(ptrs: readonly number[], terminate = true): Uint8Array {
  const list = terminate ? [...ptrs, 0] : ptrs;
  const b = new Uint8Array(list.length * 8);
  list.forEach((p, i) => {
    new DataView(b.buffer).setBigUint64(i * 8, BigInt(p), true);
  });
  return b;
}

for (const format of FORMATS) {
  describe(`copy family on ${format.arch}`, () => {
    test('copyFromUser / copyToUser: full copies at any alignment, across pages and areas', () => {
      const w = makeWorld(format);
      for (const off of [0, 1, 3, 7, K4 - 1, K4 - 5]) {
        const data = pattern(K4 + 13, off + 1);
        assert.equal(copyToUser(w.aspace, RW_AREA + off, data), 0);
        assert.deepEqual(bytesOf(w, RW_AREA + off, data.length), data);
        const back = new Uint8Array(data.length);
        assert.equal(copyFromUser(w.aspace, back, RW_AREA + off), 0);
        assert.deepEqual(back, data);
        assert.equal(copyFromUser(w.aspace, back, BigInt(RW_AREA + off)), 0);
      }
      // Reading straight across RW → RO is fine (both USER|READ).
      const across = new Uint8Array(100);
      assert.equal(copyFromUser(w.aspace, across, RO_AREA - 50), 0);
      // n < length: only n bytes move; zero bytes is always 0.
      const dst = new Uint8Array(8).fill(0xee);
      put(w, RW_AREA, [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(copyFromUser(w.aspace, dst, RW_AREA, 3), 0);
      assert.deepEqual(dst, Uint8Array.of(1, 2, 3, 0xee, 0xee, 0xee, 0xee, 0xee));
      assert.equal(copyToUser(w.aspace, HOLE, new Uint8Array(0)), 0);
      assert.equal(copyFromUser(w.aspace, new Uint8Array(0), Number.NaN), 0);
      assert.throws(() => copyFromUser(w.aspace, dst, RW_AREA, 9), RangeError);
    });

    test('copyFromUser partial: exact count not copied, the uncopied tail zeroed', () => {
      const w = makeWorld(format);
      for (const k of [0, 1, 2, 5, 8, 100, K4 - 1, K4, K4 + 3]) {
        const src = HOLE - k; // k readable bytes, then the hole
        put(w, Math.max(src, RO_AREA), pattern(Math.min(k, RO_AREA + 4 * K4 - Math.max(src, RO_AREA)), k));
        for (const n of [k, k + 1, k + 4097]) {
          const dst = new Uint8Array(n + 5).fill(0xaa);
          assert.equal(copyFromUser(w.aspace, dst, src, n), n - k, `k=${k} n=${n}`);
          assert.deepEqual(dst.subarray(0, k), bytesOf(w, src, k));
          assert.ok(
            dst.subarray(k, n).every((b) => b === 0),
            'uncopied part zeroed',
          );
          assert.ok(
            dst.subarray(n).every((b) => b === 0xaa),
            'beyond n untouched',
          );
        }
      }
      // The lazy area's end: the readable part fills, the rest is not copied.
      const dst = new Uint8Array(3 * K4).fill(1);
      assert.equal(copyFromUser(w.aspace, dst, LAZY_END - K4 - 10), 2 * K4 - 10);
      assert.ok(dst.every((b) => b === 0));
      // Not readable at all: kernel-only, a hole, wild. (A write-only area is readable: see below.)
      for (const src of [KERNEL_AREA, HOLE, 0, ...WILD_ADDRESSES]) {
        const d = new Uint8Array(16).fill(0xaa);
        assert.equal(copyFromUser(w.aspace, d, src), 16, String(src));
        assert.ok(d.every((b) => b === 0));
      }
    });

    test('copyToUser partial: into a hole or a read-only area, exact count', () => {
      const w = makeWorld(format);
      for (const k of [0, 1, 3, 8, 4095, K4 + 7]) {
        const before = bytesOf(w, RO_AREA, 2 * K4);
        const data = nonZero(k + 300, k);
        const dst = RO_AREA - k; // k writable bytes, then the read-only area
        assert.equal(copyToUser(w.aspace, dst, data), 300, `k=${k}`);
        assert.deepEqual(bytesOf(w, dst, k), data.subarray(0, k));
        assert.deepEqual(bytesOf(w, RO_AREA, 2 * K4), before, 'read-only area unchanged');
      }
      const data = nonZero(50, 3);
      assert.equal(copyToUser(w.aspace, LAZY_END - 20, data), 30);
      assert.deepEqual(bytesOf(w, LAZY_END - 20, 20), data.subarray(0, 20));
      assert.equal(copyToUser(w.aspace, LAZY_END - 20, data, 20), 0);
      for (const dst of [RO_AREA, KERNEL_AREA, HOLE, ...WILD_ADDRESSES]) {
        assert.equal(copyToUser(w.aspace, dst, data), 50, String(dst));
      }
      assert.deepEqual(bytesOf(w, KERNEL_AREA, 50), new Uint8Array(50), 'kernel area untouched');
      // Write-only is enough for a store, on every format (AArch64 maps it READ|WRITE, as Linux's arm64 does).
      assert.equal(copyToUser(w.aspace, WO_AREA, data), 0);
      assert.deepEqual(bytesOf(w, WO_AREA, 50), data);
    });

    test('copy into a lazy page whose fill runs out of memory: partial count', () => {
      const w = makeWorld(format);
      put(w, LAZY_AREA, [1]); // page 0 present, page tables built
      const before = residentPages(w);
      w.frames.failNthAllocation(2); // page 1 fills, page 2 does not
      const data = nonZero(3 * K4, 4);
      assert.equal(copyToUser(w.aspace, LAZY_AREA + K4, data), 2 * K4, 'one page copied');
      w.frames.failNthAllocation(undefined);
      assert.equal(residentPages(w), before + 1);
      assert.deepEqual(bytesOf(w, LAZY_AREA + K4, K4), data.subarray(0, K4));
    });

    test('clearUser: zeroes up to the first unwritable byte', () => {
      const w = makeWorld(format);
      put(w, RW_AREA, new Uint8Array(RW_AREA_BYTES).fill(0x5a));
      assert.equal(clearUser(w.aspace, RW_AREA + 3, 10), 0);
      assert.deepEqual(
        bytesOf(w, RW_AREA, 16),
        Uint8Array.of(0x5a, 0x5a, 0x5a, ...new Uint8Array(10), 0x5a, 0x5a, 0x5a),
      );
      put(w, RO_AREA, [7, 7]);
      assert.equal(clearUser(w.aspace, RO_AREA - 6, 20n), 14);
      assert.deepEqual(bytesOf(w, RO_AREA - 7, 9), Uint8Array.of(0x5a, 0, 0, 0, 0, 0, 0, 7, 7));
      assert.equal(clearUser(w.aspace, HOLE, 5), 5);
      assert.equal(clearUser(w.aspace, 2n ** 64n - 1n, 5), 5);
      assert.equal(clearUser(w.aspace, RW_AREA, 0), 0);
      assert.equal(
        errnoOf(() => clearUser(w.aspace, RW_AREA, -1)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => clearUser(w.aspace, RW_AREA, 2n ** 64n)),
        Errno.EFAULT,
      );
    });

    test('readVal / writeVal: any alignment, across pages; all or nothing', () => {
      const w = makeWorld(format);
      for (let off = 0; off < 8; off++) {
        const at = RW_AREA + 2 * K4 - 4 + off;
        const v = 0x0102_0304_0506_0708n * BigInt(off + 1);
        writeVal(w.aspace, at, u64, v);
        assert.deepEqual(bytesOf(w, at, 8), le64(v));
        assert.equal(readVal(w.aspace, at, u64), BigInt.asUintN(64, v));
        writeVal(w.aspace, at, u32, 0xdead_0000 + off);
        assert.equal(readVal(w.aspace, BigInt(at), u32), 0xdead_0000 + off);
      }
      // Structs: padding written as zero.
      put(w, RW_AREA + 101, new Uint8Array(12).fill(0xff));
      writeVal(w.aspace, RW_AREA + 101, S3, { a: 9, b: 10, c: 11 });
      assert.deepEqual(bytesOf(w, RW_AREA + 101, 12), Uint8Array.of(9, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0, 0));
      assert.deepEqual(readVal(w.aspace, RW_AREA + 101, S3), { a: 9, b: 10, c: 11 });
      // Crossing into the read-only area: EFAULT, and not one byte written.
      put(w, RO_AREA - 4, [1, 2, 3, 4]);
      for (const at of [RO_AREA - 4, RO_AREA - 1, RO_AREA]) {
        assert.equal(
          errnoOf(() => writeVal(w.aspace, at, u64, -1n)),
          Errno.EFAULT,
        );
      }
      assert.deepEqual(bytesOf(w, RO_AREA - 4, 12), Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0));
      // Crossing from a lazy area into the hole: EFAULT, nothing written, nothing populated.
      const res = residentPages(w);
      assert.equal(
        errnoOf(() => writeVal(w.aspace, LAZY_END - 4, u64, 1n)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => readVal(w.aspace, LAZY_END - 4, u64)),
        Errno.EFAULT,
      );
      assert.equal(residentPages(w), res);
      assert.equal(readVal(w.aspace, LAZY_END - 8, u64), 0n);
      // Readable but not writable; wild; kernel-only (no USER).
      assert.equal(readVal(w.aspace, RO_AREA - 4, u32), 0x0403_0201);
      writeVal(w.aspace, WO_AREA + 1, u32, 5);
      assert.deepEqual(bytesOf(w, WO_AREA + 1, 4), Uint8Array.of(5, 0, 0, 0));
      // get_user of a write-only page reads it, as on Linux (write implies read).
      assert.equal(readVal(w.aspace, WO_AREA + 1, u32), 5);
      for (const at of [KERNEL_AREA, HOLE, ...WILD_ADDRESSES]) {
        assert.equal(
          errnoOf(() => readVal(w.aspace, at, u32)),
          Errno.EFAULT,
          String(at),
        );
        assert.equal(
          errnoOf(() => writeVal(w.aspace, at, u32, 1)),
          Errno.EFAULT,
          String(at),
        );
      }
      assert.equal(readU32(w, KERNEL_AREA), 0);
    });

    test('writeVal running out of memory: EFAULT, as put_user, and nothing changed', () => {
      // The page faults in kernel mode inside the access; Linux's fault handler answers VM_FAULT_OOM
      // and a kernel-mode fault takes the exception fixup (kernelmode_fixup_or_oops): -EFAULT.
      const w = makeWorld(format);
      const res = residentPages(w);
      w.frames.failNthAllocation(1);
      assert.equal(
        errnoOf(() => writeVal(w.aspace, LAZY_AREA + 5 * K4 - 2, u32, 0xffff_ffff)),
        Errno.EFAULT,
      );
      w.frames.failNthAllocation(undefined);
      assert.equal(residentPages(w), res);
      writeVal(w.aspace, LAZY_AREA + 5 * K4 - 2, u32, 0xffff_ffff);
      assert.equal(readU32(w, LAZY_AREA + 5 * K4 - 2), 0xffff_ffff);
    });

    test('strncpyFromUser: Linux semantics', () => {
      const w = makeWorld(format);
      put(w, RW_AREA, cstr('hello'));
      const dst = new Uint8Array(16).fill(0xcc);
      assert.equal(strncpyFromUser(w.aspace, dst, RW_AREA), 5);
      assert.deepEqual(dst.subarray(0, 6), cstr('hello'));
      // No NUL within count: answers count.
      put(w, RW_AREA + 100, cstr('hello world'));
      const d2 = new Uint8Array(16).fill(0xcc);
      assert.equal(strncpyFromUser(w.aspace, d2, RW_AREA + 100, 5), 5);
      assert.deepEqual(d2.subarray(0, 5), utf8('hello'));
      assert.equal(d2[5], 0xcc);
      assert.equal(strncpyFromUser(w.aspace, d2, RW_AREA + 100, 0), 0);
      // Across a page boundary.
      put(w, RW_AREA + K4 - 3, cstr('abcdef'));
      assert.equal(strncpyFromUser(w.aspace, d2, RW_AREA + K4 - 3), 6);
      // Running into unmapped memory before the NUL: EFAULT; a NUL before the hole is fine.
      put(w, HOLE - 4, 'wxyz');
      assert.equal(
        errnoOf(() => strncpyFromUser(w.aspace, new Uint8Array(64), HOLE - 4)),
        Errno.EFAULT,
      );
      assert.equal(strncpyFromUser(w.aspace, new Uint8Array(64), HOLE - 4, 4), 4, 'count reached first');
      put(w, HOLE - 2, [0x61, 0]);
      assert.equal(strncpyFromUser(w.aspace, new Uint8Array(64), HOLE - 2), 1);
      assert.equal(
        strncpyFromUser(w.aspace, new Uint8Array(8), WO_AREA),
        0,
        'a write-only page reads (empty string)',
      );
      for (const src of [HOLE, KERNEL_AREA, ...WILD_ADDRESSES]) {
        assert.equal(
          errnoOf(() => strncpyFromUser(w.aspace, new Uint8Array(8), src)),
          Errno.EFAULT,
          String(src),
        );
      }
      assert.throws(() => strncpyFromUser(w.aspace, new Uint8Array(8), RW_AREA, 9), RangeError);
    });

    test('strncpyFromUser does not touch the lazy page after the NUL', () => {
      const w = makeWorld(format);
      const at = LAZY_AREA + 2 * K4 - 6;
      put(w, at, cstr('tail.')); // NUL is the last byte of page 1; page 2 is lazy
      const res = residentPages(w);
      const t0 = trapStats(w.machine);
      assert.equal(strncpyFromUser(w.aspace, new Uint8Array(3 * K4), at), 5);
      assert.equal(residentPages(w), res);
      assert.equal(trapStats(w.machine).kernelUserAccessFaults, t0.kernelUserAccessFaults);
      // A string starting in an untouched lazy page: empty, and exactly that page is filled.
      assert.equal(strncpyFromUser(w.aspace, new Uint8Array(3 * K4), LAZY_AREA + 6 * K4 + 9), 0);
      assert.equal(residentPages(w), res + 1);
      // The same in a lazy read-only area.
      assert.equal(strncpyFromUser(w.aspace, new Uint8Array(3 * K4), LAZY_RO_AREA + 100), 0);
      assert.equal(residentPages(w), res + 2);
    });

    test('readUserPath: PATH_MAX, ENAMETOOLONG, ENOENT', () => {
      const w = makeWorld(format);
      const at = RW_AREA + 3 * K4 + 17;
      put(w, at, cstr('a'.repeat(PATH_MAX - 1)));
      assert.equal(readUserPath(w.aspace, at).length, PATH_MAX - 1);
      put(w, at, cstr('a'.repeat(PATH_MAX)));
      assert.equal(
        errnoOf(() => readUserPath(w.aspace, at)),
        Errno.ENAMETOOLONG,
      );
      put(w, at, cstr(''));
      assert.equal(
        errnoOf(() => readUserPath(w.aspace, at)),
        Errno.ENOENT,
      );
      put(w, at, cstr('/etc/pässwd'));
      assert.equal(readUserPathString(w.aspace, at), '/etc/pässwd');
      assert.deepEqual(readUserPath(w.aspace, BigInt(at)), utf8('/etc/pässwd'));
      put(w, at, [0x2f, 0xc3, 0x28, 0]);
      assert.equal(
        errnoOf(() => readUserPathString(w.aspace, at)),
        Errno.EILSEQ,
      );
      assert.equal(
        errnoOf(() => readUserPath(w.aspace, HOLE)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => readUserPath(w.aspace, 0)),
        Errno.EFAULT,
      );
      put(w, HOLE - 10, 'x'.repeat(10));
      assert.equal(
        errnoOf(() => readUserPath(w.aspace, HOLE - 10)),
        Errno.EFAULT,
      );
    });

    test('readStringArray (argv): NULL, limits, bad pointers', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      const sA = RW_AREA + K4;
      const sB = RW_AREA + K4 + 16;
      put(w, sA, cstr('a'));
      put(w, sB, cstr('bc'));
      const arr = RW_AREA + 2 * K4 - 8; // array crosses a page boundary
      put(w, arr, ptrArray([sA, sB]));
      assert.deepEqual(readStringArray(a, 0), []);
      assert.deepEqual(readStringArray(a, 0n), []);
      assert.deepEqual(readStringArray(a, arr), [utf8('a'), utf8('bc')]);
      // Per-string limit (NUL included): "bc" needs 3.
      assert.equal(
        errnoOf(() => readStringArray(a, arr, { maxStringLen: 2 })),
        Errno.E2BIG,
      );
      assert.equal(readStringArray(a, arr, { maxStringLen: 3 }).length, 2);
      // Total: (1+1+8) + (2+1+8) = 21.
      assert.equal(readStringArray(a, arr, { maxTotal: 21 }).length, 2);
      assert.equal(
        errnoOf(() => readStringArray(a, arr, { maxTotal: 20 })),
        Errno.E2BIG,
      );
      // Count.
      assert.equal(
        errnoOf(() => readStringArray(a, arr, { maxStrings: 1 })),
        Errno.E2BIG,
      );
      assert.equal(readStringArray(a, arr, { maxStrings: 2 }).length, 2);
      // Bad pointers: the array itself, an element, an unterminated array running into the hole.
      assert.equal(
        errnoOf(() => readStringArray(a, HOLE)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => readStringArray(a, 2n ** 64n - 8n)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => readStringArray(a, Number.NaN)),
        Errno.EFAULT,
      );
      put(w, RW_AREA + 3 * K4, ptrArray([sA, HOLE]));
      assert.equal(
        errnoOf(() => readStringArray(a, RW_AREA + 3 * K4)),
        Errno.EFAULT,
      );
      put(w, HOLE - 16, ptrArray([sA, sB], false));
      assert.equal(
        errnoOf(() => readStringArray(a, HOLE - 16)),
        Errno.EFAULT,
      );
      // An element pointing at a kernel-only page is EFAULT too.
      put(w, RW_AREA + 4 * K4, ptrArray([KERNEL_AREA]));
      assert.equal(
        errnoOf(() => readStringArray(a, RW_AREA + 4 * K4)),
        Errno.EFAULT,
      );
    });

    test('importIovec: validation', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      const at = RW_AREA + K4;
      put(
        w,
        at,
        iovecs([
          [RW_AREA, 10],
          [HOLE, 5], // unmapped but inside user space: import is fine
          [SPACE_END - 10, 10],
          [RW_AREA, 0],
        ]),
      );
      const iov = importIovec(a, at, 4);
      assert.deepEqual(iov.segments, [
        { base: RW_AREA, len: 10 },
        { base: HOLE, len: 5 },
        { base: SPACE_END - 10, len: 10 },
        { base: RW_AREA, len: 0 },
      ]);
      assert.equal(iov.total, 25);
      assert.deepEqual(importIovec(a, at, 0), { segments: [], total: 0 });
      assert.deepEqual(importIovec(a, HOLE, 0), { segments: [], total: 0 });
      assert.equal(importIovec(a, at, 2n).segments.length, 2);
      // Counts.
      assert.equal(
        errnoOf(() => importIovec(a, at, UIO_MAXIOV + 1)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => importIovec(a, HOLE, UIO_MAXIOV + 1)),
        Errno.EINVAL,
        'before reading',
      );
      assert.equal(
        errnoOf(() => importIovec(a, at, -1)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => importIovec(a, at, -1n)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => importIovec(a, at, 2n ** 64n - 1n)),
        Errno.EINVAL,
      );
      assert.equal(importIovec(a, RW_AREA, UIO_MAXIOV).segments.length, UIO_MAXIOV); // 16 KiB of zeros
      // The array must be readable.
      assert.equal(
        errnoOf(() => importIovec(a, HOLE, 1)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => importIovec(a, RO_AREA + 4 * K4 - 16, 2)),
        Errno.EFAULT,
      );
      // Negative length (high bit set) → EINVAL.
      put(w, at, iovecs([[RW_AREA, 2n ** 63n]]));
      assert.equal(
        errnoOf(() => importIovec(a, at, 1)),
        Errno.EINVAL,
      );
      put(
        w,
        at,
        iovecs([
          [RW_AREA, 1],
          [RW_AREA, -1],
        ]),
      );
      assert.equal(
        errnoOf(() => importIovec(a, at, 2)),
        Errno.EINVAL,
      );
      // Outside user space → EFAULT.
      for (const seg of [
        [SPACE_END - 10, 11],
        [SPACE_END + K4, 0],
        [2n ** 60n, 0],
        [2n ** 64n - 1n, 1],
        [RW_AREA, 2n ** 62n],
      ] as const) {
        put(w, at, iovecs([[RW_AREA, 1], seg]));
        assert.equal(
          errnoOf(() => importIovec(a, at, 2)),
          Errno.EFAULT,
          String(seg),
        );
      }
    });

    test('importIovec clamps the total to MAX_RW_COUNT', () => {
      const w = makeWorld(format);
      const at = RW_AREA;
      put(
        w,
        at,
        iovecs([
          [0x10_0000_0000, 0x7000_0000],
          [0x11_0000_0000, 0x7000_0000],
          [0x12_0000_0000, 5],
        ]),
      );
      const iov = importIovec(w.aspace, at, 3);
      assert.deepEqual(
        iov.segments.map((s) => s.len),
        [0x7000_0000, MAX_RW_COUNT - 0x7000_0000, 0],
      );
      assert.equal(iov.total, MAX_RW_COUNT);
    });

    test('importIovec fetches each entry once', () => {
      const w = makeWorld(format);
      const at = RW_AREA + 8;
      put(
        w,
        at,
        iovecs([
          [RW_AREA + K4, 4],
          [RW_AREA + 2 * K4, 6],
        ]),
      );
      const iov = importIovec(new LockedAddrSpace(w.aspace), at, 2);
      put(
        w,
        at,
        iovecs([
          [HOLE, 1000],
          [KERNEL_AREA, 1000],
        ]),
      );
      assert.deepEqual(iov.segments, [
        { base: RW_AREA + K4, len: 4 },
        { base: RW_AREA + 2 * K4, len: 6 },
      ]);
      const data = nonZero(10, 5);
      assert.equal(copyToIovec(w.aspace, iov, data), 10);
      assert.deepEqual(bytesOf(w, RW_AREA + K4, 4), data.subarray(0, 4));
      assert.deepEqual(bytesOf(w, RW_AREA + 2 * K4, 6), data.subarray(4));
      assert.deepEqual(bytesOf(w, KERNEL_AREA, 10), new Uint8Array(10));
    });

    test('copyFromIovec / copyToIovec: gather, scatter, partial counts', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      put(w, RW_AREA, pattern(64, 1));
      put(w, RO_AREA + 4 * K4 - 8, pattern(8, 2));
      const segs = (list: [number, number][]) => ({
        segments: list.map(([base, len]) => ({ base, len })),
        total: list.reduce((s, [, l]) => s + l, 0),
      });
      // Gather: whole, limited by the destination, stopped at the hole mid-segment.
      const iov = segs([
        [RW_AREA, 4],
        [RW_AREA + 10, 0],
        [RO_AREA + 4 * K4 - 8, 20], // 8 readable bytes, then the hole
        [RW_AREA, 4],
      ]);
      const dst = new Uint8Array(40).fill(0xaa);
      assert.equal(copyFromIovec(a, iov, dst), 12);
      assert.deepEqual(dst.subarray(0, 4), pattern(64, 1).subarray(0, 4));
      assert.deepEqual(dst.subarray(4, 12), pattern(8, 2));
      assert.equal(copyFromIovec(a, iov, new Uint8Array(3)), 3);
      assert.equal(
        copyFromIovec(
          a,
          segs([
            [RW_AREA, 4],
            [RW_AREA + 8, 4],
          ]),
          new Uint8Array(8),
        ),
        8,
      );
      assert.equal(copyFromIovec(a, segs([[HOLE, 4]]), new Uint8Array(8)), 0);
      // Scatter: stops at the read-only area in the middle of the second segment.
      const before = bytesOf(w, RO_AREA, 16);
      const src = nonZero(30, 9);
      const out = segs([
        [RW_AREA + 100, 10],
        [RO_AREA - 5, 10],
        [RW_AREA + 200, 10],
      ]);
      assert.equal(copyToIovec(a, out, src), 15);
      assert.deepEqual(bytesOf(w, RW_AREA + 100, 10), src.subarray(0, 10));
      assert.deepEqual(bytesOf(w, RO_AREA - 5, 5), src.subarray(10, 15));
      assert.deepEqual(bytesOf(w, RO_AREA, 16), before);
      assert.deepEqual(bytesOf(w, RW_AREA + 200, 10), new Uint8Array(10), 'later segments untouched');
      assert.equal(copyToIovec(a, out, src.subarray(0, 7)), 7);
    });

    test('atomics: load, swap, cmpxchg, fetch ops with wraparound', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      const at = RW_AREA + 64;
      put(w, at, le32(0xffff_fffe));
      assert.equal(atomicLoadU32(a, at), 0xffff_fffe);
      assert.equal(atomicFetchOpU32(a, at, 'add', 3), 0xffff_fffe);
      assert.equal(readU32(w, at), 1, 'add wraps');
      assert.equal(atomicFetchOpU32(a, at, 'add', -1), 1);
      assert.equal(readU32(w, at), 0);
      assert.equal(atomicFetchOpU32(a, at, 'set', 0xf0f0), 0);
      assert.equal(atomicFetchOpU32(a, at, 'or', 0x0f00_000f), 0xf0f0);
      assert.equal(readU32(w, at), 0x0f00_f0ff);
      assert.equal(atomicFetchOpU32(a, at, 'andn', 0x0f00_00f0), 0x0f00_f0ff);
      assert.equal(readU32(w, at), 0x0000_f00f);
      assert.equal(atomicFetchOpU32(a, at, 'xor', 0xffff_ffff), 0xf00f);
      assert.equal(readU32(w, at), 0xffff_0ff0);
      assert.equal(atomicSwapU32(a, at, 7), 0xffff_0ff0);
      assert.equal(atomicCmpxchgU32(a, at, 8, 9), 7, 'no swap');
      assert.equal(readU32(w, at), 7);
      assert.equal(atomicCmpxchgU32(a, BigInt(at), 7, 0x8000_0000), 7, 'swap');
      assert.equal(readU32(w, at), 0x8000_0000);
      assert.equal(atomicCmpxchgU32(a, at, -0x8000_0000, 1), 0x8000_0000, 'expected as a signed value');
      assert.equal(readU32(w, at), 1);
      // A lazy page: load fills it through the fault handler.
      const t0 = trapStats(w.machine);
      assert.equal(atomicLoadU32(a, LAZY_AREA + 9 * K4), 0);
      assert.equal(trapStats(w.machine).kernelUserAccessFaults - t0.kernelUserAccessFaults, 1);
      assert.equal(atomicSwapU32(a, LAZY_AREA + 10 * K4 + 4, 3), 0);
      assert.equal(readU32(w, LAZY_AREA + 10 * K4 + 4), 3);
    });

    test('atomics: misaligned → EINVAL, not accessible → EFAULT', () => {
      const w = makeWorld(format);
      const a = w.aspace;
      put(w, RO_AREA, le32(5));
      for (const off of [1, 2, 3]) {
        assert.equal(
          errnoOf(() => atomicLoadU32(a, RW_AREA + off)),
          Errno.EINVAL,
        );
        assert.equal(
          errnoOf(() => atomicSwapU32(a, RW_AREA + off, 1)),
          Errno.EINVAL,
        );
        assert.equal(
          errnoOf(() => atomicCmpxchgU32(a, HOLE + off, 0, 1)),
          Errno.EINVAL,
        );
      }
      assert.equal(atomicLoadU32(a, RO_AREA), 5);
      assert.equal(
        errnoOf(() => atomicSwapU32(a, RO_AREA, 1)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => atomicCmpxchgU32(a, RO_AREA, 9, 1)),
        Errno.EFAULT,
        'even when no store would happen',
      );
      assert.equal(
        errnoOf(() => atomicFetchOpU32(a, RO_AREA, 'add', 1)),
        Errno.EFAULT,
      );
      assert.equal(readU32(w, RO_AREA), 5);
      for (const at of [
        HOLE,
        KERNEL_AREA,
        0,
        ...WILD_ADDRESSES.filter((v) => typeof v === 'bigint' || Number.isInteger(v)),
      ]) {
        const e = errnoOf(() => atomicLoadU32(a, at));
        assert.ok(e === Errno.EFAULT || e === Errno.EINVAL, String(at));
        assert.equal(
          errnoOf(() => atomicSwapU32(a, at, 1)),
          e,
          String(at),
        );
      }
      assert.equal(
        errnoOf(() => atomicLoadU32(a, KERNEL_AREA)),
        Errno.EFAULT,
      );
      assert.equal(atomicLoadU32(a, WO_AREA), 0, 'a futex word in a write-only page reads, as on Linux');
      assert.equal(
        errnoOf(() => atomicLoadU32(a, Number.NaN)),
        Errno.EFAULT,
      );
      assert.equal(readU32(w, KERNEL_AREA), 0);
    });

    test('atomics on a copy-on-write page after fork make it private', () => {
      const w = makeWorld(format);
      const at = RW_AREA + 5 * K4 + 8;
      put(w, at, le32(0x1111_1111));
      const child = w.aspace.fork();
      const cow0 = child.stats().faults.cowCopy;
      assert.equal(atomicLoadU32(child, at), 0x1111_1111);
      assert.equal(child.stats().faults.cowCopy, cow0, 'a load does not copy');
      assert.equal(atomicSwapU32(child, at, 0x2222_2222), 0x1111_1111);
      assert.equal(child.stats().faults.cowCopy, cow0 + 1);
      assert.equal(readU32(child, at), 0x2222_2222);
      assert.equal(readU32(w, at), 0x1111_1111, 'the parent still sees the old value');
      assert.equal(atomicFetchOpU32(w.aspace, at, 'add', 1), 0x1111_1111);
      assert.equal(readU32(w, at), 0x1111_1112);
      assert.equal(readU32(child, at), 0x2222_2222);
      // A compare that fails still un-shares (RMW translates for a write) but stores nothing.
      const at2 = RW_AREA + 6 * K4;
      put(w, at2, le32(4));
      const child2 = w.aspace.fork();
      assert.equal(atomicCmpxchgU32(child2, at2, 5, 6), 4);
      assert.equal(readU32(child2, at2), 4);
      assert.equal(readU32(w, at2), 4);
      child.destroy();
      child2.destroy();
    });

    test('copyStructFromUser: shorter, equal, longer with zero / non-zero tail', () => {
      const w = makeWorld(format);
      const S = struct('ext', [
        ['a', u32],
        ['b', u32],
        ['c', u64],
      ] as const);
      const at = RW_AREA + K4 - 12; // crosses a page boundary
      put(w, at, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      assert.deepEqual(copyStructFromUser(w.aspace, at, 16, S), { a: 1, b: 2, c: 3n });
      assert.deepEqual(copyStructFromUser(w.aspace, at, 8, S), { a: 1, b: 2, c: 0n }, 'zero-extended');
      assert.deepEqual(copyStructFromUser(w.aspace, at, 5n, S), { a: 1, b: 2, c: 0n });
      assert.deepEqual(copyStructFromUser(w.aspace, at, 0, S), { a: 0, b: 0, c: 0n });
      assert.deepEqual(copyStructFromUser(w.aspace, at, 24, S), { a: 1, b: 2, c: 3n }, 'zero tail');
      put(w, at + 23, [1]);
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, at, 24, S)),
        Errno.E2BIG,
      );
      assert.deepEqual(copyStructFromUser(w.aspace, at, 23, S), { a: 1, b: 2, c: 3n });
      // A long zero tail over several pages; then one running into the hole.
      assert.deepEqual(copyStructFromUser(w.aspace, RW_AREA + 8 * K4, 3 * K4 + 5, S), { a: 0, b: 0, c: 0n });
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, HOLE - 20, 40, S)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, HOLE - 8, 8, S)),
        undefined,
      );
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, HOLE - 8, 16, S)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, at, -1, S)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, at, 2n ** 64n, S)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => copyStructFromUser(w.aspace, KERNEL_AREA, 16, S)),
        Errno.EFAULT,
      );
    });
  });
}

const RW_AREA_BYTES = 16 * K4;
