/**
 * Time (Linux's kernel/time): clock_gettime, clock_getres, clock_nanosleep,
 * nanosleep, gettimeofday, times. Every clock reads the host's through the
 * host interface; a sleep is the host's (a deterministic host only moves its
 * clock). CPU-time clocks count the process's time from the monotonic clock
 * (one task that never waits but in sleeps).
 */
import { Errno } from '../../errno/index.js';
import { i64, readVal, struct, writeVal } from '../../uptr/index.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EINVAL, int } from './util.js';

export const TIMESPEC = struct('timespec', [
  ['tv_sec', i64],
  ['tv_nsec', i64],
] as const);

const NS = 1_000_000_000n;

const CLOCK_REALTIME = 0;
const CLOCK_THREAD_CPUTIME_ID = 3;
const CLOCK_MONOTONIC_RAW = 4;
const CLOCK_REALTIME_COARSE = 5;
const CLOCK_MONOTONIC_COARSE = 6;
const CLOCK_REALTIME_ALARM = 8;
const CLOCK_TAI = 11;
/** Linux's coarse clocks tick at HZ (250 on Debian's kernels): 4 ms. */
const COARSE_RES = 4_000_000n;

/** The clock's reading in ns, or undefined for an id Linux refuses (negative CPU-clock ids are not served). */
function clockNs(ctx: SyscallContext, clock: number): bigint | undefined {
  if (clock < 0 || clock > CLOCK_TAI || clock === 10) return undefined; // 10: CLOCK_SGI_CYCLE, long gone
  const host = ctx.kernel.host;
  if (clock === CLOCK_REALTIME || clock === CLOCK_REALTIME_COARSE || clock === CLOCK_REALTIME_ALARM)
    return host.realtimeNs();
  if (clock === CLOCK_TAI) return host.realtimeNs() + 37n * NS;
  return host.monotonicNs();
}

function toTimespec(ns: bigint) {
  return { tv_sec: ns / NS, tv_nsec: ns % NS };
}

/** A timespec argument in ns; EINVAL (as a number) for a negative or unnormalised one. */
export function readTimespec(ctx: SyscallContext, addr: bigint): bigint | number {
  const t = readVal(ctx.proc.mm, addr, TIMESPEC);
  if (t.tv_sec < 0n || t.tv_nsec < 0n || t.tv_nsec >= NS) return EINVAL;
  return t.tv_sec * NS + t.tv_nsec;
}

function clockGettime(ctx: SyscallContext, [clock, tp]: readonly bigint[]): number {
  const ns = clockNs(ctx, int(clock));
  if (ns === undefined) return EINVAL;
  writeVal(ctx.proc.mm, tp, TIMESPEC, toTimespec(ns));
  return 0;
}

function clockGetres(ctx: SyscallContext, [clock, res]: readonly bigint[]): number {
  const c = int(clock);
  if (clockNs(ctx, c) === undefined) return EINVAL;
  if (res === 0n) return 0;
  const coarse = c === CLOCK_REALTIME_COARSE || c === CLOCK_MONOTONIC_COARSE;
  writeVal(ctx.proc.mm, res, TIMESPEC, toTimespec(coarse ? COARSE_RES : 1n));
  return 0;
}

const TIMER_ABSTIME = 1;

function clockNanosleep(ctx: SyscallContext, [clock, flags, req, rem]: readonly bigint[]): number {
  const c = int(clock);
  // Linux sleeps on REALTIME, MONOTONIC, BOOTTIME, TAI and the process CPU clock; the coarse and raw
  // clocks and the thread CPU clock have no sleep (EOPNOTSUPP).
  if (clockNs(ctx, c) === undefined) return EINVAL;
  if (
    c === CLOCK_THREAD_CPUTIME_ID ||
    c === CLOCK_MONOTONIC_RAW ||
    c === CLOCK_REALTIME_COARSE ||
    c === CLOCK_MONOTONIC_COARSE
  )
    return -Errno.EOPNOTSUPP;
  const want = readTimespec(ctx, req);
  if (typeof want === 'number') return want;
  let wait = want;
  const absolute = (int(flags) & TIMER_ABSTIME) !== 0;
  if (absolute) {
    const now = clockNs(ctx, c) ?? 0n;
    wait = want > now ? want - now : 0n;
  }
  return sleepFor(ctx, wait, absolute ? 0n : rem);
}

/**
 * Parks the task for `ns` (a sleep): 0 when the time is up; a signal ends
 * it early with EINTR and the time left written to `rem` (unless NULL).
 */
function sleepFor(ctx: SyscallContext, ns: bigint, rem: bigint): number {
  if (ns <= 0n) return 0;
  const deadline = ctx.kernel.host.monotonicNs() + ns;
  return ctx.kernel.sleep(ctx.task, {
    queues: [],
    deadlineNs: deadline,
    what: 'sleep',
    timedOut: () => 0,
    interrupted: () => {
      if (rem !== 0n) {
        const left = deadline - ctx.kernel.host.monotonicNs();
        writeVal(ctx.proc.mm, rem, TIMESPEC, toTimespec(left > 0n ? left : 0n));
      }
      return -Errno.EINTR;
    },
  });
}

function nanosleep(ctx: SyscallContext, [req, rem]: readonly bigint[]): number {
  const want = readTimespec(ctx, req);
  if (typeof want === 'number') return want;
  return sleepFor(ctx, want, rem);
}

const TIMEVAL = struct('timeval', [
  ['tv_sec', i64],
  ['tv_usec', i64],
] as const);
const TIMEZONE = struct('timezone', [['tz', i64]] as const);

function gettimeofday(ctx: SyscallContext, [tv, tz]: readonly bigint[]): number {
  if (tv !== 0n) {
    const ns = ctx.kernel.host.realtimeNs();
    writeVal(ctx.proc.mm, tv, TIMEVAL, { tv_sec: ns / NS, tv_usec: (ns % NS) / 1000n });
  }
  if (tz !== 0n) writeVal(ctx.proc.mm, tz, TIMEZONE, { tz: 0n });
  return 0;
}

/** USER_HZ: what times() and /proc count clock ticks in. */
export const USER_HZ = 100n;

const TMS = struct('tms', [
  ['tms_utime', i64],
  ['tms_stime', i64],
  ['tms_cutime', i64],
  ['tms_cstime', i64],
] as const);

function times(ctx: SyscallContext, [buf]: readonly bigint[]): bigint {
  const ticks = ctx.kernel.host.monotonicNs() / (NS / USER_HZ);
  if (buf !== 0n) {
    const used = ctx.kernel.cpuTimeNs(ctx.proc) / (NS / USER_HZ);
    writeVal(ctx.proc.mm, buf, TMS, { tms_utime: used, tms_stime: 0n, tms_cutime: 0n, tms_cstime: 0n });
  }
  // Ticks since boot; Linux starts them at -5 minutes so that programs meet a wrap early, we start at 0.
  return ticks;
}

export const timeCalls: SyscallEntry[] = [
  { nr: 101, name: 'nanosleep', args: ['timespec', 'ptr'], handler: nanosleep },
  { nr: 113, name: 'clock_gettime', args: ['clockid', 'outtimespec'], handler: clockGettime },
  { nr: 114, name: 'clock_getres', args: ['clockid', 'outtimespec'], handler: clockGetres },
  { nr: 115, name: 'clock_nanosleep', args: ['clockid', 'int', 'timespec', 'ptr'], handler: clockNanosleep },
  { nr: 153, name: 'times', args: ['ptr'], handler: times },
  { nr: 169, name: 'gettimeofday', args: ['ptr', 'ptr'], handler: gettimeofday },
];
