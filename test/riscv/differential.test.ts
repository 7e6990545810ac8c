/**
 * The CPU against qemu-riscv64, bit for bit: our own fixtures (fixtures/riscv/, built with
 * Debian's cross compiler) and the seeded random instruction streams (fixtures/riscv/random/,
 * every register and a memory buffer dumped at the end) give exactly the output recorded from
 * qemu-riscv64. The recorded outputs are committed, so this runs without qemu.
 */
import assert from 'node:assert/strict';
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

describe('our fixtures give what qemu-riscv64 printed', () => {
  for (const name of readdirSync(join(FIX, 'bin')).sort()) {
    for (const [tier, hart] of TIERS) {
      test(`${name} (${tier})`, () => {
        const r = runElf(new Uint8Array(readFileSync(join(FIX, 'bin', name))), { argv: [name], hart });
        assert.equal(r.stopped, undefined, r.stopped);
        assert.equal(r.exit, 0);
        assert.equal(r.stdout, readFileSync(join(FIX, 'expected', `${name}.txt`), 'utf8'));
      });
    }
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
