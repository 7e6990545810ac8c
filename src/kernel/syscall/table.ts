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
  mmap: 'MAP_HUGETLB and MAP_SYNC are refused',
  mremap: 'MREMAP_DONTUNMAP and old_size 0 (duplicating a shared mapping) are EINVAL',
  openat: 'O_TMPFILE is EOPNOTSUPP (glibc falls back)',
  renameat2: 'RENAME_EXCHANGE and RENAME_WHITEOUT are EINVAL',
  ioctl:
    'TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; TCSETS* are checked but not put on the host terminal; others ENOTTY',
  fcntl: 'record locks are always granted (one process)',
  futex:
    'wait, wake, requeue, cmp_requeue, wake_op, wait_bitset and wake_bitset by address space and address: a shared futex is not matched across processes (only within one address space); the PI operations are ENOSYS',
  ppoll:
    'the signal mask argument is checked, not applied while waiting; the time left is not written back on success',
  pselect6: 'as ppoll',
  rt_sigaction:
    'actions are kept, inherited by fork and reset by execve; default actions (terminate, ignore, stop, continue) are delivered, caught signals are not delivered yet (no signal frame)',
  rt_sigprocmask:
    'the mask is kept per thread and decides delivery of default actions; caught signals are not delivered yet',
  set_robust_list: 'the list is walked at thread exit (FUTEX_OWNER_DIED, one waiter woken)',
  read: 'a read from the host terminal or standard input blocks the whole machine until the host answers (other tasks wait too)',
  write: 'a blocking pipe write waits for room until all is written (a signal ends it with what went in)',
  sched_getaffinity:
    'every simulated CPU is in the mask; sched_setaffinity accepts a mask with CPU 0 and does not pin',
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
