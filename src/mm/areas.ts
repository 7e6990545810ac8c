/**
 * Memory areas and the sorted set that holds them (the Rust crate
 * memory_set's `MemoryArea` / `MemorySet`).
 *
 * The set is kept as chunks of sorted areas (each chunk at most
 * {@link CHUNK_MAX} areas, chunks in address order), so a lookup is two
 * binary searches and an insert or removal moves at most one chunk's worth
 * of entries: near-logarithmic growth without a balanced tree's constant
 * factors. Areas never overlap and are never empty.
 */
import type { MappingFlags } from '../paging/index.js';
import type { Backend } from './backend/types.js';

export class MemoryArea {
  constructor(
    public start: number,
    public end: number,
    public flags: MappingFlags,
    public readonly backend: Backend,
  ) {}

  get size(): number {
    return this.end - this.start;
  }

  contains(addr: number): boolean {
    return this.start <= addr && addr < this.end;
  }

  /** A copy of this area over `[start, end)` (same flags and backend). */
  slice(start: number, end: number, flags: MappingFlags = this.flags): MemoryArea {
    return new MemoryArea(start, end, flags, this.backend);
  }
}

const CHUNK_MAX = 64;

/** Areas sorted by start address. */
export class AreaSet {
  private chunks: MemoryArea[][] = [];
  private count = 0;
  // The area the last successful find answered (Linux's per-mm VMA cache): most lookups of a system
  // call hit the area of the one before. Dropped on every insert, removal and clear.
  private recent: MemoryArea | null = null;

  get size(): number {
    return this.count;
  }

  /** Every area in address order. */
  *[Symbol.iterator](): IterableIterator<MemoryArea> {
    for (const c of this.chunks) yield* c;
  }

  toArray(): MemoryArea[] {
    return this.chunks.flat();
  }

  /** The area that contains `addr`, if any. */
  find(addr: number): MemoryArea | undefined {
    const r = this.recent;
    if (r !== null && r.start <= addr && addr < r.end) return r;
    const a = this.lastStartingAtOrBefore(addr);
    if (a !== undefined && addr < a.end) {
      this.recent = a;
      return a;
    }
    return undefined;
  }

  /** The last area with `start <= addr` (it may end before `addr`). */
  lastStartingAtOrBefore(addr: number): MemoryArea | undefined {
    const ci = this.chunkFor(addr);
    if (ci < 0) return undefined;
    const c = this.chunks[ci];
    return c[upperBound(c, addr) - 1];
  }

  /** The first area with `end > addr`: the one holding `addr` or the next one after it. */
  firstEndingAfter(addr: number): MemoryArea | undefined {
    const it = this.iterFrom(addr);
    const r = it.next();
    return r.done ? undefined : r.value;
  }

  /** Areas in address order starting with the first whose end is above `addr`. */
  *iterFrom(addr: number): IterableIterator<MemoryArea> {
    let ci = Math.max(this.chunkFor(addr), 0);
    if (ci >= this.chunks.length) return;
    let i = Math.max(upperBound(this.chunks[ci], addr) - 1, 0);
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci];
      for (; i < c.length; i++) if (c[i].end > addr) yield c[i];
    }
  }

  /** The areas that share a byte with `[start, end)`, in order. */
  overlapping(start: number, end: number): MemoryArea[] {
    const out: MemoryArea[] = [];
    if (start >= end) return out;
    for (const a of this.iterFrom(start)) {
      if (a.start >= end) break;
      out.push(a);
    }
    return out;
  }

  /** True when some area shares a byte with `[start, end)`. */
  overlaps(start: number, end: number): boolean {
    if (start >= end) return false;
    const a = this.firstEndingAfter(start);
    return a !== undefined && a.start < end;
  }

  /** Adds an area; the caller guarantees it overlaps none. */
  insert(area: MemoryArea): void {
    this.recent = null;
    this.count++;
    if (this.chunks.length === 0) {
      this.chunks.push([area]);
      return;
    }
    const ci = Math.max(this.chunkFor(area.start), 0);
    const c = this.chunks[ci];
    c.splice(upperBound(c, area.start), 0, area);
    if (c.length > CHUNK_MAX) this.chunks.splice(ci + 1, 0, c.splice(CHUNK_MAX >> 1));
  }

  /** Removes the area that starts at `start` (the same object); answers whether it was there. */
  remove(area: MemoryArea): boolean {
    const ci = this.chunkFor(area.start);
    if (ci < 0) return false;
    const c = this.chunks[ci];
    const i = upperBound(c, area.start) - 1;
    if (i < 0 || c[i] !== area) return false;
    this.recent = null;
    c.splice(i, 1);
    this.count--;
    if (c.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  /**
   * Puts `replacement` where `area` is (the same object as stored; both must
   * start at the same address, and `replacement` must overlap no other
   * area): a merge or a resize without moving the others.
   */
  replace(area: MemoryArea, replacement: MemoryArea): boolean {
    if (replacement.start !== area.start) return false;
    const ci = this.chunkFor(area.start);
    if (ci < 0) return false;
    const c = this.chunks[ci];
    const i = upperBound(c, area.start) - 1;
    if (i < 0 || c[i] !== area) return false;
    c[i] = replacement;
    this.recent = null;
    return true;
  }

  clear(): void {
    this.recent = null;
    this.chunks = [];
    this.count = 0;
  }

  /** Index of the last chunk whose first area starts at or before `addr` (-1 if none). */
  private chunkFor(addr: number): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunks[mid][0].start <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

/** Index of the first area in `c` with `start > addr`. */
function upperBound(c: MemoryArea[], addr: number): number {
  let lo = 0;
  let hi = c.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c[mid].start <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
