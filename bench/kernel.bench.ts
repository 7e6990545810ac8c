/**
 * The kernel at work: a static glibc hello from ELF bytes to exit, in
 * process and warm, against qemu-riscv64 running the same file as a whole
 * process (the issue's target: within 10 ms warm); and a system-call round
 * trip (a getppid loop) and a 64 KiB read loop (of /dev/zero) against
 * qemu-riscv64 on the same file, per call; and `axptr run hello` as a whole
 * process (node's start-up included) against qemu-riscv64's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';
import type { BenchCase, BenchGroup } from './harness.js';

const FIX = join(process.cwd(), 'fixtures', 'kernel');

// Warm: one machine and kernel, as a running system has; each run is a fresh process on it (its
// frames all come back at exit: the kernel tests check that).
const warm = new Kernel(new Machine({ memSize: 64 << 20 }), new MemoryHost());

function runOnce(file: Uint8Array, argv: string[]): number {
  return warm.run(warm.spawn(file, { argv, envp: [] }));
}

export function kernel(): BenchGroup {
  const hello = new Uint8Array(readFileSync(join(FIX, 'bin', 'hello')));
  const getppid = new Uint8Array(readFileSync(join(FIX, 'fuzz', 'getppid')));
  const readloop = new Uint8Array(readFileSync(join(FIX, 'fuzz', 'readloop')));
  const calls = 100_000;
  const reads = 10_000;
  const cli = join(process.cwd(), 'bin', 'axptr.js');
  const qemu = spawnSync('qemu-riscv64', ['--version']).status === 0;
  const cases: BenchCase[] = [];
  if (qemu) {
    cases.push({
      name: 'static glibc hello, ELF bytes to exit (in process, warm)',
      baseline: 'qemu-riscv64 hello (a whole process)',
      time: 3000,
      base: () => spawnSync('qemu-riscv64', [join(FIX, 'bin', 'hello')]).status,
      run: () => runOnce(hello, ['hello']),
    });
    cases.push({
      name: `system-call round trip: ${calls} getppid calls, per call`,
      baseline: 'qemu-riscv64 on the same file',
      batch: calls,
      time: 3000,
      base: () => spawnSync('qemu-riscv64', [join(FIX, 'fuzz', 'getppid'), String(calls)]).status,
      run: () => runOnce(getppid, ['getppid', String(calls)]),
    });
    cases.push({
      name: `64 KiB read loop: ${reads} reads of /dev/zero, per read`,
      baseline: 'qemu-riscv64 on the same file',
      batch: reads,
      time: 3000,
      base: () => spawnSync('qemu-riscv64', [join(FIX, 'fuzz', 'readloop'), String(reads)]).status,
      run: () => runOnce(readloop, ['readloop', String(reads)]),
    });
    cases.push({
      name: 'axptr run hello (a whole process: node start-up, load, run, exit)',
      baseline: 'qemu-riscv64 hello (a whole process)',
      time: 4000,
      base: () => spawnSync('qemu-riscv64', [join(FIX, 'bin', 'hello')]).status,
      run: () => spawnSync('node', [cli, 'run', '--sandbox', join(FIX, 'bin', 'hello')]).status,
    });
    // fork + exec + wait needs a guest execve under qemu: qemu-riscv64 registered with binfmt_misc in a
    // private namespace (fixtures/proc/qemu-binfmt.sh); without that, the case is left out and said so.
    const binfmt = join(process.cwd(), 'fixtures', 'proc', 'qemu-binfmt.sh');
    const loop = join(process.cwd(), 'fixtures', 'proc', 'bench', 'spawnloop');
    if (spawnSync(binfmt, [loop]).status === 0) {
      const spawnloop = new Uint8Array(readFileSync(loop));
      cases.push({
        name: '100 × fork + exec + wait of a static glibc program (in process)',
        baseline: 'qemu-riscv64 on the same file (binfmt_misc in a user namespace)',
        time: 6000,
        base: () => spawnSync(binfmt, [loop]).status,
        run: () => runOnce(spawnloop, ['spawnloop']),
      });
      cases.push({
        name: 'axptr run spawnloop (a whole process: 100 × fork + exec + wait)',
        baseline: 'qemu-riscv64 on the same file (binfmt_misc in a user namespace)',
        time: 6000,
        base: () => spawnSync(binfmt, [loop]).status,
        run: () => spawnSync('node', [cli, 'run', '--sandbox', loop]).status,
      });
    } else
      console.log(
        'qemu-riscv64 could not be registered with binfmt_misc in a user namespace: fork+exec+wait left out',
      );
  } else
    console.log(
      'qemu-riscv64 not found (Debian package qemu-user): the kernel benchmarks need it as their baseline',
    );
  return { title: 'kernel (axptr run)', cases };
}
