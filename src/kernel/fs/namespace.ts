/**
 * The file system a guest sees (a sandbox by default): a memory-fs root
 * with /tmp, /dev (the memory devices, tty, and the std* and fd links into
 * /proc/self/fd), /proc, and the host directories the user mounted.
 */
import { Errno } from '../../errno/index.js';
import type { FrameAllocator, PhysMemory } from '../../paging/index.js';
import type { Host } from '../host.js';
import {
  type CharDriver,
  ConsoleInode,
  DEV_FULL,
  DEV_NULL,
  DEV_RANDOM,
  DEV_TTY,
  DEV_URANDOM,
  DEV_ZERO,
  memDrivers,
} from './devices.js';
import { DirInode, fail } from './inode.js';
import { type MemDir, MemSuperBlock } from './memfs.js';
import { makeProcRoot, PROC_SUPER_MAGIC, type ProcView } from './proc.js';
import { Vfs } from './vfs.js';

export interface Namespace {
  readonly vfs: Vfs;
  readonly drivers: Map<number, CharDriver>;
  /** The host's standard streams as inodes (fds 0, 1, 2 of a new process). */
  readonly console: readonly [ConsoleInode, ConsoleInode, ConsoleInode];
  /** The kernel's internal file system for pipes. */
  readonly pipefs: MemSuperBlock;
}

export function buildNamespace(
  frames: FrameAllocator,
  mem: PhysMemory,
  host: Host,
  proc: Omit<ProcView, 'vfs'>,
): Namespace {
  const now = () => host.realtimeNs();
  const rootSb = new MemSuperBlock(0x1, frames, mem, now, 'rootfs');
  const root = rootSb.makeRoot(0o755);
  const vfs = new Vfs(root);

  const tmpSb = new MemSuperBlock(0x2, frames, mem, now);
  const tmp = tmpSb.makeRoot(0o1777);
  vfs.mount(root.create('tmp', { kind: 'dir' }, 0o1777, 0, 0) as DirInode, tmp, '/tmp', 'tmpfs');

  const devSb = new MemSuperBlock(0x5, frames, mem, now, 'devtmpfs');
  const dev = devSb.makeRoot(0o755);
  vfs.mount(root.create('dev', { kind: 'dir' }, 0o755, 0, 0) as DirInode, dev, '/dev', 'devtmpfs');
  const nodes: [string, number, number][] = [
    ['null', DEV_NULL, 0o666],
    ['zero', DEV_ZERO, 0o666],
    ['full', DEV_FULL, 0o666],
    ['random', DEV_RANDOM, 0o666],
    ['urandom', DEV_URANDOM, 0o666],
    ['tty', DEV_TTY, 0o666],
  ];
  for (const [name, rdev, perm] of nodes) dev.create(name, { kind: 'chr', rdev }, perm, 0, 0);
  for (const [name, target] of [
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
    ['fd', '/proc/self/fd'],
  ] as const)
    dev.create(name, { kind: 'symlink', target }, 0o777, 0, 0);
  dev.create('shm', { kind: 'dir' }, 0o1777, 0, 0);

  const procSb = new MemSuperBlock(0x3, frames, mem, now, 'proc', PROC_SUPER_MAGIC, true);
  const procRoot = makeProcRoot(procSb, { ...proc, vfs });
  vfs.mount(root.create('proc', { kind: 'dir' }, 0o555, 0, 0) as DirInode, procRoot, '/proc', 'proc');

  const consoleSb = new MemSuperBlock(0x16, frames, mem, now, 'devpts');
  const console = [0, 1, 2].map((fd) => new ConsoleInode(consoleSb, host, fd as 0 | 1 | 2)) as [
    ConsoleInode,
    ConsoleInode,
    ConsoleInode,
  ];
  const pipefs = new MemSuperBlock(0xc, frames, mem, now, 'pipefs');
  return { vfs, drivers: memDrivers(host), console, pipefs };
}

/**
 * Makes the directories of `path` in the memory fs (mkdir -p) for a mount
 * point; answers the last. A component that is a mount of another file
 * system is refused: mount points live in the kernel's own tree.
 */
export function makeMountPoint(vfs: Vfs, path: string): DirInode {
  let dir: DirInode = vfs.root;
  for (const name of path.split('/').filter((p) => p !== '' && p !== '.')) {
    if (name === '..') fail(Errno.EINVAL, `mount point ${path} has ".."`);
    let next = dir.lookup(name);
    if (next === undefined) next = (dir as MemDir).create(name, { kind: 'dir' }, 0o755, 0, 0);
    next = vfs.crossDown(next);
    if (!(next instanceof DirInode) || !(next.sb instanceof MemSuperBlock) || next.sb.readOnly)
      fail(Errno.ENOTDIR, `mount point ${path}: ${name} is not a directory of the kernel's own tree`);
    dir = next;
  }
  return dir;
}
