/**
 * Wait queues (Linux's wait_queue_head): the tasks a condition may wake
 * (data in a pipe, a child's exit, a futex word). A task parks on one or
 * more queues with {@link Kernel.sleep}; a wake makes it runnable again and
 * the kernel retries its system call.
 */
import type { Task } from './task.js';

export class WaitQueue {
  private readonly waiters = new Set<Task>();
  add(task: Task): void {
    this.waiters.add(task);
  }

  remove(task: Task): void {
    this.waiters.delete(task);
  }

  get size(): number {
    return this.waiters.size;
  }

  /** Wakes up to `n` waiters in the order they came; answers how many woke. */
  wake(n = Number.POSITIVE_INFINITY): number {
    let woke = 0;
    for (const t of [...this.waiters]) {
      if (woke >= n) break;
      this.waiters.delete(t);
      t.wakeUp();
      woke++;
    }
    return woke;
  }
}
