/** The kernel's host interface for Node: the process's standard streams, clocks and crypto. */
import { randomFillSync } from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { Host, HostFileSystem } from '../kernel/index.js';

export class NodeHost implements Host {
  private readonly start = process.hrtime.bigint();

  /** `fs` is the host's file system for mounted directories (none: a sandbox). */
  constructor(readonly fs?: HostFileSystem) {}

  write(fd: 1 | 2, bytes: Uint8Array): number {
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(fd, bytes, done, bytes.length - done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        // Nothing reads the stream any more (`axptr run prog | head -1`): the program gets EPIPE and SIGPIPE.
        if (code === 'EPIPE') return done > 0 ? done : -32;
        throw e;
      }
    }
    return done;
  }

  readStdin(max: number): Uint8Array {
    const buf = new Uint8Array(max);
    for (;;) {
      try {
        return buf.subarray(0, readSync(0, buf, 0, max, null));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        if (code === 'EOF') return new Uint8Array(0);
        throw e;
      }
    }
  }

  isatty(fd: number): boolean {
    return isatty(fd);
  }

  realtimeNs(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }

  monotonicNs(): bigint {
    return process.hrtime.bigint() - this.start;
  }

  random(out: Uint8Array): void {
    randomFillSync(out);
  }

  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  sleepNs(ns: bigint): void {
    // Atomics.wait on a cell nobody notifies: a real sleep that does not spin.
    const ms = Number(ns / 1_000_000n);
    const end = process.hrtime.bigint() + ns;
    if (ms > 0) Atomics.wait(this.sleeper, 0, 0, ms);
    while (process.hrtime.bigint() < end) Atomics.wait(this.sleeper, 0, 0, 0.1);
  }

  windowSize(): { rows: number; cols: number } {
    const s = process.stdout;
    return { rows: s.rows ?? 24, cols: s.columns ?? 80 };
  }
}
