/**
 * The checks every user access shares, and the MMU access helpers.
 *
 * Each helper reads or writes user memory only through the current CPU's
 * MMU in kernel mode inside {@link accessUserMemory}, so a fault in the
 * middle really happens and goes to the kernel's page-fault handler. A fault
 * the handler does not fix surfaces here as `PageFaultError` and becomes
 * `EFAULT` (or a partial count): the exception-table analogue.
 */
import { ADDR_END, alignDown4K, alignUp4K, hex, PAGE_SIZE_4K, toSafeIndex } from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import { AddrSpace } from '../mm/index.js';
import {
  Access,
  CPU_SCRATCH_SIZE,
  type Cpu,
  type MappingFlags,
  MappingFlags as MF,
  type Mmu,
  PageFaultError,
  Privilege,
} from '../paging/index.js';
import { accessUserMemory, beginUserAccess, endUserAccess, userMmu } from './access.js';
import { c_char, encodeToBytes, i16, i32, type Layout, u8, u16, u32 } from './layout.js';
import type { AddrSpaceProvider } from './provider.js';
import { userAccessCounts } from './stats.js';

export const KERNEL = Privilege.Kernel;

export function efault(detail: string): LinuxError {
  return new LinuxError(Errno.EFAULT, detail);
}

/**
 * The exception-table fixup of a user access: an unfixed page fault becomes
 * `EFAULT`; anything else (a kernel bug, a panic) passes through unchanged.
 * Use as `catch (e) { throw uaccessFixup(e); }`.
 */
export function uaccessFixup(e: unknown): unknown {
  return e instanceof PageFaultError ? efault(e.fault.toString()) : e;
}

/** An untrusted address as a safe integer, or -1 when no user address can have that value. */
export function addrOf(v: number | bigint): number {
  return toSafeIndex(v) ?? -1;
}

/**
 * axptr's `check_region`: alignment (`EFAULT`), then every byte in areas with
 * `flags` (`EFAULT`), then population of the pages (its `ENOMEM`). A byte
 * size that overflows or a range that wraps is `EFAULT`. Answers the space,
 * for the access that follows.
 */
export function checkRegion(
  provider: AddrSpaceProvider,
  addr: number,
  size: number,
  align: number,
  flags: MappingFlags,
): AddrSpace {
  if (addr < 0) throw efault('address not representable');
  if (addr % align !== 0) throw efault(`${hex(addr)} not aligned to ${align}`);
  if (!Number.isSafeInteger(size) || size < 0 || size > ADDR_END - addr) {
    throw efault(`range ${hex(addr)}+${size} overflows`);
  }
  if (provider instanceof AddrSpace) {
    checkSpaceRegion(provider, addr, size, flags);
    return provider;
  }
  return lockedCheckRegion(provider, addr, size, flags);
}

// Apart from checkRegion, so that its closure is not allocated on the path of a bare space.
function lockedCheckRegion(
  provider: AddrSpaceProvider,
  addr: number,
  size: number,
  flags: MappingFlags,
): AddrSpace {
  return provider.withAddrSpace((aspace) => {
    checkSpaceRegion(aspace, addr, size, flags);
    return aspace;
  });
}

/** The area check and the population of {@link checkRegion}, on the space itself. */
function checkSpaceRegion(aspace: AddrSpace, addr: number, size: number, flags: MappingFlags): void {
  if (!aspace.canAccessRange(addr, size, flags)) throw efault(`${hex(addr)}+${hex(size)} not accessible`);
  const first = alignDown4K(addr);
  const access = flags & (MF.READ | MF.WRITE);
  if (!alreadyPresent(aspace, first, addr + size, access)) {
    aspace.populateArea(first, alignUp4K(addr + size) - first, access);
  }
}

/**
 * True when the one page `[first, end)` lies in is surely present as
 * `access` needs it: the CPU runs `aspace` and its TLB holds the page with
 * that permission (a write entry exists only for a writable, unshared page).
 * Then populating it would change nothing, and the page walk it costs is
 * skipped.
 */
function alreadyPresent(aspace: AddrSpace, first: number, end: number, access: MappingFlags): boolean {
  if (end > first + PAGE_SIZE_4K || end === first) return false;
  const mmu = aspace.machine.mmu;
  if (!aspace.isActiveOn(mmu)) return false;
  return mmu.isCachedForUserAccess(first, (access & MF.WRITE) !== 0 ? Access.Write : Access.Read);
}

/** Runs an MMU access to `aspace` inside the user-access window of its machine; an unfixed fault becomes `EFAULT`. */
export function userAccess<R>(aspace: AddrSpace, fn: () => R): R {
  try {
    return accessUserMemory(fn, aspace.machine);
  } catch (e) {
    throw uaccessFixup(e);
  }
}

/**
 * Loads one value inside a user access (no closure: the hot path of every
 * typed read). When the CPU runs `aspace` and its TLB holds the page, the
 * value is decoded straight from memory: a TLB hit cannot fault.
 */
export function userLoad<T>(aspace: AddrSpace, addr: number, layout: Layout<T>): T {
  const mmu = aspace.machine.mmu;
  if (mmu.owner === aspace) {
    const off = mmu.userAccessHit(addr, Access.Read, layout.size);
    if (off >= 0) return layout.decode(aspace.mem.view, off);
  }
  return loadInUserAccess(aspace, addr, layout);
}

// The slow half of userLoad, kept apart so that the fast half stays small enough to inline.
function loadInUserAccess<T>(aspace: AddrSpace, addr: number, layout: Layout<T>): T {
  const machine = aspace.machine;
  const outer = beginUserAccess(machine);
  try {
    return load(userMmu(aspace), addr, layout, machine.cpu);
  } catch (e) {
    throw uaccessFixup(e);
  } finally {
    endUserAccess(machine, outer);
  }
}

/**
 * Stores one value inside a user access; a multi-page value is checked whole
 * before any byte. A scalar whose page the TLB holds writable (so present,
 * and not shared copy-on-write) is encoded straight into memory.
 */
export function userStore<T>(aspace: AddrSpace, addr: number, layout: Layout<T>, value: T): void {
  const mmu = aspace.machine.mmu;
  if (layout.scalar === true && mmu.owner === aspace) {
    const off = mmu.userAccessHit(addr, Access.Write, layout.size);
    if (off >= 0) {
      layout.encode(aspace.mem.view, off, value);
      return;
    }
  }
  storeInUserAccess(aspace, addr, layout, value);
}

// The slow half of userStore (see loadInUserAccess).
function storeInUserAccess<T>(aspace: AddrSpace, addr: number, layout: Layout<T>, value: T): void {
  const machine = aspace.machine;
  const outer = beginUserAccess(machine);
  try {
    store(userMmu(aspace), addr, layout, value);
  } catch (e) {
    throw uaccessFixup(e);
  } finally {
    endUserAccess(machine, outer);
  }
}

/** What {@link probeSpace} found: the space, and how many bytes of the range are accessible. */
export interface Probe {
  readonly aspace: AddrSpace;
  readonly length: number;
}

/**
 * The space behind `provider` when all of `[addr, addr + len)` lies in its
 * areas with `flags`, else undefined. A bare space is asked directly (no
 * allocation: the path of every small read and write); any other provider
 * under its lock, held only meanwhile.
 */
export function spaceIfAccessible(
  provider: AddrSpaceProvider,
  addr: number,
  len: number,
  flags: MappingFlags,
): AddrSpace | undefined {
  if (provider instanceof AddrSpace)
    return provider.canAccessRange(addr, len, flags, true) ? provider : undefined;
  return lockedSpaceIfAccessible(provider, addr, len, flags);
}

// Apart from spaceIfAccessible: a closure there would allocate its context on every call.
function lockedSpaceIfAccessible(
  provider: AddrSpaceProvider,
  addr: number,
  len: number,
  flags: MappingFlags,
): AddrSpace | undefined {
  return provider.withAddrSpace((as) => (as.canAccessRange(addr, len, flags, true) ? as : undefined));
}

/**
 * How many bytes from `addr` (at most `len`) lie in areas with `flags`, and
 * the space they lie in. A bare space is asked directly; any other provider
 * under its lock, held only meanwhile.
 */
export function probeSpace(
  provider: AddrSpaceProvider,
  addr: number,
  len: number,
  flags: MappingFlags,
): Probe {
  if (provider instanceof AddrSpace)
    return { aspace: provider, length: provider.accessibleLength(addr, len, flags, true) };
  return provider.withAddrSpace((as) => ({
    aspace: as,
    length: as.accessibleLength(addr, len, flags, true),
  }));
}

/**
 * Runs `op` on the MMU that runs the space (see `userMmu`) for the longest prefix of user `[addr, addr +
 * len)` that lies in areas with `flags`, inside a user access. Answers how
 * many bytes it got through: the prefix, or less when a fault nobody fixes
 * stops it.
 */
function accessPrefix(
  provider: AddrSpaceProvider,
  addr: number,
  len: number,
  flags: MappingFlags,
  op: (mmu: Mmu, count: number) => void,
): number {
  if (addr < 0 || len > ADDR_END - addr) return 0;
  let aspace: AddrSpace;
  let ok: number;
  if (provider instanceof AddrSpace) {
    aspace = provider;
    ok = provider.accessibleLength(addr, len, flags, true);
  } else ({ aspace, length: ok } = probeSpace(provider, addr, len, flags));
  // access_ok: a range that runs past the top of user space copies nothing, however much of it is mapped.
  if (ok === 0 || addr + len > aspace.end) return 0;
  try {
    accessUserMemory(() => op(userMmu(aspace), ok), aspace.machine);
  } catch (e) {
    if (e instanceof PageFaultError) return e.done;
    throw e;
  }
  return ok;
}

/**
 * Copies user `[addr, addr + dst.length)` into `dst` until the first byte
 * outside areas with `flags` or the first unfixable fault. Answers the bytes
 * copied (a prefix of `dst`).
 */
export function copyInPrefix(
  provider: AddrSpaceProvider,
  addr: number,
  dst: Uint8Array,
  flags: MappingFlags,
): number {
  userAccessCounts.copiesIn++;
  const off = cachedRange(provider, addr, dst.length, flags, Access.Read);
  if (off >= 0) {
    dst.set((provider as AddrSpace).mem.bytes.subarray(off, off + dst.length));
    userAccessCounts.bytesIn += dst.length;
    return dst.length;
  }
  const n = copyInSlow(provider, addr, dst, flags);
  userAccessCounts.bytesIn += n;
  return n;
}

// The slow halves of the copies live apart: their closures would allocate on the fast path too.
function copyInSlow(provider: AddrSpaceProvider, addr: number, dst: Uint8Array, flags: MappingFlags): number {
  return accessPrefix(provider, addr, dst.length, flags, (mmu, n) =>
    mmu.readBytes(addr, n === dst.length ? dst : dst.subarray(0, n), KERNEL),
  );
}

/** The counterpart of {@link copyInPrefix} for stores: answers the bytes written. */
export function copyOutPrefix(
  provider: AddrSpaceProvider,
  addr: number,
  src: Uint8Array,
  flags: MappingFlags,
): number {
  userAccessCounts.copiesOut++;
  const off = cachedRange(provider, addr, src.length, flags, Access.Write);
  if (off >= 0) {
    (provider as AddrSpace).mem.bytes.set(src, off);
    userAccessCounts.bytesOut += src.length;
    return src.length;
  }
  const n = copyOutSlow(provider, addr, src, flags);
  userAccessCounts.bytesOut += n;
  return n;
}

function copyOutSlow(
  provider: AddrSpaceProvider,
  addr: number,
  src: Uint8Array,
  flags: MappingFlags,
): number {
  return accessPrefix(provider, addr, src.length, flags, (mmu, n) =>
    mmu.writeBytes(addr, n === src.length ? src : src.subarray(0, n), KERNEL),
  );
}

/**
 * The fast path of a small copy: when `provider` is a bare space that the
 * current CPU runs, `[addr, addr + len)` lies in one page inside areas with
 * `flags`, and the TLB holds that page for `access`, the memory index of
 * `addr` (the copy then cannot fault); otherwise -1.
 */
function cachedRange(
  provider: AddrSpaceProvider,
  addr: number,
  len: number,
  flags: MappingFlags,
  access: Access,
): number {
  if (!(provider instanceof AddrSpace) || len === 0) return -1;
  const mmu = provider.machine.mmu;
  if (mmu.owner !== provider) return -1;
  const off = mmu.userAccessHit(addr, access, len);
  return off >= 0 && provider.canAccessRange(addr, len, flags, true) ? off : -1;
}

/** Zeroes user `[addr, addr + len)` up to the first bad byte; answers the bytes zeroed. */
export function fillPrefix(
  provider: AddrSpaceProvider,
  addr: number,
  len: number,
  flags: MappingFlags,
): number {
  return accessPrefix(provider, addr, len, flags, (mmu, n) => mmu.fill(addr, n, 0, KERNEL));
}

/** Bytes from `addr` to the end of its 4 KiB page. */
export function toPageEnd(addr: number): number {
  return PAGE_SIZE_4K - (addr % PAGE_SIZE_4K);
}

/** Reads one value through the MMU; primitives go straight to the MMU's loads, small values bounce through `cpu`'s scratch. */
export function load<T>(mmu: Mmu, addr: number, layout: Layout<T>, cpu: Cpu): T {
  switch (layout as Layout<unknown>) {
    case u32:
      return mmu.read32(addr, KERNEL) as T;
    case u8:
    case c_char:
      return mmu.read8(addr, KERNEL) as T;
    case u16:
      return mmu.read16(addr, KERNEL) as T;
    case i32:
      return (mmu.read32(addr, KERNEL) | 0) as T;
    case i16:
      return ((mmu.read16(addr, KERNEL) << 16) >> 16) as T;
  }
  if (layout.size <= CPU_SCRATCH_SIZE) {
    mmu.readBytes(addr, cpu.scratch.subarray(0, layout.size), KERNEL);
    return layout.decode(cpu.scratchView, 0);
  }
  const bytes = new Uint8Array(new ArrayBuffer(layout.size));
  mmu.readBytes(addr, bytes, KERNEL);
  return layout.decode(new DataView(bytes.buffer), 0);
}

/** Writes one value through the MMU, padding zeroed; every page of a multi-page value is translated before any byte is stored. */
export function store<T>(mmu: Mmu, addr: number, layout: Layout<T>, value: T): void {
  if (layout === (u32 as Layout<unknown>) || layout === (i32 as Layout<unknown>)) {
    mmu.write32(addr, (value as number) >>> 0, KERNEL);
    return;
  }
  const bytes = encodeToBytes(layout, value);
  prefaultForWrite(mmu, addr, bytes.length);
  mmu.writeBytes(addr, bytes, KERNEL);
}

/**
 * Translates every page of `[addr, addr + len)` for a write (the fault
 * handler fills or un-shares them) before any byte is stored, so a page that
 * went away since the check fails the whole store instead of its tail
 * (`writeBytes` alone stores page by page).
 */
export function prefaultForWrite(mmu: Mmu, addr: number, len: number): void {
  if (len === 0 || alignDown4K(addr) === alignDown4K(addr + len - 1)) return;
  for (let p = alignDown4K(addr); p < addr + len; p += PAGE_SIZE_4K) {
    mmu.resolveForAtomic(Math.max(p, addr), KERNEL);
  }
}
