/**
 * The CPU against qemu-riscv64, bit for bit: our own fixtures (fixtures/riscv/, built with
 * Debian's cross compiler) and the seeded random instruction streams (fixtures/riscv/random/,
 * every register and a memory buffer dumped at the end) give exactly the output recorded from
 * qemu-riscv64. The recorded outputs are committed, so this runs without qemu.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runElf, TIERS } from '../support/mini-kernel.js';

const FIX = fileURLToPath(new URL('../../fixtures/riscv/', import.meta.url));

function hexDiff(got: Uint8Array, want: Uint8Array): string {
  for (let i = 0; i < Math.max(got.length, want.length); i += 8) {
    const a = Buffer.from(got.subarray(i, i + 8)).toString('hex');
    const b = Buffer.from(want.subarray(i, i + 8)).toString('hex');
    if (a !== b) {
      const where = i < 256 ? `buffer+${i}` : `x${(i - 256) / 8 + 1}`;
      return `${where}: ours ${a}, qemu ${b}`;
    }
  }
  return 'same';
}

describe('our fixtures give what qemu-riscv64 printed, with the same instret in both tiers', () => {
  for (const name of readdirSync(join(FIX, 'bin')).sort()) {
    test(name, () => {
      const file = new Uint8Array(readFileSync(join(FIX, 'bin', name)));
      const want = readFileSync(join(FIX, 'expected', `${name}.txt`), 'utf8');
      const argv = name === 'auxv' ? ['bin/auxv', 'one', 'two'] : [name];
      const counts: number[] = [];
      for (const [tier, hart] of TIERS) {
        const r = runElf(file, { argv, hart, maxInstructions: 1e9 });
        assert.equal(r.stopped, undefined, `${tier}: ${r.stopped}`);
        assert.equal(r.exit, 0);
        if (name === 'auxv') {
          // Linux's auxv order (create_elf_tables) is not qemu-user's: the same entries, any order.
          const split = (t: string) => {
            const lines = t.trimEnd().split('\n');
            const aux = lines.filter((l) => l.startsWith('AT_'));
            return { rest: lines.filter((l) => !l.startsWith('AT_')), aux: [...aux].sort() };
          };
          assert.deepEqual(split(r.stdout), split(want), tier);
        } else assert.equal(r.stdout, want, tier);
        counts.push(r.instret);
      }
      assert.equal(counts[0], counts[1], 'instret is exact in both tiers');
    });
  }
});

describe('random instruction streams: every register and the buffer equal to qemu-riscv64', () => {
  const dir = join(FIX, 'random');
  for (const name of readdirSync(join(dir, 'bin')).sort()) {
    test(name, () => {
      const want = new Uint8Array(readFileSync(join(dir, 'expected', `${name}.bin`)));
      assert.equal(want.length, 256 + 31 * 8);
      for (const [tier, hart] of TIERS) {
        const r = runElf(new Uint8Array(readFileSync(join(dir, 'bin', name))), { hart });
        assert.equal(r.stopped, undefined, `${tier}: ${r.stopped}`);
        assert.equal(r.exit, 0);
        assert.equal(hexDiff(r.stdoutBytes, want), 'same', tier);
      }
    });
  }
});

describe('the recorded outputs are what qemu-riscv64 prints now', () => {
  const have = spawnSync('qemu-riscv64', ['--version']).status === 0;
  test('qemu-riscv64 agrees with every committed expected output', (t) => {
    if (!have) {
      const why =
        'qemu-riscv64 not found (Debian package qemu-user): the recorded outputs are used as they are';
      if (process.env.CI === 'true') assert.fail(why);
      t.skip(why);
      return;
    }
    for (const name of readdirSync(join(FIX, 'bin'))) {
      const args = name === 'auxv' ? ['bin/auxv', 'one', 'two'] : [`bin/${name}`];
      const run = spawnSync('env', ['-i', 'qemu-riscv64', ...args], { cwd: FIX });
      const want = readFileSync(join(FIX, 'expected', `${name}.txt`));
      if (name === 'auxv') assert.equal(run.stdout.toString(), want.toString(), name);
      else assert.deepEqual(new Uint8Array(run.stdout), new Uint8Array(want), name);
    }
    const dir = join(FIX, 'random');
    for (const name of readdirSync(join(dir, 'bin'))) {
      const run = spawnSync('qemu-riscv64', [
        '-cpu',
        'rv64,zba=true,zbb=true,zbs=true',
        join(dir, 'bin', name),
      ]);
      assert.deepEqual(
        new Uint8Array(run.stdout),
        new Uint8Array(readFileSync(join(dir, 'expected', `${name}.bin`))),
        name,
      );
    }
  });
});
