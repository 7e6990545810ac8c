/** A host file's attributes (an lstat: a symlink is described, never followed). */
export interface HostStat {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  /** The permission bits (and set-id, sticky). */
  perm: number;
  size: number;
  /** The host's device and inode numbers: together they name one file. */
  dev: number;
  ino: number;
  nlink: number;
  uid: number;
  gid: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/**
 * The host's files, for the directories the user mounts. Paths are the
 * host's, absolute, and built by the kernel from a mount's root and single
 * names it checked (never "..", never a symlink's target): the kernel walks
 * every path itself. Failures throw LinuxError with the host's errno. No
 * call follows a symlink in the last component.
 */
export interface HostFileSystem {
  lstat(path: string): HostStat;
  readdir(path: string): string[];
  readlink(path: string): string;
  /** Opens an existing file (or makes it, exclusively, with `createPerm`); answers a handle. */
  open(path: string, write: boolean, createPerm?: number): number;
  read(handle: number, dst: Uint8Array, pos: number): number;
  write(handle: number, src: Uint8Array, pos: number): number;
  ftruncate(handle: number, size: number): void;
  fsync(handle: number): void;
  /** The attributes of an open file (its name may be gone). */
  fstat(handle: number): HostStat;
  /** chmod and utimes of an open file: no path, so no symlink to follow. */
  fchmod(handle: number, perm: number): void;
  futimes(handle: number, atimeNs: bigint, mtimeNs: bigint): void;
  /** Opens a directory (never through a symlink) for fchmod, futimes and fstat. */
  openDir(path: string): number;
  close(handle: number): void;
  mkdir(path: string, perm: number): void;
  rmdir(path: string): void;
  unlink(path: string): void;
  rename(from: string, to: string): void;
  link(existing: string, path: string): void;
  symlink(target: string, path: string): void;
}

/**
 * The kernel's only way to the outside world (the host interface): the
 * standard streams, the clocks and entropy. `src/cli` implements it for
 * Node; a browser page can implement it too. Everything here is
 * synchronous: one process, one run (the processes issue adds waiting).
 */
export interface Host {
  /**
   * Writes bytes to the host's standard output (1) or error (2); answers
   * how many were taken, or -EPIPE when nothing reads the stream any more.
   */
  write(fd: 1 | 2, bytes: Uint8Array): number;
  /** Up to `max` bytes of standard input; an empty array at end of file. */
  readStdin(max: number): Uint8Array;
  /** True when the host stream behind fd 0, 1 or 2 is a terminal. */
  isatty(fd: number): boolean;
  /** Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
  realtimeNs(): bigint;
  /** Nanoseconds since some fixed point (CLOCK_MONOTONIC). */
  monotonicNs(): bigint;
  /** Fills `out` with random bytes. */
  random(out: Uint8Array): void;
  /** Waits `ns` nanoseconds (nanosleep, a poll's timeout); a deterministic host only moves its clock. */
  sleepNs(ns: bigint): void;
  /** The terminal's size, when the standard streams are one. */
  windowSize?(): { rows: number; cols: number };
  /** The host's files, when directories are mounted (none in a sandbox). */
  readonly fs?: HostFileSystem;
}

/** A host for tests and deterministic runs: output collected, no input, a clock from zero, seeded entropy. */
export class MemoryHost implements Host {
  readonly stdout: number[] = [];
  readonly stderr: number[] = [];
  private seed = 0x2545f491;
  private ns = 0n;

  constructor(private readonly input: Uint8Array = new Uint8Array(0)) {}

  private inputAt = 0;

  write(fd: 1 | 2, bytes: Uint8Array): number {
    const sink = fd === 1 ? this.stdout : this.stderr;
    for (const b of bytes) sink.push(b);
    return bytes.length;
  }

  readStdin(max: number): Uint8Array {
    const part = this.input.subarray(this.inputAt, this.inputAt + max);
    this.inputAt += part.length;
    return part.slice();
  }

  isatty(): boolean {
    return false;
  }

  realtimeNs(): bigint {
    this.ns += 1000n;
    return 1_700_000_000_000_000_000n + this.ns;
  }

  monotonicNs(): bigint {
    this.ns += 1000n;
    return this.ns;
  }

  sleepNs(ns: bigint): void {
    this.ns += ns;
  }

  random(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) {
      this.seed ^= this.seed << 13;
      this.seed ^= this.seed >>> 17;
      this.seed ^= this.seed << 5;
      out[i] = this.seed & 0xff;
    }
  }

  /** What the program wrote to fd 1, as text. */
  get stdoutText(): string {
    return new TextDecoder().decode(Uint8Array.from(this.stdout));
  }
}

/**
 * `--deterministic`: another host's streams and files, with time taken
 * from the instruction count (1 ns per instruction, from a fixed epoch;
 * sleeps move it on) and entropy from a seed, so two runs of a program
 * print the same bytes.
 */
export class DeterministicHost implements Host {
  private readonly seeded: MemoryHost;
  private slept = 0n;
  readonly fs?: HostFileSystem;

  constructor(
    private readonly inner: Host,
    /** The instructions retired so far (the kernel's count). */
    private readonly instructions: () => number,
  ) {
    this.seeded = new MemoryHost();
    this.fs = inner.fs;
  }

  write(fd: 1 | 2, bytes: Uint8Array): number {
    return this.inner.write(fd, bytes);
  }

  readStdin(max: number): Uint8Array {
    return this.inner.readStdin(max);
  }

  isatty(fd: number): boolean {
    return this.inner.isatty(fd);
  }

  monotonicNs(): bigint {
    return BigInt(this.instructions()) + this.slept;
  }

  realtimeNs(): bigint {
    return 1_700_000_000_000_000_000n + this.monotonicNs();
  }

  random(out: Uint8Array): void {
    this.seeded.random(out);
  }

  sleepNs(ns: bigint): void {
    this.slept += ns;
  }
}
