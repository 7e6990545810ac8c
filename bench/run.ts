/**
 * `npm run bench`: runs every benchmark group and prints, per benchmark, the
 * subject's time per operation, the raw baseline's, and their ratio.
 * `npm run bench -- mm uptr` runs only the named groups.
 */
import { foundation } from './foundation.bench.js';
import { type BenchGroup, type BenchRow, formatNs, measure } from './harness.js';
import { kernel } from './kernel.bench.js';
import { mm } from './mm.bench.js';
import { paging } from './paging.bench.js';
import { riscv } from './riscv.bench.js';
import { uptr } from './uptr.bench.js';

const groups: Record<string, () => BenchGroup> = { foundation, paging, mm, uptr, riscv, kernel };
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const rows: BenchRow[] = [];
for (const [key, make] of Object.entries(groups)) {
  if (wanted.length > 0 && !wanted.includes(key)) continue;
  const group = make();
  console.log(`\n## ${group.title}`);
  for (const row of await measure(group)) {
    rows.push(row);
    console.log(
      `${row.name}\n    ${formatNs(row.subjectNs)}/op vs ${formatNs(row.baselineNs)}/op (${row.baseline})  ratio ${row.ratio.toFixed(2)}x`,
    );
  }
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
