/**
 * A file's page cache: the frames of the machine that hold its pages, the
 * {@link PageSource} that private and shared file mappings (and the ELF
 * loader's segments) take their pages from, so every mapping of a page and
 * every read and write of the file meet in one frame. A page gets a frame on
 * first use, filled by the cache's `fill` (zero past the end of the file, and
 * zero for a hole of a memory file), and keeps it until truncated or
 * released. For a memory file the cache is the file (tmpfs): no frame left
 * is ENOSPC.
 */

import { Errno, LinuxError } from '../../errno/index.js';
import type { PageSource } from '../../mm/index.js';
import type { FrameAllocator, PhysMemory } from '../../paging/index.js';
import type { IoIter } from './inode.js';

const PAGE = 4096;
const ZEROS = new Uint8Array(PAGE);

/** A file system's page allowance (tmpfs's size=, half the memory by default). */
export interface PageBudget {
  /** Takes one page; false when the file system is full. */
  take(): boolean;
  /** Gives `n` pages back. */
  give(n: number): void;
}

export class PageCache implements PageSource {
  private readonly frames = new Map<number, number>();
  /** Pages written since the last {@link PageCache.takeDirty} (what a host file writes back). */
  private readonly dirty = new Set<number>();

  constructor(
    readonly allocator: FrameAllocator,
    readonly mem: PhysMemory,
    /** Bytes in the file. */
    public size: number,
    /** Fills a fresh (zeroed) page from where the file lives; none for a memory file. */
    private readonly fill?: (index: number, page: Uint8Array) => void,
    /** The file system's allowance each page counts against (a memory file's tmpfs). */
    private readonly budget?: PageBudget,
  ) {}

  /** Pages cached now. */
  get cachedPages(): number {
    return this.frames.size;
  }

  getPage(index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index * PAGE >= this.size) return undefined;
    const frame = this.frameOf(index);
    if (frame !== undefined) this.allocator.retain(frame);
    return frame;
  }

  /** The cached frame of page `index`, made (and filled) when absent; undefined when no frame is left. */
  private frameOf(index: number): number | undefined {
    let frame = this.frames.get(index);
    if (frame === undefined) {
      if (this.budget !== undefined && !this.budget.take()) return undefined;
      frame = this.allocator.alloc(); // zeroed: the part past the end of the file stays zero
      if (frame === undefined) {
        this.budget?.give(1);
        return undefined;
      }
      if (this.fill !== undefined) this.fill(index, this.pageBytes(frame));
      this.frames.set(index, frame);
    }
    return frame;
  }

  private pageBytes(frame: number): Uint8Array {
    const off = frame - this.mem.base;
    return this.mem.bytes.subarray(off, off + PAGE);
  }

  /** Stores the file's bytes from `pos` into `iter`; answers how many (short at the end or at a fault). */
  read(iter: IoIter, pos: number): number {
    let done = 0;
    let want = Math.min(iter.count, this.size - pos);
    while (want > 0) {
      const at = pos + done;
      const index = Math.floor(at / PAGE);
      const inPage = at % PAGE;
      const n = Math.min(want, PAGE - inPage);
      let frame = this.frames.get(index);
      if (frame === undefined && this.fill !== undefined) {
        frame = this.frameOf(index);
        if (frame === undefined) throw new LinuxError(Errno.ENOMEM, 'no frame for the page cache');
      }
      const src = frame === undefined ? ZEROS : this.pageBytes(frame);
      const moved = iter.copyOut(src.subarray(inPage, inPage + n));
      done += moved;
      want -= moved;
      if (moved < n) break;
    }
    return done;
  }

  /** Takes the bytes of `iter` into the file at `pos`; answers how many (ENOSPC when no frame is left). */
  write(iter: IoIter, pos: number): number {
    let done = 0;
    while (iter.count > 0) {
      const at = pos + done;
      const index = Math.floor(at / PAGE);
      const inPage = at % PAGE;
      const n = Math.min(iter.count, PAGE - inPage);
      const frame = this.frameOf(index);
      if (frame === undefined) {
        if (done > 0) break;
        throw new LinuxError(Errno.ENOSPC, 'no frame left for the file');
      }
      const moved = iter.copyIn(this.pageBytes(frame).subarray(inPage, inPage + n));
      if (moved > 0) this.dirty.add(index);
      done += moved;
      if (pos + done > this.size) this.size = pos + done;
      if (moved < n) break;
    }
    return done;
  }

  /** Reads `len` bytes at `pos` into a fresh array (for kernel users: exec, sendfile). */
  readBytes(pos: number, len: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(len, this.size - pos)));
    for (let done = 0; done < out.length; ) {
      const at = pos + done;
      const index = Math.floor(at / PAGE);
      const inPage = at % PAGE;
      const n = Math.min(out.length - done, PAGE - inPage);
      const frame = this.fill !== undefined ? this.frameOf(index) : this.frames.get(index);
      if (frame !== undefined) out.set(this.pageBytes(frame).subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  /** Sets the size: pages wholly past it leave the cache, the rest of the last page is zeroed. */
  truncate(size: number): void {
    for (const [index, frame] of this.frames) {
      if (index * PAGE >= size) {
        this.allocator.release(frame);
        this.frames.delete(index);
        this.dirty.delete(index);
        this.budget?.give(1);
      }
    }
    const tail = size % PAGE;
    const last = this.frames.get(Math.floor(size / PAGE));
    if (tail !== 0 && last !== undefined) this.pageBytes(last).fill(0, tail);
    this.size = size;
  }

  /** Marks every cached page dirty (a shared writable mapping may have changed any of them). */
  markAllDirty(): void {
    for (const index of this.frames.keys()) this.dirty.add(index);
  }

  /** The dirty pages' indexes and bytes, now clean. */
  takeDirty(): [number, Uint8Array][] {
    const out: [number, Uint8Array][] = [];
    for (const index of [...this.dirty].sort((a, b) => a - b)) {
      const frame = this.frames.get(index);
      if (frame !== undefined) out.push([index, this.pageBytes(frame)]);
    }
    this.dirty.clear();
    return out;
  }

  /** Drops the cache's own reference to every page (mapped pages live until unmapped). */
  release(): void {
    for (const f of this.frames.values()) this.allocator.release(f);
    this.budget?.give(this.frames.size);
    this.frames.clear();
    this.dirty.clear();
  }
}

/** An immutable file's page cache over its bytes in host memory (the program the kernel was handed). */
export class FilePages extends PageCache {
  constructor(frames: FrameAllocator, mem: PhysMemory, bytes: Uint8Array) {
    super(frames, mem, bytes.length, (index, page) =>
      page.set(bytes.subarray(index * PAGE, index * PAGE + PAGE)),
    );
  }
}
