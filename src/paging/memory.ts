/**
 * Simulated physical memory and the 4 KiB frame allocator.
 *
 * `PhysMemory` is one `ArrayBuffer` (or `SharedArrayBuffer`) that stands for
 * RAM at `[base, base + size)`. RAM starts at 0x8000_0000 by default, as on
 * RISC-V and many Arm boards; that keeps physical address 0 out of RAM, so a
 * zero entry can never be mistaken for a table at address 0.
 *
 * The host must be little-endian (every platform Node and browsers run on is):
 * page-table entries are read as two `Uint32Array` halves.
 */
import { hex, PAGE_SIZE_4K } from '../addr/index.js';

/** A kernel bug around physical memory (out-of-RAM access, double free); not a user error. */
export class PhysMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PhysMemoryError';
  }
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new PhysMemoryError('axptr needs a little-endian host');
}

export interface PhysMemoryOptions {
  /** Physical address of the first byte (4 KiB-aligned). Default 0x8000_0000. */
  base?: number;
  /** Back the memory with a `SharedArrayBuffer` (for workers). */
  shared?: boolean;
}

export const DEFAULT_PHYS_BASE = 0x8000_0000;

export class PhysMemory {
  readonly base: number;
  readonly size: number;
  readonly end: number;
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Cached views over the whole memory; index = physical address − base. */
  readonly bytes: Uint8Array;
  readonly u32: Uint32Array;
  readonly view: DataView;

  constructor(size: number, options: PhysMemoryOptions = {}) {
    const base = options.base ?? DEFAULT_PHYS_BASE;
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE_4K !== 0 || size > 2 ** 32) {
      throw new PhysMemoryError(
        `physical memory size must be a positive multiple of 4 KiB up to 4 GiB, not ${size}`,
      );
    }
    if (!Number.isSafeInteger(base) || base < 0 || base % PAGE_SIZE_4K !== 0) {
      throw new PhysMemoryError(`physical memory base must be 4 KiB-aligned, not ${hex(base)}`);
    }
    this.base = base;
    this.size = size;
    this.end = base + size;
    this.buffer = options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  /** True when `[paddr, paddr + len)` lies in RAM. */
  contains(paddr: number, len = 1): boolean {
    return paddr >= this.base && len >= 0 && paddr + len <= this.end;
  }

  /** The index into the views of physical address `paddr` (checked). */
  offsetOf(paddr: number, len = 1): number {
    if (!this.contains(paddr, len)) {
      throw new PhysMemoryError(
        `physical access ${hex(paddr)}+${len} outside RAM [${hex(this.base)}, ${hex(this.end)})`,
      );
    }
    return paddr - this.base;
  }

  read8(paddr: number): number {
    return this.bytes[this.offsetOf(paddr, 1)];
  }
  read32(paddr: number): number {
    return this.view.getUint32(this.offsetOf(paddr, 4), true);
  }
  read64(paddr: number): bigint {
    return this.view.getBigUint64(this.offsetOf(paddr, 8), true);
  }
  write8(paddr: number, v: number): void {
    this.bytes[this.offsetOf(paddr, 1)] = v;
  }
  write32(paddr: number, v: number): void {
    this.view.setUint32(this.offsetOf(paddr, 4), v, true);
  }
  write64(paddr: number, v: bigint): void {
    this.view.setBigUint64(this.offsetOf(paddr, 8), v, true);
  }

  /** A copy of `[paddr, paddr + len)`. */
  readBytes(paddr: number, len: number): Uint8Array {
    const off = this.offsetOf(paddr, len);
    return this.bytes.slice(off, off + len);
  }

  writeBytes(paddr: number, data: Uint8Array): void {
    this.bytes.set(data, this.offsetOf(paddr, data.length));
  }

  fill(paddr: number, len: number, value = 0): void {
    const off = this.offsetOf(paddr, len);
    this.bytes.fill(value, off, off + len);
  }

  /** Copies `len` bytes between physical addresses (regions may overlap). */
  copy(dst: number, src: number, len: number): void {
    const d = this.offsetOf(dst, len);
    const s = this.offsetOf(src, len);
    this.bytes.copyWithin(d, s, s + len);
  }
}

// Frame states in FrameAllocator.state.
// 0: free and known to be all zero (the initial state of every frame).
const FREE_DIRTY = 1; // free, was used, must be zeroed before it is handed out
const USED = 2;

export interface FrameStats {
  /** Frames the allocator manages. */
  total: number;
  free: number;
  used: number;
  /** Most frames ever in use at once. */
  peakUsed: number;
  /** Allocation calls (single or contiguous) since creation, failed ones included. */
  allocCalls: number;
  /** Allocation calls that answered "no frame". */
  failedCalls: number;
}

/**
 * Allocator of 4 KiB frames of one {@link PhysMemory}.
 *
 * Single frames come from a free stack (O(1)); contiguous aligned runs (for
 * 2 MiB / 1 GiB pages) are found by a scan. Every frame handed out is zeroed
 * and starts with reference count 1; `retain` / `release` share it (for
 * copy-on-write), and it returns to the pool when the last reference goes.
 * Running out answers `undefined` ("no frame"), never an exception.
 */
export class FrameAllocator {
  readonly mem: PhysMemory;
  /** First physical address managed; frames below it (e.g. firmware) are never handed out. */
  readonly start: number;
  readonly frameCount: number;
  private readonly state: Uint8Array;
  private readonly refs: Uint32Array;
  // Frame indices that were freed when pushed; an entry is stale when the frame
  // was since taken by a contiguous allocation (checked when popped).
  private stack: number[] = [];
  // Frames from here up were never handed out (taken in address order after the stack is empty),
  // so making an allocator costs nothing per frame.
  private fresh = 0;
  // 1 while a frame index sits in `stack` (stale or not), so that a frame
  // freed again after a contiguous allocation is not pushed twice and the
  // stack never grows beyond `frameCount`.
  private readonly queued: Uint8Array;
  private freeCount: number;
  private peak = 0;
  private calls = 0;
  private failed = 0;
  private failAtCall = -1;
  // The shared zero page (-1 while no mapping uses it).
  private zero = -1;

  constructor(mem: PhysMemory, options: { start?: number; end?: number } = {}) {
    this.mem = mem;
    // Physical address 0 is never handed out: a zero entry means "nothing here" to every
    // format (a LoongArch table entry is the bare address), so a table there would vanish.
    this.start = options.start ?? Math.max(mem.base, PAGE_SIZE_4K);
    const end = options.end ?? mem.end;
    if (
      this.start % PAGE_SIZE_4K !== 0 ||
      end % PAGE_SIZE_4K !== 0 ||
      this.start < mem.base ||
      end > mem.end
    ) {
      throw new PhysMemoryError(
        `frame range [${hex(this.start)}, ${hex(end)}) is not 4 KiB-aligned inside RAM`,
      );
    }
    this.frameCount = (end - this.start) / PAGE_SIZE_4K;
    this.state = new Uint8Array(this.frameCount);
    this.refs = new Uint32Array(this.frameCount);
    this.freeCount = this.frameCount;
    this.queued = new Uint8Array(this.frameCount);
  }

  stats(): FrameStats {
    return {
      total: this.frameCount,
      free: this.freeCount,
      used: this.frameCount - this.freeCount,
      peakUsed: this.peak,
      allocCalls: this.calls,
      failedCalls: this.failed,
    };
  }

  get freeFrames(): number {
    return this.freeCount;
  }

  get usedFrames(): number {
    return this.frameCount - this.freeCount;
  }

  /**
   * Test hook: the `n`-th allocation call from now (1 = the next one) answers
   * "no frame", once. `undefined` disarms it. Lets later layers walk every
   * `ENOMEM` path.
   */
  failNthAllocation(n: number | undefined): void {
    this.failAtCall = n === undefined ? -1 : this.calls + n;
  }

  /** A zeroed frame with reference count 1, or `undefined` when none is left. */
  alloc(): number | undefined {
    if (this.injectFailure()) return undefined;
    const stack = this.stack;
    while (stack.length > 0) {
      const i = stack.pop()!;
      this.queued[i] = 0;
      if (this.state[i] === USED) continue; // stale: taken by a contiguous allocation
      this.take(i);
      return this.start + i * PAGE_SIZE_4K;
    }
    // Never-used frames, lowest first (a contiguous allocation may have taken some already).
    while (this.fresh < this.frameCount && this.state[this.fresh] === USED) this.fresh++;
    if (this.fresh < this.frameCount) {
      const i = this.fresh++;
      this.take(i);
      return this.start + i * PAGE_SIZE_4K;
    }
    this.failed++;
    return undefined;
  }

  /**
   * `count` physically contiguous zeroed frames whose first frame is aligned to
   * `alignFrames` frames (512 for 2 MiB, 262144 for 1 GiB), or `undefined`.
   */
  allocContiguous(count: number, alignFrames = 1): number | undefined {
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(alignFrames) || alignFrames < 1) {
      throw new PhysMemoryError(`bad contiguous request: ${count} frames aligned to ${alignFrames}`);
    }
    if (this.injectFailure()) return undefined;
    if (count <= this.freeCount) {
      // Alignment is of the physical address, not the index.
      const alignBytes = alignFrames * PAGE_SIZE_4K;
      const firstAligned = Math.ceil(this.start / alignBytes) * alignBytes;
      for (
        let i = (firstAligned - this.start) / PAGE_SIZE_4K;
        i + count <= this.frameCount;
        i += alignFrames
      ) {
        let j = 0;
        while (j < count && this.state[i + j] !== USED) j++;
        if (j === count) {
          for (let k = 0; k < count; k++) this.take(i + k);
          return this.start + i * PAGE_SIZE_4K;
        }
      }
    }
    this.failed++;
    return undefined;
  }

  /**
   * The shared zero page with one more reference, allocated on first use;
   * `undefined` when no frame is left. Read faults on untouched memory map it
   * read-only; it is never written (every writer first asks
   * {@link isZeroPage} or the reference count, which say it is shared). It
   * is freed and forgotten when its last reference goes.
   */
  takeZeroPage(): number | undefined {
    if (this.zero >= 0) {
      this.retain(this.zero);
      return this.zero;
    }
    const fresh = this.alloc();
    if (fresh !== undefined) this.zero = fresh;
    return fresh;
  }

  /** True when `paddr` is the shared zero page now. */
  isZeroPage(paddr: number): boolean {
    return paddr === this.zero;
  }

  /** Adds a reference to a frame in use (a second mapping of it). */
  retain(paddr: number): void {
    const i = this.indexOfUsed(paddr);
    this.refs[i]++;
  }

  /**
   * Drops a reference; the frame returns to the pool when it was the last.
   * Answers true when the frame was freed.
   */
  release(paddr: number): boolean {
    const i = this.indexOfUsed(paddr);
    if (--this.refs[i] > 0) return false;
    if (paddr === this.zero) this.zero = -1;
    this.state[i] = FREE_DIRTY;
    this.freeCount++;
    if (this.queued[i] === 0) {
      this.queued[i] = 1;
      this.stack.push(i);
    }
    return true;
  }

  /** Frees a frame (drops its reference: the same as {@link release}). */
  dealloc(paddr: number): boolean {
    return this.release(paddr);
  }

  /** Frees `count` frames from `paddr` (one reference each). */
  deallocContiguous(paddr: number, count: number): void {
    for (let k = 0; k < count; k++) this.release(paddr + k * PAGE_SIZE_4K);
  }

  /** The reference count of a frame (0 when free). */
  refCount(paddr: number): number {
    const i = this.index(paddr);
    return this.state[i] === USED ? this.refs[i] : 0;
  }

  /** True when `paddr` is a frame this allocator manages (used or free). */
  manages(paddr: number): boolean {
    return paddr >= this.start && paddr < this.start + this.frameCount * PAGE_SIZE_4K;
  }

  private injectFailure(): boolean {
    this.calls++;
    if (this.calls === this.failAtCall) {
      this.failAtCall = -1;
      this.failed++;
      return true;
    }
    return false;
  }

  private take(i: number): void {
    if (this.state[i] === FREE_DIRTY) {
      const off = this.start - this.mem.base + i * PAGE_SIZE_4K;
      this.mem.bytes.fill(0, off, off + PAGE_SIZE_4K);
    }
    this.state[i] = USED;
    this.refs[i] = 1;
    this.freeCount--;
    const used = this.frameCount - this.freeCount;
    if (used > this.peak) this.peak = used;
  }

  private index(paddr: number): number {
    const rel = paddr - this.start;
    if (
      !Number.isInteger(rel) ||
      rel < 0 ||
      rel % PAGE_SIZE_4K !== 0 ||
      rel >= this.frameCount * PAGE_SIZE_4K
    ) {
      throw new PhysMemoryError(`${hex(paddr)} is not a frame of this allocator`);
    }
    return rel / PAGE_SIZE_4K;
  }

  private indexOfUsed(paddr: number): number {
    const i = this.index(paddr);
    if (this.state[i] !== USED)
      throw new PhysMemoryError(`frame ${hex(paddr)} is not allocated (double free?)`);
    return i;
  }
}
