/** The kernel's host interface for Node: the process's standard streams, clocks and crypto. */
import { randomFillSync } from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { Host } from '../kernel/index.js';

export class NodeHost implements Host {
  private readonly start = process.hrtime.bigint();

  write(fd: 1 | 2, bytes: Uint8Array): number {
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(fd, bytes, done, bytes.length - done);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
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
}
