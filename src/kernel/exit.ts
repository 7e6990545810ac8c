/**
 * Ending tasks and processes (Linux's kernel/exit.c): a thread's exit
 * (clear_child_tid written and woken, the robust list walked), a group's
 * exit, the release of what a process holds, orphans given to process 1,
 * the parent told (SIGCHLD, its wait woken) and the zombie it collects.
 */
import { copyToUser } from '../uptr/index.js';
import { walkRobustList } from './futex.js';
import type { Kernel } from './kernel.js';
import { type Process, ProcessState } from './process.js';
import { actionOf, SA_NOCLDWAIT, SIG_IGN, SIGCHLD, SIGKILL, sendSignal } from './signal.js';
import { type Task, TaskState } from './task.js';

/** The shell's view of a wait status: the exit code, or 128 + the signal. */
export function shellStatus(waitStatus: number): number {
  const sig = waitStatus & 0x7f;
  return sig === 0 ? (waitStatus >> 8) & 0xff : 128 + sig;
}

/** One thread ends (exit, or its group's end); the last one ends the process. */
export function exitTask(kernel: Kernel, task: Task, code: number): void {
  if (task.state === TaskState.Dead) return;
  const proc = task.process;
  kernel.dequeue(task);
  task.state = TaskState.Dead;
  if (!proc.groupExiting) proc.waitStatus = (code & 0xff) << 8;
  // mm_release: the robust list, then clear_child_tid when others still use the memory (a joiner waits on it).
  if (task.robustList !== 0n) walkRobustList(kernel, task);
  if (task.clearChildTid !== 0n && (proc.tasks.size > 1 || proc.mmStruct.users > 1)) {
    copyToUser(proc.mm, task.clearChildTid, new Uint8Array(4));
    kernel.futexes.wake(proc.mmStruct, Number(task.clearChildTid), 1, -1);
  }
  proc.tasks.delete(task);
  kernel.tasks.delete(task.tid);
  if (proc.tasks.size === 0) processExit(kernel, proc);
}

/** The whole process ends with `waitStatus` (exit_group, or a fatal signal's number). */
export function exitGroup(kernel: Kernel, proc: Process, waitStatus: number, quiet = false): void {
  if (proc.state !== ProcessState.Running || proc.groupExiting) return;
  proc.groupExiting = true;
  proc.waitStatus = waitStatus;
  proc.quietExit = quiet;
  for (const t of [...proc.tasks]) exitTask(kernel, t, 0);
}

/** Lets go of what a process holds: its files, its memory (a vfork parent goes on), its page caches. */
export function releaseProcess(kernel: Kernel, proc: Process): void {
  if (proc.released) return;
  proc.released = true;
  if (--proc.fds.users === 0) proc.fds.closeAll();
  releaseMm(kernel, proc);
  for (const f of proc.onExit.splice(0)) f();
}

/** The process stops using its memory (exit, or execve's new image): the last user frees it. */
export function releaseMm(kernel: Kernel, proc: Process): void {
  const mm = proc.mmStruct;
  if (mm.users === 1) kernel.countFaults(mm.aspace);
  mm.put();
  if (proc.vforkPending) {
    proc.vforkPending = false;
    proc.parent?.vforkDone.wake();
  }
}

function processExit(kernel: Kernel, proc: Process): void {
  proc.exitStatus = shellStatus(proc.waitStatus);
  const sig = proc.waitStatus & 0x7f;
  if (sig !== 0) {
    proc.killedBy = sig;
    if (!proc.quietExit) kernel.reportSignalDeath(proc, sig);
  }
  releaseProcess(kernel, proc);
  proc.state = ProcessState.Zombie;
  // Process 1 going takes the others with it (a pid namespace's init); orphans go to process 1.
  const init = kernel.init;
  if (proc === init) {
    for (const p of kernel.processes.values())
      if (p !== proc && p.state === ProcessState.Running) exitGroup(kernel, p, SIGKILL, true);
  }
  for (const c of [...proc.children]) {
    proc.children.delete(c);
    if (c.pdeathsig !== 0) sendSignal(kernel, c, c.pdeathsig);
    if (init !== undefined && init !== proc && init.state === ProcessState.Running) {
      c.parent = init;
      init.children.add(c);
      if (c.state === ProcessState.Zombie) notifyParent(kernel, c);
    } else {
      c.parent = undefined;
      if (c.state === ProcessState.Zombie) reapProcess(kernel, c);
    }
  }
  notifyParent(kernel, proc);
}

/** A child became a zombie: its parent is told, or (SIGCHLD ignored, SA_NOCLDWAIT) it is reaped at once. */
function notifyParent(kernel: Kernel, child: Process): void {
  const parent = child.parent;
  if (parent === undefined) return;
  if (parent.state !== ProcessState.Running) {
    reapProcess(kernel, child);
    return;
  }
  const a = actionOf(parent, SIGCHLD);
  if (child.exitSignal === SIGCHLD && (a.handler === SIG_IGN || (a.flags & SA_NOCLDWAIT) !== 0)) {
    reapProcess(kernel, child);
    parent.childWait.wake();
    return;
  }
  if (child.exitSignal !== 0) sendSignal(kernel, parent, child.exitSignal);
  parent.childWait.wake();
}

/** A zombie is collected: gone from its parent and the table. */
export function reapProcess(kernel: Kernel, child: Process): void {
  child.state = ProcessState.Reaped;
  child.parent?.children.delete(child);
  kernel.processes.delete(child.pid);
}
