/**
 * clone (Linux's kernel/fork.c, copy_process): a new thread in the
 * caller's process (CLONE_THREAD), or a new process whose memory is a
 * copy-on-write copy (fork) or the parent's own (CLONE_VM: vfork), with a
 * copied or shared descriptor table, the signal actions, limits, identity
 * and working directory of its parent. The new task starts where the
 * caller's ecall returns, with a0 = 0.
 */
import { Errno } from '../errno/index.js';
import { copyToUser, u32, writeVal } from '../uptr/index.js';
import type { Kernel } from './kernel.js';
import { setCtxReg } from './kernel.js';
import { MmStruct, Process, ProcessState, RLIMIT_NOFILE } from './process.js';
import { Task } from './task.js';

export const CSIGNAL = 0xff;
export const CLONE_VM = 0x100;
export const CLONE_FS = 0x200;
export const CLONE_FILES = 0x400;
export const CLONE_SIGHAND = 0x800;
export const CLONE_PIDFD = 0x1000;
export const CLONE_PTRACE = 0x2000;
export const CLONE_VFORK = 0x4000;
export const CLONE_PARENT = 0x8000;
export const CLONE_THREAD = 0x10000;
export const CLONE_NEWNS = 0x20000;
export const CLONE_SYSVSEM = 0x40000;
export const CLONE_SETTLS = 0x80000;
export const CLONE_PARENT_SETTID = 0x100000;
export const CLONE_CHILD_CLEARTID = 0x200000;
export const CLONE_DETACHED = 0x400000;
export const CLONE_UNTRACED = 0x800000;
export const CLONE_CHILD_SETTID = 0x1000000;
export const CLONE_NEWCGROUP = 0x2000000;
export const CLONE_NEWUTS = 0x4000000;
export const CLONE_NEWIPC = 0x8000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_IO = 0x80000000;

const NAMESPACES =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

export interface CloneArgs {
  flags: number;
  /** The child's stack pointer (0: the parent's). */
  stack: bigint;
  parentTid: bigint;
  tls: bigint;
  childTid: bigint;
}

/** The registers a task has now (saved from its hart when it runs). */
function userContext(kernel: Kernel, task: Task) {
  if (task.onCpu >= 0) kernel.cpus[task.onCpu].hart.saveContext(task.ctx);
  return task.ctx;
}

/** clone's checks and copy; answers the new task's tid, or -errno with nothing made. */
export function copyProcess(kernel: Kernel, parentTask: Task, a: CloneArgs): number {
  const f = a.flags >>> 0;
  const parent = parentTask.process;
  // copy_process's refusals, in its order.
  if ((f & (CLONE_NEWNS | CLONE_FS)) === (CLONE_NEWNS | CLONE_FS)) return -Errno.EINVAL;
  if ((f & CLONE_THREAD) !== 0 && (f & CLONE_SIGHAND) === 0) return -Errno.EINVAL;
  if ((f & CLONE_SIGHAND) !== 0 && (f & CLONE_VM) === 0) return -Errno.EINVAL;
  if ((f & CLONE_PARENT) !== 0 && parent === kernel.init) return -Errno.EINVAL;
  if ((f & CLONE_THREAD) !== 0 && (f & CSIGNAL) !== 0) return -Errno.EINVAL;
  // Namespaces and pidfds are not part of this kernel (a sandbox has one of each).
  if ((f & NAMESPACES) !== 0) return -Errno.EPERM;
  if ((f & CLONE_PIDFD) !== 0) return -Errno.EINVAL;

  const regs = userContext(kernel, parentTask);
  const tid = kernel.allocPid();
  let proc: Process;
  if ((f & CLONE_THREAD) !== 0) {
    proc = parent;
    kernel.stats.threads++;
  } else {
    let mm: MmStruct;
    if ((f & CLONE_VM) !== 0) {
      mm = parent.mmStruct;
      mm.users++;
    } else {
      let aspace: ReturnType<typeof parent.aspace.fork>;
      try {
        aspace = parent.mm.withAddrSpace((as) => as.fork());
      } catch {
        return -Errno.ENOMEM;
      }
      mm = new MmStruct(aspace, parent.program);
      const old = parent.mmStruct;
      mm.brkStart = old.brkStart;
      mm.brk = old.brk;
      for (const [k, v] of old.mappedFiles) mm.mappedFiles.set(k, v);
      for (const i of old.mappedInodes) {
        i.hold(1);
        mm.mappedInodes.add(i);
      }
      for (const i of old.sharedWritable) mm.sharedWritable.add(i);
      for (const h of old.shmem) mm.holdShmem(h);
      mm.sharedNoWrite = old.sharedNoWrite; // a shared mapping's backend is the same object in the child
    }
    proc = new Process(tid, mm, parent.exe, { ...parent.creds }, parent.cwd, parent.argv, parent.envp);
    proc.exeInode = parent.exeInode;
    proc.umask = parent.umask;
    proc.comm = parent.comm;
    proc.dumpable = parent.dumpable;
    proc.noNewPrivs = parent.noNewPrivs;
    proc.startNs = kernel.host.monotonicNs();
    for (let i = 0; i < proc.rlimits.length; i++)
      proc.rlimits[i] = [...parent.rlimits[i]] as [bigint, bigint];
    if ((f & CLONE_SIGHAND) !== 0) proc.sigactions = parent.sigactions;
    else for (const [s, act] of parent.sigactions) proc.sigactions.set(s, act.slice());
    if ((f & CLONE_FILES) !== 0) {
      proc.fds = parent.fds;
      parent.fds.users++;
    } else {
      proc.fds = parent.fds.copy(() => Number(proc.rlimits[RLIMIT_NOFILE][0]));
    }
    proc.parent = (f & CLONE_PARENT) !== 0 ? parent.parent : parent;
    proc.parent?.children.add(proc);
    proc.pgid = parent.pgid;
    proc.sid = parent.sid;
    proc.exitSignal = f & CSIGNAL;
    kernel.processes.set(proc.pid, proc);
    kernel.stats.forks++;
  }

  const task = new Task(tid, proc, kernel, regs);
  task.ctx.pc = regs.pc + 4; // past the ecall, as the parent's return
  setCtxReg(task, 10, 0);
  if (a.stack !== 0n) setCtxReg(task, 2, a.stack);
  if ((f & CLONE_SETTLS) !== 0) setCtxReg(task, 4, a.tls);
  task.sigmask = parentTask.sigmask;
  if ((f & CLONE_CHILD_CLEARTID) !== 0) task.clearChildTid = a.childTid;
  // The tids are written before the child runs: the parent's word in the parent's memory, the child's in the child's.
  if ((f & CLONE_PARENT_SETTID) !== 0) writeVal(parent.mm, a.parentTid, u32, tid);
  if ((f & CLONE_CHILD_SETTID) !== 0) copyToUser(proc.mm, a.childTid, u32le(tid));
  kernel.addTask(task);

  if ((f & CLONE_VFORK) !== 0 && proc !== parent) {
    // vfork: the parent waits until the child lets go of the memory (execve or exit).
    proc.vforkPending = true;
    const child = proc;
    const wait = {
      queues: [parent.vforkDone],
      what: `vfork of ${tid}`,
      uninterruptible: true,
      retry: (): number =>
        child.vforkPending && child.state === ProcessState.Running ? kernel.sleep(parentTask, wait) : tid,
    };
    return kernel.sleep(parentTask, wait);
  }
  return tid;
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
