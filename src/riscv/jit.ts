/**
 * The compiled tier: a hot basic block of decoded instructions becomes one
 * JavaScript function (`new Function`), with the same semantics as the
 * interpreter's fast path, statement for statement.
 *
 * A block runs from its first instruction up to and including a jump (a
 * conditional branch leaves it only when taken: a superblock), or up to (not
 * including) an instruction the fast path does not
 * handle (that one runs in the interpreter), never across a page and never
 * longer than {@link MAX_BLOCK} instructions. A load or store whose address
 * is not a plain in-page user address, or whose TLB lookup faults, leaves
 * the block at that instruction with nothing of it done: the fault is
 * recorded for the trap loop, or the interpreter runs the instruction. The
 * block reports how many instructions it completed (`h.blockDone`), so
 * instret stays exact.
 *
 * A block compares the code in memory with the code it was compiled from
 * on every entry (constants inline, a word at a time) and refuses to run
 * when they differ, so it never runs after its code changed.
 */
import { decodeInto, OP, SLOT } from './decoded.js';

export const MAX_BLOCK = 48;

/** What the generated code calls back on the hart. */
export interface BlockHost {
  blockDone: number;
  /** A TLB miss inside a block: walks and fills; -1 (the fault recorded) when the access faults. */
  jitMiss(a: number, lo: number, hi: number, write: boolean): number;
  /** True while an LR reservation is held (stores then take the interpreter's path). */
  readonly hasReservation: boolean;
  /** A jump target above 4 GiB as a number, or -1 (with tval set) when it is no user address. */
  jitTarget(lo: number, hi: number): number;
  /** Runs one instruction through the reference path; -1 when it trapped (the trap recorded). */
  jitExec(inst: number, ilen: number, pc: number, doneInBlock: number): number;
}

/**
 * A compiled block: it closes over the hart's registers, memory views and TLB
 * arrays. A loop back to its own start runs inside it until `limit`
 * instructions are done.
 */
export type BlockFn = (h: BlockHost, limit: number) => number;

/** The arrays a block works on (fixed for a hart's life, so a block closes over them). */
export interface BlockEnv {
  /** Compile a count of loads and stores into the blocks (HartOptions.countAccesses). */
  countAccesses: boolean;
  x: Int32Array;
  xh: Int32Array;
  view: DataView;
  bytes: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  tagR: Float64Array;
  offR: Uint32Array;
  modeR: Uint8Array;
  tagW: Float64Array;
  offW: Uint32Array;
  modeW: Uint8Array;
  mask: number;
  /** The high half of a u32 × u32 product (int64.ts's mulhu32). */
  mulhu: (a: number, b: number) => number;
  /** int64.ts's divisions and their out-slot (quotient, remainder). */
  div64: (out: Int32Array, alo: number, ahi: number, blo: number, bhi: number) => void;
  divu64: (out: Int32Array, alo: number, ahi: number, blo: number, bhi: number) => void;
  q: Int32Array;
}

export interface Block {
  /** Runs the block: answers the next pc, or -2 (nothing done) when its code changed since it was compiled. */
  fn: BlockFn;
  /** The virtual address it was compiled for (its pc-relative constants hold only there). */
  pc: number;
  /** Instructions in the block. */
  length: number;
}

const TWO32 = 4294967296;

/** Registers as the generated code names them. */
const rx = (r: number) => `x[${r}]`;
const rh = (r: number) => `xh[${r}]`;

/** Writes lo/hi to rd (nothing for x0). */
function setRd(rd: number, lo: string, hi: string): string {
  return rd === 0 ? '' : `${rx(rd)} = ${lo}; ${rh(rd)} = ${hi};`;
}

function ltu(a: number, b: number): string {
  return `((${rh(a)} >>> 0) < (${rh(b)} >>> 0) || (${rh(a)} === ${rh(b)} && (${rx(a)} >>> 0) < (${rx(b)} >>> 0)))`;
}

function lt(a: number, b: number): string {
  return `(${rh(a)} < ${rh(b)} || (${rh(a)} === ${rh(b)} && (${rx(a)} >>> 0) < (${rx(b)} >>> 0)))`;
}

/** The low/high halves of the number `v` (a code address) as constants. */
function halves(v: number): [string, string] {
  return [String((v % TWO32) | 0), String(Math.floor(v / TWO32) | 0)];
}

/**
 * Compiles the block that starts at slot `slot` of the decoded page `dec`
 * (virtual address `pc`, memory index `memBase + 2 * slot`), or answers
 * undefined when its first instruction is not one the fast path handles.
 */
export function compileBlock(
  dec: Int32Array,
  slot: number,
  pc: number,
  memBase: number,
  env: BlockEnv,
): Block | undefined {
  const u16 = env.u16;
  const body: string[] = [];
  let o = slot * 2;
  let n = 0;
  let end = false;
  let exitPc = pc;
  while (!end && n < MAX_BLOCK && o < 4096) {
    const e = (o >>> 1) * SLOT;
    // Decode ahead from memory: the block covers what follows, run yet or not.
    const h0 = u16[(memBase + o) >>> 1];
    if ((h0 & 3) === 3 && o === 4094) break;
    const rawNow = (h0 & 3) !== 3 ? h0 : h0 | (u16[((memBase + o) >>> 1) + 1] << 16);
    if (dec[e] !== rawNow || dec[e + 1] === OP.UNDECODED) decodeInto(dec, e, rawNow);
    const op = dec[e + 1];
    const f = dec[e + 2];
    const rd = f & 31;
    const rs1 = (f >>> 5) & 31;
    const rs2 = (f >>> 10) & 31;
    const ilen = (f >>> 15) & 7;
    const size = f >>> 18;
    const imm = dec[e + 3];
    const at = pc + (o - slot * 2);
    const done = `h.blockDone = d + ${n};`;
    const next = at + ilen;
    let code = '';
    switch (op) {
      case OP.GENERIC: {
        // Anything the fast path does not handle runs through the interpreter's reference path,
        // inside the block; a fence (fence.i drops decoded code) or a trap ends it.
        const inst = dec[e + 4];
        code = `if (h.jitExec(${inst}, ${ilen}, ${at}, d + ${n}) < 0) { ${done} return ${at}; }`;
        if ((inst & 0x7f) === 0x0f || inst === 0x73 || inst === 0x00100073) {
          code += ` h.blockDone = d + ${n + 1}; return ${next};`;
          end = true;
        }
        break;
      }
      case OP.ADDI:
        code = `s = (${rx(rs1)} >>> 0) + ${imm}; ${setRd(rd, 's | 0', `(${rh(rs1)} + (s >= ${TWO32} ? 1 : s < 0 ? -1 : 0)) | 0`)}`;
        break;
      case OP.ADD:
        code = `s = (${rx(rs1)} >>> 0) + (${rx(rs2)} >>> 0); ${setRd(rd, 's | 0', `(${rh(rs1)} + ${rh(rs2)} + (s >= ${TWO32} ? 1 : 0)) | 0`)}`;
        break;
      case OP.SUB:
        code = `lo = ${rx(rs1)}; hi = ${rx(rs2)}; ${setRd(rd, '(lo - hi) | 0', `(${rh(rs1)} - ${rh(rs2)} - ((lo >>> 0) < (hi >>> 0) ? 1 : 0)) | 0`)}`;
        break;
      case OP.ADDIW:
        code = `lo = (${rx(rs1)} + ${imm}) | 0; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.ADDW:
        code = `lo = (${rx(rs1)} + ${rx(rs2)}) | 0; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.SUBW:
        code = `lo = (${rx(rs1)} - ${rx(rs2)}) | 0; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.LUI:
        code = setRd(rd, String(imm), String(imm >> 31));
        break;
      case OP.AUIPC: {
        const [lo, hi] = halves(at + imm);
        code = setRd(rd, lo, hi);
        break;
      }
      case OP.ANDI:
        code = setRd(rd, `${rx(rs1)} & ${imm}`, `${rh(rs1)} & ${imm >> 31}`);
        break;
      case OP.ORI:
        code = setRd(rd, `${rx(rs1)} | ${imm}`, `${rh(rs1)} | ${imm >> 31}`);
        break;
      case OP.XORI:
        code = setRd(rd, `${rx(rs1)} ^ ${imm}`, `${rh(rs1)} ^ ${imm >> 31}`);
        break;
      case OP.AND:
        code = setRd(rd, `${rx(rs1)} & ${rx(rs2)}`, `${rh(rs1)} & ${rh(rs2)}`);
        break;
      case OP.OR:
        code = setRd(rd, `${rx(rs1)} | ${rx(rs2)}`, `${rh(rs1)} | ${rh(rs2)}`);
        break;
      case OP.XOR:
        code = setRd(rd, `${rx(rs1)} ^ ${rx(rs2)}`, `${rh(rs1)} ^ ${rh(rs2)}`);
        break;
      case OP.SLLI:
        if (imm === 0) code = setRd(rd, rx(rs1), rh(rs1));
        else if (imm < 32)
          code = `lo = ${rx(rs1)}; ${setRd(rd, `lo << ${imm}`, `(${rh(rs1)} << ${imm}) | (lo >>> ${32 - imm})`)}`;
        else code = `lo = ${rx(rs1)}; ${setRd(rd, '0', `lo << ${imm - 32}`)}`;
        break;
      case OP.SRLI:
      case OP.SRAI: {
        const sh = op === OP.SRAI ? '>>' : '>>>';
        if (imm === 0) code = setRd(rd, rx(rs1), rh(rs1));
        else if (imm < 32)
          code = `hi = ${rh(rs1)}; ${setRd(rd, `(${rx(rs1)} >>> ${imm}) | (hi << ${32 - imm})`, `hi ${sh} ${imm}`)}`;
        else
          code = `hi = ${rh(rs1)}; ${setRd(rd, `hi ${sh} ${imm - 32}`, op === OP.SRAI ? 'hi >> 31' : '0')}`;
        break;
      }
      case OP.SLL:
        code = `i = ${rx(rs2)} & 63; lo = ${rx(rs1)}; hi = ${rh(rs1)}; ${setRd(rd, 'i === 0 ? lo : i < 32 ? lo << i : 0', 'i === 0 ? hi : i < 32 ? (hi << i) | (lo >>> (32 - i)) : lo << (i - 32)')}`;
        break;
      case OP.SRL:
        code = `i = ${rx(rs2)} & 63; lo = ${rx(rs1)}; hi = ${rh(rs1)}; ${setRd(rd, 'i === 0 ? lo : i < 32 ? (lo >>> i) | (hi << (32 - i)) : hi >>> (i - 32)', 'i === 0 ? hi : i < 32 ? hi >>> i : 0')}`;
        break;
      case OP.SRA:
        code = `i = ${rx(rs2)} & 63; lo = ${rx(rs1)}; hi = ${rh(rs1)}; ${setRd(rd, 'i === 0 ? lo : i < 32 ? (lo >>> i) | (hi << (32 - i)) : hi >> (i - 32)', 'i === 0 ? hi : i < 32 ? hi >> i : hi >> 31')}`;
        break;
      case OP.SLLW:
        code = `lo = ${rx(rs1)} << (${rx(rs2)} & 31); ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.SRLW:
        code = `lo = (${rx(rs1)} >>> (${rx(rs2)} & 31)) | 0; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.SRAW:
        code = `lo = ${rx(rs1)} >> (${rx(rs2)} & 31); ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.MUL:
        code = `lo = ${rx(rs1)}; hi = ${rx(rs2)}; ${setRd(rd, 'Math.imul(lo, hi)', `(mulhu(lo >>> 0, hi >>> 0) + Math.imul(lo, ${rh(rs2)}) + Math.imul(${rh(rs1)}, hi)) | 0`)}`;
        break;
      case OP.MULW:
        code = `lo = Math.imul(${rx(rs1)}, ${rx(rs2)}); ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.DIVREM: {
        // DIV (4), DIVU (5), REM (6), REMU (7): division by zero and MIN / -1 as the spec says.
        const signed = imm === 4 || imm === 6;
        const rem = imm >= 6;
        const byZero = rem ? setRd(rd, 'lo', 'hi') : setRd(rd, '-1', '-1');
        const overflow = rem ? setRd(rd, '0', '0') : setRd(rd, 'lo', 'hi');
        const result = rem ? setRd(rd, 'q[2]', 'q[3]') : setRd(rd, 'q[0]', 'q[1]');
        code =
          `lo = ${rx(rs1)}; hi = ${rh(rs1)}; s = ${rx(rs2)}; i = ${rh(rs2)}; ` +
          `if (s === 0 && i === 0) { ${byZero} } ` +
          (signed
            ? `else if (lo === 0 && hi === -2147483648 && s === -1 && i === -1) { ${overflow} } `
            : '') +
          `else { ${signed ? 'div64' : 'divu64'}(q, lo, hi, s, i); ${result} }`;
        break;
      }
      case OP.DIVREMW: {
        const a = rx(rs1);
        const b = rx(rs2);
        const expr =
          imm === 4
            ? `(${b} === 0 ? -1 : ${a} === -2147483648 && ${b} === -1 ? ${a} : (${a} / ${b}) | 0)`
            : imm === 5
              ? `(${b} === 0 ? -1 : Math.floor((${a} >>> 0) / (${b} >>> 0)) | 0)`
              : imm === 6
                ? `(${b} === 0 ? ${a} : ${a} === -2147483648 && ${b} === -1 ? 0 : (${a} % ${b}) | 0)`
                : `(${b} === 0 ? ${a} : ((${a} >>> 0) % (${b} >>> 0)) | 0)`;
        code = `lo = ${expr}; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      }
      case OP.SLLIW:
        code = `lo = ${rx(rs1)} << ${imm}; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.SRLIW:
        code = `lo = (${rx(rs1)} >>> ${imm}) | 0; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.SRAIW:
        code = `lo = ${rx(rs1)} >> ${imm}; ${setRd(rd, 'lo', 'lo >> 31')}`;
        break;
      case OP.SLTIU:
        code = `${setRd(rd, `(((${rh(rs1)} >>> 0) < ${(imm >> 31) >>> 0} || (${rh(rs1)} === ${imm >> 31} && (${rx(rs1)} >>> 0) < ${imm >>> 0})) ? 1 : 0)`, '0')}`;
        break;
      case OP.SLTI:
        code = `${setRd(rd, `((${rh(rs1)} < ${imm >> 31} || (${rh(rs1)} === ${imm >> 31} && (${rx(rs1)} >>> 0) < ${imm >>> 0})) ? 1 : 0)`, '0')}`;
        break;
      case OP.SLTU:
        code = setRd(rd, `(${ltu(rs1, rs2)} ? 1 : 0)`, '0');
        break;
      case OP.SLT:
        code = setRd(rd, `(${lt(rs1, rs2)} ? 1 : 0)`, '0');
        break;
      case OP.JAL: {
        const [lo, hi] = halves(next);
        // A jump back to the block's own start loops inside the function, within the budget.
        code =
          at + imm === pc
            ? `${setRd(rd, lo, hi)} d += ${n + 1}; if (d >= limit) { h.blockDone = d; return ${pc}; } continue;`
            : `${setRd(rd, lo, hi)} h.blockDone = d + ${n + 1}; return ${at + imm};`;
        end = true;
        break;
      }
      case OP.JALR: {
        const [lo, hi] = halves(next);
        // The target from rs1 before rd is written (rd may be rs1).
        code =
          `s = (${rx(rs1)} >>> 0) + ${imm}; lo = s >>> 0; hi = (${rh(rs1)} + (s >= ${TWO32} ? 1 : s < 0 ? -1 : 0)) | 0; ` +
          `${setRd(rd, lo, hi)} h.blockDone = d + ${n + 1}; ` +
          `if (hi === 0) return lo - (lo & 1); return h.jitTarget(lo, hi);`;
        end = true;
        break;
      }
      case OP.BEQ:
      case OP.BNE:
      case OP.BLT:
      case OP.BGE:
      case OP.BLTU:
      case OP.BGEU: {
        const cond =
          op === OP.BEQ
            ? `${rx(rs1)} === ${rx(rs2)} && ${rh(rs1)} === ${rh(rs2)}`
            : op === OP.BNE
              ? `${rx(rs1)} !== ${rx(rs2)} || ${rh(rs1)} !== ${rh(rs2)}`
              : op === OP.BLT
                ? lt(rs1, rs2)
                : op === OP.BGE
                  ? `!${lt(rs1, rs2)}`
                  : op === OP.BLTU
                    ? ltu(rs1, rs2)
                    : `!${ltu(rs1, rs2)}`;
        // A taken branch leaves the block; a branch not taken goes on (a superblock).
        code =
          at + imm === pc
            ? `if (${cond}) { d += ${n + 1}; if (d >= limit) { h.blockDone = d; return ${pc}; } continue; }`
            : `if (${cond}) { h.blockDone = d + ${n + 1}; return ${at + imm}; }`;
        break;
      }
      case OP.LB:
      case OP.LH:
      case OP.LW:
      case OP.LD:
      case OP.LBU:
      case OP.LHU:
      case OP.LWU: {
        const load =
          op === OP.LD
            ? `lo = view.getInt32(m, true); hi = view.getInt32(m + 4, true); ${setRd(rd, 'lo', 'hi')}`
            : op === OP.LW
              ? `lo = view.getInt32(m, true); ${setRd(rd, 'lo', 'lo >> 31')}`
              : op === OP.LWU
                ? setRd(rd, 'view.getInt32(m, true)', '0')
                : op === OP.LBU
                  ? setRd(rd, 'bytes[m]', '0')
                  : op === OP.LB
                    ? `lo = view.getInt8(m); ${setRd(rd, 'lo', 'lo >> 31')}`
                    : op === OP.LHU
                      ? setRd(rd, 'view.getUint16(m, true)', '0')
                      : `lo = view.getInt16(m, true); ${setRd(rd, 'lo', 'lo >> 31')}`;
        code =
          `${addr(rs1, imm)} if ((hi >>> 0) >= 0x200000 || po > ${4096 - size}) { ${done} return ${at}; } ` +
          `i = (lo >>> 12) & mask; ` +
          `if (tagR[i] === hi * 1048576 + (lo >>> 12) && (modeR[i] & 1) !== 0) m = offR[i] + po; ` +
          `else { m = h.jitMiss(hi * ${TWO32} + lo, lo, hi, false); if (m < 0) { ${done} return ${at}; } } ${load}`;
        // x0 as the destination: the access still happens (it may fault), the value goes nowhere.
        break;
      }
      case OP.SB:
      case OP.SH:
      case OP.SW:
      case OP.SD: {
        const store =
          op === OP.SD
            ? `view.setInt32(m, ${rx(rs2)}, true); view.setInt32(m + 4, ${rh(rs2)}, true);`
            : op === OP.SW
              ? `view.setInt32(m, ${rx(rs2)}, true);`
              : op === OP.SH
                ? `view.setInt16(m, ${rx(rs2)}, true);`
                : `bytes[m] = ${rx(rs2)};`;
        code =
          `${addr(rs1, imm)} if ((hi >>> 0) >= 0x200000 || po > ${4096 - size} || h.hasReservation) { ${done} return ${at}; } ` +
          `i = (lo >>> 12) & mask; ` +
          `if (tagW[i] === hi * 1048576 + (lo >>> 12) && (modeW[i] & 1) !== 0) m = offW[i] + po; ` +
          `else { m = h.jitMiss(hi * ${TWO32} + lo, lo, hi, true); if (m < 0) { ${done} return ${at}; } } ${store}`;
        break;
      }
      default:
        end = true;
        continue;
    }
    // --stats: every load and store counts itself (compiled in only when asked: no cost otherwise).
    body.push(env.countAccesses && size !== 0 ? `h.dataAccesses++; ${code}` : code);
    n++;
    o += ilen;
    exitPc = next;
  }
  if (n === 0) return undefined;
  if (!end) body.push(`h.blockDone = d + ${n}; return ${exitPc};`);
  // The entry check: the code is still the code compiled (constants compared inline; -2 when not).
  const first = memBase + slot * 2;
  const last = memBase + o;
  const checks: string[] = [];
  for (let b = first; b < last; ) {
    if (b % 4 === 0 && b + 4 <= last) {
      checks.push(`u32[${b >>> 2}] !== ${(u16[b >>> 1] | (u16[(b >>> 1) + 1] << 16)) >>> 0}`);
      b += 4;
    } else {
      checks.push(`u16[${b >>> 1}] !== ${u16[b >>> 1]}`);
      b += 2;
    }
  }
  const src = `if (${checks.join(' || ')}) return -2;\nlet s = 0, lo = 0, hi = 0, po = 0, i = 0, m = 0, d = 0;\nfor (;;) {\n${body.join('\n')}\n}`;
  // The compiled tier: JavaScript generated from decoded instructions (switched off with compile: false).
  const make = new Function(
    'x',
    'xh',
    'view',
    'bytes',
    'u16',
    'u32',
    'tagR',
    'offR',
    'modeR',
    'tagW',
    'offW',
    'modeW',
    'mask',
    'mulhu',
    'div64',
    'divu64',
    'q',
    `return function block(h, limit) {\n${src}\n};`,
  );
  const e = env;
  const fn = make(
    e.x,
    e.xh,
    e.view,
    e.bytes,
    e.u16,
    e.u32,
    e.tagR,
    e.offR,
    e.modeR,
    e.tagW,
    e.offW,
    e.modeW,
    e.mask,
    e.mulhu,
    e.div64,
    e.divu64,
    e.q,
  ) as BlockFn;
  return { fn, pc, length: n };
}

/** The effective address of a load or store: lo, hi (the 64-bit halves) and po (the page offset). */
function addr(rs1: number, imm: number): string {
  return `s = (${rx(rs1)} >>> 0) + ${imm}; lo = s >>> 0; hi = (${rh(rs1)} + (s >= ${TWO32} ? 1 : s < 0 ? -1 : 0)) | 0; po = lo & 4095;`;
}
