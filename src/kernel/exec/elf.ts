/**
 * The ELF64 parser of the program loader (Linux's `binfmt_elf`): a pure
 * function over the file's bytes that checks every offset and size before
 * it reads. It accepts little-endian RISC-V executables (`ET_EXEC`, and
 * `ET_DYN` for static PIE) and answers their entry point and program
 * headers; anything else is a `LinuxError`:
 *
 * - `ENOEXEC`: not ELF, not 64-bit little-endian RISC-V, not an executable,
 *   a header or program-header table that does not fit in the file, a wrong
 *   `e_phentsize`, no or too many program headers, no `PT_LOAD`, segments
 *   out of order or overlapping, segment data past the end of the file, a
 *   dynamic program (`PT_INTERP`: no dynamic linker here);
 * - `EINVAL`: a segment Linux refuses to map (`p_filesz > p_memsz`, a
 *   virtual range beyond user space or wrapping, file offset and address
 *   not congruent modulo the page size).
 *
 * Every message says which check failed.
 */
import { Errno, LinuxError } from '../../errno/index.js';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_RISCV = 243;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PT_GNU_STACK = 0x6474e551;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
/** Linux refuses a program-header table above 64 KiB (`load_elf_phdrs`). */
const MAX_PHDR_BYTES = 65536;
const PAGE = 4096;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  type: typeof ET_EXEC | typeof ET_DYN;
  entry: number;
  /** File offset of the program-header table. */
  phoff: number;
  phnum: number;
  phentsize: number;
  /** `e_flags` (RVC, float ABI). */
  flags: number;
  phdrs: ProgramHeader[];
  /** The `PT_LOAD` headers in file order (ascending `p_vaddr`). */
  loads: ProgramHeader[];
  /** `PT_GNU_STACK`'s flags when present (PF_X: an executable stack). */
  stackFlags: number | undefined;
}

function noexec(why: string): LinuxError {
  return new LinuxError(Errno.ENOEXEC, why);
}

function einval(why: string): LinuxError {
  return new LinuxError(Errno.EINVAL, why);
}

/**
 * A u64 field as a number; ENOEXEC when it exceeds 2^53 (no such offset or
 * address exists in a file or user space we can map).
 */
function u64(view: DataView, at: number, what: string): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x200000)
    throw noexec(`${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is absurd`);
  return hi * 4294967296 + lo;
}

/**
 * Parses `file` as a RISC-V ELF64 executable. `userEnd` is the end of user
 * space (segments must lie below it).
 */
export function parseElf(file: Uint8Array, userEnd: number): ElfImage {
  if (file.length < EHDR_SIZE) throw noexec(`${file.length} bytes: shorter than an ELF header`);
  if (file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) {
    throw noexec('no ELF magic');
  }
  if (file[4] !== 2) throw noexec(`ELF class ${file[4]}: not 64-bit`);
  if (file[5] !== 1) throw noexec(`ELF data encoding ${file[5]}: not little-endian`);
  if (file[6] !== 1) throw noexec(`ELF version ${file[6]}`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const type = view.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) throw noexec(`e_type ${type}: not an executable`);
  const machine = view.getUint16(18, true);
  if (machine !== EM_RISCV) throw noexec(`e_machine ${machine}: not RISC-V`);
  const entry = u64(view, 24, 'e_entry');
  const phoff = u64(view, 32, 'e_phoff');
  const flags = view.getUint32(48, true);
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phentsize !== PHDR_SIZE) throw noexec(`e_phentsize ${phentsize}, not ${PHDR_SIZE}`);
  if (phnum < 1) throw noexec('no program headers');
  if (phnum * PHDR_SIZE > MAX_PHDR_BYTES) throw noexec(`${phnum} program headers: over 64 KiB`);
  if (phoff > file.length - phnum * PHDR_SIZE) {
    throw noexec(`program headers at ${phoff} (${phnum} × ${PHDR_SIZE} bytes) past the end of the file`);
  }

  const phdrs: ProgramHeader[] = [];
  let stackFlags: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    const ph: ProgramHeader = {
      type: view.getUint32(at, true),
      flags: view.getUint32(at + 4, true),
      offset: u64(view, at + 8, `segment ${i} p_offset`),
      vaddr: u64(view, at + 16, `segment ${i} p_vaddr`),
      filesz: u64(view, at + 32, `segment ${i} p_filesz`),
      memsz: u64(view, at + 40, `segment ${i} p_memsz`),
      align: u64(view, at + 48, `segment ${i} p_align`),
    };
    phdrs.push(ph);
    if (ph.type === PT_INTERP)
      throw noexec('a dynamically linked program (PT_INTERP): only static programs run here');
    if (ph.type === PT_GNU_STACK) stackFlags = ph.flags;
  }

  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) throw noexec('no PT_LOAD segment');
  let lastEnd = -1;
  for (const [i, p] of loads.entries()) {
    // Linux's checks in load_elf_binary / elf_map.
    if (p.filesz > p.memsz) throw einval(`load segment ${i}: p_filesz ${p.filesz} > p_memsz ${p.memsz}`);
    if (p.vaddr >= userEnd || p.memsz > userEnd || userEnd - p.memsz < p.vaddr) {
      throw einval(
        `load segment ${i}: [0x${p.vaddr.toString(16)}, +0x${p.memsz.toString(16)}) beyond user space`,
      );
    }
    if (p.offset % PAGE !== p.vaddr % PAGE) {
      throw einval(`load segment ${i}: file offset and address differ modulo the page size`);
    }
    if (p.filesz > 0 && p.offset > file.length - p.filesz) {
      throw noexec(
        `load segment ${i}: data at ${p.offset}+${p.filesz} past the end of the file (${file.length})`,
      );
    }
    if (p.vaddr < lastEnd) throw noexec(`load segment ${i} overlaps or precedes the one before it`);
    lastEnd = p.vaddr + p.memsz;
  }
  return {
    type: type as typeof ET_EXEC | typeof ET_DYN,
    entry,
    phoff,
    phnum,
    phentsize,
    flags,
    phdrs,
    loads,
    stackFlags,
  };
}
