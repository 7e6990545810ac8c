/**
 * Counts of user-memory accesses by kind, for `--stats` (like Linux's
 * /proc/vmstat: counters of the whole system, read as differences). Copies
 * count every copy in or out (struct reads and writes, iovec pieces,
 * buffers), strings every bounded string or path read, iovecs every iovec
 * array imported, atomics every futex-word operation.
 */
export const userAccessCounts = {
  copiesIn: 0,
  bytesIn: 0,
  copiesOut: 0,
  bytesOut: 0,
  strings: 0,
  iovecs: 0,
  atomics: 0,
};

export type UserAccessCounts = typeof userAccessCounts;

/** A copy of the counters now. */
export function userAccessSnapshot(): UserAccessCounts {
  return { ...userAccessCounts };
}
