/**
 * brk, mmap (anonymous, private or shared; MAP_FIXED and MAP_FIXED_NOREPLACE;
 * lazy), munmap and mprotect, on the process's address space under its lock,
 * with the errno Linux gives for bad lengths, flags and ranges.
 */

import { AddrRange, PAGE_SIZE_4K, va } from '../../addr/index.js';
import { Errno, isLinuxError } from '../../errno/index.js';
import { MappingFlags } from '../../paging/index.js';
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

function mmap(
  ctx: SyscallContext,
  [addr, length, prot, flags, fd, offset]: readonly bigint[],
): bigint | number {
  const len = size(length);
  const f = int(flags);
  const pr = int(prot);
  const start = size(addr);
  if (length === 0n) return EINVAL;
  // A length no page-aligned size can hold (Linux: PAGE_ALIGN overflows) is ENOMEM.
  if (len < 0 || len > 2 ** 38) return ENOMEM;
  // MAP_SHARED, MAP_PRIVATE or MAP_SHARED_VALIDATE (both bits).
  if ((f & (MAP_SHARED | MAP_PRIVATE)) === 0) return EINVAL;
  if ((f & MAP_ANONYMOUS) === 0) {
    // File mappings come with the VFS: the standard streams cannot be mapped, any other fd is not open.
    const d = int(fd);
    return d >= 0 && d <= 2 && !ctx.proc.closed.has(d) ? -Errno.ENODEV : -Errno.EBADF;
  }
  if (size(offset) < 0 || size(offset) % PAGE_SIZE_4K !== 0) return EINVAL;
  const bytes = pageUp(len);
  if (!Number.isSafeInteger(bytes) || bytes > 2 ** 38) return ENOMEM;
  const fixed = (f & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed && (start < 0 || start % PAGE_SIZE_4K !== 0)) return EINVAL;
  return ctx.proc.mm.withAddrSpace((as) => {
    let at: number;
    if (as.areaCount >= MAX_MAP_COUNT) return ENOMEM; // Linux's vm.max_map_count
    if (fixed) {
      if (start < as.base || start + bytes > as.end) return ENOMEM;
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
      as.mapAlloc(at, bytes, protFlags(pr), false, (f & MAP_FIXED) !== 0);
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

function mprotect(ctx: SyscallContext, [addr, length, prot]: readonly bigint[]): number {
  const start = size(addr);
  const len = size(length);
  const pr = int(prot);
  if (start < 0 || start % PAGE_SIZE_4K !== 0 || len < 0) return EINVAL;
  if ((pr & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0) return EINVAL;
  if (len === 0) return 0;
  return ctx.proc.mm.withAddrSpace((as) => {
    const end = pageUp(start + len);
    if (start < as.base || end > as.end) return ENOMEM;
    // Linux: ENOMEM when any page of the range is unmapped (nothing changes then).
    if (!as.canAccessRange(start, end - start, 0)) return ENOMEM;
    as.protect(start, end - start, protFlags(pr));
    return 0;
  });
}

export const memoryCalls: SyscallEntry[] = [
  { nr: 214, name: 'brk', args: ['ptr'], handler: brk },
  { nr: 215, name: 'munmap', args: ['ptr', 'size'], handler: munmap },
  { nr: 222, name: 'mmap', args: ['ptr', 'size', 'prot', 'mapflags', 'fd', 'hex'], handler: mmap },
  { nr: 226, name: 'mprotect', args: ['ptr', 'size', 'prot'], handler: mprotect },
];
