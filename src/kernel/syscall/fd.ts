/**
 * Descriptor calls (Linux's fs/file.c, fcntl.c, pipe.c, ioctl.c, select.c):
 * close, close_range, dup, dup3, fcntl, pipe2, ioctl (terminal queries,
 * FIONREAD, FIONBIO, FIOCLEX), ppoll and pselect6.
 */
import { Errno } from '../../errno/index.js';
import { copyFromUser, copyToUser, i64, readVal, struct, writeVal } from '../../uptr/index.js';
import { ConsoleFile } from '../fs/devices.js';
import {
  O_APPEND,
  O_CLOEXEC,
  O_DIRECT,
  O_NOATIME,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  type OpenFile,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
} from '../fs/file.js';
import { Pipe, PipeDuplex, PipeInode, PipeReader, PipeWriter } from '../fs/pipe.js';
import type { Wait } from '../task.js';
import { fileOf } from './fsutil.js';
import type { SyscallContext, SyscallEntry } from './table.js';
import { EFAULT, EINVAL, int } from './util.js';

function close(ctx: SyscallContext, [fd]: readonly bigint[]): number {
  return ctx.proc.fds.close(int(fd)) ? 0 : -Errno.EBADF;
}

const CLOSE_RANGE_UNSHARE = 2;
const CLOSE_RANGE_CLOEXEC = 4;

function closeRange(ctx: SyscallContext, [first, last, flags]: readonly bigint[]): number {
  const fl = Number(BigInt.asUintN(32, flags));
  if ((fl & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) !== 0) return EINVAL;
  const lo = Number(BigInt.asUintN(32, first));
  const hi = Number(BigInt.asUintN(32, last));
  if (lo > hi) return EINVAL;
  const fds = ctx.proc.fds;
  for (const [fd] of [...fds.entries()]) {
    if (fd < lo || fd > hi) continue;
    if ((fl & CLOSE_RANGE_CLOEXEC) !== 0) fds.setCloexec(fd, true);
    else fds.close(fd);
  }
  return 0;
}

function dup(ctx: SyscallContext, [fd]: readonly bigint[]): number {
  const f = fileOf(ctx, fd).get();
  const n = ctx.proc.fds.install(f);
  if (n < 0) f.put();
  return n;
}

function dup3(ctx: SyscallContext, [oldfd, newfd, flags]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~O_CLOEXEC) !== 0) return EINVAL;
  if (int(oldfd) === int(newfd)) return EINVAL;
  const f = fileOf(ctx, oldfd);
  const target = int(newfd);
  if (target < 0 || target >= Number(ctx.proc.rlimits[7][0])) return -Errno.EBADF;
  return ctx.proc.fds.installAt(target, f.get(), (fl & O_CLOEXEC) !== 0);
}

const F_DUPFD = 0;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_GETLK = 5;
const F_SETLK = 6;
const F_SETLKW = 7;
const F_SETOWN = 8;
const F_GETOWN = 9;
const F_DUPFD_CLOEXEC = 1030;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const F_UNLCK = 2;
const FD_CLOEXEC = 1;

/** struct flock on riscv64: l_type, l_whence (shorts), l_start, l_len, l_pid. */
const FLOCK = struct('flock', [
  ['l_type_whence', i64],
  ['l_start', i64],
  ['l_len', i64],
  ['l_pid', i64],
] as const);

function fcntl(ctx: SyscallContext, [fd, cmd, arg]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  const n = int(fd);
  const fds = ctx.proc.fds;
  switch (int(cmd)) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = Number(BigInt.asUintN(64, arg) > 0xffffffffn ? -1 : BigInt.asUintN(32, arg));
      if (min < 0 || min >= Number(ctx.proc.rlimits[7][0])) return EINVAL;
      const r = fds.install(f.get(), int(cmd) === F_DUPFD_CLOEXEC, min);
      if (r < 0) f.put();
      return r;
    }
    case F_GETFD:
      return fds.isCloexec(n) ? FD_CLOEXEC : 0;
    case F_SETFD:
      fds.setCloexec(n, (int(arg) & FD_CLOEXEC) !== 0);
      return 0;
    case F_GETFL:
      // openat gave the file O_LARGEFILE (as Linux does on a 64-bit kernel); pipes have none.
      return f.flags & ~O_CLOEXEC;
    case F_SETFL: {
      const settable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;
      f.flags = (f.flags & ~settable) | (int(arg) & settable);
      return 0;
    }
    case F_GETLK: {
      // No other process holds a lock: the region is free (l_type = F_UNLCK), the rest unchanged.
      const lock = readVal(ctx.proc.mm, arg, FLOCK);
      const tw = (lock.l_type_whence & ~0xffffn) | BigInt(F_UNLCK);
      writeVal(ctx.proc.mm, arg, FLOCK, { ...lock, l_type_whence: tw });
      return 0;
    }
    case F_SETLK:
    case F_SETLKW: {
      const lock = readVal(ctx.proc.mm, arg, FLOCK);
      const type = Number(lock.l_type_whence & 0xffffn);
      if (type > 2) return EINVAL;
      if ((type === 0 && f.readable === false) || (type === 1 && !f.writable)) return -Errno.EBADF;
      return 0; // one process: every lock is granted
    }
    case F_GETOWN:
      return 0;
    case F_SETOWN:
      return 0;
    case F_GETPIPE_SZ:
      return f instanceof PipeReader || f instanceof PipeWriter || f instanceof PipeDuplex
        ? f.pipe.capacity
        : EINVAL;
    case F_SETPIPE_SZ:
      if (!(f instanceof PipeReader || f instanceof PipeWriter || f instanceof PipeDuplex)) return EINVAL;
      return f.pipe.resize(Number(BigInt.asUintN(32, arg)));
    default:
      return EINVAL;
  }
}

const O_NOTIFICATION_PIPE = O_DIRECT;

function pipe2(ctx: SyscallContext, [fds, flags]: readonly bigint[]): number {
  const fl = int(flags);
  if ((fl & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE)) !== 0) return EINVAL;
  const pipe = new Pipe();
  const inode = new PipeInode(ctx.kernel.pipefs, pipe);
  const path = `pipe:[${inode.ino}]`;
  const rd = new PipeReader(inode, O_RDONLY | (fl & O_NONBLOCK), path, pipe);
  const wr = new PipeWriter(inode, O_WRONLY | (fl & O_NONBLOCK), path, pipe);
  const table = ctx.proc.fds;
  const cloexec = (fl & O_CLOEXEC) !== 0;
  const r = table.install(rd, cloexec);
  if (r < 0) {
    rd.put();
    wr.put();
    return r;
  }
  const w = table.install(wr, cloexec);
  if (w < 0) {
    table.close(r);
    wr.put();
    return w;
  }
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setInt32(0, r, true);
  v.setInt32(4, w, true);
  if (copyToUser(ctx.proc.mm, fds, out) > 0) {
    table.close(r);
    table.close(w);
    return EFAULT;
  }
  return 0;
}

const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TCSETSW = 0x5403;
const TCSETSF = 0x5404;
const TIOCGPGRP = 0x540f;
const TIOCGWINSZ = 0x5413;
const FIONREAD = 0x541b;
const FIONBIO = 0x5421;
const FIONCLEX = 0x5450;
const FIOCLEX = 0x5451;

/** A cooked terminal's struct termios (iflag, oflag, cflag, lflag, c_line, c_cc[19]), as a Linux tty starts. */
function cookedTermios(): Uint8Array {
  const t = new Uint8Array(36);
  const v = new DataView(t.buffer);
  v.setUint32(0, 0o2400, true); // ICRNL | IXON
  v.setUint32(4, 0o5, true); // OPOST | ONLCR
  v.setUint32(8, 0o277, true); // B38400 | CS8 | CREAD
  v.setUint32(12, 0o105073, true); // ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
  t.set([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0], 17);
  return t;
}

function ioctl(ctx: SyscallContext, [fd, request, arg]: readonly bigint[]): number {
  const f = fileOf(ctx, fd);
  const req = Number(BigInt.asUintN(32, request));
  const mm = ctx.proc.mm;
  switch (req) {
    case FIOCLEX:
      ctx.proc.fds.setCloexec(int(fd), true);
      return 0;
    case FIONCLEX:
      ctx.proc.fds.setCloexec(int(fd), false);
      return 0;
    case FIONBIO: {
      const b = new Uint8Array(4);
      if (copyFromUser(mm, b, arg) > 0) return EFAULT;
      const on = new DataView(b.buffer).getInt32(0, true) !== 0;
      f.flags = on ? f.flags | O_NONBLOCK : f.flags & ~O_NONBLOCK;
      return 0;
    }
    case FIONREAD: {
      const n = f.readyBytes();
      if (n === undefined) return -Errno.ENOTTY;
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, Math.min(n, 0x7fffffff), true);
      return copyToUser(mm, arg, b) > 0 ? EFAULT : 0;
    }
  }
  const tty = f instanceof ConsoleFile && f.inode.isTerminal;
  if (!tty) return -Errno.ENOTTY;
  switch (req) {
    case TIOCGWINSZ: {
      const ws = new Uint8Array(8);
      const size = ctx.kernel.host.windowSize?.() ?? { rows: 24, cols: 80 };
      new DataView(ws.buffer).setUint16(0, size.rows, true);
      new DataView(ws.buffer).setUint16(2, size.cols, true);
      return copyToUser(mm, arg, ws) > 0 ? EFAULT : 0;
    }
    case TCGETS:
      return copyToUser(mm, arg, cookedTermios()) > 0 ? EFAULT : 0;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      // Read (EFAULT for a bad pointer); putting modes on the host terminal comes with the processes issue.
      const t = new Uint8Array(36);
      return copyFromUser(mm, t, arg) > 0 ? EFAULT : 0;
    }
    case TIOCGPGRP: {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, ctx.proc.pid, true);
      return copyToUser(mm, arg, b) > 0 ? EFAULT : 0;
    }
    default:
      return -Errno.ENOTTY;
  }
}

const TIMESPEC = struct('timespec', [
  ['tv_sec', i64],
  ['tv_nsec', i64],
] as const);

/** A timeout argument in ns: undefined for NULL (wait forever); EINVAL for a bad one. */
function timeoutArg(ctx: SyscallContext, tmo: bigint): bigint | undefined | number {
  if (tmo === 0n) return undefined;
  const t = readVal(ctx.proc.mm, tmo, TIMESPEC);
  if (t.tv_sec < 0n || t.tv_nsec < 0n || t.tv_nsec >= 1_000_000_000n) return EINVAL;
  return t.tv_sec * 1_000_000_000n + t.tv_nsec;
}

/** What poll reports for one file: the events ready, and the ones always reported. */
function pollFile(f: OpenFile | undefined, events: number): number {
  if (f === undefined) return POLLNVAL;
  return f.poll() & (events | POLLERR | POLLHUP);
}

/**
 * Nothing ready yet: the task waits on the files' queues until `scan`
 * finds something, the timeout passes (`done(0)`) or a signal comes
 * (EINTR). `scan` answers the number ready; `done(n)` writes the results.
 */
function pollWait(
  ctx: SyscallContext,
  ns: bigint | undefined,
  files: readonly (OpenFile | undefined)[],
  what: string,
  scan: () => number,
  done: (ready: number) => number,
): number {
  const ready = scan();
  if (ready > 0 || ns === 0n) return done(ready);
  const queues = [...new Set(files.map((f) => f?.pollQueue()).filter((q) => q !== undefined))];
  const wait: Wait = {
    queues,
    what,
    deadlineNs: ns === undefined ? undefined : ctx.kernel.host.monotonicNs() + ns,
    retry: () => {
      const n = scan();
      return n > 0 ? done(n) : ctx.kernel.sleep(ctx.task, wait);
    },
    timedOut: () => done(scan()),
  };
  return ctx.kernel.sleep(ctx.task, wait);
}

/** A sigmask argument (ppoll, pselect6): read and checked; it would apply while waiting (delivery: the processes issue). */
function sigmaskArg(ctx: SyscallContext, set: bigint, size: bigint): number {
  if (set === 0n) return 0;
  if (size !== 8n) return EINVAL;
  readVal(ctx.proc.mm, set, i64);
  return 0;
}

function ppoll(ctx: SyscallContext, [fds, nfds, tmo, sigmask, sigsetsize]: readonly bigint[]): number {
  // Linux's order: the timeout (EFAULT, EINVAL), the signal mask, then the descriptors.
  const timeout = timeoutArg(ctx, tmo);
  if (typeof timeout === 'number') return timeout;
  const sm = sigmaskArg(ctx, sigmask, sigsetsize);
  if (sm !== 0) return sm;
  const n = Number(BigInt.asUintN(32, nfds));
  if (n > Number(ctx.proc.rlimits[7][0])) return EINVAL;
  const raw = new Uint8Array(n * 8);
  if (copyFromUser(ctx.proc.mm, raw, fds) > 0) return EFAULT;
  const v = new DataView(raw.buffer);
  const files = Array.from({ length: n }, (_, i) => {
    const fd = v.getInt32(i * 8, true);
    return fd < 0 ? undefined : ctx.proc.fds.get(fd);
  });
  const scan = () => {
    let ready = 0;
    for (let i = 0; i < n; i++) {
      const fd = v.getInt32(i * 8, true);
      const events = v.getUint16(i * 8 + 4, true);
      const rev = fd < 0 ? 0 : pollFile(ctx.proc.fds.get(fd), events);
      v.setUint16(i * 8 + 6, rev, true);
      if (rev !== 0) ready++;
    }
    return ready;
  };
  return pollWait(ctx, timeout, files, 'ppoll', scan, (ready) => {
    if (n > 0 && copyToUser(ctx.proc.mm, fds, raw) > 0) return EFAULT;
    if (tmo !== 0n && ready === 0) writeVal(ctx.proc.mm, tmo, TIMESPEC, { tv_sec: 0n, tv_nsec: 0n });
    return ready;
  });
}

const SIGSET_ARG = struct('sigset_argpack', [
  ['ss', i64],
  ['ss_len', i64],
] as const);

function pselect6(
  ctx: SyscallContext,
  [nfds, readfds, writefds, exceptfds, tmo, sig]: readonly bigint[],
): number {
  const timeout = timeoutArg(ctx, tmo);
  if (typeof timeout === 'number') return timeout;
  if (sig !== 0n) {
    const pack = readVal(ctx.proc.mm, sig, SIGSET_ARG);
    const sm = sigmaskArg(ctx, BigInt.asUintN(64, pack.ss), BigInt.asUintN(64, pack.ss_len));
    if (sm !== 0) return sm;
  }
  let n = int(nfds);
  if (n < 0) return EINVAL;
  // Linux clamps nfds to the descriptor table's size.
  if (n > ctx.proc.fds.maxFds) n = ctx.proc.fds.maxFds;
  const words = Math.ceil(n / 64);
  const sets = [readfds, writefds, exceptfds].map((p) => {
    if (p === 0n) return undefined;
    const b = new Uint8Array(words * 8);
    if (copyFromUser(ctx.proc.mm, b, p) > 0) return null;
    return b;
  });
  if (sets.includes(null)) return EFAULT;
  const masks = [POLLIN | POLLHUP | POLLERR, POLLOUT | POLLERR, POLLPRI];
  const out = sets.map((s) => (s === undefined || s === null ? undefined : new Uint8Array(s.length)));
  const files: (OpenFile | undefined)[] = [];
  for (let fd = 0; fd < n; fd++) {
    const bit = 1 << (fd & 7);
    if (!sets.some((s) => s != null && (s[fd >> 3] & bit) !== 0)) continue;
    const f = ctx.proc.fds.get(fd);
    if (f === undefined) return -Errno.EBADF;
    files.push(f);
  }
  const scan = () => {
    let ready = 0;
    for (const o of out) o?.fill(0);
    for (let fd = 0; fd < n; fd++) {
      const bit = 1 << (fd & 7);
      const wanted = sets.some((s) => s != null && (s[fd >> 3] & bit) !== 0);
      if (!wanted) continue;
      const f = ctx.proc.fds.get(fd);
      if (f === undefined) continue;
      const ev = f.poll() | (f.poll() & POLLHUP ? POLLIN : 0);
      for (let k = 0; k < 3; k++) {
        const s = sets[k];
        const o = out[k];
        if (s == null || o === undefined || (s[fd >> 3] & bit) === 0) continue;
        if ((ev & masks[k]) !== 0) {
          o[fd >> 3] |= bit;
          ready++;
        }
      }
    }
    return ready;
  };
  return pollWait(ctx, timeout, files, 'pselect6', scan, (ready) => {
    const ptrs = [readfds, writefds, exceptfds];
    for (let k = 0; k < 3; k++) {
      const o = out[k];
      if (o !== undefined && o.length > 0 && copyToUser(ctx.proc.mm, ptrs[k], o) > 0) return EFAULT;
    }
    if (tmo !== 0n && ready === 0) writeVal(ctx.proc.mm, tmo, TIMESPEC, { tv_sec: 0n, tv_nsec: 0n });
    return ready;
  });
}

export const fdCalls: SyscallEntry[] = [
  { nr: 23, name: 'dup', args: ['fd'], handler: dup },
  { nr: 24, name: 'dup3', args: ['fd', 'fd', 'openflags'], handler: dup3 },
  { nr: 25, name: 'fcntl', args: ['fd', 'fcntlcmd', 'hex'], handler: fcntl },
  { nr: 29, name: 'ioctl', args: ['fd', 'hex', 'ptr'], handler: ioctl },
  { nr: 57, name: 'close', args: ['fd'], handler: close },
  { nr: 59, name: 'pipe2', args: ['pipefd', 'openflags'], handler: pipe2 },
  { nr: 72, name: 'pselect6', args: ['int', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr'], handler: pselect6 },
  { nr: 73, name: 'ppoll', args: ['ptr', 'int', 'ptr', 'ptr', 'size'], handler: ppoll },
  { nr: 436, name: 'close_range', args: ['fd', 'fd', 'hex'], handler: closeRange },
];
