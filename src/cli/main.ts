#!/usr/bin/env node
/**
 * The `axptr` command (qemu-user's habits):
 *
 *   axptr run [options] program [args…]   (axptr --help lists the options)
 *   axptr                                   runs the bundled demo program
 *
 * It loads a static RISC-V 64 Linux ELF into a fresh process on a fresh
 * machine, with the host's standard streams and environment, and exits with
 * the program's status.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinuxError } from '../errno/index.js';
import {
  DeterministicHost,
  type HostMount,
  Kernel,
  type KernelOptions,
  KernelPanic,
  RISCV64_SYSCALL_NAMES,
} from '../kernel/index.js';
import { Machine, Privilege } from '../paging/index.js';
import { NodeHostFs } from './node-fs.js';
import { NodeHost } from './node-host.js';

const USAGE = `usage: axptr run [options] program [args...]
       axptr              run the bundled demo
       axptr --help | --version

Runs a static RISC-V 64 Linux program on axptr's machine and kernel, with the
host's standard streams, arguments and environment; exits with its status.

options (qemu-user's where it has them):
  --strace             print each system call as strace does
  -s N                 show at most N bytes of strings and buffers in --strace (32)
  --stats              print instructions, MIPS, TLB, faults and system calls at exit
  -E VAR=VALUE         set VAR in the program's environment
  -U VAR               remove VAR from the program's environment
  -0 ARGV0             run the program with argv[0] ARGV0
  --mount HOST:GUEST[:ro]  show host directory HOST at GUEST (repeatable)
  --sandbox            mount nothing (by default the current directory is mounted at its own path)
  --mem MiB            physical memory of the machine (256)
  --cpus N             simulated CPUs, each with its own hart, MMU and TLB (1; at most 64)
  --max-insns N        stop after N instructions (exit status 124)
  --no-jit             interpret only (no compiled blocks)
  --deterministic      time from the instruction count, seeded entropy: two runs print the same bytes
`;

/** What `axptr run` was asked to do. */
interface RunRequest {
  options: KernelOptions;
  memMiB: number;
  cpus: number;
  stats: boolean;
  deterministic: boolean;
  program: string;
  args: string[];
  argv0: string | undefined;
  env: Map<string, string>;
  mounts: HostMount[];
  sandbox: boolean;
}

class UsageError extends Error {}

function parseRun(argv: string[]): RunRequest {
  const req: RunRequest = {
    options: {},
    memMiB: 256,
    cpus: 1,
    stats: false,
    deterministic: false,
    program: '',
    args: [],
    argv0: undefined,
    env: new Map(Object.entries(process.env).map(([k, v]) => [k, v ?? ''])),
    mounts: [],
    sandbox: false,
  };
  let i = 0;
  const value = (opt: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`${opt} needs a value`);
    return v;
  };
  const number = (opt: string, min: number): number => {
    const v = Number(value(opt));
    if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${opt} needs a whole number ≥ ${min}`);
    return v;
  };
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a === '--strace' || a === '-strace') req.options.strace = true;
    else if (a === '-s') req.options.straceStrlen = number(a, 0);
    else if (a === '--stats') {
      req.stats = true;
      req.options.hart = { ...req.options.hart, countAccesses: true };
    } else if (a === '--no-jit') req.options.hart = { ...req.options.hart, compile: false };
    else if (a === '--max-insns') req.options.maxInstructions = number(a, 1);
    else if (a === '--mem') req.memMiB = number(a, 1);
    else if (a === '--cpus') req.cpus = number(a, 1);
    else if (a === '--deterministic') req.deterministic = true;
    else if (a === '--sandbox') req.sandbox = true;
    else if (a === '-0') req.argv0 = value(a);
    else if (a === '-E') {
      const kv = value(a);
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new UsageError(`-E needs VAR=VALUE, not ${kv}`);
      req.env.set(kv.slice(0, eq), kv.slice(eq + 1));
    } else if (a === '-U') req.env.delete(value(a));
    else if (a === '--mount') req.mounts.push(parseMount(value(a)));
    else throw new UsageError(`unknown option ${a}`);
  }
  const program = argv[i];
  if (program === undefined) throw new UsageError('no program to run');
  req.program = program;
  req.args = argv.slice(i + 1);
  if (req.memMiB > 4096) throw new UsageError('--mem is at most 4096 MiB');
  if (req.cpus > 64) throw new UsageError('--cpus is at most 64');
  return req;
}

function parseMount(spec: string): HostMount {
  const parts = spec.split(':');
  const readOnly = parts.length === 3 && parts[2] === 'ro';
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    (parts.length === 3 && !readOnly) ||
    parts[0] === '' ||
    parts[1] === ''
  )
    throw new UsageError(`--mount needs HOST:GUEST or HOST:GUEST:ro, not ${spec}`);
  if (!parts[1].startsWith('/')) throw new UsageError(`--mount: the guest path ${parts[1]} must be absolute`);
  if (normalize(parts[1]) === '/')
    throw new UsageError(
      "--mount: a host directory cannot cover the guest's / (its /proc, /dev and /tmp); mount it below",
    );
  return { host: resolve(parts[0]), guest: normalize(parts[1]), readOnly };
}

function main(argv: string[]): number {
  if (argv.length === 0) return demo();
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`axptr ${version()}\n`);
    return 0;
  }
  if (argv[0] !== 'run') {
    process.stderr.write(`axptr: unknown command ${argv[0]}\n${USAGE}`);
    return 2;
  }
  let req: RunRequest;
  try {
    req = parseRun(argv.slice(1));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`axptr: ${e.message}\n${USAGE}`);
    return 2;
  }
  let file: Uint8Array;
  try {
    file = new Uint8Array(readFileSync(req.program));
  } catch (e) {
    process.stderr.write(`axptr: ${req.program}: ${(e as Error).message}\n`);
    return 127;
  }
  const cwd = process.cwd();
  // The current directory at its own path, unless it is / (that would cover the guest's /proc, /dev, /tmp).
  const mounts = req.sandbox || cwd === '/' ? req.mounts : [{ host: cwd, guest: cwd }, ...req.mounts];
  if (!req.sandbox && cwd === '/')
    process.stderr.write(
      'axptr: the current directory is /, which is not mounted (mount directories with --mount)\n',
    );
  return runProgram(file, req, mounts, req.sandbox && !req.mounts.some((m) => m.guest === cwd) ? '/' : cwd);
}

function version(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  try {
    return (JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

function runProgram(file: Uint8Array, req: RunRequest, mounts: HostMount[], cwd: string): number {
  const machine = new Machine({ memSize: req.memMiB << 20, cpus: req.cpus });
  machine.makeCurrent();
  const nodeHost = new NodeHost(new NodeHostFs());
  let kernel: Kernel | undefined;
  const host = req.deterministic
    ? new DeterministicHost(nodeHost, () => kernel?.instructionsNow ?? 0)
    : nodeHost;
  try {
    kernel = new Kernel(machine, host, { ...req.options, mounts });
  } catch (e) {
    if (!(e instanceof LinuxError)) throw e;
    process.stderr.write(`axptr: cannot mount: ${e.message}\n`);
    return 2;
  }
  // /proc/self/exe names the program by its absolute path (the current directory is mounted at its own path).
  const exe = resolve(req.program);
  const argv = [req.argv0 ?? req.program, ...req.args];
  let proc: ReturnType<Kernel['spawn']>;
  try {
    proc = kernel.spawn(file, {
      argv,
      envp: [...req.env].map(([k, v]) => `${k}=${v}`),
      exe,
      cwd: existsInGuest(kernel, cwd) ? cwd : '/',
      uid: req.deterministic ? 0 : (process.getuid?.() ?? 0),
      gid: req.deterministic ? 0 : (process.getgid?.() ?? 0),
    });
  } catch (e) {
    if (e instanceof LinuxError) {
      process.stderr.write(`axptr: ${exe}: ${e.description} (${e.message})\n`);
      return 126;
    }
    throw e;
  }
  const t0 = performance.now();
  const status = kernel.run(proc);
  if (req.stats) process.stderr.write(statsReport(kernel, machine, performance.now() - t0));
  return status;
}

function existsInGuest(kernel: Kernel, path: string): boolean {
  try {
    kernel.vfs.lookup(
      { root: kernel.vfs.root, cwd: kernel.vfs.root, creds: { uid: 0, gid: 0 } },
      kernel.vfs.root,
      path,
      true,
    );
    return true;
  } catch {
    return false;
  }
}

function statsReport(kernel: Kernel, machine: Machine, ms: number): string {
  const s = kernel.stats;
  const t = machine.trapStats;
  const f = s.faultKinds;
  const u = s.userAccess;
  const pct = (a: number, b: number) => (b === 0 ? '0' : ((100 * a) / b).toFixed(1));
  const byCount = (m: Map<string, number>) =>
    [...m]
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
      .map(([n, c]) => `${n} ${c}`)
      .join(', ');
  const calls = [...s.syscalls.values()].reduce((a, b) => a + b, 0);
  const misses = machine.tlbStats().misses;
  const lines = [
    `instructions: ${s.instructions} in ${ms.toFixed(1)} ms (${(s.instructions / ms / 1000).toFixed(1)} MIPS, both tiers and the kernel)`,
    `  compiled tier ${s.compiledInstructions} (${pct(s.compiledInstructions, s.instructions)}%), interpreter ${s.instructions - s.compiledInstructions}; ` +
      `code pages decoded ${s.codePagesDecoded}, blocks compiled ${s.blocksCompiled}`,
    `TLB: ${s.dataAccesses} loads and stores tested inline, ${misses} page walks of every kind (fetch, data, kernel copies): ` +
      `data hit rate at least ${s.dataAccesses === 0 ? '0' : (100 * Math.max(0, 1 - misses / s.dataAccesses)).toFixed(3)}%`,
    `user page faults: ${s.userFaults.fixed} fixed (lazy fills ${f.lazyFill}, of them zero page ${f.zeroPage}; copy-on-write copies ${f.cowCopy}, reuses ${f.cowReuse}), ${s.userFaults.signalled} signalled`,
    `kernel-mode page faults in user copies, routed by the per-CPU flag: ${t.kernelUserAccessFaults} (fixed ${t.fixed}, refused ${t.unfixed}); outside a user access (panics): ${t.panics}`,
    `user-memory accesses: copies in ${u.copiesIn} (${u.bytesIn} bytes), copies out ${u.copiesOut} (${u.bytesOut} bytes), strings ${u.strings}, iovec arrays ${u.iovecs}, futex words ${u.atomics}`,
    `tasks: ${s.forks} processes forked, ${s.threads} threads made, ${s.execs} execs; ${s.contextSwitches} context switches on ${kernel.cpus.length} CPU${kernel.cpus.length > 1 ? 's' : ''}`,
    `system calls: ${calls}: ${byCount(s.syscalls)}`,
    ...(s.unknownSyscalls.size > 0
      ? [
          `unknown (ENOSYS): ${byCount(new Map([...s.unknownSyscalls].map(([nr, c]) => [`${RISCV64_SYSCALL_NAMES.get(nr) ?? 'syscall'}(${nr})`, c])))}`,
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The bundled demo (`npx axptr`): fixtures/kernel/demo/demo.c, our own
 * program, shows the seed's flow with --strace and --stats: a read into
 * lazy memory whose user copy faults in kernel mode and is fixed through
 * the per-CPU flag, bad pointers answered with EFAULT; then the kernel
 * itself touches user memory outside a user access, and the fault handler
 * refuses it as the kernel bug it is.
 */
function demo(): number {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = join(here, '..', '..', 'fixtures', 'kernel', 'demo', 'demo');
  const say = (text: string) => process.stderr.write(text);
  say(
    'axptr demo: a static RISC-V 64 Linux program (glibc; fixtures/kernel/demo/demo.c) on our machine and kernel.\n' +
      'Its system calls reach user memory only through UserPtr and the copy family. Each call is shown as\n' +
      'strace shows it; "^" lines count the page faults the kernel took in kernel mode while copying.\n\n',
  );
  const file = new Uint8Array(readFileSync(path));
  const req = parseRun(['--strace', '--stats', '--sandbox', '-0', 'demo', path]);
  req.options.straceFaults = true;
  req.env = new Map([['LANG', 'C']]);
  const status = runProgram(file, req, [], '/');
  say(
    `\nthe program exited with status ${status}; its output is what qemu-riscv64 prints for it (fixtures/kernel/demo/demo.expected).\n\n`,
  );
  say(
    'The third case of the seed: the kernel reads a user page that is not present without opening a\n' +
      'user access (the per-CPU flag clear). The fault handler refuses it; a real kernel would halt:\n\n',
  );
  const refused = kernelBug(file);
  return status === 0 && refused ? 0 : 1;
}

/** Kernel code that touches user memory directly: the trap vector raises a panic with its report. */
function kernelBug(file: Uint8Array): boolean {
  const machine = new Machine({ memSize: 16 << 20 });
  machine.makeCurrent();
  const kernel = new Kernel(machine, new NodeHost());
  const proc = kernel.spawn(file, { argv: ['demo'], envp: [] });
  proc.aspace.activate(machine.mmu);
  try {
    machine.mmu.read8(proc.program.stackBottom, Privilege.Kernel);
    process.stderr.write('the read went through: the fault handler did not refuse it (a bug)\n');
    return false;
  } catch (e) {
    if (!(e instanceof KernelPanic)) throw e;
    process.stderr.write(kernel.panicReport(e, proc));
    return true;
  } finally {
    kernel.reap(proc);
  }
}

process.exitCode = main(process.argv.slice(2));
