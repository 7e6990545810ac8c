/**
 * An anonymous shared memory object (Linux's shmem behind `MAP_SHARED |
 * MAP_ANONYMOUS`): a {@link PageSource} whose pages are zeroed frames taken
 * on first use and kept until the object is released, so every mapping
 * (in any space, across fork) shares them.
 */
import { PAGE_SIZE_4K } from '../../addr/index.js';
import type { FrameAllocator } from '../../paging/index.js';
import type { PageSource } from './types.js';

export class ShmemObject implements PageSource {
  private readonly pages = new Map<number, number>();

  constructor(
    readonly frames: FrameAllocator,
    readonly size: number,
  ) {}

  getPage(index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index * PAGE_SIZE_4K >= this.size) return undefined;
    let frame = this.pages.get(index);
    if (frame === undefined) {
      frame = this.frames.alloc();
      if (frame === undefined) return undefined;
      this.pages.set(index, frame);
    }
    this.frames.retain(frame);
    return frame;
  }

  /** Pages the object holds now. */
  get residentPages(): number {
    return this.pages.size;
  }

  /** Drops the object's own reference to every page (the last mapping's unmap frees them). */
  release(): void {
    for (const f of this.pages.values()) this.frames.release(f);
    this.pages.clear();
  }
}
