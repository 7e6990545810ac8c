/**
 * A linear mapping (axmm's `Linear`): page `va` maps physical `va -
 * paVaOffset`, fixed at creation (device memory, the kernel's own memory).
 * Nothing is allocated and nothing released; fork gives the child the same
 * physical range; writes go to it in place.
 */
import type { MappingFlags } from '../../paging/index.js';
import type { Backend, BackendHost } from './types.js';

export class LinearBackend implements Backend {
  readonly kind = 'linear';
  readonly copyOnWrite = false;

  constructor(readonly paVaOffset: number) {}

  mapArea(host: BackendHost, start: number, end: number, flags: MappingFlags): void {
    host.pt.mapRegion(start, start - this.paVaOffset, end - start, host.pteFlags(flags));
  }

  unmapPages(host: BackendHost, start: number, end: number): void {
    host.pt.unmapRegion(start, end - start);
  }

  protectPages(host: BackendHost, start: number, end: number, flags: MappingFlags): void {
    host.pt.protectRegion(start, end - start, host.pteFlags(flags));
  }

  fillFrame(): number | undefined {
    return undefined; // every page is present from creation
  }

  readOnlyFill(): boolean {
    return false;
  }

  fork(_parent: BackendHost, child: BackendHost, start: number, end: number, flags: MappingFlags): Backend {
    this.mapArea(child, start, end, flags);
    return this;
  }

  moved(delta: number): Backend {
    return new LinearBackend(this.paVaOffset + delta);
  }

  canMergeWith(next: Backend): boolean {
    return next instanceof LinearBackend && next.paVaOffset === this.paVaOffset;
  }

  peekAbsent(): boolean {
    return false;
  }
}
