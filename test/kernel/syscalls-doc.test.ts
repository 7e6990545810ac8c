/**
 * docs/syscalls.md is the table's: generated from it (npm run build writes
 * it) and current; every served call is in it, by number and name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RISCV64_SYSCALL_NAMES, SYSCALLS, syscallsMarkdown } from 'axptr/kernel';

test('docs/syscalls.md is what the table makes (run npm run build to regenerate it)', () => {
  const committed = readFileSync(fileURLToPath(new URL('../../docs/syscalls.md', import.meta.url)), 'utf8');
  assert.equal(committed, syscallsMarkdown());
});

test("every served call has riscv64's number for its name", () => {
  for (const e of SYSCALLS) assert.equal(RISCV64_SYSCALL_NAMES.get(e.nr), e.name, `${e.nr} ${e.name}`);
});
