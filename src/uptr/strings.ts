/**
 * Bounded strings from user memory, with Linux's semantics and limits.
 *
 * Every string is read once, page by page (never past the page holding its
 * NUL, so no extra lazy page is filled), into a kernel buffer whose size the
 * kernel chose, never the user.
 */
import { ADDR_END, hex } from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import { accessUserMemory, userMmu } from './access.js';
import { addrOf, copyInPrefix, efault, KERNEL, probeSpace, toPageEnd, uaccessFixup } from './check.js';
import { USER_READ } from './copy.js';
import type { AddrSpaceProvider } from './provider.js';
import { userAccessCounts } from './stats.js';

/** Linux's PATH_MAX: a path and its NUL fit in 4096 bytes. */
export const PATH_MAX = 4096;
/** Linux's MAX_ARG_STRLEN: one argv / envp string with its NUL (32 pages). */
export const MAX_ARG_STRLEN = 32 * 4096;
/** Linux's MAX_ARG_STRINGS. */
export const MAX_ARG_STRINGS = 0x7fff_ffff;
/** The default total for argv + envp: ARG_MAX with the default 8 MiB stack limit (a quarter of it). */
export const ARG_MAX = 2 * 1024 * 1024;

// ignoreBOM: a leading U+FEFF is part of the bytes (Rust's from_utf8 keeps it); a path must not change when decoded.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Linux's `strncpy_from_user`: copies the string at user `src` into `dst`,
 * at most `count` bytes (default `dst.length`), the NUL included when it
 * fits. Answers the string's length without the NUL; when no NUL lies in the
 * first `count` bytes, answers `count` (and `dst` holds no NUL). `EFAULT`
 * when a byte before the NUL (within `count`) cannot be read.
 */
export function strncpyFromUser(
  provider: AddrSpaceProvider,
  dst: Uint8Array,
  src: number | bigint,
  count: number = dst.length,
): number {
  if (!Number.isSafeInteger(count) || count < 0 || count > dst.length) {
    throw new RangeError(`strncpy of ${count} bytes into ${dst.length}`);
  }
  const addr = addrOf(src);
  userAccessCounts.strings++;
  if (count === 0) return 0;
  if (addr < 0) throw efault(`not an address: ${String(src)}`);
  const limit = Math.min(count, ADDR_END - addr);
  const { aspace, length: ok } = probeSpace(provider, addr, limit, USER_READ);
  let done = 0;
  try {
    accessUserMemory(() => {
      const mmu = userMmu(aspace);
      while (done < ok) {
        const chunk = Math.min(ok - done, toPageEnd(addr + done));
        const part = dst.subarray(done, done + chunk);
        mmu.readBytes(addr + done, part, KERNEL);
        const nul = part.indexOf(0);
        if (nul >= 0) {
          done += nul;
          return;
        }
        done += chunk;
      }
      done = -1; // no NUL in the readable bytes
    }, aspace.machine);
  } catch (e) {
    throw uaccessFixup(e);
  }
  if (done >= 0) return done;
  if (ok < count) throw efault(`string at ${hex(addr)} runs into unreadable memory`);
  return count;
}

/**
 * A path name from user memory, as bytes without the NUL: `ENAMETOOLONG`
 * when no NUL lies in the first {@link PATH_MAX} bytes, `ENOENT` for the
 * empty path, `EFAULT` when it cannot be read (Linux's `getname`).
 */
export function readUserPath(provider: AddrSpaceProvider, addr: number | bigint): Uint8Array {
  const buf = new Uint8Array(PATH_MAX);
  const n = strncpyFromUser(provider, buf, addr, PATH_MAX);
  if (n === PATH_MAX) throw new LinuxError(Errno.ENAMETOOLONG, `path at ${String(addr)}`);
  if (n === 0) throw new LinuxError(Errno.ENOENT, 'empty path');
  return buf.slice(0, n);
}

/** {@link readUserPath} decoded as UTF-8 (`EILSEQ` when it is not valid UTF-8). */
export function readUserPathString(provider: AddrSpaceProvider, addr: number | bigint): string {
  return decodeUtf8(readUserPath(provider, addr));
}

/** Decodes UTF-8, `EILSEQ` on invalid input. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new LinuxError(Errno.EILSEQ, 'invalid UTF-8');
  }
}

export interface StringArrayLimits {
  /** Most strings (Linux MAX_ARG_STRINGS). */
  maxStrings?: number;
  /** Most bytes of one string, NUL included (Linux MAX_ARG_STRLEN). */
  maxStringLen?: number;
  /** Most bytes in all: the strings with their NULs plus one pointer per string (Linux's stack-limit / 4). */
  maxTotal?: number;
}

/** Pointers fetched per chunk when scanning a pointer array. */
const PTR_CHUNK = 512;

/**
 * Walks the pointer array at `base` in page-bounded chunks (never reading
 * past the page that holds the terminating NULL), handing each chunk's
 * pointers to `visit` until it answers false. Stores nothing itself.
 * `EFAULT` when a pointer before the NULL cannot be read.
 */
function scanPointers(
  provider: AddrSpaceProvider,
  base: number,
  visit: (view: DataView, count: number, first: number) => boolean,
): void {
  const buf = new Uint8Array(new ArrayBuffer(PTR_CHUNK * 8));
  const view = new DataView(buf.buffer);
  for (let index = 0; ; ) {
    const at = base + index * 8;
    const want = Math.min(buf.length, Math.max(8, toPageEnd(at)));
    const got = copyInPrefix(provider, at, buf.subarray(0, want), USER_READ);
    const complete = Math.floor(got / 8);
    if (complete === 0) throw efault(`pointer ${index} at ${hex(at)} cannot be read`);
    if (!visit(view, complete, index)) return;
    index += complete;
  }
}

/**
 * A NULL-terminated array of string pointers (argv / envp), each string read
 * once. A NULL array is empty (as Linux treats `execve(path, NULL, …)`).
 * In Linux's order: the pointers are counted first (`EFAULT` when one cannot
 * be read, `E2BIG` past `maxStrings`, or when the pointers alone pass
 * `maxTotal`), then the strings are copied from the last to the first:
 * `E2BIG` when one is longer than `maxStringLen` or the total passes
 * `maxTotal`, `EFAULT` when one cannot be read. Kernel memory stays bounded
 * by the limits, whatever the user's array holds. Answers the strings as
 * bytes without their NULs, in array order.
 */
export function readStringArray(
  provider: AddrSpaceProvider,
  addr: number | bigint,
  limits: StringArrayLimits = {},
): Uint8Array[] {
  const maxStrings = limits.maxStrings ?? MAX_ARG_STRINGS;
  const maxLen = limits.maxStringLen ?? MAX_ARG_STRLEN;
  const maxTotal = limits.maxTotal ?? ARG_MAX;
  const base = addrOf(addr);
  if (base === 0) return [];
  if (base < 0 || base > ADDR_END - 8) throw efault(`not an address: ${String(addr)}`);

  // Count (Linux's count()): nothing is kept but the number.
  let count = 0;
  scanPointers(provider, base, (view, n) => {
    for (let k = 0; k < n; k++) {
      if (view.getBigUint64(k * 8, true) === 0n) return false;
      if (++count > maxStrings) throw new LinuxError(Errno.E2BIG, `more than ${maxStrings} strings`);
    }
    return true;
  });
  // The pointers themselves count against the total (Linux's bprm_stack_limits).
  let total = count * 8;
  if (total > maxTotal) throw new LinuxError(Errno.E2BIG, `${count} pointers exceed ${maxTotal} bytes`);

  // Fetch the pointers (bounded now by maxTotal / 8); a pointer that became NULL meanwhile reads address 0.
  const ptrs = new BigUint64Array(count);
  if (count > 0) {
    scanPointers(provider, base, (view, n, first) => {
      const take = Math.min(n, count - first);
      for (let k = 0; k < take; k++) ptrs[first + k] = view.getBigUint64(k * 8, true);
      return first + take < count;
    });
  }
  const buf = new Uint8Array(maxLen);
  const out: Uint8Array[] = new Array(count);
  for (let i = count - 1; i >= 0; i--) {
    const n = strncpyFromUser(provider, buf, ptrs[i], maxLen);
    if (n === maxLen) throw new LinuxError(Errno.E2BIG, `string ${i} longer than ${maxLen - 1} bytes`);
    total += n + 1;
    if (total > maxTotal) throw new LinuxError(Errno.E2BIG, `strings exceed ${maxTotal} bytes`);
    out[i] = buf.slice(0, n);
  }
  return out;
}
