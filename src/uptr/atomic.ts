/**
 * Atomic operations on an aligned user `u32` (what futexes need): load,
 * swap, compare-exchange and the futex fetch-ops.
 *
 * The word must be 4-byte aligned (`EINVAL`, as `futex(2)` answers for a
 * misaligned address) and lie in a user area that allows the access
 * (`EFAULT`). Read-modify-write operations translate for a write, so a
 * read-only or copy-on-write-shared page is made private first, and use
 * `Atomics` on the physical memory, so they stay atomic when the memory is
 * a `SharedArrayBuffer` shared with other workers.
 */
import { hex } from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import { MappingFlags as MF } from '../paging/index.js';
import { accessUserMemory, userMmu } from './access.js';
import { addrOf, efault, KERNEL, uaccessFixup } from './check.js';
import type { AddrSpaceProvider } from './provider.js';
import { userAccessCounts } from './stats.js';

/** The futex `FUTEX_OP_*` operations. */
export type FetchOp = 'set' | 'add' | 'or' | 'andn' | 'xor';

const USER_RW = MF.READ | MF.WRITE | MF.USER;

function wordIndex(
  provider: AddrSpaceProvider,
  uaddr: number | bigint,
  write: boolean,
): { u32: Uint32Array; index: number } {
  userAccessCounts.atomics++;
  // get_futex_key's order: alignment of the raw register value first (EINVAL), then access (EFAULT).
  if (isMisaligned(uaddr)) throw new LinuxError(Errno.EINVAL, `futex word ${String(uaddr)} not aligned`);
  const addr = addrOf(uaddr);
  if (addr < 0) throw efault(`not an address: ${String(uaddr)}`);
  const flags = write ? USER_RW : MF.READ | MF.USER;
  const aspace = provider.withAddrSpace((as) => (as.canAccessRange(addr, 4, flags, true) ? as : undefined));
  if (aspace === undefined) throw efault(`futex word ${hex(addr)} not accessible`);
  try {
    return accessUserMemory(() => {
      const mmu = userMmu(aspace);
      const off = write ? mmu.resolveForAtomic(addr, KERNEL) : mmu.resolveForLoad(addr, KERNEL);
      return { u32: aspace.mem.u32, index: off >>> 2 };
    }, aspace.machine);
  } catch (e) {
    throw uaccessFixup(e);
  }
}

/**
 * True when a 64-bit register value is not a multiple of 4. A value that is
 * no integer at all (NaN, a fraction) is not an address: it is left to the
 * address check (`EFAULT`).
 */
function isMisaligned(uaddr: number | bigint): boolean {
  if (typeof uaddr === 'bigint') return (BigInt.asUintN(64, uaddr) & 3n) !== 0n;
  // Integers above 2^53 are exact in a double, so `% 4` still tells their low bits.
  return Number.isInteger(uaddr) && uaddr % 4 !== 0;
}

export function atomicLoadU32(provider: AddrSpaceProvider, uaddr: number | bigint): number {
  const { u32, index } = wordIndex(provider, uaddr, false);
  return Atomics.load(u32, index);
}

/** Stores `value`; answers the previous value. */
export function atomicSwapU32(provider: AddrSpaceProvider, uaddr: number | bigint, value: number): number {
  const { u32, index } = wordIndex(provider, uaddr, true);
  return Atomics.exchange(u32, index, value >>> 0);
}

/** Stores `desired` when the word equals `expected`; answers the value found (the swap happened when it equals `expected`). */
export function atomicCmpxchgU32(
  provider: AddrSpaceProvider,
  uaddr: number | bigint,
  expected: number,
  desired: number,
): number {
  const { u32, index } = wordIndex(provider, uaddr, true);
  return Atomics.compareExchange(u32, index, expected >>> 0, desired >>> 0);
}

/** Applies a futex operation; answers the previous value. */
export function atomicFetchOpU32(
  provider: AddrSpaceProvider,
  uaddr: number | bigint,
  op: FetchOp,
  operand: number,
): number {
  const { u32, index } = wordIndex(provider, uaddr, true);
  const v = operand >>> 0;
  switch (op) {
    case 'set':
      return Atomics.exchange(u32, index, v);
    case 'add':
      return Atomics.add(u32, index, v);
    case 'or':
      return Atomics.or(u32, index, v);
    case 'andn':
      return Atomics.and(u32, index, ~v >>> 0);
    case 'xor':
      return Atomics.xor(u32, index, v);
  }
}
