#!/usr/bin/env node
/**
 * The `axptr` command (qemu-user's habits):
 *
 *   axptr run [--strace] [--stats] [--max-insns N] [--no-jit] program [args…]
 *   axptr                   runs the bundled demo program
 *
 * It loads a static RISC-V 64 Linux ELF into a fresh process on a fresh
 * machine, with the host's standard streams and environment, and exits with
 * the program's status.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinuxError } from '../errno/index.js';
import { Kernel, type KernelOptions } from '../kernel/index.js';
import { Machine } from '../paging/index.js';
import { NodeHost } from './node-host.js';

const USAGE = `usage: axptr run [--strace] [--stats] [--max-insns N] [--no-jit] [--mem MiB] program [args...]
       axptr            (runs the bundled demo)
`;

function main(argv: string[]): number {
  if (argv.length === 0) return demo();
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] !== 'run') {
    process.stderr.write(USAGE);
    return 2;
  }
  const options: KernelOptions = {};
  let memMiB = 256;
  let stats = false;
  let i = 1;
  for (; i < argv.length && argv[i].startsWith('--'); i++) {
    const a = argv[i];
    if (a === '--strace') options.strace = true;
    else if (a === '--stats') stats = true;
    else if (a === '--no-jit') options.hart = { compile: false };
    else if (a === '--max-insns') options.maxInstructions = Number(argv[++i]);
    else if (a === '--mem') memMiB = Number(argv[++i]);
    else {
      process.stderr.write(`axptr: unknown option ${a}\n${USAGE}`);
      return 2;
    }
  }
  const program = argv[i];
  if (program === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  let file: Uint8Array;
  try {
    file = new Uint8Array(readFileSync(program));
  } catch (e) {
    process.stderr.write(`axptr: ${program}: ${(e as Error).message}\n`);
    return 127;
  }
  // /proc/self/exe names the program by its absolute path (the current directory is mounted at its own path).
  return runProgram(file, resolve(program), argv.slice(i), options, memMiB, stats);
}

function runProgram(
  file: Uint8Array,
  exe: string,
  args: string[],
  options: KernelOptions,
  memMiB: number,
  stats: boolean,
): number {
  const machine = new Machine({ memSize: memMiB << 20 });
  machine.makeCurrent();
  const kernel = new Kernel(machine, new NodeHost(), options);
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  let proc: ReturnType<Kernel['spawn']>;
  try {
    proc = kernel.spawn(file, {
      argv: args,
      envp: env,
      exe,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
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
  if (stats) {
    const ms = performance.now() - t0;
    const s = kernel.stats;
    const lines = [
      `instructions: ${s.instructions} in ${ms.toFixed(1)} ms (${(s.instructions / ms / 1000).toFixed(1)} MIPS)`,
      `  compiled tier: ${s.compiledInstructions}, interpreter: ${s.instructions - s.compiledInstructions}`,
      `user page faults: ${s.userFaults.fixed} fixed, ${s.userFaults.signalled} signalled`,
      `kernel-mode faults routed by the per-CPU flag: ${machine.trapStats.kernelUserAccessFaults}`,
      `TLB walks (misses: hits are tested inline by the hart and not counted): ${machine.tlbStats().misses}`,
      `system calls: ${[...s.syscalls].map(([n, c]) => `${n} ${c}`).join(', ')}`,
      ...(s.unknownSyscalls.size > 0
        ? [`unknown (ENOSYS): ${[...s.unknownSyscalls].map(([n, c]) => `${n} ${c}`).join(', ')}`]
        : []),
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  return status;
}

/** The bundled demo: a static hello program built from fixtures/kernel/src/hello.c, with --strace and --stats. */
function demo(): number {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = join(here, '..', '..', 'fixtures', 'kernel', 'bin', 'hello');
  process.stderr.write(
    'axptr demo: a static RISC-V 64 Linux program (glibc, fixtures/kernel/src/hello.c) on our machine;\n' +
      'its system calls reach user memory only through UserPtr and the copy family. --strace shows each call:\n\n',
  );
  const status = runProgram(
    new Uint8Array(readFileSync(path)),
    resolve(path),
    ['hello', 'axptr'],
    { strace: true },
    64,
    true,
  );
  process.stderr.write(
    `\nthe program exited with status ${status} (its main returns 3), as under qemu-riscv64.\n`,
  );
  return status === 3 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
