/**
 * The program loader (Linux's `load_elf_binary` and `create_elf_tables`):
 * maps an executable's `PT_LOAD` segments into a fresh address space and
 * builds the initial stack exactly as Linux lays it out.
 *
 * - Segments map privately from the file's pages (the private-file backend:
 *   read-only sharing, copy on the first write); the part of the last file
 *   page after `p_filesz` is zeroed when the segment has `.bss`, and the
 *   rest of `p_memsz` is anonymous memory. Each segment gets its `PF_*`
 *   permissions, with USER.
 * - A static PIE (`ET_DYN`) is placed at Linux's `ELF_ET_DYN_BASE` for
 *   riscv64 (2/3 of the default 2^38 map window), aligned to its largest
 *   `p_align`.
 * - The program break starts at the page after the highest segment.
 * - The stack is `RLIMIT_STACK` (8 MiB) of lazy memory below the top of user
 *   space (riscv64's `STACK_TOP` is `TASK_SIZE`), executable only when
 *   `PT_GNU_STACK` asks for it.
 * - The initial stack, from the top: an 8-byte gap, the file name
 *   (`AT_EXECFN`), the environment strings, the argument strings (Linux's
 *   `copy_strings` order), then 16-byte alignment, the 16 `AT_RANDOM` bytes,
 *   and, 16-byte aligned, `argc`, `argv[]`, NULL, `envp[]`, NULL and the
 *   auxiliary vector ending in `AT_NULL`; `sp` points at `argc`.
 */
import { Errno, LinuxError } from '../../errno/index.js';
import type { AddrSpace, PageSource } from '../../mm/index.js';
import { MappingFlags } from '../../paging/index.js';
import { type ElfImage, ET_DYN, PF_R, PF_W, PF_X, PHDR_SIZE, PT_PHDR, parseElf } from './elf.js';

const PAGE = 4096;
/** riscv64's ELF_ET_DYN_BASE: (DEFAULT_MAP_WINDOW / 3) * 2 with a 2^38 window. */
export const ELF_ET_DYN_BASE = Math.floor(2 ** 38 / 3) * 2;
/** The default RLIMIT_STACK. */
export const STACK_SIZE = 8 << 20;

// Auxiliary vector types (include/uapi/linux/auxvec.h).
export const AT = {
  NULL: 0,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  HWCAP: 16,
  CLKTCK: 17,
  SECURE: 23,
  RANDOM: 25,
  EXECFN: 31,
} as const;

/** AT_HWCAP for RV64GC: one bit per single-letter extension (I, M, A, F, D, C). */
export const HWCAP_RV64GC = [...'IMAFDC'].reduce((m, c) => m | (1 << (c.charCodeAt(0) - 65)), 0);

export interface ExecArgs {
  argv: readonly string[];
  envp: readonly string[];
  /** The name the program was run as (`AT_EXECFN`); argv[0] by default. */
  execfn?: string;
  /** The 16 bytes behind `AT_RANDOM`. */
  random: Uint8Array;
  uid?: number;
  gid?: number;
  /** `AT_CLKTCK` (default 100). */
  clockTicks?: number;
}

export interface LoadedProgram {
  entry: number;
  /** The initial stack pointer (the address of argc). */
  sp: number;
  /** Where the program break starts. */
  brk: number;
  /** The load bias (0 for ET_EXEC). */
  bias: number;
  /** The address of the program headers in memory (AT_PHDR). */
  phdr: number;
  /** The lowest address of the stack area. */
  stackBottom: number;
  image: ElfImage;
  /** The auxiliary vector as written, [type, value] pairs (AT_NULL last). */
  auxv: [number, number][];
}

function segmentFlags(pf: number): MappingFlags {
  let f = MappingFlags.USER;
  if (pf & PF_R) f |= MappingFlags.READ;
  if (pf & PF_W) f |= MappingFlags.WRITE;
  if (pf & PF_X) f |= MappingFlags.EXECUTE;
  return f;
}

const pageDown = (v: number) => v - (v % PAGE);
const pageUp = (v: number) => Math.ceil(v / PAGE) * PAGE;

/**
 * Loads `file` (whose pages `pages` serves) into `aspace`, which should be
 * empty, and builds its initial stack. `ENOEXEC` / `EINVAL` from the parser,
 * `E2BIG` when the strings do not fit in the stack, `ENOMEM` when memory runs
 * out (the caller destroys the half-built space, as Linux's exec fails past
 * the point of no return).
 */
export function loadElf(
  aspace: AddrSpace,
  file: Uint8Array,
  pages: PageSource,
  args: ExecArgs,
): LoadedProgram {
  const image = parseElf(file, aspace.end);
  let bias = 0;
  if (image.type === ET_DYN) {
    const align = Math.max(
      PAGE,
      ...image.loads.map((p) => (p.align > 0 && (p.align & (p.align - 1)) === 0 ? p.align : PAGE)),
    );
    bias = Math.floor(ELF_ET_DYN_BASE / align) * align - pageDown(image.loads[0].vaddr);
  }
  let brk = 0;
  for (const p of image.loads) {
    const start = bias + p.vaddr;
    const first = pageDown(start);
    const flags = segmentFlags(p.flags);
    const fileEnd = start + p.filesz;
    if (p.filesz > 0) {
      aspace.mapFile(first, pageUp(fileEnd) - first, flags, pages, p.offset - (start - first), true);
    }
    const memEnd = start + p.memsz;
    // .bss: zero the rest of the last file page (Linux's padzero), then anonymous pages.
    if (p.memsz > p.filesz) {
      if (p.filesz > 0 && fileEnd % PAGE !== 0) {
        aspace.write(fileEnd, new Uint8Array(pageUp(fileEnd) - fileEnd)); // to the end of the page, as padzero
      }
      const anonStart = p.filesz > 0 ? pageUp(fileEnd) : first;
      if (pageUp(memEnd) > anonStart)
        aspace.mapAlloc(anonStart, pageUp(memEnd) - anonStart, flags, false, true);
    }
    brk = Math.max(brk, pageUp(memEnd));
  }

  // AT_PHDR: PT_PHDR's address, else where the table lies inside a loaded segment.
  let phdr = 0;
  const pt = image.phdrs.find((p) => p.type === PT_PHDR);
  if (pt !== undefined) phdr = bias + pt.vaddr;
  else {
    const seg = image.loads.find(
      (p) => image.phoff >= p.offset && image.phoff + image.phnum * PHDR_SIZE <= p.offset + p.filesz,
    );
    if (seg !== undefined) phdr = bias + seg.vaddr + (image.phoff - seg.offset);
  }

  const top = aspace.end;
  const stackBottom = top - STACK_SIZE;
  const stackFlags =
    MappingFlags.USER |
    MappingFlags.READ |
    MappingFlags.WRITE |
    ((image.stackFlags ?? 0) & PF_X ? MappingFlags.EXECUTE : 0);
  aspace.mapAlloc(stackBottom, STACK_SIZE, stackFlags, false, true);
  const built = buildStack(top, stackBottom, image, bias, phdr, args);
  aspace.write(built.sp, built.bytes);
  return { entry: bias + image.entry, sp: built.sp, brk, bias, phdr, stackBottom, image, auxv: built.auxv };
}

const utf8 = new TextEncoder();

/** The initial stack's bytes, from `sp` up to `top`. */
function buildStack(
  top: number,
  bottom: number,
  image: ElfImage,
  bias: number,
  phdr: number,
  args: ExecArgs,
): { sp: number; bytes: Uint8Array; auxv: [number, number][] } {
  if (args.random.length !== 16) throw new TypeError('AT_RANDOM needs 16 bytes');
  // copy_strings: the file name first (highest), then envp and argv from the last string down.
  let p = top - 8;
  const placed: { at: number; bytes: Uint8Array }[] = [];
  const place = (s: string): number => {
    const b = utf8.encode(`${s}\0`);
    p -= b.length;
    placed.push({ at: p, bytes: b });
    return p;
  };
  const execfnAt = place(args.execfn ?? args.argv[0] ?? '');
  const envAt: number[] = [];
  for (let i = args.envp.length - 1; i >= 0; i--) envAt[i] = place(args.envp[i]);
  const argAt: number[] = [];
  for (let i = args.argv.length - 1; i >= 0; i--) argAt[i] = place(args.argv[i]);
  // create_elf_tables: align, the random bytes, then the tables, 16-byte aligned.
  p -= p % 16;
  p -= 16;
  const randomAt = p;
  placed.push({ at: randomAt, bytes: args.random });
  const auxv: [number, number][] = [
    [AT.HWCAP, HWCAP_RV64GC],
    [AT.PAGESZ, PAGE],
    [AT.CLKTCK, args.clockTicks ?? 100],
    [AT.PHDR, phdr],
    [AT.PHENT, PHDR_SIZE],
    [AT.PHNUM, image.phnum],
    [AT.BASE, 0],
    [AT.FLAGS, 0],
    [AT.ENTRY, bias + image.entry],
    [AT.UID, args.uid ?? 0],
    [AT.EUID, args.uid ?? 0],
    [AT.GID, args.gid ?? 0],
    [AT.EGID, args.gid ?? 0],
    [AT.SECURE, 0],
    [AT.RANDOM, randomAt],
    [AT.EXECFN, execfnAt],
    [AT.NULL, 0],
  ];
  const words = 1 + args.argv.length + 1 + args.envp.length + 1 + auxv.length * 2;
  let sp = p - words * 8;
  sp -= sp % 16;
  if (sp < bottom + PAGE)
    throw new LinuxError(Errno.E2BIG, 'arguments and environment do not fit in the stack');
  const bytes = new Uint8Array(top - sp);
  const view = new DataView(bytes.buffer);
  let w = 0;
  const word = (v: number) => {
    view.setBigUint64(w, BigInt(v), true);
    w += 8;
  };
  word(args.argv.length);
  for (const a of argAt) word(a);
  word(0);
  for (const e of envAt) word(e);
  word(0);
  for (const [t, v] of auxv) {
    word(t);
    word(v);
  }
  for (const s of placed) bytes.set(s.bytes, s.at - sp);
  return { sp, bytes, auxv };
}
