/**
 * The read and write family (Linux's fs/read_write.c, open.c, sync.c,
 * splice.c): read, write, the vectored and positioned forms, lseek,
 * sendfile, copy_file_range, ftruncate, fsync, fdatasync and fadvise64.
 * Bytes move through an iterator straight between user pages and the
 * file's pages; a fault part way answers the bytes moved before it.
 */
import { Errno, LinuxError } from '../../errno/index.js';
import { IovIter, importIovec, importUbuf, readVal, i64 as s64, writeVal } from '../../uptr/index.js';
import {
  BLOCKED,
  DirFile,
  MAX_FILE_SIZE,
  O_APPEND,
  type OpenFile,
  RegularFile,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  SnapshotFile,
} from '../fs/file.js';
import { type IoIter, KernelIter, RegularInode } from '../fs/inode.js';
import { PipeReader, PipeWriter } from '../fs/pipe.js';
import type { Wait } from '../task.js';
import { fileOf } from './fsutil.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EINVAL, int, MAX_RW_COUNT } from './util.js';

const SIGPIPE = 13;

/** A stream that has nothing for a blocking caller: the task waits on the file's queue (or nothing can wake it). */
export function waitOnFile(ctx: SyscallContext, f: OpenFile, what: string): number {
  const q = f.pollQueue();
  return ctx.kernel.sleep(ctx.task, { queues: q === undefined ? [] : [q], what: `${what} ${f.path}` });
}

/** A read; a stream with nothing yet parks the task, and the read runs again when the stream changes. */
function readFrom(ctx: SyscallContext, f: OpenFile, iter: IoIter, pos?: number): number {
  if (!f.readable) return -Errno.EBADF;
  if (f instanceof DirFile) return -Errno.EISDIR;
  const n = f.read(iter, pos);
  if (n === 0 && iter.faulted) return -Errno.EFAULT;
  return n === BLOCKED ? waitOnFile(ctx, f, 'read from') : n;
}

/**
 * A write. A blocking write to a stream that takes only part (a full pipe)
 * waits for room and goes on until all is written, as Linux's pipe_write:
 * a signal ends it with what went in so far (EINTR when nothing did).
 */
function writeTo(ctx: SyscallContext, f: OpenFile, iter: IoIter, pos?: number): number {
  if (!f.writable) return -Errno.EBADF;
  const n = f.write(iter, pos);
  if (n === 0 && iter.faulted) return -Errno.EFAULT;
  if (n === -Errno.EPIPE) ctx.kernel.signal(ctx.proc, SIGPIPE);
  const queue = f.pollQueue();
  if (
    queue !== undefined &&
    !f.nonblocking &&
    (n === BLOCKED || (n > 0 && iter.count > 0 && !iter.faulted))
  ) {
    let done = n === BLOCKED ? 0 : n;
    const wait: Wait = {
      queues: [queue],
      what: `write to ${f.path}`,
      retry: () => {
        const m = f.write(iter, pos);
        if (m === -Errno.EPIPE) ctx.kernel.signal(ctx.proc, SIGPIPE);
        if (m < 0 && m !== BLOCKED) return done > 0 ? done : m;
        if (m > 0) done += m;
        if (iter.count === 0 || iter.faulted) return done;
        return ctx.kernel.sleep(ctx.task, wait);
      },
      interrupted: () => (done > 0 ? done : -Errno.EINTR),
    };
    return ctx.kernel.sleep(ctx.task, wait);
  }
  return n;
}

function read(ctx: SyscallContext, [fd, buf, count]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  if (!f.readable) return -Errno.EBADF;
  if (f instanceof DirFile) return -Errno.EISDIR;
  return readFrom(ctx, f, userBuf(ctx, buf, count));
}

function write(ctx: SyscallContext, [fd, buf, count]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  if (!f.writable) return -Errno.EBADF;
  return writeTo(ctx, f, userBuf(ctx, buf, count));
}

/** vfs_read/vfs_write's access_ok on the count as given (SIZE_MAX is EFAULT), then the clamp to MAX_RW_COUNT. */
function userBuf(ctx: SyscallContext, buf: bigint, count: bigint): IovIter {
  const end = BigInt(ctx.proc.aspace.end);
  const c = BigInt.asUintN(64, count);
  if (c !== 0n && (buf < 0n || buf > end || c > end - buf))
    throw new LinuxError(Errno.EFAULT, 'buffer past user space');
  return new IovIter(ctx.proc.mm, importUbuf(ctx.proc.mm, buf, clampCount(count)));
}

/** A size_t count: anything past MAX_RW_COUNT (including "negative" ones) is clamped, as rw_verify_area does. */
function clampCount(count: bigint): number {
  const c = BigInt.asUintN(64, count);
  return c > BigInt(MAX_RW_COUNT) ? MAX_RW_COUNT : Number(c);
}

function readv(ctx: SyscallContext, [fd, iov, cnt]: readonly bigint[], pos?: number): number {
  const f = fileOf(ctx, fd);
  if (!f.readable) return -Errno.EBADF;
  if (pos !== undefined && !f.seekable) return -Errno.ESPIPE;
  return readFrom(ctx, f, new IovIter(ctx.proc.mm, importIovec(ctx.proc.mm, iov, cnt)), pos);
}

function writev(ctx: SyscallContext, [fd, iov, cnt]: readonly bigint[], pos?: number): number {
  const f = fileOf(ctx, fd);
  if (!f.writable) return -Errno.EBADF;
  if (pos !== undefined && !f.seekable) return -Errno.ESPIPE;
  return writeTo(ctx, f, new IovIter(ctx.proc.mm, importIovec(ctx.proc.mm, iov, cnt)), pos);
}

/** A loff_t argument: negative is EINVAL (answered as undefined). */
function offsetArg(v: bigint): number | undefined {
  const s = BigInt.asIntN(64, v);
  if (s < 0n) return undefined;
  return s > BigInt(MAX_FILE_SIZE) ? MAX_FILE_SIZE : Number(s);
}

/** A position and count whose end passes 2^63 - 1 (Linux's rw_verify_area: EINVAL). */
const overflows = (off: bigint, count: bigint) =>
  BigInt.asIntN(64, off) + BigInt.asUintN(64, count > BigInt(MAX_RW_COUNT) ? BigInt(MAX_RW_COUNT) : count) >
  2n ** 63n - 1n;

function pread64(ctx: SyscallContext, [fd, buf, count, off]: readonly bigint[]): number {
  const pos = offsetArg(off);
  if (pos === undefined) return EINVAL;
  const f = fileOf(ctx, fd);
  if (!f.seekable) return -Errno.ESPIPE;
  if (!f.readable) return -Errno.EBADF;
  const iter = userBuf(ctx, buf, count); // access_ok (EFAULT) before rw_verify_area (EINVAL)
  if (overflows(off, count)) return EINVAL;
  return readFrom(ctx, f, iter, pos);
}

function pwrite64(ctx: SyscallContext, [fd, buf, count, off]: readonly bigint[]): number {
  const pos = offsetArg(off);
  if (pos === undefined) return EINVAL;
  const f = fileOf(ctx, fd);
  if (!f.seekable) return -Errno.ESPIPE;
  if (!f.writable) return -Errno.EBADF;
  const iter = userBuf(ctx, buf, count);
  if (overflows(off, count)) return EINVAL;
  return writeTo(ctx, f, iter, pos);
}

function lseek(ctx: SyscallContext, [fd, offset, whence]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  const w = Number(BigInt.asUintN(32, whence));
  if (w > SEEK_HOLE) return EINVAL;
  if (!f.seekable) return -Errno.ESPIPE;
  const off = Number(BigInt.asIntN(64, offset));
  if (f instanceof SnapshotFile || f instanceof DirFile) {
    // /proc files (seq_lseek) and directories (dcache_dir_lseek): SEEK_SET and SEEK_CUR only.
    const next = w === SEEK_SET ? off : w === SEEK_CUR ? f.pos + off : -1;
    if (w > SEEK_CUR || !Number.isSafeInteger(next) || next < 0) return EINVAL;
    f.pos = next;
    return next;
  }
  if (!(f instanceof RegularFile) && !(f.inode instanceof RegularInode)) {
    // The memory devices: lseek succeeds and the position stays 0 (Linux's null_lseek).
    f.pos = 0;
    return 0;
  }
  const size = f.inode.size;
  let next: number;
  if (w === SEEK_SET) next = off;
  else if (w === SEEK_CUR) next = f.pos + off;
  else if (w === SEEK_END) next = size + off;
  else {
    // One data region from 0 to the size: SEEK_DATA answers the offset, SEEK_HOLE the end.
    if (off < 0 || off >= size) return -Errno.ENXIO;
    next = w === SEEK_DATA ? off : size;
  }
  if (!Number.isSafeInteger(next) || next < 0) return EINVAL;
  f.pos = next;
  return next;
}

/** sendfile and copy_file_range move file bytes through a kernel buffer in pieces of this size. */
const PIECE = 1 << 16;

function copyBetween(
  ctx: SyscallContext,
  src: OpenFile,
  dst: OpenFile,
  len: number,
  inPos?: number,
  outPos?: number,
) {
  let done = 0;
  const buf = new Uint8Array(Math.min(PIECE, Math.max(len, 1)));
  while (done < len) {
    const piece = new KernelIter(buf.subarray(0, Math.min(buf.length, len - done)));
    const got = src.read(piece, inPos === undefined ? undefined : inPos + done);
    if (got === BLOCKED) return done > 0 ? done : waitOnFile(ctx, src, 'sendfile from');
    if (got < 0) return done > 0 ? done : got;
    if (got === 0) break;
    const put = dst.write(new KernelIter(piece.done), outPos === undefined ? undefined : outPos + done);
    // A full output pipe: what was read cannot be put back, so the call answers what went through.
    if (put === BLOCKED) return done > 0 ? done : -Errno.EAGAIN;
    if (put < 0) {
      if (put === -Errno.EPIPE) ctx.kernel.signal(ctx.proc, SIGPIPE);
      return done > 0 ? done : put;
    }
    done += put;
    if (put < got) break;
  }
  return done;
}

function sendfile(ctx: SyscallContext, [outFd, inFd, offsetPtr, count]: readonly bigint[]): number {
  const input = fileOf(ctx, inFd);
  const output = fileOf(ctx, outFd);
  if (!input.readable || !output.writable) return -Errno.EBADF;
  if ((output.flags & O_APPEND) !== 0) return EINVAL;
  if (!(input.inode instanceof RegularInode) && !(input instanceof PipeReader) && !input.seekable)
    return EINVAL;
  const len = clampCount(count);
  if (offsetPtr === 0n) {
    // The input's own position moves (RegularFile.read advances it when no position is given).
    return copyBetween(ctx, input, output, len);
  }
  if (!input.seekable) return -Errno.ESPIPE;
  const start = readVal(ctx.proc.mm, offsetPtr, s64);
  if (start < 0n || overflows(start, count)) return EINVAL;
  const n = copyBetween(ctx, input, output, len, Number(start));
  if (n > 0) writeVal(ctx.proc.mm, offsetPtr, s64, start + BigInt(n));
  return n;
}

function copyFileRange(
  ctx: SyscallContext,
  [fdIn, offIn, fdOut, offOut, len, flags]: readonly bigint[],
): number {
  if (flags !== 0n) return EINVAL;
  const input = fileOf(ctx, fdIn);
  const output = fileOf(ctx, fdOut);
  if (!input.readable || !output.writable || (output.flags & O_APPEND) !== 0) return -Errno.EBADF;
  if (!(input.inode instanceof RegularInode) || !(output.inode instanceof RegularInode)) return EINVAL;
  let inPos = input.pos;
  let outPos = output.pos;
  if (offIn !== 0n) {
    const v = readVal(ctx.proc.mm, offIn, s64);
    if (v < 0n) return EINVAL;
    inPos = Number(v);
  }
  if (offOut !== 0n) {
    const v = readVal(ctx.proc.mm, offOut, s64);
    if (v < 0n) return EINVAL;
    outPos = Number(v);
  }
  const n0 = clampCount(len);
  // Overlapping ranges of one file are EINVAL.
  if (input.inode === output.inode && inPos < outPos + n0 && outPos < inPos + n0) return EINVAL;
  const n = copyBetween(ctx, input, output, n0, inPos, outPos);
  if (n > 0) {
    if (offIn !== 0n) writeVal(ctx.proc.mm, offIn, s64, BigInt(inPos + n));
    else input.pos = inPos + n;
    if (offOut !== 0n) writeVal(ctx.proc.mm, offOut, s64, BigInt(outPos + n));
    else output.pos = outPos + n;
  }
  return n;
}

function ftruncate(ctx: SyscallContext, [fd, length]: readonly bigint[]): number {
  const len = BigInt.asIntN(64, length);
  if (len < 0n) return EINVAL;
  const f = fileOf(ctx, fd);
  if (!(f.inode instanceof RegularInode) || !f.writable) return EINVAL;
  if (len > BigInt(MAX_FILE_SIZE)) return -Errno.EFBIG;
  if (f.inode.sb.readOnly) return -Errno.EROFS;
  f.inode.truncate(Number(len));
  ctx.kernel.truncateMappings(f.inode, Number(len));
  return 0;
}

function fsync(ctx: SyscallContext, [fd]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  if (f instanceof PipeReader || f instanceof PipeWriter) return EINVAL;
  if (f.inode instanceof RegularInode) f.inode.sync();
  else if (!(f instanceof DirFile)) return EINVAL;
  return 0;
}

function fadvise64(ctx: SyscallContext, [fd, , len, advice]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  if (f instanceof PipeReader || f instanceof PipeWriter) return -Errno.ESPIPE;
  if (BigInt.asIntN(64, len) < 0n) return EINVAL;
  const a = int(advice);
  if (a < 0 || a > 5) return EINVAL;
  return 0;
}

/** preadv/pwritev's position comes in two halves; on a 64-bit kernel the low one holds it all. */
function posArg(lo: bigint): number | undefined {
  return offsetArg(lo);
}

export const rwCalls: SyscallEntry[] = [
  { nr: 46, name: 'ftruncate', args: ['fd', 'long'], handler: ftruncate },
  { nr: 62, name: 'lseek', args: ['fd', 'long', 'whence'], handler: lseek },
  { nr: 63, name: 'read', args: ['fd', 'outbuf', 'size'], handler: read },
  { nr: 64, name: 'write', args: ['fd', 'buf', 'size'], handler: write },
  { nr: 65, name: 'readv', args: ['fd', 'ptr', 'int'], handler: (ctx, a) => readv(ctx, a) },
  { nr: 66, name: 'writev', args: ['fd', 'iovec', 'int'], handler: (ctx, a) => writev(ctx, a) },
  { nr: 67, name: 'pread64', args: ['fd', 'outbuf', 'size', 'long'], handler: pread64 },
  { nr: 68, name: 'pwrite64', args: ['fd', 'buf', 'size', 'long'], handler: pwrite64 },
  {
    nr: 69,
    name: 'preadv',
    args: ['fd', 'ptr', 'int', 'int', 'int'],
    handler: (ctx, a) => {
      const pos = posArg(a[3]);
      return pos === undefined ? EINVAL : readv(ctx, a, pos);
    },
  },
  {
    nr: 70,
    name: 'pwritev',
    args: ['fd', 'iovec', 'int', 'int', 'int'],
    handler: (ctx, a) => {
      const pos = posArg(a[3]);
      return pos === undefined ? EINVAL : writev(ctx, a, pos);
    },
  },
  { nr: 71, name: 'sendfile', args: ['fd', 'fd', 'ptr', 'size'], handler: sendfile },
  { nr: 82, name: 'fsync', args: ['fd'], handler: fsync },
  { nr: 83, name: 'fdatasync', args: ['fd'], handler: fsync },
  { nr: 223, name: 'fadvise64', args: ['fd', 'int', 'int', 'int'], handler: fadvise64 },
  {
    nr: 285,
    name: 'copy_file_range',
    args: ['fd', 'ptr', 'fd', 'ptr', 'size', 'hex'],
    handler: copyFileRange,
  },
];
