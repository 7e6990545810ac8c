/**
 * Decoded instructions: what the interpreter's fast path and the compiled
 * tier run. Each 16-bit slot of a code page holds the raw bits it was
 * decoded from, an operation, the registers and length, the immediate, and
 * the expanded 32-bit instruction for the reference path.
 */
import { expandCompressed } from './compressed.js';

/** Decoded instructions' operations: the fast path's own, and GENERIC for the reference path. */
export const OP = {
  UNDECODED: 0,
  GENERIC: 1,
  LUI: 2,
  AUIPC: 3,
  JAL: 4,
  JALR: 5,
  BEQ: 6,
  BNE: 7,
  BLT: 8,
  BGE: 9,
  BLTU: 10,
  BGEU: 11,
  LB: 12,
  LH: 13,
  LW: 14,
  LD: 15,
  LBU: 16,
  LHU: 17,
  LWU: 18,
  SB: 19,
  SH: 20,
  SW: 21,
  SD: 22,
  ADDI: 23,
  SLTI: 24,
  SLTIU: 25,
  XORI: 26,
  ORI: 27,
  ANDI: 28,
  SLLI: 29,
  SRLI: 30,
  SRAI: 31,
  ADDIW: 32,
  SLLIW: 33,
  SRLIW: 34,
  SRAIW: 35,
  ADD: 36,
  SUB: 37,
  SLT: 38,
  SLTU: 39,
  XOR: 40,
  OR: 41,
  AND: 42,
  ADDW: 43,
  SUBW: 44,
  SLL: 45,
  SRL: 46,
  SRA: 47,
  SLLW: 48,
  SRLW: 49,
  SRAW: 50,
  MUL: 51,
  MULW: 52,
  /** DIV, DIVU, REM, REMU (funct3 4..7 in the immediate slot); the interpreter runs them through exec. */
  DIVREM: 53,
  /** Their W forms. */
  DIVREMW: 54,
} as const;

/** Int32 fields per decoded halfword slot: raw bits, op, rd|rs1|rs2|ilen, immediate, the expanded instruction. */
export const SLOT = 5;
/** Decoded pages kept per hart before the cache starts over (each is 40 KiB). */
export const MAX_DECODED_PAGES = 4096;
export const EMPTY_PAGE: Int32Array = new Int32Array(SLOT);

// The loads by funct3 (LB LH LW LD LBU LHU LWU), the stores, the branches, OP-IMM and OP (0: not fast).
const LOAD_OPS: readonly number[] = [OP.LB, OP.LH, OP.LW, OP.LD, OP.LBU, OP.LHU, OP.LWU];
const STORE_OPS: readonly number[] = [OP.SB, OP.SH, OP.SW, OP.SD];
const BRANCH_OPS: readonly number[] = [OP.BEQ, OP.BNE, 0, 0, OP.BLT, OP.BGE, OP.BLTU, OP.BGEU];
const OPIMM_OPS: readonly number[] = [OP.ADDI, 0, OP.SLTI, OP.SLTIU, OP.XORI, 0, OP.ORI, OP.ANDI];
const OP_OPS: readonly number[] = [OP.ADD, 0, OP.SLT, OP.SLTU, OP.XOR, 0, OP.OR, OP.AND];

/**
 * Decodes the instruction with bits `raw` (a 16-bit parcel or a 32-bit
 * word) into `dec[e..e+SLOT)`. Whatever the fast path does not handle (or
 * an illegal encoding) becomes GENERIC with the 32-bit form for `exec`.
 */
export function decodeInto(dec: Int32Array, e: number, raw: number): void {
  let inst = raw >>> 0;
  let ilen = 4;
  if ((raw & 3) !== 3) {
    ilen = 2;
    inst = expandCompressed(raw & 0xffff);
    // An illegal parcel: exec sees its own bits, which no 32-bit opcode matches (tval = the parcel).
    if (inst === 0) inst = raw & 0xffff;
  }
  const rd = (inst >>> 7) & 31;
  const f3 = (inst >>> 12) & 7;
  const rs1 = (inst >>> 15) & 31;
  const rs2 = (inst >>> 20) & 31;
  const f7 = inst >>> 25;
  let op: number = OP.GENERIC;
  let imm = 0;
  switch (inst & 0x7f) {
    case 0x37:
      op = OP.LUI;
      imm = inst & 0xfffff000;
      break;
    case 0x17:
      op = OP.AUIPC;
      imm = inst & 0xfffff000;
      break;
    case 0x6f:
      op = OP.JAL;
      imm =
        ((inst >> 31) << 20) |
        (((inst >>> 21) & 0x3ff) << 1) |
        (((inst >>> 20) & 1) << 11) |
        (((inst >>> 12) & 0xff) << 12);
      break;
    case 0x67:
      if (f3 === 0) {
        op = OP.JALR;
        imm = inst >> 20;
      }
      break;
    case 0x63:
      if (BRANCH_OPS[f3] !== 0) {
        op = BRANCH_OPS[f3];
        imm =
          ((inst >> 31) << 12) |
          (((inst >>> 25) & 0x3f) << 5) |
          (((inst >>> 8) & 0xf) << 1) |
          (((inst >>> 7) & 1) << 11);
      }
      break;
    case 0x03:
      if (f3 < 7) {
        op = LOAD_OPS[f3];
        imm = inst >> 20;
      }
      break;
    case 0x23:
      if (f3 < 4) {
        op = STORE_OPS[f3];
        imm = ((inst >> 25) << 5) | ((inst >>> 7) & 31);
      }
      break;
    case 0x13:
      if (OPIMM_OPS[f3] !== 0) {
        op = OPIMM_OPS[f3];
        imm = inst >> 20;
      } else if (f3 === 1 && inst >>> 26 === 0) {
        op = OP.SLLI;
        imm = (inst >>> 20) & 63;
      } else if (f3 === 5 && (inst >>> 26 === 0 || inst >>> 26 === 0x10)) {
        op = inst >>> 26 === 0 ? OP.SRLI : OP.SRAI;
        imm = (inst >>> 20) & 63;
      }
      break;
    case 0x1b:
      if (f3 === 0) {
        op = OP.ADDIW;
        imm = inst >> 20;
      } else if (f3 === 1 && f7 === 0) {
        op = OP.SLLIW;
        imm = rs2;
      } else if (f3 === 5 && (f7 === 0 || f7 === 0x20)) {
        op = f7 === 0 ? OP.SRLIW : OP.SRAIW;
        imm = rs2;
      }
      break;
    case 0x33:
      if (f7 === 0 && OP_OPS[f3] !== 0) op = OP_OPS[f3];
      else if (f7 === 0x20 && f3 === 0) op = OP.SUB;
      else if (f7 === 0 && f3 === 1) op = OP.SLL;
      else if (f7 === 0 && f3 === 5) op = OP.SRL;
      else if (f7 === 0x20 && f3 === 5) op = OP.SRA;
      else if (f7 === 1 && f3 === 0) op = OP.MUL;
      else if (f7 === 1 && f3 >= 4) {
        op = OP.DIVREM;
        imm = f3;
      }
      break;
    case 0x3b:
      if (f3 === 0 && f7 === 0) op = OP.ADDW;
      else if (f3 === 0 && f7 === 0x20) op = OP.SUBW;
      else if (f3 === 1 && f7 === 0) op = OP.SLLW;
      else if (f3 === 5 && f7 === 0) op = OP.SRLW;
      else if (f3 === 5 && f7 === 0x20) op = OP.SRAW;
      else if (f3 === 0 && f7 === 1) op = OP.MULW;
      else if (f7 === 1 && f3 >= 4) {
        op = OP.DIVREMW;
        imm = f3;
      }
      break;
  }
  dec[e] = raw;
  dec[e + 1] = op;
  // Bits 18+: the access size of a load or store.
  const size = (inst & 0x5f) === 0x03 ? ((f3 & 3) === 3 ? 8 : 1 << (f3 & 3)) : 0;
  dec[e + 2] = rd | (rs1 << 5) | (rs2 << 10) | (ilen << 15) | (size << 18);
  dec[e + 3] = imm;
  dec[e + 4] = inst | 0;
}
