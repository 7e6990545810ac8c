/**
 * A private file mapping (Linux's `MAP_PRIVATE` of a file; what ELF segments
 * are): pages come lazily from a {@link PageSource} (the file's page cache)
 * at the file offset of the page. A read maps the page-cache frame itself
 * read-only; the first write copies it (copy-on-write), so the file never
 * sees the process's writes. A page wholly past the end of the file cannot
 * be mapped (Linux's `SIGBUS`).
 *
 * The file offset of page `va` is `va - vaOffset`, fixed at creation, so
 * splitting or merging areas never has to move an offset (Linux's
 * `vm_pgoff`).
 */
import { PAGE_SIZE_4K } from '../../addr/index.js';
import { PrivateBackend } from './private.js';
import type { Backend, BackendHost, PageSource } from './types.js';

export class FileBackend extends PrivateBackend {
  readonly kind = 'file';

  /** Maps `[start, …)` to the source from byte `offset` (page-aligned). */
  constructor(
    readonly source: PageSource,
    readonly vaOffset: number,
  ) {
    super();
  }

  /** The backend whose area at `start` shows the source from byte `offset`. */
  static at(source: PageSource, start: number, offset: number): FileBackend {
    return new FileBackend(source, start - offset);
  }

  /** The source's page index for the page at `vaddr`. */
  pageIndex(vaddr: number): number {
    return (vaddr - (vaddr % PAGE_SIZE_4K) - this.vaOffset) / PAGE_SIZE_4K;
  }

  mapArea(): void {
    // Lazy: every page comes from the source on first touch.
  }

  fillFrame(host: BackendHost, vaddr: number, write: boolean): number | undefined {
    const cached = this.source.getPage(this.pageIndex(vaddr));
    if (cached === undefined || !write) return cached;
    // A write to a page never read: copy it out of the page cache at once (Linux's do_cow_fault).
    const fresh = host.frames.alloc();
    if (fresh !== undefined) host.mem.copy(fresh, cached, PAGE_SIZE_4K);
    host.frames.release(cached);
    return fresh;
  }

  readOnlyFill(write: boolean): boolean {
    return !write;
  }

  moved(delta: number): Backend {
    return new FileBackend(this.source, this.vaOffset + delta);
  }

  canMergeWith(next: Backend): boolean {
    return next instanceof FileBackend && next.source === this.source && next.vaOffset === this.vaOffset;
  }

  peekAbsent(host: BackendHost, vaddr: number, dst: Uint8Array): boolean {
    return peekSource(host, this.source, this.pageIndex(vaddr), vaddr % PAGE_SIZE_4K, dst);
  }
}

/** Copies bytes of page `index` of `source` from in-page offset `at` into `dst` (a reference is taken and dropped). */
export function peekSource(
  host: BackendHost,
  source: PageSource,
  index: number,
  at: number,
  dst: Uint8Array,
): boolean {
  const frame = source.getPage(index);
  if (frame === undefined) return false;
  const off = frame - host.mem.base + at;
  dst.set(host.mem.bytes.subarray(off, off + dst.length));
  host.frames.release(frame);
  return true;
}
