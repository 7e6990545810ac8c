/**
 * The host interface's file system for Node: node:fs's synchronous calls,
 * never following a symlink in the last component (lstat, O_NOFOLLOW), and
 * the host's errors as LinuxError with the same errno.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  futimesSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { Errno, errnoFromName, LinuxError } from '../errno/index.js';
import type { HostFileSystem, HostStat } from '../kernel/index.js';

/** Runs a node:fs call; a Node error becomes the LinuxError of its code (EIO when it has none we know). */
function host<T>(what: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const errno = code === undefined ? undefined : errnoFromName(code);
    throw new LinuxError(errno ?? Errno.EIO, `${what} ${path}: ${(e as Error).message}`);
  }
}

function statOf(st: import('node:fs').BigIntStats): HostStat {
  const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
  return {
    kind,
    perm: Number(st.mode & 0o7777n),
    size: Number(st.size),
    dev: Number(st.dev & 0x1f_ffff_ffff_ffffn),
    ino: Number(st.ino & 0x1f_ffff_ffff_ffffn),
    nlink: Number(st.nlink),
    uid: Number(st.uid),
    gid: Number(st.gid),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

export class NodeHostFs implements HostFileSystem {
  lstat(path: string): HostStat {
    return host('lstat', path, () => statOf(lstatSync(path, { bigint: true })));
  }

  readdir(path: string): string[] {
    return host('readdir', path, () => readdirSync(path));
  }

  readlink(path: string): string {
    return host('readlink', path, () => readlinkSync(path));
  }

  open(path: string, write: boolean, createPerm?: number): number {
    const c = constants;
    let flags = (write ? c.O_RDWR : c.O_RDONLY) | c.O_NOFOLLOW;
    if (createPerm !== undefined) flags |= c.O_CREAT | c.O_EXCL;
    return host('open', path, () => {
      try {
        return openSync(path, flags, createPerm);
      } catch (e) {
        // A file we may write but not read (mode 0200): open it write-only.
        if (write && (e as NodeJS.ErrnoException).code === 'EACCES')
          return openSync(path, c.O_WRONLY | c.O_NOFOLLOW);
        throw e;
      }
    });
  }

  read(handle: number, dst: Uint8Array, pos: number): number {
    return host('read', `fd ${handle}`, () => readSync(handle, dst, 0, dst.length, pos));
  }

  write(handle: number, src: Uint8Array, pos: number): number {
    return host('write', `fd ${handle}`, () => writeSync(handle, src, 0, src.length, pos));
  }

  ftruncate(handle: number, size: number): void {
    host('ftruncate', `fd ${handle}`, () => ftruncateSync(handle, size));
  }

  fsync(handle: number): void {
    host('fsync', `fd ${handle}`, () => fsyncSync(handle));
  }

  fstat(handle: number): HostStat {
    return host('fstat', `fd ${handle}`, () => statOf(fstatSync(handle, { bigint: true })));
  }

  fchmod(handle: number, perm: number): void {
    host('fchmod', `fd ${handle}`, () => fchmodSync(handle, perm));
  }

  futimes(handle: number, atimeNs: bigint, mtimeNs: bigint): void {
    // Node takes seconds as a number: microseconds survive, the last nanosecond digits may not.
    host('futimes', `fd ${handle}`, () => futimesSync(handle, Number(atimeNs) / 1e9, Number(mtimeNs) / 1e9));
  }

  openDir(path: string): number {
    const c = constants;
    return host('open', path, () => openSync(path, c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW));
  }

  close(handle: number): void {
    host('close', `fd ${handle}`, () => closeSync(handle));
  }

  mkdir(path: string, perm: number): void {
    host('mkdir', path, () => mkdirSync(path, { mode: perm }));
  }

  rmdir(path: string): void {
    host('rmdir', path, () => rmdirSync(path));
  }

  unlink(path: string): void {
    host('unlink', path, () => unlinkSync(path));
  }

  rename(from: string, to: string): void {
    host('rename', from, () => renameSync(from, to));
  }

  link(existing: string, path: string): void {
    host('link', path, () => linkSync(existing, path));
  }

  symlink(target: string, path: string): void {
    host('symlink', path, () => symlinkSync(target, path));
  }
}
