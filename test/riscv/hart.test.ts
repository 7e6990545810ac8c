/**
 * The hart's trap contract, in both tiers: what `run` answers, where `pc`
 * and `tval` are left, that a faulting instruction did nothing and restarts
 * once the page is there, LR/SC reservations, misaligned atomics, illegal
 * encodings, CSRs and the budget.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AddrSpace } from 'axptr/mm';
import { Machine, MappingFlags, PTE_FORMATS } from 'axptr/paging';
import { BUDGET_SPENT, Cause, Hart } from 'axptr/riscv';
import { TIERS } from '../support/mini-kernel.js';

const { READ: R, WRITE: W, EXECUTE: X, USER: U } = MappingFlags;
const CODE = 0x10000;
const DATA = 0x20000;
const LAZY = 0x30000;

// Encoders (the unprivileged spec's formats).
const I = (op: number, rd: number, f3: number, rs1: number, imm: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (f3: number, rs1: number, rs2: number, imm: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const R4 = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => I(0x13, rd, 0, rs1, imm);
const ld = (rd: number, rs1: number, imm: number) => I(0x03, rd, 3, rs1, imm);
const sd = (rs1: number, rs2: number, imm: number) => S(3, rs1, rs2, imm);
const lui = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const amoaddD = (rd: number, rs1: number, rs2: number) => R4(0x00, rs2, rs1, 3, rd, 0x2f);
const lrD = (rd: number, rs1: number) => R4(0x02 << 2, 0, rs1, 3, rd, 0x2f);
const scD = (rd: number, rs1: number, rs2: number) => R4(0x03 << 2, rs2, rs1, 3, rd, 0x2f);
const csrr = (rd: number, csr: number) => I(0x73, rd, 2, 0, csr);
const ECALL = 0x00000073;
const jalSelf = 0x0000006f; // jal x0, 0: a loop on one instruction

function machineWith(words: number[], options: ConstructorParameters<typeof Hart>[1]) {
  const machine = new Machine({ memSize: 4 << 20 });
  const aspace = new AddrSpace({
    base: 0x1000,
    size: 2 ** 38 - 0x1000,
    format: PTE_FORMATS['riscv64-sv39'],
    machine,
  });
  aspace.mapAlloc(CODE, 0x1000, U | R | X, true);
  aspace.mapAlloc(DATA, 0x1000, U | R | W, true);
  aspace.mapAlloc(LAZY, 0x1000, U | R | W, false);
  const code = new Uint8Array(words.length * 4);
  const v = new DataView(code.buffer);
  for (const [i, w] of words.entries()) v.setUint32(i * 4, w, true);
  aspace.write(CODE, code);
  aspace.activate(machine.mmu);
  const hart = new Hart(machine.mmu, options);
  hart.pc = CODE;
  return { aspace, hart };
}

for (const [tier, options] of TIERS) {
  describe(`the hart's traps (${tier})`, () => {
    test('ecall stops at the ecall; completeEcall goes on; instret counts completed instructions', () => {
      const { hart } = machineWith([addi(10, 0, 5), ECALL, addi(10, 10, 1), ECALL], options);
      assert.equal(hart.run(100), Cause.UserEcall);
      assert.equal(hart.pc, CODE + 4);
      assert.equal(hart.getReg(10), 5n);
      hart.completeEcall();
      assert.equal(hart.run(100), Cause.UserEcall);
      assert.equal(hart.getReg(10), 6n);
      assert.equal(hart.instret, 2);
    });

    test('a load from a lazy page faults with nothing done, and restarts when the page is there', () => {
      const { hart, aspace } = machineWith([lui(5, LAZY >> 12), addi(6, 0, 77), ld(6, 5, 8), ECALL], options);
      assert.equal(hart.run(100), Cause.LoadPageFault);
      assert.equal(hart.pc, CODE + 8);
      assert.equal(hart.tval, BigInt(LAZY + 8));
      assert.equal(hart.getReg(6), 77n, 'the faulting load wrote nothing');
      assert.equal(aspace.handlePageFault(LAZY + 8, R | U), true);
      assert.equal(hart.run(100), Cause.UserEcall);
      assert.equal(hart.getReg(6), 0n);
    });

    test('a store to a read-only page is a store page fault', () => {
      const { hart } = machineWith([lui(5, CODE >> 12), sd(5, 0, 0), ECALL], options);
      assert.equal(hart.run(100), Cause.StorePageFault);
      assert.equal(hart.tval, BigInt(CODE));
    });

    test('misaligned AMO and LR trap as address-misaligned; ordinary misaligned loads work', () => {
      const { hart, aspace } = machineWith(
        [lui(5, DATA >> 12), addi(5, 5, 4), ld(7, 5, 0), amoaddD(6, 5, 0), ECALL],
        options,
      );
      aspace.write(DATA, Uint8Array.of(0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8));
      assert.equal(hart.run(100), Cause.StoreMisaligned);
      assert.equal(hart.getReg(7), 0x0807060504030201n, 'the misaligned ld');
      assert.equal(hart.tval, BigInt(DATA + 4));
      const lr = machineWith([lui(5, DATA >> 12), addi(5, 5, 4), lrD(6, 5), ECALL], options);
      assert.equal(lr.hart.run(100), Cause.LoadMisaligned);
    });

    test('SC succeeds only with the reservation; a store to the reserved word breaks it', () => {
      const { hart } = machineWith(
        [
          lui(5, DATA >> 12),
          addi(8, 0, 9),
          scD(6, 5, 8), // no reservation: fails (1)
          lrD(7, 5),
          scD(9, 5, 8), // succeeds (0)
          lrD(7, 5),
          sd(5, 0, 0), // a store to the reserved doubleword
          scD(10, 5, 8), // fails (1)
          ECALL,
        ],
        options,
      );
      assert.equal(hart.run(100), Cause.UserEcall);
      assert.deepEqual([hart.getReg(6), hart.getReg(9), hart.getReg(10)], [1n, 0n, 1n]);
    });

    test('an illegal encoding traps with its bits; an unknown CSR is illegal; instret reads exactly', () => {
      const { hart } = machineWith([addi(1, 0, 1), csrr(5, 0xc02), 0xffffffff], options);
      assert.equal(hart.run(100), Cause.IllegalInstruction);
      assert.equal(hart.tval, 0xffffffffn);
      assert.equal(hart.getReg(5), 1n, 'instret counted the one instruction before it');
      const csr = machineWith([csrr(5, 0x300)], options); // mstatus: not a user CSR
      assert.equal(csr.hart.run(10), Cause.IllegalInstruction);
    });

    test('the budget: run stops after it with the exact count (a block may run whole)', () => {
      const { hart } = machineWith([addi(5, 5, 1), addi(5, 5, 1), addi(5, 5, 1), jalSelf], options);
      assert.equal(hart.run(1000), BUDGET_SPENT);
      assert.ok(hart.instret >= 1000 && hart.instret < 1000 + 64, `instret ${hart.instret}`);
      assert.equal(hart.getReg(5), 3n);
    });
  });
}
