/**
 * The upstream riscv-tests ISA suite, built for Linux user mode
 * (../shared/riscv-tests, see its README): each test exits 0 on pass and
 * the failing case number otherwise. The suites this CPU implements so far
 * run here: RV64 I, M, A, C, Zba, Zbb, Zbs. (F and D come with the
 * floating-point work; they are not run yet.)
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runElf, TIERS } from '../support/mini-kernel.js';

const ROOT = fileURLToPath(new URL('../../../shared/riscv-tests/', import.meta.url));
const BIN = join(ROOT, 'bin');
const SUITES = [
  'rv64ui',
  'rv64um',
  'rv64ua',
  'rv64uc',
  'rv64uf',
  'rv64ud',
  'rv64uzba',
  'rv64uzbb',
  'rv64uzbs',
];

describe('riscv-tests (upstream ISA suite, Linux user mode)', () => {
  if (!existsSync(BIN)) {
    test('the suite is present', (t) => {
      const why = `riscv-tests not found at ${BIN}`;
      if (process.env.CI === 'true') assert.fail(why);
      t.skip(why);
    });
    return;
  }
  const names = readdirSync(BIN)
    .filter((n) => SUITES.some((s) => n.startsWith(`${s}-`)))
    .sort();
  test('every implemented suite has its tests', () => {
    for (const s of SUITES)
      assert.ok(
        names.some((n) => n.startsWith(`${s}-`)),
        s,
      );
  });
  for (const name of names) {
    test(name, () => {
      const file = new Uint8Array(readFileSync(join(BIN, name)));
      for (const [tier, hart] of TIERS) {
        const r = runElf(file, { maxInstructions: 5_000_000, hart });
        assert.equal(r.stopped, undefined, `${name} (${tier}) stopped: ${r.stopped}`);
        assert.equal(r.exit, 0, `${name} (${tier}): failed test case ${r.exit}; stderr: ${r.stderr}`);
      }
    });
  }
});
