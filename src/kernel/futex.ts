/**
 * Futexes (Linux's kernel/futex): tasks waiting on a 32-bit word of user
 * memory, by address space and address, with the bitset of
 * FUTEX_WAIT_BITSET; wake, requeue and the robust list walked at a thread's
 * exit. The word itself is read and written by the system call through the
 * user-pointer layer's atomic helpers.
 */
import { Errno } from '../errno/index.js';
import { atomicLoadU32, atomicSwapU32, copyFromUser } from '../uptr/index.js';
import type { Kernel } from './kernel.js';
import type { MmStruct } from './process.js';
import type { Task } from './task.js';

interface Waiter {
  task: Task;
  bitset: number;
  key: { mm: MmStruct; addr: number };
}

export class FutexTable {
  private readonly byMm = new Map<MmStruct, Map<number, Waiter[]>>();

  private list(mm: MmStruct, addr: number, make: boolean): Waiter[] | undefined {
    let m = this.byMm.get(mm);
    if (m === undefined) {
      if (!make) return undefined;
      m = new Map();
      this.byMm.set(mm, m);
    }
    let l = m.get(addr);
    if (l === undefined && make) {
      l = [];
      m.set(addr, l);
    }
    return l;
  }

  private drop(w: Waiter): void {
    const m = this.byMm.get(w.key.mm);
    const l = m?.get(w.key.addr);
    if (m === undefined || l === undefined) return;
    const i = l.indexOf(w);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) m.delete(w.key.addr);
    if (m.size === 0) this.byMm.delete(w.key.mm);
  }

  /** Parks `task` on the word (the caller checked its value): 0 when woken, ETIMEDOUT at the deadline. */
  wait(kernel: Kernel, task: Task, mm: MmStruct, addr: number, bitset: number, deadlineNs?: bigint): number {
    const w: Waiter = { task, bitset, key: { mm, addr } };
    this.list(mm, addr, true)?.push(w);
    return kernel.sleep(task, {
      queues: [],
      deadlineNs,
      what: `futex wait on 0x${addr.toString(16)}`,
      retry: () => 0,
      timedOut: () => -Errno.ETIMEDOUT,
      cancel: () => this.drop(w),
    });
  }

  /** Wakes up to `n` waiters on the word whose bitset meets `bitset`; answers how many. */
  wake(mm: MmStruct, addr: number, n: number, bitset: number): number {
    const l = this.list(mm, addr, false);
    if (l === undefined) return 0;
    let woke = 0;
    for (const w of [...l]) {
      if (woke >= n) break;
      if ((w.bitset & bitset) === 0) continue;
      this.drop(w);
      w.task.wakeUp();
      woke++;
    }
    return woke;
  }

  /** Wakes `n` waiters on `addr` and moves up to `requeue` more to `addr2`; answers both counts' sum. */
  requeue(mm: MmStruct, addr: number, n: number, addr2: number, requeue: number): number {
    const woke = this.wake(mm, addr, n, -1);
    const l = this.list(mm, addr, false);
    if (l === undefined) return woke;
    let moved = 0;
    for (const w of [...l]) {
      if (moved >= requeue) break;
      this.drop(w);
      w.key = { mm, addr: addr2 };
      this.list(mm, addr2, true)?.push(w);
      moved++;
    }
    return woke + moved;
  }
}

const FUTEX_OWNER_DIED = 0x40000000;
const FUTEX_WAITERS = 0x80000000;
const FUTEX_TID_MASK = 0x3fffffff;
/** Linux's ROBUST_LIST_LIMIT: a list longer than this (or a loop) is not walked further. */
const ROBUST_LIST_LIMIT = 2048;

/**
 * A thread's robust futexes at its exit (Linux's exit_robust_list): every
 * lock word on the list that still names the thread gets FUTEX_OWNER_DIED
 * and one waiter is woken. A bad pointer ends the walk quietly, as Linux's.
 */
export function walkRobustList(kernel: Kernel, task: Task): void {
  const mm = task.process.mm;
  const read64 = (addr: bigint): bigint | undefined => {
    const b = new Uint8Array(8);
    if (copyFromUser(mm, b, addr) > 0) return undefined;
    return new DataView(b.buffer).getBigUint64(0, true);
  };
  const head = task.robustList;
  // struct robust_list_head { struct robust_list *next; long futex_offset; struct robust_list *pending; }
  const first = read64(head);
  const offset = read64(head + 8n);
  const pending = read64(head + 16n);
  if (first === undefined || offset === undefined || pending === undefined) return;
  const off = BigInt.asIntN(64, offset);
  const handle = (entry: bigint) => {
    const addr = BigInt.asUintN(64, entry + off);
    if ((addr & 3n) !== 0n) return;
    try {
      const word = atomicLoadU32(mm, addr);
      if ((word & FUTEX_TID_MASK) !== task.tid) return;
      const next = ((word & FUTEX_WAITERS) | FUTEX_OWNER_DIED) >>> 0;
      atomicSwapU32(mm, addr, next);
      if ((word & FUTEX_WAITERS) !== 0) kernel.futexes.wake(task.process.mmStruct, Number(addr), 1, -1);
    } catch {
      // A word that cannot be reached is skipped, as Linux's handle_futex_death gives up on it.
    }
  };
  let entry = first;
  let n = 0;
  while (entry !== head && n++ < ROBUST_LIST_LIMIT) {
    const next = read64(entry);
    if (entry !== pending) handle(entry);
    if (next === undefined) return;
    entry = next;
  }
  if (pending !== 0n) handle(pending);
}
