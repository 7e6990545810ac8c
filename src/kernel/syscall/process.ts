/**
 * Process, identity, time and entropy calls: exit, exit_group, the id
 * calls, set_tid_address, set_robust_list, prlimit64, uname, clock_gettime,
 * getrandom, and rt_sigaction / rt_sigprocmask (state only; delivery comes
 * with the processes issue).
 */
import { copyFromUser, copyToUser, IovIter, importUbuf } from '../../uptr/index.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EFAULT, EINVAL, int, size } from './util.js';

function exit(ctx: SyscallContext, [status]: readonly bigint[]): number {
  ctx.proc.exitStatus = int(status) & 0xff;
  return 0;
}

function uname(ctx: SyscallContext, [buf]: readonly bigint[]): number {
  const fields = ['Linux', 'axptr', '6.1.0-axptr', '#1 SMP', 'riscv64', '(none)'];
  const out = new Uint8Array(6 * 65);
  const enc = new TextEncoder();
  for (const [i, f] of fields.entries()) out.set(enc.encode(f), i * 65);
  return copyToUser(ctx.proc.mm, buf, out) > 0 ? EFAULT : 0;
}

function getrandom(ctx: SyscallContext, [buf, len, flags]: readonly bigint[]): number {
  // GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE; RANDOM and INSECURE together are EINVAL.
  if ((int(flags) & ~0x7) !== 0 || (int(flags) & 0x6) === 0x6) return EINVAL;
  // Linux clamps to INT_MAX, then import_ubuf's access_ok (a kernel address is EFAULT even for 0 bytes).
  const n = Math.min(size(len) < 0 ? 0x7fffffff : size(len), 0x7fffffff);
  const iter = new IovIter(ctx.proc.mm, importUbuf(ctx.proc.mm, buf, n));
  const chunk = new Uint8Array(Math.min(iter.count, 1 << 16));
  let done = 0;
  while (iter.count > 0 && done < 1 << 25) {
    const part = chunk.subarray(0, Math.min(chunk.length, iter.count));
    ctx.kernel.host.random(part);
    const moved = iter.copyOut(part);
    done += moved;
    if (moved < part.length) break;
  }
  return done === 0 && iter.faulted ? EFAULT : done;
}

const id = (f: (ctx: SyscallContext) => number) => (ctx: SyscallContext) => f(ctx);

const SIGKILL = 9;
const SIGSTOP = 19;
/** riscv64's kernel struct sigaction: handler, flags, mask (no restorer). */
const SIGACTION_SIZE = 24;

/** rt_sigaction: the action kept per signal (delivery comes with the processes issue). */
function rtSigaction(ctx: SyscallContext, [signum, act, oldact, sigsetsize]: readonly bigint[]): number {
  const sig = int(signum);
  // Linux's order: the set size, then the new action is copied in (EFAULT), then the signal is checked.
  if (sigsetsize !== 8n) return EINVAL;
  let next: Uint8Array | undefined;
  if (act !== 0n) {
    next = new Uint8Array(SIGACTION_SIZE);
    if (copyFromUser(ctx.proc.mm, next, act) > 0) return EFAULT;
  }
  if (sig < 1 || sig > 64) return EINVAL;
  if (act !== 0n && (sig === SIGKILL || sig === SIGSTOP)) return EINVAL;
  const old = ctx.proc.sigactions.get(sig) ?? new Uint8Array(SIGACTION_SIZE);
  if (oldact !== 0n && copyToUser(ctx.proc.mm, oldact, old) > 0) return EFAULT;
  if (next !== undefined) ctx.proc.sigactions.set(sig, next);
  return 0;
}

/** rt_sigprocmask: SIG_BLOCK (0), SIG_UNBLOCK (1), SIG_SETMASK (2); SIGKILL and SIGSTOP stay unblocked. */
function rtSigprocmask(ctx: SyscallContext, [how, set, oldset, sigsetsize]: readonly bigint[]): number {
  if (sigsetsize !== 8n) return EINVAL;
  const old = ctx.proc.sigmask;
  let mask = old;
  if (set !== 0n) {
    const b = new Uint8Array(8);
    if (copyFromUser(ctx.proc.mm, b, set) > 0) return EFAULT;
    const s = new DataView(b.buffer).getBigUint64(0, true);
    const h = int(how);
    if (h === 0) mask = old | s;
    else if (h === 1) mask = old & ~s;
    else if (h === 2) mask = s;
    else return EINVAL;
    mask &= ~((1n << BigInt(SIGKILL - 1)) | (1n << BigInt(SIGSTOP - 1)));
  }
  // The new mask holds even when the old one cannot be written back (Linux sets it first).
  ctx.proc.sigmask = mask;
  if (oldset !== 0n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, old, true);
    if (copyToUser(ctx.proc.mm, oldset, b) > 0) return EFAULT;
  }
  return 0;
}

export const processCalls: SyscallEntry[] = [
  { nr: 93, name: 'exit', args: ['int'], handler: exit },
  { nr: 94, name: 'exit_group', args: ['int'], handler: exit },
  { nr: 96, name: 'set_tid_address', args: ['ptr'], handler: (ctx) => ctx.proc.pid },
  {
    nr: 99,
    name: 'set_robust_list',
    args: ['ptr', 'size'],
    handler: (ctx, [head, len]) => {
      if (len !== 24n) return EINVAL; // sizeof(struct robust_list_head)
      ctx.proc.robustList = BigInt.asUintN(64, head);
      return 0;
    },
  },
  { nr: 134, name: 'rt_sigaction', args: ['signum', 'ptr', 'ptr', 'size'], handler: rtSigaction },
  { nr: 135, name: 'rt_sigprocmask', args: ['int', 'ptr', 'ptr', 'size'], handler: rtSigprocmask },
  { nr: 160, name: 'uname', args: ['utsname'], handler: uname },
  { nr: 172, name: 'getpid', args: [], handler: id((c) => c.proc.pid) },
  { nr: 173, name: 'getppid', args: [], handler: () => 1 },
  { nr: 174, name: 'getuid', args: [], handler: id((c) => c.proc.creds.uid) },
  { nr: 175, name: 'geteuid', args: [], handler: id((c) => c.proc.creds.uid) },
  { nr: 176, name: 'getgid', args: [], handler: id((c) => c.proc.creds.gid) },
  { nr: 177, name: 'getegid', args: [], handler: id((c) => c.proc.creds.gid) },
  { nr: 178, name: 'gettid', args: [], handler: id((c) => c.proc.pid) },
  { nr: 278, name: 'getrandom', args: ['outbuf', 'size', 'hex'], handler: getrandom },
];
