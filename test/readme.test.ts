/** The README's snippet and the bundled demo run as written. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;

function runTs(file: string, args: string[] = []): string {
  return execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', file, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

test("the README's TypeScript snippet prints what its comments say", () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README has a ts block');
  const file = `${ROOT}test/zz_readme_snippet.tmp.ts`;
  writeFileSync(file, m[1]);
  try {
    assert.equal(runTs(file), '42\nEFAULT\n10\n');
  } finally {
    rmSync(file, { force: true });
  }
});

test('the bundled demo runs and leaks no frame', () => {
  const out = runTs('examples/layers.ts', ['riscv64-sv39', 'aarch64']);
  assert.equal(out.match(/destroyed: 0 frames still in use/g)?.length, 2);
  assert.match(out, /KernelPanic/);
  assert.match(out, /invalid UTF-8: EILSEQ/);
});
