/**
 * The MMU of one CPU: the current root table, translation with permission
 * checks, a software TLB, and loads / stores / bulk copies through it.
 *
 * Permission rules (what real hardware does):
 * - user mode needs `USER` on the page;
 * - kernel mode may touch a `USER` page only while user access is allowed
 *   (`userAccessAllowed`: x86 SMAP's AC flag, RISC-V's SUM bit, Arm PAN
 *   cleared), and never execute one (SMEP / S-mode X on U pages);
 * - a read needs `READ`, a write `WRITE`, a fetch `EXECUTE`.
 *
 * A failed translation is a {@link PageFault}. Loads and stores hand it to
 * the CPU's trap handler (`trapHandler`, installed by the kernel); when the
 * handler fixes it (answers true) the access is retried, otherwise the access
 * throws {@link PageFaultError} (which the kernel turns into a signal, or the
 * user-copy routines into a partial count: the exception-table analogue).
 *
 * The TLB (`tlb.ts`) is filled only after the walk succeeded and set the
 * accessed / dirty bits, so a write-TLB hit never needs to set the dirty bit
 * again. Fault types are in `fault.ts`; the CPUs that own MMUs are the
 * machine's (`machine.ts`).
 */
import { PAGE_SIZE_4K } from '../addr/index.js';
import { Access, PageFault, PageFaultError, type PageFaultReason, Privilege } from './fault.js';
import type { PhysMemory } from './memory.js';
import type { PteFormat } from './pte.js';
import { allowedModes, MODE_KERNEL, MODE_KERNEL_SUM, MODE_USER, TlbSet, type TlbStats } from './tlb.js';

/** The trap into the kernel: answers true when the fault was fixed and the access may be retried. */
export type TrapHandler = (fault: PageFault, mmu: Mmu) => boolean;

/** Bytes one entry covers, by depth from the leaf level: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
const LEVEL_SPAN = [
  PAGE_SIZE_4K,
  PAGE_SIZE_4K * 512,
  PAGE_SIZE_4K * 512 * 512,
  PAGE_SIZE_4K * 512 * 512 * 512,
];

/** How many times one access retries after the trap handler claimed a fix. */
const MAX_FIXUPS = 4;

export interface MmuOptions {
  /** TLB entries per access kind, a power of two. Default 256. */
  tlbEntries?: number;
}

export class Mmu {
  readonly mem: PhysMemory;
  readonly tlbEntries: number;
  /** The CPU's trap vector for page faults; without one every fault throws. */
  trapHandler: TrapHandler | null = null;
  /**
   * What runs on this MMU, for the layer above (the address space sets it
   * when it is activated): a plain slot so the hot path needs no map lookup.
   */
  owner: object | null = null;

  private format: PteFormat | null = null;
  private rootPaddr = -1;
  private vaLimit = 0;
  private sum = false;
  private kernelMode = MODE_KERNEL;
  private readonly mask: number;
  /** The TLB, one set per access kind (public so a CPU can test a hit inline). */
  readonly tlbR: TlbSet;
  readonly tlbW: TlbSet;
  readonly tlbX: TlbSet;
  private readonly u32: Uint32Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly memBase: number;
  private readonly memSize: number;
  private hits = 0;
  private misses = 0;
  private flushes = 0;
  private faults = 0;

  constructor(mem: PhysMemory, options: MmuOptions = {}) {
    const n = options.tlbEntries ?? 256;
    if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0 || n > 65536) {
      throw new RangeError(`TLB size must be a power of two up to 65536, not ${n}`);
    }
    this.mem = mem;
    this.tlbEntries = n;
    this.mask = n - 1;
    this.tlbR = new TlbSet(n);
    this.tlbW = new TlbSet(n);
    this.tlbX = new TlbSet(n);
    this.u32 = mem.u32;
    this.view = mem.view;
    this.bytes = mem.bytes;
    this.memBase = mem.base;
    this.memSize = mem.size;
  }

  /** Installs a page table (satp / CR3 / TTBR0 write); flushes the TLB. */
  setRoot(rootPaddr: number, format: PteFormat): void {
    this.rootPaddr = rootPaddr;
    this.format = format;
    this.vaLimit = 2 ** (format.vaMaxBits - 1);
    this.flushAll();
  }

  /** Removes the page table: every translation faults. */
  clearRoot(): void {
    this.rootPaddr = -1;
    this.format = null;
    this.flushAll();
  }

  get root(): number {
    return this.rootPaddr;
  }

  get pteFormat(): PteFormat | null {
    return this.format;
  }

  /** Whether kernel-mode accesses may touch USER pages now (SUM / cleared PAN / stac). */
  get userAccessAllowed(): boolean {
    return this.sum;
  }

  set userAccessAllowed(on: boolean) {
    this.sum = on;
    this.kernelMode = on ? MODE_KERNEL_SUM : MODE_KERNEL;
  }

  stats(): TlbStats {
    return { hits: this.hits, misses: this.misses, flushes: this.flushes, faults: this.faults };
  }

  resetStats(): void {
    this.hits = this.misses = this.flushes = this.faults = 0;
  }

  flushAll(): void {
    this.flushes++;
    for (const t of [this.tlbR, this.tlbW, this.tlbX]) t.tag.fill(Number.NaN);
  }

  /** Drops the cached translations of the 4 KiB page holding `vaddr`. */
  flushPage(vaddr: number): void {
    this.flushes++;
    const vpn = Math.floor(vaddr / PAGE_SIZE_4K);
    const i = vpn & this.mask;
    for (const t of [this.tlbR, this.tlbW, this.tlbX]) if (t.tag[i] === vpn) t.tag[i] = Number.NaN;
  }

  /** Drops every cached translation in `[vaddr, vaddr + size)` (a full flush when that is cheaper). */
  flushRange(vaddr: number, size: number): void {
    const pages = Math.ceil(size / PAGE_SIZE_4K) + 1;
    if (pages >= this.tlbEntries) {
      this.flushAll();
      return;
    }
    for (let v = vaddr - (vaddr % PAGE_SIZE_4K); v < vaddr + size; v += PAGE_SIZE_4K) this.flushPage(v);
  }

  /**
   * True when the TLB already holds a translation of the page of `vaddr`
   * that lets a kernel-mode access with user access allowed do `access`: the
   * page is present with that permission now (the TLB is kept coherent by
   * flushes). No walk, no counters: a probe for callers that can skip work
   * (populating pages) when the answer is yes.
   */
  isCachedForUserAccess(vaddr: number, access: Access): boolean {
    const vpn = Math.floor(vaddr / PAGE_SIZE_4K);
    const i = vpn & this.mask;
    const set = access === Access.Read ? this.tlbR : access === Access.Write ? this.tlbW : this.tlbX;
    return set.tag[i] === vpn && (set.modes[i] & MODE_KERNEL_SUM) !== 0;
  }

  /**
   * The index into the memory views of `[vaddr, vaddr + size)` when the TLB
   * holds its page for `access` by the kernel with user access allowed and
   * the range stays inside that page; otherwise -1. No walk and no fault: the
   * fast path of a user copy that has already checked the range (a hit
   * cannot fault, so the user-access window it would open is unobservable).
   * Counts as a TLB hit.
   */
  userAccessHit(vaddr: number, access: Access, size: number): number {
    const vpn = Math.floor(vaddr / PAGE_SIZE_4K);
    const i = vpn & this.mask;
    const set = access === Access.Read ? this.tlbR : access === Access.Write ? this.tlbW : this.tlbX;
    const o = vaddr - vpn * PAGE_SIZE_4K;
    if (
      set.tag[i] === vpn &&
      (set.modes[i] & MODE_KERNEL_SUM) !== 0 &&
      (o & 4095) === o &&
      o + size <= PAGE_SIZE_4K
    ) {
      this.hits++;
      return set.off[i] + o;
    }
    return -1;
  }

  /**
   * Translates without side effects on the caller's side: answers the physical
   * address, or the {@link PageFault} the access would raise. Updates the
   * accessed / dirty bits and fills the TLB on success, as hardware does.
   */
  translate(vaddr: number, access: Access, privilege: Privilege): number | PageFault {
    const off = this.lookup(vaddr, access, privilege);
    return off >= 0 ? off + this.memBase : this.lastFault();
  }

  /**
   * The memory index of `vaddr` for `access` in `privilege` mode, or -1 when
   * the access faults ({@link faultReason} then says why). The TLB fill of a
   * CPU that tests hits inline: no trap handler, no exception, no
   * allocation. Counts a miss and fills the TLB as any walk does.
   */
  lookupIndex(vaddr: number, access: Access, privilege: Privilege): number {
    return this.lookup(vaddr, access, privilege);
  }

  /** Why the last failed lookup failed. */
  get faultReason(): PageFaultReason {
    return this.faultWhy;
  }

  /** The last failed lookup as a {@link PageFault} value. */
  lastFault(): PageFault {
    return new PageFault(this.faultVaddr, this.faultAccess, this.faultPrivilege, this.faultWhy);
  }

  // The last failed lookup (set only on failure; kept as fields so that failing allocates nothing).
  private faultVaddr = 0;
  private faultAccess: Access = Access.Read;
  private faultPrivilege: Privilege = Privilege.User;
  private faultWhy: PageFaultReason = 'not-present';

  /**
   * Index into the memory views of `vaddr`, or -1 with the fault recorded.
   * The hot path: a TLB hit is a tag compare and a mode test.
   */
  private lookup(vaddr: number, access: Access, privilege: Privilege): number {
    const vpn = Math.floor(vaddr / PAGE_SIZE_4K);
    const i = vpn & this.mask;
    const set = access === Access.Read ? this.tlbR : access === Access.Write ? this.tlbW : this.tlbX;
    const mode = privilege === Privilege.User ? MODE_USER : this.kernelMode;
    // `(o & 4095) === o` refuses a fractional address on a hit (a cold TLB refuses it in the walk).
    const o = vaddr - vpn * PAGE_SIZE_4K;
    if (set.tag[i] === vpn && (set.modes[i] & mode) !== 0 && (o & 4095) === o) {
      this.hits++;
      return set.off[i] + o;
    }
    this.misses++;
    return this.walk(vaddr, vpn, i, set, access, privilege, mode);
  }

  private walk(
    vaddr: number,
    vpn: number,
    i: number,
    set: TlbSet,
    access: Access,
    privilege: Privilege,
    mode: number,
  ): number {
    const fmt = this.format;
    if (fmt === null || !(vaddr >= 0 && vaddr < this.vaLimit) || !Number.isInteger(vaddr)) {
      return this.fault(vaddr, access, privilege, 'not-present');
    }
    const u32 = this.u32;
    let table = this.rootPaddr;
    let span = 0;
    let w = -1;
    for (let d = fmt.levels - 1; d >= 0; d--) {
      span = LEVEL_SPAN[d];
      const rel = table - this.memBase + (Math.floor(vaddr / span) & 511) * 8;
      if (rel < 0 || rel >= this.memSize) return this.fault(vaddr, access, privilege, 'not-present');
      w = rel >>> 2;
      const lo = u32[w];
      const hi = u32[w + 1];
      if (lo === 0 && hi === 0) return this.fault(vaddr, access, privilege, 'not-present');
      if (d === 0 || fmt.isHuge(lo, hi)) break;
      table = fmt.paddr(lo, hi);
    }
    let lo = u32[w];
    const hi = u32[w + 1];
    if (!fmt.isPresent(lo, hi)) return this.fault(vaddr, access, privilege, 'not-present');
    const flags = fmt.flags(lo, hi);
    const modes = allowedModes(flags, access);
    if ((modes & mode) === 0) return this.fault(vaddr, access, privilege, 'permission');
    // Hardware-managed accessed / dirty bits.
    const setBits = fmt.accessedBit | (access === Access.Write ? fmt.dirtyBit : 0);
    if ((lo & setBits) !== setBits) {
      lo = (lo | setBits) >>> 0;
      u32[w] = lo;
    }
    const frame = fmt.paddr(lo, hi) + (vaddr % span) - (vaddr % PAGE_SIZE_4K);
    const off = frame - this.memBase;
    if (off < 0 || off + PAGE_SIZE_4K > this.memSize) {
      // Device memory outside RAM is not modelled: an access fault (bus error), never cached.
      return this.fault(vaddr, access, privilege, 'bus-error');
    }
    set.tag[i] = vpn;
    set.off[i] = off;
    set.modes[i] = modes;
    return off + (vaddr % PAGE_SIZE_4K);
  }

  private fault(vaddr: number, access: Access, privilege: Privilege, reason: PageFaultReason): number {
    this.faults++;
    this.faultVaddr = vaddr;
    this.faultAccess = access;
    this.faultPrivilege = privilege;
    this.faultWhy = reason;
    return -1;
  }

  /** Translates or traps: runs the trap handler on a fault and retries; throws when unfixed. */
  private resolve(vaddr: number, access: Access, privilege: Privilege, done = 0): number {
    let off = this.lookup(vaddr, access, privilege);
    for (let tries = 0; off < 0; tries++) {
      const fault = this.lastFault();
      if (
        fault.reason === 'bus-error' ||
        tries >= MAX_FIXUPS ||
        this.trapHandler === null ||
        !this.trapHandler(fault, this)
      ) {
        throw new PageFaultError(fault, done);
      }
      off = this.lookup(vaddr, access, privilege);
    }
    return off;
  }

  // ---- loads and stores (little-endian; any alignment) -----------------

  read8(vaddr: number, privilege: Privilege): number {
    return this.bytes[this.resolve(vaddr, Access.Read, privilege)];
  }

  read16(vaddr: number, privilege: Privilege): number {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 2)
      return this.view.getUint16(this.resolve(vaddr, Access.Read, privilege), true);
    return this.readSplit(vaddr, 2, privilege);
  }

  read32(vaddr: number, privilege: Privilege): number {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 4)
      return this.view.getUint32(this.resolve(vaddr, Access.Read, privilege), true);
    return this.readSplit(vaddr, 4, privilege);
  }

  read64(vaddr: number, privilege: Privilege): bigint {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 8)
      return this.view.getBigUint64(this.resolve(vaddr, Access.Read, privilege), true);
    const tmp = new Uint8Array(8);
    this.readBytes(vaddr, tmp, privilege);
    return new DataView(tmp.buffer).getBigUint64(0, true);
  }

  write8(vaddr: number, value: number, privilege: Privilege): void {
    this.bytes[this.resolve(vaddr, Access.Write, privilege)] = value;
  }

  write16(vaddr: number, value: number, privilege: Privilege): void {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 2) {
      this.view.setUint16(this.resolve(vaddr, Access.Write, privilege), value, true);
    } else this.writeSplit(vaddr, value, 2, privilege);
  }

  write32(vaddr: number, value: number, privilege: Privilege): void {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 4) {
      this.view.setUint32(this.resolve(vaddr, Access.Write, privilege), value, true);
    } else this.writeSplit(vaddr, value, 4, privilege);
  }

  write64(vaddr: number, value: bigint, privilege: Privilege): void {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 8) {
      this.view.setBigUint64(this.resolve(vaddr, Access.Write, privilege), value, true);
      return;
    }
    const tmp = new Uint8Array(8);
    new DataView(tmp.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    // Translate both pages first so that a fault leaves memory untouched.
    const first = PAGE_SIZE_4K - (vaddr % PAGE_SIZE_4K);
    const a = this.resolve(vaddr, Access.Write, privilege);
    const b = this.resolve(vaddr + first, Access.Write, privilege);
    this.bytes.set(tmp.subarray(0, first), a);
    this.bytes.set(tmp.subarray(first), b);
  }

  /** Fetches an instruction parcel (execute permission). */
  fetch16(vaddr: number, privilege: Privilege): number {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 2)
      return this.view.getUint16(this.resolve(vaddr, Access.Execute, privilege), true);
    return (
      this.bytes[this.resolve(vaddr, Access.Execute, privilege)] |
      (this.bytes[this.resolve(vaddr + 1, Access.Execute, privilege)] << 8)
    );
  }

  fetch32(vaddr: number, privilege: Privilege): number {
    if (vaddr % PAGE_SIZE_4K <= PAGE_SIZE_4K - 4)
      return this.view.getUint32(this.resolve(vaddr, Access.Execute, privilege), true);
    return (this.fetch16(vaddr, privilege) | (this.fetch16(vaddr + 2, privilege) << 16)) >>> 0;
  }

  /**
   * Walks `[vaddr, vaddr + len)` page by page: translates each piece for
   * `access` (faults go to the trap handler) and hands `step` its index in
   * the memory views, its offset from `vaddr` and its length. Stops early
   * when `step` answers a number (which it then answers), else answers -1.
   * An unfixed fault throws {@link PageFaultError} whose `done` is the offset
   * reached.
   */
  private eachPiece(
    vaddr: number,
    len: number,
    access: Access,
    privilege: Privilege,
    step: (off: number, done: number, chunk: number) => number | undefined,
  ): number {
    let done = 0;
    while (done < len) {
      const v = vaddr + done;
      const chunk = Math.min(len - done, PAGE_SIZE_4K - (v % PAGE_SIZE_4K));
      const found = step(this.resolve(v, access, privilege, done), done, chunk);
      if (found !== undefined) return found;
      done += chunk;
    }
    return -1;
  }

  /**
   * Copies `dst.length` bytes from virtual `vaddr` into `dst`, page by page.
   * A fault that the handler does not fix throws {@link PageFaultError} whose
   * `done` counts the bytes already copied (they are in `dst`).
   */
  readBytes(vaddr: number, dst: Uint8Array, privilege: Privilege): void {
    this.copyPages(vaddr, dst, Access.Read, privilege);
  }

  /** Copies `src` to virtual `vaddr`; faults as {@link readBytes}. */
  writeBytes(vaddr: number, src: Uint8Array, privilege: Privilege): void {
    this.copyPages(vaddr, src, Access.Write, privilege);
  }

  /**
   * The copy loop of {@link readBytes} / {@link writeBytes}: every page is
   * translated (and permission-checked) on its own, and pages that land on
   * physically consecutive frames are copied as one run. A run is copied
   * before any fault goes to the trap handler, so the handler never runs
   * with bytes pending, and a fault's `done` counts exactly the bytes moved.
   */
  private copyPages(vaddr: number, buf: Uint8Array, access: Access, privilege: Privilege): void {
    const len = buf.length;
    let done = 0;
    let runOff = 0; // memory index where the pending run starts
    let runAt = 0; // offset in `buf` where it starts
    let runLen = 0;
    while (done < len) {
      const v = vaddr + done;
      const chunk = Math.min(len - done, PAGE_SIZE_4K - (v % PAGE_SIZE_4K));
      let off = this.lookup(v, access, privilege);
      if (off < 0) {
        if (runLen > 0) this.copyRun(buf, access, runOff, runAt, runLen);
        runLen = 0;
        off = this.resolve(v, access, privilege, done);
      }
      if (runLen > 0 && off === runOff + runLen) runLen += chunk;
      else {
        if (runLen > 0) this.copyRun(buf, access, runOff, runAt, runLen);
        runOff = off;
        runAt = done;
        runLen = chunk;
      }
      done += chunk;
    }
    if (runLen > 0) this.copyRun(buf, access, runOff, runAt, runLen);
  }

  private copyRun(buf: Uint8Array, access: Access, off: number, at: number, len: number): void {
    if (access === Access.Read) buf.set(this.bytes.subarray(off, off + len), at);
    else this.bytes.set(len === buf.length ? buf : buf.subarray(at, at + len), off);
  }

  /** Sets `len` bytes at virtual `vaddr` to `value`; faults as {@link readBytes}. */
  fill(vaddr: number, len: number, value: number, privilege: Privilege): void {
    const bytes = this.bytes;
    this.eachPiece(vaddr, len, Access.Write, privilege, (off, _done, chunk) => {
      bytes.fill(value, off, off + chunk);
      return undefined;
    });
  }

  /**
   * Scans for `value` from `vaddr`, at most `max` bytes; answers its index
   * or -1. Bytes are read through the MMU page by page; a fault throws
   * {@link PageFaultError} with `done` = bytes scanned.
   */
  indexOfByte(vaddr: number, max: number, value: number, privilege: Privilege): number {
    const bytes = this.bytes;
    return this.eachPiece(vaddr, max, Access.Read, privilege, (off, done, chunk) => {
      const at = bytes.subarray(off, off + chunk).indexOf(value);
      return at >= 0 ? done + at : undefined;
    });
  }

  /**
   * The memory index of an aligned word for an atomic read-modify-write: the
   * translation is done for a write (so a read-only page faults even for a
   * compare that would not store), as on real hardware.
   */
  resolveForAtomic(vaddr: number, privilege: Privilege): number {
    return this.resolve(vaddr, Access.Write, privilege);
  }

  /** The memory index of a byte for a load (faults handled as for any load). */
  resolveForLoad(vaddr: number, privilege: Privilege): number {
    return this.resolve(vaddr, Access.Read, privilege);
  }

  private readSplit(vaddr: number, size: number, privilege: Privilege): number {
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = v * 256 + this.read8(vaddr + k, privilege);
    return v;
  }

  private writeSplit(vaddr: number, value: number, size: number, privilege: Privilege): void {
    // Translate every byte first so that a fault leaves memory untouched.
    const offs: number[] = [];
    for (let k = 0; k < size; k++) offs.push(this.resolve(vaddr + k, Access.Write, privilege));
    for (let k = 0; k < size; k++) this.bytes[offs[k]] = (value >>> (8 * k)) & 0xff;
  }
}
