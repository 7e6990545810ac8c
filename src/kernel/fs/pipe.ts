/**
 * Pipes (Linux's fs/pipe.c): a 64 KiB ring between a read end and a write
 * end. A read of an empty pipe is end of file once no writer is left, else
 * EAGAIN (O_NONBLOCK) or a wait; a write with no reader left is EPIPE (the
 * system call raises SIGPIPE); a write of at most PIPE_BUF bytes goes in
 * whole or not at all. FIFOs (mknod) open into the same pipe.
 */
import { Errno } from '../../errno/index.js';
import { WaitQueue } from '../wait.js';
import { BLOCKED, OpenFile, POLLERR, POLLHUP, POLLIN, POLLOUT } from './file.js';
import { Inode, type IoIter, S_IFIFO, type SuperBlock } from './inode.js';

export const PIPE_BUF = 4096;
export const PIPE_SIZE = 65536;

/** The most F_SETPIPE_SZ grants (Linux's /proc/sys/fs/pipe-max-size default). */
export const PIPE_MAX_SIZE = 1 << 20;

export class Pipe {
  private ring = new Uint8Array(PIPE_SIZE);
  private head = 0;
  length = 0;
  readers = 0;
  writers = 0;
  /** Readers, writers and pollers wait here; every change to the contents or the ends wakes them. */
  readonly wait = new WaitQueue();

  get capacity(): number {
    return this.ring.length;
  }

  get free(): number {
    return this.ring.length - this.length;
  }

  /**
   * F_SETPIPE_SZ: the capacity becomes `size` rounded up to a power-of-two
   * number of pages; EBUSY when the bytes in the pipe would not fit, EPERM
   * past PIPE_MAX_SIZE. Answers the new capacity or -errno.
   */
  resize(size: number): number {
    if (size > PIPE_MAX_SIZE) return -Errno.EPERM;
    let cap = 4096;
    while (cap < size) cap *= 2;
    if (cap < this.length) return -Errno.EBUSY;
    const next = new Uint8Array(cap);
    for (let i = 0; i < this.length; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = next;
    this.head = 0;
    return cap;
  }

  /** Moves up to `iter.count` buffered bytes into `iter`; only what was stored leaves the pipe. */
  drain(iter: IoIter): number {
    let done = 0;
    while (this.length > 0 && iter.count > 0) {
      const n = Math.min(this.length, this.ring.length - this.head, iter.count);
      const moved = iter.copyOut(this.ring.subarray(this.head, this.head + n));
      this.head = (this.head + moved) % this.ring.length;
      this.length -= moved;
      done += moved;
      if (moved < n) break;
    }
    if (done > 0) this.wait.wake();
    return done;
  }

  /**
   * Takes up to `max` bytes from `iter` into the free space, a page at a
   * time as Linux's pipe_write does: a page whose copy faults part way is
   * not added (what came before it is).
   */
  fill(iter: IoIter, max: number): number {
    let done = 0;
    const page = new Uint8Array(PIPE_BUF);
    while (done < max && iter.count > 0 && this.free > 0) {
      const n = Math.min(max - done, PIPE_BUF, this.free);
      const moved = iter.copyIn(page.subarray(0, n));
      if (moved < n && iter.faulted) break;
      for (let at = 0; at < moved; ) {
        const tail = (this.head + this.length) % this.ring.length;
        const k = Math.min(moved - at, this.ring.length - tail);
        this.ring.set(page.subarray(at, at + k), tail);
        this.length += k;
        at += k;
      }
      done += moved;
      if (moved < n) break;
    }
    if (done > 0) this.wait.wake();
    return done;
  }
}

/** A pipe made by pipe2 has an inode of its own on the kernel's pipefs. */
export class PipeInode extends Inode {
  constructor(
    sb: SuperBlock,
    readonly pipe: Pipe,
  ) {
    super(sb, sb.nextIno(), S_IFIFO | 0o600, 0, 0);
  }

  get size(): number {
    return 0;
  }

  override get blocks(): number {
    return 0;
  }
}

function pipeRead(pipe: Pipe, iter: IoIter, nonblocking: boolean): number {
  if (iter.count === 0) return 0;
  if (pipe.length === 0) {
    if (pipe.writers === 0) return 0;
    return nonblocking ? -Errno.EAGAIN : BLOCKED;
  }
  const n = pipe.drain(iter);
  return n === 0 ? -Errno.EFAULT : n;
}

function pipeWrite(pipe: Pipe, iter: IoIter, nonblocking: boolean): number {
  if (pipe.readers === 0) return -Errno.EPIPE;
  const want = iter.count;
  if (want === 0) return 0;
  // Up to PIPE_BUF bytes go in whole: wait until they fit.
  if (pipe.free === 0 || (want <= PIPE_BUF && pipe.free < want)) return nonblocking ? -Errno.EAGAIN : BLOCKED;
  const n = pipe.fill(iter, want);
  // A blocking writer waits for room for the rest: the system call goes on writing (rw.ts).
  return n === 0 ? -Errno.EFAULT : n;
}

export class PipeReader extends OpenFile {
  constructor(
    inode: Inode,
    flags: number,
    path: string,
    readonly pipe: Pipe,
  ) {
    super(inode, flags, path);
    pipe.readers++;
  }

  override read(iter: IoIter): number {
    return pipeRead(this.pipe, iter, this.nonblocking);
  }

  override write(): number {
    return -Errno.EBADF;
  }

  override poll(): number {
    return (this.pipe.length > 0 ? POLLIN : 0) | (this.pipe.writers === 0 ? POLLHUP : 0);
  }

  override readyBytes(): number {
    return this.pipe.length;
  }

  override pollQueue(): WaitQueue {
    return this.pipe.wait;
  }

  protected override release(): void {
    this.pipe.readers--;
    this.pipe.wait.wake();
  }
}

export class PipeWriter extends OpenFile {
  constructor(
    inode: Inode,
    flags: number,
    path: string,
    readonly pipe: Pipe,
  ) {
    super(inode, flags, path);
    pipe.writers++;
  }

  override read(): number {
    return -Errno.EBADF;
  }

  override write(iter: IoIter): number {
    return pipeWrite(this.pipe, iter, this.nonblocking);
  }

  override poll(): number {
    return (this.pipe.free >= PIPE_BUF ? POLLOUT : 0) | (this.pipe.readers === 0 ? POLLERR : 0);
  }

  override readyBytes(): number {
    return this.pipe.length;
  }

  override pollQueue(): WaitQueue {
    return this.pipe.wait;
  }

  protected override release(): void {
    this.pipe.writers--;
    this.pipe.wait.wake();
  }
}

/** A FIFO opened O_RDWR: one file that both reads and writes (it is its own reader and writer). */
export class PipeDuplex extends OpenFile {
  constructor(
    inode: Inode,
    flags: number,
    path: string,
    readonly pipe: Pipe,
  ) {
    super(inode, flags, path);
    pipe.readers++;
    pipe.writers++;
  }

  override read(iter: IoIter): number {
    return pipeRead(this.pipe, iter, this.nonblocking);
  }

  override write(iter: IoIter): number {
    return pipeWrite(this.pipe, iter, this.nonblocking);
  }

  override poll(): number {
    return (this.pipe.length > 0 ? POLLIN : 0) | (this.pipe.free >= PIPE_BUF ? POLLOUT : 0);
  }

  override readyBytes(): number {
    return this.pipe.length;
  }

  override pollQueue(): WaitQueue {
    return this.pipe.wait;
  }

  protected override release(): void {
    this.pipe.readers--;
    this.pipe.writers--;
    this.pipe.wait.wake();
  }
}
