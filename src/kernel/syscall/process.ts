/**
 * Process, identity, time and entropy calls: exit, exit_group, the id
 * calls, set_tid_address, set_robust_list, prlimit64, uname, clock_gettime,
 * getrandom, and rt_sigaction / rt_sigprocmask (state only; delivery comes
 * with the processes issue).
 */
import { copyToUser } from '../../uptr/index.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EFAULT, EINVAL, int, size } from './util.js';

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const RLIMIT_STACK = 3;
const RLIMIT_NOFILE = 7;

function exit(ctx: SyscallContext, [status]: readonly bigint[]): number {
  ctx.proc.exitStatus = int(status) & 0xff;
  return 0;
}

function prlimit64(ctx: SyscallContext, [pid, resource, , oldLimit]: readonly bigint[]): number {
  if (int(pid) !== 0 && int(pid) !== ctx.proc.pid) return -3; // ESRCH
  const r = int(resource);
  if (r < 0 || r > 15) return EINVAL;
  if (oldLimit !== 0n) {
    const out = new Uint8Array(16);
    const v = new DataView(out.buffer);
    const [cur, max] =
      r === RLIMIT_STACK
        ? [8n << 20n, RLIM_INFINITY]
        : r === RLIMIT_NOFILE
          ? [1024n, 4096n]
          : [RLIM_INFINITY, RLIM_INFINITY];
    v.setBigUint64(0, cur, true);
    v.setBigUint64(8, max, true);
    if (copyToUser(ctx.proc.mm, oldLimit, out) > 0) return EFAULT;
  }
  return 0;
}

function uname(ctx: SyscallContext, [buf]: readonly bigint[]): number {
  const fields = ['Linux', 'axptr', '6.1.0-axptr', '#1 SMP', 'riscv64', '(none)'];
  const out = new Uint8Array(6 * 65);
  const enc = new TextEncoder();
  for (const [i, f] of fields.entries()) out.set(enc.encode(f), i * 65);
  return copyToUser(ctx.proc.mm, buf, out) > 0 ? EFAULT : 0;
}

function clockGettime(ctx: SyscallContext, [clock, tp]: readonly bigint[]): number {
  const c = int(clock);
  // CLOCK_REALTIME (0) and its coarse form (5); everything else counts from a fixed point.
  if (c < 0 || c > 11) return EINVAL;
  const ns = c === 0 || c === 5 ? ctx.kernel.host.realtimeNs() : ctx.kernel.host.monotonicNs();
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, ns / 1_000_000_000n, true);
  v.setBigInt64(8, ns % 1_000_000_000n, true);
  return copyToUser(ctx.proc.mm, tp, out) > 0 ? EFAULT : 0;
}

function getrandom(ctx: SyscallContext, [buf, len, flags]: readonly bigint[]): number {
  if ((int(flags) & ~0x7) !== 0) return EINVAL;
  const n = Math.min(size(len) < 0 ? 0x7ffff000 : size(len), 33554431);
  const out = new Uint8Array(n);
  ctx.kernel.host.random(out);
  const left = copyToUser(ctx.proc.mm, buf, out);
  return left === n && n > 0 ? EFAULT : n - left;
}

const id = (f: (ctx: SyscallContext) => number) => (ctx: SyscallContext) => f(ctx);

export const processCalls: SyscallEntry[] = [
  { nr: 93, name: 'exit', args: ['int'], handler: exit },
  { nr: 94, name: 'exit_group', args: ['int'], handler: exit },
  { nr: 96, name: 'set_tid_address', args: ['ptr'], handler: (ctx) => ctx.proc.pid },
  {
    nr: 99,
    name: 'set_robust_list',
    args: ['ptr', 'size'],
    handler: (_ctx, [, len]) => (len === 24n ? 0 : EINVAL),
  },
  { nr: 113, name: 'clock_gettime', args: ['int', 'ptr'], handler: clockGettime },
  { nr: 134, name: 'rt_sigaction', args: ['int', 'ptr', 'ptr', 'size'], handler: () => 0 },
  { nr: 135, name: 'rt_sigprocmask', args: ['int', 'ptr', 'ptr', 'size'], handler: () => 0 },
  { nr: 160, name: 'uname', args: ['ptr'], handler: uname },
  { nr: 172, name: 'getpid', args: [], handler: id((c) => c.proc.pid) },
  { nr: 173, name: 'getppid', args: [], handler: () => 1 },
  { nr: 174, name: 'getuid', args: [], handler: id((c) => c.proc.creds.uid) },
  { nr: 175, name: 'geteuid', args: [], handler: id((c) => c.proc.creds.uid) },
  { nr: 176, name: 'getgid', args: [], handler: id((c) => c.proc.creds.gid) },
  { nr: 177, name: 'getegid', args: [], handler: id((c) => c.proc.creds.gid) },
  { nr: 178, name: 'gettid', args: [], handler: id((c) => c.proc.pid) },
  { nr: 261, name: 'prlimit64', args: ['int', 'int', 'ptr', 'ptr'], handler: prlimit64 },
  { nr: 278, name: 'getrandom', args: ['ptr', 'size', 'hex'], handler: getrandom },
];
