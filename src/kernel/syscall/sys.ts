/**
 * The rest of Linux's kernel/sys.c and its neighbours: umask, prctl
 * (names and the flags programs query), getrusage, sysinfo, resource
 * limits (getrlimit, setrlimit, prlimit64 kept per process), process
 * groups and sessions, the id calls with getresuid and getgroups,
 * scheduling (sched_yield, affinity, getcpu), futex on user memory through
 * the atomic helpers, rseq registration, and the riscv calls (hwprobe,
 * flush_icache).
 */
import { Errno } from '../../errno/index.js';
import {
  atomicFetchOpU32,
  atomicLoadU32,
  copyFromUser,
  copyToUser,
  type FetchOp,
  i32,
  i64,
  readVal,
  strncpyFromUser,
  struct,
  u32,
  u64,
  writeVal,
} from '../../uptr/index.js';
import { NR_OPEN } from '../fdtable.js';
import { RLIM_NLIMITS, RLIMIT_NOFILE } from '../process.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { readTimespec } from './time.js';
import { EFAULT, EINVAL, int } from './util.js';

const ESRCH = -Errno.ESRCH;

/** The pid argument names this process (0 or its own pid). */
/** A pid argument naming a live task (0: the caller). */
const isSelf = (ctx: SyscallContext, pid: bigint) => int(pid) === 0 || ctx.kernel.tasks.has(int(pid));

function umask(ctx: SyscallContext, [mask]: readonly bigint[]): number {
  const old = ctx.proc.umask;
  ctx.proc.umask = int(mask) & 0o777;
  return old;
}

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;
const TASK_COMM_LEN = 16;

function prctl(ctx: SyscallContext, [option, arg2]: readonly bigint[]): number {
  const p = ctx.proc;
  switch (int(option)) {
    case PR_SET_NAME: {
      // At most 15 bytes are read (strncpy_from_user of sizeof(comm) - 1): the name is cut, never unterminated.
      const buf = new Uint8Array(TASK_COMM_LEN);
      const n = strncpyFromUser(p.mm, buf, arg2, TASK_COMM_LEN - 1);
      p.comm = new TextDecoder().decode(buf.subarray(0, n));
      return 0;
    }
    case PR_GET_NAME: {
      const out = new Uint8Array(TASK_COMM_LEN);
      out.set(new TextEncoder().encode(p.comm).subarray(0, TASK_COMM_LEN - 1));
      return copyToUser(p.mm, arg2, out) > 0 ? EFAULT : 0;
    }
    case PR_SET_PDEATHSIG: {
      const sig = int(arg2);
      if (sig < 0 || sig > 64) return EINVAL;
      p.pdeathsig = sig;
      return 0;
    }
    case PR_GET_PDEATHSIG:
      writeVal(p.mm, arg2, i32, p.pdeathsig);
      return 0;
    case PR_GET_DUMPABLE:
      return p.dumpable;
    case PR_SET_DUMPABLE:
      if (arg2 !== 0n && arg2 !== 1n) return EINVAL;
      p.dumpable = Number(arg2);
      return 0;
    case PR_SET_NO_NEW_PRIVS:
      if (arg2 !== 1n) return EINVAL;
      p.noNewPrivs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      return p.noNewPrivs ? 1 : 0;
    default:
      return EINVAL;
  }
}

/** struct rusage: two timevals and fourteen longs (144 bytes). */
const RUSAGE_SIZE = 144;

function getrusage(ctx: SyscallContext, [who, ru]: readonly bigint[]): number {
  const w = int(who);
  if (w !== 0 && w !== -1 && w !== 1) return EINVAL; // RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD
  const out = new Uint8Array(RUSAGE_SIZE);
  if (w !== -1) {
    const v = new DataView(out.buffer);
    const ns = ctx.kernel.cpuTimeNs(ctx.proc);
    v.setBigInt64(0, ns / 1_000_000_000n, true);
    v.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
    v.setBigInt64(32, BigInt(ctx.proc.aspace.stats().residentPages * 4), true); // ru_maxrss (KiB): resident now
    v.setBigInt64(32 + 5 * 8, BigInt(ctx.kernel.stats.userFaults.fixed), true); // ru_minflt
  }
  return copyToUser(ctx.proc.mm, ru, out) > 0 ? EFAULT : 0;
}

export const SYSINFO = struct('sysinfo', [
  ['uptime', i64],
  ['load1', u64],
  ['load5', u64],
  ['load15', u64],
  ['totalram', u64],
  ['freeram', u64],
  ['sharedram', u64],
  ['bufferram', u64],
  ['totalswap', u64],
  ['freeswap', u64],
  ['procs_pad', u64],
  ['totalhigh', u64],
  ['freehigh', u64],
  ['mem_unit', u32],
  ['pad', u32],
] as const);

function sysinfo(ctx: SyscallContext, [info]: readonly bigint[]): number {
  const frames = ctx.kernel.machine.frames;
  writeVal(ctx.proc.mm, info, SYSINFO, {
    uptime: ctx.kernel.host.monotonicNs() / 1_000_000_000n,
    load1: 0n,
    load5: 0n,
    load15: 0n,
    totalram: BigInt(frames.frameCount * 4096),
    freeram: BigInt((frames.frameCount - frames.usedFrames) * 4096),
    sharedram: 0n,
    bufferram: 0n,
    totalswap: 0n,
    freeswap: 0n,
    procs_pad: BigInt(ctx.kernel.processes.size), // procs (u16) then padding
    totalhigh: 0n,
    freehigh: 0n,
    mem_unit: 1,
    pad: 0,
  });
  return 0;
}

const RLIMIT = struct('rlimit64', [
  ['rlim_cur', u64],
  ['rlim_max', u64],
] as const);

/** prlimit64, getrlimit and setrlimit: the limits are the process's own and hold (RLIMIT_NOFILE at least). */
function prlimit64(ctx: SyscallContext, [pid, resource, newLimit, oldLimit]: readonly bigint[]): number {
  // Linux's order: the new limit is copied in (EFAULT), then the resource and the process are checked.
  let next: { rlim_cur: bigint; rlim_max: bigint } | undefined;
  if (newLimit !== 0n) next = readVal(ctx.proc.mm, newLimit, RLIMIT);
  const r = Number(BigInt.asUintN(32, resource));
  if (r >= RLIM_NLIMITS) return EINVAL;
  if (!isSelf(ctx, pid)) return ESRCH;
  const limits = ctx.proc.rlimits;
  if (next !== undefined) {
    if (next.rlim_cur > next.rlim_max) return EINVAL;
    if (r === RLIMIT_NOFILE && next.rlim_max > BigInt(NR_OPEN)) return -Errno.EPERM;
    if (next.rlim_max > limits[r][1] && ctx.proc.creds.uid !== 0) return -Errno.EPERM;
  }
  if (oldLimit !== 0n)
    writeVal(ctx.proc.mm, oldLimit, RLIMIT, { rlim_cur: limits[r][0], rlim_max: limits[r][1] });
  if (next !== undefined) limits[r] = [next.rlim_cur, next.rlim_max];
  return 0;
}

/** sched_getaffinity: one CPU; the mask is an array of longs and as long as Linux's cpumask (8 bytes here). */
function schedGetaffinity(ctx: SyscallContext, [pid, len, mask]: readonly bigint[]): number {
  const n = Number(BigInt.asUintN(32, len));
  if (n * 8 < 1 || (n & 7) !== 0) return EINVAL;
  if (!isSelf(ctx, pid)) return ESRCH;
  const out = new Uint8Array(8);
  for (let c = 0; c < Math.min(64, ctx.kernel.cpus.length); c++) out[c >> 3] |= 1 << (c & 7);
  return copyToUser(ctx.proc.mm, mask, out) > 0 ? EFAULT : 8;
}

function schedSetaffinity(ctx: SyscallContext, [pid, len, mask]: readonly bigint[]): number {
  if (!isSelf(ctx, pid)) return ESRCH;
  const n = Math.min(Number(BigInt.asUintN(32, len)), 8);
  const b = new Uint8Array(n);
  if (copyFromUser(ctx.proc.mm, b, mask) > 0) return EFAULT;
  return n > 0 && (b[0] & 1) !== 0 ? 0 : EINVAL; // the mask must hold CPU 0, the only one
}

function getcpu(ctx: SyscallContext, [cpu, node]: readonly bigint[]): number {
  if (cpu !== 0n) writeVal(ctx.proc.mm, cpu, u32, Math.max(0, ctx.task.onCpu));
  if (node !== 0n) writeVal(ctx.proc.mm, node, u32, 0);
  return 0;
}

function getresid(ctx: SyscallContext, ptrs: readonly bigint[], id: number): number {
  for (const p of ptrs.slice(0, 3)) writeVal(ctx.proc.mm, p, u32, id);
  return 0;
}

/** setuid and friends: root may become anyone; anyone may "become" who they are. */
function setid(ctx: SyscallContext, ids: readonly bigint[], which: 'uid' | 'gid'): number {
  const c = ctx.proc.creds;
  const wanted = ids.map((v) => int(v)).filter((v) => v !== -1);
  if (c.uid !== 0 && wanted.some((v) => v !== c[which])) return -Errno.EPERM;
  if (wanted.length > 0) c[which] = wanted[wanted.length - 1];
  return 0;
}

const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const FUTEX_REQUEUE = 3;
const FUTEX_CMP_REQUEUE = 4;
const FUTEX_WAKE_OP = 5;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_WAKE_BITSET = 10;
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CLOCK_REALTIME = 256;
const FUTEX_OPS: FetchOp[] = ['set', 'add', 'or', 'andn', 'xor'];
/** The top of user space (TASK_SIZE for Sv39): a futex key past it is EFAULT even for a private wake. */
const TASK_SIZE = 2n ** 38n;

/** A wake count: an int, and Linux's loop wakes one before it compares (0 or less wakes one). */
const count = (v: bigint): number => Math.max(1, int(v));

/**
 * futex: waiters by address space and address (futex.ts); a wait whose
 * word still holds `val` parks the task until a wake, its timeout or a
 * signal. Words are checked as Linux's get_futex_key does:
 * alignment first (EINVAL), then access (EFAULT; a private wake only needs
 * a user address).
 */
function futex(ctx: SyscallContext, [uaddr, opArg, val, timeout, uaddr2, val3]: readonly bigint[]): number {
  const raw = int(opArg);
  const op = raw & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const isPrivate = (raw & FUTEX_PRIVATE_FLAG) !== 0;
  if ((raw & FUTEX_CLOCK_REALTIME) !== 0 && op !== FUTEX_WAIT_BITSET && op !== FUTEX_WAIT)
    return -Errno.ENOSYS;
  const mm = ctx.proc.mm;
  const wakeKey = (addr: bigint): number => {
    if ((addr & 3n) !== 0n) return EINVAL;
    if (isPrivate) return BigInt.asUintN(64, addr) >= TASK_SIZE ? EFAULT : 0;
    // A shared key on private memory needs the page writable (get_futex_key refuses a read-only anonymous page).
    atomicFetchOpU32(mm, addr, 'add', 0);
    return 0;
  };
  switch (op) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      if (op === FUTEX_WAIT_BITSET && BigInt.asUintN(32, val3) === 0n) return EINVAL;
      let ns: bigint | undefined;
      if (timeout !== 0n) {
        const t = readTimespec(ctx, timeout);
        if (typeof t === 'number') return t;
        ns = t;
      }
      const now = atomicLoadU32(mm, uaddr);
      if (now !== Number(BigInt.asUintN(32, val))) return -Errno.EAGAIN;
      const bitset = op === FUTEX_WAIT_BITSET ? Number(BigInt.asUintN(32, val3)) | 0 : -1;
      let deadline: bigint | undefined;
      if (ns !== undefined) {
        // FUTEX_WAIT's timeout is relative; WAIT_BITSET's is absolute on the chosen clock.
        const clockNow =
          (raw & FUTEX_CLOCK_REALTIME) !== 0 ? ctx.kernel.host.realtimeNs() : ctx.kernel.host.monotonicNs();
        const wait = op === FUTEX_WAIT ? ns : ns > clockNow ? ns - clockNow : 0n;
        if (wait === 0n) return -Errno.ETIMEDOUT;
        deadline = ctx.kernel.host.monotonicNs() + wait;
      }
      return ctx.kernel.futexes.wait(
        ctx.kernel,
        ctx.task,
        ctx.proc.mmStruct,
        Number(uaddr),
        bitset,
        deadline,
      );
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      if (op === FUTEX_WAKE_BITSET && BigInt.asUintN(32, val3) === 0n) return EINVAL;
      const k = wakeKey(uaddr);
      if (k !== 0) return k;
      const bitset = op === FUTEX_WAKE_BITSET ? Number(BigInt.asUintN(32, val3)) | 0 : -1;
      return ctx.kernel.futexes.wake(ctx.proc.mmStruct, Number(uaddr), count(val), bitset);
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      const k = wakeKey(uaddr);
      if (k !== 0) return k;
      const k2 = wakeKey(uaddr2);
      if (k2 !== 0) return k2;
      // val2 (the number to requeue) travels in the timeout argument; negative is EINVAL.
      if (int(timeout) < 0 || int(val) < 0) return EINVAL;
      if (op === FUTEX_CMP_REQUEUE && atomicLoadU32(mm, uaddr) !== Number(BigInt.asUintN(32, val3)))
        return -Errno.EAGAIN;
      return ctx.kernel.futexes.requeue(
        ctx.proc.mmStruct,
        Number(uaddr),
        int(val),
        Number(uaddr2),
        int(timeout),
      );
    }
    case FUTEX_WAKE_OP: {
      const k = wakeKey(uaddr);
      if (k !== 0) return k;
      const encoded = Number(BigInt.asUintN(32, val3));
      const fop = (encoded >>> 28) & 7;
      const shift = (encoded >>> 28) & 8;
      let oparg = (encoded << 8) >> 20;
      if (shift !== 0) oparg = 1 << (oparg & 31);
      if (fop > 4) return -Errno.ENOSYS;
      const cmp = (encoded >>> 24) & 15;
      const cmparg = (encoded << 20) >> 20;
      const old = atomicFetchOpU32(mm, uaddr2, FUTEX_OPS[fop], oparg) | 0;
      let woke = ctx.kernel.futexes.wake(ctx.proc.mmStruct, Number(uaddr), count(val), -1);
      const hit = [old === cmparg, old !== cmparg, old < cmparg, old <= cmparg, old > cmparg, old >= cmparg][
        cmp
      ];
      if (hit === undefined) return -Errno.ENOSYS;
      if (hit) woke += ctx.kernel.futexes.wake(ctx.proc.mmStruct, Number(uaddr2), count(timeout), -1);
      return woke;
    }
    default:
      return -Errno.ENOSYS;
  }
}

const RSEQ_SIG_SIZE = 32;
const RSEQ_FLAG_UNREGISTER = 1;

/** rseq: registration is kept and the area's cpu ids are written (one CPU: they never change). */
function rseq(ctx: SyscallContext, [addr, len, flags, sig]: readonly bigint[]): number {
  const p = ctx.task;
  const fl = int(flags);
  const n = Number(BigInt.asUintN(32, len));
  if ((fl & RSEQ_FLAG_UNREGISTER) !== 0) {
    if ((fl & ~RSEQ_FLAG_UNREGISTER) !== 0) return EINVAL;
    if (p.rseq === undefined || p.rseq.addr !== addr) return EINVAL;
    if (p.rseq.len !== n) return EINVAL;
    if (p.rseq.sig !== Number(BigInt.asUintN(32, sig))) return -Errno.EPERM;
    p.rseq = undefined;
    return 0;
  }
  if (fl !== 0) return EINVAL;
  if (p.rseq !== undefined) {
    if (p.rseq.addr !== addr || p.rseq.len !== n) return EINVAL;
    return p.rseq.sig === Number(BigInt.asUintN(32, sig)) ? -Errno.EBUSY : -Errno.EPERM;
  }
  if ((addr & 31n) !== 0n || n < RSEQ_SIG_SIZE) return EINVAL;
  // cpu_id_start (u32) and cpu_id (u32) at the start of struct rseq.
  if (copyToUser(ctx.proc.mm, addr, new Uint8Array(8)) > 0) return EFAULT;
  p.rseq = { addr, len: n, sig: Number(BigInt.asUintN(32, sig)) };
  return 0;
}

const HWPROBE_PAIR = struct('riscv_hwprobe', [
  ['key', i64],
  ['value', u64],
] as const);
/** RISCV_HWPROBE_IMA_FD | IMA_C | EXT_ZBA | EXT_ZBB | EXT_ZBS. */
const IMA_EXT_0 = (1n << 0n) | (1n << 1n) | (1n << 3n) | (1n << 4n) | (1n << 5n);

/** riscv_hwprobe: what this hart is (RV64GC with Zba, Zbb, Zbs; misaligned accesses done in hardware). */
function riscvHwprobe(
  ctx: SyscallContext,
  [pairs, count, cpusetsize, cpus, flags]: readonly bigint[],
): number {
  if (flags !== 0n) return EINVAL;
  if (cpusetsize === 0n ? cpus !== 0n : cpus === 0n) return EINVAL;
  const n = Number(BigInt.asUintN(64, count) > 1_000_000n ? 1_000_000n : count);
  for (let i = 0; i < n; i++) {
    const at = pairs + BigInt(i * 16);
    const pair = readVal(ctx.proc.mm, at, HWPROBE_PAIR);
    const value = hwprobeValue(pair.key);
    writeVal(
      ctx.proc.mm,
      at,
      HWPROBE_PAIR,
      value === undefined ? { key: -1n, value: 0n } : { key: pair.key, value },
    );
  }
  return 0;
}

function hwprobeValue(key: bigint): bigint | undefined {
  switch (key) {
    case 0n: // MVENDORID
    case 1n: // MARCHID
    case 2n: // MIMPID
      return 0n;
    case 3n: // BASE_BEHAVIOR: IMA
      return 1n;
    case 4n: // IMA_EXT_0
      return IMA_EXT_0;
    case 5n: // CPUPERF_0: misaligned accesses are fast
      return 3n;
    case 6n: // ZICBOZ_BLOCK_SIZE: no Zicboz
      return 0n;
    default:
      return undefined;
  }
}

function riscvFlushIcache(ctx: SyscallContext, [, , flags]: readonly bigint[]): number {
  if ((BigInt.asUintN(64, flags) & ~1n) !== 0n) return EINVAL;
  for (const cpu of ctx.kernel.cpus) cpu.hart.flushDecoded();
  return 0;
}

export const sysCalls: SyscallEntry[] = [
  { nr: 98, name: 'futex', args: ['ptr', 'int', 'int', 'ptr', 'ptr', 'int'], handler: futex },
  {
    nr: 100,
    name: 'get_robust_list',
    args: ['int', 'ptr', 'ptr'],
    handler: (ctx, [pid, head, len]) => {
      if (!isSelf(ctx, pid)) return ESRCH;
      writeVal(ctx.proc.mm, head, u64, ctx.task.robustList);
      writeVal(ctx.proc.mm, len, u64, 24n);
      return 0;
    },
  },
  { nr: 122, name: 'sched_setaffinity', args: ['int', 'size', 'ptr'], handler: schedSetaffinity },
  { nr: 123, name: 'sched_getaffinity', args: ['int', 'size', 'ptr'], handler: schedGetaffinity },
  {
    nr: 124,
    name: 'sched_yield',
    args: [],
    handler: (ctx) => {
      ctx.kernel.yieldCpu(ctx.task);
      return 0;
    },
  },
  { nr: 144, name: 'setgid', args: ['int'], handler: (ctx, a) => setid(ctx, a.slice(0, 1), 'gid') },
  { nr: 146, name: 'setuid', args: ['int'], handler: (ctx, a) => setid(ctx, a.slice(0, 1), 'uid') },
  {
    nr: 147,
    name: 'setresuid',
    args: ['int', 'int', 'int'],
    handler: (ctx, a) => setid(ctx, a.slice(0, 3), 'uid'),
  },
  {
    nr: 148,
    name: 'getresuid',
    args: ['ptr', 'ptr', 'ptr'],
    handler: (ctx, a) => getresid(ctx, a, ctx.proc.creds.uid),
  },
  {
    nr: 149,
    name: 'setresgid',
    args: ['int', 'int', 'int'],
    handler: (ctx, a) => setid(ctx, a.slice(0, 3), 'gid'),
  },
  {
    nr: 150,
    name: 'getresgid',
    args: ['ptr', 'ptr', 'ptr'],
    handler: (ctx, a) => getresid(ctx, a, ctx.proc.creds.gid),
  },
  {
    nr: 158,
    name: 'getgroups',
    args: ['int', 'ptr'],
    handler: (_ctx, [n]) => (int(n) < 0 ? EINVAL : 0), // no supplementary groups
  },
  {
    nr: 159,
    name: 'setgroups',
    args: ['int', 'ptr'],
    handler: (ctx, [n]) =>
      ctx.proc.creds.uid !== 0 ? -Errno.EPERM : int(n) < 0 || int(n) > 65536 ? EINVAL : 0,
  },
  {
    nr: 163,
    name: 'getrlimit',
    args: ['rlimres', 'outrlimit'],
    handler: (ctx, [resource, old]) => prlimit64(ctx, [0n, resource, 0n, old]),
  },
  {
    nr: 164,
    name: 'setrlimit',
    args: ['rlimres', 'rlimit'],
    handler: (ctx, [resource, next]) => prlimit64(ctx, [0n, resource, next, 0n]),
  },
  { nr: 165, name: 'getrusage', args: ['int', 'ptr'], handler: getrusage },
  { nr: 166, name: 'umask', args: ['oct'], handler: umask },
  { nr: 167, name: 'prctl', args: ['int', 'hex', 'hex', 'hex', 'hex'], handler: prctl },
  { nr: 168, name: 'getcpu', args: ['ptr', 'ptr', 'ptr'], handler: getcpu },
  { nr: 179, name: 'sysinfo', args: ['ptr'], handler: sysinfo },
  { nr: 258, name: 'riscv_hwprobe', args: ['ptr', 'size', 'size', 'ptr', 'hex'], handler: riscvHwprobe },
  { nr: 259, name: 'riscv_flush_icache', args: ['ptr', 'ptr', 'hex'], handler: riscvFlushIcache },
  { nr: 261, name: 'prlimit64', args: ['int', 'rlimres', 'rlimit', 'outrlimit'], handler: prlimit64 },
  { nr: 293, name: 'rseq', args: ['ptr', 'size', 'hex', 'hex'], handler: rseq },
];
