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

/**
 * A checked reference to one `T` that kernel code only reads (what
 * `UserConstPtr.get` answers): it has no `write`, so a store through a
 * const pointer is a compile-time error.
 */
export class UserConstRef<T> {
  constructor(
    readonly aspace: AddrSpace,
    readonly addr: number,
    readonly layout: Layout<T>,
  ) {}

  read(): T {
    return userLoad(this.aspace, this.addr, this.layout);
  }
}

/** A checked reference to one `T` that kernel code reads and writes (what `UserPtr.get` answers). */
export class UserRef<T> extends UserConstRef<T> {
  write(value: T): void {
    userStore(this.aspace, this.addr, this.layout, value);
  }
}

/** A checked slice `T[length]` in user memory that kernel code only reads (`UserConstPtr.getAsSlice`). */
export class UserConstSlice<T> {
  constructor(
    readonly aspace: AddrSpace,
    readonly addr: number,
    readonly length: number,
    readonly layout: Layout<T>,
  ) {}

  get byteLength(): number {
    return this.length * this.layout.size;
  }

  get(i: number): T {
    this.checkIndex(i);
    return userLoad(this.aspace, this.addr + i * this.layout.size, this.layout);
  }

  /** A copy of the slice's bytes. */
  readBytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    userAccess(this.aspace, () => userMmu(this.aspace).readBytes(this.addr, out, KERNEL));
    return out;
  }

  /** A copy of every element, read in one pass. */
  toArray(): T[] {
    const bytes = this.readBytes();
    const view = new DataView(bytes.buffer);
    const out: T[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.layout.decode(view, i * this.layout.size);
    return out;
  }

  protected checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new RangeError(`index ${i} of a ${this.length}-element slice`);
  }
}

/** A checked slice `T[length]` that kernel code reads and writes (`UserPtr.getAsSlice`). */
export class UserSlice<T> extends UserConstSlice<T> {
  set(i: number, value: T): void {
    this.checkIndex(i);
    userStore(this.aspace, this.addr + i * this.layout.size, this.layout, value);
  }

  /** Copies `bytes` into the slice from byte `offset`. */
  writeBytes(bytes: Uint8Array, offset = 0): void {
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

  /** The access flags the checks need (a prototype getter: no per-pointer field to define). */
  protected abstract get flags(): MappingFlags;

  /** The address; `EFAULT` when the value is not an address at all (NaN, negative, ≥ 2^53). */
  address(): VirtAddr {
    if (this.addr < 0) throw efault(`not an address: ${String(this.raw)}`);
    return this.addr as VirtAddr;
  }

  isNull(): boolean {
    return this.raw === 0 || this.raw === 0n;
  }

  /** axptr's `get`: the region checked (alignment, areas, population); answers the space. */
  protected checked(provider: AddrSpaceProvider): AddrSpace {
    return checkRegion(provider, this.addr, this.layout.size, this.layout.align, this.flags);
  }

  /**
   * The checks of a slice of `length` elements; answers the space and the
   * element count. A zero-size element type is a kernel-programming error
   * (`TypeError`, before anything is allocated): a user-chosen count of
   * nothing has no bytes to check.
   */
  protected checkedSlice(provider: AddrSpaceProvider, length: number | bigint): [AddrSpace, number] {
    if (this.layout.size === 0) throw new TypeError(`slice of zero-size ${this.layout.name}`);
    const n = toSafeIndex(length);
    const size = n === undefined ? Number.NaN : n * this.layout.size;
    if (n === undefined || !Number.isSafeInteger(size))
      throw efault(`slice length ${String(length)} overflows`);
    return [checkRegion(provider, this.addr, size, this.layout.align, this.flags), n];
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
  protected get flags(): MappingFlags {
    return READ;
  }

  /** A checked read-only reference (axptr's `get`). */
  get(provider: AddrSpaceProvider): UserConstRef<T> {
    return new UserConstRef(this.checked(provider), this.addr, this.layout);
  }

  /** A checked read-only slice of `length` elements (axptr's `get_as_slice`). */
  getAsSlice(provider: AddrSpaceProvider, length: number | bigint): UserConstSlice<T> {
    const [aspace, n] = this.checkedSlice(provider, length);
    return new UserConstSlice(aspace, this.addr, n, this.layout);
  }

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
  protected get flags(): MappingFlags {
    return READ_WRITE;
  }

  /** A checked reference (axptr's `get`: READ | WRITE checked). */
  get(provider: AddrSpaceProvider): UserRef<T> {
    return new UserRef(this.checked(provider), this.addr, this.layout);
  }

  /** A checked slice of `length` elements (axptr's `get_as_slice`). */
  getAsSlice(provider: AddrSpaceProvider, length: number | bigint): UserSlice<T> {
    const [aspace, n] = this.checkedSlice(provider, length);
    return new UserSlice(aspace, this.addr, n, this.layout);
  }

  nullable(): UserPtr<T> | null {
    return this.isNull() ? null : this;
  }

  cast<U>(layout: Layout<U>): UserPtr<U> {
    return new UserPtr(this.raw, layout);
  }
}
