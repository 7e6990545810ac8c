/**
 * The system-call table, declared once (riscv64 numbers from the asm-generic
 * unistd.h): each entry has its name, its arguments' kinds (what `--strace`
 * prints) and its handler. Handlers take the raw 64-bit register values and
 * answer the value for a0: a result, or -errno. Every pointer reaches user
 * memory only through the user-pointer layer.
 */
import type { Kernel } from '../kernel.js';
import type { Process } from '../process.js';
import type { Task } from '../task.js';
import { fdCalls } from './fd.js';
import { fsCalls } from './fs.js';
import { memoryCalls } from './memory.js';
import { processCalls } from './process.js';
import { rwCalls } from './rw.js';
import { sysCalls } from './sys.js';
import { timeCalls } from './time.js';

/** How `--strace` shows an argument. */
export type ArgKind =
  | 'int'
  | 'hex'
  | 'oct'
  | 'ptr'
  | 'str'
  | 'buf'
  | 'iovec'
  | 'fd'
  | 'size'
  | 'prot'
  | 'mapflags'
  | 'atflags'
  | 'openflags'
  | 'whence'
  | 'fcntlcmd'
  | 'long'
  | 'outbuf'
  | 'stat'
  | 'timespec'
  | 'outtimespec'
  | 'rlimit'
  | 'outrlimit'
  | 'pipefd'
  | 'utsname'
  | 'rlimres'
  | 'clockid'
  | 'signum';

export interface SyscallContext {
  kernel: Kernel;
  /** The calling process, and the calling thread. */
  proc: Process;
  task: Task;
}

export type Handler = (ctx: SyscallContext, a: readonly bigint[]) => bigint | number;

export interface SyscallEntry {
  nr: number;
  name: string;
  args: readonly ArgKind[];
  handler: Handler;
}

/**
 * What the served calls do not do yet (docs/syscalls.md marks them
 * "partial" with this note); everything else in the table is implemented
 * with Linux's checks and errnos.
 */
export const PARTIAL: Readonly<Record<string, string>> = {
  mmap: 'MAP_SHARED|MAP_ANONYMOUS memory is private to the process until fork exists (the processes issue); MAP_HUGETLB, MAP_SYNC are refused',
  mremap: 'MREMAP_DONTUNMAP and old_size 0 (duplicating a shared mapping) are EINVAL',
  openat: 'O_TMPFILE is EOPNOTSUPP (glibc falls back)',
  renameat2: 'RENAME_EXCHANGE and RENAME_WHITEOUT are EINVAL',
  ioctl:
    'TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; TCSETS* are checked but not put on the host terminal; others ENOTTY',
  fcntl: 'record locks are always granted (one process)',
  futex:
    'one task: a wait with a timeout sleeps it out (ETIMEDOUT), without one it is reported as a deadlock; wakes find no waiter',
  ppoll:
    'the signal mask is checked, not applied (no signal delivery yet); an endless wait with nothing ready is reported as a deadlock',
  pselect6: 'as ppoll',
  rt_sigaction: 'actions are kept and returned; delivery comes with the processes issue',
  rt_sigprocmask: 'the mask is kept; delivery comes with the processes issue',
  set_robust_list: 'the head is kept; the list is not walked at exit (threads come with the processes issue)',
  read: 'a read that must wait (an empty pipe with a writer, a FIFO) is reported as a deadlock: one task',
  write: 'a pipe write that must wait for room is short (one task cannot make room)',
  sched_getaffinity: 'one CPU',
  prctl:
    'PR_SET_NAME, PR_GET_NAME, PR_[GS]ET_PDEATHSIG, PR_[GS]ET_DUMPABLE, PR_[GS]ET_NO_NEW_PRIVS; others EINVAL',
};

export const SYSCALLS: readonly SyscallEntry[] = [
  ...fsCalls,
  ...rwCalls,
  ...fdCalls,
  ...memoryCalls,
  ...processCalls,
  ...timeCalls,
  ...sysCalls,
].sort((x, y) => x.nr - y.nr);

/** The entries by number. */
export const SYSCALL_BY_NR: ReadonlyMap<number, SyscallEntry> = new Map(SYSCALLS.map((e) => [e.nr, e]));
if (SYSCALL_BY_NR.size !== SYSCALLS.length) {
  const seen = new Set<number>();
  const twice = SYSCALLS.filter((e) => seen.has(e.nr) || !seen.add(e.nr)).map((e) => `${e.nr} ${e.name}`);
  throw new Error(`the system-call table declares a number twice: ${twice.join(', ')}`);
}
