/**
 * iovec import and scatter / gather copies (Linux's `import_iovec` and
 * `iov_iter`).
 *
 * The whole array is copied into the kernel once and validated before any
 * data moves: a count above {@link UIO_MAXIOV} or a negative length is
 * `EINVAL`; a segment that does not lie inside the user address space
 * (Linux's `access_ok`) is `EFAULT`; lengths are clamped so the total never
 * passes {@link MAX_RW_COUNT}. Whether each segment is actually mapped is
 * found out by the copy, which then reports a short count, as Linux does.
 */
import { hex, toSafeIndex } from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import { copyInPrefix, copyOutPrefix, efault } from './check.js';
import { copyFromUser, USER_READ, USER_WRITE } from './copy.js';
import type { AddrSpaceProvider } from './provider.js';
import { userAccessCounts } from './stats.js';

/** Linux's UIO_MAXIOV. */
export const UIO_MAXIOV = 1024;
/** Linux's MAX_RW_COUNT: INT_MAX rounded down to a page. */
export const MAX_RW_COUNT = 0x7fff_f000;
/** `sizeof(struct iovec)` on a 64-bit target. */
export const IOVEC_SIZE = 16;

export interface IoSegment {
  readonly base: number;
  readonly len: number;
}

export interface ImportedIovec {
  readonly segments: readonly IoSegment[];
  /** Sum of the (clamped) lengths. */
  readonly total: number;
}

/** Reads and validates `count` iovecs at user `addr`. */
export function importIovec(
  provider: AddrSpaceProvider,
  addr: number | bigint,
  count: number | bigint,
): ImportedIovec {
  const n = toSafeIndex(count);
  userAccessCounts.iovecs++;
  if (n === undefined || n > UIO_MAXIOV) throw new LinuxError(Errno.EINVAL, `iovec count ${String(count)}`);
  if (n === 0) return { segments: [], total: 0 };
  const raw = new Uint8Array(n * IOVEC_SIZE);
  if (copyFromUser(provider, raw, addr) !== 0) throw efault(`iovec array at ${String(addr)}`);
  const view = new DataView(raw.buffer);
  const userEnd = provider.withAddrSpace((as) => as.end);
  // Linux's order: every length is checked (EINVAL) before any address (EFAULT).
  const lens: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const slen = view.getBigInt64(i * IOVEC_SIZE + 8, true);
    if (slen < 0n) throw new LinuxError(Errno.EINVAL, `iovec ${i} has a negative length`);
    lens.push(slen);
  }
  const segments: IoSegment[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const base = view.getBigUint64(i * IOVEC_SIZE, true);
    // A single segment is clamped before its range is checked (Linux's import_ubuf); several are checked whole.
    let slen = lens[i];
    if (n === 1 && slen > BigInt(MAX_RW_COUNT)) slen = BigInt(MAX_RW_COUNT);
    // access_ok: the segment lies below the end of user space (a length of 0 only needs a valid base).
    const b = toSafeIndex(base);
    if (b === undefined || b > userEnd || slen > BigInt(userEnd - b)) {
      throw efault(`iovec ${i}: ${hex(base)}+${hex(slen)} outside user space`);
    }
    let len = Number(slen);
    if (len > MAX_RW_COUNT - total) len = MAX_RW_COUNT - total;
    total += len;
    segments.push({ base: b, len });
  }
  return { segments, total };
}

/**
 * Runs `copy` over the segments in order on consecutive pieces of a kernel
 * buffer of `len` bytes; stops when the buffer is done or a piece is short.
 */
function eachSegment(
  iov: ImportedIovec,
  len: number,
  copy: (base: number, from: number, count: number) => number,
): number {
  let done = 0;
  for (const s of iov.segments) {
    if (done >= len) break;
    const want = Math.min(s.len, len - done);
    if (want === 0) continue; // an empty segment ends nothing (Linux skips it)
    const moved = copy(s.base, done, want);
    done += moved;
    if (moved < want) break;
  }
  return done;
}

/**
 * Gathers the segments' user bytes into `dst` (up to `dst.length`); answers
 * how many bytes were copied, stopping at the first unreadable byte.
 */
export function copyFromIovec(provider: AddrSpaceProvider, iov: ImportedIovec, dst: Uint8Array): number {
  return eachSegment(iov, dst.length, (base, from, count) =>
    copyInPrefix(provider, base, dst.subarray(from, from + count), USER_READ),
  );
}

/** Scatters `src` over the segments; answers how many bytes were stored, stopping at the first unwritable byte. */
export function copyToIovec(provider: AddrSpaceProvider, iov: ImportedIovec, src: Uint8Array): number {
  return eachSegment(iov, src.length, (base, from, count) =>
    copyOutPrefix(provider, base, src.subarray(from, from + count), USER_WRITE),
  );
}

/**
 * A single user buffer as an iovec (Linux's `import_ubuf`): the length is
 * clamped to {@link MAX_RW_COUNT} first, then the range must lie inside user
 * space (`access_ok`, else `EFAULT`); whether it is mapped is found out by
 * the copy.
 */
export function importUbuf(
  provider: AddrSpaceProvider,
  addr: number | bigint,
  len: number | bigint,
): ImportedIovec {
  const b = toSafeIndex(addr);
  const raw = typeof len === 'bigint' ? len : BigInt(len);
  if (raw < 0n) throw new LinuxError(Errno.EINVAL, `buffer length ${String(len)}`);
  const n = raw > BigInt(MAX_RW_COUNT) ? MAX_RW_COUNT : Number(raw);
  const userEnd = provider.withAddrSpace((as) => as.end);
  if (b === undefined || b > userEnd || n > userEnd - b) {
    throw efault(`buffer ${String(addr)}+${String(len)} outside user space`);
  }
  return { segments: [{ base: b, len: n }], total: n };
}

/**
 * A cursor over an imported iovec (Linux's `iov_iter`): files copy into or
 * out of it in pieces, straight from and to their pages, and stop at the
 * first byte that faults, so a read answers the bytes it really stored and
 * nothing past the fault is consumed.
 */
export class IovIter {
  private seg = 0;
  private off = 0;
  /** Bytes left in the iterator. */
  count: number;
  /** A copy stopped at a byte that faulted (a call that moved nothing then answers EFAULT). */
  faulted = false;

  constructor(
    readonly provider: AddrSpaceProvider,
    readonly iov: ImportedIovec,
  ) {
    this.count = iov.total;
  }

  /** Stores `src` (up to what is left) at the cursor (`copy_to_iter`); answers the bytes stored. */
  copyOut(src: Uint8Array): number {
    return this.move(src.length, (base, from, n) =>
      copyOutPrefix(this.provider, base, src.subarray(from, from + n), USER_WRITE),
    );
  }

  /** Fills `dst` (up to what is left) from the cursor (`copy_from_iter`); answers the bytes read. */
  copyIn(dst: Uint8Array): number {
    return this.move(dst.length, (base, from, n) =>
      copyInPrefix(this.provider, base, dst.subarray(from, from + n), USER_READ),
    );
  }

  private move(len: number, copy: (base: number, from: number, n: number) => number): number {
    let done = 0;
    const segs = this.iov.segments;
    while (done < len && this.seg < segs.length) {
      const s = segs[this.seg];
      const want = Math.min(s.len - this.off, len - done);
      if (want > 0) {
        const moved = copy(s.base + this.off, done, want);
        done += moved;
        this.off += moved;
        this.count -= moved;
        if (moved < want) {
          this.count = 0; // a fault ends the iterator: nothing after it moves
          this.faulted = true;
          this.seg = segs.length;
          break;
        }
      }
      if (this.off >= s.len) {
        this.seg++;
        this.off = 0;
      }
    }
    return done;
  }
}
