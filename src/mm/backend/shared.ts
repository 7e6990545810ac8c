/**
 * A shared mapping (Linux's `MAP_SHARED`, of a file or anonymous): the pages
 * are the frames of a {@link PageSource}, the same in every space that maps
 * the object, across fork; a write goes to the shared frame, so every
 * mapping sees it. Fork gives the child the same backend and maps nothing:
 * the child's faults find the same frames (as Linux skips shared areas in
 * `copy_page_range`).
 */
import { PAGE_SIZE_4K } from '../../addr/index.js';
import type { MappingFlags } from '../../paging/index.js';
import { peekSource } from './file.js';
import type { Backend, BackendHost, PageSource } from './types.js';

export class SharedBackend implements Backend {
  readonly kind = 'shared';
  readonly copyOnWrite = false;

  constructor(
    readonly source: PageSource,
    readonly vaOffset: number,
  ) {}

  /** The backend whose area at `start` shows the source from byte `offset`. */
  static at(source: PageSource, start: number, offset: number): SharedBackend {
    return new SharedBackend(source, start - offset);
  }

  pageIndex(vaddr: number): number {
    return (vaddr - (vaddr % PAGE_SIZE_4K) - this.vaOffset) / PAGE_SIZE_4K;
  }

  mapArea(): void {}

  unmapPages(host: BackendHost, start: number, end: number): void {
    host.pt.forEachMapped(start, end - start, (v, p) => {
      host.pt.unmap(v);
      host.frames.release(p);
    });
  }

  protectPages(host: BackendHost, start: number, end: number, flags: MappingFlags): void {
    host.pt.forEachMapped(start, end - start, (v) => {
      host.pt.protect(v, host.pteFlags(flags));
    });
  }

  fillFrame(_host: BackendHost, vaddr: number): number | undefined {
    return this.source.getPage(this.pageIndex(vaddr));
  }

  readOnlyFill(): boolean {
    return false;
  }

  fork(): Backend {
    return this;
  }

  moved(delta: number): Backend {
    return new SharedBackend(this.source, this.vaOffset + delta);
  }

  canMergeWith(next: Backend): boolean {
    return next instanceof SharedBackend && next.source === this.source && next.vaOffset === this.vaOffset;
  }

  peekAbsent(host: BackendHost, vaddr: number, dst: Uint8Array): boolean {
    return peekSource(host, this.source, this.pageIndex(vaddr), vaddr % PAGE_SIZE_4K, dst);
  }
}
