/**
 * `--strace`: each system call as strace prints it, made after the call
 * returned (so output arguments show what the kernel stored): strings and
 * buffers read through the copy family, quoted and cut at `-s N`; flags,
 * modes, clocks, signals and resources by name; `struct stat`, `timespec`,
 * `utsname`, `rlimit` and pipe fds decoded; the return value as strace
 * writes it (`= -1 ENOENT (No such file or directory)`, addresses in hex).
 * Whatever cannot be read shows as its address, never an error.
 */
import { LinuxError } from '../errno/index.js';
import { copyFromUser, i64, readVal, strncpyFromUser, struct, u32, u64 } from '../uptr/index.js';
import type { Process } from './process.js';
import { RISCV64_SYSCALL_NAMES } from './syscall/names.js';
import type { ArgKind, SyscallEntry } from './syscall/table.js';

/** The calls whose result strace prints as an address. */
const HEX_RESULT = new Set(['brk', 'mmap', 'mremap', 'shmat']);

export function formatCall(
  proc: Process,
  entry: SyscallEntry | undefined,
  nr: number,
  args: readonly bigint[],
  ret: bigint,
  strlen: number,
): string {
  const name = entry?.name ?? RISCV64_SYSCALL_NAMES.get(nr) ?? `syscall_${nr}`;
  const ok = ret >= 0n || ret <= -4096n;
  const shown = (entry?.args ?? args.map(() => 'hex' as const)).map((kind, i) => {
    try {
      return showArg(proc, kind, args[i], args[i + 1], ok ? ret : undefined, strlen);
    } catch {
      return `0x${BigInt.asUintN(64, args[i]).toString(16)}`; // unreadable: the address, as strace shows it
    }
  });
  // strace shows openat's mode only when the flags make one matter (O_CREAT, O_TMPFILE).
  if (name === 'openat' && (Number(args[2] & 0xffffffffn) & 0o20000100) === 0) shown.length = 3;
  let result: string;
  if (proc.exited && (name === 'exit' || name === 'exit_group')) result = '?';
  else if (!ok) {
    const e = new LinuxError(Number(-ret));
    result = `-1 ${e.code} (${e.description})`;
  } else result = HEX_RESULT.has(name) ? `0x${BigInt.asUintN(64, ret).toString(16)}` : String(ret);
  return `${name}(${shown.join(', ')}) = ${result}`;
}

/** strace's string form: printable bytes as they are, the usual escapes, octal for the rest; "..." when cut. */
function quote(bytes: Uint8Array, cut: boolean): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x0a) out += '\\n';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString(8)}`;
  }
  return `${out}"${cut ? '...' : ''}`;
}

/** `len` bytes at user `addr`, quoted and cut at `strlen`. */
function userBytes(proc: Process, addr: bigint, len: number, strlen: number): string | undefined {
  const buf = new Uint8Array(Math.max(0, Math.min(len, strlen)));
  if (copyFromUser(proc.mm, buf, addr) !== 0) return undefined;
  return quote(buf, len > strlen);
}

const STAT_HEAD = struct('stat_head', [
  ['st_dev', u64],
  ['st_ino', u64],
  ['st_mode', u32],
  ['st_nlink', u32],
  ['st_uid', u32],
  ['st_gid', u32],
  ['st_rdev', u64],
  ['pad1', u64],
  ['st_size', i64],
] as const);
const TIMESPEC = struct('timespec', [
  ['tv_sec', i64],
  ['tv_nsec', i64],
] as const);
const RLIMIT = struct('rlimit', [
  ['cur', u64],
  ['max', u64],
] as const);

// A Map, not an object: object keys are decimal strings, and octal is how file types are known.
const FILE_TYPES = new Map<number, string>([
  [0o140000, 'S_IFSOCK'],
  [0o120000, 'S_IFLNK'],
  [0o100000, 'S_IFREG'],
  [0o060000, 'S_IFBLK'],
  [0o040000, 'S_IFDIR'],
  [0o020000, 'S_IFCHR'],
  [0o010000, 'S_IFIFO'],
]);

function modeName(mode: number): string {
  const type = FILE_TYPES.get(mode & 0o170000) ?? `0${(mode & 0o170000).toString(8)}`;
  return `${type}|0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

const RLIMITS = [
  'RLIMIT_CPU',
  'RLIMIT_FSIZE',
  'RLIMIT_DATA',
  'RLIMIT_STACK',
  'RLIMIT_CORE',
  'RLIMIT_RSS',
  'RLIMIT_NPROC',
  'RLIMIT_NOFILE',
  'RLIMIT_MEMLOCK',
  'RLIMIT_AS',
  'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
];
const CLOCKS = [
  'CLOCK_REALTIME',
  'CLOCK_MONOTONIC',
  'CLOCK_PROCESS_CPUTIME_ID',
  'CLOCK_THREAD_CPUTIME_ID',
  'CLOCK_MONOTONIC_RAW',
  'CLOCK_REALTIME_COARSE',
  'CLOCK_MONOTONIC_COARSE',
  'CLOCK_BOOTTIME',
  'CLOCK_REALTIME_ALARM',
  'CLOCK_BOOTTIME_ALARM',
  '10',
  'CLOCK_TAI',
];
const SIGNAL_NAMES = [
  '0',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** strace's way with a limit: RLIM64_INFINITY by name, whole KiB as N*1024. */
function limit(v: bigint): string {
  if (v === 0xffff_ffff_ffff_ffffn) return 'RLIM64_INFINITY';
  return v !== 0n && v % 1024n === 0n ? `${v / 1024n}*1024` : String(v);
}

/**
 * One argument as strace shows it. `ret` is the call's result when it
 * succeeded (output arguments are shown from what the call stored), else
 * undefined (they show as addresses).
 */
function showArg(
  proc: Process,
  kind: ArgKind,
  v: bigint,
  next: bigint | undefined,
  ret: bigint | undefined,
  strlen: number,
): string {
  const hex = `0x${BigInt.asUintN(64, v).toString(16)}`;
  if (v === 0n && PTR_KINDS.has(kind)) return 'NULL';
  switch (kind) {
    case 'int':
      return String(BigInt.asIntN(32, v));
    case 'long':
      return String(BigInt.asIntN(64, v));
    case 'fd': {
      const fd = Number(BigInt.asIntN(32, v));
      return fd === -100 ? 'AT_FDCWD' : String(fd);
    }
    case 'size':
      return String(BigInt.asUintN(64, v));
    case 'ptr':
      return hex;
    case 'str': {
      const buf = new Uint8Array(strlen + 1);
      const n = strncpyFromUser(proc.mm, buf, v, buf.length);
      return quote(buf.subarray(0, Math.min(n, strlen)), n > strlen);
    }
    case 'buf':
    case 'iovec': {
      if (kind === 'iovec') return hex;
      // A buffer whose length is the next argument (write's).
      const len = next === undefined ? 0 : Number(BigInt.asUintN(32, next));
      return userBytes(proc, v, len, strlen) ?? hex;
    }
    case 'outbuf':
      // What the call stored: as many bytes as it answered.
      return ret === undefined ? hex : (userBytes(proc, v, Number(ret), strlen) ?? hex);
    case 'stat': {
      if (ret === undefined) return hex;
      const st = readVal(proc.mm, v, STAT_HEAD);
      return `{st_mode=${modeName(st.st_mode)}, st_size=${st.st_size}, ...}`;
    }
    case 'timespec':
    case 'outtimespec': {
      if (kind === 'outtimespec' && ret === undefined) return hex;
      const t = readVal(proc.mm, v, TIMESPEC);
      return `{tv_sec=${t.tv_sec}, tv_nsec=${t.tv_nsec}}`;
    }
    case 'rlimit':
    case 'outrlimit': {
      if (kind === 'outrlimit' && ret === undefined) return hex;
      const l = readVal(proc.mm, v, RLIMIT);
      return `{rlim_cur=${limit(l.cur)}, rlim_max=${limit(l.max)}}`;
    }
    case 'pipefd': {
      if (ret === undefined) return hex;
      const b = new Uint8Array(8);
      if (copyFromUser(proc.mm, b, v) !== 0) return hex;
      const d = new DataView(b.buffer);
      return `[${d.getInt32(0, true)}, ${d.getInt32(4, true)}]`;
    }
    case 'utsname': {
      if (ret === undefined) return hex;
      const b = new Uint8Array(65 * 2);
      if (copyFromUser(proc.mm, b, v) !== 0) return hex;
      const field = (i: number) => {
        const f = b.subarray(i * 65, i * 65 + 65);
        const end = f.indexOf(0);
        return quote(f.subarray(0, end < 0 ? 65 : end), false);
      };
      return `{sysname=${field(0)}, nodename=${field(1)}, ...}`;
    }
    case 'rlimres':
      return RLIMITS[Number(v)] ?? String(v);
    case 'clockid':
      return CLOCKS[Number(BigInt.asIntN(32, v))] ?? String(BigInt.asIntN(32, v));
    case 'signum':
      return SIGNAL_NAMES[Number(BigInt.asIntN(32, v))] ?? String(BigInt.asIntN(32, v));
    case 'prot':
      return flagNames(Number(v), PROT_NAMES, 'PROT_NONE');
    case 'mapflags':
      return flagNames(Number(v), MAP_NAMES, '0');
    case 'atflags':
      return flagNames(Number(v), AT_NAMES, '0');
    case 'oct':
      return `0${(Number(BigInt.asUintN(32, v)) & 0o7777).toString(8)}`;
    case 'openflags': {
      const n = Number(BigInt.asUintN(32, v));
      const acc = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', '0x3'][n & 3];
      const rest = flagNames(n & ~3, OPEN_NAMES, '');
      return rest === '' ? acc : `${acc}|${rest}`;
    }
    case 'whence':
      return ['SEEK_SET', 'SEEK_CUR', 'SEEK_END', 'SEEK_DATA', 'SEEK_HOLE'][Number(v)] ?? String(v);
    case 'fcntlcmd':
      return FCNTL_NAMES[Number(v)] ?? String(v);
    default:
      return hex;
  }
}

/** The kinds that are pointers: NULL shows as NULL. */
const PTR_KINDS = new Set<ArgKind>([
  'ptr',
  'str',
  'buf',
  'iovec',
  'outbuf',
  'stat',
  'timespec',
  'outtimespec',
  'rlimit',
  'outrlimit',
  'pipefd',
  'utsname',
]);

const PROT_NAMES: [number, string][] = [
  [1, 'PROT_READ'],
  [2, 'PROT_WRITE'],
  [4, 'PROT_EXEC'],
];
const MAP_NAMES: [number, string][] = [
  [0x01, 'MAP_SHARED'],
  [0x02, 'MAP_PRIVATE'],
  [0x10, 'MAP_FIXED'],
  [0x20, 'MAP_ANONYMOUS'],
  [0x4000, 'MAP_NORESERVE'],
  [0x100000, 'MAP_FIXED_NOREPLACE'],
];
const OPEN_NAMES: [number, string][] = [
  [0o100, 'O_CREAT'],
  [0o200, 'O_EXCL'],
  [0o400, 'O_NOCTTY'],
  [0o1000, 'O_TRUNC'],
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o2000000, 'O_CLOEXEC'],
  [0o10000000, 'O_PATH'],
];
const FCNTL_NAMES: Record<number, string> = {
  0: 'F_DUPFD',
  1: 'F_GETFD',
  2: 'F_SETFD',
  3: 'F_GETFL',
  4: 'F_SETFL',
  5: 'F_GETLK',
  6: 'F_SETLK',
  7: 'F_SETLKW',
  1030: 'F_DUPFD_CLOEXEC',
  1031: 'F_SETPIPE_SZ',
  1032: 'F_GETPIPE_SZ',
};
const AT_NAMES: [number, string][] = [
  [0x100, 'AT_SYMLINK_NOFOLLOW'],
  [0x1000, 'AT_EMPTY_PATH'],
];

function flagNames(v: number, names: readonly [number, string][], none: string): string {
  const parts: string[] = [];
  let rest = v;
  for (const [bit, name] of names) {
    if ((v & bit) !== 0) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.length === 0 ? none : parts.join('|');
}
