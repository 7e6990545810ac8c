/**
 * The RISC-V hart in user mode: RV64I with M, A, C, Zicsr, Zifencei, Zba,
 * Zbb and Zbs (F and D come with the floating-point work).
 *
 * Registers are two `Int32Array`s of halves (`x` low, `xh` high), so 64-bit
 * values never become `bigint`. Every fetch, load and store translates in
 * user mode through the MMU of the paging layer: a TLB hit is tested inline
 * (tag compare and mode bits on the MMU's typed arrays); a miss calls
 * `Mmu.lookupIndex`, which walks, fills and answers an index or -1 without
 * throwing or allocating.
 *
 * `run(budget)` executes until a trap or until `budget` instructions have
 * retired, and answers the RISC-V exception cause (`Cause`) or
 * `BUDGET_SPENT`. On a trap, `pc` is the trapping instruction and `tval`
 * holds the faulting address or the instruction bits, as `stval` would; the
 * instruction did nothing, so after the kernel fixes a page fault it
 * restarts. An `ecall` leaves `pc` at the `ecall`: the kernel answers the
 * system call and calls {@link Hart.completeEcall}. Trapping instructions do
 * not retire (`instret` counts only completed instructions, as hardware's).
 */
import { Access, type Mmu, MODE_USER, Privilege } from '../paging/index.js';
import { decodeInto, EMPTY_PAGE, MAX_DECODED_PAGES, OP, SLOT } from './decoded.js';
import * as fp from './fp.js';
import { clz64, ctz32, div64, divu64, lt64, ltu64, mul64, mulh64, mulhu32, popcount32 } from './int64.js';
import { type Block, type BlockEnv, type BlockHost, compileBlock } from './jit.js';

/** RISC-V exception causes (the privileged spec's `scause` values) a user hart raises. */
export const Cause = {
  InstructionMisaligned: 0,
  InstructionAccessFault: 1,
  IllegalInstruction: 2,
  Breakpoint: 3,
  LoadMisaligned: 4,
  LoadAccessFault: 5,
  StoreMisaligned: 6,
  StoreAccessFault: 7,
  UserEcall: 8,
  InstructionPageFault: 12,
  LoadPageFault: 13,
  StorePageFault: 15,
} as const;
export type Cause = (typeof Cause)[keyof typeof Cause];

/** What `run` answers when the budget is spent without a trap. */
export const BUDGET_SPENT = -1;

const TWO32 = 4294967296;
/** execFp's answer when its integer result goes to x[rd]. */
const WRITE_RD = -100;
const EMPTY_HEAT: Uint8Array = new Uint8Array(0);

/** Addresses at or above this are beyond every user space (2^53: the walker refuses them anyway). */
const ADDR_LIMIT = 2 ** 53;

export interface HartOptions {
  /**
   * Compile hot basic blocks to JavaScript (`new Function`); default true.
   * Switch it off where the environment forbids generated code.
   */
  compile?: boolean;
  /** Executions of a block's first instruction before it is compiled (default 64; 1 compiles at once). */
  hotness?: number;
  /** Count loads and stores in {@link Hart.dataAccesses} in both tiers (--stats; compiled blocks pay only then). */
  countAccesses?: boolean;
}

/** A task's user-visible hart state while another task runs on the hart (Linux's pt_regs and FP state). */
export interface HartContext {
  x: Int32Array;
  xh: Int32Array;
  f: Int32Array;
  fh: Int32Array;
  pc: number;
  fflags: number;
  frm: number;
}

/** A zeroed context (every register 0, pc 0, round to nearest). */
export function newHartContext(): HartContext {
  return {
    x: new Int32Array(32),
    xh: new Int32Array(32),
    f: new Int32Array(32),
    fh: new Int32Array(32),
    pc: 0,
    fflags: 0,
    frm: 0,
  };
}

/** A copy of `ctx` (what fork and clone give the new task). */
export function cloneHartContext(ctx: HartContext): HartContext {
  return {
    x: ctx.x.slice(),
    xh: ctx.xh.slice(),
    f: ctx.f.slice(),
    fh: ctx.fh.slice(),
    pc: ctx.pc,
    fflags: ctx.fflags,
    frm: ctx.frm,
  };
}

/** A code page as the hart caches it: decoded slots, compiled blocks by slot, and their heat. */
interface CodePage {
  dec: Int32Array;
  /** undefined: not compiled (yet); null: not compilable at this slot. */
  blocks: (Block | null | undefined)[];
  heat: Uint8Array;
}

export class Hart implements BlockHost {
  /** Low halves of x0..x31. */
  readonly x = new Int32Array(32);
  /** High halves of x0..x31. */
  readonly xh = new Int32Array(32);
  /** Floating-point registers as raw 64-bit patterns (low, high halves); used by F/D. */
  readonly f = new Int32Array(32);
  readonly fh = new Int32Array(32);
  pc = 0;
  /** Instructions retired. */
  instret = 0;
  /** Of those, the ones compiled blocks ran (the rest ran in the interpreter). */
  compiledInstret = 0;
  /** Loads and stores executed (both tiers): what the inline TLB tests served, hit or miss. */
  dataAccesses = 0;
  /** Code pages decoded (each a cache of 2048 decoded slots) and blocks compiled, since creation. */
  codePagesDecoded = 0;
  blocksCompiled = 0;
  /** fcsr's parts. */
  fflags = 0;
  frm = 0;
  /** The trap's `stval`: the faulting address (64-bit, as halves) or the instruction bits. */
  tvalLo = 0;
  tvalHi = 0;

  /** The MMU every fetch, load and store goes through (its CPU's). */
  readonly mmu: Mmu;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly mask: number;
  private readonly tagR: Float64Array;
  private readonly offR: Uint32Array;
  private readonly modeR: Uint8Array;
  private readonly tagW: Float64Array;
  private readonly offW: Uint32Array;
  private readonly modeW: Uint8Array;
  private readonly tagX: Float64Array;
  private readonly offX: Uint32Array;
  private readonly modeX: Uint8Array;
  private readonly out = new Int32Array(4);
  // The FP flags one instruction raises (fp.ts ORs into it).
  private readonly fl = new Int32Array(1);
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private readonly env: BlockEnv;
  // Decoded code pages by memory index (see run).
  private readonly decoded = new Map<number, CodePage>();
  private readonly compile: boolean;
  private readonly hotness: number;
  /** Instructions the last compiled block completed (BlockHost). */
  blockDone = 0;
  // Instructions this run retired before the block now running (for instret reads inside it).
  private runDone = 0;
  // The cause of the trap that ended the current step (BUDGET_SPENT while none).
  private trap: number = BUDGET_SPENT;
  // The LR/SC reservation: the reserved address, or -1.
  private reserved = -1;
  // Set by a failed translation: the cause to report.
  private faultCause = 0;

  constructor(mmu: Mmu, options: HartOptions = {}) {
    this.mmu = mmu;
    this.compile = options.compile ?? true;
    this.hotness = Math.min(255, Math.max(1, options.hotness ?? 64));
    this.bytes = mmu.mem.bytes;
    this.view = mmu.mem.view;
    this.u16 = new Uint16Array(mmu.mem.buffer);
    this.u32 = mmu.mem.u32;
    this.mask = mmu.tlbEntries - 1;
    this.tagR = mmu.tlbR.tag;
    this.offR = mmu.tlbR.off;
    this.modeR = mmu.tlbR.modes;
    this.tagW = mmu.tlbW.tag;
    this.offW = mmu.tlbW.off;
    this.modeW = mmu.tlbW.modes;
    this.tagX = mmu.tlbX.tag;
    this.offX = mmu.tlbX.off;
    this.modeX = mmu.tlbX.modes;
    this.env = {
      countAccesses: options.countAccesses === true,
      x: this.x,
      xh: this.xh,
      view: this.view,
      bytes: this.bytes,
      u16: this.u16,
      u32: this.u32,
      tagR: this.tagR,
      offR: this.offR,
      modeR: this.modeR,
      tagW: this.tagW,
      offW: this.offW,
      modeW: this.modeW,
      mask: this.mask,
      mulhu: mulhu32,
      div64,
      divu64,
      q: new Int32Array(4),
    };
  }

  /** The trap value as an unsigned 64-bit number. */
  get tval(): bigint {
    return (BigInt(this.tvalHi >>> 0) << 32n) | BigInt(this.tvalLo >>> 0);
  }

  /** Register `i` as a signed 64-bit value. */
  getReg(i: number): bigint {
    return (BigInt(this.xh[i]) << 32n) | BigInt(this.x[i] >>> 0);
  }

  /** Sets register `i` (x0 stays zero). */
  setReg(i: number, v: bigint | number): void {
    if (i === 0) return;
    const b = BigInt.asUintN(64, BigInt(v));
    this.x[i] = Number(b & 0xffff_ffffn) | 0;
    this.xh[i] = Number(b >> 32n) | 0;
  }

  /** After the kernel served the `ecall` at `pc`: the next instruction runs. */
  completeEcall(): void {
    this.pc += 4;
  }

  /** Copies the user-visible state (registers, pc, fcsr) into `ctx`: the first half of a context switch. */
  saveContext(ctx: HartContext): void {
    ctx.x.set(this.x);
    ctx.xh.set(this.xh);
    ctx.f.set(this.f);
    ctx.fh.set(this.fh);
    ctx.pc = this.pc;
    ctx.fflags = this.fflags;
    ctx.frm = this.frm;
  }

  /** Takes on the state in `ctx` (the second half); the reservation breaks, as a context switch must. */
  loadContext(ctx: HartContext): void {
    this.x.set(ctx.x);
    this.xh.set(ctx.xh);
    this.f.set(ctx.f);
    this.fh.set(ctx.fh);
    this.pc = ctx.pc;
    this.fflags = ctx.fflags;
    this.frm = ctx.frm;
    this.reserved = -1;
  }

  /** Breaks the LR/SC reservation (a context switch, or a store by another hart to the reserved word). */
  breakReservation(): void {
    this.reserved = -1;
  }

  /**
   * Runs until a trap or until `budget` instructions retired; answers the
   * cause or {@link BUDGET_SPENT}.
   *
   * The fetch keeps the current code page (its TLB slot is re-checked on
   * every instruction, so a flush is seen at once) and a decoded form of
   * each of its instructions (op, registers, immediate) next to the raw bits
   * it was decoded from; an instruction whose bits changed (self-modifying
   * code, a page reused) is decoded again before it runs, so stores never
   * meet a stale translation.
   */
  run(budget: number): number {
    const x = this.x;
    const xh = this.xh;
    const u16 = this.u16;
    const view = this.view;
    const tagX = this.tagX;
    const tagR = this.tagR;
    const offR = this.offR;
    const modeR = this.modeR;
    const tagW = this.tagW;
    const offW = this.offW;
    const modeW = this.modeW;
    const mask = this.mask;
    let pc = this.pc;
    let done = 0;
    this.trap = BUDGET_SPENT;
    let pageStart = -1; // virtual address of the current code page
    let pageVpn = -1;
    let pageSlot = 0;
    let memBase = 0; // its index in memory
    let dec: Int32Array = EMPTY_PAGE;
    let blocks: (Block | null | undefined)[] = [];
    let heat: Uint8Array = EMPTY_HEAT;
    const jit = this.compile;
    const countAccesses = this.env.countAccesses;
    try {
      while (done < budget) {
        let o = pc - pageStart;
        if (o < 0 || o >= 4096 || tagX[pageSlot] !== pageVpn) {
          if (!(pc >= 0 && pc < ADDR_LIMIT)) {
            // A jump beyond every user address. -1 is JALR's mark for a target above 2^53, whose exact
            // value addrOf left in tval; any other (a negative pc from JAL or a branch) is its own tval.
            if (pc !== -1) this.setTval(pc);
            this.trap = Cause.InstructionPageFault;
            break;
          }
          const vpn = Math.floor(pc / 4096);
          const off = this.fetchIndex(vpn * 4096);
          if (off < 0) {
            this.setTval(pc);
            this.trap = this.faultCause;
            break;
          }
          pageStart = vpn * 4096;
          pageVpn = vpn;
          pageSlot = vpn & this.mask;
          memBase = off;
          const page = this.codePage(off);
          dec = page.dec;
          blocks = page.blocks;
          heat = page.heat;
          o = pc - pageStart;
        }
        // ---- the compiled tier: a block at this instruction runs whole ----
        let compileHere = false;
        if (jit) {
          const j = o >>> 1;
          const blk = blocks[j];
          if (blk !== undefined) {
            // A block is cached by frame: the same code mapped at another address is not this block.
            if (blk !== null && blk.pc !== pc) {
              blocks[j] = undefined;
              heat[j] = 0;
            } else if (blk !== null) {
              this.runDone = done;
              const next = blk.fn(this, budget - done);
              if (next !== -2 && (this.blockDone > 0 || this.trap !== BUDGET_SPENT)) {
                pc = next;
                done += this.blockDone;
                this.compiledInstret += this.blockDone;
                if (this.trap !== BUDGET_SPENT) break;
                continue;
              }
              // -2: its code changed since (compile again when hot again). Nothing done and no trap:
              // its first instruction wants the interpreter (a store under a reservation, say).
              if (next === -2) {
                blocks[j] = undefined;
                heat[j] = 0;
              }
            }
          } else if (++heat[j] >= this.hotness) compileHere = true;
        }
        const h = (memBase + o) >>> 1;
        let raw = u16[h];
        if ((raw & 3) === 3) {
          if (o === 4094) {
            // A 32-bit instruction across two pages: fetched and run the slow way.
            const next = this.execAcrossPages(pc, done);
            if (this.trap !== BUDGET_SPENT) break;
            pc = next;
            done++;
            continue;
          }
          raw = raw | (u16[h + 1] << 16);
        }
        const e = (o >>> 1) * SLOT;
        if (dec[e] !== raw) decodeInto(dec, e, raw);
        if (compileHere) {
          blocks[o >>> 1] = compileBlock(dec, o >>> 1, pc, memBase, this.env) ?? null;
          if (blocks[o >>> 1] !== null) {
            this.blocksCompiled++;
            continue;
          }
        }
        const f = dec[e + 2];
        if (countAccesses && f >= 1 << 18) this.dataAccesses++; // a load or store (its size is in bits 18+)
        const rd = f & 31;
        const rs1 = (f >>> 5) & 31;
        const rs2 = (f >>> 10) & 31;
        const ilen = (f >>> 15) & 7;
        const imm = dec[e + 3];
        let lo = 0;
        let hi = 0;
        switch (dec[e + 1]) {
          case OP.ADDI: {
            // The unsigned low half plus the signed immediate carries -1, 0 or 1 into the high half.
            const s = (x[rs1] >>> 0) + imm;
            lo = s | 0;
            hi = (xh[rs1] + (s >= TWO32 ? 1 : s < 0 ? -1 : 0)) | 0;
            break;
          }
          case OP.ADD: {
            const s = (x[rs1] >>> 0) + (x[rs2] >>> 0);
            lo = s | 0;
            hi = (xh[rs1] + xh[rs2] + (s >= TWO32 ? 1 : 0)) | 0;
            break;
          }
          case OP.SUB: {
            const a = x[rs1];
            const b = x[rs2];
            lo = (a - b) | 0;
            hi = (xh[rs1] - xh[rs2] - (a >>> 0 < b >>> 0 ? 1 : 0)) | 0;
            break;
          }
          case OP.ADDIW:
            lo = (x[rs1] + imm) | 0;
            hi = lo >> 31;
            break;
          case OP.ADDW:
            lo = (x[rs1] + x[rs2]) | 0;
            hi = lo >> 31;
            break;
          case OP.SUBW:
            lo = (x[rs1] - x[rs2]) | 0;
            hi = lo >> 31;
            break;
          case OP.LUI:
            lo = imm;
            hi = imm >> 31;
            break;
          case OP.AUIPC: {
            const v = pc + imm;
            if (v >= 0 && v < TWO32) lo = v | 0;
            else {
              lo = (v % TWO32) | 0;
              hi = Math.floor(v / TWO32) | 0;
            }
            break;
          }
          case OP.ANDI:
            lo = x[rs1] & imm;
            hi = xh[rs1] & (imm >> 31);
            break;
          case OP.ORI:
            lo = x[rs1] | imm;
            hi = xh[rs1] | (imm >> 31);
            break;
          case OP.XORI:
            lo = x[rs1] ^ imm;
            hi = xh[rs1] ^ (imm >> 31);
            break;
          case OP.AND:
            lo = x[rs1] & x[rs2];
            hi = xh[rs1] & xh[rs2];
            break;
          case OP.OR:
            lo = x[rs1] | x[rs2];
            hi = xh[rs1] | xh[rs2];
            break;
          case OP.XOR:
            lo = x[rs1] ^ x[rs2];
            hi = xh[rs1] ^ xh[rs2];
            break;
          case OP.SLLI: {
            const n = imm;
            const a = x[rs1];
            if (n === 0) {
              lo = a;
              hi = xh[rs1];
            } else if (n < 32) {
              lo = a << n;
              hi = (xh[rs1] << n) | (a >>> (32 - n));
            } else {
              lo = 0;
              hi = a << (n - 32);
            }
            break;
          }
          case OP.SRLI:
          case OP.SRAI: {
            const n = imm;
            const a = xh[rs1];
            const arith = dec[e + 1] === OP.SRAI;
            if (n === 0) {
              lo = x[rs1];
              hi = a;
            } else if (n < 32) {
              lo = (x[rs1] >>> n) | (a << (32 - n));
              hi = arith ? a >> n : a >>> n;
            } else {
              lo = arith ? a >> (n - 32) : a >>> (n - 32);
              hi = arith ? a >> 31 : 0;
            }
            break;
          }
          case OP.SLLIW:
            lo = x[rs1] << imm;
            hi = lo >> 31;
            break;
          case OP.SLL:
          case OP.SRL:
          case OP.SRA: {
            const op = dec[e + 1];
            const n = x[rs2] & 63;
            if (op === OP.SLL) this.shl(x[rs1], xh[rs1], n);
            else this.shr(x[rs1], xh[rs1], n, op === OP.SRA);
            lo = this.out[0];
            hi = this.out[1];
            break;
          }
          case OP.SLLW:
            lo = x[rs1] << (x[rs2] & 31);
            hi = lo >> 31;
            break;
          case OP.SRLW:
            lo = (x[rs1] >>> (x[rs2] & 31)) | 0;
            hi = lo >> 31;
            break;
          case OP.SRAW:
            lo = x[rs1] >> (x[rs2] & 31);
            hi = lo >> 31;
            break;
          case OP.MUL: {
            const a = x[rs1];
            const b = x[rs2];
            lo = Math.imul(a, b);
            hi = (mulhu32(a >>> 0, b >>> 0) + Math.imul(a, xh[rs2]) + Math.imul(xh[rs1], b)) | 0;
            break;
          }
          case OP.MULW:
            lo = Math.imul(x[rs1], x[rs2]);
            hi = lo >> 31;
            break;
          case OP.SRLIW:
            lo = (x[rs1] >>> imm) | 0;
            hi = lo >> 31;
            break;
          case OP.SRAIW:
            lo = x[rs1] >> imm;
            hi = lo >> 31;
            break;
          case OP.SLTIU:
            lo = ltu64(x[rs1], xh[rs1], imm, imm >> 31) ? 1 : 0;
            break;
          case OP.SLTI:
            lo = lt64(x[rs1], xh[rs1], imm, imm >> 31) ? 1 : 0;
            break;
          case OP.SLTU:
            lo = ltu64(x[rs1], xh[rs1], x[rs2], xh[rs2]) ? 1 : 0;
            break;
          case OP.SLT:
            lo = lt64(x[rs1], xh[rs1], x[rs2], xh[rs2]) ? 1 : 0;
            break;
          case OP.JAL: {
            const next = pc + ilen;
            if (rd !== 0) {
              x[rd] = next < TWO32 ? next | 0 : (next % TWO32) | 0;
              xh[rd] = next < TWO32 ? 0 : Math.floor(next / TWO32);
            }
            pc += imm;
            done++;
            continue;
          }
          case OP.JALR: {
            const t = this.addrOf(rs1, imm);
            const next = pc + ilen;
            if (rd !== 0) {
              x[rd] = next < TWO32 ? next | 0 : (next % TWO32) | 0;
              xh[rd] = next < TWO32 ? 0 : Math.floor(next / TWO32);
            }
            pc = t < 0 ? -1 : t - (t % 2);
            done++;
            continue;
          }
          case OP.BEQ:
            pc += x[rs1] === x[rs2] && xh[rs1] === xh[rs2] ? imm : ilen;
            done++;
            continue;
          case OP.BNE:
            pc += x[rs1] !== x[rs2] || xh[rs1] !== xh[rs2] ? imm : ilen;
            done++;
            continue;
          case OP.BLT:
            pc += lt64(x[rs1], xh[rs1], x[rs2], xh[rs2]) ? imm : ilen;
            done++;
            continue;
          case OP.BGE:
            pc += lt64(x[rs1], xh[rs1], x[rs2], xh[rs2]) ? ilen : imm;
            done++;
            continue;
          case OP.BLTU:
            pc += ltu64(x[rs1], xh[rs1], x[rs2], xh[rs2]) ? imm : ilen;
            done++;
            continue;
          case OP.BGEU:
            pc += ltu64(x[rs1], xh[rs1], x[rs2], xh[rs2]) ? ilen : imm;
            done++;
            continue;
          case OP.LD:
          case OP.LW:
          case OP.LWU:
          case OP.LH:
          case OP.LHU:
          case OP.LB:
          case OP.LBU: {
            const op = dec[e + 1];
            const size = f >>> 18;
            const s = (x[rs1] >>> 0) + imm;
            const alo = s >>> 0;
            const ahi = (xh[rs1] + (s >= TWO32 ? 1 : s < 0 ? -1 : 0)) | 0;
            const po = alo & 4095;
            if (ahi >>> 0 >= 0x200000 || po > 4096 - size) {
              // Not a user address, or across a page: the reference path.
              pc = this.exec(dec[e + 4], ilen, pc, done);
              if (this.trap !== BUDGET_SPENT) break;
              done++;
              continue;
            }
            const i = (alo >>> 12) & mask;
            let m: number;
            if (tagR[i] === ahi * 1048576 + (alo >>> 12) && (modeR[i] & MODE_USER) !== 0) m = offR[i] + po;
            else {
              this.tvalLo = alo | 0;
              this.tvalHi = ahi;
              m = this.miss(ahi * TWO32 + alo, Access.Read);
              if (m < 0) {
                this.trap = this.faultCause;
                break;
              }
            }
            if (op === OP.LD) {
              lo = view.getInt32(m, true);
              hi = view.getInt32(m + 4, true);
            } else if (op === OP.LW) {
              lo = view.getInt32(m, true);
              hi = lo >> 31;
            } else if (op === OP.LWU) {
              lo = view.getInt32(m, true);
            } else if (op === OP.LBU) {
              lo = this.bytes[m];
            } else if (op === OP.LB) {
              lo = view.getInt8(m);
              hi = lo >> 31;
            } else if (op === OP.LHU) {
              lo = view.getUint16(m, true);
            } else {
              lo = view.getInt16(m, true);
              hi = lo >> 31;
            }
            break;
          }
          case OP.SD:
          case OP.SW:
          case OP.SH:
          case OP.SB: {
            const op = dec[e + 1];
            const size = f >>> 18;
            const s = (x[rs1] >>> 0) + imm;
            const alo = s >>> 0;
            const ahi = (xh[rs1] + (s >= TWO32 ? 1 : s < 0 ? -1 : 0)) | 0;
            const po = alo & 4095;
            if (ahi >>> 0 >= 0x200000 || po > 4096 - size || this.reserved !== -1) {
              pc = this.exec(dec[e + 4], ilen, pc, done);
              if (this.trap !== BUDGET_SPENT) break;
              done++;
              continue;
            }
            const i = (alo >>> 12) & mask;
            let m: number;
            if (tagW[i] === ahi * 1048576 + (alo >>> 12) && (modeW[i] & MODE_USER) !== 0) m = offW[i] + po;
            else {
              this.tvalLo = alo | 0;
              this.tvalHi = ahi;
              m = this.miss(ahi * TWO32 + alo, Access.Write);
              if (m < 0) {
                this.trap = this.faultCause;
                break;
              }
            }
            if (op === OP.SD) {
              view.setInt32(m, x[rs2], true);
              view.setInt32(m + 4, xh[rs2], true);
            } else if (op === OP.SW) view.setInt32(m, x[rs2], true);
            else if (op === OP.SH) view.setInt16(m, x[rs2], true);
            else this.bytes[m] = x[rs2];
            pc += ilen;
            done++;
            continue;
          }
          case OP.UNDECODED:
            decodeInto(dec, e, raw);
            continue;
          default: {
            // Everything else: the reference path, with the expanded instruction.
            pc = this.exec(dec[e + 4], ilen, pc, done);
            if (this.trap !== BUDGET_SPENT) break;
            done++;
            continue;
          }
        }
        if (this.trap !== BUDGET_SPENT) break;
        if (rd !== 0) {
          x[rd] = lo;
          xh[rd] = hi;
        }
        pc += ilen;
        done++;
      }
    } finally {
      this.pc = pc;
      this.instret += done;
    }
    return this.trap;
  }

  /** A 32-bit instruction whose upper parcel lies on the next page: fetched through both translations. */
  private execAcrossPages(pc: number, done: number): number {
    const a = this.fetchIndex(pc);
    const b = a < 0 ? -1 : this.fetchIndex(pc + 2);
    if (a < 0 || b < 0) {
      this.setTval(a < 0 ? pc : pc + 2);
      this.trap = this.faultCause;
      return pc;
    }
    const inst =
      (this.bytes[a] | (this.bytes[a + 1] << 8) | (this.bytes[b] << 16) | (this.bytes[b + 1] << 24)) >>> 0;
    return this.exec(inst, 4, pc, done);
  }

  /** The cached code page at memory index `base` (made on first use). */
  private codePage(base: number): CodePage {
    let page = this.decoded.get(base);
    if (page === undefined) {
      if (this.decoded.size >= MAX_DECODED_PAGES) this.decoded.clear();
      const dec = new Int32Array(2048 * SLOT).fill(-1);
      for (let i = 1; i < dec.length; i += SLOT) dec[i] = OP.UNDECODED;
      page = { dec, blocks: new Array(2048), heat: new Uint8Array(2048) };
      this.decoded.set(base, page);
      this.codePagesDecoded++;
    }
    return page;
  }

  // ---- what compiled blocks call (BlockHost) -------------------------------

  jitMiss(a: number, lo: number, hi: number, write: boolean): number {
    this.tvalLo = lo | 0;
    this.tvalHi = hi;
    const m = this.miss(a, write ? Access.Write : Access.Read);
    if (m < 0) this.trap = this.faultCause;
    return m;
  }

  jitTarget(lo: number, hi: number): number {
    if (hi > 0 && hi < 0x200000) {
      const t = hi * TWO32 + lo;
      return t - (t % 2);
    }
    this.tvalLo = lo | 0;
    this.tvalHi = hi;
    return -1;
  }

  jitExec(inst: number, ilen: number, pc: number, doneInBlock: number): number {
    this.exec(inst, ilen, pc, this.runDone + doneInBlock);
    return this.trap === BUDGET_SPENT ? 0 : -1;
  }

  get hasReservation(): boolean {
    return this.reserved !== -1;
  }

  /** Drops every decoded instruction (fence.i, riscv_flush_icache, an exec). */
  flushDecoded(): void {
    this.decoded.clear();
  }

  /**
   * Executes one instruction (`inst`, expanded when it was compressed;
   * `ilen` its length) at `pc`: the reference semantics, used for every
   * instruction the decoded fast path does not handle itself. Answers the
   * next pc; on a trap, sets {@link trap} and changes nothing. `done` is the
   * count retired so far in this run (for instret reads).
   */
  private exec(inst: number, ilen: number, pc: number, done: number): number {
    const x = this.x;
    const xh = this.xh;
    const out = this.out;
    let result: number = BUDGET_SPENT;
    const opcode = inst & 0x7f;
    const rd = (inst >>> 7) & 31;
    const f3 = (inst >>> 12) & 7;
    const rs1 = (inst >>> 15) & 31;
    const rs2 = (inst >>> 20) & 31;
    const f7 = inst >>> 25;
    let next = pc + ilen;
    // The result to write to rd (when `write` is set).
    let lo = 0;
    let hi = 0;
    let write = true;

    switch (opcode) {
      case 0x37: // LUI
        lo = inst & 0xfffff000;
        hi = lo >> 31;
        break;
      case 0x17: {
        // AUIPC
        const v = pc + ((inst & 0xfffff000) | 0);
        lo = (v % TWO32) | 0;
        hi = Math.floor(v / TWO32) | 0;
        break;
      }
      case 0x6f: {
        // JAL
        const imm =
          ((inst >> 31) << 20) |
          (((inst >>> 21) & 0x3ff) << 1) |
          (((inst >>> 20) & 1) << 11) |
          (((inst >>> 12) & 0xff) << 12) |
          0;
        lo = (next % TWO32) | 0;
        hi = Math.floor(next / TWO32) | 0;
        next = pc + imm;
        break;
      }
      case 0x67: {
        // JALR
        if (f3 !== 0) {
          result = this.illegal(inst);
          break;
        }
        const t = this.addrOf(rs1, inst >> 20);
        lo = (next % TWO32) | 0;
        hi = Math.floor(next / TWO32) | 0;
        // Bit 0 cleared; a target that is no user address makes the next fetch fault.
        next = t < 0 ? -1 : t - (t % 2);
        break;
      }
      case 0x63: {
        // BRANCH
        write = false;
        const alo = x[rs1];
        const ahi = xh[rs1];
        const blo = x[rs2];
        const bhi = xh[rs2];
        let take: boolean;
        switch (f3) {
          case 0:
            take = alo === blo && ahi === bhi;
            break;
          case 1:
            take = alo !== blo || ahi !== bhi;
            break;
          case 4:
            take = lt64(alo, ahi, blo, bhi);
            break;
          case 5:
            take = !lt64(alo, ahi, blo, bhi);
            break;
          case 6:
            take = ltu64(alo, ahi, blo, bhi);
            break;
          case 7:
            take = !ltu64(alo, ahi, blo, bhi);
            break;
          default:
            result = this.illegal(inst);
            take = false;
        }
        if (result !== BUDGET_SPENT) break;
        if (take) {
          const imm =
            ((inst >> 31) << 12) |
            (((inst >>> 25) & 0x3f) << 5) |
            (((inst >>> 8) & 0xf) << 1) |
            (((inst >>> 7) & 1) << 11) |
            0;
          next = pc + imm;
        }
        break;
      }
      case 0x03: {
        // LOAD
        const a = this.addrOf(rs1, inst >> 20);
        const size = f3 === 3 ? 8 : 1 << (f3 & 3);
        if (f3 === 7) {
          result = this.illegal(inst);
          break;
        }
        if (a < 0 || a % 4096 > 4096 - size) {
          // Not a user address, or it crosses a page: bytes one by one (all translated first).
          if (!this.loadSlow(a, size, f3 >= 4)) {
            result = this.faultCause;
            break;
          }
          lo = out[0];
          hi = out[1];
          break;
        }
        const o = this.readIndex(a);
        if (o < 0) {
          result = this.faultCause;
          break;
        }
        const view = this.view;
        switch (f3) {
          case 0:
            lo = view.getInt8(o);
            hi = lo >> 31;
            break;
          case 1:
            lo = view.getInt16(o, true);
            hi = lo >> 31;
            break;
          case 2:
            lo = view.getInt32(o, true);
            hi = lo >> 31;
            break;
          case 3:
            lo = view.getInt32(o, true);
            hi = view.getInt32(o + 4, true);
            break;
          case 4:
            lo = view.getUint8(o);
            break;
          case 5:
            lo = view.getUint16(o, true);
            break;
          default:
            lo = view.getInt32(o, true);
            break;
        }
        break;
      }
      case 0x23: {
        // STORE
        write = false;
        if (f3 > 3) {
          result = this.illegal(inst);
          break;
        }
        const imm = ((inst >> 25) << 5) | ((inst >>> 7) & 31);
        const a = this.addrOf(rs1, imm);
        const size = 1 << f3;
        if (a < 0 || a % 4096 > 4096 - size) {
          if (!this.storeSlow(a, size, x[rs2], xh[rs2])) result = this.faultCause;
          break;
        }
        const o = this.writeIndex(a);
        if (o < 0) {
          result = this.faultCause;
          break;
        }
        // A store to the reserved doubleword breaks an LR/SC reservation.
        if (this.reserved !== -1 && Math.floor(a / 8) === Math.floor(this.reserved / 8)) this.reserved = -1;
        const view = this.view;
        if (f3 === 0) view.setInt8(o, x[rs2]);
        else if (f3 === 1) view.setInt16(o, x[rs2], true);
        else if (f3 === 2) view.setInt32(o, x[rs2], true);
        else {
          view.setInt32(o, x[rs2], true);
          view.setInt32(o + 4, xh[rs2], true);
        }
        break;
      }
      case 0x13: {
        // OP-IMM
        const imm = inst >> 20;
        const alo = x[rs1];
        const ahi = xh[rs1];
        const shamt = (inst >>> 20) & 63;
        switch (f3) {
          case 0: {
            // ADDI: the unsigned low half plus the signed immediate carries -1, 0 or 1 into the high half
            const s = (alo >>> 0) + imm;
            lo = s | 0;
            hi = (ahi + Math.floor(s / TWO32)) | 0;
            break;
          }
          case 2: // SLTI
            lo = lt64(alo, ahi, imm, imm >> 31) ? 1 : 0;
            break;
          case 3: // SLTIU
            lo = ltu64(alo, ahi, imm, imm >> 31) ? 1 : 0;
            break;
          case 4: // XORI
            lo = alo ^ imm;
            hi = ahi ^ (imm >> 31);
            break;
          case 6: // ORI
            lo = alo | imm;
            hi = ahi | (imm >> 31);
            break;
          case 7: // ANDI
            lo = alo & imm;
            hi = ahi & (imm >> 31);
            break;
          case 1: {
            const top = inst >>> 26; // imm[11:6]
            if (top === 0) {
              // SLLI
              this.shl(alo, ahi, shamt);
            } else if (top === 0x0a) {
              // BSETI
              this.bitOp(alo, ahi, shamt, 1);
            } else if (top === 0x12) {
              // BCLRI
              this.bitOp(alo, ahi, shamt, 0);
            } else if (top === 0x1a) {
              // BINVI
              this.bitOp(alo, ahi, shamt, 2);
            } else if (inst >>> 20 === 0x600) {
              // CLZ
              out[0] = clz64(alo, ahi);
              out[1] = 0;
            } else if (inst >>> 20 === 0x601) {
              // CTZ
              out[0] = alo !== 0 ? ctz32(alo) : 32 + ctz32(ahi);
              out[1] = 0;
            } else if (inst >>> 20 === 0x602) {
              // CPOP
              out[0] = popcount32(alo) + popcount32(ahi);
              out[1] = 0;
            } else if (inst >>> 20 === 0x604) {
              // SEXT.B
              out[0] = (alo << 24) >> 24;
              out[1] = out[0] >> 31;
            } else if (inst >>> 20 === 0x605) {
              // SEXT.H
              out[0] = (alo << 16) >> 16;
              out[1] = out[0] >> 31;
            } else {
              result = this.illegal(inst);
              break;
            }
            lo = out[0];
            hi = out[1];
            break;
          }
          default: {
            // 5: SRLI, SRAI, RORI, ORC.B, REV8, BEXTI
            const top = inst >>> 26;
            if (top === 0) this.shr(alo, ahi, shamt, false);
            else if (top === 0x10) this.shr(alo, ahi, shamt, true);
            else if (top === 0x18) this.ror(alo, ahi, shamt);
            else if (top === 0x12) {
              // BEXTI
              out[0] = (shamt >= 32 ? ahi >>> (shamt - 32) : alo >>> shamt) & 1;
              out[1] = 0;
            } else if (inst >>> 20 === 0x287) {
              // ORC.B
              out[0] = orcb(alo);
              out[1] = orcb(ahi);
            } else if (inst >>> 20 === 0x6b8) {
              // REV8
              out[0] = bswap(ahi);
              out[1] = bswap(alo);
            } else {
              result = this.illegal(inst);
              break;
            }
            lo = out[0];
            hi = out[1];
          }
        }
        break;
      }
      case 0x1b: {
        // OP-IMM-32
        const alo = x[rs1];
        const shamt = (inst >>> 20) & 31;
        const top = inst >>> 25;
        if (f3 === 0) {
          lo = (alo + (inst >> 20)) | 0; // ADDIW
        } else if (f3 === 1 && top === 0) {
          lo = alo << shamt; // SLLIW
        } else if (f3 === 1 && inst >>> 26 === 0x02) {
          // SLLI.UW (Zba): zero-extend the low word, then shift by a 6-bit amount
          this.shl(alo, 0, (inst >>> 20) & 63);
          lo = out[0];
          hi = out[1];
          break;
        } else if (f3 === 1 && inst >>> 20 === 0x600) {
          lo = Math.clz32(alo); // CLZW
        } else if (f3 === 1 && inst >>> 20 === 0x601) {
          lo = ctz32(alo); // CTZW
        } else if (f3 === 1 && inst >>> 20 === 0x602) {
          lo = popcount32(alo); // CPOPW
        } else if (f3 === 5 && top === 0) {
          lo = (alo >>> shamt) | 0; // SRLIW
        } else if (f3 === 5 && top === 0x20) {
          lo = alo >> shamt; // SRAIW
        } else if (f3 === 5 && top === 0x30) {
          lo = shamt === 0 ? alo : (alo >>> shamt) | (alo << (32 - shamt)); // RORIW
        } else {
          result = this.illegal(inst);
          break;
        }
        hi = lo >> 31;
        break;
      }
      case 0x33: {
        // OP
        const alo = x[rs1];
        const ahi = xh[rs1];
        const blo = x[rs2];
        const bhi = xh[rs2];
        if (!this.op64(f7, f3, alo, ahi, blo, bhi)) {
          result = this.illegal(inst);
          break;
        }
        lo = out[0];
        hi = out[1];
        break;
      }
      case 0x3b: {
        // OP-32
        if (!this.op32(f7, f3, x[rs1], xh[rs1], x[rs2], xh[rs2], rs2)) {
          result = this.illegal(inst);
          break;
        }
        lo = out[0];
        hi = out[1];
        break;
      }
      case 0x0f: // MISC-MEM: FENCE (a no-op for one hart's view), FENCE.I
        write = false;
        if (f3 > 1) result = this.illegal(inst);
        else if (f3 === 1) this.flushDecoded();
        break;
      case 0x73: {
        // SYSTEM
        if (f3 === 0) {
          write = false;
          if (inst === 0x00000073) result = Cause.UserEcall;
          else if (inst === 0x00100073) {
            this.tvalLo = (pc % TWO32) | 0;
            this.tvalHi = Math.floor(pc / TWO32) | 0;
            result = Cause.Breakpoint;
          } else result = this.illegal(inst);
          break;
        }
        const csr = inst >>> 20;
        const old = this.readCsr(csr, done);
        const oldHi = out[1];
        if (old === undefined || f3 === 4) {
          result = this.illegal(inst);
          break;
        }
        // The operand: a register, or (f3 >= 5) the 5-bit immediate in rs1.
        const srcLo = f3 >= 5 ? rs1 : x[rs1];
        const srcHi = f3 >= 5 ? 0 : xh[rs1];
        const op = f3 & 3; // 1 = write, 2 = set, 3 = clear
        const writes = op === 1 || rs1 !== 0;
        if (writes) {
          let nlo = srcLo;
          let nhi = srcHi;
          if (op === 2) {
            nlo = old | srcLo;
            nhi = oldHi | srcHi;
          } else if (op === 3) {
            nlo = old & ~srcLo;
            nhi = oldHi & ~srcHi;
          }
          if (!this.writeCsr(csr, nlo, nhi)) {
            result = this.illegal(inst);
            break;
          }
        }
        lo = old;
        hi = oldHi;
        break;
      }
      case 0x07: // LOAD-FP
      case 0x27: // STORE-FP
      case 0x43: // FMADD
      case 0x47: // FMSUB
      case 0x4b: // FNMSUB
      case 0x4f: // FNMADD
      case 0x53: // OP-FP
        write = false;
        result = this.execFp(inst, opcode, rd, f3, rs1, rs2);
        if (result === WRITE_RD) {
          result = BUDGET_SPENT;
          write = true;
          lo = out[0];
          hi = out[1];
        }
        break;
      case 0x2f: {
        // AMO (A extension)
        if (!this.amo(inst, rd, f3, rs1, rs2)) {
          result = this.faultCause;
          break;
        }
        lo = out[0];
        hi = out[1];
        break;
      }
      default:
        result = this.illegal(inst);
    }
    if (result !== BUDGET_SPENT) {
      this.trap = result;
      return pc;
    }
    if (write && rd !== 0) {
      x[rd] = lo;
      xh[rd] = hi;
    }
    return next;
  }

  // ---- translation -------------------------------------------------------

  /** The memory index of `a` for a user fetch, or -1 with the fault cause recorded. */
  private fetchIndex(a: number): number {
    const vpn = Math.floor(a / 4096);
    const i = vpn & this.mask;
    if (this.tagX[i] === vpn && (this.modeX[i] & MODE_USER) !== 0) return this.offX[i] + (a - vpn * 4096);
    return this.miss(a, Access.Execute);
  }

  private readIndex(a: number): number {
    const vpn = Math.floor(a / 4096);
    const i = vpn & this.mask;
    if (this.tagR[i] === vpn && (this.modeR[i] & MODE_USER) !== 0) return this.offR[i] + (a - vpn * 4096);
    return this.miss(a, Access.Read);
  }

  private writeIndex(a: number): number {
    const vpn = Math.floor(a / 4096);
    const i = vpn & this.mask;
    if (this.tagW[i] === vpn && (this.modeW[i] & MODE_USER) !== 0) return this.offW[i] + (a - vpn * 4096);
    return this.miss(a, Access.Write);
  }

  private miss(a: number, access: Access): number {
    const off = this.mmu.lookupIndex(a, access, Privilege.User);
    if (off < 0) this.faultCause = causeOf(access, this.mmu.faultReason === 'bus-error');
    return off;
  }

  /**
   * The address `x[rs1] + imm` as a number, with `tval` set to its exact
   * 64-bit value; -1 when it is no user address (at or above 2^53, or
   * "negative" as unsigned beyond 2^63), which the translation then refuses.
   */
  private addrOf(rs1: number, imm: number): number {
    const s = (this.x[rs1] >>> 0) + imm;
    const lo = s >>> 0;
    const hi = (this.xh[rs1] + (s >= TWO32 ? 1 : s < 0 ? -1 : 0)) | 0;
    this.tvalLo = lo | 0;
    this.tvalHi = hi;
    return hi === 0 ? lo : hi > 0 && hi < 0x200000 ? hi * TWO32 + lo : -1;
  }

  private setTval(a: number): void {
    this.tvalLo = (a % TWO32) | 0;
    this.tvalHi = Math.floor(a / TWO32) | 0;
  }

  /** A load of `size` bytes at any address, byte by byte; the value to out[0..1]. False on a fault. */
  private loadSlow(a: number, size: number, unsigned: boolean): boolean {
    if (a < 0) {
      this.faultCause = Cause.LoadPageFault;
      return false;
    }
    let lo = 0;
    let hi = 0;
    // Translate every byte before reading any, so the value is all-or-nothing.
    const idx = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let k = 0; k < size; k++) {
      const o = this.readIndex(a + k);
      if (o < 0) {
        this.setTval(a + k);
        return false;
      }
      idx[k] = o;
    }
    for (let k = 0; k < size; k++) {
      const b = this.bytes[idx[k]];
      if (k < 4) lo |= b << (8 * k);
      else hi |= b << (8 * (k - 4));
    }
    if (!unsigned && size < 8) {
      const sh = 32 - 8 * Math.min(size, 4);
      if (size < 4) lo = (lo << sh) >> sh;
      hi = lo >> 31;
    }
    this.out[0] = lo | 0;
    this.out[1] = hi | 0;
    return true;
  }

  /** A store of `size` bytes at any address: every byte translated before any is written. */
  private storeSlow(a: number, size: number, lo: number, hi: number): boolean {
    if (a < 0) {
      this.faultCause = Cause.StorePageFault;
      return false;
    }
    const idx = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let k = 0; k < size; k++) {
      const o = this.writeIndex(a + k);
      if (o < 0) {
        this.setTval(a + k);
        return false;
      }
      idx[k] = o;
    }
    for (let k = 0; k < size; k++)
      this.bytes[idx[k]] = (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 0xff;
    return true;
  }

  // ---- integer operations (results in out[0..1]) ------------------------

  private shl(lo: number, hi: number, n: number): void {
    if (n === 0) {
      this.out[0] = lo;
      this.out[1] = hi;
    } else if (n < 32) {
      this.out[0] = lo << n;
      this.out[1] = (hi << n) | (lo >>> (32 - n));
    } else {
      this.out[0] = 0;
      this.out[1] = lo << (n - 32);
    }
  }

  private shr(lo: number, hi: number, n: number, arithmetic: boolean): void {
    if (n === 0) {
      this.out[0] = lo;
      this.out[1] = hi;
    } else if (n < 32) {
      this.out[0] = (lo >>> n) | (hi << (32 - n));
      this.out[1] = arithmetic ? hi >> n : hi >>> n;
    } else {
      this.out[0] = arithmetic ? hi >> (n - 32) : hi >>> (n - 32);
      this.out[1] = arithmetic ? hi >> 31 : 0;
    }
  }

  private ror(lo: number, hi: number, n: number): void {
    if (n === 0) {
      this.out[0] = lo;
      this.out[1] = hi;
      return;
    }
    if (n >= 32) {
      const t = lo;
      lo = hi;
      hi = t;
      n -= 32;
      if (n === 0) {
        this.out[0] = lo;
        this.out[1] = hi;
        return;
      }
    }
    this.out[0] = (lo >>> n) | (hi << (32 - n));
    this.out[1] = (hi >>> n) | (lo << (32 - n));
  }

  /** Bit `n` of (lo, hi): 0 clear, 1 set, 2 invert. */
  private bitOp(lo: number, hi: number, n: number, op: number): void {
    const m = 1 << (n & 31);
    if (n < 32) lo = op === 0 ? lo & ~m : op === 1 ? lo | m : lo ^ m;
    else hi = op === 0 ? hi & ~m : op === 1 ? hi | m : hi ^ m;
    this.out[0] = lo;
    this.out[1] = hi;
  }

  /** OP (register-register, 64-bit): RV64I, M, Zba, Zbb, Zbs. False for an illegal encoding. */
  private op64(f7: number, f3: number, alo: number, ahi: number, blo: number, bhi: number): boolean {
    const out = this.out;
    if (f7 === 0 || f7 === 0x20) {
      const sub = f7 === 0x20;
      switch (f3) {
        case 0:
          if (sub) {
            // SUB: borrow out of the low half
            out[0] = (alo - blo) | 0;
            out[1] = (ahi - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
          } else add64(out, alo, ahi, blo, bhi);
          return true;
        case 1:
          if (sub) return false;
          this.shl(alo, ahi, blo & 63); // SLL
          return true;
        case 2:
          if (sub) return false;
          out[0] = lt64(alo, ahi, blo, bhi) ? 1 : 0; // SLT
          out[1] = 0;
          return true;
        case 3:
          if (sub) return false;
          out[0] = ltu64(alo, ahi, blo, bhi) ? 1 : 0; // SLTU
          out[1] = 0;
          return true;
        case 4:
          out[0] = sub ? alo ^ ~blo : alo ^ blo; // XOR / XNOR
          out[1] = sub ? ahi ^ ~bhi : ahi ^ bhi;
          return true;
        case 5:
          this.shr(alo, ahi, blo & 63, sub); // SRL / SRA
          return true;
        case 6:
          out[0] = sub ? alo | ~blo : alo | blo; // OR / ORN
          out[1] = sub ? ahi | ~bhi : ahi | bhi;
          return true;
        default:
          out[0] = sub ? alo & ~blo : alo & blo; // AND / ANDN
          out[1] = sub ? ahi & ~bhi : ahi & bhi;
          return true;
      }
    }
    if (f7 === 1) return this.mulDiv64(f3, alo, ahi, blo, bhi);
    if (f7 === 0x10) {
      // Zba: SH1ADD, SH2ADD, SH3ADD
      if (f3 !== 2 && f3 !== 4 && f3 !== 6) return false;
      this.shl(alo, ahi, f3 >>> 1);
      add64(out, out[0], out[1], blo, bhi);
      return true;
    }
    if (f7 === 0x05) {
      // Zbb: MIN, MINU, MAX, MAXU
      let takeA: boolean;
      if (f3 === 4) takeA = lt64(alo, ahi, blo, bhi);
      else if (f3 === 5) takeA = ltu64(alo, ahi, blo, bhi);
      else if (f3 === 6) takeA = !lt64(alo, ahi, blo, bhi);
      else if (f3 === 7) takeA = !ltu64(alo, ahi, blo, bhi);
      else return false;
      out[0] = takeA ? alo : blo;
      out[1] = takeA ? ahi : bhi;
      return true;
    }
    if (f7 === 0x30) {
      // Zbb: ROL, ROR
      if (f3 === 1) this.ror(alo, ahi, (64 - (blo & 63)) & 63);
      else if (f3 === 5) this.ror(alo, ahi, blo & 63);
      else return false;
      return true;
    }
    const n = blo & 63;
    if (f7 === 0x14 && f3 === 1)
      this.bitOp(alo, ahi, n, 1); // BSET
    else if (f7 === 0x24 && f3 === 1)
      this.bitOp(alo, ahi, n, 0); // BCLR
    else if (f7 === 0x34 && f3 === 1)
      this.bitOp(alo, ahi, n, 2); // BINV
    else if (f7 === 0x24 && f3 === 5) {
      out[0] = (n >= 32 ? ahi >>> (n - 32) : alo >>> n) & 1; // BEXT
      out[1] = 0;
    } else return false;
    return true;
  }

  private mulDiv64(f3: number, alo: number, ahi: number, blo: number, bhi: number): boolean {
    const out = this.out;
    switch (f3) {
      case 0:
        mul64(out, alo, ahi, blo, bhi);
        return true;
      case 1:
        mulh64(out, alo, ahi, blo, bhi, true, true);
        return true;
      case 2:
        mulh64(out, alo, ahi, blo, bhi, true, false);
        return true;
      case 3:
        mulh64(out, alo, ahi, blo, bhi, false, false);
        return true;
      case 4:
      case 6: {
        // DIV / REM: by zero gives -1 / the dividend; MIN / -1 gives MIN / 0
        if (blo === 0 && bhi === 0) {
          if (f3 === 4) out[0] = out[1] = -1;
          else {
            out[0] = alo;
            out[1] = ahi;
          }
          return true;
        }
        if (alo === 0 && ahi === (0x80000000 | 0) && blo === -1 && bhi === -1) {
          out[0] = f3 === 4 ? 0 : 0;
          out[1] = f3 === 4 ? ahi : 0;
          return true;
        }
        div64(out, alo, ahi, blo, bhi);
        if (f3 === 6) {
          out[0] = out[2];
          out[1] = out[3];
        }
        return true;
      }
      default: {
        // DIVU / REMU
        if (blo === 0 && bhi === 0) {
          if (f3 === 5) out[0] = out[1] = -1;
          else {
            out[0] = alo;
            out[1] = ahi;
          }
          return true;
        }
        divu64(out, alo, ahi, blo, bhi);
        if (f3 === 7) {
          out[0] = out[2];
          out[1] = out[3];
        }
        return true;
      }
    }
  }

  /** OP-32: the W forms, M's W forms, Zba's .UW forms, Zbb's ROLW / RORW / ZEXT.H. */
  private op32(
    f7: number,
    f3: number,
    alo: number,
    ahi: number,
    blo: number,
    bhi: number,
    rs2: number,
  ): boolean {
    const out = this.out;
    let r: number;
    if (f7 === 0 || f7 === 0x20) {
      const sub = f7 === 0x20;
      if (f3 === 0) r = sub ? (alo - blo) | 0 : (alo + blo) | 0;
      else if (f3 === 1 && !sub) r = alo << (blo & 31);
      else if (f3 === 5) r = sub ? alo >> (blo & 31) : (alo >>> (blo & 31)) | 0;
      else return false;
    } else if (f7 === 1) {
      switch (f3) {
        case 0:
          r = Math.imul(alo, blo);
          break;
        case 4:
          r = blo === 0 ? -1 : alo === (0x80000000 | 0) && blo === -1 ? alo : (alo / blo) | 0;
          break;
        case 5:
          r = blo === 0 ? -1 : Math.floor((alo >>> 0) / (blo >>> 0)) | 0;
          break;
        case 6:
          r = blo === 0 ? alo : alo === (0x80000000 | 0) && blo === -1 ? 0 : (alo % blo) | 0;
          break;
        case 7:
          r = blo === 0 ? alo : ((alo >>> 0) % (blo >>> 0)) | 0;
          break;
        default:
          return false;
      }
    } else if (f7 === 0x04 && f3 === 0) {
      // ADD.UW: zext32(a) + b
      add64(out, alo, 0, blo, bhi);
      return true;
    } else if (f7 === 0x04 && f3 === 4 && rs2 === 0) {
      // ZEXT.H
      out[0] = alo & 0xffff;
      out[1] = 0;
      return true;
    } else if (f7 === 0x10 && (f3 === 2 || f3 === 4 || f3 === 6)) {
      // SH1ADD.UW, SH2ADD.UW, SH3ADD.UW
      this.shl(alo, 0, f3 >>> 1);
      add64(out, out[0], out[1], blo, bhi);
      return true;
    } else if (f7 === 0x30 && (f3 === 1 || f3 === 5)) {
      const n = blo & 31;
      const rot = f3 === 5 ? n : (32 - n) & 31;
      r = rot === 0 ? alo : (alo >>> rot) | (alo << (32 - rot)); // RORW / ROLW
    } else return false;
    out[0] = r;
    out[1] = r >> 31;
    void ahi;
    return true;
  }

  // ---- F and D ------------------------------------------------------------

  /** A single register's value bits: the low half when properly NaN-boxed, else the canonical NaN. */
  private single(r: number): number {
    return this.fh[r] === -1 ? this.f[r] : fp.CANONICAL_NAN32;
  }

  private setSingle(r: number, b: number): void {
    this.f[r] = b;
    this.fh[r] = -1;
  }

  /**
   * The F and D instructions: BUDGET_SPENT when done, WRITE_RD when the
   * integer result in out[0..1] goes to x[rd], or a trap cause.
   */
  private execFp(inst: number, opcode: number, rd: number, f3: number, rs1: number, rs2: number): number {
    const f = this.f;
    const fh = this.fh;
    const out = this.out;
    const fl = this.fl;
    if (opcode === 0x07 || opcode === 0x27) {
      if (f3 !== 2 && f3 !== 3) return this.illegal(inst);
      const imm = opcode === 0x07 ? inst >> 20 : ((inst >> 25) << 5) | ((inst >>> 7) & 31);
      const a = this.addrOf(rs1, imm);
      const size = f3 === 3 ? 8 : 4;
      if (opcode === 0x07) {
        if (!this.loadSlowOrFast(a, size)) return this.faultCause;
        if (size === 4) this.setSingle(rd, out[0]);
        else {
          f[rd] = out[0];
          fh[rd] = out[1];
        }
        return BUDGET_SPENT;
      }
      const lo = f[rs2];
      const hi = fh[rs2];
      if (!this.storeSlow(a, size, lo, hi)) return this.faultCause;
      return BUDGET_SPENT;
    }
    const fmt = (inst >>> 25) & 3;
    if (fmt > 1) return this.illegal(inst); // H and Q are not implemented
    const double = fmt === 1;
    const rmField = f3;
    const rm = rmField === 7 ? this.frm : rmField;
    fl[0] = 0;
    if (opcode !== 0x53) {
      // The fused forms: FMADD (a·b + c), FMSUB (a·b − c), FNMSUB (−a·b + c), FNMADD (−a·b − c).
      if (rm > 4) return this.illegal(inst);
      const rs3 = inst >>> 27;
      const negP = opcode === 0x4b || opcode === 0x4f;
      const negC = opcode === 0x47 || opcode === 0x4f;
      if (double) {
        fp.fma64(f[rs1], fh[rs1], f[rs2], fh[rs2], f[rs3], fh[rs3], negP, negC, rm, out, fl);
        f[rd] = out[0];
        fh[rd] = out[1];
      } else
        this.setSingle(
          rd,
          fp.fma32(this.single(rs1), this.single(rs2), this.single(rs3), negP, negC, rm, fl),
        );
      this.fflags |= fl[0];
      return BUDGET_SPENT;
    }
    const funct5 = inst >>> 27;
    const needsRm =
      funct5 <= 0x03 || funct5 === 0x0b || funct5 === 0x08 || funct5 === 0x18 || funct5 === 0x1a;
    if (needsRm && rm > 4) return this.illegal(inst);
    let result: number = BUDGET_SPENT;
    switch (funct5) {
      case 0x00:
      case 0x01:
      case 0x02:
      case 0x03: {
        const op = funct5 === 0 ? 'add' : funct5 === 1 ? 'sub' : funct5 === 2 ? 'mul' : 'div';
        if (double) {
          fp.op64(op, f[rs1], fh[rs1], f[rs2], fh[rs2], rm, out, fl);
          f[rd] = out[0];
          fh[rd] = out[1];
        } else this.setSingle(rd, fp.op32(op, this.single(rs1), this.single(rs2), rm, fl));
        break;
      }
      case 0x0b: // FSQRT
        if (rs2 !== 0) return this.illegal(inst);
        if (double) {
          fp.sqrt64(f[rs1], fh[rs1], rm, out, fl);
          f[rd] = out[0];
          fh[rd] = out[1];
        } else this.setSingle(rd, fp.sqrt32(this.single(rs1), rm, fl));
        break;
      case 0x04: {
        // FSGNJ, FSGNJN, FSGNJX: the sign bit only (no NaN canonicalisation)
        if (f3 > 2) return this.illegal(inst);
        const aSign = double ? fh[rs1] & 0x80000000 : this.single(rs1) & 0x80000000;
        const bSign = double ? fh[rs2] & 0x80000000 : this.single(rs2) & 0x80000000;
        const sign = f3 === 0 ? bSign : f3 === 1 ? ~bSign & 0x80000000 : aSign ^ bSign;
        if (double) {
          f[rd] = f[rs1];
          fh[rd] = (fh[rs1] & 0x7fffffff) | sign;
        } else this.setSingle(rd, (this.single(rs1) & 0x7fffffff) | sign);
        break;
      }
      case 0x05: {
        // FMIN / FMAX: a NaN operand loses to a number; signalling NaNs raise NV; -0 < +0
        if (f3 > 1) return this.illegal(inst);
        const aNaN = double ? fp.isNaN64(f[rs1], fh[rs1]) : fp.isNaN32(this.single(rs1));
        const bNaN = double ? fp.isNaN64(f[rs2], fh[rs2]) : fp.isNaN32(this.single(rs2));
        if (
          double
            ? fp.isSNaN64(f[rs1], fh[rs1]) || fp.isSNaN64(f[rs2], fh[rs2])
            : fp.isSNaN32(this.single(rs1)) || fp.isSNaN32(this.single(rs2))
        )
          fl[0] |= fp.FLAG.NV;
        const a = double ? fp.f64Of(f[rs1], fh[rs1]) : fp.f32Of(this.single(rs1));
        const b = double ? fp.f64Of(f[rs2], fh[rs2]) : fp.f32Of(this.single(rs2));
        let pickA: boolean;
        if (aNaN && bNaN) pickA = false;
        else if (aNaN) pickA = false;
        else if (bNaN) pickA = true;
        else if (a === b)
          pickA = f3 === 0 ? Object.is(a, -0) : Object.is(b, -0); // -0 is the minimum
        else pickA = f3 === 0 ? a < b : a > b;
        if (aNaN && bNaN) {
          if (double) {
            f[rd] = 0;
            fh[rd] = fp.CANONICAL_NAN_HI;
          } else this.setSingle(rd, fp.CANONICAL_NAN32);
        } else if (double) {
          const src = pickA ? rs1 : rs2;
          f[rd] = f[src];
          fh[rd] = fh[src];
        } else this.setSingle(rd, this.single(pickA ? rs1 : rs2));
        break;
      }
      case 0x08: // FCVT.S.D (fmt 0, rs2 1) / FCVT.D.S (fmt 1, rs2 0)
        if (!double && rs2 === 1) this.setSingle(rd, fp.narrow(f[rs1], fh[rs1], rm, fl));
        else if (double && rs2 === 0) {
          fp.widen(this.single(rs1), out, fl);
          f[rd] = out[0];
          fh[rd] = out[1];
        } else return this.illegal(inst);
        break;
      case 0x14: {
        // FLE (0), FLT (1), FEQ (2): FEQ raises NV only for signalling NaNs, FLT / FLE for any NaN
        if (f3 > 2) return this.illegal(inst);
        const aNaN = double ? fp.isNaN64(f[rs1], fh[rs1]) : fp.isNaN32(this.single(rs1));
        const bNaN = double ? fp.isNaN64(f[rs2], fh[rs2]) : fp.isNaN32(this.single(rs2));
        const sig = double
          ? fp.isSNaN64(f[rs1], fh[rs1]) || fp.isSNaN64(f[rs2], fh[rs2])
          : fp.isSNaN32(this.single(rs1)) || fp.isSNaN32(this.single(rs2));
        if (sig || (f3 !== 2 && (aNaN || bNaN))) fl[0] |= fp.FLAG.NV;
        const a = double ? fp.f64Of(f[rs1], fh[rs1]) : fp.f32Of(this.single(rs1));
        const b = double ? fp.f64Of(f[rs2], fh[rs2]) : fp.f32Of(this.single(rs2));
        out[0] = aNaN || bNaN ? 0 : (f3 === 2 ? a === b : f3 === 1 ? a < b : a <= b) ? 1 : 0;
        out[1] = 0;
        result = WRITE_RD;
        break;
      }
      case 0x18: {
        // FCVT.{W,WU,L,LU}.fmt
        if (rs2 > 3) return this.illegal(inst);
        const v = double ? fp.f64Of(f[rs1], fh[rs1]) : fp.f32Of(this.single(rs1));
        const isNan = double ? fp.isNaN64(f[rs1], fh[rs1]) : fp.isNaN32(this.single(rs1));
        fp.toInt(isNan ? Number.NaN : v, rs2 >= 2 ? 64 : 32, (rs2 & 1) === 0, rm, out, fl);
        result = WRITE_RD;
        break;
      }
      case 0x1a: {
        // FCVT.fmt.{W,WU,L,LU}
        if (rs2 > 3) return this.illegal(inst);
        const lo = this.x[rs1];
        let hi = this.xh[rs1];
        if (rs2 === 0)
          hi = lo >> 31; // W: the low word, signed
        else if (rs2 === 1) hi = 0; // WU
        const v = fp.fromInt(lo, hi, (rs2 & 1) === 0, !double, rm, fl);
        if (double) {
          fp.bits64(v, out);
          f[rd] = out[0];
          fh[rd] = out[1];
        } else this.setSingle(rd, fp.bits32(v));
        void lo;
        break;
      }
      case 0x1c: {
        if (rs2 !== 0) return this.illegal(inst);
        if (f3 === 0) {
          // FMV.X.W (sign-extended) / FMV.X.D
          if (double) {
            out[0] = f[rs1];
            out[1] = fh[rs1];
          } else {
            out[0] = f[rs1];
            out[1] = f[rs1] >> 31;
          }
        } else if (f3 === 1) {
          // FCLASS
          let neg: boolean;
          let expOnes: boolean;
          let expZero: boolean;
          let fracZero: boolean;
          let quiet: boolean;
          if (double) {
            const h = fh[rs1];
            neg = h < 0;
            expOnes = (h & 0x7ff00000) === 0x7ff00000;
            expZero = (h & 0x7ff00000) === 0;
            fracZero = ((h & 0xfffff) | f[rs1]) === 0;
            quiet = (h & 0x80000) !== 0;
          } else {
            const b = this.single(rs1);
            neg = b < 0;
            expOnes = (b & 0x7f800000) === 0x7f800000;
            expZero = (b & 0x7f800000) === 0;
            fracZero = (b & 0x7fffff) === 0;
            quiet = (b & 0x400000) !== 0;
          }
          out[0] = fp.classify(neg, expOnes, expZero, fracZero, quiet);
          out[1] = 0;
        } else return this.illegal(inst);
        result = WRITE_RD;
        break;
      }
      case 0x1e:
        // FMV.W.X / FMV.D.X
        if (rs2 !== 0 || f3 !== 0) return this.illegal(inst);
        if (double) {
          f[rd] = this.x[rs1];
          fh[rd] = this.xh[rs1];
        } else this.setSingle(rd, this.x[rs1]);
        break;
      default:
        return this.illegal(inst);
    }
    this.fflags |= fl[0];
    return result;
  }

  /** A load of `size` bytes (4 or 8) into out[0..1], through the fast or the byte path; false on a fault. */
  private loadSlowOrFast(a: number, size: number): boolean {
    if (a >= 0 && a % 4096 <= 4096 - size) {
      const o = this.readIndex(a);
      if (o < 0) return false;
      this.out[0] = this.view.getInt32(o, true);
      this.out[1] = size === 8 ? this.view.getInt32(o + 4, true) : 0;
      return true;
    }
    return this.loadSlow(a, size, true);
  }

  // ---- A extension -------------------------------------------------------

  /**
   * LR, SC and the AMOs. The address must be naturally aligned (else an
   * address-misaligned trap: the kernel makes it SIGBUS); an AMO translates
   * for a write even when it would not store, as hardware does. The loaded
   * value goes to out[0..1]. False on a trap (cause recorded).
   */
  private amo(inst: number, rd: number, f3: number, rs1: number, rs2: number): boolean {
    const out = this.out;
    const funct5 = inst >>> 27;
    const size = f3 === 2 ? 4 : f3 === 3 ? 8 : 0;
    if (size === 0) return this.illegalAmo(inst);
    const a = this.addrOf(rs1, 0);
    const isLr = funct5 === 0x02;
    const isSc = funct5 === 0x03;
    if (isLr && rs2 !== 0) return this.illegalAmo(inst);
    if (a < 0) {
      this.faultCause = isLr ? Cause.LoadPageFault : Cause.StorePageFault;
      return false;
    }
    if (a % size !== 0) {
      this.faultCause = isLr ? Cause.LoadMisaligned : Cause.StoreMisaligned;
      return false;
    }
    const view = this.view;
    if (isLr) {
      const o = this.readIndex(a);
      if (o < 0) return false;
      out[0] = view.getInt32(o, true);
      out[1] = size === 8 ? view.getInt32(o + 4, true) : out[0] >> 31;
      this.reserved = a;
      return true;
    }
    if (isSc) {
      // SC fails (1) without the reservation; it still must be a writable address when it succeeds.
      if (this.reserved !== a) {
        this.reserved = -1;
        out[0] = 1;
        out[1] = 0;
        return true;
      }
      const o = this.writeIndex(a);
      if (o < 0) return false;
      view.setInt32(o, this.x[rs2], true);
      if (size === 8) view.setInt32(o + 4, this.xh[rs2], true);
      this.reserved = -1;
      out[0] = 0;
      out[1] = 0;
      return true;
    }
    const o = this.writeIndex(a);
    if (o < 0) return false;
    const oldLo = view.getInt32(o, true);
    const oldHi = size === 8 ? view.getInt32(o + 4, true) : oldLo >> 31;
    const blo = this.x[rs2];
    const bhi = size === 8 ? this.xh[rs2] : blo >> 31;
    let nlo: number;
    let nhi: number;
    switch (funct5) {
      case 0x01: // AMOSWAP
        nlo = blo;
        nhi = bhi;
        break;
      case 0x00: // AMOADD
        add64(out, oldLo, oldHi, blo, bhi);
        nlo = out[0];
        nhi = out[1];
        break;
      case 0x04: // AMOXOR
        nlo = oldLo ^ blo;
        nhi = oldHi ^ bhi;
        break;
      case 0x0c: // AMOAND
        nlo = oldLo & blo;
        nhi = oldHi & bhi;
        break;
      case 0x08: // AMOOR
        nlo = oldLo | blo;
        nhi = oldHi | bhi;
        break;
      case 0x10: // AMOMIN
      case 0x14: // AMOMAX
      case 0x18: // AMOMINU
      case 0x1c: {
        // AMOMAXU
        const less = funct5 <= 0x14 ? lt64(oldLo, oldHi, blo, bhi) : ltu64(oldLo, oldHi, blo, bhi);
        const keepOld = funct5 === 0x10 || funct5 === 0x18 ? less : !less;
        nlo = keepOld ? oldLo : blo;
        nhi = keepOld ? oldHi : bhi;
        break;
      }
      default:
        return this.illegalAmo(inst);
    }
    view.setInt32(o, nlo, true);
    if (size === 8) view.setInt32(o + 4, nhi, true);
    if (this.reserved === a) this.reserved = -1;
    out[0] = oldLo;
    out[1] = oldHi;
    void rd;
    return true;
  }

  private illegalAmo(inst: number): false {
    this.tvalLo = inst | 0;
    this.tvalHi = 0;
    this.faultCause = Cause.IllegalInstruction;
    return false;
  }

  // ---- CSRs ------------------------------------------------------------------

  /**
   * The user CSR `csr` (its low half answered, its high half in out[1]), or
   * undefined when it does not exist in user mode. `done` is the count of
   * instructions retired in this `run` so far (instret is exact).
   */
  private readCsr(csr: number, done: number): number | undefined {
    const out = this.out;
    out[1] = 0;
    switch (csr) {
      case 0x001:
        return this.fflags;
      case 0x002:
        return this.frm;
      case 0x003:
        return (this.frm << 5) | this.fflags;
      case 0xc00: // cycle
      case 0xc01: // time
      case 0xc02: {
        // instret
        const n = this.instret + done;
        out[1] = Math.floor(n / TWO32) | 0;
        return (n % TWO32) | 0;
      }
      default:
        return undefined;
    }
  }

  /** Writes a user CSR; false for a read-only one. */
  private writeCsr(csr: number, lo: number, _hi: number): boolean {
    switch (csr) {
      case 0x001:
        this.fflags = lo & 0x1f;
        return true;
      case 0x002:
        this.frm = lo & 7;
        return true;
      case 0x003:
        this.fflags = lo & 0x1f;
        this.frm = (lo >>> 5) & 7;
        return true;
      default:
        return false; // cycle, time, instret are read-only
    }
  }

  private illegal(inst: number): number {
    this.tvalLo = inst | 0;
    this.tvalHi = 0;
    return Cause.IllegalInstruction;
  }
}

/** out = a + b (64-bit, wrapping). */
function add64(out: Int32Array, alo: number, ahi: number, blo: number, bhi: number): void {
  const s = (alo >>> 0) + (blo >>> 0);
  out[0] = s | 0;
  out[1] = (ahi + bhi + (s >= TWO32 ? 1 : 0)) | 0;
}

function causeOf(access: Access, busError: boolean): number {
  if (access === Access.Execute) return busError ? Cause.InstructionAccessFault : Cause.InstructionPageFault;
  if (access === Access.Read) return busError ? Cause.LoadAccessFault : Cause.LoadPageFault;
  return busError ? Cause.StoreAccessFault : Cause.StorePageFault;
}

/** ORC.B of a word: each byte becomes 0xff when it is non-zero. */
function orcb(v: number): number {
  let r = 0;
  for (let k = 0; k < 32; k += 8) if (((v >>> k) & 0xff) !== 0) r |= 0xff << k;
  return r;
}

function bswap(v: number): number {
  return (v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24) | 0;
}
