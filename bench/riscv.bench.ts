/**
 * The RISC-V hart at work: million instructions per second on our own
 * CPU-bound fixture (exact instret), its time against qemu-riscv64 running
 * the same file in the same run, and the cost of a TLB-hit load inside the
 * hart against a raw typed-array read. Figures are per guest instruction
 * (per load for the last), so the ratio to the baseline is the slowdown.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilePages, loadElf } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { Machine, MappingFlags, PTE_FORMATS } from 'axptr/paging';
import { BUDGET_SPENT, Cause, Hart, type HartOptions } from 'axptr/riscv';
import type { BenchCase, BenchGroup } from './harness.js';

const FIXTURES = join(process.cwd(), 'fixtures', 'riscv', 'bin');

/** Runs a freestanding fixture to its exit (write is swallowed); answers the instructions retired. */
function runGuest(file: Uint8Array, argv: string[], options: HartOptions = {}): number {
  const machine = new Machine({ memSize: 64 << 20 });
  const aspace = new AddrSpace({
    base: 0x1000,
    size: 2 ** 38 - 0x1000,
    format: PTE_FORMATS['riscv64-sv39'],
    machine,
  });
  const pages = new FilePages(machine.frames, machine.mem, file);
  const prog = loadElf(aspace, file, pages, { argv, envp: [], random: new Uint8Array(16) });
  aspace.activate(machine.mmu);
  const hart = new Hart(machine.mmu, options);
  hart.pc = prog.entry;
  hart.setReg(2, prog.sp);
  for (;;) {
    const r = hart.run(50_000_000);
    if (r === BUDGET_SPENT) continue;
    if (r === Cause.UserEcall) {
      if (hart.getReg(17) === 93n) break;
      hart.setReg(10, hart.getReg(12)); // write: all of it
      hart.completeEcall();
      continue;
    }
    const access =
      r === Cause.LoadPageFault
        ? 1
        : r === Cause.StorePageFault
          ? 2
          : r === Cause.InstructionPageFault
            ? 4
            : 0;
    if (access !== 0 && aspace.handlePageFault(Number(hart.tval), access | MappingFlags.USER)) continue;
    throw new Error(`guest stopped: cause ${r} at 0x${hart.pc.toString(16)}`);
  }
  const n = hart.instret;
  aspace.destroy();
  pages.release();
  return n;
}

function qemuAvailable(): boolean {
  return spawnSync('qemu-riscv64', ['--version']).status === 0;
}

const INTERPRETER: HartOptions = { compile: false };

export function riscv(): BenchGroup {
  const intwork = new Uint8Array(readFileSync(join(FIXTURES, 'intwork')));
  const fpdiff = new Uint8Array(readFileSync(join(FIXTURES, 'fpdiff')));
  const loadloop = new Uint8Array(readFileSync(join(FIXTURES, 'loadloop')));
  const argv = ['intwork', '3'];
  const instructions = runGuest(intwork, argv);
  const fpInstructions = runGuest(fpdiff, ['fpdiff']);
  const loads = 2_000_000 * 8;
  const loopInstructions = runGuest(loadloop, ['loadloop']);
  const raw = new Uint32Array(16);
  const rawLoads = () => {
    let s = 0;
    for (let i = 0; i < loads; i++) s += raw[i & 15];
    return s;
  };
  const cases: BenchCase[] = [];
  const qemu = qemuAvailable();
  if (!qemu)
    console.log('qemu-riscv64 not found (Debian package qemu-user): the qemu ratios are not measured');
  for (const [tier, options] of [
    ['compiled', {}],
    ['interpreter', INTERPRETER],
  ] as const) {
    if (qemu) {
      cases.push({
        name: `intwork, integer (${instructions} instructions), ${tier}: per instruction`,
        baseline: 'qemu-riscv64 on the same file (its JIT)',
        batch: instructions,
        time: 4000,
        base: () => spawnSync('qemu-riscv64', [join(FIXTURES, 'intwork'), '3']).status,
        run: () => runGuest(intwork, argv, options),
      });
      cases.push({
        name: `fpdiff, floating point and calls (${fpInstructions} instructions), ${tier}: per instruction`,
        baseline: 'qemu-riscv64 on the same file (its JIT)',
        batch: fpInstructions,
        time: 4000,
        base: () => spawnSync('qemu-riscv64', [join(FIXTURES, 'fpdiff')]).status,
        run: () => runGuest(fpdiff, ['fpdiff'], options),
      });
    }
    cases.push({
      name: `loadloop (${loopInstructions} instructions, ${loads} TLB-hit loads), ${tier}: per load`,
      baseline: 'raw Uint32Array element read',
      batch: loads,
      time: 3000,
      base: rawLoads,
      run: () => runGuest(loadloop, ['loadloop'], options),
    });
  }
  return { title: 'riscv (hart, Sv39: guest instructions per ns give MIPS = 1000 / ns)', cases };
}
