/**
 * A minimal trap loop for the CPU's tests (not the kernel: that is issue
 * 10's). It loads a static RISC-V ELF into a fresh machine, runs the hart,
 * and answers what freestanding fixtures need: `write` (64) to fd 1 / 2,
 * `exit` (93) and `exit_group` (94); user page faults go to the space's
 * `handlePageFault`; anything else ends the run with what happened.
 */
import { copyFromUser } from 'axptr';
import { FilePages, loadElf } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { Machine, MappingFlags, PTE_FORMATS } from 'axptr/paging';
import { BUDGET_SPENT, Cause, Hart, type HartOptions } from 'axptr/riscv';

export interface RunOutcome {
  /** The exit status, when the program exited. */
  exit?: number;
  /** Otherwise why it stopped: a cause name, 'budget', or an unknown system call. */
  stopped?: string;
  stdout: string;
  /** What went to fd 1, as bytes. */
  stdoutBytes: Uint8Array;
  stderr: string;
  instret: number;
  pc: number;
}

const CAUSE_NAMES = Object.fromEntries(Object.entries(Cause).map(([k, v]) => [v, k]));

/** The two tiers the tests run: the interpreter alone, and the compiled tier compiling at once. */
export const TIERS: readonly [string, HartOptions][] = [
  ['interpreter', { compile: false }],
  ['compiled', { compile: true, hotness: 1 }],
];

export function runElf(
  file: Uint8Array,
  options: { argv?: string[]; maxInstructions?: number; hart?: HartOptions } = {},
): RunOutcome {
  const machine = new Machine({ memSize: 64 << 20 });
  const aspace = new AddrSpace({
    base: 0x1000,
    size: 2 ** 38 - 0x1000,
    format: PTE_FORMATS['riscv64-sv39'],
    machine,
  });
  const pages = new FilePages(machine.frames, machine.mem, file);
  const prog = loadElf(aspace, file, pages, {
    argv: options.argv ?? ['prog'],
    envp: [],
    random: new Uint8Array(16).fill(7),
  });
  aspace.activate(machine.mmu);
  const hart = new Hart(machine.mmu, options.hart);
  hart.pc = prog.entry;
  hart.setReg(2, prog.sp);
  const out: RunOutcome = { stdout: '', stdoutBytes: new Uint8Array(0), stderr: '', instret: 0, pc: 0 };
  const chunks: Uint8Array[] = [];
  const decoder = new TextDecoder();
  const max = options.maxInstructions ?? 50_000_000;
  try {
    while (hart.instret < max) {
      const r = hart.run(Math.min(1_000_000, max - hart.instret));
      if (r === BUDGET_SPENT) continue;
      if (r === Cause.UserEcall) {
        const nr = Number(hart.getReg(17));
        const a0 = hart.getReg(10);
        if (nr === 93 || nr === 94) {
          out.exit = Number(BigInt.asUintN(8, a0));
          break;
        }
        if (nr === 64) {
          const len = Number(hart.getReg(12));
          const buf = new Uint8Array(Math.min(len, 1 << 20));
          const left = copyFromUser(aspace, buf, hart.getReg(11));
          const bytes = buf.subarray(0, buf.length - left);
          if (a0 === 1n) chunks.push(bytes.slice());
          else out.stderr += decoder.decode(bytes);
          hart.setReg(10, buf.length - left);
          hart.completeEcall();
          continue;
        }
        out.stopped = `syscall ${nr}`;
        break;
      }
      if (r === Cause.LoadPageFault || r === Cause.StorePageFault || r === Cause.InstructionPageFault) {
        const access =
          r === Cause.LoadPageFault
            ? MappingFlags.READ
            : r === Cause.StorePageFault
              ? MappingFlags.WRITE
              : MappingFlags.EXECUTE;
        const addr = hart.tval;
        if (addr < 2n ** 53n && aspace.handlePageFault(Number(addr), access | MappingFlags.USER)) continue;
      }
      out.stopped = `${CAUSE_NAMES[r] ?? r} at pc 0x${hart.pc.toString(16)} tval 0x${hart.tval.toString(16)}`;
      break;
    }
    if (out.exit === undefined && out.stopped === undefined) out.stopped = 'budget';
  } finally {
    let n = 0;
    for (const c of chunks) n += c.length;
    out.stdoutBytes = new Uint8Array(n);
    n = 0;
    for (const c of chunks) {
      out.stdoutBytes.set(c, n);
      n += c.length;
    }
    out.stdout = decoder.decode(out.stdoutBytes);
    out.instret = hart.instret;
    out.pc = hart.pc;
    aspace.destroy();
    pages.release();
  }
  return out;
}
