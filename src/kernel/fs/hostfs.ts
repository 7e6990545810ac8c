/**
 * A mounted host directory (the way qemu-user shows the host, but fenced):
 * inodes that stand for the host's files under the mount's root, asked
 * through the host interface one name at a time. The kernel's namei walks
 * every path, so `..` at the mount's root, an absolute or relative symlink
 * and /proc/self/root all resolve in the guest's name space.
 *
 * The host is asked by path (Node has no openat), so every path is checked
 * before it is used: each directory on it must still be the directory the
 * kernel looked up (same device and inode, not a symlink), and an inode
 * that was unlinked or replaced is dead (its old path names something
 * else now). The last component is never followed (lstat, O_NOFOLLOW, and
 * chmod and utimes through a handle). What is left is the race of the host
 * changing a directory between the check and the use.
 *
 * Inodes are kept by the host's (device, inode) (hard links are one inode).
 * An open file keeps its host handle from open to last close, so a file
 * unlinked while open still reads and writes; its bytes go through to the
 * host, and a page cache is made only when it is mapped (shared writable
 * mappings write back at msync and exit).
 */
import { Errno, LinuxError } from '../../errno/index.js';
import type { PageSource } from '../../mm/index.js';
import type { FrameAllocator, PhysMemory } from '../../paging/index.js';
import type { HostFileSystem, HostStat } from '../host.js';
import {
  type DirEntry,
  DirInode,
  dtypeOf,
  fail,
  Inode,
  type IoIter,
  KernelIter,
  type NodeKind,
  RegularInode,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  S_IFSOCK,
  type SuperBlock,
  SymlinkInode,
} from './inode.js';
import { PageCache } from './pagecache.js';

/** statfs's f_type for a host directory: the host's usual file system (ext4). */
export const HOSTFS_MAGIC = 0xef53;
const CHUNK = 65536;

const modeOf = (st: HostStat): number =>
  (st.kind === 'dir' ? S_IFDIR : st.kind === 'symlink' ? S_IFLNK : st.kind === 'file' ? S_IFREG : S_IFSOCK) |
  (st.perm & 0o7777);

const keyOf = (st: HostStat) => `${st.dev}:${st.ino}`;

const stale = (what: string): never => fail(Errno.ENOENT, `${what} is gone from the host`);

export class HostSuperBlock implements SuperBlock {
  readonly type = 'hostfs';
  readonly magic = HOSTFS_MAGIC;
  private readonly inodes = new Map<string, HostInode>();
  /** Files no longer in the table that still hold a handle or a cache (unlinked while open or mapped). */
  private readonly retired = new Set<HostFile>();
  readonly root: HostDir;

  constructor(
    readonly dev: number,
    readonly fs: HostFileSystem,
    /** The host path of the mount's root. */
    readonly hostRoot: string,
    readonly readOnly: boolean,
    readonly now: () => bigint,
    readonly frames: FrameAllocator,
    readonly mem: PhysMemory,
  ) {
    const st = fs.lstat(hostRoot);
    if (st.kind !== 'dir') fail(Errno.ENOTDIR, `${hostRoot} is not a directory`);
    this.root = new HostDir(this, st, undefined, '');
    this.inodes.set(keyOf(st), this.root);
  }

  nextIno(): number {
    return 0; // inode numbers are the host's
  }

  /** The inode for host file `st` found as `name` in `parent` (the same object for the same host file). */
  inodeFor(parent: HostDir, name: string, st: HostStat): HostInode {
    const key = keyOf(st);
    const known = this.inodes.get(key);
    if (known !== undefined && !known.dead && (known.mode & 0o170000) === (modeOf(st) & 0o170000)) {
      if (known instanceof HostDir) {
        // A directory seen again somewhere else (a host bind mount): a fresh inode, never a cycle.
        if (known === this.root || parent.isWithin(known)) return new HostDir(this, st, parent, name);
        known.place(parent, name);
      } else if (known.nlink <= 1) known.place(parent, name);
      known.take(st);
      return known;
    }
    let node: HostInode;
    if (st.kind === 'dir') node = new HostDir(this, st, parent, name);
    else if (st.kind === 'file') node = new HostFile(this, st, parent, name);
    else if (st.kind === 'symlink') node = new HostSymlink(this, st, parent, name);
    else node = new HostOther(this, st, parent, name);
    this.inodes.set(key, node);
    return node;
  }

  /** `node` lost its last name (or was replaced): its old path must never be used again. */
  bury(node: HostInode): void {
    node.dead = true;
    for (const [k, v] of this.inodes) if (v === node) this.inodes.delete(k);
    if (node instanceof HostFile && node.holdsHostState) this.retired.add(node);
  }

  /**
   * The host path of `dir` after checking that each directory from the
   * mount's root down is still the one looked up (ENOENT when not).
   */
  checkedDirPath(dir: HostDir): string {
    const chain: HostDir[] = [];
    for (let d: HostDir | undefined = dir; d !== undefined; d = d.up) {
      if (d.dead) stale(d.name);
      chain.unshift(d);
    }
    let path = this.hostRoot;
    for (const d of chain) {
      if (d.up !== undefined) path = path.endsWith('/') ? `${path}${d.name}` : `${path}/${d.name}`;
      let st: HostStat;
      try {
        st = this.fs.lstat(path);
      } catch {
        return stale(path);
      }
      if (st.kind !== 'dir' || st.ino !== d.ino || st.dev !== d.hostDev) {
        this.bury(d);
        stale(path);
      }
    }
    return path;
  }

  /** Writes mapped pages back and closes every host handle (the kernel's last step). */
  release(): void {
    for (const node of [...this.inodes.values(), ...this.retired]) if (node instanceof HostFile) node.drop();
    this.retired.clear();
  }

  checkWritable(): void {
    if (this.readOnly) fail(Errno.EROFS, `${this.hostRoot} is mounted read-only`);
  }
}

type HostInode = HostDir | HostFile | HostSymlink | HostOther;

function takeAttrs(i: Inode, st: HostStat): void {
  i.mode = modeOf(st);
  i.nlink = st.nlink;
  i.uid = st.uid;
  i.gid = st.gid;
  i.atime = st.atimeNs;
  i.mtime = st.mtimeNs;
  i.ctime = st.ctimeNs;
}

/** Where a host inode is: its directory and name (renames move it), and whether it is still there. */
class Place {
  dead = false;
  constructor(
    public up: HostDir | undefined,
    public name: string,
  ) {}
}

function placedPath(sb: HostSuperBlock, place: Place, what: string): string {
  if (place.dead) stale(what);
  const up = place.up;
  if (up === undefined) return sb.checkedDirPath(sb.root);
  const base = sb.checkedDirPath(up);
  return base.endsWith('/') ? `${base}${place.name}` : `${base}/${place.name}`;
}

export class HostDir extends DirInode {
  declare readonly sb: HostSuperBlock;
  parent: DirInode;
  private readonly at: Place;
  readonly hostDev: number;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir | undefined, name: string) {
    super(sb, st.ino, modeOf(st), st.uid, st.gid);
    this.at = new Place(parent, name);
    this.parent = parent ?? this;
    this.hostDev = st.dev;
    takeAttrs(this, st);
  }

  get up(): HostDir | undefined {
    return this.at.up;
  }

  get name(): string {
    return this.at.name;
  }

  get dead(): boolean {
    return this.at.dead;
  }

  set dead(v: boolean) {
    this.at.dead = v;
    if (v) this.nlink = 0;
  }

  /** Is this directory `dir` or below it? */
  isWithin(dir: HostDir): boolean {
    for (let d: HostDir | undefined = this; d !== undefined; d = d.up) if (d === dir) return true;
    return false;
  }

  place(parent: HostDir, name: string): void {
    this.at.up = parent;
    this.at.name = name;
    this.parent = parent;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
  }

  hostPath(): string {
    return this.sb.checkedDirPath(this);
  }

  override nameInParent(): string | undefined {
    return this.up === undefined ? undefined : this.name;
  }

  override refresh(): void {
    if (this.dead) return;
    this.take(this.sb.fs.lstat(this.hostPath()));
  }

  childPath(name: string): string {
    const base = this.hostPath();
    return base.endsWith('/') ? `${base}${name}` : `${base}/${name}`;
  }

  lookup(name: string): Inode | undefined {
    if (this.dead) return undefined;
    let st: HostStat;
    try {
      st = this.sb.fs.lstat(this.childPath(name));
    } catch (e) {
      if (e instanceof LinuxError && (e.errno === Errno.ENOENT || e.errno === Errno.ENOTDIR))
        return undefined;
      throw e;
    }
    return this.sb.inodeFor(this, name, st);
  }

  list(): DirEntry[] {
    if (this.dead) return [];
    const out: DirEntry[] = [];
    const base = this.hostPath();
    for (const name of this.sb.fs.readdir(base)) {
      try {
        const st = this.sb.fs.lstat(base.endsWith('/') ? `${base}${name}` : `${base}/${name}`);
        out.push({ name, ino: st.ino, type: dtypeOf(modeOf(st)) });
      } catch {
        // gone between the listing and the lstat: not listed
      }
    }
    return out;
  }

  override get isEmpty(): boolean {
    return this.dead || this.sb.fs.readdir(this.hostPath()).length === 0;
  }

  create(name: string, what: NodeKind, perm: number): Inode {
    this.sb.checkWritable();
    const path = this.childPath(name);
    const fs = this.sb.fs;
    switch (what.kind) {
      case 'file':
        fs.close(fs.open(path, true, perm));
        break;
      case 'dir':
        fs.mkdir(path, perm);
        break;
      case 'symlink':
        fs.symlink(what.target, path);
        break;
      default:
        fail(Errno.EPERM, 'FIFOs and device nodes cannot be made in a host directory');
    }
    const node = this.lookup(name);
    if (node === undefined) fail(Errno.ENOENT, `${name} vanished after it was made`);
    return node;
  }

  link(name: string, inode: Inode): void {
    this.sb.checkWritable();
    const from = (inode as HostInode).hostPath();
    this.sb.fs.link(from, this.childPath(name));
    inode.nlink++;
  }

  unlink(name: string): void {
    this.sb.checkWritable();
    const node = this.lookup(name) as HostInode | undefined;
    const path = this.childPath(name);
    if (node instanceof HostDir) this.sb.fs.rmdir(path);
    else this.sb.fs.unlink(path);
    if (node === undefined) return;
    node.nlink = node instanceof HostDir ? 0 : node.nlink - 1;
    // The name is gone: the inode's old path may name something else from now on.
    if (node.nlink <= 0 || node instanceof HostDir) this.sb.bury(node);
    else node.unplace();
  }

  rename(from: DirInode, oldName: string, newName: string): void {
    this.sb.checkWritable();
    const src = from as HostDir;
    const moving = src.lookup(oldName) as HostInode | undefined;
    const replaced = this.lookup(newName) as HostInode | undefined;
    this.sb.fs.rename(src.childPath(oldName), this.childPath(newName));
    if (replaced !== undefined && replaced !== moving) this.sb.bury(replaced);
    moving?.place(this, newName);
  }

  override setMode(mode: number): void {
    this.sb.checkWritable();
    const h = this.sb.fs.openDir(this.hostPath());
    try {
      this.sb.fs.fchmod(h, mode & 0o7777);
      this.take(this.sb.fs.fstat(h));
    } finally {
      this.sb.fs.close(h);
    }
  }

  override setOwner(uid: number, gid: number): void {
    if ((uid !== -1 && uid !== this.uid) || (gid !== -1 && gid !== this.gid))
      fail(Errno.EPERM, 'owners of host files do not change');
  }

  override setTimes(atime: bigint | undefined, mtime: bigint | undefined): void {
    this.sb.checkWritable();
    const h = this.sb.fs.openDir(this.hostPath());
    try {
      this.sb.fs.futimes(h, atime ?? this.atime, mtime ?? this.mtime);
      this.take(this.sb.fs.fstat(h));
    } finally {
      this.sb.fs.close(h);
    }
  }
}

export class HostFile extends RegularInode {
  declare readonly sb: HostSuperBlock;
  private readonly at: Place;
  private bytes: number;
  /** The host handle (kept from open to last close), and whether it can write. */
  private handle: number | undefined;
  private writable = false;
  /** Handles replaced by a writable one while the cache still read through them: closed at the end. */
  private readonly oldHandles: number[] = [];
  private cache: PageCache | undefined;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir, name: string) {
    super(sb, st.ino, modeOf(st), st.uid, st.gid);
    this.at = new Place(parent, name);
    this.bytes = st.size;
    takeAttrs(this, st);
  }

  get dead(): boolean {
    return this.at.dead;
  }

  set dead(v: boolean) {
    this.at.dead = v;
  }

  /** Something that must be let go at the end: a handle or a page cache. */
  get holdsHostState(): boolean {
    return this.handle !== undefined || this.cache !== undefined;
  }

  place(parent: HostDir, name: string): void {
    this.at.up = parent;
    this.at.name = name;
    this.at.dead = false;
  }

  /** One of several names went away: the one kept may not be it, so paths are not trusted any more. */
  unplace(): void {
    this.at.dead = true;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
    this.bytes = st.size;
    if (this.cache !== undefined && this.cache.size !== st.size) this.cache.truncate(st.size);
  }

  hostPath(): string {
    return placedPath(this.sb, this.at, this.at.name);
  }

  override refresh(): void {
    if (this.handle !== undefined) this.take(this.sb.fs.fstat(this.handle));
    else if (!this.dead) this.take(this.sb.fs.lstat(this.hostPath()));
  }

  get size(): number {
    return this.bytes;
  }

  override get blocks(): number {
    return Math.ceil(this.bytes / 4096) * 8;
  }

  override prepareOpen(write: boolean): void {
    this.handleFor(write);
  }

  /** A host handle that can write when `write`: opened once by its checked path, upgraded once. */
  private handleFor(write: boolean): number {
    if (this.handle !== undefined && (this.writable || !write)) return this.handle;
    if (write) this.sb.checkWritable();
    const h = this.sb.fs.open(this.hostPath(), write);
    // The new handle must be the same file the kernel knows (not one the host swapped in).
    const st = this.sb.fs.fstat(h);
    if (st.ino !== this.ino) {
      this.sb.fs.close(h);
      stale(this.at.name);
    }
    if (this.handle !== undefined) this.oldHandles.push(this.handle);
    this.handle = h;
    this.writable = write;
    return h;
  }

  read(iter: IoIter, pos: number): number {
    if (this.cache !== undefined) return pos >= this.bytes ? 0 : this.cache.read(iter, pos);
    const h = this.handleFor(false);
    const chunk = new Uint8Array(Math.min(CHUNK, Math.max(1, iter.count)));
    let done = 0;
    while (iter.count > 0) {
      const got = this.sb.fs.read(h, chunk.subarray(0, Math.min(chunk.length, iter.count)), pos + done);
      if (got === 0) break;
      const moved = iter.copyOut(chunk.subarray(0, got));
      done += moved;
      if (moved < got) break;
    }
    return done;
  }

  write(iter: IoIter, pos: number): number {
    const h = this.handleFor(true);
    const chunk = new Uint8Array(Math.min(CHUNK, Math.max(1, iter.count)));
    let done = 0;
    while (iter.count > 0) {
      const got = iter.copyIn(chunk.subarray(0, Math.min(chunk.length, iter.count)));
      if (got === 0) break;
      const part = chunk.subarray(0, got);
      const put = this.sb.fs.write(h, part, pos + done);
      // The mapped pages see the write too (one page cache for mappings and the file).
      if (this.cache !== undefined) this.cache.write(new KernelIter(part.subarray(0, put)), pos + done);
      done += put;
      if (put < got) break;
    }
    if (pos + done > this.bytes) this.bytes = pos + done;
    if (done > 0) this.mtime = this.ctime = this.sb.now();
    return done;
  }

  truncate(size: number): void {
    this.sb.fs.ftruncate(this.handleFor(true), size);
    this.bytes = size;
    this.cache?.truncate(size);
    this.mtime = this.ctime = this.sb.now();
  }

  pages(): PageSource {
    if (this.cache === undefined) {
      this.handleFor(false);
      // The fill reads through whichever handle the file holds when the page is first used.
      this.cache = new PageCache(this.sb.frames, this.sb.mem, this.bytes, (index, page) => {
        this.sb.fs.read(this.handleFor(false), page, index * 4096);
      });
    }
    return this.cache;
  }

  override cachedPages(): PageSource | undefined {
    return this.cache;
  }

  /** Shared writable mappings may have changed any cached page: all of them go back to the host. */
  override sync(): void {
    const cache = this.cache;
    if (cache === undefined || this.sb.readOnly || this.handle === undefined || !this.writable) return;
    cache.markAllDirty();
    for (const [index, page] of cache.takeDirty()) {
      const start = index * 4096;
      const n = Math.min(4096, this.bytes - start);
      if (n > 0) this.sb.fs.write(this.handle, page.subarray(0, n), start);
    }
    this.sb.fs.fsync(this.handle);
  }

  /** No open file left: the handle goes, unless a mapping's cache still reads through it. */
  protected override lastClose(): void {
    if (this.cache === undefined) this.closeHandles();
  }

  private closeHandles(): void {
    for (const h of this.oldHandles.splice(0)) this.sb.fs.close(h);
    if (this.handle !== undefined) this.sb.fs.close(this.handle);
    this.handle = undefined;
    this.writable = false;
  }

  /** The end of the run: the cache and the handles let go. */
  drop(): void {
    this.cache?.release();
    this.cache = undefined;
    this.closeHandles();
  }

  override setMode(mode: number): void {
    this.sb.checkWritable();
    const h = this.handleFor(false);
    this.sb.fs.fchmod(h, mode & 0o7777);
    this.take(this.sb.fs.fstat(h));
    if (this.opens === 0) this.closeHandles();
  }

  override setOwner(uid: number, gid: number): void {
    if ((uid !== -1 && uid !== this.uid) || (gid !== -1 && gid !== this.gid))
      fail(Errno.EPERM, 'owners of host files do not change');
  }

  override setTimes(atime: bigint | undefined, mtime: bigint | undefined): void {
    this.sb.checkWritable();
    const h = this.handleFor(false);
    this.sb.fs.futimes(h, atime ?? this.atime, mtime ?? this.mtime);
    this.take(this.sb.fs.fstat(h));
    if (this.opens === 0) this.closeHandles();
  }
}

export class HostSymlink extends SymlinkInode {
  declare readonly sb: HostSuperBlock;
  private readonly at: Place;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir, name: string) {
    super(sb, st.ino, st.uid, st.gid, '');
    this.at = new Place(parent, name);
    takeAttrs(this, st);
  }

  get dead(): boolean {
    return this.at.dead;
  }

  set dead(v: boolean) {
    this.at.dead = v;
  }

  place(parent: HostDir, name: string): void {
    this.at.up = parent;
    this.at.name = name;
    this.at.dead = false;
  }

  unplace(): void {
    this.at.dead = true;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
  }

  hostPath(): string {
    return placedPath(this.sb, this.at, this.at.name);
  }

  /** The host's link text; the kernel resolves it in the guest's name space. */
  override readlink(): string {
    return this.sb.fs.readlink(this.hostPath());
  }

  override refresh(): void {
    if (!this.dead) this.take(this.sb.fs.lstat(this.hostPath()));
  }

  override setMode(): void {
    fail(Errno.EOPNOTSUPP, 'a symlink has no mode of its own');
  }
}

/** A host socket, FIFO or device: it can be looked at (stat) but not opened. */
export class HostOther extends Inode {
  declare readonly sb: HostSuperBlock;
  private readonly at: Place;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir, name: string) {
    super(sb, st.ino, modeOf(st), st.uid, st.gid);
    this.at = new Place(parent, name);
    takeAttrs(this, st);
  }

  get dead(): boolean {
    return this.at.dead;
  }

  set dead(v: boolean) {
    this.at.dead = v;
  }

  place(parent: HostDir, name: string): void {
    this.at.up = parent;
    this.at.name = name;
    this.at.dead = false;
  }

  unplace(): void {
    this.at.dead = true;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
  }

  hostPath(): string {
    return placedPath(this.sb, this.at, this.at.name);
  }

  get size(): number {
    return 0;
  }

  override setMode(): void {
    fail(Errno.EPERM, 'host sockets, FIFOs and devices keep their modes');
  }
}
