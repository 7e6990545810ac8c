/**
 * The memory file system (Linux's tmpfs): directories as maps of names,
 * regular files whose page cache is their only storage (frames of the
 * machine, so a full machine is ENOSPC), symlinks, hard links, FIFOs and
 * device nodes, with modes, owners and timestamps.
 */
import type { PageSource } from '../../mm/index.js';
import type { FrameAllocator, PhysMemory } from '../../paging/index.js';
import {
  Inode as BaseInode,
  type DirEntry,
  DirInode,
  dtypeOf,
  type Inode,
  type IoIter,
  type NodeKind,
  RegularInode,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFREG,
  type SuperBlock,
  SymlinkInode,
} from './inode.js';
import { type PageBudget, PageCache } from './pagecache.js';

/** statfs magic numbers (linux/magic.h). */
export const TMPFS_MAGIC = 0x01021994;

export class MemSuperBlock implements SuperBlock, PageBudget {
  private ino = 1;
  /** Pages the files hold, and the most they may (tmpfs's default size: half the machine's memory). */
  usedPages = 0;
  limitPages: number;

  constructor(
    readonly dev: number,
    readonly frames: FrameAllocator,
    readonly mem: PhysMemory,
    readonly now: () => bigint,
    readonly type = 'tmpfs',
    readonly magic = TMPFS_MAGIC,
    readonly readOnly = false,
  ) {
    this.limitPages = Math.floor(frames.frameCount / 2);
  }

  take(): boolean {
    if (this.usedPages >= this.limitPages) return false;
    this.usedPages++;
    return true;
  }

  give(n: number): void {
    this.usedPages -= n;
  }

  nextIno(): number {
    return this.ino++;
  }

  /** A fresh root directory (mode 1777 for /tmp-like use is the caller's choice). */
  makeRoot(perm = 0o755): MemDir {
    return new MemDir(this, this.nextIno(), perm, 0, 0, undefined);
  }
}

export class MemDir extends DirInode {
  readonly entries = new Map<string, Inode>();
  parent: DirInode;

  constructor(
    override readonly sb: MemSuperBlock,
    ino: number,
    perm: number,
    uid: number,
    gid: number,
    parent: DirInode | undefined,
  ) {
    super(sb, ino, S_IFDIR | perm, uid, gid);
    this.parent = parent ?? this;
    this.nlink = 2;
  }

  lookup(name: string): Inode | undefined {
    return this.entries.get(name);
  }

  list(): DirEntry[] {
    return [...this.entries].map(([name, i]) => ({ name, ino: i.ino, type: dtypeOf(i.mode) }));
  }

  override get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  create(name: string, what: NodeKind, perm: number, uid: number, gid: number): Inode {
    const sb = this.sb;
    let node: Inode;
    switch (what.kind) {
      case 'dir':
        node = new MemDir(sb, sb.nextIno(), perm, uid, gid, this);
        this.nlink++;
        break;
      case 'file':
        node = new MemFile(sb, sb.nextIno(), perm, uid, gid);
        break;
      case 'symlink':
        node = new SymlinkInode(sb, sb.nextIno(), uid, gid, what.target);
        break;
      case 'fifo':
        node = new SpecialInode(sb, sb.nextIno(), S_IFIFO | perm, uid, gid, 0);
        break;
      case 'chr':
        node = new SpecialInode(sb, sb.nextIno(), S_IFCHR | perm, uid, gid, what.rdev);
        break;
    }
    this.entries.set(name, node);
    this.touch();
    return node;
  }

  link(name: string, inode: Inode): void {
    this.entries.set(name, inode);
    inode.nlink++;
    inode.ctime = this.sb.now();
    this.touch();
  }

  unlink(name: string): void {
    const node = this.entries.get(name);
    if (node === undefined) return;
    this.entries.delete(name);
    if (node instanceof MemDir) {
      node.nlink = 0;
      this.nlink--;
    } else node.nlink--;
    node.ctime = this.sb.now();
    this.touch();
    if (node.nlink === 0 && node.opens === 0) node.evict();
  }

  rename(from: DirInode, oldName: string, newName: string): void {
    const src = from as MemDir;
    const node = src.entries.get(oldName);
    if (node === undefined) return;
    if (this.entries.has(newName)) this.unlink(newName);
    src.entries.delete(oldName);
    this.entries.set(newName, node);
    if (node instanceof MemDir && src !== this) {
      node.parent = this;
      src.nlink--;
      this.nlink++;
    }
    node.ctime = this.sb.now();
    src.touch();
    this.touch();
  }

  private touch(): void {
    const t = this.sb.now();
    this.mtime = t;
    this.ctime = t;
  }
}

export class MemFile extends RegularInode {
  readonly cache: PageCache;

  constructor(sb: MemSuperBlock, ino: number, perm: number, uid: number, gid: number) {
    super(sb, ino, S_IFREG | perm, uid, gid);
    this.cache = new PageCache(sb.frames, sb.mem, 0, undefined, sb);
  }

  get size(): number {
    return this.cache.size;
  }

  override get blocks(): number {
    return this.cache.cachedPages * 8;
  }

  read(iter: IoIter, pos: number): number {
    if (pos >= this.cache.size) return 0;
    return this.cache.read(iter, pos);
  }

  write(iter: IoIter, pos: number): number {
    const n = this.cache.write(iter, pos);
    if (n > 0) {
      const t = this.sb.now();
      this.mtime = t;
      this.ctime = t;
    }
    return n;
  }

  truncate(size: number): void {
    this.cache.truncate(size);
    const t = this.sb.now();
    this.mtime = t;
    this.ctime = t;
  }

  pages(): PageSource {
    return this.cache;
  }

  override cachedPages(): PageSource {
    return this.cache;
  }

  override evict(): void {
    this.cache.release();
  }
}

/** A FIFO or a device node: its data lives in the pipe or the driver that opening it finds. */
export class SpecialInode extends BaseInode {
  /** The FIFO's pipe while it is open (fs/pipe.ts makes it). */
  pipe: unknown;

  constructor(sb: SuperBlock, ino: number, mode: number, uid: number, gid: number, rdev: number) {
    super(sb, ino, mode, uid, gid);
    this.rdev = rdev;
  }

  get size(): number {
    return 0;
  }

  override get blocks(): number {
    return 0;
  }
}
