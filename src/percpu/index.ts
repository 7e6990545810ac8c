/**
 * Per-CPU variables (the Rust crate percpu).
 *
 * A {@link CpuSet} is the CPUs of one machine and knows which one runs now.
 * The scheduler (a later layer) switches the current CPU with
 * {@link CpuSet.switchTo}; a {@link PerCpu} variable of a set holds one
 * independent copy per CPU and reads or writes the current CPU's copy in
 * O(1). There is no default set: every variable names its machine's CPUs,
 * so two machines in one process never share a copy.
 *
 * The one implicit context is "the machine running now"
 * ({@link runningCpuSet}): what the seed's free functions
 * (`isAccessingUserMemory()`) consult. A set becomes it with
 * {@link CpuSet.makeCurrent} (a kernel's boot) or for the length of a call
 * with {@link CpuSet.run}.
 *
 * As with percpu's `preempt` feature, {@link PerCpu.withCurrent} pins the
 * current CPU while its callback runs: switching CPUs inside it is a kernel
 * bug and throws.
 */

/** Thrown on misuse that in a real kernel would be a bug (not a user error). */
export class PerCpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PerCpuError';
  }
}

interface Resizable {
  resize(count: number): void;
}

/** The machine whose CPUs run now (null before any machine is entered). */
let running: CpuSet | null = null;

/** The CPU set of the machine running now, or null when none was entered. */
export function runningCpuSet(): CpuSet | null {
  return running;
}

/** Makes `set` the one running now again (the second half of {@link CpuSet.makeCurrent}). */
export function restoreRunningCpuSet(set: CpuSet | null): void {
  running = set;
}

/** The CPUs of one machine. */
export class CpuSet {
  private count: number;
  private current = 0;
  private pinned = 0;
  private readonly variables: Resizable[] = [];

  constructor(cpuCount = 1) {
    this.count = checkCount(cpuCount);
  }

  /** How many CPUs the machine has. */
  get cpuCount(): number {
    return this.count;
  }

  /** The id of the CPU that runs now. */
  get currentCpu(): number {
    return this.current;
  }

  /** True while some `withCurrent` keeps the current CPU pinned (preemption disabled). */
  get isPinned(): boolean {
    return this.pinned > 0;
  }

  /** Makes this machine the one running now; answers the one that ran before (for {@link restoreRunningCpuSet}). */
  makeCurrent(): CpuSet | null {
    const previous = running;
    running = this;
    return previous;
  }

  /** Runs `fn` with this machine as the one running now, then restores the previous one. */
  run<R>(fn: () => R): R {
    const previous = this.makeCurrent();
    try {
      return fn();
    } finally {
      running = previous;
    }
  }

  /** Makes `cpu` the current CPU (what a context switch or a CPU's boot does). */
  switchTo(cpu: number): void {
    this.checkCpu(cpu);
    if (this.pinned > 0 && cpu !== this.current) {
      throw new PerCpuError(`switch to CPU ${cpu} while CPU ${this.current} is pinned (preemption disabled)`);
    }
    this.current = cpu;
  }

  /** Runs `fn` with `cpu` as the current CPU, then switches back. */
  runOn<R>(cpu: number, fn: () => R): R {
    const previous = this.current;
    this.switchTo(cpu);
    try {
      return fn();
    } finally {
      // `fn` may have shrunk the machine so that `previous` no longer exists; then stay on a CPU that does.
      if (previous < this.count) this.current = previous;
    }
  }

  /**
   * Changes the number of CPUs (percpu's `init`). Variables keep the copies of
   * the CPUs that remain; new CPUs get each variable's initial value.
   */
  setCpuCount(count: number): void {
    checkCount(count);
    if (this.pinned > 0) throw new PerCpuError('cannot change the CPU count while a CPU is pinned');
    this.count = count;
    if (this.current >= count) this.current = 0;
    for (const v of this.variables) v.resize(count);
  }

  /** Keeps the current CPU fixed while `fn` runs (percpu's no-preempt guard). */
  pin<R>(fn: () => R): R {
    this.pinned++;
    try {
      return fn();
    } finally {
      this.pinned--;
    }
  }

  /** Closure-free form of {@link pin} for hot paths: pair every call with {@link unpin} in a `finally`. */
  pinEnter(): void {
    this.pinned++;
  }

  unpin(): void {
    if (this.pinned === 0) throw new PerCpuError('unpin without a matching pinEnter');
    this.pinned--;
  }

  /** @internal registers a variable so that {@link setCpuCount} resizes it. */
  register(v: Resizable): void {
    this.variables.push(v);
  }

  checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.count) {
      throw new PerCpuError(`no CPU ${cpu} on a machine of ${this.count}`);
    }
  }
}

function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > 4096) {
    throw new PerCpuError(`a machine has 1..4096 CPUs, not ${count}`);
  }
  return count;
}

/** A mutable handle on one CPU's copy, given to {@link PerCpu.withCurrent}. */
export interface PerCpuCell<T> {
  value: T;
  readonly cpu: number;
}

/**
 * One variable with an independent copy per CPU.
 *
 * `init` is either the initial value (copied by reference for objects, so pass
 * a function for mutable objects) or a function that makes CPU `cpu`'s copy.
 */
export class PerCpu<T> {
  private values: T[];
  private readonly make: (cpu: number) => T;

  constructor(
    init: T | ((cpu: number) => T),
    readonly machine: CpuSet,
  ) {
    this.make = typeof init === 'function' ? (init as (cpu: number) => T) : () => init;
    this.values = [];
    for (let cpu = 0; cpu < machine.cpuCount; cpu++) this.values.push(this.make(cpu));
    machine.register(this);
  }

  /** The current CPU's copy. */
  readCurrent(): T {
    return this.values[this.machine.currentCpu];
  }

  /** Replaces the current CPU's copy. */
  writeCurrent(value: T): void {
    this.values[this.machine.currentCpu] = value;
  }

  /** Runs `fn` on the current CPU's copy with the CPU pinned; writes to `cell.value` stick. */
  withCurrent<R>(fn: (cell: PerCpuCell<T>) => R): R {
    const machine = this.machine;
    const cpu = machine.currentCpu;
    const values = this.values;
    const cell: PerCpuCell<T> = {
      cpu,
      get value() {
        return values[cpu];
      },
      set value(v: T) {
        values[cpu] = v;
      },
    };
    return machine.pin(() => fn(cell));
  }

  /** CPU `cpu`'s copy (percpu's `remote_ref_raw`). */
  readRemote(cpu: number): T {
    this.machine.checkCpu(cpu);
    return this.values[cpu];
  }

  /** Replaces CPU `cpu`'s copy. */
  writeRemote(cpu: number, value: T): void {
    this.machine.checkCpu(cpu);
    this.values[cpu] = value;
  }

  /** Every CPU's copy, as `[cpu, value]` in CPU order. */
  *entries(): IterableIterator<[number, T]> {
    for (let cpu = 0; cpu < this.values.length; cpu++) yield [cpu, this.values[cpu]];
  }

  [Symbol.iterator](): IterableIterator<[number, T]> {
    return this.entries();
  }

  /** @internal */
  resize(count: number): void {
    if (count < this.values.length) this.values.length = count;
    while (this.values.length < count) this.values.push(this.make(this.values.length));
  }
}
