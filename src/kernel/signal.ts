/**
 * Signals (Linux's kernel/signal.c): sending (to a process, or to one of
 * its threads), the pending sets and masks, and delivery on the way back
 * to user mode: the default actions (terminate, core, ignore, stop,
 * continue) and, for a caught signal, the handler.
 */

import { exitGroup } from './exit.js';
import type { Kernel } from './kernel.js';
import { type Process, ProcessState } from './process.js';
import { type Task, TaskState, WakeReason } from './task.js';

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGWINCH = 28;

/** The names and the messages a shell prints when a signal ends a program (glibc's strsignal). */
export const SIGNALS: Record<number, [string, string]> = {
  1: ['SIGHUP', 'Hangup'],
  2: ['SIGINT', ''],
  3: ['SIGQUIT', 'Quit'],
  4: ['SIGILL', 'Illegal instruction'],
  5: ['SIGTRAP', 'Trace/breakpoint trap'],
  6: ['SIGABRT', 'Aborted'],
  7: ['SIGBUS', 'Bus error'],
  8: ['SIGFPE', 'Floating point exception'],
  9: ['SIGKILL', 'Killed'],
  10: ['SIGUSR1', 'User defined signal 1'],
  11: ['SIGSEGV', 'Segmentation fault'],
  12: ['SIGUSR2', 'User defined signal 2'],
  13: ['SIGPIPE', ''],
  14: ['SIGALRM', 'Alarm clock'],
  15: ['SIGTERM', 'Terminated'],
};

export const SIG_DFL = 0n;
export const SIG_IGN = 1n;
export const SA_NOCLDSTOP = 1;
export const SA_NOCLDWAIT = 2;
export const SA_SIGINFO = 4;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000;

const bit = (sig: number): bigint => 1n << BigInt(sig - 1);

/** Signals whose default action is to do nothing. */
const DEFAULT_IGNORE = bit(SIGCHLD) | bit(SIGURG) | bit(SIGWINCH) | bit(SIGCONT);
/** Signals whose default action stops the process. */
const DEFAULT_STOP = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

/** A process's action for `sig`: the handler address (SIG_DFL 0, SIG_IGN 1) and the flags. */
export function actionOf(proc: Process, sig: number): { handler: bigint; flags: number; mask: bigint } {
  const a = proc.sigactions.get(sig);
  if (a === undefined) return { handler: SIG_DFL, flags: 0, mask: 0n };
  const v = new DataView(a.buffer, a.byteOffset, a.byteLength);
  return {
    handler: v.getBigUint64(0, true),
    flags: Number(v.getBigUint64(8, true) & 0xffff_ffffn),
    mask: v.getBigUint64(16, true),
  };
}

/** Would `sig` do nothing in `proc` (ignored, explicitly or by default)? */
export function isIgnored(proc: Process, sig: number): boolean {
  const { handler } = actionOf(proc, sig);
  return handler === SIG_IGN || (handler === SIG_DFL && (DEFAULT_IGNORE & bit(sig)) !== 0n);
}

/** Does `task` have a signal it does not block? */
export function signalPending(task: Task): boolean {
  return ((task.pending | task.process.sharedPending) & ~task.sigmask) !== 0n;
}

/**
 * Sends `sig` to `proc` (Linux's send_signal): to one thread when `to` is
 * given, else to the process (any thread that does not block it takes it).
 * An ignored signal is dropped unless blocked; SIGKILL ends the process at
 * once; SIGCONT wakes a stopped one. `forced` (a fault's signal) cannot be
 * ignored or blocked: the action falls back to the default.
 */
export function sendSignal(kernel: Kernel, proc: Process, sig: number, to?: Task, forced = false): void {
  if (sig === 0 || proc.state !== ProcessState.Running) return;
  if (sig === SIGKILL) {
    exitGroup(kernel, proc, SIGKILL);
    return;
  }
  if (sig === SIGCONT || (DEFAULT_STOP & bit(sig)) !== 0n) {
    // A stop cancels pending continues and a continue pending stops (Linux's prepare_signal).
    const drop = sig === SIGCONT ? DEFAULT_STOP : bit(SIGCONT);
    proc.sharedPending &= ~drop;
    for (const t of proc.tasks) t.pending &= ~drop;
    if (sig === SIGCONT) for (const t of proc.tasks) kernel.resume(t);
  }
  if (forced) {
    const { handler } = actionOf(proc, sig);
    if (handler === SIG_IGN) proc.sigactions.delete(sig);
    if (to !== undefined) to.sigmask &= ~bit(sig);
  }
  const target = to ?? [...proc.tasks].find((t) => (t.sigmask & bit(sig)) === 0n);
  const blocked = target === undefined || (target.sigmask & bit(sig)) !== 0n;
  if (!blocked && isIgnored(proc, sig)) return;
  if (to !== undefined) to.pending |= bit(sig);
  else proc.sharedPending |= bit(sig);
  if (target !== undefined && !blocked && target.state === TaskState.Sleeping)
    kernel.wake(target, WakeReason.Signal);
}

/**
 * Delivers what `task` has pending and does not block, lowest number first
 * (Linux's get_signal): a default action happens here; a caught signal runs
 * its handler when the task goes back to user mode.
 */
export function deliverSignals(kernel: Kernel, task: Task): void {
  const proc = task.process;
  for (;;) {
    if (proc.state !== ProcessState.Running || task.state === TaskState.Dead) return;
    const ready = (task.pending | proc.sharedPending) & ~task.sigmask;
    if (ready === 0n) return;
    let sig = 1;
    while ((ready & bit(sig)) === 0n) sig++;
    if ((task.pending & bit(sig)) !== 0n) task.pending &= ~bit(sig);
    else proc.sharedPending &= ~bit(sig);
    const { handler } = actionOf(proc, sig);
    if (handler === SIG_IGN) continue;
    if (handler === SIG_DFL) {
      const b = bit(sig);
      if ((DEFAULT_IGNORE & b) !== 0n) continue;
      if ((DEFAULT_STOP & b) !== 0n) {
        stopProcess(kernel, proc, sig);
        return;
      }
      exitGroup(kernel, proc, sig);
      return;
    }
  }
}

/** Stops every thread of `proc` (a stop signal's default action); the parent's wait may see it. */
export function stopProcess(kernel: Kernel, proc: Process, sig: number): void {
  for (const t of proc.tasks) {
    if (t.state === TaskState.Dead) continue;
    kernel.stop(t);
  }
  proc.stopSignal = sig;
  proc.stopReported = false;
  proc.parent?.childWait.wake();
}
