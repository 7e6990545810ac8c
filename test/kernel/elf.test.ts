/**
 * The ELF parser and loader: a real static RISC-V executable (from the
 * riscv-tests suite, with one RWX PT_LOAD and .bss) loads with Linux's
 * initial stack; every malformed variant ends in the errno Linux gives with
 * a message; mutated and truncated files never throw anything else, never
 * hang, and never leak a frame.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Errno, LinuxError } from 'axptr/errno';
import { AT, ELF_ET_DYN_BASE, FilePages, HWCAP_RV64GC, loadElf, parseElf, STACK_SIZE } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { Machine, MappingFlags, PTE_FORMATS } from 'axptr/paging';
import fc from 'fast-check';

const SAMPLE = fileURLToPath(new URL('../../../shared/riscv-tests/bin/rv64ui-p-add', import.meta.url));
const USER_END = 2 ** 38;

function sample(t: { skip(why: string): void }): Uint8Array | undefined {
  if (existsSync(SAMPLE)) return new Uint8Array(readFileSync(SAMPLE));
  const why = `sample ELF not found at ${SAMPLE}`;
  if (process.env.CI === 'true') assert.fail(why);
  t.skip(why);
  return undefined;
}

function patched(file: Uint8Array, edit: (v: DataView) => void): Uint8Array {
  const copy = file.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

function errnoOf(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof LinuxError) return e.errno;
    throw e;
  }
}

function freshSpace(memFrames = 4096) {
  const machine = new Machine({ memSize: memFrames * 4096 });
  const aspace = new AddrSpace({
    base: 0x1000,
    size: USER_END - 0x1000,
    format: PTE_FORMATS['riscv64-sv39'],
    machine,
  });
  return { machine, aspace };
}

/** Offset of program header `i`'s field at `off` in the sample (e_phoff = 64). */
const ph = (i: number, off: number) => 64 + i * 56 + off;

describe('ELF parser', () => {
  test('a static RISC-V executable parses', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    const img = parseElf(file, USER_END);
    assert.equal(img.type, 2);
    assert.equal(img.entry, 0x100c0);
    assert.equal(img.phnum, 2);
    assert.equal(img.loads.length, 1);
    assert.deepEqual(
      [img.loads[0].vaddr, img.loads[0].offset, img.loads[0].filesz, img.loads[0].memsz, img.loads[0].flags],
      [0x10000, 0, 0x51e, 0x540, 7],
    );
  });

  test('every malformed variant is the errno Linux gives, with a message', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    const cases: [string, Uint8Array, number][] = [
      ['empty', new Uint8Array(0), Errno.ENOEXEC],
      ['shorter than a header', file.subarray(0, 63), Errno.ENOEXEC],
      ['bad magic', patched(file, (v) => v.setUint8(1, 0x46)), Errno.ENOEXEC],
      ['32-bit class', patched(file, (v) => v.setUint8(4, 1)), Errno.ENOEXEC],
      ['big-endian', patched(file, (v) => v.setUint8(5, 2)), Errno.ENOEXEC],
      ['relocatable object', patched(file, (v) => v.setUint16(16, 1, true)), Errno.ENOEXEC],
      ['x86-64 machine', patched(file, (v) => v.setUint16(18, 62, true)), Errno.ENOEXEC],
      ['wrong phentsize', patched(file, (v) => v.setUint16(54, 32, true)), Errno.ENOEXEC],
      ['no program headers', patched(file, (v) => v.setUint16(56, 0, true)), Errno.ENOEXEC],
      ['too many program headers', patched(file, (v) => v.setUint16(56, 2000, true)), Errno.ENOEXEC],
      [
        'program headers past the end',
        patched(file, (v) => v.setUint32(32, file.length - 10, true)),
        Errno.ENOEXEC,
      ],
      ['an absurd e_phoff', patched(file, (v) => v.setUint32(36, 0xffff_ffff, true)), Errno.ENOEXEC],
      ['dynamic (PT_INTERP)', patched(file, (v) => v.setUint32(ph(0, 0), 3, true)), Errno.ENOEXEC],
      ['no PT_LOAD', patched(file, (v) => v.setUint32(ph(1, 0), 4, true)), Errno.ENOEXEC],
      ['p_filesz > p_memsz', patched(file, (v) => v.setUint32(ph(1, 32), 0x600, true)), Errno.EINVAL],
      ['beyond user space', patched(file, (v) => v.setUint32(ph(1, 20), 0x40, true)), Errno.EINVAL],
      [
        'offset and address not congruent',
        patched(file, (v) => v.setUint32(ph(1, 16), 0x10008, true)),
        Errno.EINVAL,
      ],
      [
        'segment data past the end',
        patched(file, (v) => {
          v.setUint32(ph(1, 32), 0x5000, true);
          v.setUint32(ph(1, 40), 0x5000, true);
        }),
        Errno.ENOEXEC,
      ],
      ['truncated segment data', file.subarray(0, 0x400), Errno.ENOEXEC],
    ];
    for (const [name, bytes, errno] of cases) {
      let message = '';
      const got = errnoOf(() => {
        try {
          parseElf(bytes, USER_END);
        } catch (e) {
          message = (e as Error).message;
          throw e;
        }
      });
      assert.equal(got, errno, name);
      assert.ok(message.length > 12, `${name}: a message (${message})`);
    }
  });

  test('overlapping or unsorted load segments are ENOEXEC', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    // Turn segment 0 (RISCV_ATTRIBUTES) into a PT_LOAD over the same addresses as segment 1.
    const two = patched(file, (v) => {
      v.setUint32(ph(0, 0), 1, true);
      v.setUint32(ph(0, 8), 0, true); // offset 0
      v.setUint32(ph(0, 16), 0x10000, true); // vaddr
      v.setUint32(ph(0, 32), 0x100, true);
      v.setUint32(ph(0, 40), 0x100, true);
    });
    assert.equal(
      errnoOf(() => parseElf(two, USER_END)),
      Errno.ENOEXEC,
    );
  });

  test('mutated and truncated files: a result or a LinuxError, never a leak', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(255), fc.nat(255)), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(file.length), { nil: undefined }),
        (edits, cut) => {
          const bytes = file.slice(0, cut ?? file.length);
          // Mutations land in the headers (the first 256 bytes), where the parser looks.
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          const r = errnoOf(() => parseElf(bytes, USER_END));
          assert.ok(r === 'ok' || r === Errno.ENOEXEC || r === Errno.EINVAL, `got ${r}`);
          const { machine, aspace } = freshSpace(1024);
          const used = machine.frames.usedFrames;
          const pages = new FilePages(machine.frames, machine.mem, bytes);
          const l = errnoOf(() =>
            loadElf(aspace, bytes, pages, { argv: ['p'], envp: [], random: new Uint8Array(16) }),
          );
          assert.ok(
            l === 'ok' || l === Errno.ENOEXEC || l === Errno.EINVAL || l === Errno.ENOMEM,
            `load ${l}`,
          );
          aspace.destroy();
          pages.release();
          assert.equal(machine.frames.usedFrames, used - 1, 'only the root table was freed with the space');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ELF loader', () => {
  test('segments, .bss, the break and the stack as Linux builds them', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    const { aspace, machine } = freshSpace();
    const pages = new FilePages(machine.frames, machine.mem, file);
    const random = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    const prog = loadElf(aspace, file, pages, {
      argv: ['/bin/prog', 'one', ''],
      envp: ['HOME=/root', 'TERM=dumb'],
      execfn: '/bin/prog',
      random,
      uid: 1000,
      gid: 100,
    });
    assert.equal(prog.entry, 0x100c0);
    assert.equal(prog.brk, 0x11000, 'the page after the highest segment');
    assert.equal(prog.phdr, 0x10040);
    // The segment: its bytes from the file, RWX | USER, .bss zero.
    const seg = aspace.findArea(0x10000)!;
    assert.equal(
      seg.flags,
      MappingFlags.USER | MappingFlags.READ | MappingFlags.WRITE | MappingFlags.EXECUTE,
    );
    const text = new Uint8Array(0x51e);
    aspace.read(0x10000, text);
    assert.deepEqual(text, file.subarray(0, 0x51e));
    const bss = new Uint8Array(0x540 - 0x51e + (0x1000 - 0x540));
    aspace.read(0x1051e, bss);
    assert.ok(
      bss.every((b) => b === 0),
      'the partial page after p_filesz is zero',
    );
    // The stack.
    const stack = aspace.findArea(USER_END - 1)!;
    assert.deepEqual([stack.start, stack.end], [USER_END - STACK_SIZE, USER_END]);
    assert.equal(prog.sp % 16, 0);
    const words = (at: number, n: number) => {
      const b = new Uint8Array(n * 8);
      aspace.read(at, b);
      const v = new DataView(b.buffer);
      return Array.from({ length: n }, (_, i) => Number(v.getBigUint64(i * 8, true)));
    };
    const cstr = (at: number) => {
      const b = new Uint8Array(256);
      aspace.read(at, b.subarray(0, Math.min(256, USER_END - at)));
      return new TextDecoder().decode(b.subarray(0, b.indexOf(0)));
    };
    const [argc, ...rest] = words(prog.sp, 1 + 3 + 1 + 2 + 1);
    assert.equal(argc, 3);
    assert.deepEqual(rest.slice(0, 3).map(cstr), ['/bin/prog', 'one', '']);
    assert.equal(rest[3], 0);
    assert.deepEqual(rest.slice(4, 6).map(cstr), ['HOME=/root', 'TERM=dumb']);
    assert.equal(rest[6], 0);
    // Strings in copy_strings order: argv lowest, then envp, then the file name, 8 bytes below the top.
    assert.ok(rest[0] < rest[1] && rest[2] < rest[4] && rest[5] < USER_END - 8);
    const auxAt = prog.sp + 8 * 8;
    const aux = words(auxAt, prog.auxv.length * 2);
    const auxv = new Map<number, number>();
    for (let i = 0; i < aux.length; i += 2) auxv.set(aux[i], aux[i + 1]);
    assert.equal(aux[aux.length - 2], AT.NULL);
    assert.equal(auxv.get(AT.PAGESZ), 4096);
    assert.equal(auxv.get(AT.PHDR), 0x10040);
    assert.equal(auxv.get(AT.PHENT), 56);
    assert.equal(auxv.get(AT.PHNUM), 2);
    assert.equal(auxv.get(AT.ENTRY), 0x100c0);
    assert.equal(auxv.get(AT.UID), 1000);
    assert.equal(auxv.get(AT.EGID), 100);
    assert.equal(auxv.get(AT.HWCAP), HWCAP_RV64GC);
    assert.equal(HWCAP_RV64GC, 0x112d);
    assert.equal(cstr(auxv.get(AT.EXECFN)!), '/bin/prog');
    const r = new Uint8Array(16);
    aspace.read(auxv.get(AT.RANDOM)!, r);
    assert.deepEqual(r, random);
    // The program headers at AT_PHDR are the file's.
    const phdrs = new Uint8Array(2 * 56);
    aspace.read(0x10040, phdrs);
    assert.deepEqual(phdrs, file.subarray(64, 64 + 112));
    aspace.destroy();
    pages.release();
  });

  test('a static PIE goes to riscv64 Linux ELF_ET_DYN_BASE', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    const pie = patched(file, (v) => v.setUint16(16, 3, true));
    const { aspace, machine } = freshSpace();
    const pages = new FilePages(machine.frames, machine.mem, pie);
    const prog = loadElf(aspace, pie, pages, { argv: ['p'], envp: [], random: new Uint8Array(16) });
    assert.equal(ELF_ET_DYN_BASE, 0x2a_aaaa_aaaa);
    assert.equal(prog.bias, 0x2a_aaaa_a000 - 0x10000);
    assert.equal(prog.entry, 0x2a_aaaa_a000 + 0xc0);
    assert.ok(aspace.findArea(prog.entry) !== undefined);
    aspace.destroy();
    pages.release();
  });

  test('arguments that do not fit in the stack are E2BIG', (t) => {
    const file = sample(t);
    if (file === undefined) return;
    const { aspace, machine } = freshSpace();
    const pages = new FilePages(machine.frames, machine.mem, file);
    const big = 'x'.repeat(1 << 20);
    assert.equal(
      errnoOf(() =>
        loadElf(aspace, file, pages, { argv: Array(9).fill(big), envp: [], random: new Uint8Array(16) }),
      ),
      Errno.E2BIG,
    );
    aspace.destroy();
    pages.release();
  });
});
