/**
 * The copy family of Linux, gVisor and the other kernels in
 * reference/peers-uaccess.md, on top of the same checks as the pointers.
 *
 * All of them copy between user memory and kernel-owned buffers (nothing
 * aliases user memory), accept any alignment, and treat user memory as
 * "areas whose flags include USER plus READ or WRITE": a pointer into a
 * kernel-only area of the space fails like an unmapped one. Bulk copies
 * stop at the first byte they cannot reach and report how far they got, as
 * Linux does; the typed and string helpers are all-or-nothing and throw a
 * `LinuxError`.
 */
import { ADDR_END, hex, toSafeIndex } from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import { MappingFlags as MF } from '../paging/index.js';
import {
  addrOf,
  copyInPrefix,
  copyOutPrefix,
  efault,
  fillPrefix,
  spaceIfAccessible,
  userLoad,
  userStore,
} from './check.js';
import { decodeFromBytes, type Layout } from './layout.js';
import type { AddrSpaceProvider } from './provider.js';

/** Flags a user buffer needs to be read / written by the kernel. */
export const USER_READ = MF.READ | MF.USER;
export const USER_WRITE = MF.WRITE | MF.USER;

/**
 * Copies `n` bytes (default `dst.length`) from user `src` into `dst`.
 * Answers the number of bytes NOT copied (0 on success); the part of `dst`
 * that was not copied is zeroed, so stale kernel data never passes for user
 * data (Linux's `copy_from_user`).
 */
export function copyFromUser(
  provider: AddrSpaceProvider,
  dst: Uint8Array,
  src: number | bigint,
  n: number = dst.length,
): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > dst.length)
    throw new RangeError(`copy of ${n} bytes into ${dst.length}`);
  const target = n === dst.length ? dst : dst.subarray(0, n);
  const done = copyInPrefix(provider, addrOf(src), target, USER_READ);
  if (done < n) target.fill(0, done);
  return n - done;
}

/** Copies `src` (or its first `n` bytes) to user `dst`; answers the bytes NOT copied (`copy_to_user`). */
export function copyToUser(
  provider: AddrSpaceProvider,
  dst: number | bigint,
  src: Uint8Array,
  n: number = src.length,
): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > src.length)
    throw new RangeError(`copy of ${n} bytes from ${src.length}`);
  const source = n === src.length ? src : src.subarray(0, n);
  return n - copyOutPrefix(provider, addrOf(dst), source, USER_WRITE);
}

/** Zeroes `n` user bytes at `addr`; answers the bytes NOT cleared (`clear_user`). */
export function clearUser(provider: AddrSpaceProvider, addr: number | bigint, n: number | bigint): number {
  const len = toSafeIndex(n);
  if (len === undefined) throw efault(`clear of ${String(n)} bytes`);
  return len - fillPrefix(provider, addrOf(addr), len, USER_WRITE);
}

/** Reads one `T` from user memory (any alignment); `EFAULT` unless every byte is readable. */
export function readVal<T>(provider: AddrSpaceProvider, addr: number | bigint, layout: Layout<T>): T {
  const a = addrOf(addr);
  if (a < 0 || layout.size > ADDR_END - a) throw efault(`read of ${layout.name} at ${hexOf(addr)}`);
  const aspace = spaceIfAccessible(provider, a, layout.size, USER_READ);
  if (aspace === undefined) throw efault(`read of ${layout.name} at ${hex(a)}`);
  return userLoad(aspace, a, layout);
}

/**
 * Writes one `T` to user memory (any alignment), padding zeroed. All or
 * nothing: the whole value is checked writable (and its pages made present)
 * before the first byte is stored.
 */
export function writeVal<T>(
  provider: AddrSpaceProvider,
  addr: number | bigint,
  layout: Layout<T>,
  value: T,
): void {
  const a = addrOf(addr);
  if (a < 0 || layout.size > ADDR_END - a) throw efault(`write of ${layout.name} at ${hexOf(addr)}`);
  const aspace = spaceIfAccessible(provider, a, layout.size, USER_WRITE);
  if (aspace === undefined) throw efault(`write of ${layout.name} at ${hex(a)}`);
  // All or nothing: a value over two pages has both translated for writing (faults served) before
  // its first byte is stored.
  userStore(aspace, a, layout, value);
}

/**
 * Linux's `copy_struct_from_user`: the user passes `usize` bytes of a struct
 * the kernel knows as `layout`. A shorter user struct is zero-extended; a
 * longer one is accepted only when its extra bytes are all zero (`E2BIG`
 * otherwise). `EFAULT` when the bytes cannot be read.
 */
export function copyStructFromUser<T>(
  provider: AddrSpaceProvider,
  addr: number | bigint,
  usize: number | bigint,
  layout: Layout<T>,
): T {
  const size = toSafeIndex(usize);
  if (size === undefined) throw efault(`struct size ${String(usize)}`);
  const a = addrOf(addr);
  if (size > 0 && (a < 0 || size > ADDR_END - a)) throw efault(`struct at ${hexOf(addr)}`);
  const ksize = layout.size;
  if (size > ksize) {
    // Linux's order: first the tail the kernel does not know, which must be zero (read in
    // bounded chunks), then the part it knows.
    const chunk = new Uint8Array(Math.min(size - ksize, 4096));
    for (let off = 0; off < size - ksize; off += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - ksize - off));
      // check_zeroed_user: the first non-zero byte wins (E2BIG) when it comes before the fault.
      const got = copyInPrefix(provider, a + ksize + off, part, USER_READ);
      if (part.subarray(0, got).some((b) => b !== 0)) {
        throw new LinuxError(Errno.E2BIG, 'unknown struct fields are not zero');
      }
      if (got !== part.length) throw efault('struct tail');
    }
  }
  const bytes = new Uint8Array(ksize);
  const take = Math.min(size, ksize);
  if (copyInPrefix(provider, a, bytes.subarray(0, take), USER_READ) !== take) {
    throw efault(`struct at ${hexOf(addr)}`);
  }
  return decodeFromBytes(layout, bytes);
}

function hexOf(v: number | bigint): string {
  return typeof v === 'bigint' || Number.isFinite(v) ? hex(v) : String(v);
}
