/**
 * The system-call table, declared once (riscv64 numbers from the asm-generic
 * unistd.h): each entry has its name, its arguments' kinds (what `--strace`
 * prints) and its handler. Handlers take the raw 64-bit register values and
 * answer the value for a0: a result, or -errno. Every pointer reaches user
 * memory only through the user-pointer layer.
 */
import type { Kernel } from '../kernel.js';
import type { Process } from '../process.js';
import { fdCalls } from './fd.js';
import { fsCalls } from './fs.js';
import { memoryCalls } from './memory.js';
import { processCalls } from './process.js';
import { rwCalls } from './rw.js';
import { sysCalls } from './sys.js';
import { timeCalls } from './time.js';

/** How `--strace` shows an argument. */
export type ArgKind =
  | 'int'
  | 'hex'
  | 'oct'
  | 'ptr'
  | 'str'
  | 'buf'
  | 'iovec'
  | 'fd'
  | 'size'
  | 'prot'
  | 'mapflags'
  | 'atflags'
  | 'openflags'
  | 'whence'
  | 'fcntlcmd';

export interface SyscallContext {
  kernel: Kernel;
  proc: Process;
}

export type Handler = (ctx: SyscallContext, a: readonly bigint[]) => bigint | number;

export interface SyscallEntry {
  nr: number;
  name: string;
  args: readonly ArgKind[];
  handler: Handler;
}

export const SYSCALLS: readonly SyscallEntry[] = [
  ...fsCalls,
  ...rwCalls,
  ...fdCalls,
  ...memoryCalls,
  ...processCalls,
  ...timeCalls,
  ...sysCalls,
].sort((x, y) => x.nr - y.nr);

/** The entries by number. */
export const SYSCALL_BY_NR: ReadonlyMap<number, SyscallEntry> = new Map(SYSCALLS.map((e) => [e.nr, e]));
if (SYSCALL_BY_NR.size !== SYSCALLS.length) {
  const seen = new Set<number>();
  const twice = SYSCALLS.filter((e) => seen.has(e.nr) || !seen.add(e.nr)).map((e) => `${e.nr} ${e.name}`);
  throw new Error(`the system-call table declares a number twice: ${twice.join(', ')}`);
}
