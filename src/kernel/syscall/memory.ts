/**
 * brk, mmap (anonymous, private or shared; MAP_FIXED and MAP_FIXED_NOREPLACE;
 * lazy), munmap and mprotect, on the process's address space under its lock,
 * with the errno Linux gives for bad lengths, flags and ranges.
 */

import { AddrRange, PAGE_SIZE_4K, va } from '../../addr/index.js';
import { Errno, isLinuxError } from '../../errno/index.js';
import { type AddrSpace, type PageSource, ShmemObject } from '../../mm/index.js';
import { MappingFlags } from '../../paging/index.js';
import { DEV_ZERO, DeviceFile } from '../fs/devices.js';
import { RegularInode } from '../fs/inode.js';
import { RLIM_INFINITY, RLIMIT_AS } from '../process.js';
import { fileOf } from './fsutil.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EINVAL, ENOMEM, int, size } from './util.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const PROT_SEM = 8; // accepted and ignored, as on every Linux architecture without it
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;
const MAP_NORESERVE = 0x4000;

/**
 * May the space grow by `bytes`? RLIMIT_AS bounds the whole space; a
 * private writable (or shared anonymous) mapping is also accounted as
 * Linux's default overcommit heuristic does: one request larger than the
 * machine's memory is ENOMEM (a malloc that fails) unless MAP_NORESERVE.
 * Smaller ones are lazy; a machine that then runs out kills the process
 * as the OOM killer would.
 */
function mayGrow(ctx: SyscallContext, as: AddrSpace, bytes: number, accounted: boolean): boolean {
  const limit = ctx.proc.rlimits[RLIMIT_AS][0];
  if (limit !== RLIM_INFINITY) {
    let mapped = 0;
    for (const a of as.iterAreas()) mapped += a.end - a.start;
    if (BigInt(mapped + bytes) > limit) return false;
  }
  return !accounted || bytes <= ctx.kernel.machine.frames.frameCount * PAGE_SIZE_4K;
}
/** Linux's default vm.max_map_count: no process has more areas. */
const MAX_MAP_COUNT = 65530;
/** Where anonymous mappings go when the program gives no address (below the stack's gap). */
const MMAP_TOP = 2 ** 38 - (128 << 20) - (8 << 20);

function protFlags(prot: number): MappingFlags {
  let f = MappingFlags.USER;
  if (prot & PROT_READ) f |= MappingFlags.READ;
  if (prot & PROT_WRITE) f |= MappingFlags.WRITE;
  if (prot & PROT_EXEC) f |= MappingFlags.EXECUTE;
  return f;
}

const pageUp = (v: number) => Math.ceil(v / PAGE_SIZE_4K) * PAGE_SIZE_4K;

/** brk(addr): the new break, or the old one when the request cannot be met (Linux never fails brk). */
function brk(ctx: SyscallContext, [addr]: readonly bigint[]): number {
  const p = ctx.proc;
  const want = size(addr);
  if (want < 0 || want < p.brkStart) return p.brk;
  const oldEnd = pageUp(p.brk);
  const newEnd = pageUp(want);
  return p.mm.withAddrSpace((as) => {
    try {
      if (newEnd > oldEnd) {
        // Linux keeps a guard page between the heap and the next mapping (vm_start_gap).
        const room = as.findFreeArea(
          oldEnd,
          newEnd - oldEnd + PAGE_SIZE_4K,
          AddrRange.new(va(oldEnd), va(as.end)),
        );
        if (room !== oldEnd || !mayGrow(ctx, as, newEnd - oldEnd, true)) return p.brk;
        if (oldEnd === pageUp(p.brkStart))
          as.mapAlloc(oldEnd, newEnd - oldEnd, protFlags(PROT_READ | PROT_WRITE), false);
        else as.grow(oldEnd, newEnd);
      } else if (newEnd < oldEnd) as.unmap(newEnd, oldEnd - newEnd);
    } catch (e) {
      if (isLinuxError(e)) return p.brk;
      throw e;
    }
    p.brk = want;
    return want;
  });
}

/** Flags a MAP_SHARED_VALIDATE mapping may carry (Linux's LEGACY_MAP_MASK and MAP_FIXED_NOREPLACE). */
const MAP_VALID_FLAGS =
  0x01 |
  0x02 |
  0x10 |
  0x20 |
  0x100 |
  0x800 |
  0x1000 |
  0x2000 |
  0x4000 |
  0x8000 |
  0x10000 |
  0x20000 |
  0x40000 |
  0x4000000 |
  MAP_FIXED_NOREPLACE;
const MAP_TYPE = 0x0f;
const MAP_SHARED_VALIDATE = 0x03;

/**
 * mmap in Linux's order of checks: the offset's alignment (EINVAL), the
 * descriptor (EBADF), the length (EINVAL for 0, ENOMEM past user space),
 * the address (ENOMEM out of range, EINVAL misaligned, EEXIST for
 * MAP_FIXED_NOREPLACE over a mapping), then the mapping type and the
 * file's modes (EINVAL, EOPNOTSUPP, EACCES, ENODEV).
 */
function mmap(
  ctx: SyscallContext,
  [addr, length, prot, flags, fd, offset]: readonly bigint[],
): bigint | number {
  const f = int(flags);
  const pr = int(prot);
  const off = BigInt.asUintN(64, offset);
  if ((off & 0xfffn) !== 0n) return EINVAL;
  const file = (f & MAP_ANONYMOUS) === 0 ? fileOf(ctx, fd) : undefined;
  if (length === 0n) return EINVAL;
  const rawLen = BigInt.asUintN(64, length);
  if (rawLen > 2n ** 38n) return ENOMEM;
  const bytes = pageUp(Number(rawLen));
  if (off + BigInt(bytes) > 2n ** 63n) return -Errno.EOVERFLOW;
  const fixed = (f & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  const rawAddr = BigInt.asUintN(64, addr);
  if (fixed) {
    if (rawAddr > 2n ** 38n - BigInt(bytes)) return ENOMEM;
    if ((rawAddr & 0xfffn) !== 0n) return EINVAL;
  }
  const start = Number(fixed ? rawAddr : 0n);
  let object:
    | {
        pages: PageSource;
        path: string;
        ino: number;
        inode: RegularInode;
        file: RegularInode | undefined;
        writable: boolean;
      }
    | undefined;
  const type = f & MAP_TYPE;
  if (file === undefined || (file instanceof DeviceFile && file.inode.rdev === DEV_ZERO)) {
    // Anonymous memory (and /dev/zero, Linux's mmap_zero): shared or private, nothing else.
    if (type !== MAP_SHARED && type !== MAP_PRIVATE) return EINVAL;
  } else {
    if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) return EINVAL;
    const shared = type !== MAP_PRIVATE;
    if (type === MAP_SHARED_VALIDATE && (f & ~MAP_VALID_FLAGS) !== 0) return -Errno.EOPNOTSUPP;
    if (shared && (pr & PROT_WRITE) !== 0 && !file.writable) return -Errno.EACCES;
    if (!file.readable) return -Errno.EACCES;
    if (!(file.inode instanceof RegularInode)) return -Errno.ENODEV;
    const inode = file.inode;
    object = {
      pages: inode.pages(),
      path: file.path,
      ino: inode.ino,
      inode,
      file: shared ? inode : undefined,
      writable: file.writable,
    };
  }
  return ctx.proc.mm.withAddrSpace((as) => {
    let at: number;
    if (as.areaCount >= MAX_MAP_COUNT) return ENOMEM; // Linux's vm.max_map_count
    const accounted =
      (f & MAP_NORESERVE) === 0 &&
      ((pr & PROT_WRITE) !== 0 || (object === undefined && type !== MAP_PRIVATE));
    // MAP_FIXED replaces what it overlaps: the limits see the whole request (a little strict there).
    if (!mayGrow(ctx, as, bytes, accounted && (type === MAP_PRIVATE || object === undefined))) return ENOMEM;
    if (fixed) {
      if (start < as.base) return -Errno.EPERM; // below mmap_min_addr
      if (
        f & MAP_FIXED_NOREPLACE &&
        [...as.iterAreas()].some((a) => a.start < start + bytes && start < a.end)
      ) {
        return -Errno.EEXIST;
      }
      at = start;
    } else {
      const found = as.findFreeArea(0x10_0000_0000, bytes, AddrRange.new(va(as.base), va(MMAP_TOP)));
      if (found === undefined) return ENOMEM;
      at = found;
    }
    try {
      const replace = (f & MAP_FIXED) !== 0;
      if (object === undefined && (f & MAP_TYPE) !== MAP_PRIVATE) {
        // Shared anonymous memory (Linux's shmem): one object whose pages every process that maps it sees.
        const shm = new ShmemObject(ctx.kernel.machine.frames, bytes);
        as.mapShared(at, bytes, protFlags(pr), shm, 0, replace);
        ctx.proc.mmStruct.holdShmem(shm);
      } else if (object === undefined) as.mapAlloc(at, bytes, protFlags(pr), false, replace);
      else {
        const off = Number(BigInt.asUintN(64, offset));
        if ((f & MAP_TYPE) !== MAP_PRIVATE) {
          as.mapShared(at, bytes, protFlags(pr), object.pages, off, replace);
          const backend = as.findArea(at)?.backend;
          if (!object.writable && backend !== undefined) ctx.proc.sharedNoWrite.add(backend);
          if (object.file !== undefined && (pr & PROT_WRITE) !== 0) ctx.proc.sharedWritable.add(object.file);
        } else as.mapFile(at, bytes, protFlags(pr), object.pages, off, replace);
        ctx.proc.mappedFiles.set(object.pages, { path: object.path, ino: object.ino });
        if (!ctx.proc.mappedInodes.has(object.inode)) {
          object.inode.hold(1);
          ctx.proc.mappedInodes.add(object.inode);
        }
      }
    } catch (e) {
      if (isLinuxError(e)) return -e.errno;
      throw e;
    }
    return at;
  });
}

function munmap(ctx: SyscallContext, [addr, length]: readonly bigint[]): number {
  const start = size(addr);
  const len = size(length);
  // Linux: EINVAL for a misaligned start, an empty length or a range past user space; nothing mapped is fine.
  if (start < 0 || start % PAGE_SIZE_4K !== 0 || len <= 0) return EINVAL;
  return ctx.proc.mm.withAddrSpace((as) => {
    if (start > as.end || len > as.end - start) return EINVAL;
    const from = Math.max(start, as.base);
    const end = Math.min(pageUp(start + len), as.end);
    if (end > from) as.unmap(from, end - from);
    return 0;
  });
}

/**
 * A range argument of mprotect, madvise, msync: the start must be aligned;
 * answers [start, end) page-aligned, or why not: 'empty', 'wraps' when the
 * end passes 2^64, 'outside' past user space.
 */
function rangeArg(
  addr: bigint,
  length: bigint,
): [number, number] | 'misaligned' | 'empty' | 'wraps' | 'outside' {
  const a = BigInt.asUintN(64, addr);
  if ((a & 0xfffn) !== 0n) return 'misaligned';
  const len = (BigInt.asUintN(64, length) + 0xfffn) & ~0xfffn;
  if (length === 0n) return 'empty';
  if (len === 0n || a + len > 2n ** 64n - 1n) return 'wraps';
  if (a + len > 2n ** 38n) return 'outside';
  return [Number(a), Number(a + len)];
}

function mprotect(ctx: SyscallContext, [addr, length, prot]: readonly bigint[]): number {
  const pr = int(prot);
  const r = rangeArg(addr, length);
  if (r === 'misaligned') return EINVAL;
  if ((pr & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0) return EINVAL;
  if (r === 'empty') return 0;
  if (r === 'wraps' || r === 'outside') return ENOMEM;
  const [start, end] = r;
  return ctx.proc.mm.withAddrSpace((as) => {
    if (start < as.base || end > as.end) return ENOMEM;
    // Linux: ENOMEM when any page of the range is unmapped (nothing changes then).
    if (!as.canAccessRange(start, end - start, 0)) return ENOMEM;
    // A shared mapping of a file opened read-only never becomes writable (EACCES, nothing changes).
    if ((pr & PROT_WRITE) !== 0)
      for (const a of as.iterAreas())
        if (a.start < end && start < a.end && ctx.proc.sharedNoWrite.has(a.backend)) return -Errno.EACCES;
    as.protect(start, end - start, protFlags(pr));
    return 0;
  });
}

const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;

/** mremap: shrink in place, grow in place when the pages after are free, else move (MREMAP_MAYMOVE). */
function mremap(ctx: SyscallContext, [oldAddr, oldLen, newLen, flags, newAddr]: readonly bigint[]): number {
  const fl = int(flags);
  const old = size(oldAddr);
  if ((fl & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) return EINVAL;
  if ((fl & MREMAP_FIXED) !== 0 && (fl & MREMAP_MAYMOVE) === 0) return EINVAL;
  if ((fl & MREMAP_DONTUNMAP) !== 0) return EINVAL; // not supported here (Linux: only for private anonymous)
  if ((BigInt.asUintN(64, oldAddr) & 0xfffn) !== 0n) return EINVAL;
  const oldBytes = pageUp(Math.max(0, size(oldLen)));
  const n = size(newLen);
  if (n <= 0) return EINVAL;
  const newBytes = pageUp(n);
  if (oldBytes === 0 || size(oldLen) < 0) return EINVAL; // duplicating a shared mapping (old_len 0) is not supported
  if (old < 0) return -Errno.EFAULT; // no area holds an address past user space
  return ctx.proc.mm.withAddrSpace((as) => {
    const area = as.findArea(old);
    if (area === undefined || area.end < old + Math.min(oldBytes, newBytes)) return -Errno.EFAULT;
    try {
      if ((fl & MREMAP_FIXED) !== 0) {
        const to = size(newAddr);
        if (to < 0 || to % PAGE_SIZE_4K !== 0) return EINVAL;
        if (to < old + oldBytes && old < to + newBytes) return EINVAL;
        if (to < as.base || to + newBytes > as.end) return ENOMEM;
        as.unmap(to, newBytes);
        if (newBytes < oldBytes) as.unmap(old + newBytes, oldBytes - newBytes);
        const keep = Math.min(oldBytes, newBytes);
        if (area.end < old + keep) return -Errno.EFAULT;
        as.move(old, keep, to);
        if (newBytes > keep) as.grow(to + keep, to + newBytes);
        return to;
      }
      if (newBytes <= oldBytes) {
        if (newBytes < oldBytes) as.unmap(old + newBytes, oldBytes - newBytes);
        return old;
      }
      if (area.end < old + oldBytes) return -Errno.EFAULT;
      const growsInPlace =
        area.end === old + oldBytes &&
        as.findFreeArea(
          old + oldBytes,
          newBytes - oldBytes,
          AddrRange.new(va(old + oldBytes), va(as.end)),
        ) ===
          old + oldBytes;
      if (!mayGrow(ctx, as, newBytes - oldBytes, (area.flags & MappingFlags.WRITE) !== 0)) return ENOMEM;
      if (growsInPlace) {
        as.grow(old + oldBytes, old + newBytes);
        return old;
      }
      if ((fl & MREMAP_MAYMOVE) === 0) return ENOMEM;
      const to = as.findFreeArea(0x10_0000_0000, newBytes, AddrRange.new(va(as.base), va(MMAP_TOP)));
      if (to === undefined) return ENOMEM;
      as.move(old, oldBytes, to);
      as.grow(to + oldBytes, to + newBytes);
      return to;
    } catch (e) {
      if (isLinuxError(e)) return -e.errno;
      throw e;
    }
  });
}

const MADV_NORMAL = 0;
const MADV_DONTNEED = 4;
const MADV_FREE = 8;
const MADV_REMOVE = 9;
/** Advice Linux takes and that changes nothing we keep (readahead, hugepages, fork and dump hints). */
const MADV_HINTS = new Set([
  0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 100, 101,
]);

function madvise(ctx: SyscallContext, [addr, length, advice]: readonly bigint[]): number {
  const adv = int(advice);
  if (adv !== MADV_DONTNEED && adv !== MADV_FREE && adv !== MADV_REMOVE && !MADV_HINTS.has(adv))
    return EINVAL;
  const r = rangeArg(addr, length);
  if (r === 'misaligned' || r === 'wraps') return EINVAL;
  if (r === 'empty') return 0;
  if (r === 'outside') return ENOMEM;
  const [start, end] = r;
  return ctx.proc.mm.withAddrSpace((as) => {
    if (start < as.base || end > as.end) return ENOMEM;
    if (!as.canAccessRange(start, end - start, 0)) return ENOMEM;
    if (adv === MADV_DONTNEED || adv === MADV_FREE) as.discard(start, end - start);
    void MADV_NORMAL;
    return 0;
  });
}

const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;

/** msync: shared file mappings write their pages back (memory files hold them already). */
function msync(ctx: SyscallContext, [addr, length, flags]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) !== 0) return EINVAL;
  const r = rangeArg(addr, length);
  if (r === 'misaligned') return EINVAL;
  if ((fl & MS_ASYNC) !== 0 && (fl & MS_SYNC) !== 0) return EINVAL;
  if (r === 'empty') return 0;
  if (r === 'wraps' || r === 'outside') return ENOMEM;
  const [start, end] = r;
  return ctx.proc.mm.withAddrSpace((as) => {
    if (start < as.base || end > as.end || !as.canAccessRange(start, end - start, 0)) return ENOMEM;
    for (const f of ctx.proc.sharedWritable) f.sync();
    return 0;
  });
}

export const memoryCalls: SyscallEntry[] = [
  { nr: 216, name: 'mremap', args: ['ptr', 'size', 'size', 'hex', 'ptr'], handler: mremap },
  { nr: 227, name: 'msync', args: ['ptr', 'size', 'hex'], handler: msync },
  { nr: 233, name: 'madvise', args: ['ptr', 'size', 'int'], handler: madvise },
  { nr: 214, name: 'brk', args: ['ptr'], handler: brk },
  { nr: 215, name: 'munmap', args: ['ptr', 'size'], handler: munmap },
  { nr: 222, name: 'mmap', args: ['ptr', 'size', 'prot', 'mapflags', 'fd', 'size'], handler: mmap },
  { nr: 226, name: 'mprotect', args: ['ptr', 'size', 'prot'], handler: mprotect },
];
