/**
 * Addresses (the Rust crate memory_addr).
 *
 * `VirtAddr` and `PhysAddr` are branded numbers: exact non-negative integers
 * below 2^53. User space on every architecture axptr models ends far below
 * that (2^38 for Sv39, 2^47 for the 48-bit formats), so a number is enough and
 * keeps address arithmetic free of bigint. The brand stops a physical address
 * being passed where a virtual one is expected.
 *
 * Values from user space arrive as `number | bigint` and go through
 * {@link parseUserAddr} / {@link parseUserSize}, which answer `EFAULT` (or the
 * errno the caller picks) instead of rounding.
 */
import { Errno, LinuxError } from '../errno/index.js';
import { toSafeIndex } from './u64.js';

export * from './u64.js';

export type VirtAddr = number & { readonly __addrKind: 'virt' };
export type PhysAddr = number & { readonly __addrKind: 'phys' };

export const PAGE_SIZE_4K = 0x1000;
export const PAGE_SIZE_2M = 0x20_0000;
export const PAGE_SIZE_1G = 0x4000_0000;
export const PAGE_SHIFT_4K = 12;

/**
 * The exclusive upper end of any range axptr represents: 2^53. A range whose
 * end would pass it (which includes every `start + size` that wraps around
 * 2^64) is refused.
 */
export const ADDR_END = 2 ** 53;

/** Brands a trusted number as a virtual address (no check; use {@link parseUserAddr} for untrusted input). */
export function va(n: number): VirtAddr {
  return n as VirtAddr;
}

/** Brands a trusted number as a physical address. */
export function pa(n: number): PhysAddr {
  return n as PhysAddr;
}

/** True for a power of two in 1..2^52. */
export function isPowerOfTwo(n: number): boolean {
  return (
    Number.isSafeInteger(n) &&
    n > 0 &&
    // Above 2^30 `&` would truncate and Math.log2 rounds (2^49 + 1 gave 49): divide the low bits away exactly.
    (n <= 0x4000_0000 ? (n & (n - 1)) === 0 : n % 0x4000_0000 === 0 && isPowerOfTwo(n / 0x4000_0000))
  );
}

// Alignment. `align` must be a power of two (not checked, as in memory_addr).
// Arithmetic is done with division rather than `&`, which would truncate to 32 bits.

export function alignDown<A extends number>(addr: A, align: number): A {
  return (addr - (addr % align)) as A;
}

/** Rounds up; the result may reach {@link ADDR_END} but is never wrapped. */
export function alignUp<A extends number>(addr: A, align: number): A {
  const r = addr % align;
  return (r === 0 ? addr : addr - r + align) as A;
}

export function alignOffset(addr: number, align: number): number {
  return addr % align;
}

export function isAligned(addr: number, align: number): boolean {
  return addr % align === 0;
}

export function alignDown4K<A extends number>(addr: A): A {
  return (addr - (addr % PAGE_SIZE_4K)) as A;
}

export function alignUp4K<A extends number>(addr: A): A {
  const r = addr % PAGE_SIZE_4K;
  return (r === 0 ? addr : addr - r + PAGE_SIZE_4K) as A;
}

/** The offset of `addr` inside its 4 KiB page. */
export function pageOffset4K(addr: number): number {
  return addr % PAGE_SIZE_4K;
}

export function isAligned4K(addr: number): boolean {
  return addr % PAGE_SIZE_4K === 0;
}

/** The 4 KiB page number of `addr`. */
export function pageNumber4K(addr: number): number {
  return Math.floor(addr / PAGE_SIZE_4K);
}

/**
 * A half-open address range `[start, end)`. Immutable; `start <= end` always
 * holds and `end <= ADDR_END`.
 */
export class AddrRange<A extends number> {
  private constructor(
    readonly start: A,
    readonly end: A,
  ) {}

  /** `[start, end)`; undefined when `start > end` or either bound is not a valid address. */
  static tryNew<A extends number>(start: A, end: A): AddrRange<A> | undefined {
    if (!isRangeBound(start) || !isRangeBound(end) || start > end) return undefined;
    return new AddrRange(start, end);
  }

  /** `[start, end)`; throws `EFAULT` when `start > end`. */
  static new<A extends number>(start: A, end: A): AddrRange<A> {
    const r = AddrRange.tryNew(start, end);
    if (r === undefined) throw new LinuxError(Errno.EFAULT, `bad range [${hex(start)}, ${hex(end)})`);
    return r;
  }

  /** `[start, start + size)`; undefined when the end would pass {@link ADDR_END} (never wraps). */
  static tryFromStartSize<A extends number>(start: A, size: number): AddrRange<A> | undefined {
    if (!isRangeBound(start) || !isRangeBound(size)) return undefined;
    // Compare before adding: `start + size` above 2^53 rounds (2^53 - 1 + 2 gives 2^53) and would pass.
    if (size > ADDR_END - start) return undefined;
    return new AddrRange(start, (start + size) as A);
  }

  /** `[start, start + size)`; throws `EFAULT` when it would overflow (memory_addr panics instead). */
  static fromStartSize<A extends number>(start: A, size: number): AddrRange<A> {
    const r = AddrRange.tryFromStartSize(start, size);
    if (r === undefined) throw new LinuxError(Errno.EFAULT, `range ${hex(start)}+${hex(size)} overflows`);
    return r;
  }

  get size(): number {
    return this.end - this.start;
  }

  isEmpty(): boolean {
    return this.start >= this.end;
  }

  contains(addr: number): boolean {
    return this.start <= addr && addr < this.end;
  }

  containsRange(other: AddrRange<A>): boolean {
    return this.start <= other.start && other.end <= this.end;
  }

  containedIn(other: AddrRange<A>): boolean {
    return other.containsRange(this);
  }

  /** True when the ranges share a byte; an empty range overlaps nothing. */
  overlaps(other: AddrRange<A>): boolean {
    // memory_addr's bare formula says true for an empty range strictly inside another; the emptiness checks keep the promise.
    return !this.isEmpty() && !other.isEmpty() && this.start < other.end && other.start < this.end;
  }

  toString(): string {
    return `[${hex(this.start)}, ${hex(this.end)})`;
  }
}

export type VirtAddrRange = AddrRange<VirtAddr>;
export type PhysAddrRange = AddrRange<PhysAddr>;

function isRangeBound(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= ADDR_END;
}

/**
 * The pages of size `pageSize` in `[start, end)`. Undefined (like memory_addr's
 * `PageIter::new`) when `pageSize` is not a power of two or a bound is not aligned.
 */
export function pageIter<A extends number>(
  start: A,
  end: A,
  pageSize = PAGE_SIZE_4K,
): Iterable<A> | undefined {
  if (!isPowerOfTwo(pageSize) || !isAligned(start, pageSize) || !isAligned(end, pageSize)) return undefined;
  return {
    *[Symbol.iterator]() {
      for (let p = start as number; p < end; p += pageSize) yield p as A;
    },
  };
}

/** The 4 KiB pages that a byte range `[start, start + size)` touches (the range need not be aligned). */
export function pagesCovering(start: number, size: number): { first: number; end: number; count: number } {
  const first = alignDown4K(start);
  const end = alignUp4K(start + size);
  return { first, end, count: (end - first) / PAGE_SIZE_4K };
}

/**
 * Parses an untrusted user address (a 64-bit register value).
 *
 * Accepts exactly the integers 0 ≤ v < 2^53 as number or bigint. NaN,
 * infinities, fractions, negatives, values above the largest safe integer and
 * values at or above 2^64 give `LinuxError(errno)` (EFAULT by default): no such
 * address lies in any user address space, and rounding one would hand out a
 * different address than the caller named.
 */
export function parseUserAddr(v: unknown, errno: number = Errno.EFAULT): VirtAddr {
  const n = toSafeIndex(v);
  if (n === undefined) throw new LinuxError(errno, `bad user address ${describe(v)}`);
  return n as VirtAddr;
}

/** Like {@link parseUserAddr} but answers undefined instead of throwing. */
export function tryParseUserAddr(v: unknown): VirtAddr | undefined {
  return toSafeIndex(v) as VirtAddr | undefined;
}

/** Parses an untrusted size or count the same way (EFAULT by default; callers pick EINVAL where Linux does). */
export function parseUserSize(v: unknown, errno: number = Errno.EFAULT): number {
  const n = toSafeIndex(v);
  if (n === undefined) throw new LinuxError(errno, `bad size ${describe(v)}`);
  return n;
}

/**
 * The range `[addr, addr + size)` from untrusted values: EFAULT for a bad
 * address, a bad size, or an end that would pass {@link ADDR_END} (which covers
 * every wrap around 2^64).
 */
export function parseUserRange(addr: unknown, size: unknown): VirtAddrRange {
  const start = parseUserAddr(addr);
  const n = parseUserSize(size);
  const r = AddrRange.tryFromStartSize(start, n);
  if (r === undefined) throw new LinuxError(Errno.EFAULT, `range ${hex(start)}+${hex(n)} overflows`);
  return r;
}

/** `0x…` form of an address, for messages. */
export function hex(n: number | bigint): string {
  return typeof n === 'bigint' || Number.isInteger(n) ? `0x${n.toString(16)}` : String(n);
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return hex(v);
  return typeof v;
}
