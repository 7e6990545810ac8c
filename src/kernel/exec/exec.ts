/**
 * execve (Linux's fs/exec.c with binfmt_elf and binfmt_script): the file is
 * looked up and checked (a regular file with an execute bit: EACCES), argv
 * and envp are read through the bounded string-array reader (E2BIG past
 * Linux's limits), a `#!` script names its interpreter (up to four levels:
 * ELOOP), and the ELF image is loaded into a new address space. Until then a
 * failure leaves the caller as it was; past that point the old image is
 * released (a vfork parent goes on), the other threads end, close-on-exec
 * descriptors close, caught signals return to their defaults, and the task
 * starts the new program.
 */
import { Errno, LinuxError } from '../../errno/index.js';
import { newHartContext } from '../../riscv/index.js';
import { MAX_ARG_STRLEN, readStringArray } from '../../uptr/index.js';
import { exitTask, releaseMm } from '../exit.js';
import { type Inode, KernelIter, RegularInode, S_IFMT, S_IFREG } from '../fs/inode.js';
import { MAY_EXEC, permission } from '../fs/vfs.js';
import type { Kernel } from '../kernel.js';
import { commOf, MmStruct, RLIMIT_STACK } from '../process.js';
import { SIG_IGN } from '../signal.js';
import { nameiOf, startDir } from '../syscall/fsutil.js';
import type { SyscallContext } from '../syscall/table.js';
import type { Task } from '../task.js';
import { loadElf } from './load.js';

/** binfmt_script's BINPRM_BUF_SIZE: the `#!` line is read from this much of the file. */
const BINPRM_BUF_SIZE = 256;
/** How many interpreters a script may name in a row (Linux: 4 rewrites of the binary, then ELOOP). */
const MAX_INTERP_DEPTH = 4;
/** The largest program file read into the kernel (a guard against a guest's huge file). */
const MAX_EXEC_SIZE = 1 << 30;

const decoder = new TextDecoder();

/** The whole file's bytes (it is mapped from its page cache; the parser reads these). */
function readWhole(inode: RegularInode): Uint8Array {
  if (inode.size > MAX_EXEC_SIZE) throw new LinuxError(Errno.ENOMEM, 'program file too large');
  const buf = new Uint8Array(inode.size);
  const iter = new KernelIter(buf);
  let pos = 0;
  while (pos < buf.length) {
    const n = inode.read(iter, pos);
    if (n <= 0) break;
    pos += n;
  }
  return buf.subarray(0, pos);
}

/** The file execve runs: looked up (symlinks followed), a regular file the caller may execute. */
function lookupExecutable(ctx: SyscallContext, dirfd: bigint, path: string): Inode {
  const vfs = ctx.kernel.vfs;
  const inode = vfs.lookup(nameiOf(ctx), startDir(ctx, dirfd, path), path, true);
  if ((inode.mode & S_IFMT) !== S_IFREG || !(inode instanceof RegularInode))
    throw new LinuxError(Errno.EACCES, `${path} is not a regular file`);
  // Root too needs one execute bit (Linux's generic_permission for MAY_EXEC).
  if (!permission(inode, MAY_EXEC, ctx.proc.creds) || (inode.mode & 0o111) === 0)
    throw new LinuxError(Errno.EACCES, `${path} is not executable`);
  return inode;
}

/** execve / execveat; answers 0 with the task running the new program, or -errno with nothing changed. */
export function execve(
  ctx: SyscallContext,
  dirfd: bigint,
  path: string,
  argvPtr: bigint,
  envpPtr: bigint,
): number {
  const proc = ctx.proc;
  // bprm_stack_limits: a quarter of the stack limit, at most 3/4 of _STK_LIM (6 MiB), at least ARG_MAX (128 KiB).
  const stackLimit = Number(
    proc.rlimits[RLIMIT_STACK][0] > 1n << 40n ? 1n << 40n : proc.rlimits[RLIMIT_STACK][0],
  );
  const maxTotal = Math.max(Math.min(Math.floor(stackLimit / 4), 6 << 20), 32 * 4096);
  const argvBytes = readStringArray(proc.mm, argvPtr, { maxStringLen: MAX_ARG_STRLEN, maxTotal });
  const used = argvBytes.reduce((n, b) => n + b.length + 1 + 8, 0);
  const envpBytes = readStringArray(proc.mm, envpPtr, {
    maxStringLen: MAX_ARG_STRLEN,
    maxTotal: maxTotal - used,
  });
  let argv = argvBytes.map((b) => decoder.decode(b));
  const envp = envpBytes.map((b) => decoder.decode(b));
  // Linux gives a program run with an empty argv an argv[0] of "" (since 5.18).
  if (argv.length === 0) argv = [''];

  let file = path;
  let inode = lookupExecutable(ctx, dirfd, path);
  let bytes = readWhole(inode as RegularInode);
  for (let depth = 0; bytes[0] === 0x23 && bytes[1] === 0x21; depth++) {
    // binfmt_script: "#!interpreter [one argument]"; the script's path replaces argv[0].
    if (depth >= MAX_INTERP_DEPTH) throw new LinuxError(Errno.ELOOP, `too many interpreters for ${path}`);
    const head = bytes.subarray(2, Math.min(bytes.length, BINPRM_BUF_SIZE));
    const nl = head.indexOf(0x0a);
    if (nl < 0 && bytes.length > BINPRM_BUF_SIZE)
      throw new LinuxError(Errno.ENOEXEC, 'interpreter line too long');
    const line = decoder
      .decode(nl < 0 ? head : head.subarray(0, nl))
      .replace(/^[ \t]+/, '')
      .replace(/[ \t]+$/, '');
    if (line === '') throw new LinuxError(Errno.ENOEXEC, `${file}: no interpreter named`);
    const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(line);
    const interp = m?.[1] ?? line;
    const arg = m?.[2];
    argv = [interp, ...(arg !== undefined && arg !== '' ? [arg] : []), file, ...argv.slice(1)];
    file = interp;
    inode = lookupExecutable(ctx, -100n, interp);
    bytes = readWhole(inode as RegularInode);
  }
  const target = inode as RegularInode;
  const kernel = ctx.kernel;
  const aspace = kernel.newAddrSpace();
  const random = new Uint8Array(16);
  kernel.host.random(random);
  const exe = file.startsWith('/')
    ? file
    : `${(kernel.vfs.pathOf(proc.cwd, kernel.vfs.root) ?? '').replace(/\/$/, '')}/${file}`;
  let prog: ReturnType<typeof loadElf>;
  try {
    prog = loadElf(aspace, bytes, target.pages(), {
      argv,
      envp,
      execfn: path,
      random,
      uid: proc.creds.uid,
      gid: proc.creds.gid,
    });
  } catch (e) {
    aspace.destroy();
    throw e;
  }

  // The point of no return.
  const task = ctx.task;
  for (const t of [...proc.tasks]) if (t !== task) exitTask(kernel, t, 0);
  releaseMm(kernel, proc);
  const mm = new MmStruct(aspace, prog);
  mm.mappedInodes.add(target);
  target.hold(1);
  mm.mappedFiles.set(target.pages(), { path: exe, ino: target.ino });
  proc.mmStruct = mm;
  proc.exeInode = target;
  proc.exe = exe;
  proc.comm = commOf(file);
  proc.argv = argv;
  proc.envp = envp;
  proc.fds.closeOnExec();
  proc.execedSinceFork = true;
  for (const [sig, act] of [...proc.sigactions]) {
    const handler = new DataView(act.buffer, act.byteOffset).getBigUint64(0, true);
    if (handler !== SIG_IGN) proc.sigactions.delete(sig);
  }
  task.robustList = 0n;
  task.rseq = undefined;
  task.clearChildTid = 0n;
  startProgram(kernel, task, prog.entry, prog.sp);
  kernel.stats.execs++;
  return 0;
}

/** The task's registers become a new program's: all zero but pc and sp (ELF_PLAT_INIT). */
function startProgram(kernel: Kernel, task: Task, entry: number, sp: number): void {
  const ctx = newHartContext();
  ctx.pc = entry;
  const b = BigInt(sp);
  ctx.x[2] = Number(b & 0xffff_ffffn) | 0;
  ctx.xh[2] = Number(b >> 32n) | 0;
  task.ctx = ctx;
  if (task.onCpu >= 0) {
    const cpu = kernel.cpus[task.onCpu];
    cpu.hart.loadContext(ctx);
    task.process.aspace.activate(cpu.hart.mmu);
  }
  task.execed = true;
}
