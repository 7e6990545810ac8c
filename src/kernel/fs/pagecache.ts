/**
 * A file's page cache over its bytes: the {@link PageSource} that private
 * and shared file mappings (and the ELF loader's segments) take their pages
 * from. A page gets a frame of the machine on first use, filled from the
 * file (zero past its end), and keeps it until {@link FilePages.release}, so
 * every mapping of the page shares one frame.
 */
import type { PageSource } from '../../mm/index.js';
import type { FrameAllocator, PhysMemory } from '../../paging/index.js';

const PAGE = 4096;

export class FilePages implements PageSource {
  private readonly pages = new Map<number, number>();

  constructor(
    readonly frames: FrameAllocator,
    readonly mem: PhysMemory,
    readonly bytes: Uint8Array,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  /** Pages cached now. */
  get cachedPages(): number {
    return this.pages.size;
  }

  getPage(index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index * PAGE >= this.bytes.length) return undefined;
    let frame = this.pages.get(index);
    if (frame === undefined) {
      frame = this.frames.alloc(); // zeroed: the part past the end of the file stays zero
      if (frame === undefined) return undefined;
      this.mem.writeBytes(frame, this.bytes.subarray(index * PAGE, index * PAGE + PAGE));
      this.pages.set(index, frame);
    }
    this.frames.retain(frame);
    return frame;
  }

  /** Drops the cache's own reference to every page (mapped pages live until unmapped). */
  release(): void {
    for (const f of this.pages.values()) this.frames.release(f);
    this.pages.clear();
  }
}
