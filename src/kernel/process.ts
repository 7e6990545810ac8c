/**
 * A process (what Linux's task_struct, mm, files and fs carry for one
 * program): its address space behind its lock, its hart (one task for now;
 * the processes issue adds more), the program break, the descriptor table,
 * the working directory and umask, resource limits, its identity and its
 * exit status. Shaped for many tasks and processes: nothing here is module
 * state.
 */
import type { AddrSpace } from '../mm/index.js';
import type { Hart } from '../riscv/index.js';
import { LockedAddrSpace } from '../uptr/index.js';
import type { LoadedProgram } from './exec/load.js';
import { FdTable } from './fdtable.js';
import type { DirInode, RegularInode } from './fs/inode.js';
import type { Credentials } from './fs/vfs.js';

export type { Credentials };

export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_AS = 9;
export const RLIM_NLIMITS = 16;

/** Linux's defaults for a process started from a login shell on this machine's kernel. */
function defaultLimits(): [bigint, bigint][] {
  const l: [bigint, bigint][] = Array.from({ length: RLIM_NLIMITS }, () => [RLIM_INFINITY, RLIM_INFINITY]);
  l[RLIMIT_STACK] = [8n << 20n, RLIM_INFINITY];
  l[4] = [0n, RLIM_INFINITY]; // RLIMIT_CORE
  l[RLIMIT_NOFILE] = [1024n, 4096n];
  l[8] = [8n << 20n, 8n << 20n]; // RLIMIT_MEMLOCK
  l[6] = [63459n, 63459n]; // RLIMIT_NPROC
  l[11] = [63459n, 63459n]; // RLIMIT_SIGPENDING
  l[12] = [819200n, 819200n]; // RLIMIT_MSGQUEUE
  l[14] = [0n, 0n]; // RLIMIT_RTPRIO
  return l;
}

export class Process {
  readonly mm: LockedAddrSpace;
  /** The program break: where the heap area starts, and its current end. */
  readonly brkStart: number;
  brk: number;
  exitStatus: number | undefined;
  /** Set when a signal ended the process (its number). */
  killedBy: number | undefined;
  /** What to release when the process is gone (its program file's page cache). */
  readonly onExit: (() => void)[] = [];
  /** rt_sigaction's actions by signal (the raw struct), and the blocked-signal mask. */
  readonly sigactions = new Map<number, Uint8Array>();
  sigmask = 0n;
  readonly fds: FdTable;
  cwd: DirInode;
  umask = 0o022;
  /** The name prctl(PR_SET_NAME) sets (Linux's comm, at most 15 bytes). */
  comm: string;
  ppid = 0;
  readonly rlimits = defaultLimits();
  /** The files mapped into the space, by page source (what /proc/self/maps names). */
  readonly mappedFiles = new Map<object, { path: string; ino: number }>();
  /** prctl's state: the parent-death signal, dumpable, no_new_privs. */
  pdeathsig = 0;
  dumpable = 1;
  noNewPrivs = false;
  /** The registered rseq area, and the robust-futex list head (set_robust_list). */
  rseq: { addr: bigint; len: number; sig: number } | undefined;
  robustList = 0n;
  /** The host's monotonic time when the process started (its CPU time counts from here). */
  startNs = 0n;
  /**
   * The files the process mapped: each held until the process is gone, so
   * a mapped file unlinked and closed keeps its pages (Linux's mapping holds
   * its file; ours is held a little longer: to exit, not to the last unmap).
   */
  readonly mappedInodes = new Set<RegularInode>();
  /** Backends of shared file mappings whose file was not open for writing: mprotect may never add PROT_WRITE (Linux's missing VM_MAYWRITE). */
  readonly sharedNoWrite = new WeakSet<object>();
  /** Files with a shared writable mapping: msync and exit write their pages back. */
  readonly sharedWritable = new Set<RegularInode>();

  constructor(
    readonly pid: number,
    readonly aspace: AddrSpace,
    readonly hart: Hart,
    readonly program: LoadedProgram,
    /** The path the program was run as (`/proc/self/exe`). */
    readonly exe: string,
    readonly creds: Credentials,
    cwd: DirInode,
    readonly argv: readonly string[],
    readonly envp: readonly string[],
  ) {
    this.mm = new LockedAddrSpace(aspace);
    this.brkStart = program.brk;
    this.brk = program.brk;
    this.cwd = cwd;
    this.fds = new FdTable(() => Number(this.rlimits[RLIMIT_NOFILE][0]));
    this.comm = new TextDecoder().decode(
      new TextEncoder().encode(exe.slice(exe.lastIndexOf('/') + 1)).slice(0, 15),
    );
  }

  get exited(): boolean {
    return this.exitStatus !== undefined;
  }
}
