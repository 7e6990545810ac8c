/**
 * The name space (Linux's namei and mounts): one tree of directories from
 * a memory-fs root, with other file systems mounted on its directories.
 * Every path is resolved here, one component at a time: `.` and `..`
 * (which at a mount's root goes to the directory it is mounted on, and at
 * the process's root stays there), symlinks (at most 40, their targets
 * resolved again in this name space, so no symlink leads out of it),
 * `NAME_MAX` components, search permission. A mounted host directory is
 * asked only about single names, never about `..` or a link's target: no
 * path leaves a mount.
 */
import { Errno } from '../../errno/index.js';
import { DirInode, fail, type Inode, isMagicLink, NAME_MAX, SymlinkInode } from './inode.js';

/** Linux's MAXSYMLINKS. */
export const MAXSYMLINKS = 40;

export interface Credentials {
  uid: number;
  gid: number;
}

/** Where a walk starts and who walks. */
export interface NameiContext {
  readonly root: DirInode;
  readonly cwd: DirInode;
  readonly creds: Credentials;
}

export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

/**
 * Linux's generic_permission for owner, group and others; root may read and
 * write anything, and execute what has any execute bit (or is a directory).
 */
export function permission(inode: Inode, mask: number, creds: Credentials): boolean {
  if (creds.uid === 0) {
    if ((mask & MAY_EXEC) === 0) return true;
    return (inode.mode & 0o111) !== 0 || inode instanceof DirInode;
  }
  const shift = creds.uid === inode.uid ? 6 : creds.gid === inode.gid ? 3 : 0;
  const have = (inode.mode >>> shift) & 7;
  return (have & mask) === mask;
}

export interface Mount {
  /** Where it is mounted, as /proc/self/mounts prints it. */
  readonly path: string;
  readonly root: DirInode;
  readonly source: string;
}

const enc = new TextEncoder();

export class Vfs {
  private readonly mountAt = new Map<DirInode, DirInode>();
  private readonly mountedOn = new Map<DirInode, DirInode>();
  readonly mounts: Mount[] = [];

  constructor(readonly root: DirInode) {
    this.mounts.push({ path: '/', root, source: 'rootfs' });
  }

  /** Mounts `fsRoot` on the directory `dir` (which must not be a mount root already). */
  mount(dir: DirInode, fsRoot: DirInode, path: string, source: string): void {
    if (this.mountAt.has(dir)) fail(Errno.EBUSY, `${path} is already a mount point`);
    this.mountAt.set(dir, fsRoot);
    this.mountedOn.set(fsRoot, dir);
    this.mounts.push({ path, root: fsRoot, source });
  }

  /** The root of what is mounted on `node`, or `node`. */
  crossDown(node: Inode): Inode {
    let n = node;
    for (
      let m = n instanceof DirInode ? this.mountAt.get(n) : undefined;
      m !== undefined;
      m = this.mountAt.get(m)
    )
      n = m;
    return n;
  }

  /** What `..` of `dir` is: never above `root`, across mounts to the directory mounted on. */
  parentOf(dir: DirInode, root: DirInode): DirInode {
    let d = dir;
    for (;;) {
      if (d === root) return d;
      const below = this.mountedOn.get(d);
      if (below === undefined) break;
      d = below;
    }
    return this.crossDown(d.parent) as DirInode;
  }

  /** Is `dir` the root of a mounted file system (or of everything)? */
  isMountRoot(dir: DirInode): boolean {
    return dir === this.root || this.mountedOn.has(dir) || this.mountAt.has(dir);
  }

  /** The path of `dir` from `root` (getcwd); undefined when it was removed. */
  pathOf(dir: DirInode, root: DirInode): string | undefined {
    const parts: string[] = [];
    let d = dir;
    for (let guard = 0; d !== root; guard++) {
      if (guard > 1 << 20) return undefined; // no tree is this deep: a cycle
      const below = this.mountedOn.get(d);
      if (below !== undefined) {
        d = below;
        continue;
      }
      if (d.parent === d) return undefined; // a root that is not ours
      if (d.nlink === 0) return undefined;
      const name = d.nameInParent();
      if (name === undefined) return undefined;
      parts.unshift(name);
      d = d.parent;
    }
    return `/${parts.join('/')}`;
  }

  /** Resolves `path` from `start` (or the root when absolute); the last symlink is followed when `follow`. */
  lookup(ctx: NameiContext, start: DirInode, path: string, follow: boolean): Inode {
    return this.walk(ctx, start, path, follow, { links: 0 });
  }

  /**
   * The directory that holds the last component of `path`, and that
   * component ("." for "/"): what create, unlink and rename work on.
   * `trailingSlash` says the path ended in "/" (the name must be a directory).
   */
  lookupParent(
    ctx: NameiContext,
    start: DirInode,
    path: string,
  ): { dir: DirInode; name: string; trailingSlash: boolean } {
    if (path === '') fail(Errno.ENOENT, 'empty path');
    const trailingSlash = path.endsWith('/');
    const trimmed = path.replace(/\/+$/, '');
    const cut = trimmed.lastIndexOf('/');
    const name = cut < 0 ? trimmed : trimmed.slice(cut + 1);
    if (trimmed === '') return { dir: ctx.root, name: '.', trailingSlash };
    checkName(name);
    const prefix = cut < 0 ? '' : trimmed.slice(0, cut + 1);
    const dir = prefix === '' ? start : this.walk(ctx, start, prefix, true, { links: 0 });
    if (!(dir instanceof DirInode)) fail(Errno.ENOTDIR, `${prefix} is not a directory`);
    if (!permission(dir, MAY_EXEC, ctx.creds)) fail(Errno.EACCES, `no search permission on ${prefix}`);
    // A removed directory (a working directory or an fd that outlived rmdir) takes no new names.
    if (dir.nlink === 0) fail(Errno.ENOENT, 'the directory was removed');
    return { dir, name, trailingSlash };
  }

  private walk(
    ctx: NameiContext,
    start: DirInode,
    path: string,
    follow: boolean,
    seen: { links: number },
  ): Inode {
    if (path === '') fail(Errno.ENOENT, 'empty path');
    let node: Inode = path.startsWith('/') ? ctx.root : start;
    const parts = path.split('/');
    const trailingSlash = path.endsWith('/');
    const names = parts.filter((p) => p !== '');
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const last = i === names.length - 1;
      if (!(node instanceof DirInode)) fail(Errno.ENOTDIR, `${name}: a component is not a directory`);
      checkName(name);
      const dir: DirInode = node;
      if (!permission(dir, MAY_EXEC, ctx.creds)) fail(Errno.EACCES, `no search permission for ${name}`);
      let next: Inode | undefined;
      if (name === '.') next = dir;
      else if (name === '..') next = this.parentOf(dir, ctx.root);
      else next = dir.lookup(name);
      if (next === undefined) fail(Errno.ENOENT, `${name}: no such file or directory`);
      next = this.crossDown(next);
      if (next instanceof SymlinkInode && (!last || follow || trailingSlash)) {
        if (++seen.links > MAXSYMLINKS) fail(Errno.ELOOP, 'too many levels of symbolic links');
        if (isMagicLink(next)) {
          const target = next.jump();
          if (target === undefined) fail(Errno.ENOENT, `${name}: the link leads nowhere`);
          next = target;
        } else next = this.walk(ctx, dir, next.readlink(), true, seen);
      }
      node = next;
    }
    if (trailingSlash && !(node instanceof DirInode)) fail(Errno.ENOTDIR, `${path}: not a directory`);
    return node;
  }
}

function checkName(name: string): void {
  if (name.length > NAME_MAX / 4 && enc.encode(name).length > NAME_MAX)
    fail(Errno.ENAMETOOLONG, `a path component of ${enc.encode(name).length} bytes`);
}
