import { alignDown4K, parseUserAddr } from 'axptr/addr';
import { CpuSet, PerCpu } from 'axptr/percpu';
import type { BenchGroup } from './harness.js';

export function foundation(): BenchGroup {
  const N = 1000;
  const values = Array.from({ length: N }, (_, i) => i * 0x1_0003 + 0x7fff_0000_0000);
  const flag = new PerCpu<boolean>(false, new CpuSet(1));
  const plain = [false];
  return {
    title: 'foundation',
    cases: [
      {
        name: 'parseUserAddr + alignDown4K (untrusted number)',
        baseline: 'Number.isSafeInteger + arithmetic align',
        batch: N,
        base: () => {
          let s = 0;
          for (let i = 0; i < N; i++) {
            const v = values[i];
            if (Number.isSafeInteger(v) && v >= 0) s += v - (v % 4096);
          }
          return s;
        },
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += alignDown4K(parseUserAddr(values[i]));
          return s;
        },
      },
      {
        name: 'PerCpu<boolean>.readCurrent',
        baseline: 'plain array element read',
        batch: N,
        base: () => {
          let s = 0;
          for (let i = 0; i < N; i++) if (plain[0]) s++;
          return s;
        },
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) if (flag.readCurrent()) s++;
          return s;
        },
      },
    ],
  };
}
