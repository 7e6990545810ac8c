/**
 * The machine: physical memory, its frame allocator, the CPUs (each with its
 * MMU and TLB and its per-CPU state), the trap vector and the trap
 * statistics, in one object that a kernel creates. Nothing of a machine
 * lives in module-level state, so two machines in one process (two tests,
 * two emulators on one page) never see each other's memory, TLBs, flags or
 * counters.
 *
 * The one implicit context is "the machine running now" (percpu's
 * {@link runningCpuSet}): the seed's free functions such as
 * `isAccessingUserMemory()` read it. A kernel enters its machine with
 * {@link CpuSet.makeCurrent}; the user-memory layer makes the machine of the
 * space it copies from the running one for the length of the access, so a
 * fault inside it always meets its own machine's flag.
 */
import { hex } from '../addr/index.js';
import { CpuSet, runningCpuSet } from '../percpu/index.js';
import { FrameAllocator, PhysMemory, PhysMemoryError } from './memory.js';
import { Mmu, type TrapHandler } from './mmu.js';
import type { TlbStats } from './tlb.js';

/** What the kernel's page-fault entry counted on one machine. */
export interface TrapStats {
  /** Faults taken in user mode. */
  userFaults: number;
  /** Faults taken in kernel mode inside a user access (routed by the per-CPU flag). */
  kernelUserAccessFaults: number;
  fixed: number;
  unfixed: number;
  /** Kernel-mode faults outside a user access (kernel bugs). */
  panics: number;
}

/** Bytes of each CPU's bounce buffer: one page. */
export const CPU_SCRATCH_SIZE = 4096;

/** One CPU of a machine: its MMU and the per-CPU state the layers above keep on it. */
export class Cpu {
  readonly mmu: Mmu;
  /**
   * How many user accesses are open on this CPU (nested `accessUserMemory`).
   * axptr's per-CPU `ACCESSING_USER_MEM` is "this is above zero"; it lives
   * here, on the CPU of its machine, so that each machine has its own.
   */
  userAccessDepth = 0;
  /**
   * A bounce buffer for values and string pieces copied from user memory:
   * filled by one read and consumed before the next call that could reach
   * user memory again, never kept. (A DataView over a small on-heap typed
   * array would force V8 to move its storage off-heap on every call.)
   */
  readonly scratch = new Uint8Array(new ArrayBuffer(CPU_SCRATCH_SIZE));
  readonly scratchView = new DataView(this.scratch.buffer);

  constructor(
    readonly machine: Machine,
    readonly id: number,
    tlbEntries: number,
  ) {
    this.mmu = new Mmu(machine.mem, { tlbEntries });
    this.mmu.trapHandler = machine.trapHandler;
  }

  /** axptr's `ACCESSING_USER_MEM` on this CPU. */
  get accessingUserMem(): boolean {
    return this.userAccessDepth > 0;
  }
}

export interface MachineOptions {
  /** Physical memory to use; by default a new one of `memSize` bytes at `memBase`. */
  mem?: PhysMemory;
  /** Bytes of RAM when `mem` is not given (default 64 MiB). */
  memSize?: number;
  /** Physical address of RAM when `mem` is not given (default 0x8000_0000). */
  memBase?: number;
  /** The frame allocator; by default one over all of RAM. */
  frames?: FrameAllocator;
  /** Number of CPUs (default 1). */
  cpus?: number;
  /** TLB entries per access kind of each CPU's MMU (default 256). */
  tlbEntries?: number;
}

export class Machine extends CpuSet {
  readonly mem: PhysMemory;
  readonly frames: FrameAllocator;
  readonly tlbEntries: number;
  /** The kernel's page-fault entry increments these. */
  readonly trapStats: TrapStats = {
    userFaults: 0,
    kernelUserAccessFaults: 0,
    fixed: 0,
    unfixed: 0,
    panics: 0,
  };
  private trap: TrapHandler | null = null;
  private readonly cpuList: Cpu[] = [];

  constructor(options: MachineOptions = {}) {
    super(options.cpus ?? 1);
    this.mem = options.mem ?? new PhysMemory(options.memSize ?? 64 << 20, { base: options.memBase });
    this.frames = options.frames ?? new FrameAllocator(this.mem);
    if (this.frames.mem !== this.mem) {
      throw new PhysMemoryError(
        `frame allocator over other memory than the machine's RAM at ${hex(this.mem.base)}`,
      );
    }
    this.tlbEntries = options.tlbEntries ?? 256;
    this.resizeCpus(this.cpuCount);
    this.register({ resize: (n) => this.resizeCpus(n) });
  }

  /** The CPU that runs now. */
  get cpu(): Cpu {
    return this.cpuList[this.currentCpu];
  }

  /** The MMU of the CPU that runs now. */
  get mmu(): Mmu {
    return this.cpuList[this.currentCpu].mmu;
  }

  /** CPU `id`. */
  cpuAt(id: number): Cpu {
    this.checkCpu(id);
    return this.cpuList[id];
  }

  /** Every CPU, in id order. */
  get cpus(): readonly Cpu[] {
    return this.cpuList;
  }

  /** The trap vector for page faults: every CPU's MMU calls it (null: every fault is unfixed). */
  get trapHandler(): TrapHandler | null {
    return this.trap;
  }

  set trapHandler(handler: TrapHandler | null) {
    this.trap = handler;
    for (const cpu of this.cpuList) cpu.mmu.trapHandler = handler;
  }

  /** The TLB counters of every CPU, summed. */
  tlbStats(): TlbStats {
    const sum: TlbStats = { hits: 0, misses: 0, flushes: 0, faults: 0 };
    for (const cpu of this.cpuList) {
      const s = cpu.mmu.stats();
      sum.hits += s.hits;
      sum.misses += s.misses;
      sum.flushes += s.flushes;
      sum.faults += s.faults;
    }
    return sum;
  }

  private resizeCpus(count: number): void {
    if (count < this.cpuList.length) this.cpuList.length = count;
    while (this.cpuList.length < count)
      this.cpuList.push(new Cpu(this, this.cpuList.length, this.tlbEntries));
  }
}

/** The machine running now (see {@link CpuSet.makeCurrent}), or null when none is. */
export function currentMachine(): Machine | null {
  const set = runningCpuSet();
  return set instanceof Machine ? set : null;
}
