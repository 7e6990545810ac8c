/**
 * What an address space gives its mapping backends, and what a backend is
 * (axmm's `backend/`: one file per kind of mapping).
 *
 * The space keeps the generic page mechanics (areas, the fault path, the
 * copy-on-write break, the plan-then-commit of `populateArea`); a backend
 * decides what its pages are: where an absent page's frame comes from,
 * whether a write to a frame shared with another mapping copies it (private)
 * or goes to it (shared), what fork gives the child, what unmap releases, and
 * which neighbour it may merge with.
 */
import type { FrameAllocator, MappingFlags, PageTable64, PhysMemory } from '../../paging/index.js';

/**
 * The pages of a memory object that mappings share: a file's page cache (the
 * kernel implements it), an anonymous shared memory object ({@link ShmemObject}).
 */
export interface PageSource {
  /** Bytes in the object; a page wholly past the end cannot be mapped (Linux: `SIGBUS`). */
  readonly size: number;
  /**
   * The frame of page `index` (bytes past the object's end read as zero),
   * with one more reference for the caller, who drops it with the
   * allocator's `release`; undefined when no frame is left or the page lies
   * wholly past the end. The same index gives the same frame while the
   * object keeps it, so every mapping of the page shares it.
   */
  getPage(index: number): number | undefined;
}

/** What an address space lends its backends. */
export interface BackendHost {
  readonly pt: PageTable64;
  readonly frames: FrameAllocator;
  readonly mem: PhysMemory;
  /** The page-table entry flags that realise area flags `flags` (the space's PTE policy). */
  pteFlags(flags: MappingFlags): MappingFlags;
}

export type BackendKind = 'linear' | 'alloc' | 'file' | 'shared';

export interface Backend {
  readonly kind: BackendKind;
  /**
   * True for mappings whose pages are private to the space: a frame shared
   * with another mapping (after fork, the zero page, a page-cache page) is
   * copied before the first write. False when writes go to the shared frame.
   */
  readonly copyOnWrite: boolean;
  /**
   * Maps what a new area `[start, end)` has from birth (linear: all of it;
   * an eager anonymous area: fresh frames). `ENOMEM` (or the page table's
   * error) leaves nothing mapped.
   */
  mapArea(host: BackendHost, start: number, end: number, flags: MappingFlags): void;
  /** Removes the present pages of `[start, end)` and drops what they hold. */
  unmapPages(host: BackendHost, start: number, end: number): void;
  /** Gives the present pages of `[start, end)` the area flags `flags`. */
  protectPages(host: BackendHost, start: number, end: number, flags: MappingFlags): void;
  /**
   * The frame for the absent page at `vaddr` (one reference for the new
   * mapping), or undefined when there is none (no frame left, a page past
   * the object's end, a linear area). `write` is true for a write fault and
   * for population.
   */
  fillFrame(host: BackendHost, vaddr: number, write: boolean): number | undefined;
  /** True when {@link fillFrame}'s frame for this kind of access must be mapped without WRITE (it is shared). */
  readOnlyFill(write: boolean): boolean;
  /**
   * Sets up the child's pages of `[start, end)` at fork and answers the
   * child's backend. `ENOMEM` from the child's page table propagates (the
   * space destroys the child).
   */
  fork(parent: BackendHost, child: BackendHost, start: number, end: number, flags: MappingFlags): Backend;
  /**
   * The backend for the same pages moved `delta` bytes up the address space
   * (mremap): objects keep their offsets, so the page at `va + delta` is
   * what `va` was.
   */
  moved(delta: number): Backend;
  /** True when an area of this backend may merge with the adjacent one after it that has `next` (same flags). */
  canMergeWith(next: Backend): boolean;
  /**
   * The bytes of the absent page at `vaddr` for the kernel's own read
   * (nothing allocated): zero for anonymous memory, the object's bytes for
   * a file or shared object. Answers false when it cannot (`EFAULT`).
   */
  peekAbsent(host: BackendHost, vaddr: number, dst: Uint8Array): boolean;
}
