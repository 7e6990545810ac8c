/**
 * The path calls (Linux's fs/namei.c, open.c, stat.c, readdir.c, utimes.c,
 * statfs.c, d_path.c): openat, the *at family, stat and statx, getdents64,
 * getcwd, chdir and fchdir, with Linux's order of checks and its errnos.
 * Structs are riscv64's: `struct stat` (asm-generic), `struct statx`,
 * `linux_dirent64`, `struct statfs` (64-bit words).
 */
import { Errno } from '../../errno/index.js';
import { copyToUser, i32, i64, readVal, struct, u16, u32, u64, writeVal } from '../../uptr/index.js';
import {
  DirFile,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_LARGEFILE,
  O_NOCTTY,
  O_NOFOLLOW,
  O_PATH,
  O_TMPFILE,
  O_TRUNC,
} from '../fs/file.js';
import {
  DirInode,
  fail,
  type Inode,
  isMagicLink,
  RegularInode,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  SymlinkInode,
} from '../fs/inode.js';
import { MemSuperBlock } from '../fs/memfs.js';
import { MAXSYMLINKS, MAY_EXEC, MAY_READ, MAY_WRITE, permission } from '../fs/vfs.js';
import { fileOf, inodeAt, nameiOf, openInode, pathArg, startDir } from './fsutil.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import {
  AT_EACCESS,
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_NO_AUTOMOUNT,
  AT_REMOVEDIR,
  AT_STATX_SYNC_TYPE,
  AT_SYMLINK_FOLLOW,
  AT_SYMLINK_NOFOLLOW,
  EFAULT,
  EINVAL,
  int,
} from './util.js';

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

const TS = (name: string) =>
  struct(name, [
    ['tv_sec', i64],
    ['tv_nsec', u32],
    ['reserved', i32],
  ] as const);

/** struct statx (linux/stat.h), 256 bytes. */
export const STATX = struct('statx', [
  ['stx_mask', u32],
  ['stx_blksize', u32],
  ['stx_attributes', u64],
  ['stx_nlink', u32],
  ['stx_uid', u32],
  ['stx_gid', u32],
  ['stx_mode', u16],
  ['spare0', u16],
  ['stx_ino', u64],
  ['stx_size', u64],
  ['stx_blocks', u64],
  ['stx_attributes_mask', u64],
  ['stx_atime', TS('atime')],
  ['stx_btime', TS('btime')],
  ['stx_ctime', TS('ctime')],
  ['stx_mtime', TS('mtime')],
  ['stx_rdev_major', u32],
  ['stx_rdev_minor', u32],
  ['stx_dev_major', u32],
  ['stx_dev_minor', u32],
  ['stx_mnt_id', u64],
  ['stx_dio_mem_align', u32],
  ['stx_dio_offset_align', u32],
  ['spare3a', u64],
  ['spare3b', u64],
  ['spare3c', u64],
  ['spare3d', u64],
  ['spare3e', u64],
  ['spare3f', u64],
  ['spare3g', u64],
  ['spare3h', u64],
  ['spare3i', u64],
  ['spare3j', u64],
  ['spare3k', u64],
  ['spare3l', u64],
] as const);

/** struct statfs on a 64-bit generic architecture: 120 bytes. */
export const STATFS = struct('statfs', [
  ['f_type', i64],
  ['f_bsize', i64],
  ['f_blocks', u64],
  ['f_bfree', u64],
  ['f_bavail', u64],
  ['f_files', u64],
  ['f_ffree', u64],
  ['f_fsid0', i32],
  ['f_fsid1', i32],
  ['f_namelen', i64],
  ['f_frsize', i64],
  ['f_flags', i64],
  ['f_spare0', i64],
  ['f_spare1', i64],
  ['f_spare2', i64],
  ['f_spare3', i64],
] as const);

const NS = 1_000_000_000n;
const sec = (t: bigint) => (t >= 0n ? t / NS : (t - NS + 1n) / NS);
const nsec = (t: bigint) => t - sec(t) * NS;

function statOf(inode: Inode) {
  inode.refresh();
  return {
    st_dev: BigInt(inode.sb.dev),
    st_ino: BigInt(inode.ino),
    st_mode: inode.mode,
    st_nlink: inode.nlink,
    st_uid: inode.uid,
    st_gid: inode.gid,
    st_rdev: BigInt(inode.rdev),
    pad1: 0n,
    st_size: BigInt(inode.size),
    st_blksize: 4096,
    pad2: 0,
    st_blocks: BigInt(inode.blocks),
    st_atime: sec(inode.atime),
    st_atime_nsec: nsec(inode.atime),
    st_mtime: sec(inode.mtime),
    st_mtime_nsec: nsec(inode.mtime),
    st_ctime: sec(inode.ctime),
    st_ctime_nsec: nsec(inode.ctime),
    unused4: 0,
    unused5: 0,
  };
}

function fstat(ctx: SyscallContext, [fd, buf]: readonly bigint[]): number {
  writeVal(ctx.proc.mm, buf, STAT, statOf(fileOf(ctx, fd).inode));
  return 0;
}

function newfstatat(ctx: SyscallContext, [dirfd, path, buf, flags]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) !== 0) return EINVAL;
  // Since Linux 6.11 a NULL path with AT_EMPTY_PATH names dirfd, as "" does.
  const p = path === 0n && (fl & AT_EMPTY_PATH) !== 0 ? '' : pathArg(ctx, path, fl);
  writeVal(ctx.proc.mm, buf, STAT, statOf(inodeAt(ctx, dirfd, p, (fl & AT_SYMLINK_NOFOLLOW) === 0)));
  return 0;
}

const STATX_BASIC_STATS = 0x7ff;
const STATX_RESERVED = 0x8000_0000;

function statx(ctx: SyscallContext, [dirfd, path, flags, mask, buf]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) !== 0)
    return EINVAL;
  if ((fl & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return EINVAL;
  if ((Number(BigInt.asUintN(32, mask)) & STATX_RESERVED) !== 0) return EINVAL;
  const p = path === 0n && (fl & AT_EMPTY_PATH) !== 0 ? '' : pathArg(ctx, path, fl);
  const s = statOf(inodeAt(ctx, dirfd, p, (fl & AT_SYMLINK_NOFOLLOW) === 0));
  const ts = (secs: bigint, ns: bigint) => ({ tv_sec: secs, tv_nsec: Number(ns), reserved: 0 });
  const rdev = Number(s.st_rdev);
  writeVal(ctx.proc.mm, buf, STATX, {
    stx_mask: STATX_BASIC_STATS,
    stx_blksize: 4096,
    stx_attributes: 0n,
    stx_nlink: s.st_nlink,
    stx_uid: s.st_uid,
    stx_gid: s.st_gid,
    stx_mode: s.st_mode,
    spare0: 0,
    stx_ino: s.st_ino,
    stx_size: s.st_size,
    stx_blocks: s.st_blocks,
    stx_attributes_mask: 0n,
    stx_atime: ts(s.st_atime, s.st_atime_nsec),
    stx_btime: ts(0n, 0n),
    stx_ctime: ts(s.st_ctime, s.st_ctime_nsec),
    stx_mtime: ts(s.st_mtime, s.st_mtime_nsec),
    stx_rdev_major: (rdev >>> 8) & 0xfff,
    stx_rdev_minor: (rdev & 0xff) | ((rdev >>> 12) & ~0xff),
    stx_dev_major: 0,
    stx_dev_minor: Number(s.st_dev),
    stx_mnt_id: 0n,
    stx_dio_mem_align: 0,
    stx_dio_offset_align: 0,
    spare3a: 0n,
    spare3b: 0n,
    spare3c: 0n,
    spare3d: 0n,
    spare3e: 0n,
    spare3f: 0n,
    spare3g: 0n,
    spare3h: 0n,
    spare3i: 0n,
    spare3j: 0n,
    spare3k: 0n,
    spare3l: 0n,
  });
  return 0;
}

function statfsOf(ctx: SyscallContext, inode: Inode, buf: bigint): number {
  // A memory file system has its own allowance (half the memory, as tmpfs); others report the machine's.
  const sb = inode.sb;
  const total = sb instanceof MemSuperBlock ? sb.limitPages : ctx.kernel.machine.frames.frameCount;
  const free =
    sb instanceof MemSuperBlock ? sb.limitPages - sb.usedPages : total - ctx.kernel.machine.frames.usedFrames;
  writeVal(ctx.proc.mm, buf, STATFS, {
    f_type: BigInt(inode.sb.magic),
    f_bsize: 4096n,
    f_blocks: BigInt(total),
    f_bfree: BigInt(free),
    f_bavail: BigInt(free),
    f_files: BigInt(total),
    f_ffree: BigInt(free),
    f_fsid0: 0,
    f_fsid1: 0,
    f_namelen: 255n,
    f_frsize: 4096n,
    f_flags: BigInt(0x20 | (inode.sb.readOnly ? 1 : 0)), // ST_VALID | ST_RDONLY
    f_spare0: 0n,
    f_spare1: 0n,
    f_spare2: 0n,
    f_spare3: 0n,
  });
  return 0;
}

/**
 * openat in Linux's order: the flags (O_CREAT with O_DIRECTORY is EINVAL),
 * the path, a free descriptor (EMFILE before anything is made), then the
 * lookup or the creation, the open, and O_TRUNC last, once nothing can fail.
 */
function openat(ctx: SyscallContext, [dirfd, path, flags, mode]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & O_CREAT) !== 0 && (fl & O_DIRECTORY) !== 0 && (fl & O_TMPFILE) !== O_TMPFILE) return EINVAL;
  const p = pathArg(ctx, path);
  if ((fl & O_TMPFILE) === O_TMPFILE) return -Errno.EOPNOTSUPP;
  if (!ctx.proc.fds.hasFree()) return -Errno.EMFILE;
  const start = startDir(ctx, dirfd, p);
  const inode =
    (fl & O_CREAT) !== 0 && (fl & O_PATH) === 0 ? createOrFind(ctx, start, p, fl, int(mode), 0) : undefined;
  const target = inode ?? ctx.kernel.vfs.lookup(nameiOf(ctx), start, p, (fl & O_NOFOLLOW) === 0);
  if ((fl & O_DIRECTORY) !== 0 && !(target instanceof DirInode)) return -Errno.ENOTDIR;
  // Linux opens every file with O_LARGEFILE on a 64-bit kernel; the creation flags are not kept.
  const kept = (fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_LARGEFILE;
  const file = openInode(ctx, target, kept | (fl & O_TRUNC), p.startsWith('/') ? p : joinPath(ctx, start, p));
  file.flags = kept;
  const fd = ctx.proc.fds.install(file, (fl & O_CLOEXEC) !== 0);
  if (fd < 0) {
    file.put();
    return fd;
  }
  // Linux truncates even for O_RDONLY|O_TRUNC (write permission was checked for it).
  if ((fl & O_TRUNC) !== 0 && target instanceof RegularInode && target.size > 0) {
    target.truncate(0);
    ctx.kernel.truncateMappings(target, 0);
  }
  return fd;
}

/** O_CREAT: the inode `p` names, made when absent; a dangling symlink's target is made (as Linux does). */
function createOrFind(
  ctx: SyscallContext,
  start: DirInode,
  p: string,
  fl: number,
  mode: number,
  links: number,
): Inode {
  const vfs = ctx.kernel.vfs;
  const nd = nameiOf(ctx);
  const { dir, name, trailingSlash } = vfs.lookupParent(nd, start, p);
  if (trailingSlash || name === '.' || name === '..') fail(Errno.EISDIR, `${p} names a directory`);
  const existing = dir.lookup(name);
  if (existing !== undefined) {
    if ((fl & O_EXCL) !== 0) fail(Errno.EEXIST, `${p} exists`);
    if (existing instanceof SymlinkInode && (fl & O_NOFOLLOW) === 0 && !isMagicLink(existing)) {
      if (links >= MAXSYMLINKS) fail(Errno.ELOOP, 'too many levels of symbolic links');
      return createOrFind(ctx, dir, existing.readlink(), fl, mode, links + 1);
    }
    const inode = vfs.lookup(nd, start, p, (fl & O_NOFOLLOW) === 0);
    if (inode instanceof DirInode) fail(Errno.EISDIR, `${p} is a directory`);
    return inode;
  }
  if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) fail(Errno.EACCES, `cannot create in ${p}`);
  if (dir.sb.readOnly) fail(Errno.EROFS, `${p} is on a read-only file system`);
  const perm = mode & 0o7777 & ~ctx.proc.umask;
  return dir.create(name, { kind: 'file' }, perm, ctx.proc.creds.uid, ctx.proc.creds.gid);
}

/** The absolute form of `path` from `start` (what /proc/self/fd shows; no symlink is resolved). */
function joinPath(ctx: SyscallContext, start: DirInode, path: string): string {
  const base = ctx.kernel.vfs.pathOf(start, ctx.kernel.vfs.root) ?? '';
  const parts = base.split('/').filter((x) => x !== '');
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return `/${parts.join('/')}`;
}

function mkdirat(ctx: SyscallContext, [dirfd, path, mode]: readonly bigint[]): number {
  const p = pathArg(ctx, path);
  const { dir, name } = ctx.kernel.vfs.lookupParent(nameiOf(ctx), startDir(ctx, dirfd, p), p);
  if (name === '.' || name === '..' || dir.lookup(name) !== undefined) return -Errno.EEXIST;
  if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
  if (dir.sb.readOnly) return -Errno.EROFS;
  dir.create(
    name,
    { kind: 'dir' },
    int(mode) & 0o1777 & ~ctx.proc.umask,
    ctx.proc.creds.uid,
    ctx.proc.creds.gid,
  );
  return 0;
}

function mknodat(ctx: SyscallContext, [dirfd, path, mode, dev]: readonly bigint[]): number {
  const m = int(mode);
  const type = m & S_IFMT;
  if (
    type !== 0 &&
    type !== S_IFREG &&
    type !== S_IFIFO &&
    type !== S_IFCHR &&
    type !== S_IFBLK &&
    type !== S_IFSOCK
  )
    return EINVAL;
  const p = pathArg(ctx, path);
  const { dir, name, trailingSlash } = ctx.kernel.vfs.lookupParent(nameiOf(ctx), startDir(ctx, dirfd, p), p);
  if (name === '.' || name === '..' || dir.lookup(name) !== undefined) return -Errno.EEXIST;
  if (trailingSlash) return -Errno.ENOENT;
  if ((type === S_IFCHR || type === S_IFBLK) && ctx.proc.creds.uid !== 0) return -Errno.EPERM;
  if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
  if (dir.sb.readOnly) return -Errno.EROFS;
  const perm = m & 0o7777 & ~ctx.proc.umask;
  const { uid, gid } = ctx.proc.creds;
  if (type === S_IFIFO) dir.create(name, { kind: 'fifo' }, perm, uid, gid);
  else if (type === S_IFCHR)
    dir.create(name, { kind: 'chr', rdev: Number(BigInt.asUintN(32, dev)) }, perm, uid, gid);
  else if (type === 0 || type === S_IFREG) dir.create(name, { kind: 'file' }, perm, uid, gid);
  else return -Errno.EPERM; // block devices and sockets: none here
  return 0;
}

function unlinkat(ctx: SyscallContext, [dirfd, path, flags]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~AT_REMOVEDIR) !== 0) return EINVAL;
  const p = pathArg(ctx, path);
  const vfs = ctx.kernel.vfs;
  const { dir, name, trailingSlash } = vfs.lookupParent(nameiOf(ctx), startDir(ctx, dirfd, p), p);
  if ((fl & AT_REMOVEDIR) !== 0) {
    if (name === '.') return EINVAL;
    if (name === '..') return -Errno.ENOTEMPTY;
    const node = dir.lookup(name);
    if (node === undefined) return -Errno.ENOENT;
    if (!(node instanceof DirInode)) return -Errno.ENOTDIR;
    if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
    if (dir.sb.readOnly) return -Errno.EROFS;
    if (vfs.isMountRoot(node)) return -Errno.EBUSY;
    if (!node.isEmpty) return -Errno.ENOTEMPTY;
    dir.unlink(name);
    return 0;
  }
  if (name === '.' || name === '..') return -Errno.EISDIR;
  const node = dir.lookup(name);
  if (node === undefined) return -Errno.ENOENT;
  if (node instanceof DirInode) return -Errno.EISDIR;
  if (trailingSlash) return -Errno.ENOTDIR;
  if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
  if (dir.sb.readOnly) return -Errno.EROFS;
  dir.unlink(name);
  return 0;
}

const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const RENAME_WHITEOUT = 4;

function renameat2(
  ctx: SyscallContext,
  [olddirfd, oldpath, newdirfd, newpath, flags]: readonly bigint[],
): number {
  const fl = int(flags);
  if ((fl & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) !== 0) return EINVAL;
  if ((fl & RENAME_NOREPLACE) !== 0 && (fl & RENAME_EXCHANGE) !== 0) return EINVAL;
  if ((fl & (RENAME_EXCHANGE | RENAME_WHITEOUT)) !== 0) return EINVAL; // not supported by these file systems
  const op = pathArg(ctx, oldpath);
  const np = pathArg(ctx, newpath);
  const vfs = ctx.kernel.vfs;
  const nd = nameiOf(ctx);
  const from = vfs.lookupParent(nd, startDir(ctx, olddirfd, op), op);
  const to = vfs.lookupParent(nd, startDir(ctx, newdirfd, np), np);
  if (from.name === '.' || from.name === '..' || to.name === '.' || to.name === '..') return -Errno.EBUSY;
  const src = from.dir.lookup(from.name);
  if (src === undefined) return -Errno.ENOENT;
  if (from.dir.sb !== to.dir.sb) return -Errno.EXDEV;
  if ((from.trailingSlash || to.trailingSlash) && !(src instanceof DirInode)) return -Errno.ENOTDIR;
  const dst = to.dir.lookup(to.name);
  if (dst !== undefined && (fl & RENAME_NOREPLACE) !== 0) return -Errno.EEXIST;
  if (dst === src) return 0; // two names of one inode: nothing happens
  if (src instanceof DirInode) {
    // No directory moves into itself or below it.
    for (let d: DirInode = to.dir; ; d = d.parent) {
      if (d === src) return EINVAL;
      if (d.parent === d) break;
    }
    if (vfs.isMountRoot(src)) return -Errno.EBUSY;
  }
  if (dst !== undefined) {
    if ((fl & RENAME_NOREPLACE) !== 0) return -Errno.EEXIST;
    if (src instanceof DirInode && !(dst instanceof DirInode)) return -Errno.ENOTDIR;
    if (!(src instanceof DirInode) && dst instanceof DirInode) return -Errno.EISDIR;
    if (dst instanceof DirInode && vfs.isMountRoot(dst)) return -Errno.EBUSY;
    if (dst instanceof DirInode && !dst.isEmpty) return -Errno.ENOTEMPTY;
  }
  const creds = ctx.proc.creds;
  if (!permission(from.dir, MAY_WRITE | MAY_EXEC, creds) || !permission(to.dir, MAY_WRITE | MAY_EXEC, creds))
    return -Errno.EACCES;
  if (to.dir.sb.readOnly) return -Errno.EROFS;
  to.dir.rename(from.dir, from.name, to.name);
  return 0;
}

function linkat(
  ctx: SyscallContext,
  [olddirfd, oldpath, newdirfd, newpath, flags]: readonly bigint[],
): number {
  const fl = int(flags);
  if ((fl & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
  const op = pathArg(ctx, oldpath, fl);
  const np = pathArg(ctx, newpath);
  const src = inodeAt(ctx, olddirfd, op, (fl & AT_SYMLINK_FOLLOW) !== 0);
  const { dir, name, trailingSlash } = ctx.kernel.vfs.lookupParent(
    nameiOf(ctx),
    startDir(ctx, newdirfd, np),
    np,
  );
  if (name === '.' || name === '..' || dir.lookup(name) !== undefined) return -Errno.EEXIST;
  if (trailingSlash) return -Errno.ENOENT;
  if (dir.sb !== src.sb) return -Errno.EXDEV;
  if (src instanceof DirInode) return -Errno.EPERM;
  if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
  if (dir.sb.readOnly) return -Errno.EROFS;
  if (src.nlink === 0) return -Errno.ENOENT;
  dir.link(name, src);
  return 0;
}

function symlinkat(ctx: SyscallContext, [target, newdirfd, linkpath]: readonly bigint[]): number {
  const t = pathArg(ctx, target);
  const p = pathArg(ctx, linkpath);
  const { dir, name } = ctx.kernel.vfs.lookupParent(nameiOf(ctx), startDir(ctx, newdirfd, p), p);
  if (name === '.' || name === '..' || dir.lookup(name) !== undefined) return -Errno.EEXIST;
  if (!permission(dir, MAY_WRITE | MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
  if (dir.sb.readOnly) return -Errno.EROFS;
  dir.create(name, { kind: 'symlink', target: t }, 0o777, ctx.proc.creds.uid, ctx.proc.creds.gid);
  return 0;
}

function readlinkat(ctx: SyscallContext, [dirfd, path, buf, bufsiz]: readonly bigint[]): number {
  const n = int(bufsiz);
  if (n <= 0) return EINVAL;
  const p = pathArg(ctx, path, AT_EMPTY_PATH);
  const inode = inodeAt(ctx, dirfd, p, false);
  if (!(inode instanceof SymlinkInode)) return p === '' ? -Errno.ENOENT : EINVAL;
  const target = new TextEncoder().encode(inode.readlink());
  const part = target.subarray(0, Math.min(n, target.length));
  return copyToUser(ctx.proc.mm, buf, part) > 0 ? EFAULT : part.length;
}

const F_OK = 0;

function faccessat2(ctx: SyscallContext, [dirfd, path, mode, flags]: readonly bigint[]): number {
  const m = int(mode);
  const fl = int(flags);
  if ((m & ~7) !== 0) return EINVAL;
  if ((fl & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
  const p = pathArg(ctx, path, fl);
  const inode = inodeAt(ctx, dirfd, p, (fl & AT_SYMLINK_NOFOLLOW) === 0);
  if (m === F_OK) return 0;
  const mask = (m & 4 ? MAY_READ : 0) | (m & 2 ? MAY_WRITE : 0) | (m & 1 ? MAY_EXEC : 0);
  if (!permission(inode, mask, ctx.proc.creds)) return -Errno.EACCES;
  if ((m & 2) !== 0 && inode.sb.readOnly && !(inode.type === S_IFCHR || inode.type === S_IFIFO))
    return -Errno.EROFS;
  return 0;
}

/** chmod's rule: the owner or root changes the mode; on a read-only file system nobody does. */
function chmodInode(ctx: SyscallContext, inode: Inode, mode: number): number {
  if (inode.sb.readOnly) return -Errno.EROFS;
  if (ctx.proc.creds.uid !== 0 && ctx.proc.creds.uid !== inode.uid) return -Errno.EPERM;
  inode.setMode(mode);
  return 0;
}

function chownInode(ctx: SyscallContext, inode: Inode, uid: number, gid: number): number {
  if (inode.sb.readOnly) return -Errno.EROFS;
  const c = ctx.proc.creds;
  if (
    c.uid !== 0 &&
    ((uid !== -1 && uid !== inode.uid) || c.uid !== inode.uid || (gid !== -1 && gid !== c.gid))
  )
    return -Errno.EPERM;
  inode.setOwner(uid, gid);
  return 0;
}

const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;
const TIMESPEC = struct('timespec', [
  ['tv_sec', i64],
  ['tv_nsec', i64],
] as const);

function utimensat(ctx: SyscallContext, [dirfd, path, times, flags]: readonly bigint[]): number {
  const fl = int(flags);
  let at: bigint | undefined = ctx.kernel.host.realtimeNs();
  let mt: bigint | undefined = at;
  let a: { tv_sec: bigint; tv_nsec: bigint } | undefined;
  let m: { tv_sec: bigint; tv_nsec: bigint } | undefined;
  if (times !== 0n) {
    a = readVal(ctx.proc.mm, times, TIMESPEC);
    m = readVal(ctx.proc.mm, times + 16n, TIMESPEC);
    // Both omitted: nothing to do, and Linux answers 0 before it looks at the path or the flags.
    if (a.tv_nsec === BigInt(UTIME_OMIT) && m.tv_nsec === BigInt(UTIME_OMIT)) return 0;
  }
  // A NULL path names dirfd itself (do_utimes_fd: no flags allowed); with AT_FDCWD it is a bad path.
  let inode: Inode;
  if (path === 0n && int(dirfd) !== AT_FDCWD) {
    if (fl !== 0) return EINVAL;
    inode = fileOf(ctx, dirfd).inode;
  } else {
    if ((fl & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
    inode = inodeAt(ctx, dirfd, pathArg(ctx, path, fl), (fl & AT_SYMLINK_NOFOLLOW) === 0);
  }
  if (a !== undefined && m !== undefined) {
    const pick = (t: { tv_sec: bigint; tv_nsec: bigint }): bigint | undefined | null => {
      if (t.tv_nsec === BigInt(UTIME_OMIT)) return undefined;
      if (t.tv_nsec === BigInt(UTIME_NOW)) return ctx.kernel.host.realtimeNs();
      if (t.tv_nsec < 0n || t.tv_nsec >= NS) return null;
      return t.tv_sec * NS + t.tv_nsec;
    };
    const pa = pick(a);
    const pm = pick(m);
    if (pa === null || pm === null) return EINVAL;
    at = pa;
    mt = pm;
  }
  if (inode.sb.readOnly) return -Errno.EROFS;
  inode.setTimes(at, mt);
  return 0;
}

/** struct linux_dirent64's offsets: d_ino, d_off (u64), d_reclen (u16), d_type (u8), d_name. */
export const DIRENT64 = { d_ino: 0, d_off: 8, d_reclen: 16, d_type: 18, d_name: 19 } as const;

function getdents64(ctx: SyscallContext, [fd, dirp, count]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  if (!(f instanceof DirFile)) return -Errno.ENOTDIR;
  const max = Math.min(Number(BigInt.asUintN(32, count)), 1 << 20);
  const entries = f.entries();
  const out = new Uint8Array(max);
  const view = new DataView(out.buffer);
  const enc = new TextEncoder();
  let used = 0;
  let pos = f.pos;
  while (pos < entries.length) {
    const e = entries[pos];
    const name = enc.encode(e.name);
    const reclen = (DIRENT64.d_name + name.length + 1 + 7) & ~7;
    if (used + reclen > max) break;
    view.setBigUint64(used + DIRENT64.d_ino, BigInt(e.ino), true);
    view.setBigInt64(used + DIRENT64.d_off, BigInt(pos + 1), true);
    view.setUint16(used + DIRENT64.d_reclen, reclen, true);
    out[used + DIRENT64.d_type] = e.type;
    out.set(name, used + DIRENT64.d_name);
    used += reclen;
    pos++;
  }
  if (used === 0 && pos < entries.length) return EINVAL; // the next entry does not fit
  // Entries go out one at a time (filldir64): a fault keeps the ones before it, the position after them.
  let stored = 0;
  let n = f.pos;
  while (stored < used) {
    const reclen = view.getUint16(stored + DIRENT64.d_reclen, true);
    if (copyToUser(ctx.proc.mm, dirp + BigInt(stored), out.subarray(stored, stored + reclen)) > 0) break;
    stored += reclen;
    n++;
  }
  if (stored === 0 && used > 0) return EFAULT;
  f.pos = n;
  return stored;
}

function getcwd(ctx: SyscallContext, [buf, size]: readonly bigint[]): number {
  const path = ctx.kernel.vfs.pathOf(ctx.proc.cwd, ctx.kernel.vfs.root);
  if (path === undefined) return -Errno.ENOENT;
  const bytes = new TextEncoder().encode(`${path}\0`);
  // The kernel builds the path in one page (d_path): longer is ENAMETOOLONG (glibc then walks "..").
  if (bytes.length > 4096) return -Errno.ENAMETOOLONG;
  if (BigInt(bytes.length) > BigInt.asUintN(64, size)) return -Errno.ERANGE;
  return copyToUser(ctx.proc.mm, buf, bytes) > 0 ? EFAULT : bytes.length;
}

function chdirTo(ctx: SyscallContext, inode: Inode): number {
  if (!(inode instanceof DirInode)) return -Errno.ENOTDIR;
  if (!permission(inode, MAY_EXEC, ctx.proc.creds)) return -Errno.EACCES;
  ctx.proc.cwd = inode;
  return 0;
}

/** truncate(path, length): as ftruncate, by name (write permission instead of a writable descriptor). */
function truncate(ctx: SyscallContext, [path, length]: readonly bigint[]): number {
  const p = pathArg(ctx, path);
  const len = BigInt.asIntN(64, length);
  if (len < 0n) return EINVAL;
  const inode = ctx.kernel.vfs.lookup(nameiOf(ctx), ctx.proc.cwd, p, true);
  if (inode instanceof DirInode) return -Errno.EISDIR;
  if (!(inode instanceof RegularInode)) return EINVAL;
  if (!permission(inode, MAY_WRITE, ctx.proc.creds)) return -Errno.EACCES;
  if (inode.sb.readOnly) return -Errno.EROFS;
  if (len > BigInt(Number.MAX_SAFE_INTEGER)) return -Errno.EFBIG;
  inode.truncate(Number(len));
  ctx.kernel.truncateMappings(inode, Number(len));
  return 0;
}

export const fsCalls: SyscallEntry[] = [
  { nr: 45, name: 'truncate', args: ['str', 'int'], handler: truncate },
  { nr: 17, name: 'getcwd', args: ['ptr', 'size'], handler: getcwd },
  { nr: 33, name: 'mknodat', args: ['fd', 'str', 'oct', 'hex'], handler: mknodat },
  { nr: 34, name: 'mkdirat', args: ['fd', 'str', 'oct'], handler: mkdirat },
  { nr: 35, name: 'unlinkat', args: ['fd', 'str', 'atflags'], handler: unlinkat },
  { nr: 36, name: 'symlinkat', args: ['str', 'fd', 'str'], handler: symlinkat },
  { nr: 37, name: 'linkat', args: ['fd', 'str', 'fd', 'str', 'atflags'], handler: linkat },
  {
    nr: 43,
    name: 'statfs',
    args: ['str', 'ptr'],
    handler: (ctx, [path, buf]) =>
      statfsOf(ctx, ctx.kernel.vfs.lookup(nameiOf(ctx), ctx.proc.cwd, pathArg(ctx, path), true), buf),
  },
  {
    nr: 44,
    name: 'fstatfs',
    args: ['fd', 'ptr'],
    handler: (ctx, [fd, buf]) => statfsOf(ctx, fileOf(ctx, fd).inode, buf),
  },
  {
    nr: 48,
    name: 'faccessat',
    args: ['fd', 'str', 'int'],
    handler: (ctx, [dirfd, path, mode]) => faccessat2(ctx, [dirfd, path, mode, 0n]),
  },
  {
    nr: 49,
    name: 'chdir',
    args: ['str'],
    handler: (ctx, [path]) =>
      chdirTo(ctx, ctx.kernel.vfs.lookup(nameiOf(ctx), ctx.proc.cwd, pathArg(ctx, path), true)),
  },
  { nr: 50, name: 'fchdir', args: ['fd'], handler: (ctx, [fd]) => chdirTo(ctx, fileOf(ctx, fd).inode) },
  {
    nr: 52,
    name: 'fchmod',
    args: ['fd', 'oct'],
    handler: (ctx, [fd, mode]) => {
      const f = fileOf(ctx, fd);
      if ((f.flags & O_PATH) !== 0) return -Errno.EBADF;
      return chmodInode(ctx, f.inode, int(mode));
    },
  },
  {
    nr: 53,
    name: 'fchmodat',
    args: ['fd', 'str', 'oct'],
    handler: (ctx, [dirfd, path, mode]) =>
      chmodInode(ctx, inodeAt(ctx, dirfd, pathArg(ctx, path), true), int(mode)),
  },
  {
    nr: 54,
    name: 'fchownat',
    args: ['fd', 'str', 'int', 'int', 'atflags'],
    handler: (ctx, [dirfd, path, uid, gid, flags]) => {
      const fl = int(flags);
      if ((fl & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
      const inode = inodeAt(ctx, dirfd, pathArg(ctx, path, fl), (fl & AT_SYMLINK_NOFOLLOW) === 0);
      return chownInode(ctx, inode, int(uid), int(gid));
    },
  },
  {
    nr: 55,
    name: 'fchown',
    args: ['fd', 'int', 'int'],
    handler: (ctx, [fd, uid, gid]) => chownInode(ctx, fileOf(ctx, fd).inode, int(uid), int(gid)),
  },
  { nr: 56, name: 'openat', args: ['fd', 'str', 'openflags', 'oct'], handler: openat },
  { nr: 61, name: 'getdents64', args: ['fd', 'ptr', 'size'], handler: getdents64 },
  { nr: 78, name: 'readlinkat', args: ['fd', 'str', 'outbuf', 'size'], handler: readlinkat },
  { nr: 79, name: 'newfstatat', args: ['fd', 'str', 'stat', 'atflags'], handler: newfstatat },
  { nr: 80, name: 'fstat', args: ['fd', 'stat'], handler: fstat },
  { nr: 88, name: 'utimensat', args: ['fd', 'str', 'ptr', 'atflags'], handler: utimensat },
  { nr: 276, name: 'renameat2', args: ['fd', 'str', 'fd', 'str', 'hex'], handler: renameat2 },
  { nr: 291, name: 'statx', args: ['fd', 'str', 'atflags', 'hex', 'ptr'], handler: statx },
  { nr: 439, name: 'faccessat2', args: ['fd', 'str', 'int', 'atflags'], handler: faccessat2 },
];
