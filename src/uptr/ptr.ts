/**
 * `UserPtr<T>` and `UserConstPtr<T>`: the typed user pointers of axptr.
 *
 * What the methods hand back (never a view that escapes the checks):
 * - `get` → a {@link UserRef}: a checked reference. Every `read()` / `write()`
 *   goes through the MMU inside `accessUserMemory`, so it sees the page table
 *   as it is at that moment; if the page went away meanwhile, the fault
 *   handler fills it or the access fails with `EFAULT`.
 * - `getAsSlice` → a {@link UserSlice}: the same, element-wise or in bulk
 *   (`toArray`, `readBytes`, `writeBytes` copy in one pass).
 * - `getAsNullTerminated` → a copy (`T[]`), `getAsStr` → a `string`: the
 *   memory is read exactly once, during the scan (no double fetch; the Rust
 *   crate returned slices that aliased user memory).
 *
 * Checks run in axptr's order: misaligned → `EFAULT`; `checkRegionAccess`
 * false → `EFAULT`; population (its `ENOMEM`); then for strings invalid
 * UTF-8 → `EILSEQ`. A length whose byte size overflows, a range that wraps,
 * or an address no user space can contain (NaN, negative, ≥ 2^53 as a
 * bigint register value) is `EFAULT`. The access flags never include USER,
 * as in axptr: `UserConstPtr` needs READ, `UserPtr` READ|WRITE.
 */
import { alignDown4K, hex, PAGE_SIZE_4K, toSafeIndex, type VirtAddr } from '../addr/index.js';
import type { AddrSpace } from '../mm/index.js';
import { MappingFlags } from '../paging/index.js';
import { accessUserMemory, userMmu } from './access.js';
import {
  addrOf,
  checkRegion,
  efault,
  KERNEL,
  prefaultForWrite,
  uaccessFixup,
  userAccess,
  userLoad,
  userStore,
} from './check.js';
import type { Layout } from './layout.js';
import type { AddrSpaceProvider } from './provider.js';
import { decodeUtf8 } from './strings.js';

const READ = MappingFlags.READ;
const READ_WRITE = MappingFlags.READ | MappingFlags.WRITE;

/** A checked reference to one `T` in user memory. */
export class UserRef<T> {
  constructor(
    readonly aspace: AddrSpace,
    readonly addr: number,
    readonly layout: Layout<T>,
    readonly writable: boolean,
  ) {}

  read(): T {
    return userLoad(this.aspace, this.addr, this.layout);
  }

  write(value: T): void {
    if (!this.writable) throw new TypeError('write through a UserConstPtr reference');
    userStore(this.aspace, this.addr, this.layout, value);
  }
}

/** A checked slice `T[length]` in user memory. */
export class UserSlice<T> {
  constructor(
    readonly aspace: AddrSpace,
    readonly addr: number,
    readonly length: number,
    readonly layout: Layout<T>,
    readonly writable: boolean,
  ) {}

  get byteLength(): number {
    return this.length * this.layout.size;
  }

  get(i: number): T {
    this.checkIndex(i);
    return userLoad(this.aspace, this.addr + i * this.layout.size, this.layout);
  }

  set(i: number, value: T): void {
    this.checkIndex(i);
    this.checkWritable();
    userStore(this.aspace, this.addr + i * this.layout.size, this.layout, value);
  }

  /** A copy of the slice's bytes. */
  readBytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    userAccess(this.aspace, () => userMmu(this.aspace).readBytes(this.addr, out, KERNEL));
    return out;
  }

  /** Copies `bytes` into the slice from byte `offset`. */
  writeBytes(bytes: Uint8Array, offset = 0): void {
    this.checkWritable();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + bytes.length > this.byteLength) {
      throw new RangeError(
        `write of ${bytes.length} bytes at ${offset} past a ${this.byteLength}-byte slice`,
      );
    }
    userAccess(this.aspace, () => {
      const mmu = userMmu(this.aspace);
      prefaultForWrite(mmu, this.addr + offset, bytes.length); // all or nothing
      mmu.writeBytes(this.addr + offset, bytes, KERNEL);
    });
  }

  /** A copy of every element, read in one pass. */
  toArray(): T[] {
    const bytes = this.readBytes();
    const view = new DataView(bytes.buffer);
    const out: T[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.layout.decode(view, i * this.layout.size);
    return out;
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new RangeError(`index ${i} of a ${this.length}-element slice`);
  }

  private checkWritable(): void {
    if (!this.writable) throw new TypeError('write through a UserConstPtr slice');
  }
}

abstract class UserPointer<T> {
  /** The address as given (a register value); `addr` is -1 when no user address can equal it. */
  protected readonly raw: number | bigint;
  protected readonly addr: number;

  constructor(
    addr: number | bigint,
    readonly layout: Layout<T>,
  ) {
    this.raw = addr;
    this.addr = addrOf(addr);
  }

  protected abstract readonly flags: MappingFlags;
  protected abstract readonly writable: boolean;

  /** The address; `EFAULT` when the value is not an address at all (NaN, negative, ≥ 2^53). */
  address(): VirtAddr {
    if (this.addr < 0) throw efault(`not an address: ${String(this.raw)}`);
    return this.addr as VirtAddr;
  }

  isNull(): boolean {
    return this.raw === 0 || this.raw === 0n;
  }

  get(provider: AddrSpaceProvider): UserRef<T> {
    const aspace = checkRegion(provider, this.addr, this.layout.size, this.layout.align, this.flags);
    return new UserRef(aspace, this.addr, this.layout, this.writable);
  }

  /**
   * A checked slice of `length` elements. A zero-size element type is a
   * kernel-programming error (`TypeError`, before anything is allocated): a
   * user-chosen count of nothing has no bytes to check.
   */
  getAsSlice(provider: AddrSpaceProvider, length: number | bigint): UserSlice<T> {
    if (this.layout.size === 0) throw new TypeError(`slice of zero-size ${this.layout.name}`);
    const n = toSafeIndex(length);
    const size = n === undefined ? Number.NaN : n * this.layout.size;
    if (n === undefined || !Number.isSafeInteger(size))
      throw efault(`slice length ${String(length)} overflows`);
    const aspace = checkRegion(provider, this.addr, size, this.layout.align, this.flags);
    return new UserSlice(aspace, this.addr, n, this.layout, this.writable);
  }

  /**
   * The elements from the pointer up to (not including) the first all-zero
   * element, copied. Pages are checked one by one as the scan reaches them
   * (the provider's lock is held only for each check, never across a read, so
   * a page fault mid-scan can take it); untouched lazy pages fill on demand.
   */
  getAsNullTerminated(provider: AddrSpaceProvider): T[] {
    const bytes = this.scanNullTerminated(provider);
    const size = this.layout.size;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: T[] = new Array(bytes.length / size);
    for (let i = 0; i < out.length; i++) out[i] = this.layout.decode(view, i * size);
    return out;
  }

  /** The raw bytes of the elements before the terminator (copied once). */
  protected scanNullTerminated(provider: AddrSpaceProvider): Uint8Array {
    const start = this.addr;
    const size = this.layout.size;
    // A zero-size element has no terminator to find: a kernel bug, not a user error.
    if (size === 0) throw new TypeError(`null-terminated scan of zero-size ${this.layout.name}`);
    if (start < 0) throw efault(`not an address: ${String(this.raw)}`);
    if (start % this.layout.align !== 0) throw efault(`${hex(start)} not aligned to ${this.layout.align}`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    let page = alignDown4K(start); // first page not yet checked
    const elem = new Uint8Array(size);
    const checkedPage = (p: number): AddrSpace => {
      const as = provider.withAddrSpace((a) =>
        a.canAccessRange(p, PAGE_SIZE_4K, this.flags) ? a : undefined,
      );
      if (as === undefined) throw efault(`page ${hex(p)} not accessible`);
      return as;
    };
    let aspace = checkedPage(page);
    page += PAGE_SIZE_4K;
    try {
      accessUserMemory(() => {
        for (let ptr = start; ; ptr += size) {
          while (ptr + size > page) {
            aspace = checkedPage(page);
            page += PAGE_SIZE_4K;
          }
          const mmu = userMmu(aspace);
          if (size === 1) {
            // Bytes: copy the rest of the page once into the scratch page, look for the NUL
            // there, and keep only the string's bytes.
            const chunk = aspace.machine.cpu.scratch.subarray(0, page - ptr);
            mmu.readBytes(ptr, chunk, KERNEL);
            const nul = chunk.indexOf(0);
            const keep = chunk.slice(0, nul < 0 ? chunk.length : nul);
            chunks.push(keep);
            total += keep.length;
            if (nul >= 0) return;
            ptr = page - size;
            continue;
          }
          mmu.readBytes(ptr, elem, KERNEL);
          if (elem.every((b) => b === 0)) return;
          chunks.push(elem.slice());
          total += size;
        }
      }, aspace.machine);
    } catch (e) {
      throw uaccessFixup(e);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** A pointer to a `T` that kernel code only reads (access flags READ). */
export class UserConstPtr<T> extends UserPointer<T> {
  protected readonly flags = READ;
  protected readonly writable = false;

  /** `null` for a null pointer, else the pointer (axptr's `nullable`). */
  nullable(): UserConstPtr<T> | null {
    return this.isNull() ? null : this;
  }

  cast<U>(layout: Layout<U>): UserConstPtr<U> {
    return new UserConstPtr(this.raw, layout);
  }

  /** The NUL-terminated string at the pointer, decoded as UTF-8 (`EILSEQ` when it is not); `c_char` / `u8` only. */
  getAsStr(provider: AddrSpaceProvider): string {
    if (this.layout.size !== 1) throw new TypeError(`getAsStr on a pointer to ${this.layout.name}`);
    return decodeUtf8(this.scanNullTerminated(provider));
  }
}

/** A pointer to a `T` that kernel code reads and writes (access flags READ | WRITE). */
export class UserPtr<T> extends UserPointer<T> {
  protected readonly flags = READ_WRITE;
  protected readonly writable = true;

  nullable(): UserPtr<T> | null {
    return this.isNull() ? null : this;
  }

  cast<U>(layout: Layout<U>): UserPtr<U> {
    return new UserPtr(this.raw, layout);
  }
}
