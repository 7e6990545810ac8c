/**
 * The program the kernel was handed (`axptr run prog`): its bytes came from
 * the host, not from a mounted directory, so it is a read-only file of its
 * own, on no directory. `/proc/self/exe` opens it, so a multi-call binary
 * (busybox) runs its applets through it, and its page cache is the one the
 * process's mappings share.
 */
import { Errno } from '../../errno/index.js';
import type { PageSource } from '../../mm/index.js';
import { fail, type IoIter, RegularInode, S_IFREG, type SuperBlock } from './inode.js';
import type { FilePages } from './pagecache.js';

export class ProgramInode extends RegularInode {
  constructor(
    sb: SuperBlock,
    readonly bytes: Uint8Array,
    private readonly cache: FilePages,
  ) {
    super(sb, sb.nextIno(), S_IFREG | 0o755, 0, 0);
    this.nlink = 0; // on no directory: freed with the last holder
  }

  get size(): number {
    return this.bytes.length;
  }

  read(iter: IoIter, pos: number): number {
    if (pos >= this.bytes.length) return 0;
    return iter.copyOut(this.bytes.subarray(pos));
  }

  write(): number {
    return -Errno.ETXTBSY;
  }

  truncate(): void {
    fail(Errno.ETXTBSY, 'the running program cannot be changed');
  }

  pages(): PageSource {
    return this.cache;
  }

  override cachedPages(): PageSource {
    return this.cache;
  }

  override evict(): void {
    this.cache.release();
  }
}
