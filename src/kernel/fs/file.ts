/**
 * Open files (Linux's `struct file`): an inode, the open flags and a
 * position, shared by every descriptor that dup or fork made from one open.
 * Each kind implements the file operations it has: regular files read and
 * write at a position through the page cache, directories list, streams
 * (pipes, devices, the console) read and write without one. A stream that
 * has nothing for a blocking caller answers {@link BLOCKED}: the scheduler
 * parks the task (the processes issue), and with nothing else to run the
 * kernel reports the deadlock.
 */
import { Errno } from '../../errno/index.js';
import type { WaitQueue } from '../wait.js';
import { type DirEntry, DirInode, type Inode, type IoIter, RegularInode } from './inode.js';

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

/** A stream's answer when a blocking caller must wait (Linux's ERESTARTSYS, never seen by a program). */
export const BLOCKED = -512;

/** The largest file offset (Linux's MAX_LFS_FILESIZE is 2^63 - 1; ours stops where numbers stay exact). */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

export abstract class OpenFile {
  /** The current position (regular files and directories). */
  pos = 0;
  /** Descriptors that share this open (dup, fork): the last close releases it. */
  private refs = 1;

  constructor(
    readonly inode: Inode,
    public flags: number,
    /** The path it was opened by (/proc/self/fd/N shows it). */
    readonly path: string,
  ) {
    inode.hold(1);
  }

  get readable(): boolean {
    const acc = this.flags & O_ACCMODE;
    return (this.flags & O_PATH) === 0 && (acc === O_RDONLY || acc === O_RDWR);
  }

  get writable(): boolean {
    const acc = this.flags & O_ACCMODE;
    return (this.flags & O_PATH) === 0 && (acc === O_WRONLY || acc === O_RDWR);
  }

  get nonblocking(): boolean {
    return (this.flags & O_NONBLOCK) !== 0;
  }

  /** pread/pwrite and lseek work (regular files, directories, some devices). */
  get seekable(): boolean {
    return false;
  }

  /** Reads into `iter` at `pos` (pread) or at the file's position; answers bytes or -errno. */
  read(_iter: IoIter, _pos?: number): number {
    return -Errno.EINVAL;
  }

  write(_iter: IoIter, _pos?: number): number {
    return -Errno.EINVAL;
  }

  /** Events ready now (poll's revents before masking). */
  poll(): number {
    return POLLIN | POLLOUT;
  }

  /** The queue woken when {@link poll}'s answer may change (undefined: it never does, or the host decides). */
  pollQueue(): WaitQueue | undefined {
    return undefined;
  }

  /** Bytes ready to read (FIONREAD), or undefined when the file has no such notion. */
  readyBytes(): number | undefined {
    return undefined;
  }

  /** One more descriptor shares this open. */
  get(): this {
    this.refs++;
    return this;
  }

  /** A descriptor let go; the last one releases the open. */
  put(): void {
    if (--this.refs === 0) {
      this.release();
      this.inode.hold(-1);
    }
  }

  protected release(): void {}
}

export class RegularFile extends OpenFile {
  declare readonly inode: RegularInode;

  override get seekable(): boolean {
    return true;
  }

  override read(iter: IoIter, pos?: number): number {
    const at = pos ?? this.pos;
    const n = this.inode.read(iter, at);
    if (pos === undefined) this.pos += n;
    return n;
  }

  override write(iter: IoIter, pos?: number): number {
    // O_APPEND writes at the end; on Linux even pwrite does.
    const at = (this.flags & O_APPEND) !== 0 ? this.inode.size : (pos ?? this.pos);
    if (iter.count > 0 && at + iter.count > MAX_FILE_SIZE) return -Errno.EFBIG;
    const n = this.inode.write(iter, at);
    // pwrite never moves the position, O_APPEND or not.
    if (pos === undefined) this.pos = at + n;
    return n;
  }

  override readyBytes(): number {
    return Math.max(0, this.inode.size - this.pos);
  }
}

/** An open directory: getdents64 walks a snapshot of its entries taken at the first read or a rewind. */
export class DirFile extends OpenFile {
  declare readonly inode: DirInode;
  private snapshot: DirEntry[] | undefined;

  override get seekable(): boolean {
    return true;
  }

  override read(): number {
    return -Errno.EISDIR;
  }

  override write(): number {
    return -Errno.EBADF;
  }

  /** ".", ".." and the entries; position i is the i-th. */
  entries(): DirEntry[] {
    if (this.snapshot === undefined || this.pos === 0) {
      const dir = this.inode;
      this.snapshot = [
        { name: '.', ino: dir.ino, type: 4 },
        { name: '..', ino: dir.parent.ino, type: 4 },
        ...dir.list(),
      ];
    }
    return this.snapshot;
  }
}

/** An O_PATH descriptor: it names a file (for *at calls, fstat, fchdir) and cannot read or write. */
export class PathFile extends OpenFile {
  override read(): number {
    return -Errno.EBADF;
  }

  override write(): number {
    return -Errno.EBADF;
  }
}

/** A file whose bytes were made when it was opened (most of /proc): read like a regular file. */
export class SnapshotFile extends OpenFile {
  constructor(
    inode: Inode,
    flags: number,
    path: string,
    readonly bytes: Uint8Array,
  ) {
    super(inode, flags, path);
  }

  override get seekable(): boolean {
    return true;
  }

  override read(iter: IoIter, pos?: number): number {
    const at = pos ?? this.pos;
    if (at >= this.bytes.length) return 0;
    const n = iter.copyOut(this.bytes.subarray(at));
    if (pos === undefined) this.pos += n;
    return n;
  }

  override write(): number {
    return -Errno.EINVAL;
  }
}

export const isRegular = (i: Inode): i is RegularInode => i instanceof RegularInode;
export const isDir = (i: Inode): i is DirInode => i instanceof DirInode;
