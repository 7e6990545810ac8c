/**
 * A generic multi-level 64-bit page table (page_table_multiarch's
 * `PageTable64`), over any {@link PteFormat}, with its tables in
 * {@link PhysMemory} frames.
 *
 * 512 entries of 8 bytes per table; index bits va[47:39], va[38:30],
 * va[29:21], va[20:12]. Sv39 has three levels (root = the 1 GiB level); the
 * other formats four. Pages are 4 KiB, 2 MiB or 1 GiB.
 *
 * Addresses are numbers below 2^53, so only the canonical lower half
 * `[0, 2^(vaMaxBits-1))` is translatable: that is all of user space. Anything
 * else is refused with `NotCanonical`.
 *
 * Differences from the Rust crate, on purpose:
 * - An upper-level entry is a table when it is in use and not huge, whatever
 *   its present bit says. LoongArch table entries are bare physical addresses
 *   (no present bit), so the crate's walk and Drop skipped them and leaked
 *   every LA64 intermediate table; here walk and destroy find them.
 * - `mapRegion` undoes its own mappings when it fails part-way (the crate
 *   left them mapped); `unmapRegion` / `protectRegion` check the whole range
 *   before changing anything (the crate stopped at the first hole, half done).
 * - `map` refuses a virtual or physical address outside the format's range.
 * - `remap` of a page that is not mapped is `NotMapped` (the crate rewrote
 *   the empty slot, creating a mapping whenever a neighbour's table existed).
 *
 * The table does not flush TLBs: its owner (the address space) knows which
 * CPUs may cache it and flushes them.
 */
import { hex, PAGE_SIZE_1G, PAGE_SIZE_2M, PAGE_SIZE_4K } from '../addr/index.js';
import { PagingError } from './errors.js';
import { grantsAccess, MappingFlags } from './flags.js';
import type { FrameAllocator, PhysMemory } from './memory.js';
import type { PteFormat } from './pte.js';

export type PageSize = typeof PAGE_SIZE_4K | typeof PAGE_SIZE_2M | typeof PAGE_SIZE_1G;
export const PageSize = { Size4K: PAGE_SIZE_4K, Size2M: PAGE_SIZE_2M, Size1G: PAGE_SIZE_1G } as const;

/** Bytes covered by one entry at each depth, counted from the leaf: 4K, 2M, 1G, 512G. */
const ENTRY_SPAN = [PAGE_SIZE_4K, PAGE_SIZE_2M, PAGE_SIZE_1G, 512 * PAGE_SIZE_1G];

export function isHugePageSize(size: number): boolean {
  return size === PAGE_SIZE_2M || size === PAGE_SIZE_1G;
}

export interface QueryResult {
  /** Physical address of `vaddr` itself (the page's frame plus the offset). */
  paddr: number;
  flags: MappingFlags;
  pageSize: PageSize;
}

export interface UnmapResult {
  /** Physical address of the page that was mapped (no offset). */
  paddr: number;
  pageSize: PageSize;
}

/** What {@link PageTable64.walk} hands its callbacks; `level` 0 is the root, as in the crate. */
export interface WalkEntry {
  level: number;
  index: number;
  vaddr: number;
  entry: bigint;
  isLeaf: boolean;
}

export class PageTable64 {
  readonly format: PteFormat;
  readonly mem: PhysMemory;
  readonly frames: FrameAllocator;
  private rootPaddr: number;
  private readonly u32: Uint32Array;
  private readonly memBase: number;
  private readonly vaLimit: number;
  private readonly paLimit: number;
  // Set by findLeaf: depth from the leaf (0 = 4K level) of the entry found.
  private foundDepth = 0;

  /** Allocates the root table; throws `PagingError('NoMemory')` when no frame is left. */
  constructor(mem: PhysMemory, frames: FrameAllocator, format: PteFormat) {
    this.format = format;
    this.mem = mem;
    this.frames = frames;
    this.u32 = mem.u32;
    this.memBase = mem.base;
    this.vaLimit = 2 ** (format.vaMaxBits - 1);
    this.paLimit = 2 ** format.paMaxBits;
    const root = frames.alloc();
    if (root === undefined) throw new PagingError('NoMemory', 'root table');
    this.rootPaddr = root;
  }

  /** Physical address of the root table (what goes into satp / CR3 / TTBR0). */
  get root(): number {
    if (this.rootPaddr < 0) throw new Error('page table used after destroy()');
    return this.rootPaddr;
  }

  get levels(): number {
    return this.format.levels;
  }

  /** True when `vaddr` is an address this table can translate. */
  isValidVaddr(vaddr: number): boolean {
    return Number.isInteger(vaddr) && vaddr >= 0 && vaddr < this.vaLimit;
  }

  /** Maps the page of size `pageSize` holding `vaddr` to the frame holding `paddr`. */
  map(vaddr: number, paddr: number, pageSize: PageSize, flags: MappingFlags): void {
    this.checkVaddr(vaddr);
    if (!Number.isInteger(paddr) || paddr < 0 || paddr >= this.paLimit) {
      throw new PagingError(
        'NotCanonical',
        `physical address ${hex(paddr)} beyond the format's ${this.format.paMaxBits} bits`,
      );
    }
    const depth = ENTRY_SPAN.indexOf(pageSize);
    // 4K, 2M and 1G only: a 512G "page" at a 4-level root is reserved on x86 and invalid on Arm.
    if (depth < 0 || depth > 2 || depth >= this.format.levels) {
      throw new PagingError('NotAligned', `page size ${hex(pageSize)}`);
    }
    const fmt = this.format;
    const u32 = this.u32;
    const leaf = this.checkedLeaf(this.leafEntry(paddr - (paddr % pageSize), flags, depth > 0), depth, flags);
    let table = this.root;
    for (let d = fmt.levels - 1; d > depth; d--) {
      const w = this.entryWord(table, vaddr, d);
      const lo = u32[w];
      const hi = u32[w + 1];
      if (lo === 0 && hi === 0) {
        const frame = this.frames.alloc();
        if (frame === undefined) {
          // Tables this call already made stay empty: give them back.
          this.releaseEmptyTables(vaddr - (vaddr % PAGE_SIZE_4K), PAGE_SIZE_4K);
          throw new PagingError('NoMemory', 'page table');
        }
        this.store(w, fmt.newTable(frame));
        table = frame;
      } else if (fmt.isHuge(lo, hi)) {
        throw new PagingError('MappedToHugePage', hex(vaddr));
      } else {
        table = fmt.paddr(lo, hi);
      }
    }
    const w = this.entryWord(table, vaddr, depth);
    if (u32[w] !== 0 || u32[w + 1] !== 0) throw new PagingError('AlreadyMapped', hex(vaddr));
    this.store(w, leaf);
  }

  /**
   * `entry` when it reads back as the leaf it is meant to be. Above the last
   * level a leaf must decode as huge: otherwise every walk would take it for
   * a table and read the data frame as page-table entries (on RISC-V, a block
   * without R or X is exactly that). Such flags are refused with `InvalidFlags`.
   */
  private checkedLeaf(entry: bigint, depth: number, flags: MappingFlags): bigint {
    const lo = Number(entry & 0xffff_ffffn);
    const hi = Number(entry >> 32n);
    if (depth > 0 && !this.format.isHuge(lo, hi)) {
      throw new PagingError(
        'InvalidFlags',
        `${this.format.arch} cannot encode a huge page with flags ${flags}`,
      );
    }
    // An entry that is neither a present page nor PROT_NONE (AArch64 without READ) would be a
    // mapping that nothing can translate, query or unmap: refused before it is written.
    if (!this.isMapped(lo, hi)) {
      throw new PagingError('InvalidFlags', `${this.format.arch} cannot encode a page with flags ${flags}`);
    }
    return entry;
  }

  /** Removes the mapping of the page holding `vaddr`; answers what was mapped. */
  unmap(vaddr: number): UnmapResult {
    const w = this.leafOrThrow(vaddr);
    const lo = this.u32[w];
    const hi = this.u32[w + 1];
    // A failed unmap changes nothing (the entry, whatever it holds, stays).
    if (!this.isMapped(lo, hi)) throw new PagingError('NotMapped', hex(vaddr));
    this.u32[w] = 0;
    this.u32[w + 1] = 0;
    return { paddr: this.format.paddr(lo, hi), pageSize: ENTRY_SPAN[this.foundDepth] as PageSize };
  }

  /** The translation of `vaddr`: physical address including the in-page offset, flags, page size. */
  query(vaddr: number): QueryResult {
    const w = this.leafOrThrow(vaddr);
    const lo = this.u32[w];
    const hi = this.u32[w + 1];
    if (!this.isMapped(lo, hi)) throw new PagingError('NotMapped', hex(vaddr));
    const size = ENTRY_SPAN[this.foundDepth];
    return {
      paddr: this.format.paddr(lo, hi) + (vaddr % size),
      flags: this.format.isProtNone(lo, hi) ? MappingFlags.EMPTY : this.format.flags(lo, hi),
      pageSize: size as PageSize,
    };
  }

  /**
   * Allocation-free query for hot paths: the physical address of `vaddr`, or
   * -1 when it is not mapped (or not translatable).
   */
  translate(vaddr: number): number {
    if (!this.isValidVaddr(vaddr)) return -1;
    const w = this.findLeaf(vaddr);
    if (w < 0) return -1;
    const lo = this.u32[w];
    const hi = this.u32[w + 1];
    if (!this.isMapped(lo, hi)) return -1;
    return this.format.paddr(lo, hi) + (vaddr % ENTRY_SPAN[this.foundDepth]);
  }

  /** Flags of the page holding `vaddr`, or undefined when it is not mapped. */
  flagsOf(vaddr: number): MappingFlags | undefined {
    if (!this.isValidVaddr(vaddr)) return undefined;
    const w = this.findLeaf(vaddr);
    if (w < 0) return undefined;
    const lo = this.u32[w];
    const hi = this.u32[w + 1];
    if (this.format.isProtNone(lo, hi)) return MappingFlags.EMPTY;
    return this.format.isPresent(lo, hi) ? this.format.flags(lo, hi) : undefined;
  }

  /** Replaces the flags of a mapped page; answers its size. */
  protect(vaddr: number, flags: MappingFlags): PageSize {
    const w = this.leafOrThrow(vaddr);
    const lo = this.u32[w];
    const hi = this.u32[w + 1];
    if (!this.isMapped(lo, hi)) throw new PagingError('NotMapped', hex(vaddr));
    const huge = this.foundDepth > 0;
    // To or from PROT_NONE the entry is rebuilt around its frame; otherwise the crate's set_flags.
    const entry =
      this.format.isProtNone(lo, hi) || !grantsAccess(flags)
        ? this.leafEntry(this.format.paddr(lo, hi), flags, huge)
        : this.format.setFlags(lo, hi, flags, huge);
    this.store(w, this.checkedLeaf(entry, this.foundDepth, flags));
    return ENTRY_SPAN[this.foundDepth] as PageSize;
  }

  /** Points an existing leaf at another frame with new flags; answers its size. */
  remap(vaddr: number, paddr: number, flags: MappingFlags): PageSize {
    const w = this.leafOrThrow(vaddr);
    if (!this.isMapped(this.u32[w], this.u32[w + 1])) throw new PagingError('NotMapped', hex(vaddr));
    const size = ENTRY_SPAN[this.foundDepth];
    if (this.format.isProtNone(this.u32[w], this.u32[w + 1]) || !grantsAccess(flags)) {
      const entry = this.leafEntry(paddr - (paddr % size), flags, this.foundDepth > 0);
      this.store(w, this.checkedLeaf(entry, this.foundDepth, flags));
      return size as PageSize;
    }
    const withAddr = this.format.setPaddr(this.u32[w], this.u32[w + 1], paddr - (paddr % size));
    const entry = this.format.setFlags(
      Number(withAddr & 0xffff_ffffn),
      Number(withAddr >> 32n),
      flags,
      this.foundDepth > 0,
    );
    this.store(w, this.checkedLeaf(entry, this.foundDepth, flags));
    return size as PageSize;
  }

  /**
   * Maps `[vaddr, vaddr + size)`. `paddr` is the physical start of a linear
   * mapping or a function giving the frame of each page. With `allowHuge`,
   * 2 MiB / 1 GiB pages are used where both addresses are aligned and enough
   * size remains. On failure every page mapped by this call is unmapped again.
   */
  mapRegion(
    vaddr: number,
    paddr: number | ((vaddr: number) => number),
    size: number,
    flags: MappingFlags,
    allowHuge = false,
  ): void {
    this.checkRegion(vaddr, size);
    const physOf = typeof paddr === 'number' ? (v: number) => paddr + (v - vaddr) : paddr;
    const done: number[] = [];
    let v = vaddr;
    const end = vaddr + size;
    try {
      while (v < end) {
        const p = physOf(v);
        let pageSize: PageSize = PAGE_SIZE_4K;
        if (allowHuge) {
          if (
            this.format.levels >= 3 &&
            v % PAGE_SIZE_1G === 0 &&
            p % PAGE_SIZE_1G === 0 &&
            end - v >= PAGE_SIZE_1G
          ) {
            pageSize = PAGE_SIZE_1G;
          } else if (v % PAGE_SIZE_2M === 0 && p % PAGE_SIZE_2M === 0 && end - v >= PAGE_SIZE_2M) {
            pageSize = PAGE_SIZE_2M;
          }
        }
        this.map(v, p, pageSize, flags);
        done.push(v);
        v += pageSize;
      }
    } catch (e) {
      for (const u of done) this.unmap(u);
      this.releaseEmptyTables(vaddr, size);
      throw e;
    }
  }

  /** Unmaps `[vaddr, vaddr + size)`; every page in it must be mapped and huge pages must lie wholly inside. */
  unmapRegion(vaddr: number, size: number): void {
    this.checkWholeRegion(vaddr, size);
    for (let v = vaddr; v < vaddr + size; ) v += this.unmap(v).pageSize;
  }

  /** Changes the flags of every page in `[vaddr, vaddr + size)` (same preconditions as {@link unmapRegion}). */
  protectRegion(vaddr: number, size: number, flags: MappingFlags): void {
    this.checkWholeRegion(vaddr, size);
    for (let v = vaddr; v < vaddr + size; ) v += this.protect(v, flags);
  }

  /**
   * Depth-first walk over the entries in use, in address order. `limit` caps
   * the entries visited per table. `pre` runs before a table's children,
   * `post` after; a leaf gets both.
   */
  walk(limit: number, pre?: (e: WalkEntry) => void, post?: (e: WalkEntry) => void): void {
    this.walkTable(this.root, 0, 0, limit, pre, post);
  }

  /**
   * Calls `fn` for every leaf the table owns (present or PROT_NONE) that
   * starts in `[vaddr, vaddr + size)`, in address order, with its virtual
   * start, the physical address it maps, its flags (`EMPTY` for PROT_NONE)
   * and its size. Absent tables are skipped whole, so the cost follows the
   * tables and pages present, not the size of the range. `fn` may change or
   * remove the leaf it is given (not others); tables stay until
   * {@link releaseEmptyTables}.
   */
  forEachMapped(
    vaddr: number,
    size: number,
    fn: (vaddr: number, paddr: number, flags: MappingFlags, pageSize: PageSize) => void,
  ): void {
    if (this.rootPaddr < 0 || size <= 0 || !this.isValidVaddr(vaddr)) return;
    const end = Math.min(vaddr + size, this.vaLimit);
    this.visitMapped(this.rootPaddr, this.format.levels - 1, 0, vaddr, end, fn);
  }

  private visitMapped(
    table: number,
    depth: number,
    base: number,
    start: number,
    end: number,
    fn: (vaddr: number, paddr: number, flags: MappingFlags, pageSize: PageSize) => void,
  ): void {
    const fmt = this.format;
    const u32 = this.u32;
    const span = ENTRY_SPAN[depth];
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(511, Math.floor((end - 1 - base) / span));
    for (let i = first; i <= last; i++) {
      const w = (table - this.memBase + i * 8) >>> 2;
      const lo = u32[w];
      const hi = u32[w + 1];
      if (lo === 0 && hi === 0) continue;
      const v = base + i * span;
      if (depth > 0 && !fmt.isHuge(lo, hi)) {
        this.visitMapped(fmt.paddr(lo, hi), depth - 1, v, start, end, fn);
        continue;
      }
      if (v < start) continue; // a huge leaf that starts before the range
      if (fmt.isProtNone(lo, hi)) fn(v, fmt.paddr(lo, hi), MappingFlags.EMPTY, span as PageSize);
      else if (fmt.isPresent(lo, hi)) fn(v, fmt.paddr(lo, hi), fmt.flags(lo, hi), span as PageSize);
    }
  }

  /**
   * Frees the intermediate tables under `[vaddr, vaddr + size)` that no
   * longer hold any entry, clearing their parents' entries, bottom up (the
   * root stays). Answers how many frames went back. Translations are not
   * affected (only empty tables go), and the MMU model caches leaf
   * translations only, so no TLB flush is needed here (hardware with
   * page-walk caches would need one before the frames are reused). Linux does
   * the same on munmap (free_pgtables); without it a failed or undone map
   * would keep the tables it had to create.
   */
  releaseEmptyTables(vaddr: number, size: number): number {
    if (this.rootPaddr < 0 || size <= 0 || !this.isValidVaddr(vaddr)) return 0;
    const end = Math.min(vaddr + size, this.vaLimit);
    return this.pruneTable(this.rootPaddr, this.format.levels - 1, 0, vaddr, end);
  }

  private pruneTable(table: number, depth: number, base: number, start: number, end: number): number {
    if (depth === 0) return 0;
    const fmt = this.format;
    const u32 = this.u32;
    const span = ENTRY_SPAN[depth];
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(511, Math.floor((end - 1 - base) / span));
    let freed = 0;
    for (let i = first; i <= last; i++) {
      const w = (table - this.memBase + i * 8) >>> 2;
      const lo = u32[w];
      const hi = u32[w + 1];
      if ((lo === 0 && hi === 0) || fmt.isHuge(lo, hi)) continue;
      const child = fmt.paddr(lo, hi);
      freed += this.pruneTable(child, depth - 1, base + i * span, start, end);
      const c = (child - this.memBase) >>> 2;
      let empty = true;
      for (let k = 0; k < 1024 && empty; k++) if (u32[c + k] !== 0) empty = false;
      if (empty) {
        u32[w] = 0;
        u32[w + 1] = 0;
        this.frames.dealloc(child);
        freed++;
      }
    }
    return freed;
  }

  /** Number of table frames (root included) the tree uses now. */
  countTables(): number {
    let n = 1;
    this.walk(512, (e) => {
      if (!e.isLeaf) n++;
    });
    return n;
  }

  /**
   * Frees every table frame, root included (not the frames leaves point at:
   * those belong to the owner of the mappings). Answers how many were freed.
   * The table is unusable afterwards.
   */
  destroy(): number {
    if (this.rootPaddr < 0) return 0;
    let freed = 0;
    this.walk(512, undefined, (e) => {
      if (!e.isLeaf) {
        this.frames.dealloc(this.format.paddr(Number(e.entry & 0xffff_ffffn), Number(e.entry >> 32n)));
        freed++;
      }
    });
    this.frames.dealloc(this.rootPaddr);
    this.rootPaddr = -1;
    return freed + 1;
  }

  // ---- internals -------------------------------------------------------

  /** A leaf the table owns: present, or PROT_NONE (Linux's `pte_present`). */
  private isMapped(lo: number, hi: number): boolean {
    return this.format.isPresent(lo, hi) || this.format.isProtNone(lo, hi);
  }

  /**
   * The leaf for `flags`: flags that grant no access (no READ, WRITE or
   * EXECUTE) become a PROT_NONE entry, which keeps the frame while every
   * access faults; a present entry for them would grant more than asked
   * (x86 reads every present page).
   */
  private leafEntry(paddr: number, flags: MappingFlags, huge: boolean): bigint {
    return grantsAccess(flags)
      ? this.format.newPage(paddr, flags, huge)
      : this.format.newProtNone(paddr, huge);
  }

  /** Index into `u32` of the entry for `vaddr` at depth `d` (0 = leaf level) in `table`. */
  private entryWord(table: number, vaddr: number, d: number): number {
    const index = Math.floor(vaddr / ENTRY_SPAN[d]) & 511;
    return (table - this.memBase + index * 8) >>> 2;
  }

  private store(w: number, entry: bigint): void {
    this.u32[w] = Number(entry & 0xffff_ffffn);
    this.u32[w + 1] = Number((entry >> 32n) & 0xffff_ffffn);
  }

  /**
   * The `u32` index of the leaf entry for `vaddr` (a huge leaf stops the walk
   * early), setting `foundDepth`; -1 when a table on the way is missing.
   */
  private findLeaf(vaddr: number): number {
    const fmt = this.format;
    const u32 = this.u32;
    let table = this.rootPaddr;
    for (let d = fmt.levels - 1; d > 0; d--) {
      const w = this.entryWord(table, vaddr, d);
      const lo = u32[w];
      const hi = u32[w + 1];
      if (lo === 0 && hi === 0) return -1;
      if (fmt.isHuge(lo, hi)) {
        this.foundDepth = d;
        return w;
      }
      table = fmt.paddr(lo, hi);
    }
    this.foundDepth = 0;
    return this.entryWord(table, vaddr, 0);
  }

  private leafOrThrow(vaddr: number): number {
    this.checkVaddr(vaddr);
    const w = this.findLeaf(vaddr);
    if (w < 0) throw new PagingError('NotMapped', hex(vaddr));
    return w;
  }

  private checkVaddr(vaddr: number): void {
    if (this.rootPaddr < 0) throw new Error('page table used after destroy()');
    if (!this.isValidVaddr(vaddr)) {
      throw new PagingError('NotCanonical', `${hex(vaddr)} outside ${this.format.arch}'s lower half`);
    }
  }

  private checkRegion(vaddr: number, size: number): void {
    this.checkVaddr(vaddr);
    if (vaddr % PAGE_SIZE_4K !== 0 || !Number.isInteger(size) || size < 0 || size % PAGE_SIZE_4K !== 0) {
      throw new PagingError('NotAligned', `${hex(vaddr)}+${hex(size)}`);
    }
    if (size > 0) this.checkVaddr(vaddr + size - 1);
  }

  private checkWholeRegion(vaddr: number, size: number): void {
    this.checkRegion(vaddr, size);
    const end = vaddr + size;
    for (let v = vaddr; v < end; ) {
      const w = this.findLeaf(v);
      if (w < 0 || !this.isMapped(this.u32[w], this.u32[w + 1])) throw new PagingError('NotMapped', hex(v));
      const span = ENTRY_SPAN[this.foundDepth];
      if (v % span !== 0 || v + span > end)
        throw new PagingError('NotAligned', `huge page at ${hex(v)} crosses the region`);
      v += span;
    }
  }

  private walkTable(
    table: number,
    level: number,
    base: number,
    limit: number,
    pre?: (e: WalkEntry) => void,
    post?: (e: WalkEntry) => void,
  ): void {
    const fmt = this.format;
    const depth = fmt.levels - 1 - level;
    const span = ENTRY_SPAN[depth];
    let seen = 0;
    for (let i = 0; i < 512 && seen < limit; i++) {
      const w = (table - this.memBase + i * 8) >>> 2;
      const lo = this.u32[w];
      const hi = this.u32[w + 1];
      if (lo === 0 && hi === 0) continue;
      const isLeaf = depth === 0 || fmt.isHuge(lo, hi);
      if (isLeaf && !this.isMapped(lo, hi)) continue;
      seen++;
      const e: WalkEntry = {
        level,
        index: i,
        vaddr: base + i * span,
        entry: (BigInt(hi) << 32n) | BigInt(lo),
        isLeaf,
      };
      pre?.(e);
      if (!isLeaf) this.walkTable(fmt.paddr(lo, hi), level + 1, e.vaddr, limit, pre, post);
      post?.(e);
    }
  }
}
