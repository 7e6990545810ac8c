/**
 * The kernel: runs processes on a machine. The trap loop runs the hart for
 * a budget of instructions and handles what it reports: `ecall` → the
 * system-call table; a user page fault → the address space's
 * `handlePageFault` under the process's lock (lazy fill, zero page,
 * copy-on-write), otherwise SIGSEGV; an illegal instruction → SIGILL; a
 * misaligned atomic → SIGBUS; `ebreak` → SIGTRAP. A process killed by a
 * signal ends with status 128 + N and the message a shell prints. Kernel-mode
 * faults during the system calls' user copies go through the machine's trap
 * vector (the seed's path through the per-CPU flag), installed here.
 */
import { Errno, isLinuxError, LinuxError } from '../errno/index.js';
import { AddrSpace, type FaultStats } from '../mm/index.js';
import { type Machine, MappingFlags, PTE_FORMATS } from '../paging/index.js';
import { BUDGET_SPENT, Cause, Hart, type HartOptions } from '../riscv/index.js';
import { type UserAccessCounts, userAccessSnapshot } from '../uptr/index.js';
import { loadElf } from './exec/load.js';
import { type CharDriver, ConsoleFile, type ConsoleInode } from './fs/devices.js';
import { O_RDONLY, O_RDWR, O_WRONLY } from './fs/file.js';
import { HostSuperBlock } from './fs/hostfs.js';
import { DirInode, type RegularInode } from './fs/inode.js';
import type { MemSuperBlock } from './fs/memfs.js';
import { buildNamespace, makeMountPoint } from './fs/namespace.js';
import { FilePages } from './fs/pagecache.js';
import type { Vfs } from './fs/vfs.js';
import type { Host } from './host.js';
import { Process } from './process.js';
import { formatCall } from './strace.js';
import { SYSCALL_BY_NR, type SyscallEntry } from './syscall/table.js';
import { installPageFaultHandler, KernelPanic } from './trap.js';

/** The exit status of a run a kernel panic stopped (distinct from the program's and from signals'). */
export const PANIC_STATUS = 125;

export const SIGNALS: Record<number, [string, string]> = {
  4: ['SIGILL', 'Illegal instruction'],
  5: ['SIGTRAP', 'Trace/breakpoint trap'],
  7: ['SIGBUS', 'Bus error'],
  9: ['SIGKILL', 'Killed'],
  11: ['SIGSEGV', 'Segmentation fault'],
  13: ['SIGPIPE', ''],
};

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
  /** The address spaces' page faults by kind (lazy fills, zero page, copy-on-write, refused), summed at exit. */
  faultKinds: FaultStats;
  /** Code pages the harts decoded and blocks they compiled. */
  codePagesDecoded: number;
  /** Loads and stores the harts executed (each one inline TLB test). */
  dataAccesses: number;
  blocksCompiled: number;
  /** User-memory accesses during this kernel's runs, by kind. */
  userAccess: UserAccessCounts;
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
  };
  private nextPid = 1;
  /** The processes by pid. */
  readonly processes = new Map<number, Process>();
  /** The process whose system call runs now (Linux's `current`). */
  current: Process | undefined;
  readonly vfs: Vfs;
  readonly drivers: Map<number, CharDriver>;
  /** The host's standard streams as the guest's console inodes (fds 0, 1, 2 of a new process). */
  readonly console: readonly ConsoleInode[];
  readonly pipefs: MemSuperBlock;

  constructor(
    readonly machine: Machine,
    readonly host: Host,
    readonly options: KernelOptions = {},
  ) {
    installPageFaultHandler(machine);
    const ns = buildNamespace(machine.frames, machine.mem, host, {
      current: () => {
        if (this.current === undefined) throw new LinuxError(Errno.ESRCH, 'no current process');
        return this.current;
      },
      process: (pid) => this.processes.get(pid),
      pids: () => [...this.processes.keys()],
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

  /** Loads `file` into a fresh process (ENOEXEC, EINVAL, E2BIG, ENOMEM as Linux's exec). */
  spawn(file: Uint8Array, opts: SpawnOptions): Process {
    const aspace = new AddrSpace({
      base: 0x1000,
      size: 2 ** 38 - 0x1000,
      format: PTE_FORMATS['riscv64-sv39'],
      machine: this.machine,
    });
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
      const hart = new Hart(this.machine.mmu, this.options.hart);
      hart.pc = prog.entry;
      hart.setReg(2, prog.sp);
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
      const proc = new Process(this.nextPid++, aspace, hart, prog, exe, creds, cwd, opts.argv, opts.envp);
      for (const c of this.console) {
        const flags = c.isTerminal ? O_RDWR : c.hostFd === 0 ? O_RDONLY : O_WRONLY;
        proc.fds.install(new ConsoleFile(c, flags, c.isTerminal ? '/dev/pts/0' : `pipe:[${c.ino}]`));
      }
      proc.mappedFiles.set(pages, { path: exe, ino: 0 });
      proc.startNs = this.host.monotonicNs();
      // The program file's page cache lives as long as the process (its pages fill lazily).
      proc.onExit.push(() => pages.release());
      this.processes.set(proc.pid, proc);
      return proc;
    } catch (e) {
      aspace.destroy();
      pages.release();
      throw e;
    }
  }

  /** Runs `proc` to its end; answers its exit status (128 + N when a signal killed it). */
  run(proc: Proc): number {
    const hart = proc.hart;
    const access0 = userAccessSnapshot();
    proc.aspace.activate(this.machine.mmu);
    const max = this.options.maxInstructions ?? Number.POSITIVE_INFINITY;
    let lastFaultPc = -1;
    let lastFaultInstret = -1;
    let repeats = 0;
    try {
      while (!proc.exited) {
        const left = max - hart.instret;
        if (left <= 0) {
          this.host.write(
            2,
            new TextEncoder().encode(`axptr: stopped after ${hart.instret} instructions (--max-insns)\n`),
          );
          proc.exitStatus = 124;
          break;
        }
        const r = hart.run(Math.min(left, 1 << 24));
        if (r === BUDGET_SPENT) continue;
        // Every trap ends an LR/SC reservation, as Linux's return from a trap does.
        hart.breakReservation();
        if (r === Cause.UserEcall) {
          this.syscall(proc);
          continue;
        }
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
          const again = hart.pc === lastFaultPc && hart.instret === lastFaultInstret;
          lastFaultPc = hart.pc;
          lastFaultInstret = hart.instret;
          repeats = again ? repeats + 1 : 0;
          if (fixed && repeats < 8) {
            this.stats.userFaults.fixed++;
            continue;
          }
          this.stats.userFaults.signalled++;
          if (!fixed && this.pastEndOfFile(proc, Number(addr))) this.kill(proc, 7);
          else if (!fixed && this.outOfMemory(proc, Number(addr), access)) {
            // A legitimate fault that found no frame: Linux's OOM killer ends the process (SIGKILL).
            this.host.write(
              2,
              new TextEncoder().encode(
                `axptr: out of memory (${this.machine.frames.frameCount * 4} KiB of physical memory; --mem sets it): killed\n`,
              ),
            );
            this.kill(proc, 9);
          } else this.kill(proc, 11);
          break;
        }
        if (r === Cause.IllegalInstruction) this.kill(proc, 4);
        else if (r === Cause.Breakpoint) this.kill(proc, 5);
        else if (r === Cause.LoadMisaligned || r === Cause.StoreMisaligned) this.kill(proc, 7);
        else this.kill(proc, 11); // access faults: no such memory
        break;
      }
    } catch (e) {
      if (!(e instanceof KernelPanic)) throw e;
      // A kernel bug, not the program's: the report a real kernel prints, and the machine stops.
      this.host.write(2, new TextEncoder().encode(this.panicReport(e, proc)));
      this.panicked = e;
      proc.exitStatus = PANIC_STATUS;
    } finally {
      this.stats.instructions += hart.instret;
      this.stats.compiledInstructions += hart.compiledInstret;
      this.stats.codePagesDecoded += hart.codePagesDecoded;
      this.stats.blocksCompiled += hart.blocksCompiled;
      this.stats.dataAccesses += hart.dataAccesses;
      const faults = proc.aspace.stats().faults;
      for (const k of Object.keys(faults) as (keyof FaultStats)[]) this.stats.faultKinds[k] += faults[k];
      const access = userAccessSnapshot();
      for (const k of Object.keys(access) as (keyof UserAccessCounts)[])
        this.stats.userAccess[k] += access[k] - access0[k];
      this.reap(proc);
    }
    return proc.exitStatus ?? 0;
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
    for (const p of this.processes.values()) {
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
  private pastEndOfFile(proc: Proc, addr: number): boolean {
    if (addr >= 2 ** 53) return false;
    const b = proc.aspace.findArea(addr)?.backend as
      | { source?: { size: number }; vaOffset?: number }
      | undefined;
    if (b?.source === undefined || b.vaOffset === undefined) return false;
    const page = Math.floor((addr - b.vaOffset) / 4096);
    return page * 4096 >= b.source.size;
  }

  /** A fault the area allows, that failed only because no frame is left. */
  private outOfMemory(proc: Proc, addr: number, access: MappingFlags): boolean {
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
  panicReport(e: KernelPanic, proc: Proc): string {
    const hex = (v: bigint | number) => `0x${BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0')}`;
    const h = proc.hart;
    const regs: string[] = [];
    const abi = [
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
    for (let r = 0; r < 32; r += 4)
      regs.push(
        `  ${[0, 1, 2, 3].map((k) => `${abi[r + k].padStart(4)} ${hex(h.getReg(r + k))}`).join('  ')}`,
      );
    const where =
      this.inSyscall === undefined
        ? 'kernel code outside any system call'
        : `system call ${this.inSyscall.name}(${this.inSyscall.args.map((a) => hex(a)).join(', ')})`;
    return [
      'axptr: kernel panic: a page fault in kernel mode outside a user-memory access (a kernel bug)',
      `  fault: ${e.fault?.toString() ?? e.message}`,
      `  in: ${where}, process ${proc.pid} (${proc.comm})`,
      `  user registers: pc ${hex(h.pc)}`,
      ...regs,
      '  the page-fault handler refused it: the per-CPU ACCESSING_USER_MEM flag was clear',
      '',
    ].join('\n');
  }

  /**
   * What exit leaves behind, released: files closed (shared mappings
   * written back), the address space and the program's page cache freed,
   * host handles closed, the process gone from the table.
   */
  reap(proc: Proc): void {
    this.exitFiles(proc);
    proc.aspace.destroy();
    for (const inode of proc.mappedInodes) inode.hold(-1);
    proc.mappedInodes.clear();
    for (const sb of this.hostMounts) sb.release();
    for (const f of proc.onExit.splice(0)) f();
    this.processes.delete(proc.pid);
    if (this.current === proc) this.current = undefined;
  }

  /** Instructions retired by every process so far, the running one's included. */
  get instructionsNow(): number {
    let n = this.stats.instructions;
    for (const p of this.processes.values()) n += p.hart.instret;
    return n;
  }

  /** The CPU time `proc` used (one task that runs whenever it does not sleep: its age). */
  cpuTimeNs(proc: Proc): bigint {
    const t = this.host.monotonicNs() - proc.startNs;
    return t > 0n ? t : 0n;
  }

  /** Closes every descriptor of an exiting process (Linux's exit_files): pipes see their ends go. */
  private exitFiles(proc: Proc): void {
    for (const f of proc.sharedWritable) f.sync();
    proc.fds.closeAll();
  }

  private kill(proc: Proc, sig: number): void {
    proc.killedBy = sig;
    proc.exitStatus = 128 + sig;
    const message = SIGNALS[sig]?.[1] ?? `Signal ${sig}`;
    if (message !== '') this.host.write(2, new TextEncoder().encode(`${message}\n`));
  }

  /**
   * Sends `sig` to `proc` (a signal a system call raises, like SIGPIPE): an
   * ignored signal does nothing; one with its default action ends the
   * process. Handlers run once delivery exists (the processes issue); until
   * then a caught signal is dropped and the call answers its errno.
   */
  signal(proc: Proc, sig: number): void {
    const action = proc.sigactions.get(sig);
    const handler =
      action === undefined ? 0n : new DataView(action.buffer, action.byteOffset).getBigUint64(0, true);
    const blocked = (proc.sigmask & (1n << BigInt(sig - 1))) !== 0n;
    if (handler === 0n && !blocked) this.kill(proc, sig);
  }

  /**
   * A system call must wait (an empty pipe, an endless poll). With one
   * task nothing can ever wake it, so the kernel reports the deadlock and
   * stops the process rather than hang the host (the processes issue parks
   * the task instead).
   */
  block(proc: Proc, what: string): number {
    this.host.write(
      2,
      new TextEncoder().encode(`axptr: ${what} would wait forever: no other task can wake it\n`),
    );
    proc.exitStatus = 124;
    return -Errno.EINTR;
  }

  private syscall(proc: Proc): void {
    const hart = proc.hart;
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
      this.stats.syscalls.set(entry.name, (this.stats.syscalls.get(entry.name) ?? 0) + 1);
      ret = this.dispatch(entry, proc, args);
    }
    if (this.options.strace) {
      this.trace(entry, nr, args, ret, proc);
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
    if (proc.exited) return;
    hart.setReg(10, ret);
    hart.completeEcall();
  }

  /** A handler's answer; a LinuxError from the user-pointer layer becomes -errno. */
  private dispatch(entry: SyscallEntry, proc: Proc, args: bigint[]): bigint {
    this.current = proc;
    this.inSyscall = { name: entry.name, args: args.slice(0, entry.args.length) };
    try {
      const r = BigInt(entry.handler({ kernel: this, proc }, args));
      this.inSyscall = undefined;
      return r;
    } catch (e) {
      if (!isLinuxError(e)) throw e; // a panic keeps inSyscall for its report
      this.inSyscall = undefined;
      return BigInt(-e.errno);
    }
  }

  private trace(entry: SyscallEntry | undefined, nr: number, args: bigint[], ret: bigint, proc: Proc): void {
    const line = formatCall(proc, entry, nr, args, ret, this.options.straceStrlen ?? 32);
    this.host.write(2, new TextEncoder().encode(`${line}\n`));
  }
}

type Proc = Process;
