/**
 * The structs the kernel writes are laid out exactly as riscv64's headers
 * define them: every size and field offset against what a program built
 * with Debian's riscv64 headers printed (fixtures/kernel/layouts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DIRENT64, STAT, STATFS, STATX, SYSINFO, TIMESPEC } from 'axptr/kernel';

const expected = new Map<string, number>();
for (const line of readFileSync(
  fileURLToPath(new URL('../../fixtures/kernel/layouts/layouts.expected', import.meta.url)),
  'utf8',
)
  .trim()
  .split('\n')) {
  const parts = line.split(' ');
  expected.set(parts.slice(0, -1).join(' '), Number(parts[parts.length - 1]));
}

/** Our layouts by C name, and our field names where they differ from C's (padding we split). */
const OURS: [string, { size: number; offsets: Readonly<Record<string, number>> }, Record<string, string>][] =
  [
    ['stat', STAT, {}],
    ['statx', STATX, {}],
    ['statfs', STATFS, { f_fsid: 'f_fsid0', f_spare: 'f_spare0' }],
    ['sysinfo', SYSINFO, { loads: 'load1', procs: 'procs_pad' }],
    ['__kernel_timespec', TIMESPEC, {}],
  ];

for (const [c, layout, renamed] of OURS) {
  test(`struct ${c}: the size and every field offset of riscv64's headers`, () => {
    assert.equal(layout.size, expected.get(`${c} size`), `sizeof(struct ${c})`);
    let fields = 0;
    for (const [key, off] of expected) {
      if (!key.startsWith(`${c} `) || key === `${c} size`) continue;
      const field = key.slice(c.length + 1);
      assert.equal(layout.offsets[renamed[field] ?? field], off, `offsetof(struct ${c}, ${field})`);
      fields++;
    }
    assert.ok(fields >= 2);
  });
}

test('struct linux_dirent64: the offsets getdents64 writes at', () => {
  for (const [field, off] of Object.entries(DIRENT64))
    assert.equal(off, expected.get(`dirent64 ${field}`), field);
});
