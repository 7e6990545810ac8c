/**
 * Page-table-entry codecs: golden entries derived by hand from the
 * architecture manuals, and round-trip properties.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  A64_FORMAT,
  flagsToString,
  LA64_FORMAT,
  MAIR_VALUE,
  MappingFlags,
  MemAttr,
  PTE_FORMATS,
  type PteFormat,
  SV39_FORMAT,
  SV48_FORMAT,
  X64_FORMAT,
} from 'axptr/paging';
import fc from 'fast-check';

const { EMPTY, READ: R, WRITE: W, EXECUTE: X, USER: U, DEVICE, UNCACHED } = MappingFlags;

function split(raw: bigint): [number, number] {
  return [Number(raw & 0xffff_ffffn), Number(raw >> 32n)];
}

function hex(raw: bigint): string {
  return `0x${raw.toString(16).padStart(16, '0')}`;
}

interface Golden {
  name: string;
  /** The 64-bit entry as it sits in memory. */
  raw: bigint;
  paddr: number;
  /** What `flags()` reports. */
  flags: MappingFlags;
  present: boolean;
  huge: boolean;
  /**
   * How our encoder builds it: `newPage(paddr, flags, huge)` or
   * `newTable(paddr)`; `expect` when the encoding differs from `raw` (bits
   * that hardware or other software set). Omitted for decode-only entries.
   */
  build?: { page: MappingFlags; huge: boolean; expect?: bigint } | { table: true; expect?: bigint };
}

function checkGolden(format: PteFormat, cases: readonly Golden[]): void {
  for (const c of cases) {
    test(`${c.name} = ${hex(c.raw)}`, () => {
      const [lo, hi] = split(c.raw);
      assert.equal(format.paddr(lo, hi), c.paddr, 'paddr');
      assert.equal(flagsToString(format.flags(lo, hi)), flagsToString(c.flags), 'flags');
      assert.equal(format.isPresent(lo, hi), c.present, 'isPresent');
      assert.equal(format.isHuge(lo, hi), c.huge, 'isHuge');
      if (c.build !== undefined) {
        const built =
          'table' in c.build ? format.newTable(c.paddr) : format.newPage(c.paddr, c.build.page, c.build.huge);
        assert.equal(hex(built), hex(c.build.expect ?? c.raw), 'encoding');
      }
    });
  }
}

// ---------------------------------------------------------------------------
// x86_64 (Intel SDM vol. 3, §4.5, tables 4-15..4-20): P=0 R/W=1 U/S=2 PWT=3
// PCD=4 A=5 D=6 PS=7 G=8, address bits 12..51, XD=63.
// ---------------------------------------------------------------------------
describe('x86_64 golden entries', () => {
  checkGolden(X64_FORMAT, [
    {
      // XD (bit 63) | addr | U/S(4) | R/W(2) | P(1) = 0x7
      name: '4K user RW no-exec PTE',
      raw: 0x8000_0000_1234_5007n,
      paddr: 0x1234_5000,
      flags: R | W | U,
      present: true,
      huge: false,
      build: { page: R | W | U, huge: false },
    },
    {
      // ... after the walker set A (0x20) and D (0x40): 0x7 | 0x60 = 0x67
      name: 'the same PTE with A and D set by hardware',
      raw: 0x8000_0000_1234_5067n,
      paddr: 0x1234_5000,
      flags: R | W | U,
      present: true,
      huge: false,
      build: { page: R | W | U, huge: false, expect: 0x8000_0000_1234_5007n },
    },
    {
      // P only, XD clear: read + execute, supervisor
      name: '4K kernel RX PTE',
      raw: 0x0000_0000_0010_0001n,
      paddr: 0x0010_0000,
      flags: R | X,
      present: true,
      huge: false,
      build: { page: R | X, huge: false },
    },
    {
      // EXECUTE alone encodes the same way: x86 cannot deny reads
      name: '4K kernel X-only request (READ is implied)',
      raw: 0x0000_0000_0010_0001n,
      paddr: 0x0010_0000,
      flags: R | X,
      present: true,
      huge: false,
      build: { page: X, huge: false },
    },
    {
      // PDE mapping 2 MiB: XD | PS(0x80) | R/W | P = 0x83
      name: '2M kernel RW no-exec PDE',
      raw: 0x8000_0000_4020_0083n,
      paddr: 0x4020_0000,
      flags: R | W,
      present: true,
      huge: true,
      build: { page: R | W, huge: true },
    },
    {
      // PDPTE mapping 1 GiB at 0x1_4000_0000: PS | U/S | R/W | P = 0x87, XD clear
      name: '1G user RWX PDPTE',
      raw: 0x0000_0001_4000_0087n,
      paddr: 0x1_4000_0000,
      flags: R | W | X | U,
      present: true,
      huge: true,
      build: { page: R | W | X | U, huge: true },
    },
    {
      // PML4E/PDPTE/PDE referencing a table: U/S | R/W | P = 0x7
      name: 'table entry',
      raw: 0x0000_0000_0000_3007n,
      paddr: 0x3000,
      flags: R | W | X | U,
      present: true,
      huge: false,
      build: { table: true },
    },
    {
      // XD | PCD(0x10) | PWT(0x08) | R/W | P = 0x1b; DEVICE reads back as UNCACHED
      name: 'device RW (local APIC page)',
      raw: 0x8000_0000_fee0_001bn,
      paddr: 0xfee0_0000,
      flags: R | W | UNCACHED,
      present: true,
      huge: false,
      build: { page: R | W | DEVICE, huge: false },
    },
    {
      name: 'uncached RW',
      raw: 0x8000_0000_fee0_001bn,
      paddr: 0xfee0_0000,
      flags: R | W | UNCACHED,
      present: true,
      huge: false,
      build: { page: R | W | UNCACHED, huge: false },
    },
    {
      // highest 4K frame below 2^52: address bits 12..51 all set; XD | P
      name: 'kernel RO page at the 52-bit PA limit',
      raw: 0x800f_ffff_ffff_f001n,
      paddr: 0x000f_ffff_ffff_f000,
      flags: R,
      present: true,
      huge: false,
      build: { page: R, huge: false },
    },
    {
      name: 'table at the 52-bit PA limit',
      raw: 0x000f_ffff_ffff_f007n,
      paddr: 0x000f_ffff_ffff_f000,
      flags: R | W | X | U,
      present: true,
      huge: false,
      build: { table: true },
    },
    {
      // bits 52..62 (ignored / protection key) and G (bit 8) stay out of the address
      name: 'PTE with G and the ignored high bits set',
      raw: 0x7ff0_0000_1234_5101n,
      paddr: 0x1234_5000,
      flags: R | X,
      present: true,
      huge: false,
    },
    {
      name: 'all-zero entry',
      raw: 0n,
      paddr: 0,
      flags: EMPTY,
      present: false,
      huge: false,
      build: { page: EMPTY, huge: false },
    },
    {
      // P clear: nothing else matters
      name: 'not-present entry with an address and R/W | U/S',
      raw: 0x8000_0000_1234_5006n,
      paddr: 0x1234_5000,
      flags: EMPTY,
      present: false,
      huge: false,
    },
  ]);

  test('setFlags keeps the address and drops A/D; setPaddr keeps A/D/G/XD', () => {
    const [lo, hi] = split(0x8000_0000_1234_5167n); // G | D | A | U/S | R/W | P, XD
    assert.equal(hex(X64_FORMAT.setFlags(lo, hi, R | X, false)), hex(0x0000_0000_1234_5001n));
    assert.equal(hex(X64_FORMAT.setFlags(lo, hi, R, true)), hex(0x8000_0000_1234_5081n));
    assert.equal(hex(X64_FORMAT.setPaddr(lo, hi, 0x000a_bcde_f012_3000)), hex(0x800a_bcde_f012_3167n));
  });
});

// ---------------------------------------------------------------------------
// AArch64 VMSAv8-64 stage 1, 4K granule (Arm ARM D8.3): bits[1:0] 0b11 page
// (level 3) or table, 0b01 block (levels 1, 2); AttrIndx[4:2]; AP[1] bit 6
// (EL0); AP[2] bit 7 (RO); SH[9:8]; AF bit 10; OA bits 12..47; PXN 53; UXN 54.
// Normal memory: AttrIndx 1 (0x4) | SH 0b11 (0x300) = 0x304.
// ---------------------------------------------------------------------------
describe('AArch64 golden entries', () => {
  checkGolden(A64_FORMAT, [
    {
      // AF 0x400 | SH 0x300 | AP[1] 0x40 | AttrIndx1 0x4 | 0b11 = 0x747; PXN|UXN = bits 53,54
      name: 'L3 4K user RW no-exec page',
      raw: 0x0060_0000_4012_3747n,
      paddr: 0x4012_3000,
      flags: R | W | U,
      present: true,
      huge: false,
      build: { page: R | W | U, huge: false },
    },
    {
      // user executable: PXN only (bit 53); the kernel never runs user code
      name: 'L3 4K user RWX page',
      raw: 0x0020_0000_4012_3747n,
      paddr: 0x4012_3000,
      flags: R | W | X | U,
      present: true,
      huge: false,
      build: { page: R | W | X | U, huge: false },
    },
    {
      // AF | SH | AP[2] 0x80 | AttrIndx1 | 0b11 = 0x787; UXN (bit 54) only
      name: 'L3 4K kernel RX page',
      raw: 0x0040_0000_4008_0787n,
      paddr: 0x4008_0000,
      flags: R | X,
      present: true,
      huge: false,
      build: { page: R | X, huge: false },
    },
    {
      // the OS cleared AF (software access tracking): flags unchanged; we encode with AF
      name: 'L3 user RW page with AF clear',
      raw: 0x0060_0000_4012_3347n,
      paddr: 0x4012_3000,
      flags: R | W | U,
      present: true,
      huge: false,
      build: { page: R | W | U, huge: false, expect: 0x0060_0000_4012_3747n },
    },
    {
      // L2 block: AF | SH | AttrIndx1 | 0b01 = 0x705; PXN|UXN
      name: 'L2 2M kernel RW no-exec block',
      raw: 0x0060_0000_4020_0705n,
      paddr: 0x4020_0000,
      flags: R | W,
      present: true,
      huge: true,
      build: { page: R | W, huge: true },
    },
    {
      // L1 block: AF | SH | AP[2] | AP[1] | AttrIndx1 | 0b01 = 0x7c5; PXN only
      name: 'L1 1G user RX block',
      raw: 0x0020_0000_8000_07c5n,
      paddr: 0x8000_0000,
      flags: R | X | U,
      present: true,
      huge: true,
      build: { page: R | X | U, huge: true },
    },
    {
      // table descriptor: 0b11 | next-level table address. Its "flags" mean nothing
      // (AttrIndx 0 reads as DEVICE), exactly as in the crate.
      name: 'table descriptor',
      raw: 0x0000_0000_4000_1003n,
      paddr: 0x4000_1000,
      flags: R | W | X | DEVICE,
      present: true,
      huge: false,
      build: { table: true },
    },
    {
      // NSTable|APTable|XNTable|PXNTable (bits 59..63) stay out of the address
      name: 'table descriptor with table attributes set',
      raw: 0xf800_0000_4000_1003n,
      paddr: 0x4000_1000,
      flags: R | W | X | DEVICE,
      present: true,
      huge: false,
    },
    {
      // Device-nGnRE: AttrIndx 0, no SH: AF | 0b11 = 0x403; PXN|UXN
      name: 'L3 device RW page (PL011 UART)',
      raw: 0x0060_0000_0900_0403n,
      paddr: 0x0900_0000,
      flags: R | W | DEVICE,
      present: true,
      huge: false,
      build: { page: R | W | DEVICE, huge: false },
    },
    {
      // DEVICE wins over UNCACHED
      name: 'L3 device + uncached RW page',
      raw: 0x0060_0000_0900_0403n,
      paddr: 0x0900_0000,
      flags: R | W | DEVICE,
      present: true,
      huge: false,
      build: { page: R | W | DEVICE | UNCACHED, huge: false },
    },
    {
      // Normal non-cacheable: AttrIndx 2 (0x8) | SH | AF | 0b11 = 0x70b
      name: 'L3 uncached RW page',
      raw: 0x0060_0000_5000_070bn,
      paddr: 0x5000_0000,
      flags: R | W | UNCACHED,
      present: true,
      huge: false,
      build: { page: R | W | UNCACHED, huge: false },
    },
    {
      // OA bits 12..47 all set; AF | SH | AttrIndx1 | 0b11 = 0x707; PXN|UXN
      name: 'L3 kernel RW page at the 48-bit PA limit',
      raw: 0x0060_ffff_ffff_f707n,
      paddr: 0x0000_ffff_ffff_f000,
      flags: R | W,
      present: true,
      huge: false,
      build: { page: R | W, huge: false },
    },
    {
      name: 'table at the 48-bit PA limit',
      raw: 0x0000_ffff_ffff_f003n,
      paddr: 0x0000_ffff_ffff_f000,
      flags: R | W | X | DEVICE,
      present: true,
      huge: false,
      build: { table: true },
    },
    {
      // crate quirk kept: an all-zero entry has NON_BLOCK clear, so it is "huge"
      name: 'all-zero entry',
      raw: 0n,
      paddr: 0,
      flags: EMPTY,
      present: false,
      huge: true,
    },
    {
      // no READ: no VALID bit. AF | SH | AttrIndx1 | NON_BLOCK = 0x706; PXN|UXN
      name: 'write-only request gives an invalid descriptor',
      raw: 0x0060_0000_4012_3706n,
      paddr: 0x4012_3000,
      flags: EMPTY,
      present: false,
      huge: false,
      build: { page: W, huge: false },
    },
  ]);

  test('setFlags keeps the address and rebuilds AF/NON_BLOCK; setPaddr keeps attributes', () => {
    const [lo, hi] = split(0x0068_0000_4012_3f47n); // nG (bit 11) and Contiguous (bit 52) too
    assert.equal(hex(A64_FORMAT.setFlags(lo, hi, R | X, false)), hex(0x0040_0000_4012_3787n));
    assert.equal(hex(A64_FORMAT.setFlags(lo, hi, R | W, true)), hex(0x0060_0000_4012_3705n));
    assert.equal(hex(A64_FORMAT.setPaddr(lo, hi, 0x0000_8765_4321_0000)), hex(0x0068_8765_4321_0f47n));
  });

  test('MAIR value and memory attribute indices', () => {
    assert.equal(MAIR_VALUE, 0x44_ff_04);
    assert.equal((MAIR_VALUE >> (8 * MemAttr.Device)) & 0xff, 0x04); // Device-nGnRE
    assert.equal((MAIR_VALUE >> (8 * MemAttr.Normal)) & 0xff, 0xff); // Normal WB RW-alloc
    assert.equal((MAIR_VALUE >> (8 * MemAttr.NormalNonCacheable)) & 0xff, 0x44); // Normal NC
  });
});

// ---------------------------------------------------------------------------
// RISC-V Sv39/Sv48 (privileged spec §10.3-10.5): V=0 R=1 W=2 X=3 U=4 G=5 A=6
// D=7, RSW 8..9, PPN bits 10..53 (= paddr >> 2).
// ---------------------------------------------------------------------------
const RISCV_GOLDEN: Golden[] = [
  {
    // PPN 0x80200 << 10 = 0x2008_0000; D|A|U|W|R|V = 0x80+0x40+0x10+0x4+0x2+0x1 = 0xd7
    name: '4K user RW no-exec leaf',
    raw: 0x0000_0000_2008_00d7n,
    paddr: 0x8020_0000,
    flags: R | W | U,
    present: true,
    huge: true, // crate: any leaf (R or X) is "huge"
    build: { page: R | W | U, huge: false },
  },
  {
    // written by someone else with A and D clear: 0x17; we always preset A|D
    name: 'the same leaf with A and D clear',
    raw: 0x0000_0000_2008_0017n,
    paddr: 0x8020_0000,
    flags: R | W | U,
    present: true,
    huge: true,
    build: { page: R | W | U, huge: false, expect: 0x0000_0000_2008_00d7n },
  },
  {
    // PPN 0x80000 << 10 = 0x2000_0000; D|A|X|R|V = 0xcb
    name: '4K kernel RX leaf',
    raw: 0x0000_0000_2000_00cbn,
    paddr: 0x8000_0000,
    flags: R | X,
    present: true,
    huge: true,
    build: { page: R | X, huge: false },
  },
  {
    // megapage: PPN 0x80400 << 10 = 0x2010_0000; D|A|W|R|V = 0xc7
    name: '2M kernel RW megapage',
    raw: 0x0000_0000_2010_00c7n,
    paddr: 0x8040_0000,
    flags: R | W,
    present: true,
    huge: true,
    build: { page: R | W, huge: true },
  },
  {
    // gigapage: PPN 0x100000 << 10 = 0x4000_0000; D|A|U|X|W|R|V = 0xdf
    name: '1G user RWX gigapage',
    raw: 0x0000_0000_4000_00dfn,
    paddr: 0x1_0000_0000,
    flags: R | W | X | U,
    present: true,
    huge: true,
    build: { page: R | W | X | U, huge: true },
  },
  {
    // pointer to the next level: R=W=X=0, V=1. PPN 0x80201 << 10 = 0x2008_0400
    name: 'non-leaf (table) entry',
    raw: 0x0000_0000_2008_0401n,
    paddr: 0x8020_1000,
    flags: EMPTY,
    present: true,
    huge: false,
    build: { table: true },
  },
  {
    // no Svpbmt: DEVICE is dropped. PPN 0x10000 << 10 = 0x0400_0000 | 0xc7
    name: 'device RW leaf (UART)',
    raw: 0x0000_0000_0400_00c7n,
    paddr: 0x1000_0000,
    flags: R | W,
    present: true,
    huge: true,
    build: { page: R | W | DEVICE | UNCACHED, huge: false },
  },
  {
    // PPN 0xfff_ffff_ffff (44 bits) << 10 = 0x003f_ffff_ffff_fc00; D|A|R|V = 0xc3
    name: 'kernel RO leaf at the 56-bit PA limit',
    raw: 0x003f_ffff_ffff_fcc3n,
    paddr: 0x00ff_ffff_ffff_f000,
    flags: R,
    present: true,
    huge: true,
    build: { page: R, huge: false },
  },
  {
    name: 'table at the 56-bit PA limit',
    raw: 0x003f_ffff_ffff_fc01n,
    paddr: 0x00ff_ffff_ffff_f000,
    flags: EMPTY,
    present: true,
    huge: false,
    build: { table: true },
  },
  {
    // bits 54..63 (reserved, PBMT, N) and RSW (8..9) stay out of the address
    name: 'leaf with the reserved high bits and RSW set',
    raw: 0xffc0_0000_2008_03d7n,
    paddr: 0x8020_0000,
    flags: R | W | U,
    present: true,
    huge: true,
  },
  {
    name: 'all-zero entry',
    raw: 0n,
    paddr: 0,
    flags: EMPTY,
    present: false,
    huge: false,
  },
  {
    // V clear: invalid whatever the rest says (R still makes it "huge" in the crate)
    name: 'invalid entry (V clear)',
    raw: 0x0000_0000_2008_00d6n,
    paddr: 0x8020_0000,
    flags: EMPTY,
    present: false,
    huge: true,
  },
];

describe('RISC-V Sv39 golden entries', () => {
  checkGolden(SV39_FORMAT, RISCV_GOLDEN);
});

describe('RISC-V Sv48 golden entries', () => {
  checkGolden(SV48_FORMAT, RISCV_GOLDEN);

  test('setFlags keeps the PPN and presets A|D; setPaddr keeps flags and RSW', () => {
    const [lo, hi] = split(0x0000_0000_2008_03d7n); // RSW bits set
    assert.equal(hex(SV48_FORMAT.setFlags(lo, hi, R | X, true)), hex(0x0000_0000_2008_00cbn));
    // 0x00ab_cdef_0123_4000 >> 2 = 0x002a_f37b_c048_d000
    assert.equal(hex(SV48_FORMAT.setPaddr(lo, hi, 0x00ab_cdef_0123_4000)), hex(0x002a_f37b_c048_d3d7n));
  });
});

// ---------------------------------------------------------------------------
// LoongArch64 (LoongArch Reference Manual vol. 1, §5.4, §7.5.16): V=0 D=1
// PLV=2..3 MAT=4..5 GH=6 P=7 W=8, PA bits 12..47, NR=61 NX=62 RPLV=63.
// ---------------------------------------------------------------------------
describe('LoongArch64 golden entries', () => {
  checkGolden(LA64_FORMAT, [
    {
      // W 0x100 | P 0x80 | MAT=CC 0x10 | PLV3 0xc | D 0x2 | V 0x1 = 0x19f; NX = bit 62
      name: '4K user RW no-exec page',
      raw: 0x4000_0000_0012_319fn,
      paddr: 0x0012_3000,
      flags: R | W | U,
      present: true,
      huge: false,
      build: { page: R | W | U, huge: false },
    },
    {
      // P | MAT=CC | V = 0x91; no D: read-only to the hardware (0.5.3 quirk fixed)
      name: '4K kernel RX page',
      raw: 0x0000_0000_0020_0091n,
      paddr: 0x0020_0000,
      flags: R | X,
      present: true,
      huge: false,
      build: { page: R | X, huge: false },
    },
    {
      // W | P | GH 0x40 | MAT=CC | D | V = 0x1d3; NX
      name: '2M kernel RW no-exec huge page',
      raw: 0x4000_0000_0040_01d3n,
      paddr: 0x0040_0000,
      flags: R | W,
      present: true,
      huge: true,
      build: { page: R | W, huge: true },
    },
    {
      // P | GH | MAT=CC | PLV3 | V = 0xdd
      name: '1G user RX huge page',
      raw: 0x0000_0000_4000_00ddn,
      paddr: 0x4000_0000,
      flags: R | X | U,
      present: true,
      huge: true,
      build: { page: R | X | U, huge: true },
    },
    {
      // directory entry: the bare address (no P bit, so not "present")
      name: 'table (directory) entry',
      raw: 0x0000_0000_0090_1000n,
      paddr: 0x0090_1000,
      flags: EMPTY,
      present: false,
      huge: false,
      build: { table: true },
    },
    {
      // MAT=SUC (0): W | P | D | V = 0x183; NX
      name: 'device RW page',
      raw: 0x4000_0000_1fe0_0183n,
      paddr: 0x1fe0_0000,
      flags: R | W | DEVICE,
      present: true,
      huge: false,
      build: { page: R | W | DEVICE, huge: false },
    },
    {
      // MAT=WUC (2, 0x20): W | P | MATH | D | V = 0x1a3; NX
      name: 'uncached RW page',
      raw: 0x4000_0000_1fe0_01a3n,
      paddr: 0x1fe0_0000,
      flags: R | W | UNCACHED,
      present: true,
      huge: false,
      build: { page: R | W | UNCACHED, huge: false },
    },
    {
      // PA bits 12..47 all set; P | MAT=CC | V = 0x91; NX
      name: 'kernel RO page at the 48-bit PA limit',
      raw: 0x4000_ffff_ffff_f091n,
      paddr: 0x0000_ffff_ffff_f000,
      flags: R,
      present: true,
      huge: false,
      build: { page: R, huge: false },
    },
    {
      name: 'table at the 48-bit PA limit',
      raw: 0x0000_ffff_ffff_f000n,
      paddr: 0x0000_ffff_ffff_f000,
      flags: EMPTY,
      present: false,
      huge: false,
      build: { table: true },
    },
    {
      // NR = bit 61: P | MAT=CC | PLV3 | V = 0x9d
      name: 'user execute-only page (NR)',
      raw: 0x2000_0000_0012_309dn,
      paddr: 0x0012_3000,
      flags: X | U,
      present: true,
      huge: false,
      build: { page: X | U, huge: false },
    },
    {
      // RPLV (bit 63) and G (bit 12 in a huge entry) are not flags; bit 12 is
      // inside the address field, exactly as in the crate
      name: 'entry with RPLV set',
      raw: 0xc000_0000_0012_319fn,
      paddr: 0x0012_3000,
      flags: R | W | U,
      present: true,
      huge: false,
    },
    {
      name: 'all-zero entry',
      raw: 0n,
      paddr: 0,
      flags: EMPTY,
      present: false,
      huge: false,
      build: { page: EMPTY, huge: false },
    },
    {
      // V and P clear
      name: 'invalid entry',
      raw: 0x4000_0000_0012_311en,
      paddr: 0x0012_3000,
      flags: EMPTY,
      present: false,
      huge: false,
    },
  ]);

  test('setFlags keeps the address; D follows WRITE; setPaddr keeps flags', () => {
    const [lo, hi] = split(0x4000_0000_0012_319fn);
    assert.equal(hex(LA64_FORMAT.setFlags(lo, hi, R | U, false)), hex(0x4000_0000_0012_309dn));
    assert.equal(hex(LA64_FORMAT.setFlags(lo, hi, R | W, true)), hex(0x4000_0000_0012_31d3n));
    assert.equal(hex(LA64_FORMAT.setPaddr(lo, hi, 0x0000_8000_1234_5000)), hex(0x4000_8000_1234_519fn));
  });
});

// ---------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------
describe('PTE_FORMATS', () => {
  test('metadata per architecture', () => {
    const rows = Object.entries(PTE_FORMATS).map(([name, f]) => [
      name,
      f.arch,
      f.levels,
      f.vaMaxBits,
      f.paMaxBits,
      f.accessedBit,
      f.dirtyBit,
    ]);
    assert.deepEqual(rows, [
      ['x86_64', 'x86_64', 4, 48, 52, 1 << 5, 1 << 6],
      ['aarch64', 'aarch64', 4, 48, 48, 1 << 10, 0],
      ['riscv64-sv39', 'riscv64-sv39', 3, 39, 56, 1 << 6, 1 << 7],
      ['riscv64-sv48', 'riscv64-sv48', 4, 48, 56, 1 << 6, 1 << 7],
      ['loongarch64', 'loongarch64', 4, 48, 48, 0, 0],
    ]);
  });
});

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------
interface ArchModel {
  format: PteFormat;
  /** The address field as a bigint mask over the raw entry. */
  addrMask: bigint;
  /** Left shift from the masked field to the address (2 on RISC-V). */
  addrShift: bigint;
  /** What `flags()` reports for an entry made by `newPage(_, f, _)`. */
  decoded(f: MappingFlags): MappingFlags;
  /** Whether `newPage(_, f, _)` is present. */
  present(f: MappingFlags): boolean;
  /** Whether `newPage(_, f, huge)` reports `isHuge`. */
  huge(f: MappingFlags, huge: boolean): boolean;
  /** Whether `newTable` is present. */
  tablePresent: boolean;
  /** The manual's reading of any raw word, bit by bit: present, huge, flags. */
  raw: { present(w: bigint): boolean; huge(w: bigint): boolean; flags(w: bigint): MappingFlags };
}

const bit = (w: bigint, n: number): boolean => ((w >> BigInt(n)) & 1n) === 1n;

const memType = (f: MappingFlags): MappingFlags =>
  (f & DEVICE) !== 0 ? DEVICE : (f & UNCACHED) !== 0 ? UNCACHED : 0;

const riscvModel = (format: PteFormat): ArchModel => ({
  format,
  addrMask: 0x003f_ffff_ffff_fc00n,
  addrShift: 2n,
  decoded: (f) => f & (R | W | X | U),
  present: (f) => f !== 0,
  huge: (f) => (f & (R | X)) !== 0,
  tablePresent: true,
  // V=0 R=1 W=2 X=3 U=4
  raw: {
    present: (w) => bit(w, 0),
    huge: (w) => bit(w, 1) || bit(w, 3),
    flags: (w) =>
      !bit(w, 0) ? 0 : (bit(w, 1) ? R : 0) | (bit(w, 2) ? W : 0) | (bit(w, 3) ? X : 0) | (bit(w, 4) ? U : 0),
  },
});

const MODELS: ArchModel[] = [
  {
    format: X64_FORMAT,
    addrMask: 0x000f_ffff_ffff_f000n,
    addrShift: 0n,
    decoded: (f) => (f === 0 ? 0 : R | (f & (W | X | U)) | ((f & (DEVICE | UNCACHED)) !== 0 ? UNCACHED : 0)),
    present: (f) => f !== 0,
    huge: (_f, huge) => huge,
    tablePresent: true,
    // P=0 RW=1 US=2 PCD=4 PS=7 NX=63
    raw: {
      present: (w) => bit(w, 0),
      huge: (w) => bit(w, 7),
      flags: (w) =>
        !bit(w, 0)
          ? 0
          : R | (bit(w, 1) ? W : 0) | (bit(w, 63) ? 0 : X) | (bit(w, 2) ? U : 0) | (bit(w, 4) ? UNCACHED : 0),
    },
  },
  {
    format: A64_FORMAT,
    addrMask: 0x0000_ffff_ffff_f000n,
    addrShift: 0n,
    decoded: (f) => ((f & R) === 0 ? 0 : R | (f & (W | X | U)) | memType(f)),
    present: (f) => (f & R) !== 0,
    huge: (_f, huge) => huge,
    tablePresent: true,
    // VALID=0 NON_BLOCK=1 AttrIndx=2..4 AP_EL0=6 AP_RO=7 PXN=53 UXN=54
    raw: {
      present: (w) => bit(w, 0),
      huge: (w) => !bit(w, 1),
      flags: (w) => {
        if (!bit(w, 0)) return 0;
        const attr = Number((w >> 2n) & 7n);
        const user = bit(w, 6);
        return (
          R |
          (bit(w, 7) ? 0 : W) |
          (user ? U | (bit(w, 54) ? 0 : X) : bit(w, 53) ? 0 : X) |
          (attr === 0 ? DEVICE : attr === 2 ? UNCACHED : 0)
        );
      },
    },
  },
  riscvModel(SV39_FORMAT),
  riscvModel(SV48_FORMAT),
  {
    format: LA64_FORMAT,
    addrMask: 0x0000_ffff_ffff_f000n,
    addrShift: 0n,
    decoded: (f) => (f === 0 ? 0 : (f & (R | W | X | U)) | memType(f)),
    present: (f) => f !== 0,
    huge: (_f, huge) => huge,
    tablePresent: false,
    // V=0 PLV=2..3 MATL=4 MATH=5 GH=6 P=7 W=8 NR=61 NX=62
    raw: {
      present: (w) => bit(w, 7),
      huge: (w) => bit(w, 6),
      flags: (w) =>
        !bit(w, 0)
          ? 0
          : (bit(w, 61) ? 0 : R) |
            (bit(w, 8) ? W : 0) |
            (bit(w, 62) ? 0 : X) |
            (bit(w, 2) && bit(w, 3) ? U : 0) |
            (bit(w, 4) ? 0 : bit(w, 5) ? UNCACHED : DEVICE),
    },
  },
];

const anyFlags = fc.integer({ min: 0, max: MappingFlags.ALL });
const anyRaw = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

for (const m of MODELS) {
  const f = m.format;
  const paddrArb = fc.integer({ min: 0, max: 2 ** (f.paMaxBits - 12) - 1 }).map((ppn) => ppn * 0x1000);
  const word = (raw: bigint): void => {
    assert.ok(raw >= 0n && raw < 1n << 64n, `not a 64-bit word: ${raw}`);
  };

  describe(`${f.arch} properties`, () => {
    test('newPage round-trips paddr and the representable flags', () => {
      fc.assert(
        fc.property(paddrArb, anyFlags, fc.boolean(), (pa, flags, huge) => {
          const raw = f.newPage(pa, flags, huge);
          word(raw);
          const [lo, hi] = split(raw);
          assert.equal(f.paddr(lo, hi), pa);
          assert.equal(f.flags(lo, hi), m.decoded(flags));
          assert.equal(f.isPresent(lo, hi), m.present(flags));
          assert.equal(f.isHuge(lo, hi), m.huge(flags, huge));
          // re-encoding what was decoded gives the same entry
          if (m.decoded(flags) !== 0) assert.equal(hex(f.newPage(pa, m.decoded(flags), huge)), hex(raw));
        }),
      );
    });

    // LoongArch's walker sets neither bit (accessedBit = dirtyBit = 0): nothing to test there.
    if ((f.accessedBit | f.dirtyBit) !== 0) {
      test('hardware-set accessed/dirty bits change neither paddr nor flags', () => {
        fc.assert(
          fc.property(paddrArb, anyFlags, fc.boolean(), (pa, flags, huge) => {
            // An entry as the encoder wrote it, then with the hardware bits cleared and set.
            const [lo, hi] = split(f.newPage(pa, flags, huge));
            for (const lo2 of [
              (lo & ~(f.accessedBit | f.dirtyBit)) >>> 0,
              (lo | f.accessedBit | f.dirtyBit) >>> 0,
            ]) {
              assert.equal(f.paddr(lo2, hi), pa);
              assert.equal(f.flags(lo2, hi), m.decoded(flags));
              assert.equal(f.isPresent(lo2, hi), m.present(flags));
            }
          }),
        );
      });
    }

    test('setFlags keeps paddr and equals a fresh newPage', () => {
      fc.assert(
        fc.property(paddrArb, anyFlags, fc.boolean(), anyFlags, fc.boolean(), (pa, f1, h1, f2, h2) => {
          const [lo, hi] = split(f.newPage(pa, f1, h1));
          const raw2 = f.setFlags(lo, hi, f2, h2);
          word(raw2);
          const [lo2, hi2] = split(raw2);
          assert.equal(f.paddr(lo2, hi2), pa);
          assert.equal(f.flags(lo2, hi2), m.decoded(f2));
          assert.equal(hex(raw2), hex(f.newPage(pa, f2, h2)));
        }),
      );
    });

    test('setPaddr keeps flags and every non-address bit', () => {
      fc.assert(
        fc.property(paddrArb, anyFlags, fc.boolean(), paddrArb, (pa, flags, huge, pa2) => {
          const [lo, hi] = split(f.newPage(pa, flags, huge));
          const raw2 = f.setPaddr(lo, hi, pa2);
          const [lo2, hi2] = split(raw2);
          assert.equal(f.paddr(lo2, hi2), pa2);
          assert.equal(f.flags(lo2, hi2), f.flags(lo, hi));
          assert.equal(f.isHuge(lo2, hi2), f.isHuge(lo, hi));
          assert.equal(f.isPresent(lo2, hi2), f.isPresent(lo, hi));
          assert.equal(hex(raw2), hex(f.newPage(pa2, flags, huge)));
        }),
      );
      fc.assert(
        fc.property(anyRaw, paddrArb, (raw, pa2) => {
          const [lo, hi] = split(raw);
          const raw2 = f.setPaddr(lo, hi, pa2);
          word(raw2);
          assert.equal(hex(raw2 & ~m.addrMask), hex(raw & ~m.addrMask));
          assert.equal(f.paddr(...split(raw2)), pa2);
        }),
      );
    });

    test('newTable round-trips paddr and is not huge', () => {
      fc.assert(
        fc.property(paddrArb, (pa) => {
          const raw = f.newTable(pa);
          word(raw);
          const [lo, hi] = split(raw);
          assert.equal(f.paddr(lo, hi), pa);
          assert.equal(f.isHuge(lo, hi), false);
          assert.equal(f.isPresent(lo, hi), m.tablePresent);
        }),
      );
    });

    test('decoders agree with a bigint model on any 64-bit word', () => {
      fc.assert(
        fc.property(anyRaw, (raw) => {
          const [lo, hi] = split(raw);
          assert.equal(f.paddr(lo, hi), Number((raw & m.addrMask) << m.addrShift));
          assert.equal(f.isPresent(lo, hi), m.raw.present(raw), 'isPresent');
          assert.equal(f.isHuge(lo, hi), m.raw.huge(raw), 'isHuge');
          assert.equal(flagsToString(f.flags(lo, hi)), flagsToString(m.raw.flags(raw)), 'flags');
        }),
      );
    });
  });
}
