/**
 * The address space of a process (the Rust crate axmm's `AddrSpace`): a
 * virtual range, the sorted areas that populate it, and the page table that
 * realises them.
 *
 * Semantics follow axmm (reference/arceos-deps.md §2) with its copy-on-write
 * feature, and differ on purpose where axmm loses data or leaves a change
 * half done:
 * - `populateArea` reserves every frame it needs before it changes anything,
 *   and undoes its own mappings if a page-table allocation fails: `ENOMEM`
 *   leaves the space as it was (axmm kept what it had filled).
 * - an eager (`populate`) area whose frames run out fails the map with
 *   `ENOMEM` and maps nothing (axmm silently left holes).
 * - `protect` does not force lazy pages in (axmm populated the whole range
 *   first): present pages get the new flags, absent ones get them when they
 *   are first touched, and pages still shared copy-on-write stay read-only.
 * - `fork` shares private frames copy-on-write (axmm's `cow` feature) and
 *   gives linear areas to the child as the same linear mapping.
 * - a read fault on untouched private memory maps the allocator's shared
 *   zero page read-only (as Linux does) instead of a fresh frame; the first
 *   write copies it like any copy-on-write page. (`populateArea` and eager
 *   areas still take real frames.)
 * - pages whose area grants no access (PROT_NONE) keep their frame and data
 *   in a PROT_NONE page-table entry (Linux's `_PAGE_PROTNONE`): the page
 *   table owns it, every access in every mode faults. An entry never grants
 *   more than the area asks, except READ where WRITE implies it (every
 *   format: RISC-V reserves W without R; Linux maps PROT_WRITE readable
 *   everywhere) and where the format has no execute-only page (AArch64);
 *   the area flags keep saying what the user asked for, so the checks still
 *   refuse a user read there.
 * - `read` / `write` (the kernel's own copies) fill lazy pages and break
 *   copy-on-write sharing instead of failing with `EFAULT` on an untouched
 *   page; they ignore the area permissions, as a loader needs.
 * - adjacent areas with the same flags and compatible backends merge after
 *   a map, an mprotect or a `grow` (Linux's `vma_merge`), so 1,000 adjacent
 *   page maps leave one area.
 *
 * What a page is (where its frame comes from, whether a write copies it,
 * what fork gives the child) is the area's backend's business
 * (`backend/`: linear, private anonymous, private file, shared); this file
 * keeps the generic mechanics. The PTE flag policy is in `pteflags.ts`.
 *
 * TLB coherence: the space remembers every MMU it is active on
 * ({@link activate}) and flushes all of them when a mapping is removed or
 * loses permissions (a TLB shootdown).
 *
 * A space belongs to one {@link Machine} (its RAM, frames and CPUs). Its
 * lock is found from the space itself ({@link provider}, which a process's
 * locked space sets), never from a side registry. A kernel access to a space
 * that no CPU runs now goes through the space's own walker
 * ({@link remoteMmu}), so nobody's page table is switched for it.
 */

import {
  AddrRange,
  alignUp,
  hex,
  isAligned4K,
  isPowerOfTwo,
  PAGE_SIZE_4K,
  type VirtAddrRange,
} from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import {
  type FrameAllocator,
  type Machine,
  MappingFlags,
  Mmu,
  PageSize,
  PageTable64,
  PagingError,
  type PhysMemory,
  type PteFormat,
} from '../paging/index.js';
import { AreaSet, MemoryArea } from './areas.js';
import {
  AnonBackend,
  type Backend,
  type BackendHost,
  FileBackend,
  isSharedFrame,
  LinearBackend,
  type PageSource,
  SharedBackend,
} from './backend/index.js';
import { kernelRead, kernelWrite } from './kaccess.js';
import { PteFlagPolicy } from './pteflags.js';

export interface AddrSpaceOptions {
  /** First virtual address of the space (4 KiB-aligned). */
  base: number;
  /** Size in bytes (4 KiB-aligned). */
  size: number;
  format: PteFormat;
  /** The machine whose RAM, frames and CPUs the space uses. */
  machine: Machine;
}

/**
 * How a user pointer, the copy family and the page-fault handler reach an
 * address space (axptr's `AddrSpaceProvider`): directly for a bare space,
 * under its lock for a process's.
 */
export interface AddrSpaceProvider {
  withAddrSpace<R>(fn: (aspace: AddrSpace) => R): R;
}

export interface AddrSpaceStats {
  areas: number;
  /** Bytes covered by areas. */
  mappedBytes: number;
  /** Pages present in the page table (4 KiB each; a huge page counts its 4 KiB parts). */
  residentPages: number;
  /** Frames of the space's own page table. */
  tableFrames: number;
  faults: FaultStats;
}

export interface FaultStats {
  /** Lazy pages filled: with a fresh zeroed frame, or (read faults) with the shared zero page. */
  lazyFill: number;
  /** Of those, read faults served by mapping the shared zero page read-only (no frame used). */
  zeroPage: number;
  /** Copy-on-write breaks that copied a shared frame. */
  cowCopy: number;
  /** Copy-on-write breaks of a frame no longer shared (write permission given back, no copy). */
  cowReuse: number;
  /** Faults answered false (not legitimate). */
  refused: number;
  /** Faults on a page that was already fine (a stale TLB entry). */
  spurious: number;
}

/** The address space `mmu` runs now, if any (what a page-fault handler consults). */
export function activeSpaceOf(mmu: Mmu): AddrSpace | undefined {
  return mmu.owner instanceof AddrSpace ? mmu.owner : undefined;
}

export class AddrSpace implements AddrSpaceProvider, BackendHost {
  readonly base: number;
  readonly end: number;
  readonly pt: PageTable64;
  readonly machine: Machine;
  readonly mem: PhysMemory;
  readonly frames: FrameAllocator;
  private readonly areas = new AreaSet();
  private readonly mmus = new Set<Mmu>();
  private guard: AddrSpaceProvider = this;
  private walker: Mmu | null = null;
  private readonly policy: PteFlagPolicy;
  private readonly faultStats: FaultStats = {
    lazyFill: 0,
    zeroPage: 0,
    cowCopy: 0,
    cowReuse: 0,
    refused: 0,
    spurious: 0,
  };
  private destroyed = false;

  /** An empty space over `[base, base + size)`; `ENOMEM` when the root table cannot be allocated. */
  constructor(options: AddrSpaceOptions) {
    const { base, size } = options;
    if (!isAligned4K(base) || !isAligned4K(size) || size <= 0 || !Number.isSafeInteger(base + size)) {
      throw new LinuxError(Errno.EINVAL, `address space ${hex(base)}+${hex(size)} is not 4 KiB-aligned`);
    }
    if (base + size > 2 ** (options.format.vaMaxBits - 1)) {
      throw new LinuxError(
        Errno.EINVAL,
        `address space end ${hex(base + size)} beyond ${options.format.arch}'s user half`,
      );
    }
    this.base = base;
    this.end = base + size;
    this.machine = options.machine;
    this.mem = options.machine.mem;
    this.frames = options.machine.frames;
    this.pt = new PageTable64(this.mem, this.frames, options.format);
    this.policy = new PteFlagPolicy(options.format);
  }

  /** The page-table entry flags that realise area flags `flags` on this format (see `pteflags.ts`). */
  pteFlags(flags: MappingFlags): MappingFlags {
    return this.policy.flagsFor(flags);
  }

  /**
   * What guards this space: the space itself, or the lock of the process
   * that owns it ({@link attachProvider}). The page-fault handler and the
   * user-memory layer take the space through it.
   */
  get provider(): AddrSpaceProvider {
    return this.guard;
  }

  /**
   * Puts the space behind `provider` (a process's lock): from now on the
   * page-fault handler takes it through that. A space has one guard: a
   * second, different one is a kernel bug and throws.
   */
  attachProvider(provider: AddrSpaceProvider): void {
    if (this.guard !== this && this.guard !== provider) {
      throw new Error('address space already guarded by another provider');
    }
    this.guard = provider;
  }

  /**
   * The space's own MMU, never a CPU's: a kernel access to this space from a
   * CPU that runs another one (process_vm_readv, ptrace, exec writing the
   * new program's stack) walks the space's page table through it, so no
   * CPU's root is switched and no CPU's TLB is flushed. It takes part in the
   * space's TLB shootdowns and traps to the machine's trap vector, as the
   * CPU's MMU would.
   */
  remoteMmu(): Mmu {
    let w = this.walker;
    if (w === null) {
      if (this.destroyed) throw new Error('address space used after destroy()');
      w = new Mmu(this.mem, { tlbEntries: 64 });
      const machine = this.machine;
      w.trapHandler = (fault, mmu) => machine.trapHandler?.(fault, mmu) ?? false;
      this.walker = w;
      this.activate(w);
    }
    return w;
  }

  get size(): number {
    return this.end - this.base;
  }

  /**
   * Runs `fn` on this space: a bare space is its own address-space provider
   * (axptr's `impl AddrSpaceProvider for &mut AddrSpace`).
   */
  withAddrSpace<R>(fn: (aspace: AddrSpace) => R): R {
    return fn(this);
  }

  /** True after {@link destroy}. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  get format(): PteFormat {
    return this.pt.format;
  }

  /** Root of the page table (the value for satp / CR3 / TTBR0). */
  pageTableRoot(): number {
    return this.pt.root;
  }

  /** True when `[start, start + size)` lies inside the space. */
  containsRange(start: number, size: number): boolean {
    return start >= this.base && size >= 0 && start + size <= this.end;
  }

  /** Every area in address order. */
  *iterAreas(): IterableIterator<Readonly<MemoryArea>> {
    yield* this.areas;
  }

  /** The area holding `vaddr`, if any. */
  findArea(vaddr: number): Readonly<MemoryArea> | undefined {
    return this.areas.find(vaddr);
  }

  get areaCount(): number {
    return this.areas.size;
  }

  // ---- CPUs ---------------------------------------------------------------

  /** Runs this space on `mmu` (a context switch): installs the root and joins the TLB shootdown set. */
  activate(mmu: Mmu): void {
    if (this.destroyed) throw new Error('address space activated after destroy()');
    // The MMU would walk this space's root inside another machine's RAM.
    if (mmu.mem !== this.mem) {
      throw new LinuxError(Errno.EINVAL, 'address space activated on an MMU over other physical memory');
    }
    const previous = activeSpaceOf(mmu);
    if (previous === this && mmu.root === this.pt.root) return;
    previous?.mmus.delete(mmu);
    mmu.owner = this;
    this.mmus.add(mmu);
    mmu.setRoot(this.pt.root, this.pt.format);
  }

  /** Takes this space off `mmu`. */
  deactivate(mmu: Mmu): void {
    if (mmu.owner !== this) return;
    mmu.owner = null;
    this.mmus.delete(mmu);
    mmu.clearRoot();
  }

  /** True when this space runs on `mmu`. */
  isActiveOn(mmu: Mmu): boolean {
    return mmu.owner === this && mmu.root === this.pt.root;
  }

  /** Flushes `[start, start + size)` (everything without arguments) from every MMU running this space. */
  flushTlb(start?: number, size?: number): void {
    for (const mmu of this.mmus) {
      if (start === undefined) mmu.flushAll();
      else if (size === undefined || size <= PAGE_SIZE_4K) mmu.flushPage(start);
      else mmu.flushRange(start, size);
    }
  }

  // ---- mapping ----------------------------------------------------------

  /**
   * Maps `[start, start + size)` to physical `[pstart, …)` with a fixed
   * offset. An overlap is `EEXIST`, or with `unmapOverlap` is unmapped first.
   */
  mapLinear(start: number, pstart: number, size: number, flags: MappingFlags, unmapOverlap = false): void {
    this.validateRegion(start, size);
    if (!isAligned4K(pstart) || !Number.isSafeInteger(pstart) || pstart < 0) {
      throw new LinuxError(Errno.EINVAL, `physical address ${hex(pstart)} not aligned`);
    }
    if (unmapOverlap) this.unmap(start, size);
    this.insertArea(new MemoryArea(start, start + size, flags, new LinearBackend(start - pstart)));
  }

  /**
   * Maps `[start, start + size)` to frames from the allocator: all at once
   * with `populate` (`ENOMEM` when they run out, nothing mapped), else one
   * at a time on first touch. An overlap is `EEXIST`, or with `unmapOverlap`
   * is unmapped first.
   */
  mapAlloc(start: number, size: number, flags: MappingFlags, populate: boolean, unmapOverlap = false): void {
    this.validateRegion(start, size);
    if (unmapOverlap) this.unmap(start, size);
    this.insertArea(new MemoryArea(start, start + size, flags, new AnonBackend(populate)));
  }

  /**
   * Maps `[start, start + size)` privately to `source` from byte `offset`
   * (page-aligned): `mmap(MAP_PRIVATE)` of a file, an ELF segment. Pages come
   * from the source on first touch; a write copies the page (the source never
   * sees it). An overlap is `EEXIST`, or with `unmapOverlap` is unmapped first.
   */
  mapFile(
    start: number,
    size: number,
    flags: MappingFlags,
    source: PageSource,
    offset: number,
    unmapOverlap = false,
  ): void {
    this.mapObject(start, size, flags, FileBackend.at(source, start, offset), offset, unmapOverlap);
  }

  /**
   * Maps `[start, start + size)` shared to `source` from byte `offset`:
   * `mmap(MAP_SHARED)` of a file or of an anonymous object ({@link ShmemObject}).
   * Every mapping of the object, in any space and across fork, sees the same
   * frames; writes go to them. Overlaps as {@link mapFile}.
   */
  mapShared(
    start: number,
    size: number,
    flags: MappingFlags,
    source: PageSource,
    offset: number,
    unmapOverlap = false,
  ): void {
    this.mapObject(start, size, flags, SharedBackend.at(source, start, offset), offset, unmapOverlap);
  }

  /** The common part of {@link mapFile} and {@link mapShared}. */
  private mapObject(
    start: number,
    size: number,
    flags: MappingFlags,
    backend: Backend,
    offset: number,
    unmapOverlap: boolean,
  ): void {
    this.validateRegion(start, size);
    if (!Number.isSafeInteger(offset) || offset < 0 || !isAligned4K(offset)) {
      throw new LinuxError(Errno.EINVAL, `file offset ${hex(offset)} not page-aligned`);
    }
    if (unmapOverlap) this.unmap(start, size);
    this.insertArea(new MemoryArea(start, start + size, flags, backend));
  }

  /**
   * {@link mapAlloc} with `unmapOverlap`: whatever overlaps is unmapped first
   * (mmap with MAP_FIXED). As in Linux, the old mappings are gone even when
   * the new one then fails.
   */
  mapAllocReplacing(start: number, size: number, flags: MappingFlags, populate: boolean): void {
    this.mapAlloc(start, size, flags, populate, true);
  }

  /** Removes every mapping in `[start, start + size)`, shrinking or splitting areas; frames are released. */
  unmap(start: number, size: number): void {
    this.validateRegion(start, size);
    const end = start + size;
    const hit = this.areas.overlapping(start, end);
    if (hit.length === 0) return;
    for (const a of hit) {
      const s = Math.max(a.start, start);
      const e = Math.min(a.end, end);
      a.backend.unmapPages(this, s, e);
      this.areas.remove(a);
      if (a.start < start) this.areas.insert(a.slice(a.start, start));
      if (a.end > end) this.areas.insert(a.slice(end, a.end));
    }
    this.pt.releaseEmptyTables(start, size);
    this.flushTlb(start, size);
  }

  /**
   * Gives `[start, start + size)` the flags `flags` (replacing the old ones),
   * splitting areas at the edges. Holes in the range are skipped.
   */
  protect(start: number, size: number, flags: MappingFlags): void {
    this.validateRegion(start, size);
    const end = start + size;
    const changed: MemoryArea[] = [];
    for (const a of this.areas.overlapping(start, end)) {
      const s = Math.max(a.start, start);
      const e = Math.min(a.end, end);
      a.backend.protectPages(this, s, e, flags);
      this.areas.remove(a);
      if (a.start < s) this.areas.insert(a.slice(a.start, s));
      const mid = a.slice(s, e, flags);
      this.areas.insert(mid);
      changed.push(mid);
      if (e < a.end) this.areas.insert(a.slice(e, a.end));
    }
    for (const a of changed) this.mergeAround(a);
    this.flushTlb(start, size);
  }

  /**
   * Moves `[start, start + size)`, which lies inside one area, to `to`
   * (mremap with MREMAP_MAYMOVE; Linux's move_vma): the present pages keep
   * their frames and entry flags, the area its flags and its backend's
   * offsets; `[to, to + size)` must be free (`EEXIST`). A page-table `ENOMEM`
   * part way moves the pages back and changes nothing.
   */
  move(start: number, size: number, to: number): void {
    this.validateRegion(start, size);
    this.validateRegion(to, size);
    const end = start + size;
    const a = this.areas.find(start);
    if (a === undefined || a.end < end) {
      throw new LinuxError(Errno.EFAULT, `${hex(start)}+${hex(size)} is not inside one area`);
    }
    if (this.areas.overlaps(to, to + size)) {
      throw new LinuxError(Errno.EEXIST, `[${hex(to)}, ${hex(to + size)}) is not free`);
    }
    const delta = to - start;
    const pages: [number, number, MappingFlags][] = [];
    this.pt.forEachMapped(start, size, (v, p, f) => {
      pages.push([v, p, f]);
    });
    let moved = 0;
    try {
      for (const [v, p, f] of pages) {
        this.pt.map(v + delta, p, PageSize.Size4K, f);
        moved++;
      }
    } catch (e) {
      for (const [v] of pages.slice(0, moved)) this.pt.unmap(v + delta);
      this.pt.releaseEmptyTables(to, size);
      throw asNoMemory(e);
    }
    for (const [v] of pages) this.pt.unmap(v);
    this.areas.remove(a);
    if (a.start < start) this.areas.insert(a.slice(a.start, start));
    if (end < a.end) this.areas.insert(a.slice(end, a.end));
    const moved_ = new MemoryArea(to, to + size, a.flags, a.backend.moved(delta));
    this.areas.insert(moved_);
    this.mergeAround(moved_);
    this.pt.releaseEmptyTables(start, size);
    this.flushTlb(start, size);
  }

  /**
   * Extends the area that ends at `end` up to `newEnd` (a `brk` growth): the
   * new pages are lazy (or eager, for an eager area), with the area's flags
   * and backend. `EINVAL` when no area ends at `end` or the range is bad;
   * `ENOMEM` when `[end, newEnd)` is not free (Linux's brk refuses to grow
   * into another mapping). Merges with the next area when they now touch.
   */
  grow(end: number, newEnd: number): void {
    this.validateRegion(end, newEnd - end);
    const a = this.areas.lastStartingAtOrBefore(end - 1);
    if (a === undefined || a.end !== end) {
      throw new LinuxError(Errno.EINVAL, `no area ends at ${hex(end)}`);
    }
    if (newEnd === end) return;
    if (this.areas.overlaps(end, newEnd)) {
      throw new LinuxError(Errno.ENOMEM, `[${hex(end)}, ${hex(newEnd)}) is not free`);
    }
    try {
      a.backend.mapArea(this, end, newEnd, a.flags);
    } catch (e) {
      throw asNoMemory(e);
    }
    this.areas.remove(a);
    const grown = a.slice(a.start, newEnd);
    this.areas.insert(grown);
    this.mergeAround(grown);
  }

  /** Takes `[newEnd, end)` off the end of the area that ends at `end` (a `brk` shrink); `EINVAL` when none does. */
  shrink(end: number, newEnd: number): void {
    this.validateRegion(newEnd, end - newEnd);
    const a = this.areas.lastStartingAtOrBefore(end - 1);
    if (a === undefined || a.end !== end || newEnd < a.start) {
      throw new LinuxError(Errno.EINVAL, `no area spans [${hex(newEnd)}, ${hex(end)})`);
    }
    this.unmap(newEnd, end - newEnd);
  }

  /**
   * Drops the pages of `[start, start + size)` and keeps the areas
   * (`madvise(MADV_DONTNEED)`): a private page reads back as zero (anonymous)
   * or as the file's bytes again, a shared page as the object's bytes (the
   * object keeps them). `EINVAL` for a linear (device) area in the range,
   * with nothing done; `ENOMEM` when part of the range is unmapped, after the
   * mapped parts were dropped (as Linux's madvise does).
   */
  discard(start: number, size: number): void {
    this.validateRegion(start, size);
    const end = start + size;
    const hit = this.areas.overlapping(start, end);
    if (hit.some((a) => a.backend.kind === 'linear')) {
      throw new LinuxError(Errno.EINVAL, 'MADV_DONTNEED on a linear (device) mapping');
    }
    let covered = 0;
    for (const a of hit) {
      const s = Math.max(a.start, start);
      const e = Math.min(a.end, end);
      a.backend.unmapPages(this, s, e);
      covered += e - s;
    }
    this.pt.releaseEmptyTables(start, size);
    this.flushTlb(start, size);
    if (covered < size)
      throw new LinuxError(Errno.ENOMEM, `part of ${hex(start)}+${hex(size)} is not mapped`);
  }

  /**
   * A free gap of `size` bytes at or after `hint` inside `limit`, aligned to
   * `align` (a power of two, at least 4 KiB); undefined when none fits.
   */
  findFreeArea(
    hint: number,
    size: number,
    limit: VirtAddrRange,
    align: number = PAGE_SIZE_4K,
  ): number | undefined {
    if (!isPowerOfTwo(align) || align < PAGE_SIZE_4K || !Number.isSafeInteger(size) || size <= 0)
      return undefined;
    let candidate = alignUp(Math.max(hint, limit.start), align);
    for (const a of this.areas.iterFrom(candidate)) {
      if (candidate + size > limit.end) return undefined;
      if (candidate + size <= a.start) return candidate;
      candidate = alignUp(Math.max(candidate, a.end), align);
    }
    return candidate + size <= limit.end ? candidate : undefined;
  }

  /**
   * True only when every byte of `range` lies in areas whose flags include all
   * of `flags` (a hole anywhere is false). An empty range passes when its
   * start lies in such an area (axmm's behaviour).
   */
  checkRegionAccess(range: VirtAddrRange, flags: MappingFlags): boolean {
    return this.checkAccess(range.start, range.end, flags, false);
  }

  /**
   * {@link checkRegionAccess} on `[start, start + size)`, without building a
   * range. With `asMapped`, an area's flags are those its page-table entries
   * really grant ({@link mappedFlags}): what Linux's copies see.
   */
  canAccessRange(start: number, size: number, flags: MappingFlags, asMapped = false): boolean {
    const end = start + size;
    return Number.isSafeInteger(end) && size >= 0 && this.checkAccess(start, end, flags, asMapped);
  }

  /**
   * The access an area with flags `flags` really gives: the flags its
   * page-table entries decode to on this format (the READ that WRITE implies
   * everywhere, the READ that EXECUTE implies where the format cannot map
   * execute-only: x86_64, AArch64), plus USER as asked. This is Linux's
   * rule for the kernel's copies and the fault handler (x86's
   * `vma_is_accessible`, RISC-V's "write implies read" in `access_error`):
   * `copy_from_user` reads a PROT_WRITE-only buffer, and reads a
   * PROT_EXEC-only one on x86_64 but not on riscv64.
   */
  mappedFlags(flags: MappingFlags): MappingFlags {
    return this.policy.granted(flags);
  }

  private checkAccess(start: number, end: number, flags: MappingFlags, asMapped: boolean): boolean {
    // Fast path: one area holds the whole range (no iterator).
    const first = this.areas.find(start);
    if (first !== undefined && end <= first.end) return (this.flagsSeen(first, asMapped) & flags) === flags;
    let at = start;
    for (const a of this.areas.iterFrom(at)) {
      if (a.start > at) return false;
      if ((this.flagsSeen(a, asMapped) & flags) !== flags) return false;
      at = a.end;
      if (at >= end) return true;
    }
    return false;
  }

  private flagsSeen(a: Readonly<MemoryArea>, asMapped: boolean): MappingFlags {
    return asMapped ? this.policy.granted(a.flags) : a.flags;
  }

  /**
   * How many bytes from `start` (at most `size`) lie, without a gap, in areas
   * whose flags include `flags` (with `asMapped`, as {@link canAccessRange}):
   * where a copy that stops at the first bad byte would stop.
   */
  accessibleLength(start: number, size: number, flags: MappingFlags, asMapped = false): number {
    const end = start + size;
    const first = this.areas.find(start);
    if (first === undefined || (this.flagsSeen(first, asMapped) & flags) !== flags) return 0;
    if (end <= first.end) return size;
    let at = start;
    for (const a of this.areas.iterFrom(at)) {
      if (at >= end || a.start > at || (this.flagsSeen(a, asMapped) & flags) !== flags) break;
      at = a.end;
    }
    return Math.min(at, end) - start;
  }

  /**
   * Makes every page of `[start, start + size)` present as `access` needs it:
   * lazy pages get a zeroed frame; with `WRITE`, pages shared copy-on-write
   * get a private copy. Errors: `EINVAL` for a misaligned range or one
   * outside the space, `ENOMEM` for a hole or when frames run out, `EFAULT`
   * when an area does not allow `access`. On any error nothing has changed.
   */
  populateArea(start: number, size: number, access: MappingFlags = MappingFlags.READ): void {
    this.validateRegion(start, size);
    const end = start + size;
    // Plan first: pages to fill, pages to unshare.
    const toFill: { area: MemoryArea; vaddr: number }[] = [];
    const toBreak: { area: MemoryArea; vaddr: number; shared: boolean }[] = [];
    const write = (access & MappingFlags.WRITE) !== 0;
    let at = start;
    while (at < end) {
      const a = this.areas.find(at);
      if (a === undefined) break;
      if ((a.flags & access) !== access) {
        throw new LinuxError(Errno.EFAULT, `area at ${hex(a.start)} does not allow the access`);
      }
      const e = Math.min(a.end, end);
      for (let v = at; v < e; v += PAGE_SIZE_4K) {
        const p = this.pt.translate(v);
        if (p < 0) toFill.push({ area: a, vaddr: v });
        else if (write && this.needsCowBreak(a, v)) {
          const shared = a.backend.copyOnWrite && isSharedFrame(this, p - (p % PAGE_SIZE_4K));
          toBreak.push({ area: a, vaddr: v, shared });
        }
      }
      at = a.end;
    }
    if (at < end) throw new LinuxError(Errno.ENOMEM, `hole at ${hex(at)} in the range to populate`);

    if (toFill.length === 0 && toBreak.length === 0) return;

    // Reserve the frames the copy-on-write breaks need first, then fill (undone on failure), then
    // break: running out at any point changes nothing.
    const reserved = this.allocFrames(toBreak.filter((b) => b.shared).length);
    const filled: number[] = [];
    try {
      for (const f of toFill) {
        // Population takes real frames (a write for anonymous memory), or the object's pages.
        if (!this.fillPage(f.area, f.vaddr, true)) {
          throw new LinuxError(Errno.ENOMEM, `no frame for ${hex(f.vaddr)}`);
        }
        filled.push(f.vaddr);
      }
    } catch (e) {
      for (const v of filled) this.frames.release(this.pt.unmap(v).paddr);
      for (const p of reserved) this.frames.dealloc(p);
      this.pt.releaseEmptyTables(start, size);
      this.faultStats.lazyFill -= filled.length;
      throw asNoMemory(e);
    }
    // Breaking copy-on-write cannot fail now: the entries exist and the frames are reserved.
    let next = 0;
    for (const b of toBreak) {
      if (b.shared) this.copyOnWrite(b.area, b.vaddr, reserved[next++]);
      else this.reuseOnWrite(b.area, b.vaddr);
    }
    if (toBreak.length > 0) this.flushTlb(start, size);
  }

  /**
   * Maps the absent page `page` of `area` with the frame its backend gives
   * for the access: read-only when the frame is shared (the zero page, a
   * page-cache page of a private mapping). Answers false, with nothing
   * changed, when there is no frame or no room for the page table.
   */
  private fillPage(area: MemoryArea, page: number, write: boolean): boolean {
    const frame = area.backend.fillFrame(this, page, write);
    if (frame === undefined) return false;
    // Read-only keeps the READ that WRITE implies: a write-only area's zero page stays readable.
    const pte = this.pteFlags(area.flags);
    try {
      this.pt.map(
        page,
        frame,
        PageSize.Size4K,
        area.backend.readOnlyFill(write) ? pte & ~MappingFlags.WRITE : pte,
      );
    } catch {
      this.frames.release(frame);
      this.pt.releaseEmptyTables(page, PAGE_SIZE_4K);
      return false;
    }
    this.faultStats.lazyFill++;
    if (this.frames.isZeroPage(frame)) this.faultStats.zeroPage++;
    return true;
  }

  /**
   * Handles a page fault at `vaddr` for `access` (READ / WRITE / EXECUTE, plus
   * USER when the fault came from user mode). Answers true when the fault was
   * legitimate and is now fixed (lazy fill, copy-on-write break, or a stale
   * TLB entry), false otherwise (the caller signals SIGSEGV or panics).
   */
  handlePageFault(vaddr: number, access: MappingFlags): boolean {
    if (!(vaddr >= this.base && vaddr < this.end) || !Number.isInteger(vaddr)) return this.refuse();
    const area = this.areas.find(vaddr);
    // The access the area's entries really give decides, as Linux's access_error does.
    if (area === undefined || (this.policy.granted(area.flags) & access) !== access) return this.refuse();
    const page = vaddr - (vaddr % PAGE_SIZE_4K);
    const p = this.pt.translate(page);
    if (p < 0) {
      // The backend says what the page is: a fresh frame, the zero page for a read of untouched
      // anonymous memory (as Linux does), the file's or the shared object's page.
      return this.fillPage(area, page, (access & MappingFlags.WRITE) !== 0) || this.refuse();
    }
    if ((access & MappingFlags.WRITE) !== 0 && this.needsCowBreak(area, page)) {
      // A private page still shared is copied; a shared mapping's page is written in place.
      if (area.backend.copyOnWrite && isSharedFrame(this, p - (p % PAGE_SIZE_4K))) {
        const frame = this.frames.alloc();
        if (frame === undefined) return this.refuse();
        this.copyOnWrite(area, page, frame);
      } else {
        this.reuseOnWrite(area, page);
      }
      this.flushTlb(page);
      return true;
    }
    // Present with the permissions asked for: the faulting CPU had a stale TLB entry.
    const flags = this.pt.flagsOf(page) ?? 0;
    if ((flags & access & ~MappingFlags.USER) === (access & ~MappingFlags.USER)) {
      this.faultStats.spurious++;
      this.flushTlb(page);
      return true;
    }
    return this.refuse();
  }

  // ---- the kernel's own copies -----------------------------------------

  /**
   * Copies `[start, start + buf.length)` into `buf`, ignoring area permissions
   * (the kernel's own access, e.g. a loader): see `kaccess.ts`.
   */
  read(start: number, buf: Uint8Array): void {
    kernelRead(this, start, buf);
  }

  /** Copies `data` to `start`, ignoring area permissions: see `kaccess.ts`. */
  write(start: number, data: Uint8Array): void {
    kernelWrite(this, start, data);
  }

  // ---- fork, clear, destroy, stats --------------------------------------

  /**
   * A copy-on-write clone: same areas; every present private page is shared
   * with the child, both sides read-only until one writes. Linear areas map
   * the same physical memory in the child. `ENOMEM` when the child's page
   * table cannot be built (the parent keeps its contents; its pages may stay
   * write-protected, which only costs a fault later).
   */
  fork(): AddrSpace {
    const child = new AddrSpace({
      base: this.base,
      size: this.size,
      format: this.pt.format,
      machine: this.machine,
    });
    try {
      for (const a of this.areas) {
        const backend = a.backend.fork(this, child, a.start, a.end, a.flags);
        child.areas.insert(new MemoryArea(a.start, a.end, a.flags, backend));
      }
    } catch (e) {
      child.destroy();
      this.flushTlb();
      throw asNoMemory(e);
    }
    this.flushTlb();
    return child;
  }

  /** Removes every area (frames and the emptied tables released; the root table stays). */
  clear(): void {
    for (const a of this.areas) a.backend.unmapPages(this, a.start, a.end);
    this.areas.clear();
    this.pt.releaseEmptyTables(this.base, this.size);
    this.flushTlb();
  }

  /** Clears the space and frees its page table; the space is unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.clear();
    for (const mmu of [...this.mmus]) this.deactivate(mmu);
    this.pt.destroy();
    this.destroyed = true;
  }

  stats(): AddrSpaceStats {
    let mapped = 0;
    for (const a of this.areas) mapped += a.size;
    let resident = 0;
    let tables = 0;
    this.pt.walk(512, (e) => {
      if (!e.isLeaf) tables++;
      else resident += this.leafSpan(e.level) / PAGE_SIZE_4K;
    });
    return {
      areas: this.areas.size,
      mappedBytes: mapped,
      residentPages: resident,
      tableFrames: tables + 1,
      faults: { ...this.faultStats },
    };
  }

  // ---- internals ----------------------------------------------------------

  private validateRegion(start: number, size: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || size < 0) {
      throw new LinuxError(Errno.EINVAL, `bad region ${hex(start)}+${hex(size)}`);
    }
    if (!this.containsRange(start, size)) {
      throw new LinuxError(Errno.EINVAL, `region ${hex(start)}+${hex(size)} outside the address space`);
    }
    if (!isAligned4K(start) || !isAligned4K(size)) {
      throw new LinuxError(Errno.EINVAL, `region ${hex(start)}+${hex(size)} not aligned`);
    }
    if (this.destroyed) throw new Error('address space used after destroy()');
  }

  private insertArea(area: MemoryArea): void {
    if (area.start === area.end) throw new LinuxError(Errno.EINVAL, 'empty area');
    if (this.areas.overlaps(area.start, area.end)) {
      throw new LinuxError(
        Errno.EEXIST,
        `area ${AddrRange.new(area.start, area.end)} overlaps an existing one`,
      );
    }
    try {
      area.backend.mapArea(this, area.start, area.end, area.flags);
    } catch (e) {
      throw asNoMemory(e);
    }
    this.areas.insert(area);
    this.mergeAround(area);
  }

  /**
   * Merges `area` with its neighbours where they touch, have the same flags
   * and compatible backends (Linux's `vma_merge`): the page table is not
   * touched, only the area list.
   */
  private mergeAround(area: MemoryArea): void {
    let merged = area;
    const prev = merged.start > this.base ? this.areas.find(merged.start - 1) : undefined;
    if (prev !== undefined && prev.flags === merged.flags && prev.backend.canMergeWith(merged.backend)) {
      this.areas.remove(merged);
      const joined = prev.slice(prev.start, merged.end);
      this.areas.replace(prev, joined);
      merged = joined;
    }
    const next = this.areas.find(merged.end);
    if (next !== undefined && next.flags === merged.flags && merged.backend.canMergeWith(next.backend)) {
      this.areas.remove(next);
      this.areas.replace(merged, merged.slice(merged.start, next.end));
    }
  }

  /** `n` frames, or `ENOMEM` with none taken. */
  private allocFrames(n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const f = this.frames.alloc();
      if (f === undefined) {
        for (const g of out) this.frames.dealloc(g);
        throw new LinuxError(Errno.ENOMEM, `out of frames after ${i} of ${n}`);
      }
      out.push(f);
    }
    return out;
  }

  /** A present page of a writable area mapped without WRITE: shared copy-on-write (or no longer shared). */
  private needsCowBreak(a: MemoryArea, page: number): boolean {
    if ((this.pteFlags(a.flags) & MappingFlags.WRITE) === 0) return false;
    const f = this.pt.flagsOf(page);
    return f !== undefined && (f & MappingFlags.WRITE) === 0;
  }

  private copyOnWrite(a: MemoryArea, page: number, frame: number): void {
    const old = this.pt.translate(page);
    this.mem.copy(frame, old, PAGE_SIZE_4K);
    this.pt.remap(page, frame, this.pteFlags(a.flags));
    this.frames.release(old);
    this.faultStats.cowCopy++;
  }

  private reuseOnWrite(a: MemoryArea, page: number): void {
    this.pt.protect(page, this.pteFlags(a.flags));
    this.faultStats.cowReuse++;
  }

  private refuse(): false {
    this.faultStats.refused++;
    return false;
  }

  /**
   * Makes every page of `[start, start + size)` (page-aligned) present and
   * privately writable for the kernel's own write, without the area
   * permission check (Linux's `FOLL_FORCE`, what a loader and ptrace need):
   * lazy pages are filled and copy-on-write sharing is broken, keeping each
   * page's own flags. `ENOMEM` changes nothing.
   */
  populateForKernelWrite(start: number, size: number): void {
    const end = start + size;
    const need: { area: MemoryArea; vaddr: number; kind: 'fill' | 'copy' | 'reuse' }[] = [];
    for (const a of this.areas.overlapping(start, end)) {
      for (let v = Math.max(a.start, start); v < Math.min(a.end, end); v += PAGE_SIZE_4K) {
        const p = this.pt.translate(v);
        if (p < 0) need.push({ area: a, vaddr: v, kind: 'fill' });
        else if (
          a.backend.copyOnWrite &&
          (this.pt.flagsOf(v)! & MappingFlags.WRITE) === 0 &&
          isSharedFrame(this, p)
        ) {
          need.push({ area: a, vaddr: v, kind: 'copy' });
        }
      }
    }
    const frames = this.allocFrames(need.filter((n) => n.kind === 'copy').length);
    const filled: number[] = [];
    try {
      for (const n of need) {
        if (n.kind !== 'fill') continue;
        if (!this.fillPage(n.area, n.vaddr, true))
          throw new LinuxError(Errno.ENOMEM, `no frame for ${hex(n.vaddr)}`);
        filled.push(n.vaddr);
      }
    } catch (e) {
      for (const v of filled) this.frames.release(this.pt.unmap(v).paddr);
      for (const f of frames) this.frames.dealloc(f);
      this.pt.releaseEmptyTables(start, size);
      this.faultStats.lazyFill -= filled.length;
      throw asNoMemory(e);
    }
    let next = 0;
    for (const n of need) {
      if (n.kind === 'copy') {
        const frame = frames[next++];
        const old = this.pt.translate(n.vaddr);
        this.mem.copy(frame, old, PAGE_SIZE_4K);
        // Keep the page's own (possibly read-only) flags: this is a kernel write, not a user one.
        this.pt.remap(
          n.vaddr,
          frame,
          this.pteFlags(this.pt.flagsOf(n.vaddr)! | (n.area.flags & MappingFlags.WRITE)),
        );
        this.frames.release(old);
      }
    }
    if (need.length > 0) this.flushTlb(start, size);
  }

  private leafSpan(level: number): number {
    return LEAF_SPAN[this.pt.levels - 1 - level];
  }
}

/** Bytes a leaf covers, by depth from the last level: 4 KiB, 2 MiB, 1 GiB. */
const LEAF_SPAN = [PAGE_SIZE_4K, PAGE_SIZE_4K * 512, PAGE_SIZE_4K * 512 * 512];

/** Page-table allocation failures become `ENOMEM`; other errors pass through. */
function asNoMemory(e: unknown): unknown {
  if (e instanceof PagingError && e.kind === 'NoMemory') return new LinuxError(Errno.ENOMEM, e.message);
  return e;
}
