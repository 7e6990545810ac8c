/**
 * The bad-pointer probe (fixtures/kernel/probe/probe.c: our own program,
 * built for riscv64 and natively): 730 system calls with NULL, unmapped,
 * read-only, PROT_NONE, kernel-half, misaligned and page-crossing pointers,
 * over-long and unterminated paths, iovec limits and bad flags give under
 * our kernel, in both tiers, the return values and errnos that the native
 * run on this Linux machine gave (expected/probe.native.txt), and every
 * frame is free again after exit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';
import { TIERS } from '../support/mini-kernel.js';

const DIR = fileURLToPath(new URL('../../fixtures/kernel/probe/', import.meta.url));

describe('the bad-pointer probe answers as native Linux does', () => {
  const expected = readFileSync(`${DIR}expected/probe.native.txt`, 'utf8');
  const expectedStatus = Number(readFileSync(`${DIR}expected/probe.native.status`, 'utf8'));
  for (const [tier, hart] of TIERS) {
    test(`every probe line as the native run (${tier})`, () => {
      const machine = new Machine({ memSize: 64 << 20 });
      const used = machine.frames.usedFrames;
      const host = new MemoryHost();
      const kernel = new Kernel(machine, host, { hart });
      const proc = kernel.spawn(new Uint8Array(readFileSync(`${DIR}bin/probe`)), {
        argv: ['probe'],
        envp: [],
      });
      const status = kernel.run(proc);
      const got = host.stdoutText.split('\n');
      const want = expected.split('\n');
      // Line by line first, so a failure names the probe that differs.
      for (let i = 0; i < Math.max(got.length, want.length); i++)
        assert.equal(got[i], want[i], `probe line ${i + 1}`);
      assert.equal(status, expectedStatus);
      assert.equal(new TextDecoder().decode(Uint8Array.from(host.stderr)), '');
      assert.equal(machine.frames.usedFrames, used, 'every frame free again');
      assert.deepEqual([...kernel.stats.unknownSyscalls], []);
    });
  }
});
