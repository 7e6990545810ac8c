/**
 * The file calls this first kernel serves: the standard streams (fd 0, 1,
 * 2, the host's), `/proc/self/exe` for readlinkat, fstat of the streams.
 * The VFS (files, directories, devices, /proc) comes next.
 */
import { Errno, isLinuxError } from '../../errno/index.js';
import {
  copyFromIovec,
  copyFromUser,
  copyToUser,
  i32,
  i64,
  importIovec,
  readUserPathString,
  struct,
  u32,
  u64,
  writeVal,
} from '../../uptr/index.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EBADF, EFAULT, EINVAL, ENOENT, ENOTTY, int, MAX_RW_COUNT, size } from './util.js';

const AT_EMPTY_PATH = 0x1000;
const AT_FDCWD = -100;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/** riscv64's struct stat (asm-generic/stat.h). */
export const STAT = struct('stat', [
  ['st_dev', u64],
  ['st_ino', u64],
  ['st_mode', u32],
  ['st_nlink', u32],
  ['st_uid', u32],
  ['st_gid', u32],
  ['st_rdev', u64],
  ['pad1', u64],
  ['st_size', i64],
  ['st_blksize', i32],
  ['pad2', i32],
  ['st_blocks', i64],
  ['st_atime', i64],
  ['st_atime_nsec', u64],
  ['st_mtime', i64],
  ['st_mtime_nsec', u64],
  ['st_ctime', i64],
  ['st_ctime_nsec', u64],
  ['unused4', u32],
  ['unused5', u32],
] as const);

function isStream(ctx: SyscallContext, fd: number): boolean {
  return fd >= 0 && fd <= 2 && !ctx.proc.closed.has(fd);
}

/** Linux's access_ok on the whole count, before any clamping: a range past the top of user space is EFAULT. */
function accessOk(ctx: SyscallContext, buf: bigint, count: bigint): boolean {
  const end = BigInt(ctx.proc.aspace.end);
  return count === 0n || (buf >= 0n && buf < end && count <= end - buf);
}

function write(ctx: SyscallContext, [fd, buf, count]: readonly bigint[]): number {
  const f = int(fd);
  if (!isStream(ctx, f) || f === 0) return EBADF;
  if (!accessOk(ctx, buf, count)) return EFAULT;
  const n = Math.min(size(count) < 0 ? MAX_RW_COUNT : size(count), MAX_RW_COUNT);
  let done = 0;
  const chunk = new Uint8Array(Math.min(n, 65536));
  while (done < n) {
    const want = Math.min(chunk.length, n - done);
    const part = chunk.subarray(0, want);
    const left = copyFromUser(ctx.proc.mm, part, buf + BigInt(done));
    const got = want - left;
    if (got > 0) ctx.kernel.host.write(f as 1 | 2, part.subarray(0, got));
    done += got;
    if (left > 0) return done > 0 ? done : EFAULT;
  }
  return done;
}

function read(ctx: SyscallContext, [fd, buf, count]: readonly bigint[]): number {
  const f = int(fd);
  if (!isStream(ctx, f) || f !== 0) return EBADF;
  if (!accessOk(ctx, buf, count)) return EFAULT;
  const n = Math.min(size(count) < 0 ? MAX_RW_COUNT : size(count), MAX_RW_COUNT);
  if (n === 0) return 0;
  const data = ctx.kernel.host.readStdin(Math.min(n, 65536));
  const left = copyToUser(ctx.proc.mm, buf, data);
  if (left === data.length && data.length > 0) return EFAULT;
  return data.length - left;
}

function writev(ctx: SyscallContext, [fd, iov, cnt]: readonly bigint[]): number {
  const f = int(fd);
  if (!isStream(ctx, f) || f === 0) return EBADF;
  const imported = importIovec(ctx.proc.mm, iov, cnt);
  const bytes = new Uint8Array(Math.min(imported.total, 1 << 24));
  const got = copyFromIovec(ctx.proc.mm, imported, bytes);
  if (got > 0) ctx.kernel.host.write(f as 1 | 2, bytes.subarray(0, got));
  return got === 0 && imported.total > 0 ? EFAULT : got;
}

function close(ctx: SyscallContext, [fd]: readonly bigint[]): number {
  const f = int(fd);
  if (!isStream(ctx, f)) return EBADF;
  ctx.proc.closed.add(f);
  return 0;
}

function fstatOf(ctx: SyscallContext, fd: number, buf: bigint): number {
  if (!isStream(ctx, fd)) return EBADF;
  const tty = ctx.kernel.host.isatty(fd);
  writeVal(ctx.proc.mm, buf, STAT, {
    st_dev: tty ? 0x17n : 0xcn,
    st_ino: BigInt(3 + fd),
    st_mode: tty ? S_IFCHR | 0o620 : S_IFIFO | 0o600,
    st_nlink: 1,
    st_uid: ctx.proc.creds.uid,
    st_gid: ctx.proc.creds.gid,
    st_rdev: tty ? 0x8800n : 0n,
    pad1: 0n,
    st_size: 0n,
    st_blksize: 4096,
    pad2: 0,
    st_blocks: 0n,
    st_atime: 0n,
    st_atime_nsec: 0n,
    st_mtime: 0n,
    st_mtime_nsec: 0n,
    st_ctime: 0n,
    st_ctime_nsec: 0n,
    unused4: 0,
    unused5: 0,
  });
  return 0;
}

/** The stat of the working directory (there is no file system yet: an empty root). */
function statDirectory(ctx: SyscallContext, buf: bigint): number {
  writeVal(ctx.proc.mm, buf, STAT, {
    st_dev: 0x1n,
    st_ino: 2n,
    st_mode: S_IFDIR | 0o755,
    st_nlink: 2,
    st_uid: 0,
    st_gid: 0,
    st_rdev: 0n,
    pad1: 0n,
    st_size: 4096n,
    st_blksize: 4096,
    pad2: 0,
    st_blocks: 8n,
    st_atime: 0n,
    st_atime_nsec: 0n,
    st_mtime: 0n,
    st_mtime_nsec: 0n,
    st_ctime: 0n,
    st_ctime_nsec: 0n,
    unused4: 0,
    unused5: 0,
  });
  return 0;
}

function newfstatat(ctx: SyscallContext, [dirfd, path, buf, flags]: readonly bigint[]): number {
  const p = readUserPathOrEmpty(ctx, path, int(flags));
  if (typeof p === 'number') return p;
  if (p === '' && int(dirfd) === AT_FDCWD) return statDirectory(ctx, buf); // the working directory
  if (p === '') return fstatOf(ctx, int(dirfd), buf);
  return ENOENT; // no file system yet
}

/** The path argument of an *at call: '' allowed with AT_EMPTY_PATH; an errno when unreadable. */
function readUserPathOrEmpty(ctx: SyscallContext, path: bigint, flags: number): string | number {
  try {
    return readUserPathString(ctx.proc.mm, path);
  } catch (e) {
    if (isLinuxError(e, Errno.ENOENT) && (flags & AT_EMPTY_PATH) !== 0) return '';
    throw e;
  }
}

function readlinkat(ctx: SyscallContext, [, path, buf, bufsiz]: readonly bigint[]): number {
  const p = readUserPathString(ctx.proc.mm, path);
  const n = int(bufsiz);
  if (n <= 0) return EINVAL;
  if (p !== '/proc/self/exe') return ENOENT;
  const target = new TextEncoder().encode(ctx.proc.exe);
  const part = target.subarray(0, Math.min(n, target.length));
  const left = copyToUser(ctx.proc.mm, buf, part);
  return left > 0 ? EFAULT : part.length;
}

const TCGETS = 0x5401;
const TIOCGWINSZ = 0x5413;

function ioctl(ctx: SyscallContext, [fd, request, arg]: readonly bigint[]): number {
  const f = int(fd);
  if (!isStream(ctx, f)) return EBADF;
  const req = Number(BigInt.asUintN(32, request));
  if (!ctx.kernel.host.isatty(f)) return ENOTTY;
  if (req === TIOCGWINSZ) {
    const ws = new Uint8Array(8);
    new DataView(ws.buffer).setUint16(0, 24, true);
    new DataView(ws.buffer).setUint16(2, 80, true);
    return copyToUser(ctx.proc.mm, arg, ws) > 0 ? EFAULT : 0;
  }
  if (req === TCGETS) {
    // struct termios: iflag, oflag, cflag, lflag (u32), c_line, c_cc[19]: a cooked terminal.
    const t = new Uint8Array(36);
    const v = new DataView(t.buffer);
    v.setUint32(0, 0o2400, true); // ICRNL | IXON
    v.setUint32(4, 0o5, true); // OPOST | ONLCR
    v.setUint32(8, 0o277, true); // B38400 | CS8 | CREAD
    v.setUint32(12, 0o105073, true); // ISIG | ICANON | ECHO... (as a Linux tty has)
    return copyToUser(ctx.proc.mm, arg, t) > 0 ? EFAULT : 0;
  }
  return ENOTTY;
}

export const fileCalls: SyscallEntry[] = [
  { nr: 29, name: 'ioctl', args: ['fd', 'hex', 'ptr'], handler: ioctl },
  {
    nr: 56,
    name: 'openat',
    args: ['fd', 'str', 'hex', 'hex'],
    // The path is read first (EFAULT, ENAMETOOLONG, ENOENT for ""); there is no file system yet.
    handler: (ctx, [, path]) => {
      readUserPathString(ctx.proc.mm, path);
      return ENOENT;
    },
  },
  { nr: 57, name: 'close', args: ['fd'], handler: close },
  { nr: 63, name: 'read', args: ['fd', 'ptr', 'size'], handler: read },
  { nr: 64, name: 'write', args: ['fd', 'buf', 'size'], handler: write },
  { nr: 66, name: 'writev', args: ['fd', 'ptr', 'int'], handler: writev },
  { nr: 78, name: 'readlinkat', args: ['fd', 'str', 'ptr', 'size'], handler: readlinkat },
  { nr: 79, name: 'newfstatat', args: ['fd', 'str', 'ptr', 'atflags'], handler: newfstatat },
  { nr: 80, name: 'fstat', args: ['fd', 'ptr'], handler: (ctx, [fd, buf]) => fstatOf(ctx, int(fd), buf) },
];
