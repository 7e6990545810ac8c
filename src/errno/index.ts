/**
 * Linux error numbers and the error types of the Rust crate axerrno.
 *
 * Every failure in axptr that a system call can see is a {@link LinuxError}
 * carrying the errno Linux itself would return. Code that prefers values to
 * exceptions uses {@link LinuxResult} and {@link tryLinux}.
 */
import { ERRNO_MESSAGES, Errno, type ErrnoName } from './table.js';

export { ERRNO_MESSAGES, Errno, type ErrnoName };

/** Names Linux defines as a second spelling of an errno. */
export const ERRNO_ALIASES: Readonly<Record<string, ErrnoName>> = {
  EWOULDBLOCK: 'EAGAIN',
  EDEADLOCK: 'EDEADLK',
};

const NAME_OF: Record<number, ErrnoName> = {};
for (const name of Object.keys(Errno) as ErrnoName[]) NAME_OF[Errno[name]] = name;

/** Every defined errno number in ascending order (131 of them: 1..133 but 41 and 58). */
export const ALL_ERRNOS: readonly number[] = Object.values(Errno).sort((a, b) => a - b);

/** True for a number Linux defines as an errno. */
export function isErrno(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && NAME_OF[n] !== undefined;
}

/** The canonical name of `errno` ("EFAULT"), or undefined if Linux defines none. */
export function errnoName(errno: number): ErrnoName | undefined {
  return NAME_OF[errno];
}

/** The errno named `name`, aliases included; undefined for an unknown name. */
export function errnoFromName(name: string): number | undefined {
  if (Object.hasOwn(Errno, name)) return Errno[name as ErrnoName];
  const canonical = Object.hasOwn(ERRNO_ALIASES, name) ? ERRNO_ALIASES[name] : undefined;
  return canonical === undefined ? undefined : Errno[canonical];
}

/** The message Linux prints for `errno` (what `strerror` returns). */
export function strerror(errno: number): string {
  return ERRNO_MESSAGES[errno] ?? `Unknown error ${errno}`;
}

/** V8's (and SpiderMonkey's) knob for captured stack frames; absent elsewhere, where setting it is harmless. */
const ErrorWithLimit = Error as ErrorConstructor & { stackTraceLimit?: number };

/**
 * An error a system call returns to user space.
 *
 * `errno` is the positive Linux number, `code` its canonical name. Construct it
 * from either: `new LinuxError(14)`, `new LinuxError('EFAULT')`,
 * `new LinuxError('EWOULDBLOCK')` (aliases give the canonical code). An unknown
 * number or name is a programming error and throws a `TypeError`. It carries
 * no stack trace (`stack` is only the message): it is the expected outcome
 * of bad user input, and the message says what was refused.
 */
export class LinuxError extends Error {
  readonly errno: number;
  readonly code: ErrnoName;

  constructor(errnoOrName: number | string, detail?: string) {
    const errno = typeof errnoOrName === 'number' ? errnoOrName : errnoFromName(errnoOrName);
    const code = errno === undefined ? undefined : NAME_OF[errno];
    if (errno === undefined || code === undefined) {
      throw new TypeError(`not a Linux errno: ${String(errnoOrName)}`);
    }
    const text = strerror(errno);
    // An errno is an answer, not a bug: no stack is captured (on V8 that is most of the cost of a
    // failing system call: microseconds against a fraction of one). Kernel bugs use other types.
    const limit = ErrorWithLimit.stackTraceLimit;
    ErrorWithLimit.stackTraceLimit = 0;
    try {
      super(detail === undefined ? `${code}: ${text}` : `${code}: ${text} (${detail})`);
    } finally {
      ErrorWithLimit.stackTraceLimit = limit;
    }
    this.name = 'LinuxError';
    this.errno = errno;
    this.code = code;
  }

  /** The message Linux prints for this error, without detail. */
  get description(): string {
    return strerror(this.errno);
  }

  /** The value a system call returns for this error: `-errno`. */
  toSyscallReturn(): number {
    return -this.errno;
  }
}

/** Recognises a {@link LinuxError}, optionally of one errno or name. */
export function isLinuxError(e: unknown, which?: number | string): e is LinuxError {
  if (!(e instanceof LinuxError)) return false;
  if (which === undefined) return true;
  return e.errno === (typeof which === 'number' ? which : errnoFromName(which));
}

/**
 * Turns what a system-call body threw into its return value: a `LinuxError`
 * becomes `-errno`; anything else is a kernel bug and is thrown again.
 */
export function syscallReturn(run: () => number): number {
  try {
    return run();
  } catch (e) {
    if (e instanceof LinuxError) return -e.errno;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// AxError: the OS-neutral error kinds of axerrno, with their Linux mapping.
// ---------------------------------------------------------------------------

/** axerrno's error kinds; the numbers are the crate's `code()` values. */
export const AxError = {
  AddrInUse: 1,
  AlreadyExists: 2,
  BadAddress: 3,
  BadState: 4,
  ConnectionRefused: 5,
  ConnectionReset: 6,
  DirectoryNotEmpty: 7,
  InvalidData: 8,
  InvalidInput: 9,
  Io: 10,
  IsADirectory: 11,
  NoMemory: 12,
  NotADirectory: 13,
  NotConnected: 14,
  NotFound: 15,
  PermissionDenied: 16,
  ResourceBusy: 17,
  StorageFull: 18,
  UnexpectedEof: 19,
  Unsupported: 20,
  WouldBlock: 21,
  WriteZero: 22,
} as const;
export type AxErrorKind = keyof typeof AxError;

/** The descriptions axerrno prints for each kind. */
export const AX_ERROR_MESSAGES: Readonly<Record<AxErrorKind, string>> = {
  AddrInUse: 'Address in use',
  AlreadyExists: 'Entity already exists',
  BadAddress: 'Bad address',
  BadState: 'Bad internal state',
  ConnectionRefused: 'Connection refused',
  ConnectionReset: 'Connection reset',
  DirectoryNotEmpty: 'Directory not empty',
  InvalidData: 'Invalid data',
  InvalidInput: 'Invalid input parameter',
  Io: 'I/O error',
  IsADirectory: 'Is a directory',
  NoMemory: 'Out of memory',
  NotADirectory: 'Not a directory',
  NotConnected: 'Not connected',
  NotFound: 'Entity not found',
  PermissionDenied: 'Permission denied',
  ResourceBusy: 'Resource busy',
  StorageFull: 'No storage space',
  UnexpectedEof: 'Unexpected end of file',
  Unsupported: 'Operation not supported',
  WouldBlock: 'Operation would block',
  WriteZero: 'Write zero',
};

/** `From<AxError> for LinuxError` of axerrno 0.1. */
export const AX_TO_LINUX: Readonly<Record<AxErrorKind, ErrnoName>> = {
  AddrInUse: 'EADDRINUSE',
  AlreadyExists: 'EEXIST',
  BadAddress: 'EFAULT',
  BadState: 'EFAULT',
  ConnectionRefused: 'ECONNREFUSED',
  ConnectionReset: 'ECONNRESET',
  DirectoryNotEmpty: 'ENOTEMPTY',
  InvalidData: 'EINVAL',
  InvalidInput: 'EINVAL',
  Io: 'EIO',
  IsADirectory: 'EISDIR',
  NoMemory: 'ENOMEM',
  NotADirectory: 'ENOTDIR',
  NotConnected: 'ENOTCONN',
  NotFound: 'ENOENT',
  PermissionDenied: 'EACCES',
  ResourceBusy: 'EBUSY',
  StorageFull: 'ENOSPC',
  UnexpectedEof: 'EIO',
  Unsupported: 'ENOSYS',
  WouldBlock: 'EAGAIN',
  WriteZero: 'EIO',
};

/** The Linux error an axerrno kind converts to. */
export function axToLinux(kind: AxErrorKind, detail?: string): LinuxError {
  return new LinuxError(AX_TO_LINUX[kind], detail === undefined ? kind : `${kind}: ${detail}`);
}

/** The kind with axerrno code `code` (1..22), or undefined. */
export function axErrorFromCode(code: number): AxErrorKind | undefined {
  for (const kind of Object.keys(AxError) as AxErrorKind[]) if (AxError[kind] === code) return kind;
  return undefined;
}

// ---------------------------------------------------------------------------
// LinuxResult: errors as values.
// ---------------------------------------------------------------------------

export type LinuxResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: LinuxError };

export function ok<T>(value: T): LinuxResult<T> {
  return { ok: true, value };
}

export function err<T = never>(error: LinuxError | number | string): LinuxResult<T> {
  return { ok: false, error: error instanceof LinuxError ? error : new LinuxError(error) };
}

/** Runs `fn`; a thrown `LinuxError` becomes an error value, anything else propagates. */
export function tryLinux<T>(fn: () => T): LinuxResult<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof LinuxError) return { ok: false, error: e };
    throw e;
  }
}

/** The value of a result, or its error thrown. */
export function unwrap<T>(result: LinuxResult<T>): T {
  if (result.ok) return result.value;
  throw result.error;
}
