/**
 * A process's file-descriptor table (Linux's files_struct): small integers
 * to open files, each with its close-on-exec flag. A new descriptor is the
 * lowest free one (at or above a minimum); none below RLIMIT_NOFILE is
 * EMFILE.
 */
import { Errno } from '../errno/index.js';
import type { OpenFile } from './fs/file.js';

/** The most descriptors a table can ever hold (Linux's fs.nr_open default). */
export const NR_OPEN = 1 << 20;

export class FdTable {
  private readonly files: (OpenFile | undefined)[] = [];
  private readonly cloexec: boolean[] = [];
  private count = 0;
  /**
   * The table's size as Linux grows it (max_fds: 64, then 128 · 2^k to hold
   * the highest descriptor ever used; it never shrinks). select clamps its
   * nfds to it.
   */
  maxFds = 64;
  /** Processes sharing the table (CLONE_FILES without CLONE_THREAD); the last one's exit closes it. */
  users = 1;

  /** `limit()` is the process's RLIMIT_NOFILE soft limit. */
  constructor(private readonly limit: () => number) {}

  get size(): number {
    return this.count;
  }

  get(fd: number): OpenFile | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.files[fd] : undefined;
  }

  isCloexec(fd: number): boolean {
    return this.cloexec[fd] === true;
  }

  setCloexec(fd: number, on: boolean): void {
    if (this.files[fd] !== undefined) this.cloexec[fd] = on;
  }

  /** Is a descriptor free below the limit (an open would get one)? */
  hasFree(): boolean {
    return (
      this.count < Math.min(this.limit(), NR_OPEN) || this.files.slice(0, this.limit()).includes(undefined)
    );
  }

  /** Installs `file` at the lowest free descriptor ≥ `min`; answers it, or -EMFILE (the caller keeps `file`). */
  install(file: OpenFile, cloexec = false, min = 0): number {
    const limit = Math.min(this.limit(), NR_OPEN);
    let fd = Math.max(0, min);
    while (fd < limit && this.files[fd] !== undefined) fd++;
    if (fd >= limit) return -Errno.EMFILE;
    this.files[fd] = file;
    this.cloexec[fd] = cloexec;
    this.count++;
    this.grow(fd);
    return fd;
  }

  private grow(fd: number): void {
    if (fd < this.maxFds) return;
    let n = 128;
    while (n <= fd) n *= 2;
    this.maxFds = n;
  }

  /** dup2/dup3: puts `file` at `fd`, closing what was there. */
  installAt(fd: number, file: OpenFile, cloexec: boolean): number {
    if (fd < 0 || fd >= Math.min(this.limit(), NR_OPEN)) return -Errno.EBADF;
    const old = this.files[fd];
    if (old === undefined) this.count++;
    this.files[fd] = file;
    this.cloexec[fd] = cloexec;
    this.grow(fd);
    old?.put();
    return fd;
  }

  /** Closes `fd`; false when it was not open. */
  close(fd: number): boolean {
    const f = this.get(fd);
    if (f === undefined) return false;
    this.files[fd] = undefined;
    this.cloexec[fd] = false;
    this.count--;
    f.put();
    return true;
  }

  /** The open descriptors in order. */
  *entries(): IterableIterator<[number, OpenFile]> {
    for (let i = 0; i < this.files.length; i++) {
      const f = this.files[i];
      if (f !== undefined) yield [i, f];
    }
  }

  /** The highest descriptor that could be open (close_range's bound). */
  get highest(): number {
    return this.files.length - 1;
  }

  /** fork's copy (Linux's dup_fd): the same open files, each shared once more, and their close-on-exec flags. */
  copy(limit: () => number): FdTable {
    const t = new FdTable(limit);
    for (const [fd, f] of this.entries()) {
      t.files[fd] = f.get();
      t.cloexec[fd] = this.cloexec[fd] === true;
      t.count++;
    }
    t.maxFds = this.maxFds;
    return t;
  }

  /** execve: every close-on-exec descriptor is closed. */
  closeOnExec(): void {
    for (const [fd] of [...this.entries()]) if (this.cloexec[fd] === true) this.close(fd);
  }

  closeAll(): void {
    for (const [fd] of [...this.entries()]) this.close(fd);
  }
}
