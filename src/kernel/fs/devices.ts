/**
 * Character devices (Linux's drivers/char/mem.c and the tty): /dev/null,
 * zero, full, random, urandom, and the console: the host's standard
 * streams behind fds 0, 1 and 2 and /dev/tty. A device node's rdev picks
 * its driver when it is opened.
 */
import { Errno } from '../../errno/index.js';
import type { Host } from '../host.js';
import { OpenFile, POLLIN, POLLOUT } from './file.js';
import { Inode, type IoIter, S_IFCHR, S_IFIFO, S_IFMT, type SuperBlock } from './inode.js';

/** Linux's new_encode_dev: the st_rdev a program sees for (major, minor). */
export const makedev = (major: number, minor: number): number =>
  (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);

export const DEV_NULL = makedev(1, 3);
export const DEV_ZERO = makedev(1, 5);
export const DEV_FULL = makedev(1, 7);
export const DEV_RANDOM = makedev(1, 8);
export const DEV_URANDOM = makedev(1, 9);
export const DEV_TTY = makedev(5, 0);

const CHUNK = 65536;

/** What a device does for reads and writes of its open files. */
export interface CharDriver {
  read(iter: IoIter): number;
  write(iter: IoIter): number;
}

/** Drains `iter` (a write that takes everything), answering the bytes it could read. */
function swallow(iter: IoIter): number {
  const sink = new Uint8Array(Math.min(CHUNK, iter.count));
  let done = 0;
  while (iter.count > 0) {
    const want = Math.min(sink.length, iter.count);
    const got = iter.copyIn(sink.subarray(0, want));
    done += got;
    if (got < want) break;
  }
  return done === 0 && iter.count > 0 ? -Errno.EFAULT : done;
}

function pour(iter: IoIter, make: (chunk: Uint8Array) => void): number {
  const total = iter.count;
  const chunk = new Uint8Array(Math.min(CHUNK, total));
  let done = 0;
  while (iter.count > 0) {
    const part = chunk.subarray(0, Math.min(chunk.length, iter.count));
    make(part);
    const moved = iter.copyOut(part);
    done += moved;
    if (moved < part.length) break;
  }
  return done === 0 && total > 0 ? -Errno.EFAULT : done;
}

/** Zeros to copy out of (never written: copyOut only reads it). */
const ZEROS = new Uint8Array(CHUNK);

/** /dev/zero's read: zeros straight from one shared buffer, no fill per call. */
function zeros(iter: IoIter): number {
  const total = iter.count;
  let done = 0;
  while (iter.count > 0) {
    const n = Math.min(CHUNK, iter.count);
    const moved = iter.copyOut(ZEROS.subarray(0, n));
    done += moved;
    if (moved < n) break;
  }
  return done === 0 && total > 0 ? -Errno.EFAULT : done;
}

/** The drivers by rdev. */
export function memDrivers(host: Host): Map<number, CharDriver> {
  const random = (c: Uint8Array) => host.random(c);
  // /dev/null and /dev/zero take a write without looking at it (Linux's write_null: a bad buffer is fine);
  // /dev/random and /dev/urandom read what is written (entropy in), which we take and drop.
  return new Map<number, CharDriver>([
    [DEV_NULL, { read: () => 0, write: (it) => it.count }],
    [DEV_ZERO, { read: zeros, write: (it) => it.count }],
    [DEV_FULL, { read: zeros, write: (it) => (it.count === 0 ? 0 : -Errno.ENOSPC) }],
    [DEV_RANDOM, { read: (it) => pour(it, random), write: (it) => (it.count === 0 ? 0 : swallow(it)) }],
    [DEV_URANDOM, { read: (it) => pour(it, random), write: (it) => (it.count === 0 ? 0 : swallow(it)) }],
  ]);
}

export class DeviceFile extends OpenFile {
  constructor(
    inode: Inode,
    flags: number,
    path: string,
    readonly driver: CharDriver,
  ) {
    super(inode, flags, path);
  }

  /** lseek on the memory devices succeeds and does nothing (Linux's null_lseek). */
  override get seekable(): boolean {
    return true;
  }

  override read(iter: IoIter): number {
    return this.driver.read(iter);
  }

  override write(iter: IoIter): number {
    return this.driver.write(iter);
  }
}

/**
 * One of the host's standard streams as the guest sees it: a terminal (a
 * character device, like /dev/pts/N) when the host's stream is one, else a
 * pipe (what a shell's redirection to a program usually gives).
 */
export class ConsoleInode extends Inode {
  constructor(
    sb: SuperBlock,
    readonly host: Host,
    readonly hostFd: 0 | 1 | 2,
  ) {
    const tty = host.isatty(hostFd);
    super(sb, sb.nextIno(), tty ? S_IFCHR | 0o620 : S_IFIFO | 0o600, 0, 0);
    this.rdev = tty ? makedev(136, 0) : 0;
  }

  get isTerminal(): boolean {
    return (this.mode & S_IFMT) === S_IFCHR;
  }

  get size(): number {
    return 0;
  }

  override get blocks(): number {
    return 0;
  }
}

export class ConsoleFile extends OpenFile {
  declare readonly inode: ConsoleInode;

  override read(iter: IoIter): number {
    if (this.inode.hostFd !== 0) return -Errno.EBADF;
    if (iter.count === 0) return 0;
    const data = this.inode.host.readStdin(Math.min(iter.count, CHUNK));
    if (data.length === 0) return 0;
    const n = iter.copyOut(data);
    // Bytes the program's buffer could not take are lost, as a tty's would be on EFAULT.
    return n === 0 ? -Errno.EFAULT : n;
  }

  override write(iter: IoIter): number {
    const fd = this.inode.hostFd === 0 ? 1 : this.inode.hostFd;
    const total = iter.count;
    const chunk = new Uint8Array(Math.min(CHUNK, total));
    let done = 0;
    while (iter.count > 0) {
      const want = Math.min(chunk.length, iter.count);
      const got = iter.copyIn(chunk.subarray(0, want));
      if (got > 0) {
        const put = this.inode.host.write(fd, chunk.subarray(0, got));
        if (put < 0) return done > 0 ? done : put; // -EPIPE: the reader is gone
        done += put;
        if (put < got) break;
      }
      if (got < want) break;
    }
    return done === 0 && total > 0 ? -Errno.EFAULT : done;
  }

  override poll(): number {
    return this.inode.hostFd === 0 ? POLLIN : POLLOUT;
  }
}
