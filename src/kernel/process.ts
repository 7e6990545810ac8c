/**
 * A process (what Linux's task_struct and mm carry for one program): its
 * address space behind its lock, its hart (one task for now; the processes
 * issue adds more), the program break, its identity and its exit status.
 * Shaped for many tasks and processes: nothing here is module state.
 */
import type { AddrSpace } from '../mm/index.js';
import type { Hart } from '../riscv/index.js';
import { LockedAddrSpace } from '../uptr/index.js';
import type { LoadedProgram } from './exec/load.js';

export interface Credentials {
  uid: number;
  gid: number;
}

export class Process {
  readonly mm: LockedAddrSpace;
  /** The program break: where the heap area starts, and its current end. */
  readonly brkStart: number;
  brk: number;
  exitStatus: number | undefined;
  /** Set when a signal ended the process (its number). */
  killedBy: number | undefined;
  /** Standard streams the program closed (the descriptor table comes with the VFS). */
  readonly closed = new Set<number>();
  /** What to release when the process is gone (its program file's page cache). */
  readonly onExit: (() => void)[] = [];
  /** rt_sigaction's actions by signal (the raw struct), and the blocked-signal mask. */
  readonly sigactions = new Map<number, Uint8Array>();
  sigmask = 0n;

  constructor(
    readonly pid: number,
    readonly aspace: AddrSpace,
    readonly hart: Hart,
    readonly program: LoadedProgram,
    /** The path the program was run as (`/proc/self/exe`). */
    readonly exe: string,
    readonly creds: Credentials,
  ) {
    this.mm = new LockedAddrSpace(aspace);
    this.brkStart = program.brk;
    this.brk = program.brk;
  }

  get exited(): boolean {
    return this.exitStatus !== undefined;
  }
}
