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
import { AddrSpace } from '../mm/index.js';
import { type Machine, MappingFlags, PTE_FORMATS } from '../paging/index.js';
import { BUDGET_SPENT, Cause, Hart, type HartOptions } from '../riscv/index.js';
import { loadElf } from './exec/load.js';
import { FilePages } from './fs/pagecache.js';
import type { Host } from './host.js';
import { Process } from './process.js';
import { SYSCALL_BY_NR, type SyscallEntry } from './syscall/table.js';
import { installPageFaultHandler } from './trap.js';

export const SIGNALS: Record<number, [string, string]> = {
  4: ['SIGILL', 'Illegal instruction'],
  5: ['SIGTRAP', 'Trace/breakpoint trap'],
  7: ['SIGBUS', 'Bus error'],
  11: ['SIGSEGV', 'Segmentation fault'],
};

export interface KernelOptions {
  /** Print each system call to the host's stderr, strace-style. */
  strace?: boolean;
  /** Stop the run after this many instructions (a clear message, status 124 as timeout gives). */
  maxInstructions?: number;
  hart?: HartOptions;
}

export interface SpawnOptions {
  argv: string[];
  envp: string[];
  /** The path the program runs as (argv[0] by default). */
  exe?: string;
  uid?: number;
  gid?: number;
}

export interface KernelStats {
  instructions: number;
  syscalls: Map<string, number>;
  unknownSyscalls: Map<number, number>;
  userFaults: { fixed: number; signalled: number };
}

export class Kernel {
  readonly stats: KernelStats = {
    instructions: 0,
    syscalls: new Map(),
    unknownSyscalls: new Map(),
    userFaults: { fixed: 0, signalled: 0 },
  };
  private nextPid = 1;

  constructor(
    readonly machine: Machine,
    readonly host: Host,
    readonly options: KernelOptions = {},
  ) {
    installPageFaultHandler(machine);
  }

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
      const proc = new Process(this.nextPid++, aspace, hart, prog, opts.exe ?? opts.argv[0] ?? '', {
        uid,
        gid,
      });
      // The program file's page cache lives as long as the process (its pages fill lazily).
      proc.onExit.push(() => pages.release());
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
    proc.aspace.activate(this.machine.mmu);
    const max = this.options.maxInstructions ?? Number.POSITIVE_INFINITY;
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
          if (fixed) {
            this.stats.userFaults.fixed++;
            continue;
          }
          this.stats.userFaults.signalled++;
          this.kill(proc, 11);
          break;
        }
        if (r === Cause.IllegalInstruction) this.kill(proc, 4);
        else if (r === Cause.Breakpoint) this.kill(proc, 5);
        else if (r === Cause.LoadMisaligned || r === Cause.StoreMisaligned) this.kill(proc, 7);
        else this.kill(proc, 11); // access faults: no such memory
        break;
      }
    } finally {
      this.stats.instructions += hart.instret;
      proc.aspace.destroy();
      for (const f of proc.onExit) f();
    }
    return proc.exitStatus ?? 0;
  }

  private kill(proc: Proc, sig: number): void {
    proc.killedBy = sig;
    proc.exitStatus = 128 + sig;
    this.host.write(2, new TextEncoder().encode(`${SIGNALS[sig]?.[1] ?? `Signal ${sig}`}\n`));
  }

  private syscall(proc: Proc): void {
    const hart = proc.hart;
    const nr = Number(BigInt.asUintN(64, hart.getReg(17)));
    const args = [10, 11, 12, 13, 14, 15].map((r) => hart.getReg(r));
    const entry = SYSCALL_BY_NR.get(nr);
    let ret: bigint;
    if (entry === undefined) {
      this.stats.unknownSyscalls.set(nr, (this.stats.unknownSyscalls.get(nr) ?? 0) + 1);
      ret = BigInt(-Errno.ENOSYS);
    } else {
      this.stats.syscalls.set(entry.name, (this.stats.syscalls.get(entry.name) ?? 0) + 1);
      ret = this.dispatch(entry, proc, args);
    }
    if (this.options.strace) this.trace(entry, nr, args, ret, proc);
    if (proc.exited) return;
    hart.setReg(10, ret);
    hart.completeEcall();
  }

  /** A handler's answer; a LinuxError from the user-pointer layer becomes -errno. */
  private dispatch(entry: SyscallEntry, proc: Proc, args: bigint[]): bigint {
    try {
      return BigInt(entry.handler({ kernel: this, proc }, args));
    } catch (e) {
      if (isLinuxError(e)) return BigInt(-e.errno);
      throw e;
    }
  }

  private trace(entry: SyscallEntry | undefined, nr: number, args: bigint[], ret: bigint, proc: Proc): void {
    const name = entry?.name ?? `syscall_${nr}`;
    const shown = (entry?.args ?? args.map(() => 'hex' as const)).map((kind, i) => {
      const v = args[i];
      if (kind === 'int' || kind === 'fd') return String(BigInt.asIntN(32, v));
      if (kind === 'size') return String(v);
      return `0x${BigInt.asUintN(64, v).toString(16)}`;
    });
    let result: string;
    if (proc.exited && (name === 'exit' || name === 'exit_group')) result = '?';
    else if (ret < 0n && ret > -4096n) {
      const e = new LinuxError(Number(-ret));
      result = `-1 ${e.code} (${e.description})`;
    } else result = ret >= 0n && ret < 4096n ? String(ret) : `0x${BigInt.asUintN(64, ret).toString(16)}`;
    this.host.write(2, new TextEncoder().encode(`${name}(${shown.join(', ')}) = ${result}\n`));
  }
}

type Proc = Process;
