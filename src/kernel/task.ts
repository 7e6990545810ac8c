/**
 * Tasks (Linux's task_struct for one thread): the registers while the task
 * is off its CPU, the thread id, the signal mask and pending signals, the
 * thread's futex addresses (set_child_tid / clear_child_tid, the robust
 * list, rseq), and the wait it is parked in. A task runs on one CPU's hart
 * at a time; the scheduler loads its context there.
 */
import { cloneHartContext, type HartContext, newHartContext } from '../riscv/index.js';
import type { Process } from './process.js';
import type { WaitQueue } from './wait.js';

export const enum TaskState {
  Runnable,
  /** Parked in a wait (a system call that must wait). */
  Sleeping,
  /** Stopped by SIGSTOP and friends until SIGCONT. */
  Stopped,
  Dead,
}

/** Why a parked task woke. */
export const enum WakeReason {
  None,
  /** A queue it waited on was woken. */
  Event,
  /** Its deadline passed. */
  Timeout,
  /** A signal it does not block arrived. */
  Signal,
}

/** What a parked system call waits for, and how it goes on. */
export interface Wait {
  queues: readonly WaitQueue[];
  /** The host's monotonic time at which the wait ends (undefined: none). */
  deadlineNs?: bigint;
  /** Says what waits, for a deadlock report ("read from pipe:[3]"). */
  what: string;
  /** Called when a queue woke the task: the call's result, or BLOCKED to sleep again (default: run the call again). */
  retry?: () => number;
  /** Called when the deadline passed: the call's result. */
  timedOut?: () => number;
  /** Called when a signal ended the wait: the call's result (default EINTR). */
  interrupted?: () => number;
  /** Called whenever the wait ends, however (a futex waiter leaves its list). */
  cancel?: () => void;
  /** True when a signal does not interrupt the wait (vfork's parent, an uninterruptible sleep). */
  uninterruptible?: boolean;
}

/** The scheduler side a task calls to be woken (so that a queue needs no global). */
export interface Waker {
  wake(task: Task, reason: WakeReason): void;
}

export class Task {
  /** The registers while the task is not on a hart. */
  ctx: HartContext;
  state = TaskState.Runnable;
  /** The blocked-signal mask (bit N-1 for signal N). */
  sigmask = 0n;
  /** Signals sent to this thread and not yet delivered. */
  pending = 0n;
  /** set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit. */
  clearChildTid = 0n;
  /** The registered rseq area, and the robust-futex list head (set_robust_list). */
  rseq: { addr: bigint; len: number; sig: number } | undefined;
  robustList = 0n;
  /** The wait the task is parked in, and why it woke. */
  wait: Wait | undefined;
  wakeReason = WakeReason.None;
  /** The CPU whose hart holds this task's registers (-1: none; they are in ctx). */
  onCpu = -1;
  /** Instructions this task retired (its share of the harts' counts). */
  instret = 0;
  /** Where the last user page fault was, to tell a fault that never gets fixed. */
  lastFaultPc = -1;
  lastFaultInstret = -1;
  faultRepeats = 0;
  /** A stop signal came while the task was parked: it stops instead of running when woken. */
  stopWhenWoken = false;
  /** Set by a successful execve: the registers are the new program's, the ecall is not completed. */
  execed = false;

  constructor(
    readonly tid: number,
    public process: Process,
    private readonly waker: Waker,
    ctx?: HartContext,
  ) {
    this.ctx = ctx === undefined ? newHartContext() : cloneHartContext(ctx);
  }

  /** Makes a parked task runnable (a wait queue woke it). */
  wakeUp(reason = WakeReason.Event): void {
    this.waker.wake(this, reason);
  }
}
