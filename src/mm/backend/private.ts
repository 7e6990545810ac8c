/**
 * What the private mappings (anonymous and file) share: their frames are
 * reference-counted; fork shares every present page with the child
 * copy-on-write (both sides read-only until one writes); unmap drops one
 * reference per page; a page whose frame is still shared stays read-only
 * through mprotect.
 */
import { MappingFlags, PageSize } from '../../paging/index.js';
import type { Backend, BackendHost, BackendKind } from './types.js';

export abstract class PrivateBackend implements Backend {
  abstract readonly kind: BackendKind;
  readonly copyOnWrite = true;

  abstract moved(delta: number): Backend;

  abstract mapArea(host: BackendHost, start: number, end: number, flags: MappingFlags): void;
  abstract fillFrame(host: BackendHost, vaddr: number, write: boolean): number | undefined;
  abstract readOnlyFill(write: boolean): boolean;
  abstract canMergeWith(next: Backend): boolean;
  abstract peekAbsent(host: BackendHost, vaddr: number, dst: Uint8Array): boolean;

  unmapPages(host: BackendHost, start: number, end: number): void {
    // Only the pages present cost anything: absent tables are skipped whole.
    host.pt.forEachMapped(start, end - start, (v, p) => {
      host.pt.unmap(v);
      host.frames.release(p);
    });
  }

  protectPages(host: BackendHost, start: number, end: number, flags: MappingFlags): void {
    host.pt.forEachMapped(start, end - start, (v, p) => {
      // A frame still shared copy-on-write stays read-only until written.
      const pte = host.pteFlags(flags);
      host.pt.protect(v, isSharedFrame(host, p) ? pte & ~MappingFlags.WRITE : pte);
    });
  }

  fork(parent: BackendHost, child: BackendHost, start: number, end: number, flags: MappingFlags): Backend {
    const ro = flags & ~MappingFlags.WRITE;
    parent.pt.forEachMapped(start, end - start, (v, p, pteFlags) => {
      const shared = pteFlags & ~MappingFlags.WRITE;
      child.pt.map(v, p, PageSize.Size4K, child.pteFlags(shared));
      parent.frames.retain(p);
      if (pteFlags !== shared) parent.pt.protect(v, parent.pteFlags(ro | (pteFlags & ~flags)));
    });
    return this;
  }
}

/** True when the frame at `p` must be copied before a private write: mapped twice or more, or the zero page. */
export function isSharedFrame(host: BackendHost, p: number): boolean {
  return host.frames.refCount(p) > 1 || host.frames.isZeroPage(p);
}
