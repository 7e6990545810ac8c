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
import { copyFromUser, strncpyFromUser } from '../uptr/index.js';
import { loadElf } from './exec/load.js';
import { type CharDriver, ConsoleFile, type ConsoleInode } from './fs/devices.js';
import { O_RDONLY, O_RDWR, O_WRONLY } from './fs/file.js';
import { HostSuperBlock } from './fs/hostfs.js';
import { DirInode } from './fs/inode.js';
import type { MemSuperBlock } from './fs/memfs.js';
import { buildNamespace, makeMountPoint } from './fs/namespace.js';
import { FilePages } from './fs/pagecache.js';
import type { Vfs } from './fs/vfs.js';
import type { Host } from './host.js';
import { Process } from './process.js';
import { type ArgKind, SYSCALL_BY_NR, type SyscallEntry } from './syscall/table.js';
import { installPageFaultHandler } from './trap.js';

export const SIGNALS: Record<number, [string, string]> = {
  4: ['SIGILL', 'Illegal instruction'],
  5: ['SIGTRAP', 'Trace/breakpoint trap'],
  7: ['SIGBUS', 'Bus error'],
  11: ['SIGSEGV', 'Segmentation fault'],
  13: ['SIGPIPE', ''],
};

export interface KernelOptions {
  /** Print each system call to the host's stderr, strace-style. */
  strace?: boolean;
  /** How much of a string or buffer --strace shows (strace's -s; 32 by default). */
  straceStrlen?: number;
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
}

export class Kernel {
  readonly stats: KernelStats = {
    instructions: 0,
    compiledInstructions: 0,
    syscalls: new Map(),
    unknownSyscalls: new Map(),
    userFaults: { fixed: 0, signalled: 0 },
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
      this.stats.compiledInstructions += hart.compiledInstret;
      this.exitFiles(proc);
      proc.aspace.destroy();
      for (const sb of this.hostMounts) sb.release();
      for (const f of proc.onExit) f();
      this.processes.delete(proc.pid);
      if (this.current === proc) this.current = undefined;
    }
    return proc.exitStatus ?? 0;
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
    if (entry === undefined) {
      // Counted per number, but never more than 1024 numbers (the rest under -1): a guest cannot grow it.
      const key = this.stats.unknownSyscalls.has(nr) || this.stats.unknownSyscalls.size < 1024 ? nr : -1;
      this.stats.unknownSyscalls.set(key, (this.stats.unknownSyscalls.get(key) ?? 0) + 1);
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
    this.current = proc;
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
      try {
        return showArg(proc, kind, args[i], args[i + 1], this.options.straceStrlen ?? 32);
      } catch {
        return `0x${BigInt.asUintN(64, args[i]).toString(16)}`; // unreadable: the address, as strace shows it
      }
    });
    // strace shows openat's mode only when the flags make one matter (O_CREAT, O_TMPFILE).
    if (name === 'openat' && (Number(args[2] & 0xffffffffn) & 0o20000100) === 0) shown.length = 3;
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

/** strace's string form: printable bytes as they are, the usual escapes, octal for the rest; cut at 32 with "...". */
function quote(bytes: Uint8Array, cut: boolean): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x0a) out += '\\n';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString(8)}`;
  }
  return `${out}"${cut ? '...' : ''}`;
}

/** One argument as strace shows it: strings and buffers read (through the copy family), flags by name. */
function showArg(proc: Proc, kind: ArgKind, v: bigint, next: bigint | undefined, strlen: number): string {
  const hex = `0x${BigInt.asUintN(64, v).toString(16)}`;
  switch (kind) {
    case 'int':
      return String(BigInt.asIntN(32, v));
    case 'fd': {
      const fd = Number(BigInt.asIntN(32, v));
      return fd === -100 ? 'AT_FDCWD' : String(fd);
    }
    case 'size':
      return String(v);
    case 'ptr':
      return v === 0n ? 'NULL' : hex;
    case 'str': {
      if (v === 0n) return 'NULL';
      const buf = new Uint8Array(strlen + 1);
      const n = strncpyFromUser(proc.mm, buf, v, buf.length);
      if (n < 0) return hex;
      return quote(buf.subarray(0, Math.min(n, strlen)), n > strlen);
    }
    case 'buf': {
      // A buffer whose length is the next argument (write's).
      const len = next === undefined ? 0 : Number(BigInt.asUintN(32, next));
      const buf = new Uint8Array(Math.min(len, strlen));
      if (copyFromUser(proc.mm, buf, v) !== 0) return hex;
      return quote(buf, len > strlen);
    }
    case 'prot':
      return flagNames(Number(v), PROT_NAMES, 'PROT_NONE');
    case 'mapflags':
      return flagNames(Number(v), MAP_NAMES, '0');
    case 'atflags':
      return flagNames(Number(v), AT_NAMES, '0');
    case 'oct':
      return `0${(Number(BigInt.asUintN(32, v)) & 0o7777).toString(8)}`;
    case 'openflags': {
      const n = Number(BigInt.asUintN(32, v));
      const acc = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', '0x3'][n & 3];
      const rest = flagNames(n & ~3, OPEN_NAMES, '');
      return rest === '' ? acc : `${acc}|${rest}`;
    }
    case 'whence':
      return ['SEEK_SET', 'SEEK_CUR', 'SEEK_END', 'SEEK_DATA', 'SEEK_HOLE'][Number(v)] ?? String(v);
    case 'fcntlcmd':
      return FCNTL_NAMES[Number(v)] ?? String(v);
    default:
      return hex;
  }
}

const PROT_NAMES: [number, string][] = [
  [1, 'PROT_READ'],
  [2, 'PROT_WRITE'],
  [4, 'PROT_EXEC'],
];
const MAP_NAMES: [number, string][] = [
  [0x01, 'MAP_SHARED'],
  [0x02, 'MAP_PRIVATE'],
  [0x10, 'MAP_FIXED'],
  [0x20, 'MAP_ANONYMOUS'],
  [0x4000, 'MAP_NORESERVE'],
  [0x100000, 'MAP_FIXED_NOREPLACE'],
];
const OPEN_NAMES: [number, string][] = [
  [0o100, 'O_CREAT'],
  [0o200, 'O_EXCL'],
  [0o400, 'O_NOCTTY'],
  [0o1000, 'O_TRUNC'],
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o2000000, 'O_CLOEXEC'],
  [0o10000000, 'O_PATH'],
];
const FCNTL_NAMES: Record<number, string> = {
  0: 'F_DUPFD',
  1: 'F_GETFD',
  2: 'F_SETFD',
  3: 'F_GETFL',
  4: 'F_SETFL',
  5: 'F_GETLK',
  6: 'F_SETLK',
  7: 'F_SETLKW',
  1030: 'F_DUPFD_CLOEXEC',
  1031: 'F_SETPIPE_SZ',
  1032: 'F_GETPIPE_SZ',
};
const AT_NAMES: [number, string][] = [
  [0x100, 'AT_SYMLINK_NOFOLLOW'],
  [0x1000, 'AT_EMPTY_PATH'],
];

function flagNames(v: number, names: readonly [number, string][], none: string): string {
  const parts: string[] = [];
  let rest = v;
  for (const [bit, name] of names) {
    if ((v & bit) !== 0) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.length === 0 ? none : parts.join('|');
}
