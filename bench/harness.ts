/**
 * The benchmark runner's shared part. Every benchmark is a pair: a raw
 * baseline (the same work done directly on a typed array, no checks) and the
 * subject, measured back to back in the same process with tinybench. What we
 * report is the ratio subject / baseline of mean time per operation: absolute
 * times on shared machines mean little, ratios travel.
 *
 * Fast operations are batched (`batch` operations per call) so timer
 * resolution and call overhead do not swamp them; figures are per operation.
 */
import { Bench } from 'tinybench';

export interface BenchCase {
  /** What is measured. */
  name: string;
  /** What the baseline is. */
  baseline: string;
  /** Operations per call of `run` / `base` (figures are divided by it). */
  batch?: number;
  base: () => unknown;
  run: () => unknown;
  /** Measuring time per task in ms (default 400). */
  time?: number;
}

export interface BenchGroup {
  title: string;
  cases: BenchCase[];
}

export interface BenchRow {
  group: string;
  name: string;
  baseline: string;
  subjectNs: number;
  baselineNs: number;
  ratio: number;
}

let sink: unknown;
/** Keeps results alive so the optimiser cannot drop the work. */
export function consume(v: unknown): void {
  sink = v;
}
export function lastSink(): unknown {
  return sink;
}

export async function measure(group: BenchGroup): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const c of group.cases) {
    const bench = new Bench({ time: c.time ?? 400, warmupTime: 100 });
    bench.add('baseline', () => consume(c.base()));
    bench.add('subject', () => consume(c.run()));
    await bench.run();
    const [b, s] = bench.tasks.map((t) => {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`${c.name}: ${t.name} did not complete (${r.state})`);
      return (r.period * 1e6) / (c.batch ?? 1);
    });
    rows.push({
      group: group.title,
      name: c.name,
      baseline: c.baseline,
      subjectNs: s,
      baselineNs: b,
      ratio: s / b,
    });
  }
  return rows;
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}
