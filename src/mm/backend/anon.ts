/**
 * Private anonymous memory (axmm's `Alloc`, Linux's `MAP_PRIVATE |
 * MAP_ANONYMOUS`, the heap and the stack): frames from the allocator, all
 * at creation (`populate`) or one at a time on first touch. A read of an
 * untouched page maps the allocator's shared zero page read-only (as Linux
 * does); the first write copies it like any copy-on-write page.
 */
import { Errno, LinuxError } from '../../errno/index.js';
import { type MappingFlags, PageSize } from '../../paging/index.js';
import { PrivateBackend } from './private.js';
import type { Backend, BackendHost } from './types.js';

export class AnonBackend extends PrivateBackend {
  readonly kind = 'alloc';

  constructor(readonly populate: boolean) {
    super();
  }

  mapArea(host: BackendHost, start: number, end: number, flags: MappingFlags): void {
    if (!this.populate) return;
    const n = (end - start) / PageSize.Size4K;
    const frames: number[] = [];
    try {
      const pte = host.pteFlags(flags);
      for (let i = 0; i < n; i++) {
        const f = host.frames.alloc();
        if (f === undefined) throw new LinuxError(Errno.ENOMEM, `out of frames after ${i} of ${n}`);
        frames.push(f);
        host.pt.map(start + i * PageSize.Size4K, f, PageSize.Size4K, pte);
      }
    } catch (e) {
      for (let k = 0; k < frames.length; k++) {
        if (host.pt.translate(start + k * PageSize.Size4K) >= 0) host.pt.unmap(start + k * PageSize.Size4K);
        host.frames.release(frames[k]);
      }
      host.pt.releaseEmptyTables(start, end - start);
      throw e;
    }
  }

  fillFrame(host: BackendHost, _vaddr: number, write: boolean): number | undefined {
    return write ? host.frames.alloc() : host.frames.takeZeroPage();
  }

  readOnlyFill(write: boolean): boolean {
    return !write;
  }

  moved(): Backend {
    return this;
  }

  canMergeWith(next: Backend): boolean {
    return next instanceof AnonBackend;
  }

  peekAbsent(_host: BackendHost, _vaddr: number, dst: Uint8Array): boolean {
    dst.fill(0);
    return true;
  }
}
