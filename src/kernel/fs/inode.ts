/**
 * Inodes, as Linux's VFS sees them: a file's attributes (mode, owners, link
 * count, timestamps) and its operations by kind. Directories look up, list,
 * create, link, unlink and rename names; regular files read and write at a
 * position through an {@link IovIter} and lend their pages to mappings;
 * symlinks hold a target; devices and FIFOs open into streams. The memory
 * file system, the host file system and `/proc` implement these.
 */
import { LinuxError } from '../../errno/index.js';
import type { PageSource } from '../../mm/index.js';

/**
 * Where a read puts bytes and a write takes them (Linux's iov_iter): the
 * user's buffers ({@link IovIter} of the user-pointer layer) or a kernel
 * buffer ({@link KernelIter}). Both stop at the first byte that faults.
 */
export interface IoIter {
  /** Bytes left. */
  readonly count: number;
  /** Stores `src` (up to what is left); answers the bytes stored. */
  copyOut(src: Uint8Array): number;
  /** Fills `dst` (up to what is left); answers the bytes read. */
  copyIn(dst: Uint8Array): number;
  /** A copy stopped at a byte that faulted. */
  readonly faulted: boolean;
}

/** An iterator over a kernel buffer (sendfile, copy_file_range, exec). */
export class KernelIter implements IoIter {
  private at = 0;
  readonly faulted = false;

  constructor(readonly buf: Uint8Array) {}

  get count(): number {
    return this.buf.length - this.at;
  }

  /** The bytes moved so far. */
  get done(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  copyOut(src: Uint8Array): number {
    const n = Math.min(src.length, this.count);
    this.buf.set(src.subarray(0, n), this.at);
    this.at += n;
    return n;
  }

  copyIn(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.count);
    dst.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return n;
  }
}

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

/** Linux's NAME_MAX: no path component is longer. */
export const NAME_MAX = 255;

/** A directory entry's d_type is the file type's bits shifted down (DT_DIR = 4, DT_REG = 8, …). */
export const dtypeOf = (mode: number): number => (mode & S_IFMT) >>> 12;

export function fail(errno: number, detail: string): never {
  throw new LinuxError(errno, detail);
}

/** One mounted file system: its device number, type and clock. */
export interface SuperBlock {
  readonly dev: number;
  /** The type as /proc/self/mounts names it (tmpfs, proc, hostfs…). */
  readonly type: string;
  /** statfs's f_type. */
  readonly magic: number;
  readonly readOnly: boolean;
  /** Nanoseconds since the epoch (the kernel's CLOCK_REALTIME). */
  now(): bigint;
  nextIno(): number;
}

export interface DirEntry {
  readonly name: string;
  readonly ino: number;
  readonly type: number;
}

/** What `create` makes. */
export type NodeKind =
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'fifo' }
  | { kind: 'symlink'; target: string }
  | { kind: 'chr'; rdev: number };

export abstract class Inode {
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  nlink = 1;
  rdev = 0;

  constructor(
    readonly sb: SuperBlock,
    readonly ino: number,
    public mode: number,
    public uid: number,
    public gid: number,
  ) {
    const t = sb.now();
    this.atime = t;
    this.mtime = t;
    this.ctime = t;
  }

  get type(): number {
    return this.mode & S_IFMT;
  }

  abstract get size(): number;

  /** 512-byte blocks in use (st_blocks). */
  get blocks(): number {
    return Math.ceil(this.size / 4096) * 8;
  }

  /** Host-backed inodes read their attributes again here (stat sees the host's file). */
  refresh(): void {}

  /** chmod: the permission bits change, the type stays. */
  setMode(mode: number): void {
    this.mode = (this.mode & S_IFMT) | (mode & 0o7777);
    this.ctime = this.sb.now();
  }

  setOwner(uid: number, gid: number): void {
    if (uid !== -1) this.uid = uid;
    if (gid !== -1) this.gid = gid;
    this.ctime = this.sb.now();
  }

  /** utimensat: undefined keeps a time. */
  setTimes(atime: bigint | undefined, mtime: bigint | undefined): void {
    if (atime !== undefined) this.atime = atime;
    if (mtime !== undefined) this.mtime = mtime;
    this.ctime = this.sb.now();
  }

  /** Open files that hold the inode: an unlinked file lives until the last one closes. */
  opens = 0;

  /** An open file took (+1) or dropped (-1) the inode; the last close of an unlinked inode frees it. */
  hold(delta: 1 | -1): void {
    this.opens += delta;
    if (this.opens > 0) return;
    this.lastClose();
    if (this.nlink === 0) this.evict();
  }

  /** The last open file let go (a host file closes its handle here). */
  protected lastClose(): void {}

  /** The last name went away and the last open file closed: free what the inode holds. */
  evict(): void {}
}

/** A directory: names to inodes. `parent` is what `..` finds (a root is its own parent). */
export abstract class DirInode extends Inode {
  abstract parent: DirInode;
  /** Its name in its parent (what getcwd prints), found by identity unless the file system knows it. */
  nameInParent(): string | undefined {
    for (const e of this.parent.list()) if (this.parent.lookup(e.name) === this) return e.name;
    return undefined;
  }
  /** The inode named `name` (never "." or ".."), or undefined. */
  abstract lookup(name: string): Inode | undefined;
  /** The entries, without "." and "..". */
  abstract list(): DirEntry[];
  /** Makes a new node `name` (the caller checked that it does not exist). */
  abstract create(name: string, what: NodeKind, perm: number, uid: number, gid: number): Inode;
  /** Adds a name for an existing inode of the same file system (hard link). */
  abstract link(name: string, inode: Inode): void;
  /** Removes the name (the caller checked its kind and emptiness). */
  abstract unlink(name: string): void;
  /** Moves `from`/`oldName` to `this`/`newName`, replacing what is there (the caller checked the rules). */
  abstract rename(from: DirInode, oldName: string, newName: string): void;

  get size(): number {
    return 4096;
  }

  get isEmpty(): boolean {
    return this.list().length === 0;
  }
}

export abstract class RegularInode extends Inode {
  /** Copies file bytes from `pos` into the iterator; answers the bytes stored (short at EOF or a fault). */
  abstract read(iter: IoIter, pos: number): number;
  /** Copies the iterator's bytes into the file at `pos`; answers the bytes taken. */
  abstract write(iter: IoIter, pos: number): number;
  abstract truncate(size: number): void;
  /** The pages that mappings of this file share (its page cache). */
  abstract pages(): PageSource;
  /** Writes dirty cached pages back to where the file lives (a no-op in memory). */
  sync(): void {}
  /** An open file of it is being made (for writing when `write`): a host file opens its handle now. */
  prepareOpen(_write: boolean): void {}
  /** The page cache mappings share, when one exists now (a host file has one only once mapped). */
  cachedPages(): PageSource | undefined {
    return undefined;
  }
}

/**
 * /proc's "magic" links (/proc/self/fd/N, exe, cwd, root): following one
 * jumps straight to an inode, not to a path.
 */
export interface MagicLink {
  jump(): Inode | undefined;
}

export function isMagicLink(i: Inode): i is Inode & MagicLink {
  return typeof (i as Partial<MagicLink>).jump === 'function';
}

export class SymlinkInode extends Inode {
  constructor(
    sb: SuperBlock,
    ino: number,
    uid: number,
    gid: number,
    private readonly target: string,
  ) {
    super(sb, ino, S_IFLNK | 0o777, uid, gid);
  }

  /** What the link says (readlink's bytes). */
  readlink(): string {
    return this.target;
  }

  get size(): number {
    return new TextEncoder().encode(this.readlink()).length;
  }

  override get blocks(): number {
    return 0;
  }
}
