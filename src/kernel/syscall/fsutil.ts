/**
 * What the file calls share: the open file behind a descriptor, where an
 * *at call's path starts, and opening an inode into an open file by kind.
 */
import { Errno, isLinuxError, LinuxError } from '../../errno/index.js';
import { readUserPathString } from '../../uptr/index.js';
import { ConsoleFile, ConsoleInode, DEV_TTY, DeviceFile } from '../fs/devices.js';
import {
  DirFile,
  O_ACCMODE,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  type OpenFile,
  PathFile,
  RegularFile,
  SnapshotFile,
} from '../fs/file.js';
import {
  DirInode,
  fail,
  type Inode,
  RegularInode,
  S_IFCHR,
  S_IFIFO,
  S_IFMT,
  SymlinkInode,
} from '../fs/inode.js';
import { SpecialInode } from '../fs/memfs.js';
import { Pipe, PipeDuplex, PipeInode, PipeReader, PipeWriter } from '../fs/pipe.js';
import { ProcFileInode } from '../fs/proc.js';
import { MAY_READ, MAY_WRITE, type NameiContext, permission } from '../fs/vfs.js';
import type { SyscallContext } from './table.js';
import { AT_EMPTY_PATH, AT_FDCWD, int } from './util.js';

/** The open file of descriptor `fd`, or EBADF. */
export function fileOf(ctx: SyscallContext, fd: bigint): OpenFile {
  const f = ctx.proc.fds.get(int(fd));
  if (f === undefined) fail(Errno.EBADF, `fd ${int(fd)} is not open`);
  return f;
}

export function nameiOf(ctx: SyscallContext): NameiContext {
  return { root: ctx.kernel.vfs.root, cwd: ctx.proc.cwd, creds: ctx.proc.creds };
}

/** Where a relative path of an *at call starts: the working directory or the directory `dirfd`. */
export function startDir(ctx: SyscallContext, dirfd: bigint, path: string): DirInode {
  if (path.startsWith('/')) return ctx.kernel.vfs.root;
  const fd = int(dirfd);
  if (fd === AT_FDCWD) return ctx.proc.cwd;
  const f = fileOf(ctx, dirfd);
  if (!(f.inode instanceof DirInode)) fail(Errno.ENOTDIR, `fd ${fd} is not a directory`);
  return f.inode;
}

/** A path argument; "" is allowed (answered as "") only when `flags` has AT_EMPTY_PATH. */
export function pathArg(ctx: SyscallContext, addr: bigint, flags = 0): string {
  try {
    return readUserPathString(ctx.proc.mm, addr);
  } catch (e) {
    if (isLinuxError(e, Errno.ENOENT) && (flags & AT_EMPTY_PATH) !== 0) return '';
    throw e;
  }
}

/**
 * The inode an *at call names: `path` from `dirfd`, or with AT_EMPTY_PATH
 * and "" the file of `dirfd` itself (any kind, AT_FDCWD the working directory).
 */
export function inodeAt(ctx: SyscallContext, dirfd: bigint, path: string, follow: boolean): Inode {
  if (path === '') {
    if (int(dirfd) === AT_FDCWD) return ctx.proc.cwd;
    return fileOf(ctx, dirfd).inode;
  }
  return ctx.kernel.vfs.lookup(nameiOf(ctx), startDir(ctx, dirfd, path), path, follow);
}

/** Linux's may_open and the file operations by kind: an open file of `inode` with `flags`, or an errno. */
export function openInode(ctx: SyscallContext, inode: Inode, flags: number, path: string): OpenFile {
  if ((flags & O_PATH) !== 0)
    return new PathFile(inode, flags & (O_PATH | 0o2000000 | 0o200000 | 0o400000), path);
  const acc = flags & O_ACCMODE;
  const wantsWrite = acc === O_WRONLY || acc === 2 || (flags & O_TRUNC) !== 0;
  if (inode instanceof SymlinkInode) fail(Errno.ELOOP, `${path} is a symbolic link (O_NOFOLLOW)`);
  if (inode instanceof DirInode && wantsWrite) fail(Errno.EISDIR, `${path} is a directory`);
  const mask = (acc !== O_WRONLY ? MAY_READ : 0) | (wantsWrite ? MAY_WRITE : 0);
  if (!permission(inode, mask, ctx.proc.creds)) fail(Errno.EACCES, `permission denied: ${path}`);
  if (wantsWrite && inode.sb.readOnly && (inode instanceof RegularInode || inode instanceof DirInode))
    fail(Errno.EROFS, `${path} is on a read-only file system`);
  if (inode instanceof RegularInode) {
    inode.prepareOpen(wantsWrite);
    return new RegularFile(inode, flags, path);
  }
  if (inode instanceof DirInode) return new DirFile(inode, flags, path);
  if (inode instanceof ProcFileInode) return new SnapshotFile(inode, flags, path, inode.generate());
  if (inode instanceof ConsoleInode) return new ConsoleFile(inode, flags, path);
  if (inode instanceof PipeInode) return pipeEnd(inode, inode.pipe, flags, path);
  if (inode instanceof SpecialInode && (inode.mode & S_IFMT) === S_IFIFO) {
    let pipe = inode.pipe as Pipe | undefined;
    if (pipe === undefined || (pipe.readers === 0 && pipe.writers === 0)) inode.pipe = pipe = new Pipe();
    // A FIFO opened for writing without a reader: ENXIO when non-blocking (a blocking open would wait).
    if (acc === O_WRONLY && pipe.readers === 0) {
      if ((flags & O_NONBLOCK) !== 0) fail(Errno.ENXIO, `no reader on the FIFO ${path}`);
      fail(Errno.ENXIO, `no reader on the FIFO ${path} (a blocking open would wait forever: no other task)`);
    }
    return pipeEnd(inode, pipe, flags, path);
  }
  if (inode instanceof SpecialInode && (inode.mode & S_IFMT) === S_IFCHR) {
    if (inode.rdev === DEV_TTY) {
      const k = ctx.kernel;
      const tty = k.console.find((c) => c.isTerminal);
      if (tty === undefined) fail(Errno.ENXIO, 'no controlling terminal');
      return new ConsoleFile(tty, flags, path);
    }
    const driver = ctx.kernel.drivers.get(inode.rdev);
    if (driver === undefined) fail(Errno.ENXIO, `no device ${inode.rdev.toString(16)}`);
    return new DeviceFile(inode, flags, path, driver);
  }
  throw new LinuxError(Errno.ENXIO, `${path} cannot be opened`);
}

function pipeEnd(inode: Inode, pipe: Pipe, flags: number, path: string): OpenFile {
  const acc = flags & O_ACCMODE;
  if (acc === O_RDONLY) return new PipeReader(inode, flags, path, pipe);
  if (acc === O_WRONLY) return new PipeWriter(inode, flags, path, pipe);
  // O_RDWR on a FIFO: one file that both reads and writes (and never waits for a partner to open).
  return new PipeDuplex(inode, flags, path, pipe);
}
