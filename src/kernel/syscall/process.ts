/**
 * Process, identity, time and entropy calls: exit, exit_group, the id
 * calls, set_tid_address, set_robust_list, prlimit64, uname, clock_gettime,
 * getrandom, and rt_sigaction / rt_sigprocmask (state only; delivery comes
 * with the processes issue).
 */

import { Errno } from '../../errno/index.js';
import { copyFromUser, copyToUser, IovIter, importUbuf } from '../../uptr/index.js';
import { execve } from '../exec/exec.js';
import { exitGroup, exitTask, reapProcess } from '../exit.js';
import { copyProcess } from '../fork.js';
import { type Process, ProcessState } from '../process.js';
import { sendSignal } from '../signal.js';
import { fileOf, pathArg } from './fsutil.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, EFAULT, EINVAL, int, size } from './util.js';

/** exit: this thread ends (the last one ends the process with the code). */
function exit(ctx: SyscallContext, [status]: readonly bigint[]): number {
  exitTask(ctx.kernel, ctx.task, int(status));
  return 0;
}

/** exit_group: every thread ends; the process's status is the code. */
function exitGroupCall(ctx: SyscallContext, [status]: readonly bigint[]): number {
  exitGroup(ctx.kernel, ctx.proc, (int(status) & 0xff) << 8);
  return 0;
}

/** clone(flags, newsp, parent_tid, tls, child_tid): riscv64 passes tls before child_tid (CLONE_BACKWARDS). */
function clone(ctx: SyscallContext, [flags, stack, ptid, tls, ctid]: readonly bigint[]): number {
  return copyProcess(ctx.kernel, ctx.task, {
    flags: Number(BigInt.asUintN(32, flags)),
    stack: BigInt.asUintN(64, stack),
    parentTid: ptid,
    tls,
    childTid: ctid,
  });
}

function execveCall(ctx: SyscallContext, [path, argv, envp]: readonly bigint[]): number {
  return execve(ctx, BigInt(AT_FDCWD), pathArg(ctx, path), argv, envp);
}

/** execveat: AT_EMPTY_PATH runs the file of dirfd itself (fexecve); AT_SYMLINK_NOFOLLOW refuses a link. */
function execveat(ctx: SyscallContext, [dirfd, path, argv, envp, flags]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) !== 0) return EINVAL;
  const name = pathArg(ctx, path, fl);
  if (name === '') {
    const f = fileOf(ctx, dirfd);
    const named = ctx.kernel.vfs.pathOf(f.inode as never, ctx.kernel.vfs.root);
    if (named === undefined) return -Errno.ENOENT;
    return execve(ctx, BigInt(AT_FDCWD), f.path.startsWith('/') ? f.path : named, argv, envp);
  }
  return execve(ctx, dirfd, name, argv, envp);
}

const WNOHANG = 1;
const WUNTRACED = 2;
const WCONTINUED = 8;
const WEXITED = 4;
const WNOWAIT = 0x0100_0000;
const __WNOTHREAD = 0x2000_0000;
const __WALL = 0x4000_0000;
const __WCLONE = 0x8000_0000;

/** The children a wait may take: by pid, by process group, or any (wait4's pid argument). */
function waitable(
  ctx: SyscallContext,
  which: 'pid' | 'pgid' | 'all',
  id: number,
  options: number,
): Process[] {
  const all = [...ctx.proc.children];
  return all.filter((c) => {
    if (c.state === ProcessState.Reaped) return false;
    // __WCLONE takes only children that signal something else than SIGCHLD; __WALL takes both.
    const clone = c.exitSignal !== 17;
    if ((options & __WALL) === 0 && clone !== ((options & __WCLONE) !== 0)) return false;
    if (which === 'pid') return c.pid === id;
    if (which === 'pgid') return c.pgid === id;
    return true;
  });
}

/** A child to report: a zombie, or one stopped (WUNTRACED) and not reported yet. */
function findReport(kids: Process[], stops: boolean): Process | undefined {
  return (
    kids.find((c) => c.state === ProcessState.Zombie) ??
    (stops
      ? kids.find((c) => c.stopSignal !== 0 && !c.stopReported && c.state === ProcessState.Running)
      : undefined)
  );
}

function wait4(ctx: SyscallContext, [pidArg, wstatus, optionsArg, rusage]: readonly bigint[]): number {
  const options = Number(BigInt.asUintN(32, optionsArg));
  if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) !== 0) return EINVAL;
  const pid = int(pidArg);
  // pid INT_MIN has no process group to name (Linux: ESRCH).
  if (pid === -0x8000_0000) return -Errno.ESRCH;
  const which = pid > 0 ? 'pid' : pid === -1 ? 'all' : 'pgid';
  const id = pid > 0 ? pid : pid === 0 ? ctx.proc.pgid : -pid;
  const attempt = (): number => {
    const kids = waitable(ctx, which, id, options);
    if (kids.length === 0) return -Errno.ECHILD;
    const c = findReport(kids, (options & WUNTRACED) !== 0);
    if (c === undefined) {
      if ((options & WNOHANG) !== 0) return 0;
      return ctx.kernel.sleep(ctx.task, { queues: [ctx.proc.childWait], what: 'wait4', retry: attempt });
    }
    const status = c.state === ProcessState.Zombie ? c.waitStatus : ((c.stopSignal & 0xff) << 8) | 0x7f;
    if (wstatus !== 0n && copyToUser(ctx.proc.mm, wstatus, i32le(status)) > 0) return EFAULT;
    if (rusage !== 0n && copyToUser(ctx.proc.mm, rusage, new Uint8Array(RUSAGE_SIZE)) > 0) return EFAULT;
    if (c.state === ProcessState.Zombie) reapProcess(ctx.kernel, c);
    else c.stopReported = true;
    return c.pid;
  };
  return attempt();
}

/** struct rusage on riscv64: two timevals and 14 longs. */
const RUSAGE_SIZE = 144;
const P_ALL = 0;
const P_PID = 1;
const P_PGID = 2;
const CLD_EXITED = 1;
const CLD_KILLED = 2;
const CLD_STOPPED = 5;

function waitid(ctx: SyscallContext, [idtype, idArg, infop, optionsArg, rusage]: readonly bigint[]): number {
  const options = Number(BigInt.asUintN(32, optionsArg));
  if (
    (options & ~(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE)) !==
    0
  )
    return EINVAL;
  if ((options & (WEXITED | WUNTRACED | WCONTINUED)) === 0) return EINVAL;
  const type = int(idtype);
  const id = int(idArg);
  let which: 'pid' | 'pgid' | 'all';
  if (type === P_ALL) which = 'all';
  else if (type === P_PID) {
    if (id <= 0) return EINVAL;
    which = 'pid';
  } else if (type === P_PGID) {
    if (id < 0) return EINVAL;
    which = 'pgid';
  } else return EINVAL;
  const group = type === P_PGID && id === 0 ? ctx.proc.pgid : id;
  const write = (c: Process | undefined): number => {
    if (infop === 0n) return 0;
    const b = new Uint8Array(128);
    const v = new DataView(b.buffer);
    if (c !== undefined) {
      const zombie = c.state === ProcessState.Zombie;
      const sig = c.waitStatus & 0x7f;
      v.setInt32(0, 17, true); // si_signo = SIGCHLD
      v.setInt32(8, zombie ? (sig === 0 ? CLD_EXITED : CLD_KILLED) : CLD_STOPPED, true);
      v.setInt32(16, c.pid, true);
      v.setInt32(20, c.creds.uid, true);
      v.setInt32(24, zombie ? (sig === 0 ? (c.waitStatus >> 8) & 0xff : sig) : c.stopSignal, true);
    }
    // Linux writes si_signo, si_errno, si_code, si_pid, si_uid and si_status (zeros when nothing was found).
    return copyToUser(ctx.proc.mm, infop, b.subarray(0, 28)) > 0 ? EFAULT : 0;
  };
  const attempt = (): number => {
    const kids = waitable(ctx, which, group, options);
    if (kids.length === 0) return -Errno.ECHILD;
    const c =
      (options & WEXITED) !== 0
        ? findReport(kids, (options & WUNTRACED) !== 0)
        : findReport(
            kids.filter((k) => k.state !== ProcessState.Zombie),
            (options & WUNTRACED) !== 0,
          );
    if (c === undefined) {
      if ((options & WNOHANG) !== 0) return write(undefined);
      return ctx.kernel.sleep(ctx.task, { queues: [ctx.proc.childWait], what: 'waitid', retry: attempt });
    }
    const r = write(c);
    if (r !== 0) return r;
    if (rusage !== 0n && copyToUser(ctx.proc.mm, rusage, new Uint8Array(RUSAGE_SIZE)) > 0) return EFAULT;
    if ((options & WNOWAIT) === 0) {
      if (c.state === ProcessState.Zombie) reapProcess(ctx.kernel, c);
      else c.stopReported = true;
    }
    return 0;
  };
  return attempt();
}

function i32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

const SIGKILL_ = 9;

/** kill: pid > 0 one process, 0 the caller's group, -1 every process but 1 and the caller, < -1 a group. */
function kill(ctx: SyscallContext, [pidArg, sigArg]: readonly bigint[]): number {
  const sig = int(sigArg);
  if (sig < 0 || sig > 64) return EINVAL;
  const pid = int(pidArg);
  const k = ctx.kernel;
  const live = [...k.processes.values()].filter((p) => p.state === ProcessState.Running);
  let targets: Process[];
  if (pid > 0) targets = live.filter((p) => p.pid === pid);
  else if (pid === -1) targets = live.filter((p) => p.pid !== 1 && p !== ctx.proc);
  else if (pid === -0x8000_0000) return -Errno.ESRCH;
  else {
    const g = pid === 0 ? ctx.proc.pgid : -pid;
    targets = live.filter((p) => p.pgid === g);
  }
  if (targets.length === 0) return -Errno.ESRCH;
  for (const p of targets) sendSignal(k, p, sig);
  return 0;
}

/** tgkill / tkill: one thread (of group `tgid` for tgkill). */
function tgkill(ctx: SyscallContext, tgid: number | undefined, tidArg: bigint, sigArg: bigint): number {
  const sig = int(sigArg);
  const tid = int(tidArg);
  if (tid <= 0 || (tgid !== undefined && tgid <= 0)) return EINVAL;
  if (sig < 0 || sig > 64) return EINVAL;
  const t = ctx.kernel.tasks.get(tid);
  if (t === undefined || (tgid !== undefined && t.process.pid !== tgid)) return -Errno.ESRCH;
  if (sig === SIGKILL_) sendSignal(ctx.kernel, t.process, sig);
  else sendSignal(ctx.kernel, t.process, sig, t);
  return 0;
}

/** setpgid: the caller or a child of it, into a group of its session (0 for pid and pgid mean the caller's pid). */
function setpgid(ctx: SyscallContext, [pidArg, pgidArg]: readonly bigint[]): number {
  const pid = int(pidArg) === 0 ? ctx.proc.pid : int(pidArg);
  const pgid = int(pgidArg) === 0 ? pid : int(pgidArg);
  if (pgid < 0) return EINVAL;
  const p = ctx.kernel.processes.get(pid);
  if (p === undefined || p.state === ProcessState.Reaped || (p !== ctx.proc && p.parent !== ctx.proc))
    return -Errno.ESRCH;
  if (p.sid === p.pid) return -Errno.EPERM; // a session leader stays in its group
  if (p.sid !== ctx.proc.sid) return -Errno.EPERM;
  if (p !== ctx.proc && p.execedSinceFork) return -Errno.EACCES;
  if (pgid !== pid) {
    const leader = [...ctx.kernel.processes.values()].find(
      (q) => q.pgid === pgid && q.sid === ctx.proc.sid && q.state !== ProcessState.Reaped,
    );
    if (leader === undefined) return -Errno.EPERM;
  }
  p.pgid = pgid;
  return 0;
}

function lookupPid(ctx: SyscallContext, pidArg: bigint): Process | undefined {
  const pid = int(pidArg);
  if (pid === 0) return ctx.proc;
  const p = ctx.kernel.processes.get(pid);
  return p === undefined || p.state === ProcessState.Reaped ? undefined : p;
}

function setsid(ctx: SyscallContext): number {
  const p = ctx.proc;
  // A process whose pid names a process group (a group leader, or one whose group outlived it) cannot start a session.
  if ([...ctx.kernel.processes.values()].some((q) => q.pgid === p.pid && q.state !== ProcessState.Reaped))
    return -Errno.EPERM;
  p.sid = p.pid;
  p.pgid = p.pid;
  return p.pid;
}

function uname(ctx: SyscallContext, [buf]: readonly bigint[]): number {
  const fields = ['Linux', 'axptr', '6.1.0-axptr', '#1 SMP', 'riscv64', '(none)'];
  const out = new Uint8Array(6 * 65);
  const enc = new TextEncoder();
  for (const [i, f] of fields.entries()) out.set(enc.encode(f), i * 65);
  return copyToUser(ctx.proc.mm, buf, out) > 0 ? EFAULT : 0;
}

function getrandom(ctx: SyscallContext, [buf, len, flags]: readonly bigint[]): number {
  // GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE; RANDOM and INSECURE together are EINVAL.
  if ((int(flags) & ~0x7) !== 0 || (int(flags) & 0x6) === 0x6) return EINVAL;
  // Linux clamps to INT_MAX, then import_ubuf's access_ok (a kernel address is EFAULT even for 0 bytes).
  const n = Math.min(size(len) < 0 ? 0x7fffffff : size(len), 0x7fffffff);
  const iter = new IovIter(ctx.proc.mm, importUbuf(ctx.proc.mm, buf, n));
  const chunk = new Uint8Array(Math.min(iter.count, 1 << 16));
  let done = 0;
  while (iter.count > 0 && done < 1 << 25) {
    const part = chunk.subarray(0, Math.min(chunk.length, iter.count));
    ctx.kernel.host.random(part);
    const moved = iter.copyOut(part);
    done += moved;
    if (moved < part.length) break;
  }
  return done === 0 && iter.faulted ? EFAULT : done;
}

const id = (f: (ctx: SyscallContext) => number) => (ctx: SyscallContext) => f(ctx);

const SIGKILL = 9;
const SIGSTOP = 19;
/** riscv64's kernel struct sigaction: handler, flags, mask (no restorer). */
const SIGACTION_SIZE = 24;

/** rt_sigaction: the action kept per signal (delivery comes with the processes issue). */
function rtSigaction(ctx: SyscallContext, [signum, act, oldact, sigsetsize]: readonly bigint[]): number {
  const sig = int(signum);
  // Linux's order: the set size, then the new action is copied in (EFAULT), then the signal is checked.
  if (sigsetsize !== 8n) return EINVAL;
  let next: Uint8Array | undefined;
  if (act !== 0n) {
    next = new Uint8Array(SIGACTION_SIZE);
    if (copyFromUser(ctx.proc.mm, next, act) > 0) return EFAULT;
  }
  if (sig < 1 || sig > 64) return EINVAL;
  if (act !== 0n && (sig === SIGKILL || sig === SIGSTOP)) return EINVAL;
  const old = ctx.proc.sigactions.get(sig) ?? new Uint8Array(SIGACTION_SIZE);
  if (oldact !== 0n && copyToUser(ctx.proc.mm, oldact, old) > 0) return EFAULT;
  if (next !== undefined) ctx.proc.sigactions.set(sig, next);
  return 0;
}

/** rt_sigprocmask: SIG_BLOCK (0), SIG_UNBLOCK (1), SIG_SETMASK (2); SIGKILL and SIGSTOP stay unblocked. */
function rtSigprocmask(ctx: SyscallContext, [how, set, oldset, sigsetsize]: readonly bigint[]): number {
  if (sigsetsize !== 8n) return EINVAL;
  const old = ctx.task.sigmask;
  let mask = old;
  if (set !== 0n) {
    const b = new Uint8Array(8);
    if (copyFromUser(ctx.proc.mm, b, set) > 0) return EFAULT;
    const s = new DataView(b.buffer).getBigUint64(0, true);
    const h = int(how);
    if (h === 0) mask = old | s;
    else if (h === 1) mask = old & ~s;
    else if (h === 2) mask = s;
    else return EINVAL;
    mask &= ~((1n << BigInt(SIGKILL - 1)) | (1n << BigInt(SIGSTOP - 1)));
  }
  // The new mask holds even when the old one cannot be written back (Linux sets it first).
  ctx.task.sigmask = mask;
  if (oldset !== 0n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, old, true);
    if (copyToUser(ctx.proc.mm, oldset, b) > 0) return EFAULT;
  }
  return 0;
}

export const processCalls: SyscallEntry[] = [
  { nr: 93, name: 'exit', args: ['int'], handler: exit },
  { nr: 94, name: 'exit_group', args: ['int'], handler: exitGroupCall },
  { nr: 95, name: 'waitid', args: ['int', 'int', 'ptr', 'hex', 'ptr'], handler: waitid },
  {
    nr: 96,
    name: 'set_tid_address',
    args: ['ptr'],
    handler: (ctx, [tidptr]) => {
      ctx.task.clearChildTid = BigInt.asUintN(64, tidptr);
      return ctx.task.tid;
    },
  },
  { nr: 129, name: 'kill', args: ['int', 'signum'], handler: kill },
  {
    nr: 130,
    name: 'tkill',
    args: ['int', 'signum'],
    handler: (ctx, [tid, sig]) => tgkill(ctx, undefined, tid, sig),
  },
  {
    nr: 131,
    name: 'tgkill',
    args: ['int', 'int', 'signum'],
    handler: (ctx, [tgid, tid, sig]) => tgkill(ctx, int(tgid), tid, sig),
  },
  { nr: 154, name: 'setpgid', args: ['int', 'int'], handler: setpgid },
  {
    nr: 155,
    name: 'getpgid',
    args: ['int'],
    handler: (ctx, [pid]) => lookupPid(ctx, pid)?.pgid ?? -Errno.ESRCH,
  },
  {
    nr: 156,
    name: 'getsid',
    args: ['int'],
    handler: (ctx, [pid]) => lookupPid(ctx, pid)?.sid ?? -Errno.ESRCH,
  },
  { nr: 157, name: 'setsid', args: [], handler: setsid },
  { nr: 220, name: 'clone', args: ['hex', 'ptr', 'ptr', 'ptr', 'ptr'], handler: clone },
  { nr: 221, name: 'execve', args: ['str', 'ptr', 'ptr'], handler: execveCall },
  { nr: 260, name: 'wait4', args: ['int', 'ptr', 'hex', 'ptr'], handler: wait4 },
  { nr: 281, name: 'execveat', args: ['fd', 'str', 'ptr', 'ptr', 'atflags'], handler: execveat },
  {
    nr: 99,
    name: 'set_robust_list',
    args: ['ptr', 'size'],
    handler: (ctx, [head, len]) => {
      if (len !== 24n) return EINVAL; // sizeof(struct robust_list_head)
      ctx.task.robustList = BigInt.asUintN(64, head);
      return 0;
    },
  },
  { nr: 134, name: 'rt_sigaction', args: ['signum', 'ptr', 'ptr', 'size'], handler: rtSigaction },
  { nr: 135, name: 'rt_sigprocmask', args: ['int', 'ptr', 'ptr', 'size'], handler: rtSigprocmask },
  { nr: 160, name: 'uname', args: ['utsname'], handler: uname },
  { nr: 172, name: 'getpid', args: [], handler: id((c) => c.proc.pid) },
  { nr: 173, name: 'getppid', args: [], handler: (ctx) => ctx.proc.parent?.pid ?? 0 },
  { nr: 174, name: 'getuid', args: [], handler: id((c) => c.proc.creds.uid) },
  { nr: 175, name: 'geteuid', args: [], handler: id((c) => c.proc.creds.uid) },
  { nr: 176, name: 'getgid', args: [], handler: id((c) => c.proc.creds.gid) },
  { nr: 177, name: 'getegid', args: [], handler: id((c) => c.proc.creds.gid) },
  { nr: 178, name: 'gettid', args: [], handler: id((c) => c.task.tid) },
  { nr: 278, name: 'getrandom', args: ['outbuf', 'size', 'hex'], handler: getrandom },
];
