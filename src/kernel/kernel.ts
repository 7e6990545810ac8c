/**
 * The kernel: runs tasks on the CPUs of a machine. Each CPU has a hart; the
 * scheduler gives a runnable task a CPU for a budget of instructions (the
 * time slice: preemption by instruction count), loading its registers and
 * its address space there. The trap loop handles what the hart reports:
 * `ecall` → the system-call table; a user page fault → the address space's
 * `handlePageFault` under the process's lock (lazy fill, zero page,
 * copy-on-write), otherwise SIGSEGV; an illegal instruction → SIGILL; a
 * misaligned atomic → SIGBUS; `ebreak` → SIGTRAP. A system call that must
 * wait parks its task on wait queues (its `ecall` not yet done) and the call
 * runs again, or finishes, when it is woken. Kernel-mode faults during the
 * system calls' user copies go through the machine's trap vector (the
 * seed's path through the per-CPU flag of the CPU the call runs on),
 * installed here.
 */
import { Errno, isLinuxError, LinuxError } from '../errno/index.js';
import { AddrSpace, type FaultStats } from '../mm/index.js';
import { type Machine, MappingFlags, PTE_FORMATS } from '../paging/index.js';
import { BUDGET_SPENT, Cause, Hart, type HartOptions } from '../riscv/index.js';
import { type UserAccessCounts, userAccessSnapshot } from '../uptr/index.js';
import { loadElf } from './exec/load.js';
import { exitGroup, releaseProcess } from './exit.js';
import { type CharDriver, ConsoleFile, type ConsoleInode } from './fs/devices.js';
import { BLOCKED, O_RDONLY, O_RDWR, O_WRONLY } from './fs/file.js';
import { HostSuperBlock } from './fs/hostfs.js';
import { DirInode, type RegularInode } from './fs/inode.js';
import type { MemSuperBlock } from './fs/memfs.js';
import { buildNamespace, makeMountPoint } from './fs/namespace.js';
import { FilePages } from './fs/pagecache.js';
import { ProgramInode } from './fs/program.js';
import type { Vfs } from './fs/vfs.js';
import { FutexTable } from './futex.js';
import type { Host } from './host.js';
import { MmStruct, Process, ProcessState } from './process.js';
import { deliverSignals, SIGNALS, sendSignal, signalPending } from './signal.js';
import { formatCall } from './strace.js';
import { SYSCALL_BY_NR, type SyscallEntry } from './syscall/table.js';
import { Task, TaskState, type Wait, WakeReason } from './task.js';
import { installPageFaultHandler, KernelPanic } from './trap.js';

export { SIGNALS };

/** The exit status of a run a kernel panic stopped (distinct from the program's and from signals'). */
export const PANIC_STATUS = 125;

/** Instructions a task runs before another runnable one gets its CPU (a time slice). */
export const TIME_SLICE = 1 << 16;
/** A task alone on the machine runs this long between checks of timers and limits. */
const LONG_SLICE = 1 << 22;

export interface KernelOptions {
  /** Print each system call to the host's stderr, strace-style. */
  strace?: boolean;
  /** How much of a string or buffer --strace shows (strace's -s; 32 by default). */
  straceStrlen?: number;
  /** --strace also says how many kernel-mode page faults each call's user copies took, fixed or refused (the demo). */
  straceFaults?: boolean;
  /** Stop the run after this many instructions (a clear message, status 124 as timeout gives). */
  maxInstructions?: number;
  hart?: HartOptions;
  /** Host directories to mount (through the host's `fs`), in order: HOST:GUEST[:ro]. */
  mounts?: readonly HostMount[];
  /** Instructions per time slice when tasks share a CPU (default {@link TIME_SLICE}). */
  timeSlice?: number;
}

export interface HostMount {
  /** The host directory (absolute). */
  host: string;
  /** Where the guest sees it (absolute). */
  guest: string;
  readOnly?: boolean;
}

export interface SpawnOptions {
  argv: string[];
  envp: string[];
  /** The path the program runs as (argv[0] by default). */
  exe?: string;
  /** The working directory (the root by default); it must exist in the guest's name space. */
  cwd?: string;
  uid?: number;
  gid?: number;
}

export interface KernelStats {
  instructions: number;
  /** Of those, the ones compiled blocks ran. */
  compiledInstructions: number;
  syscalls: Map<string, number>;
  unknownSyscalls: Map<number, number>;
  userFaults: { fixed: number; signalled: number };
  /** The address spaces' page faults by kind (lazy fills, zero page, copy-on-write, refused), summed as spaces go. */
  faultKinds: FaultStats;
  /** Code pages the harts decoded and blocks they compiled. */
  codePagesDecoded: number;
  /** Loads and stores the harts executed (each one inline TLB test). */
  dataAccesses: number;
  blocksCompiled: number;
  /** User-memory accesses during this kernel's runs, by kind. */
  userAccess: UserAccessCounts;
  /** Context switches (a CPU's hart taking another task's registers), processes and threads made. */
  contextSwitches: number;
  forks: number;
  threads: number;
  execs: number;
}

/** One CPU as the scheduler sees it: its hart and the task whose registers are on it. */
export interface CpuState {
  readonly id: number;
  readonly hart: Hart;
  task: Task | undefined;
  /** The address space the hart last ran. */
  lastSpace?: AddrSpace;
  /** The hart's counters when they were last added to the kernel's statistics. */
  counted: { instret: number; compiled: number; pages: number; blocks: number; accesses: number };
}

export class Kernel {
  readonly stats: KernelStats = {
    instructions: 0,
    compiledInstructions: 0,
    syscalls: new Map(),
    unknownSyscalls: new Map(),
    userFaults: { fixed: 0, signalled: 0 },
    faultKinds: { lazyFill: 0, zeroPage: 0, cowCopy: 0, cowReuse: 0, refused: 0, spurious: 0 },
    codePagesDecoded: 0,
    dataAccesses: 0,
    blocksCompiled: 0,
    userAccess: { copiesIn: 0, bytesIn: 0, copiesOut: 0, bytesOut: 0, strings: 0, iovecs: 0, atomics: 0 },
    contextSwitches: 0,
    forks: 0,
    threads: 0,
    execs: 0,
  };
  private nextPid = 1;
  /** The processes by pid (zombies included until they are collected). */
  readonly processes = new Map<number, Process>();
  /** Every live task by tid. */
  readonly tasks = new Map<number, Task>();
  /** Process 1, the first one spawned: orphans go to it, and the run ends with it. */
  init: Process | undefined;
  /** The process whose system call runs now (Linux's `current`), and its task. */
  current: Process | undefined;
  currentTask: Task | undefined;
  readonly vfs: Vfs;
  readonly drivers: Map<number, CharDriver>;
  /** The host's standard streams as the guest's console inodes (fds 0, 1, 2 of a new process). */
  readonly console: readonly ConsoleInode[];
  readonly pipefs: MemSuperBlock;
  readonly futexes = new FutexTable();
  /** The CPUs, each with its hart. */
  readonly cpus: CpuState[];
  /** Runnable tasks waiting for a CPU, first come first served. */
  private readonly runqueue: Task[] = [];
  /** Parked tasks with a deadline. */
  private readonly sleepers = new Set<Task>();
  /** The process whose end a run waits for (its signal death is reported as a shell would). */
  private main: Process | undefined;
  private readonly timeSlice: number;
  /** True once more than one task has existed (strace then prefixes lines with the pid, as `strace -f`). */
  private manyTasks = false;

  constructor(
    readonly machine: Machine,
    readonly host: Host,
    readonly options: KernelOptions = {},
  ) {
    installPageFaultHandler(machine);
    this.timeSlice = Math.max(1, options.timeSlice ?? TIME_SLICE);
    this.cpus = machine.cpus.map((cpu) => ({
      id: cpu.id,
      hart: new Hart(cpu.mmu, options.hart),
      task: undefined,
      counted: { instret: 0, compiled: 0, pages: 0, blocks: 0, accesses: 0 },
    }));
    const ns = buildNamespace(machine.frames, machine.mem, host, {
      current: () => {
        if (this.current === undefined) throw new LinuxError(Errno.ESRCH, 'no current process');
        return this.current;
      },
      process: (pid) => {
        const p = this.processes.get(pid);
        return p?.state === ProcessState.Running ? p : undefined;
      },
      pids: () =>
        [...this.processes.values()].filter((p) => p.state === ProcessState.Running).map((p) => p.pid),
      memory: () => {
        const total = machine.frames.frameCount * 4;
        return { total, free: total - machine.frames.usedFrames * 4 };
      },
    });
    this.vfs = ns.vfs;
    this.drivers = ns.drivers;
    this.console = ns.console;
    this.pipefs = ns.pipefs;
    for (const [i, m] of (options.mounts ?? []).entries()) {
      const fs = host.fs;
      if (fs === undefined) throw new Error('mounting host directories needs a host with a file system');
      const sb = new HostSuperBlock(
        0x20 + i,
        fs,
        m.host,
        m.readOnly === true,
        () => host.realtimeNs(),
        machine.frames,
        machine.mem,
      );
      this.vfs.mount(makeMountPoint(this.vfs, m.guest), sb.root, m.guest, m.host);
      this.hostMounts.push(sb);
    }
  }

  /** The mounted host directories' file systems. */
  readonly hostMounts: HostSuperBlock[] = [];

  /** A fresh user address space on this machine (Sv39: 256 GiB, the first page never mapped). */
  newAddrSpace(): AddrSpace {
    return new AddrSpace({
      base: 0x1000,
      size: 2 ** 38 - 0x1000,
      format: PTE_FORMATS['riscv64-sv39'],
      machine: this.machine,
    });
  }

  /** A free pid (Linux's alloc_pid, without reuse while the counter lasts). */
  allocPid(): number {
    while (this.processes.has(this.nextPid) || this.tasks.has(this.nextPid)) this.nextPid++;
    return this.nextPid++;
  }

  /** Loads `file` into a fresh process (ENOEXEC, EINVAL, E2BIG, ENOMEM as Linux's exec); its task is runnable. */
  spawn(file: Uint8Array, opts: SpawnOptions): Process {
    const aspace = this.newAddrSpace();
    const pages = new FilePages(this.machine.frames, this.machine.mem, file);
    const random = new Uint8Array(16);
    this.host.random(random);
    try {
      const uid = opts.uid ?? 0;
      const gid = opts.gid ?? 0;
      const prog = loadElf(aspace, file, pages, {
        argv: opts.argv,
        envp: opts.envp,
        execfn: opts.exe ?? opts.argv[0],
        random,
        uid,
        gid,
      });
      const creds = { uid, gid };
      let cwd = this.vfs.root;
      if (opts.cwd !== undefined) {
        const d = this.vfs.lookup({ root: this.vfs.root, cwd, creds }, cwd, opts.cwd, true);
        if (!(d instanceof DirInode)) throw new LinuxError(Errno.ENOTDIR, `working directory ${opts.cwd}`);
        cwd = d;
      }
      // /proc/self/exe is an absolute path (glibc's static start-up insists): a relative name is taken from the cwd.
      const named = opts.exe ?? opts.argv[0] ?? '';
      const exe = named.startsWith('/')
        ? named
        : `${(this.vfs.pathOf(cwd, this.vfs.root) ?? '').replace(/\/$/, '')}/${named}`;
      const mm = new MmStruct(aspace, prog);
      const proc = new Process(this.allocPid(), mm, exe, creds, cwd, opts.argv, opts.envp);
      // The program the kernel was handed is a file of its own: /proc/self/exe opens it (busybox's applets).
      proc.exeInode = new ProgramInode(this.pipefs, file, pages);
      for (const c of this.console) {
        const flags = c.isTerminal ? O_RDWR : c.hostFd === 0 ? O_RDONLY : O_WRONLY;
        proc.fds.install(new ConsoleFile(c, flags, c.isTerminal ? '/dev/pts/0' : `pipe:[${c.ino}]`));
      }
      mm.mappedFiles.set(pages, { path: exe, ino: proc.exeInode.ino });
      proc.startNs = this.host.monotonicNs();
      // The program's page cache lives as long as its inode: the space and /proc/self/exe hold it.
      mm.mappedInodes.add(proc.exeInode);
      proc.exeInode.hold(1);
      const task = new Task(proc.pid, proc, this);
      task.ctx.pc = prog.entry;
      setCtxReg(task, 2, prog.sp);
      this.processes.set(proc.pid, proc);
      this.addTask(task);
      this.init ??= proc;
      return proc;
    } catch (e) {
      aspace.destroy();
      pages.release();
      throw e;
    }
  }

  /** Puts a new task in the tables and on the run queue. */
  addTask(task: Task): void {
    task.process.tasks.add(task);
    this.tasks.set(task.tid, task);
    if (this.tasks.size > 1) this.manyTasks = true;
    task.state = TaskState.Runnable;
    this.runqueue.push(task);
  }

  /**
   * Runs the machine until `proc` has exited; answers its exit status (128 +
   * N when signal N ended it, as a shell shows it). When `proc` is process 1,
   * the others end with it (Linux's rule for a pid namespace's init).
   */
  run(proc: Process): number {
    this.main = proc;
    const access0 = userAccessSnapshot();
    const max = this.options.maxInstructions ?? Number.POSITIVE_INFINITY;
    try {
      while (proc.state === ProcessState.Running) {
        if (this.instructionsNow >= max) {
          this.host.write(
            2,
            new TextEncoder().encode(
              `axptr: stopped after ${this.instructionsNow} instructions (--max-insns)\n`,
            ),
          );
          this.stopAll(124 << 8);
          break;
        }
        if (this.schedule(max)) continue;
        if (!this.idle()) {
          this.reportDeadlock();
          this.stopAll(124 << 8);
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof KernelPanic)) throw e;
      // A kernel bug, not the program's: the report a real kernel prints, and the machine stops.
      this.host.write(2, new TextEncoder().encode(this.panicReport(e, this.currentTask ?? proc.leader)));
      this.panicked = e;
      this.stopAll(PANIC_STATUS << 8);
    } finally {
      this.countHarts();
      const access = userAccessSnapshot();
      for (const k of Object.keys(access) as (keyof UserAccessCounts)[])
        this.stats.userAccess[k] += access[k] - access0[k];
      if (proc === this.init) this.stopAll(9); // the others end with process 1 (SIGKILL)
      this.collect(proc);
      // Nothing runs any more: the host files' handles and caches go (they live while any process might use them).
      if (this.tasks.size === 0) for (const sb of this.hostMounts) sb.release();
      this.main = undefined;
    }
    return proc.exitStatus ?? 0;
  }

  /** Ends every process still running with wait status `waitStatus` (a stopped run: --max-insns, deadlock, panic, init's exit). */
  private stopAll(waitStatus: number): void {
    for (const p of [...this.processes.values()])
      if (p.state === ProcessState.Running) exitGroup(this, p, waitStatus, true);
  }

  /** Removes an exited process from the table once nothing will collect it any more. */
  private collect(proc: Process): void {
    if (proc.state === ProcessState.Zombie && (proc.parent === undefined || proc === this.init)) {
      proc.state = ProcessState.Reaped;
      this.processes.delete(proc.pid);
    }
    if (proc === this.init) {
      for (const p of [...this.processes.values()]) {
        p.state = ProcessState.Reaped;
        this.processes.delete(p.pid);
      }
      this.init = undefined;
    }
  }

  /** Gives each CPU a task for a slice; answers false when no task could run. */
  private schedule(max: number): boolean {
    let ran = false;
    for (const cpu of this.cpus) {
      const task = this.pickNext(cpu);
      if (task === undefined) continue;
      ran = true;
      const others = this.runqueue.length > 0 || this.sleepers.size > 0;
      this.runSlice(cpu, task, Math.min(others ? this.timeSlice : LONG_SLICE, max - this.instructionsNow));
      if (this.main?.state !== ProcessState.Running) break;
    }
    if (this.sleepers.size > 0) this.wakeExpired();
    return ran;
  }

  /** The task `cpu` runs next: its own while nobody waits, else the first in line (the old one goes to the back). */
  private pickNext(cpu: CpuState): Task | undefined {
    const mine = cpu.task;
    if (mine !== undefined && mine.state === TaskState.Runnable && this.runqueue.length === 0) return mine;
    const next = this.runqueue.shift();
    if (next === undefined) return mine?.state === TaskState.Runnable ? mine : undefined;
    if (mine !== undefined) {
      this.unload(cpu);
      if (mine.state === TaskState.Runnable) this.runqueue.push(mine);
    }
    return next;
  }

  /** Saves the registers of the task on `cpu` and frees the hart. */
  private unload(cpu: CpuState): void {
    const t = cpu.task;
    if (t === undefined) return;
    cpu.hart.saveContext(t.ctx);
    t.onCpu = -1;
    cpu.task = undefined;
  }

  /** Puts `task` on `cpu`: its registers on the hart, its address space on the CPU's MMU (a context switch). */
  private load(cpu: CpuState, task: Task): void {
    // The hart's decoded and compiled code of a space that is gone would only pile up (its frames
    // hold other code now): a fresh start, as a new process's hart had.
    const space = task.process.aspace;
    if (cpu.lastSpace !== undefined && cpu.lastSpace !== space && cpu.lastSpace.isDestroyed)
      cpu.hart.flushDecoded();
    cpu.lastSpace = space;
    if (cpu.task === task) {
      task.process.aspace.activate(cpu.hart.mmu);
      return;
    }
    this.unload(cpu);
    // A task runs on one hart at a time: take it off the one that holds it.
    if (task.onCpu >= 0) this.unload(this.cpus[task.onCpu]);
    cpu.hart.loadContext(task.ctx);
    task.onCpu = cpu.id;
    cpu.task = task;
    task.process.aspace.activate(cpu.hart.mmu);
    this.stats.contextSwitches++;
  }

  /** Runs `task` on `cpu` for up to `slice` instructions, serving its traps. */
  private runSlice(cpu: CpuState, task: Task, slice: number): void {
    this.machine.switchTo(cpu.id);
    this.load(cpu, task);
    const hart = cpu.hart;
    if (task.wait !== undefined) {
      this.finishWait(cpu, task);
      if (cpu.task !== task || task.state !== TaskState.Runnable) return;
    }
    let left = slice;
    while (left > 0 && cpu.task === task && task.state === TaskState.Runnable) {
      if (task.pending !== 0n || task.process.sharedPending !== 0n) {
        deliverSignals(this, task);
        if (cpu.task !== task || task.state !== TaskState.Runnable) break;
      }
      const before = hart.instret;
      const r = hart.run(left);
      const ran = hart.instret - before;
      left -= ran;
      task.instret += ran;
      if (r === BUDGET_SPENT) break;
      // Every trap ends an LR/SC reservation, as Linux's return from a trap does.
      hart.breakReservation();
      this.trap(cpu, task, r);
      if (this.yielding === task) {
        this.yielding = undefined;
        if (cpu.task === task && task.state === TaskState.Runnable) {
          this.unload(cpu);
          this.runqueue.push(task);
        }
        break;
      }
    }
    // Another hart may store to the reserved word before this one runs again: the reservation ends.
    hart.breakReservation();
  }

  /** What the hart reported for `task`. */
  private trap(cpu: CpuState, task: Task, r: number): void {
    const hart = cpu.hart;
    if (r === Cause.UserEcall) {
      this.syscall(cpu, task);
      return;
    }
    const proc = task.process;
    if (r === Cause.LoadPageFault || r === Cause.StorePageFault || r === Cause.InstructionPageFault) {
      const access =
        r === Cause.LoadPageFault
          ? MappingFlags.READ
          : r === Cause.StorePageFault
            ? MappingFlags.WRITE
            : MappingFlags.EXECUTE;
      const addr = hart.tval;
      const fixed =
        addr < 2n ** 53n &&
        proc.mm.withAddrSpace((as) => as.handlePageFault(Number(addr), access | MappingFlags.USER));
      // A fault "fixed" again and again at the same place with nothing retired is not fixed.
      const again = hart.pc === task.lastFaultPc && task.instret === task.lastFaultInstret;
      task.lastFaultPc = hart.pc;
      task.lastFaultInstret = task.instret;
      task.faultRepeats = again ? task.faultRepeats + 1 : 0;
      if (fixed && task.faultRepeats < 8) {
        this.stats.userFaults.fixed++;
        return;
      }
      this.stats.userFaults.signalled++;
      if (!fixed && this.pastEndOfFile(proc, Number(addr))) this.forceSignal(task, 7);
      else if (!fixed && this.outOfMemory(proc, Number(addr), access)) {
        // A legitimate fault that found no frame: Linux's OOM killer ends the process (SIGKILL).
        this.host.write(
          2,
          new TextEncoder().encode(
            `axptr: out of memory (${this.machine.frames.frameCount * 4} KiB of physical memory; --mem sets it): killed\n`,
          ),
        );
        this.forceSignal(task, 9);
      } else this.forceSignal(task, 11);
      return;
    }
    if (r === Cause.IllegalInstruction) this.forceSignal(task, 4);
    else if (r === Cause.Breakpoint) this.forceSignal(task, 5);
    else if (r === Cause.LoadMisaligned || r === Cause.StoreMisaligned) this.forceSignal(task, 7);
    else this.forceSignal(task, 11); // access faults: no such memory
  }

  /** A synchronous signal the task's own instruction raised (Linux's force_sig): delivered before it runs on. */
  forceSignal(task: Task, sig: number): void {
    sendSignal(this, task.process, sig, task, true);
    deliverSignals(this, task);
  }

  /** Writes the message a shell prints when the run's main process dies by `sig`. */
  reportSignalDeath(proc: Process, sig: number): void {
    if (proc !== this.main) return;
    const message = SIGNALS[sig]?.[1] ?? `Signal ${sig}`;
    if (message !== '') this.host.write(2, new TextEncoder().encode(`${message}\n`));
  }

  /**
   * A file shrank to `size`: every mapping of its pages past the new end
   * loses them (Linux's truncate_pagecache: private copies too), so the next
   * access is SIGBUS, not a stale page.
   */
  truncateMappings(inode: RegularInode, size: number): void {
    const source = inode.cachedPages();
    if (source === undefined) return;
    const firstGone = Math.ceil(size / 4096);
    const seen = new Set<MmStruct>();
    for (const p of this.processes.values()) {
      if (p.state !== ProcessState.Running || seen.has(p.mmStruct)) continue;
      seen.add(p.mmStruct);
      p.mm.withAddrSpace((as) => {
        for (const a of [...as.iterAreas()]) {
          const b = a.backend as { source?: object; vaOffset?: number };
          if (b.source !== source || b.vaOffset === undefined) continue;
          const from = Math.max(a.start, b.vaOffset + firstGone * 4096);
          if (from < a.end) as.discard(from, a.end - from);
        }
      });
    }
  }

  /** A fault in a file mapping on a page wholly past the file's end (Linux: SIGBUS). */
  private pastEndOfFile(proc: Process, addr: number): boolean {
    if (addr >= 2 ** 53) return false;
    const b = proc.aspace.findArea(addr)?.backend as
      | { source?: { size: number }; vaOffset?: number }
      | undefined;
    if (b?.source === undefined || b.vaOffset === undefined) return false;
    const page = Math.floor((addr - b.vaOffset) / 4096);
    return page * 4096 >= b.source.size;
  }

  /** A fault the area allows, that failed only because no frame is left. */
  private outOfMemory(proc: Process, addr: number, access: MappingFlags): boolean {
    if (addr >= 2 ** 53) return false;
    const area = proc.aspace.findArea(addr);
    if (area === undefined || (area.flags & access) !== access) return false;
    return this.machine.frames.freeFrames <= 2; // a fault may need a page-table frame besides the page
  }

  /** Set when a kernel panic stopped a run (the report went to the host's stderr). */
  panicked: KernelPanic | undefined;
  /** The system call running now, for a panic's report. */
  private inSyscall: { name: string; args: readonly bigint[] } | undefined;

  /** What a kernel panic reports: the fault, where the kernel was (the system call), the task's registers. */
  panicReport(e: KernelPanic, taskOrProc: Task | Process | undefined): string {
    const hex = (v: bigint | number) => `0x${BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0')}`;
    const task = taskOrProc instanceof Process ? taskOrProc.leader : taskOrProc;
    const proc = task?.process;
    if (task !== undefined && task.onCpu >= 0) this.cpus[task.onCpu].hart.saveContext(task.ctx);
    const ctx = task?.ctx;
    const reg = (i: number) => (ctx === undefined ? 0n : (BigInt(ctx.xh[i]) << 32n) | BigInt(ctx.x[i] >>> 0));
    const regs: string[] = [];
    for (let r = 0; r < 32; r += 4)
      regs.push(`  ${[0, 1, 2, 3].map((k) => `${ABI[r + k].padStart(4)} ${hex(reg(r + k))}`).join('  ')}`);
    const where =
      this.inSyscall === undefined
        ? 'kernel code outside any system call'
        : `system call ${this.inSyscall.name}(${this.inSyscall.args.map((a) => hex(a)).join(', ')})`;
    return [
      'axptr: kernel panic: a page fault in kernel mode outside a user-memory access (a kernel bug)',
      `  fault: ${e.fault?.toString() ?? e.message}`,
      `  in: ${where}, process ${proc?.pid ?? '?'} (${proc?.comm ?? '?'})`,
      `  user registers: pc ${hex(ctx?.pc ?? 0)}`,
      ...regs,
      '  the page-fault handler refused it: the per-CPU ACCESSING_USER_MEM flag was clear',
      '',
    ].join('\n');
  }

  /** Tears down a process that will not run (the demo's kernel bug): every resource released, its pid free. */
  reap(proc: Process): void {
    if (proc.state === ProcessState.Running) exitGroup(this, proc, 9, true);
    releaseProcess(this, proc);
    if (this.tasks.size === 0) for (const sb of this.hostMounts) sb.release();
    proc.state = ProcessState.Reaped;
    this.processes.delete(proc.pid);
    if (this.init === proc) this.init = undefined;
    if (this.current === proc) this.current = undefined;
  }

  /** Adds what the harts counted since the last time to the statistics. */
  private countHarts(): void {
    for (const cpu of this.cpus) {
      const h = cpu.hart;
      const c = cpu.counted;
      this.stats.instructions += h.instret - c.instret;
      this.stats.compiledInstructions += h.compiledInstret - c.compiled;
      this.stats.codePagesDecoded += h.codePagesDecoded - c.pages;
      this.stats.blocksCompiled += h.blocksCompiled - c.blocks;
      this.stats.dataAccesses += h.dataAccesses - c.accesses;
      cpu.counted = {
        instret: h.instret,
        compiled: h.compiledInstret,
        pages: h.codePagesDecoded,
        blocks: h.blocksCompiled,
        accesses: h.dataAccesses,
      };
    }
  }

  /** Adds a space's fault counts to the statistics (when it goes). */
  countFaults(aspace: AddrSpace): void {
    const faults = aspace.stats().faults;
    for (const k of Object.keys(faults) as (keyof FaultStats)[]) this.stats.faultKinds[k] += faults[k];
  }

  /** Instructions retired on every CPU so far. */
  get instructionsNow(): number {
    let n = this.stats.instructions;
    for (const cpu of this.cpus) n += cpu.hart.instret - cpu.counted.instret;
    return n;
  }

  /** The CPU time `proc` used (its age: one simulated CPU per task, as long as it lives). */
  cpuTimeNs(proc: Process): bigint {
    const t = this.host.monotonicNs() - proc.startNs;
    return t > 0n ? t : 0n;
  }

  /**
   * Sends `sig` to `proc` (a signal a system call raises, like SIGPIPE):
   * queued for the calling task, delivered on its way back to user mode.
   */
  signal(proc: Process, sig: number): void {
    sendSignal(this, proc, sig, this.currentTask?.process === proc ? this.currentTask : undefined);
  }

  // ---- waiting -----------------------------------------------------------

  /**
   * A system call must wait: answers BLOCKED, which the handler returns. The
   * task parks on `wait`'s queues (and its deadline) with its `ecall` not
   * done; when woken, `retry` (or the call itself, run again) gives the
   * result, `timedOut` when the deadline passed, EINTR when a signal came.
   */
  sleep(task: Task, wait: Wait): number {
    task.wait = wait;
    return BLOCKED;
  }

  /** Parks `task` (its call answered BLOCKED): off its CPU, on its queues. */
  private park(cpu: CpuState, task: Task): void {
    const w = task.wait as Wait;
    task.state = TaskState.Sleeping;
    task.wakeReason = WakeReason.None;
    for (const q of w.queues) q.add(task);
    if (w.deadlineNs !== undefined) this.sleepers.add(task);
    this.unload(cpu);
    // A signal that came before the task could park ends the wait at once.
    if (!w.uninterruptible && signalPending(task)) this.wake(task, WakeReason.Signal);
    else if (w.deadlineNs !== undefined && w.deadlineNs <= this.host.monotonicNs())
      this.wake(task, WakeReason.Timeout);
  }

  /** Makes a parked task runnable (Linux's try_to_wake_up); the reason decides how its call ends. */
  wake(task: Task, reason: WakeReason): void {
    if (task.state !== TaskState.Sleeping) return;
    const w = task.wait;
    if (w !== undefined) {
      if (reason === WakeReason.Signal && w.uninterruptible) return;
      for (const q of w.queues) q.remove(task);
      w.cancel?.();
    }
    this.sleepers.delete(task);
    task.wakeReason = reason;
    if (task.stopWhenWoken) {
      task.stopWhenWoken = false;
      task.state = TaskState.Stopped;
      return;
    }
    task.state = TaskState.Runnable;
    this.runqueue.push(task);
  }

  /** Takes a task off every queue and the run queue (it dies, or stops). */
  dequeue(task: Task): void {
    const w = task.wait;
    if (w !== undefined) {
      for (const q of w.queues) q.remove(task);
      w.cancel?.();
    }
    task.wait = undefined;
    this.sleepers.delete(task);
    const i = this.runqueue.indexOf(task);
    if (i >= 0) this.runqueue.splice(i, 1);
    if (task.onCpu >= 0) this.unload(this.cpus[task.onCpu]);
  }

  /** Stops a task (a stop signal): off its CPU and the run queue until SIGCONT; a parked one stops when it wakes. */
  stop(task: Task): void {
    if (task.state === TaskState.Sleeping) {
      task.stopWhenWoken = true;
      return;
    }
    if (task.state !== TaskState.Runnable) return;
    const i = this.runqueue.indexOf(task);
    if (i >= 0) this.runqueue.splice(i, 1);
    if (task.onCpu >= 0) this.unload(this.cpus[task.onCpu]);
    task.state = TaskState.Stopped;
  }

  /** A stopped task continues (SIGCONT): back on the run queue. */
  resume(task: Task): void {
    task.stopWhenWoken = false;
    if (task.state !== TaskState.Stopped) return;
    task.state = TaskState.Runnable;
    this.runqueue.push(task);
  }

  /** A task yields its CPU (sched_yield): it goes to the back of the line. */
  yieldCpu(task: Task): void {
    if (this.runqueue.length > 0) this.yielding = task;
  }

  /** The task whose sched_yield ends its slice once the call completes. */
  private yielding: Task | undefined;

  /** Wakes the sleepers whose deadline passed. */
  private wakeExpired(): void {
    const now = this.host.monotonicNs();
    for (const t of [...this.sleepers])
      if ((t.wait?.deadlineNs ?? now + 1n) <= now) this.wake(t, WakeReason.Timeout);
  }

  /** Nothing can run: waits on the host for the first deadline. False when nothing ever will (a deadlock). */
  private idle(): boolean {
    let first: bigint | undefined;
    for (const t of this.sleepers) {
      const d = t.wait?.deadlineNs;
      if (d !== undefined && (first === undefined || d < first)) first = d;
    }
    if (first === undefined) return false;
    const now = this.host.monotonicNs();
    if (first > now) this.host.sleepNs(first - now);
    this.wakeExpired();
    // A host clock that did not move (a test's) still ends the first wait.
    if (this.runqueue.length === 0) {
      for (const t of this.sleepers) {
        if (t.wait?.deadlineNs === first) {
          this.wake(t, WakeReason.Timeout);
          break;
        }
      }
    }
    return true;
  }

  private reportDeadlock(): void {
    const waits = [...this.tasks.values()]
      .filter((t) => t.state === TaskState.Sleeping && t.wait !== undefined)
      .map((t) => `${t.wait?.what} (task ${t.tid})`);
    const what = waits.length > 0 ? waits.join(', ') : 'every task is stopped';
    this.host.write(
      2,
      new TextEncoder().encode(`axptr: ${what}: would wait forever, no other task can wake it\n`),
    );
  }

  /** A woken task's system call goes on: finished by the wait's own ending, or run again. */
  private finishWait(cpu: CpuState, task: Task): void {
    const w = task.wait as Wait;
    const reason = task.wakeReason;
    task.wait = undefined;
    task.wakeReason = WakeReason.None;
    let finish: (() => number) | undefined;
    if (reason === WakeReason.Signal) finish = w.interrupted ?? (() => -Errno.EINTR);
    else if (reason === WakeReason.Timeout) finish = w.timedOut;
    else finish = w.retry;
    this.syscall(cpu, task, finish);
  }

  // ---- system calls ------------------------------------------------------

  private syscall(cpu: CpuState, task: Task, finish?: () => number): void {
    const hart = cpu.hart;
    const proc = task.process;
    const nr = Number(BigInt.asUintN(64, hart.getReg(17)));
    const args = [10, 11, 12, 13, 14, 15].map((r) => hart.getReg(r));
    const entry = SYSCALL_BY_NR.get(nr);
    let ret: bigint;
    const t = this.machine.trapStats;
    const before = [t.kernelUserAccessFaults, t.unfixed];
    if (entry === undefined) {
      // Counted per number, but never more than 1024 numbers (the rest under -1): a guest cannot grow it.
      const key = this.stats.unknownSyscalls.has(nr) || this.stats.unknownSyscalls.size < 1024 ? nr : -1;
      this.stats.unknownSyscalls.set(key, (this.stats.unknownSyscalls.get(key) ?? 0) + 1);
      ret = BigInt(-Errno.ENOSYS);
    } else {
      if (finish === undefined)
        this.stats.syscalls.set(entry.name, (this.stats.syscalls.get(entry.name) ?? 0) + 1);
      ret = this.dispatch(entry, task, args, finish);
    }
    if (ret === BigInt(BLOCKED) && task.wait !== undefined && task.state === TaskState.Runnable) {
      this.park(cpu, task);
      return;
    }
    task.wait = undefined;
    if (this.options.strace && ret !== BigInt(BLOCKED)) {
      this.trace(entry, nr, args, ret, task);
      const faults = t.kernelUserAccessFaults - before[0];
      const refused = t.unfixed - before[1];
      if (this.options.straceFaults && faults > 0) {
        const fixed = faults - refused;
        const parts = [
          ...(fixed > 0 ? [`${fixed} fixed (lazy pages filled)`] : []),
          ...(refused > 0 ? [`${refused} refused (no mapping: EFAULT)`] : []),
        ];
        this.host.write(
          2,
          new TextEncoder().encode(
            `    ^ ${faults} kernel-mode page fault${faults > 1 ? 's' : ''} in the user copy, routed by the per-CPU flag: ${parts.join(', ')}\n`,
          ),
        );
      }
    }
    // The call ended the task, replaced its image (execve sets the registers itself), or moved it off the CPU.
    if (cpu.task !== task || task.state === TaskState.Dead || task.execed) {
      task.execed = false;
      return;
    }
    if (proc.state !== ProcessState.Running) return;
    hart.setReg(10, ret);
    hart.completeEcall();
  }

  /** A handler's answer; a LinuxError from the user-pointer layer becomes -errno. */
  private dispatch(entry: SyscallEntry, task: Task, args: bigint[], finish?: () => number): bigint {
    this.current = task.process;
    this.currentTask = task;
    this.inSyscall = { name: entry.name, args: args.slice(0, entry.args.length) };
    try {
      const r = BigInt(
        finish !== undefined ? finish() : entry.handler({ kernel: this, proc: task.process, task }, args),
      );
      this.inSyscall = undefined;
      return r;
    } catch (e) {
      if (!isLinuxError(e)) throw e; // a panic keeps inSyscall for its report
      this.inSyscall = undefined;
      return BigInt(-e.errno);
    }
  }

  private trace(entry: SyscallEntry | undefined, nr: number, args: bigint[], ret: bigint, task: Task): void {
    let line = formatCall(task.process, entry, nr, args, ret, this.options.straceStrlen ?? 32);
    // A call that ended its task returns nowhere: strace prints "= ?".
    if (task.state === TaskState.Dead) line = line.replace(/ = [^=]*$/, ' = ?');
    const prefix = this.manyTasks ? `[pid ${String(task.tid).padStart(5)}] ` : '';
    this.host.write(2, new TextEncoder().encode(`${prefix}${line}\n`));
  }
}

/** Sets register `i` of a task that is off its CPU. */
export function setCtxReg(task: Task, i: number, v: bigint | number): void {
  if (i === 0) return;
  const b = BigInt.asUintN(64, BigInt(v));
  task.ctx.x[i] = Number(b & 0xffff_ffffn) | 0;
  task.ctx.xh[i] = Number(b >> 32n) | 0;
}

const ABI = [
  'zero',
  'ra',
  'sp',
  'gp',
  'tp',
  't0',
  't1',
  't2',
  's0',
  's1',
  'a0',
  'a1',
  'a2',
  'a3',
  'a4',
  'a5',
  'a6',
  'a7',
  's2',
  's3',
  's4',
  's5',
  's6',
  's7',
  's8',
  's9',
  's10',
  's11',
  't3',
  't4',
  't5',
  't6',
];
