/**
 * A mounted host directory (the way qemu-user shows the host, but fenced):
 * inodes that stand for the host's files under the mount's root, asked
 * through the host interface one name at a time. The kernel's namei walks
 * every path, so `..` at the mount's root, an absolute or relative symlink
 * and /proc/self/root all resolve in the guest's name space and never reach
 * a host path outside the mount. Inodes are kept by the host's inode number
 * (hard links are one inode); a file's bytes are read and written through
 * to the host, and a page cache is made only when the file is mapped
 * (shared writable mappings write back at msync and exit).
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

export class HostSuperBlock implements SuperBlock {
  readonly type = 'hostfs';
  readonly magic = HOSTFS_MAGIC;
  private readonly inodes = new Map<number, HostInode>();
  private readonly handles = new Set<number>();
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
    this.inodes.set(st.ino, this.root);
  }

  nextIno(): number {
    return 0; // inode numbers are the host's
  }

  /** The inode for host file `st` found as `name` in `parent` (the same object for the same host inode). */
  inodeFor(parent: HostDir, name: string, st: HostStat): HostInode {
    const known = this.inodes.get(st.ino);
    if (known !== undefined && (known.mode & 0o170000) === (modeOf(st) & 0o170000)) {
      if (known instanceof HostDir && known !== this.root) known.place(parent, name);
      else if (!(known instanceof HostDir) && known.nlink <= 1) known.place(parent, name);
      known.take(st);
      return known;
    }
    let node: HostInode;
    if (st.kind === 'dir') node = new HostDir(this, st, parent, name);
    else if (st.kind === 'file') node = new HostFile(this, st, parent, name);
    else if (st.kind === 'symlink') node = new HostSymlink(this, st, parent, name);
    else node = new HostOther(this, st, parent, name);
    this.inodes.set(st.ino, node);
    return node;
  }

  forget(ino: number): void {
    this.inodes.delete(ino);
  }

  openHandle(path: string, write: boolean): number {
    const h = this.fs.open(path, write);
    this.handles.add(h);
    return h;
  }

  closeHandle(h: number): void {
    if (this.handles.delete(h)) this.fs.close(h);
  }

  /** Writes mapped pages back and closes every host handle (the kernel's last step). */
  release(): void {
    for (const node of this.inodes.values()) if (node instanceof HostFile) node.drop();
    for (const h of this.handles) this.fs.close(h);
    this.handles.clear();
  }

  checkWritable(): void {
    if (this.readOnly) fail(Errno.EROFS, `${this.hostRoot} is mounted read-only`);
  }
}

type HostInode = HostDir | HostFile | HostSymlink | HostOther;

/** What every host inode keeps: where it is (its parent and name, so renames move it) and the host's attributes. */
interface Placed {
  readonly sb: HostSuperBlock;
  hostPath(): string;
  place(parent: HostDir, name: string): void;
  take(st: HostStat): void;
}

function takeAttrs(i: Inode, st: HostStat): void {
  i.mode = modeOf(st);
  i.nlink = st.nlink;
  i.uid = st.uid;
  i.gid = st.gid;
  i.atime = st.atimeNs;
  i.mtime = st.mtimeNs;
  i.ctime = st.ctimeNs;
}

function hostPathOf(parent: HostDir | undefined, name: string, sb: HostSuperBlock): string {
  if (parent === undefined) return sb.hostRoot;
  const base = parent.hostPath();
  return base.endsWith('/') ? `${base}${name}` : `${base}/${name}`;
}

export class HostDir extends DirInode implements Placed {
  declare readonly sb: HostSuperBlock;
  parent: DirInode;
  private up: HostDir | undefined;
  private name: string;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir | undefined, name: string) {
    super(sb, st.ino, modeOf(st), st.uid, st.gid);
    this.up = parent;
    this.parent = parent ?? this;
    this.name = name;
    takeAttrs(this, st);
  }

  hostPath(): string {
    return hostPathOf(this.up, this.name, this.sb);
  }

  place(parent: HostDir, name: string): void {
    this.up = parent;
    this.parent = parent;
    this.name = name;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
  }

  override nameInParent(): string | undefined {
    return this.up === undefined ? undefined : this.name;
  }

  override refresh(): void {
    this.take(this.sb.fs.lstat(this.hostPath()));
  }

  private child(name: string): string {
    return hostPathOf(this, name, this.sb);
  }

  lookup(name: string): Inode | undefined {
    let st: HostStat;
    try {
      st = this.sb.fs.lstat(this.child(name));
    } catch (e) {
      if (e instanceof LinuxError && (e.errno === Errno.ENOENT || e.errno === Errno.ENOTDIR))
        return undefined;
      throw e;
    }
    return this.sb.inodeFor(this, name, st);
  }

  list(): DirEntry[] {
    const out: DirEntry[] = [];
    for (const name of this.sb.fs.readdir(this.hostPath())) {
      try {
        const st = this.sb.fs.lstat(this.child(name));
        out.push({ name, ino: st.ino, type: dtypeOf(modeOf(st)) });
      } catch {
        // gone between the listing and the lstat: not listed
      }
    }
    return out;
  }

  override get isEmpty(): boolean {
    return this.sb.fs.readdir(this.hostPath()).length === 0;
  }

  create(name: string, what: NodeKind, perm: number): Inode {
    this.sb.checkWritable();
    const path = this.child(name);
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
    this.sb.fs.link((inode as unknown as Placed).hostPath(), this.child(name));
    inode.nlink++;
  }

  unlink(name: string): void {
    this.sb.checkWritable();
    const node = this.lookup(name);
    if (node instanceof HostDir) this.sb.fs.rmdir(this.child(name));
    else this.sb.fs.unlink(this.child(name));
    if (node !== undefined) {
      node.nlink = node instanceof HostDir ? 0 : node.nlink - 1;
      if (node.nlink === 0) this.sb.forget(node.ino);
    }
  }

  rename(from: DirInode, oldName: string, newName: string): void {
    this.sb.checkWritable();
    const src = from as HostDir;
    const moving = src.lookup(oldName) as HostInode | undefined;
    const replaced = this.lookup(newName);
    this.sb.fs.rename(src.child(oldName), this.child(newName));
    if (replaced !== undefined && replaced !== moving) this.sb.forget(replaced.ino);
    moving?.place(this, newName);
  }

  override setMode(mode: number): void {
    this.sb.checkWritable();
    this.sb.fs.chmod(this.hostPath(), mode & 0o7777);
    this.refresh();
  }

  override setOwner(uid: number, gid: number): void {
    if ((uid !== -1 && uid !== this.uid) || (gid !== -1 && gid !== this.gid))
      fail(Errno.EPERM, 'owners of host files do not change');
  }

  override setTimes(atime: bigint | undefined, mtime: bigint | undefined): void {
    this.sb.checkWritable();
    this.sb.fs.utimes(this.hostPath(), atime ?? this.atime, mtime ?? this.mtime);
    this.refresh();
  }
}

export class HostFile extends RegularInode implements Placed {
  declare readonly sb: HostSuperBlock;
  private up: HostDir;
  private name: string;
  private bytes: number;
  private handle: number | undefined;
  private writable = false;
  private cache: PageCache | undefined;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir, name: string) {
    super(sb, st.ino, modeOf(st), st.uid, st.gid);
    this.up = parent;
    this.name = name;
    this.bytes = st.size;
    takeAttrs(this, st);
  }

  hostPath(): string {
    return hostPathOf(this.up, this.name, this.sb);
  }

  place(parent: HostDir, name: string): void {
    this.up = parent;
    this.name = name;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
    this.bytes = st.size;
    if (this.cache !== undefined && this.cache.size !== st.size) this.cache.truncate(st.size);
  }

  override refresh(): void {
    this.take(this.sb.fs.lstat(this.hostPath()));
  }

  get size(): number {
    return this.bytes;
  }

  override get blocks(): number {
    return Math.ceil(this.bytes / 4096) * 8;
  }

  /** A host handle that can write when `write` (opened once, upgraded once). */
  private open(write: boolean): number {
    if (this.handle !== undefined && (this.writable || !write)) return this.handle;
    if (write) this.sb.checkWritable();
    const h = this.sb.openHandle(this.hostPath(), write);
    if (this.handle !== undefined) this.sb.closeHandle(this.handle);
    this.handle = h;
    this.writable = write;
    return h;
  }

  read(iter: IoIter, pos: number): number {
    if (this.cache !== undefined) return pos >= this.bytes ? 0 : this.cache.read(iter, pos);
    const h = this.open(false);
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
    const h = this.open(true);
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
    this.sb.fs.ftruncate(this.open(true), size);
    this.bytes = size;
    this.cache?.truncate(size);
    this.mtime = this.ctime = this.sb.now();
  }

  pages(): PageSource {
    if (this.cache === undefined) {
      const h = this.open(false);
      this.cache = new PageCache(this.sb.frames, this.sb.mem, this.bytes, (index, page) => {
        this.sb.fs.read(h, page, index * 4096);
      });
    }
    return this.cache;
  }

  /** Shared writable mappings may have changed any cached page: all of them go back to the host. */
  override sync(): void {
    const cache = this.cache;
    if (cache === undefined || this.sb.readOnly) return;
    cache.markAllDirty();
    const h = this.open(true);
    for (const [index, page] of cache.takeDirty()) {
      const start = index * 4096;
      const n = Math.min(4096, this.bytes - start);
      if (n > 0) this.sb.fs.write(h, page.subarray(0, n), start);
    }
    this.sb.fs.fsync(h);
  }

  /** The end of the run: mapped pages written back, the cache and the handle let go. */
  drop(): void {
    this.cache?.release();
    this.cache = undefined;
    if (this.handle !== undefined) this.sb.closeHandle(this.handle);
    this.handle = undefined;
  }

  override setMode(mode: number): void {
    this.sb.checkWritable();
    this.sb.fs.chmod(this.hostPath(), mode & 0o7777);
    this.refresh();
  }

  override setOwner(uid: number, gid: number): void {
    if ((uid !== -1 && uid !== this.uid) || (gid !== -1 && gid !== this.gid))
      fail(Errno.EPERM, 'owners of host files do not change');
  }

  override setTimes(atime: bigint | undefined, mtime: bigint | undefined): void {
    this.sb.checkWritable();
    this.sb.fs.utimes(this.hostPath(), atime ?? this.atime, mtime ?? this.mtime);
    this.refresh();
  }
}

export class HostSymlink extends SymlinkInode implements Placed {
  declare readonly sb: HostSuperBlock;
  private up: HostDir;
  private name: string;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir, name: string) {
    super(sb, st.ino, st.uid, st.gid, '');
    this.up = parent;
    this.name = name;
    takeAttrs(this, st);
  }

  hostPath(): string {
    return hostPathOf(this.up, this.name, this.sb);
  }

  place(parent: HostDir, name: string): void {
    this.up = parent;
    this.name = name;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
  }

  /** The host's link text; the kernel resolves it in the guest's name space. */
  override readlink(): string {
    return this.sb.fs.readlink(this.hostPath());
  }

  override refresh(): void {
    this.take(this.sb.fs.lstat(this.hostPath()));
  }
}

/** A host socket, FIFO or device: it can be looked at (stat) but not opened. */
export class HostOther extends Inode implements Placed {
  declare readonly sb: HostSuperBlock;
  private up: HostDir;
  private name: string;

  constructor(sb: HostSuperBlock, st: HostStat, parent: HostDir, name: string) {
    super(sb, st.ino, modeOf(st), st.uid, st.gid);
    this.up = parent;
    this.name = name;
    takeAttrs(this, st);
  }

  hostPath(): string {
    return hostPathOf(this.up, this.name, this.sb);
  }

  place(parent: HostDir, name: string): void {
    this.up = parent;
    this.name = name;
  }

  take(st: HostStat): void {
    takeAttrs(this, st);
  }

  get size(): number {
    return 0;
  }
}
