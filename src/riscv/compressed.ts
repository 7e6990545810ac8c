/**
 * The C extension (RV64): every compressed form expanded to the 32-bit
 * instruction it stands for (the RISC-V unprivileged spec, chapter "C"),
 * so that one executor serves both. Reserved and illegal encodings expand to
 * 0, which is no valid 32-bit instruction.
 */

const OP_IMM = 0x13;
const OP_IMM_32 = 0x1b;
const OP = 0x33;
const OP_32 = 0x3b;
const LUI = 0x37;
const LOAD = 0x03;
const STORE = 0x23;
const LOAD_FP = 0x07;
const STORE_FP = 0x27;
const BRANCH = 0x63;
const JAL = 0x6f;
const JALR = 0x67;

function iType(imm: number, rs1: number, f3: number, rd: number, op: number): number {
  return (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
}

function sType(imm: number, rs2: number, rs1: number, f3: number, op: number): number {
  return (
    ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op) >>> 0
  );
}

function bType(imm: number, rs2: number, rs1: number, f3: number): number {
  return (
    ((((imm >> 12) & 1) << 31) |
      (((imm >> 5) & 0x3f) << 25) |
      (rs2 << 20) |
      (rs1 << 15) |
      (f3 << 12) |
      (((imm >> 1) & 0xf) << 8) |
      (((imm >> 11) & 1) << 7) |
      BRANCH) >>>
    0
  );
}

function jType(imm: number, rd: number): number {
  return (
    ((((imm >> 20) & 1) << 31) |
      (((imm >> 1) & 0x3ff) << 21) |
      (((imm >> 11) & 1) << 20) |
      (((imm >> 12) & 0xff) << 12) |
      (rd << 7) |
      JAL) >>>
    0
  );
}

function rType(f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number): number {
  return ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
}

/** Bits [hi:lo] of `x`. */
function bits(x: number, hi: number, lo: number): number {
  return (x >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

/** Sign-extends the low `n` bits of `x`. */
function sext(x: number, n: number): number {
  return (x << (32 - n)) >> (32 - n);
}

/** The 32-bit instruction a 16-bit parcel stands for, or 0 when it is reserved or illegal. */
export function expandCompressed(c: number): number {
  const quadrant = c & 3;
  const f3 = c >>> 13;
  const rdp = bits(c, 4, 2) + 8; // rd' / rs2'
  const rs1p = bits(c, 9, 7) + 8; // rs1' / rd'
  const rd = bits(c, 11, 7);
  const rs2 = bits(c, 6, 2);
  const imm6 = sext((bits(c, 12, 12) << 5) | bits(c, 6, 2), 6);
  switch (quadrant) {
    case 0:
      switch (f3) {
        case 0: {
          // C.ADDI4SPN; all-zero is the defined illegal instruction
          const nzuimm =
            (bits(c, 12, 11) << 4) | (bits(c, 10, 7) << 6) | (bits(c, 6, 6) << 2) | (bits(c, 5, 5) << 3);
          return nzuimm === 0 ? 0 : iType(nzuimm, 2, 0, rdp, OP_IMM);
        }
        case 1: // C.FLD
          return iType((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6), rs1p, 3, rdp, LOAD_FP);
        case 2: // C.LW
          return iType(
            (bits(c, 12, 10) << 3) | (bits(c, 6, 6) << 2) | (bits(c, 5, 5) << 6),
            rs1p,
            2,
            rdp,
            LOAD,
          );
        case 3: // C.LD
          return iType((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6), rs1p, 3, rdp, LOAD);
        case 5: // C.FSD
          return sType((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6), rdp, rs1p, 3, STORE_FP);
        case 6: // C.SW
          return sType(
            (bits(c, 12, 10) << 3) | (bits(c, 6, 6) << 2) | (bits(c, 5, 5) << 6),
            rdp,
            rs1p,
            2,
            STORE,
          );
        case 7: // C.SD
          return sType((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6), rdp, rs1p, 3, STORE);
        default:
          return 0; // 4: reserved
      }
    case 1:
      switch (f3) {
        case 0: // C.ADDI (C.NOP for rd = 0)
          return iType(imm6, rd, 0, rd, OP_IMM);
        case 1: // C.ADDIW; rd = 0 is reserved
          return rd === 0 ? 0 : iType(imm6, rd, 0, rd, OP_IMM_32);
        case 2: // C.LI
          return iType(imm6, 0, 0, rd, OP_IMM);
        case 3: {
          if (rd === 2) {
            // C.ADDI16SP
            const imm = sext(
              (bits(c, 12, 12) << 9) |
                (bits(c, 6, 6) << 4) |
                (bits(c, 5, 5) << 6) |
                (bits(c, 4, 3) << 7) |
                (bits(c, 2, 2) << 5),
              10,
            );
            return imm === 0 ? 0 : iType(imm, 2, 0, 2, OP_IMM);
          }
          // C.LUI
          if (imm6 === 0) return 0;
          return ((imm6 << 12) | (rd << 7) | LUI) >>> 0;
        }
        case 4: {
          const f2 = bits(c, 11, 10);
          const shamt = (bits(c, 12, 12) << 5) | bits(c, 6, 2);
          if (f2 === 0) return iType(shamt, rs1p, 5, rs1p, OP_IMM); // C.SRLI
          if (f2 === 1) return iType(shamt | 0x400, rs1p, 5, rs1p, OP_IMM); // C.SRAI
          if (f2 === 2) return iType(imm6, rs1p, 7, rs1p, OP_IMM); // C.ANDI
          const op2 = bits(c, 6, 5);
          if (bits(c, 12, 12) === 0) {
            if (op2 === 0) return rType(0x20, rdp, rs1p, 0, rs1p, OP); // C.SUB
            if (op2 === 1) return rType(0, rdp, rs1p, 4, rs1p, OP); // C.XOR
            if (op2 === 2) return rType(0, rdp, rs1p, 6, rs1p, OP); // C.OR
            return rType(0, rdp, rs1p, 7, rs1p, OP); // C.AND
          }
          if (op2 === 0) return rType(0x20, rdp, rs1p, 0, rs1p, OP_32); // C.SUBW
          if (op2 === 1) return rType(0, rdp, rs1p, 0, rs1p, OP_32); // C.ADDW
          return 0; // reserved (Zcb's forms are not part of RV64GC)
        }
        case 5: {
          // C.J
          const imm = sext(
            (bits(c, 12, 12) << 11) |
              (bits(c, 11, 11) << 4) |
              (bits(c, 10, 9) << 8) |
              (bits(c, 8, 8) << 10) |
              (bits(c, 7, 7) << 6) |
              (bits(c, 6, 6) << 7) |
              (bits(c, 5, 3) << 1) |
              (bits(c, 2, 2) << 5),
            12,
          );
          return jType(imm, 0);
        }
        default: {
          // C.BEQZ (6), C.BNEZ (7)
          const imm = sext(
            (bits(c, 12, 12) << 8) |
              (bits(c, 11, 10) << 3) |
              (bits(c, 6, 5) << 6) |
              (bits(c, 4, 3) << 1) |
              (bits(c, 2, 2) << 5),
            9,
          );
          return bType(imm, 0, rs1p, f3 === 6 ? 0 : 1);
        }
      }
    case 2:
      switch (f3) {
        case 0: // C.SLLI
          return iType((bits(c, 12, 12) << 5) | bits(c, 6, 2), rd, 1, rd, OP_IMM);
        case 1: // C.FLDSP
          return iType(
            (bits(c, 12, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6),
            2,
            3,
            rd,
            LOAD_FP,
          );
        case 2: // C.LWSP; rd = 0 is reserved
          if (rd === 0) return 0;
          return iType((bits(c, 12, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6), 2, 2, rd, LOAD);
        case 3: // C.LDSP; rd = 0 is reserved
          if (rd === 0) return 0;
          return iType((bits(c, 12, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6), 2, 3, rd, LOAD);
        case 4:
          if (bits(c, 12, 12) === 0) {
            if (rs2 === 0) return rd === 0 ? 0 : iType(0, rd, 0, 0, JALR); // C.JR; rs1 = 0 reserved
            return rType(0, rs2, 0, 0, rd, OP); // C.MV
          }
          if (rs2 === 0) {
            if (rd === 0) return 0x00100073; // C.EBREAK
            return iType(0, rd, 0, 1, JALR); // C.JALR
          }
          return rType(0, rs2, rd, 0, rd, OP); // C.ADD
        case 5: // C.FSDSP
          return sType((bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6), rs2, 2, 3, STORE_FP);
        case 6: // C.SWSP
          return sType((bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6), rs2, 2, 2, STORE);
        default: // C.SDSP
          return sType((bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6), rs2, 2, 3, STORE);
      }
    default:
      return 0; // not a compressed parcel
  }
}
