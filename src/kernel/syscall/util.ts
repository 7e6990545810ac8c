/** What the system-call handlers share: argument decoding and errno answers. */
import { Errno } from '../../errno/index.js';

/** The low 32 bits of a register as a signed int (what an `int` argument is). */
export function int(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** A register as an unsigned 64-bit number when it is a safe integer, else -1 (no size can be that big). */
export function size(v: bigint): number {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : -1;
}

export const err = (e: number) => -e;
export const EFAULT = -Errno.EFAULT;
export const EINVAL = -Errno.EINVAL;
export const EBADF = -Errno.EBADF;
export const ENOENT = -Errno.ENOENT;
export const ENOMEM = -Errno.ENOMEM;
export const ENOTTY = -Errno.ENOTTY;

/** Linux's MAX_RW_COUNT: one read or write moves at most this much. */
export const MAX_RW_COUNT = 0x7ffff000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EACCESS = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
export const AT_STATX_SYNC_TYPE = 0x6000;
