/**
 * Processes (Linux's thread group with its signal_struct, mm, files and fs):
 * the address space behind its lock and what lives beside it (the program
 * break, the mapped files: {@link MmStruct}, which a vfork child shares),
 * the descriptor table (shared by CLONE_FILES), the working directory and
 * umask, signal actions, resource limits, identity, the family (parent,
 * children, process group, session) and the exit status a parent's wait
 * collects. Its tasks (threads) are in {@link Process.tasks}. Nothing here is
 * module state.
 */
import type { AddrSpace } from '../mm/index.js';
import { LockedAddrSpace } from '../uptr/index.js';
import type { LoadedProgram } from './exec/load.js';
import { FdTable } from './fdtable.js';
import type { DirInode, RegularInode } from './fs/inode.js';
import type { Credentials } from './fs/vfs.js';
import type { Task } from './task.js';
import { WaitQueue } from './wait.js';

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

/**
 * An address space with what a process keeps beside it (Linux's mm_struct):
 * shared by every process that uses it (a vfork child until it execs or
 * exits), released when the last one lets go.
 */
export class MmStruct {
  readonly mm: LockedAddrSpace;
  /** The program break: where the heap area starts, and its current end. */
  brkStart: number;
  brk: number;
  /** The files mapped into the space, by page source (what /proc/self/maps names). */
  readonly mappedFiles = new Map<object, { path: string; ino: number }>();
  /**
   * The files the space mapped: each held until the space is gone, so a
   * mapped file unlinked and closed keeps its pages (Linux's mapping holds
   * its file; ours is held a little longer: to exit, not to the last unmap).
   */
  readonly mappedInodes = new Set<RegularInode>();
  /** Backends of shared file mappings whose file was not open for writing: mprotect may never add PROT_WRITE (Linux's missing VM_MAYWRITE). */
  sharedNoWrite = new WeakSet<object>();
  /** Files with a shared writable mapping: msync and exit write their pages back. */
  readonly sharedWritable = new Set<RegularInode>();
  /** Shared anonymous objects the space maps, each counted once per space that holds it. */
  readonly shmem = new Set<ShmemHolder>();

  /** The space maps `obj` (a new MAP_SHARED|MAP_ANONYMOUS object, or one its parent held at fork). */
  holdShmem(obj: ShmemHolder['obj'] | ShmemHolder): void {
    const h = 'users' in obj ? obj : { obj, users: 0 };
    if (this.shmem.has(h)) return;
    h.users++;
    this.shmem.add(h);
  }

  /** What to release with the space (its program file's page cache). */
  readonly onRelease: (() => void)[] = [];
  /** The processes using the space. */
  users = 1;

  constructor(
    readonly aspace: AddrSpace,
    readonly program: LoadedProgram,
  ) {
    this.mm = new LockedAddrSpace(aspace);
    this.brkStart = program.brk;
    this.brk = program.brk;
  }

  /** One user fewer; the last one writes shared mappings back and frees everything. */
  put(): void {
    if (--this.users > 0) return;
    for (const f of this.sharedWritable) f.sync();
    this.aspace.destroy();
    for (const inode of this.mappedInodes) inode.hold(-1);
    this.mappedInodes.clear();
    for (const f of this.onRelease.splice(0)) f();
    // The object's own page references go with its last space (the mappings' went with the space).
    for (const h of this.shmem) if (--h.users === 0) h.obj.release();
    this.shmem.clear();
  }
}

/** A shared anonymous object and how many spaces hold it. */
export interface ShmemHolder {
  obj: { release(): void };
  users: number;
}

/** A process's state as a parent's wait sees it. */
export const enum ProcessState {
  Running,
  /** Exited, waiting for its parent to collect the status. */
  Zombie,
  /** Collected (or never to be): gone from the table. */
  Reaped,
}

export class Process {
  /** The address space and what lives with it (replaced by execve). */
  mmStruct: MmStruct;
  /** The exit status as a shell shows it: the code, or 128 + N when signal N ended the process. */
  exitStatus: number | undefined;
  /** Set when a signal ended the process (its number). */
  killedBy: number | undefined;
  /** The status word wait4 reports (code << 8, or the signal number | 0x80 for a core dump). */
  waitStatus = 0;
  state = ProcessState.Running;
  /** What to release when the process is gone. */
  readonly onExit: (() => void)[] = [];
  /** rt_sigaction's actions by signal (the raw struct), shared by the process's threads. */
  sigactions = new Map<number, Uint8Array>();
  fds: FdTable;
  cwd: DirInode;
  umask = 0o022;
  /** The name prctl(PR_SET_NAME) sets (Linux's comm, at most 15 bytes). */
  comm: string;
  readonly rlimits = defaultLimits();
  /** prctl's state: the parent-death signal, dumpable, no_new_privs. */
  pdeathsig = 0;
  dumpable = 1;
  noNewPrivs = false;
  /** The host's monotonic time when the process started (its CPU time counts from here). */
  startNs = 0n;
  /** The threads of the group; the leader (tid = pid) first. */
  readonly tasks = new Set<Task>();
  parent: Process | undefined;
  readonly children = new Set<Process>();
  /** The signal the parent gets at exit (SIGCHLD for fork; 0 for none). */
  exitSignal = 17;
  pgid: number;
  sid: number;
  /** Woken when a child changes state (wait4 sleeps here). */
  readonly childWait = new WaitQueue();
  /** A vfork parent sleeps on this until the child execs or exits. */
  readonly vforkDone = new WaitQueue();
  /** Set by execve: a parent may no longer move the child to another process group (setpgid: EACCES). */
  execedSinceFork = false;
  /** True while a vfork child still borrows its parent's memory. */
  vforkPending = false;
  /** Signals sent to the process as a whole, not yet taken by a thread. */
  sharedPending = 0n;
  /** Set once exit_group or a fatal signal began ending every thread. */
  groupExiting = false;
  /** The end was the kernel's (a stopped run), not the program's: no shell message. */
  quietExit = false;
  /** Set once the files and memory were let go. */
  released = false;
  /** The stop signal that stopped the process, until its parent's wait reports it once. */
  stopSignal = 0;
  stopReported = true;
  /** The file `/proc/self/exe` opens (the program execve loaded, or the one the kernel was handed). */
  exeInode: RegularInode | undefined;

  constructor(
    readonly pid: number,
    mm: MmStruct,
    /** The path the program was run as (`/proc/self/exe`). */
    public exe: string,
    readonly creds: Credentials,
    cwd: DirInode,
    public argv: readonly string[],
    public envp: readonly string[],
  ) {
    this.mmStruct = mm;
    this.cwd = cwd;
    this.pgid = pid;
    this.sid = pid;
    this.fds = new FdTable(() => Number(this.rlimits[RLIMIT_NOFILE][0]));
    this.comm = commOf(exe);
  }

  get aspace(): AddrSpace {
    return this.mmStruct.aspace;
  }

  get mm(): LockedAddrSpace {
    return this.mmStruct.mm;
  }

  get program(): LoadedProgram {
    return this.mmStruct.program;
  }

  get brkStart(): number {
    return this.mmStruct.brkStart;
  }

  get brk(): number {
    return this.mmStruct.brk;
  }

  set brk(v: number) {
    this.mmStruct.brk = v;
  }

  get mappedFiles(): Map<object, { path: string; ino: number }> {
    return this.mmStruct.mappedFiles;
  }

  get mappedInodes(): Set<RegularInode> {
    return this.mmStruct.mappedInodes;
  }

  get sharedNoWrite(): WeakSet<object> {
    return this.mmStruct.sharedNoWrite;
  }

  get sharedWritable(): Set<RegularInode> {
    return this.mmStruct.sharedWritable;
  }

  get exited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** The thread-group leader (the task whose tid is the pid), while it lives. */
  get leader(): Task | undefined {
    for (const t of this.tasks) if (t.tid === this.pid) return t;
    return this.tasks.values().next().value;
  }
}

/** Linux's comm: the last path component, at most 15 bytes. */
export function commOf(exe: string): string {
  return new TextDecoder().decode(new TextEncoder().encode(exe.slice(exe.lastIndexOf('/') + 1)).slice(0, 15));
}
