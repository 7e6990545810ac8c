/**
 * /proc (Linux's procfs), made on demand from the kernel's state: `self`,
 * each process's directory (`exe`, `cwd`, `root` and `fd/N` as magic links
 * that jump to the inode itself; `cmdline`, `environ`, `comm`, `status`,
 * `maps` in Linux's format, `mounts`), `cpuinfo`, `meminfo`, `mounts`.
 * Reading a file gives the bytes made when it was opened.
 */
import { Errno } from '../../errno/index.js';
import { MappingFlags } from '../../paging/index.js';
import type { Process } from '../process.js';
import {
  Inode as BaseInode,
  type DirEntry,
  DirInode,
  dtypeOf,
  fail,
  type Inode,
  type MagicLink,
  S_IFDIR,
  S_IFREG,
  type SuperBlock,
  SymlinkInode,
} from './inode.js';
import type { Vfs } from './vfs.js';

export const PROC_SUPER_MAGIC = 0x9fa0;

/** What /proc reads of the kernel. */
export interface ProcView {
  /** The process making the system call (Linux's `current`). */
  current(): Process;
  process(pid: number): Process | undefined;
  pids(): number[];
  readonly vfs: Vfs;
  /** Physical memory in KiB: total and free. */
  memory(): { total: number; free: number };
}

/** A generated file: its bytes are made at open. */
export class ProcFileInode extends BaseInode {
  constructor(
    sb: SuperBlock,
    ino: number,
    readonly generate: () => Uint8Array,
    perm = 0o444,
  ) {
    super(sb, ino, S_IFREG | perm, 0, 0);
  }

  get size(): number {
    return 0; // as Linux reports for /proc files
  }

  override get blocks(): number {
    return 0;
  }
}

/** A magic link: readlink shows `text`, following it lands on `jump()`. */
export class ProcLinkInode extends SymlinkInode implements MagicLink {
  constructor(
    sb: SuperBlock,
    ino: number,
    private readonly text: () => string,
    readonly jump: () => Inode | undefined,
  ) {
    super(sb, ino, 0, 0, '');
  }

  override readlink(): string {
    return this.text();
  }
}

/** A directory whose entries are made when listed or looked up. */
export class ProcDirInode extends DirInode {
  parent: DirInode;

  constructor(
    sb: SuperBlock,
    ino: number,
    parent: DirInode | undefined,
    private readonly children: () => Map<string, () => Inode>,
    /** Its name in its parent (each lookup makes a new inode, so it cannot be found by identity). */
    private readonly name?: string,
  ) {
    super(sb, ino, S_IFDIR | 0o555, 0, 0);
    this.parent = parent ?? this;
    this.nlink = 2;
  }

  override nameInParent(): string | undefined {
    return this.name;
  }

  lookup(name: string): Inode | undefined {
    return this.children().get(name)?.();
  }

  list(): DirEntry[] {
    return [...this.children()].map(([name, make]) => {
      const i = make();
      return { name, ino: i.ino, type: dtypeOf(i.mode) };
    });
  }

  create(): Inode {
    return fail(Errno.EACCES, '/proc is not writable');
  }

  link(): void {
    fail(Errno.EACCES, '/proc is not writable');
  }

  unlink(): void {
    fail(Errno.EACCES, '/proc is not writable');
  }

  rename(): void {
    fail(Errno.EACCES, '/proc is not writable');
  }
}

const enc = new TextEncoder();
const text = (s: string) => () => enc.encode(s);

/** Inode numbers that stay put for a name: /proc's inodes are made afresh on every lookup. */
class InoTable {
  private readonly map = new Map<string, number>();
  constructor(private readonly sb: SuperBlock) {}
  of(key: string): number {
    let n = this.map.get(key);
    if (n === undefined) {
      n = this.sb.nextIno();
      this.map.set(key, n);
    }
    return n;
  }
}

export function makeProcRoot(sb: SuperBlock, view: ProcView): ProcDirInode {
  const inos = new InoTable(sb);
  const file = (key: string, gen: () => Uint8Array) => () => new ProcFileInode(sb, inos.of(key), gen);
  const link = (key: string, t: () => string, jump: () => Inode | undefined) => () =>
    new ProcLinkInode(sb, inos.of(key), t, jump);

  let root: ProcDirInode;
  const pidDir = (pid: number) => (): Inode => {
    const dir: ProcDirInode = new ProcDirInode(
      sb,
      inos.of(`${pid}`),
      root,
      () => {
        const p = view.process(pid);
        const m = new Map<string, () => Inode>();
        if (p === undefined) return m;
        const ns = () => ({ root: view.vfs.root, cwd: p.cwd, creds: p.creds });
        m.set(
          'exe',
          link(
            `${pid}/exe`,
            () => p.exe,
            () => {
              if (p.exeInode !== undefined) return p.exeInode;
              try {
                return view.vfs.lookup(ns(), view.vfs.root, p.exe, true);
              } catch {
                return undefined;
              }
            },
          ),
        );
        m.set(
          'cwd',
          link(
            `${pid}/cwd`,
            () => view.vfs.pathOf(p.cwd, view.vfs.root) ?? '(unreachable)',
            () => p.cwd,
          ),
        );
        m.set(
          'root',
          link(
            `${pid}/root`,
            () => '/',
            () => view.vfs.root,
          ),
        );
        m.set(
          'cmdline',
          file(`${pid}/cmdline`, () => enc.encode(p.argv.map((a) => `${a}\0`).join(''))),
        );
        m.set(
          'environ',
          file(`${pid}/environ`, () => enc.encode(p.envp.map((a) => `${a}\0`).join(''))),
        );
        m.set(
          'comm',
          file(`${pid}/comm`, () => enc.encode(`${p.comm}\n`)),
        );
        m.set(
          'status',
          file(`${pid}/status`, () => enc.encode(statusOf(p))),
        );
        m.set(
          'maps',
          file(`${pid}/maps`, () => enc.encode(mapsOf(p))),
        );
        m.set(
          'mounts',
          file(`${pid}/mounts`, () => enc.encode(mountsOf(view.vfs))),
        );
        m.set(
          'fd',
          () =>
            new ProcDirInode(
              sb,
              inos.of(`${pid}/fd`),
              dir,
              () => {
                const fds = new Map<string, () => Inode>();
                for (const [n, f] of p.fds.entries())
                  fds.set(
                    String(n),
                    link(
                      `${pid}/fd/${n}`,
                      () => f.path,
                      () => f.inode,
                    ),
                  );
                return fds;
              },
              'fd',
            ),
        );
        return m;
      },
      String(pid),
    );
    return dir;
  };

  root = new ProcDirInode(sb, sb.nextIno(), undefined, () => {
    const m = new Map<string, () => Inode>();
    m.set(
      'self',
      link(
        'self',
        () => String(view.current().pid),
        () => pidDir(view.current().pid)(),
      ),
    );
    for (const pid of view.pids()) m.set(String(pid), pidDir(pid));
    m.set('cpuinfo', file('cpuinfo', text(CPUINFO)));
    m.set(
      'meminfo',
      file('meminfo', () => {
        const { total, free } = view.memory();
        return enc.encode(
          `MemTotal:       ${String(total).padStart(8)} kB\nMemFree:        ${String(free).padStart(8)} kB\n` +
            `MemAvailable:   ${String(free).padStart(8)} kB\n`,
        );
      }),
    );
    m.set(
      'mounts',
      file('mounts', () => enc.encode(mountsOf(view.vfs))),
    );
    return m;
  });
  return root;
}

/** One hart, RV64GC, as Linux's /proc/cpuinfo prints it on riscv64. */
const CPUINFO =
  'processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc_zicsr_zifencei_zba_zbb_zbs\nmmu\t\t: sv39\n' +
  'uarch\t\t: axptr\nmvendorid\t: 0x0\nmarchid\t\t: 0x0\nmimpid\t\t: 0x0\n\n';

function mountsOf(vfs: Vfs): string {
  return vfs.mounts
    .map((m) => `${m.source} ${m.path} ${m.root.sb.type} ${m.root.sb.readOnly ? 'ro' : 'rw'} 0 0\n`)
    .join('');
}

function statusOf(p: Process): string {
  return (
    `Name:\t${p.comm}\nUmask:\t${p.umask.toString(8).padStart(4, '0')}\nState:\tR (running)\n` +
    `Tgid:\t${p.pid}\nPid:\t${p.pid}\nPPid:\t${p.parent?.pid ?? 0}\n` +
    `Uid:\t${p.creds.uid}\t${p.creds.uid}\t${p.creds.uid}\t${p.creds.uid}\n` +
    `Gid:\t${p.creds.gid}\t${p.creds.gid}\t${p.creds.gid}\t${p.creds.gid}\n` +
    `FDSize:\t${Math.max(64, p.fds.size)}\nThreads:\t${p.tasks.size}\n` +
    `SigBlk:\t${(p.leader?.sigmask ?? 0n).toString(16).padStart(16, '0')}\n`
  );
}

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');

/** /proc/PID/maps: "start-end perms offset dev inode path", as Linux prints it. */
function mapsOf(p: Process): string {
  let out = '';
  for (const a of p.aspace.iterAreas()) {
    const perms =
      ((a.flags & MappingFlags.READ) !== 0 ? 'r' : '-') +
      ((a.flags & MappingFlags.WRITE) !== 0 ? 'w' : '-') +
      ((a.flags & MappingFlags.EXECUTE) !== 0 ? 'x' : '-') +
      (a.backend.kind === 'shared' ? 's' : 'p');
    const src = (a.backend as { source?: object; vaOffset?: number }).source;
    const named = src === undefined ? undefined : p.mappedFiles.get(src);
    const offset =
      named !== undefined ? a.start - ((a.backend as { vaOffset?: number }).vaOffset ?? a.start) : 0;
    let name = named?.path ?? '';
    if (a.start <= p.program.stackBottom && p.program.stackBottom < a.end) name = '[stack]';
    // Linux's test: an anonymous area that reaches [start_brk, brk] (the heap, merged with .bss or not).
    else if (named === undefined && a.start <= p.brk && a.end >= pageUp(p.brkStart)) name = '[heap]';
    // show_map_vma: the header ends in a space; a name is padded to column 73.
    const head = `${hex(a.start, 8)}-${hex(a.end, 8)} ${perms} ${hex(offset, 8)} ${named ? '00:01' : '00:00'} ${
      named?.ino ?? 0
    } `;
    out += name === '' ? `${head}\n` : `${head.padEnd(72)} ${name}\n`;
  }
  return out;
}

const pageUp = (v: number) => Math.ceil(v / 4096) * 4096;
