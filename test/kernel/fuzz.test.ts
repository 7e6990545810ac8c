/**
 * The guest fuzzer (fixtures/kernel/fuzz/fuzz.c): 10^5 seeded random system
 * calls with random arguments end in return values, never in a JavaScript
 * exception reaching the host; the program runs to its end; every frame is
 * free again after exit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';

const FUZZ = fileURLToPath(new URL('../../fixtures/kernel/fuzz/fuzz', import.meta.url));

test('10^5 random system calls: no JavaScript exception, exit 0, no frame left', () => {
  const machine = new Machine({ memSize: 64 << 20 });
  const used = machine.frames.usedFrames;
  const host = new MemoryHost();
  const kernel = new Kernel(machine, host);
  const proc = kernel.spawn(new Uint8Array(readFileSync(FUZZ)), { argv: ['fuzz', '100000'], envp: [] });
  const status = kernel.run(proc);
  const stderr = new TextDecoder().decode(Uint8Array.from(host.stderr));
  assert.equal(status, 0, stderr);
  const made = Number(/calls made: (\d+)/.exec(host.stdoutText)?.[1]);
  const counted =
    [...kernel.stats.syscalls.values()].reduce((a, b) => a + b, 0) +
    [...kernel.stats.unknownSyscalls.values()].reduce((a, b) => a + b, 0);
  assert.ok(made >= 95_000, `${made} calls`);
  assert.ok(counted >= made, `the kernel saw ${counted} calls`);
  assert.ok(
    kernel.stats.syscalls.size >= 20,
    `${kernel.stats.syscalls.size} different implemented calls reached`,
  );
  assert.equal(machine.frames.usedFrames, used, 'every frame free again');
});

test("10^5 random system calls on everything, the fuzzer's own memory included: an exit or a signal, never a JavaScript exception", () => {
  for (const seed of ['100000', '99991', '77777']) {
    const machine = new Machine({ memSize: 64 << 20 });
    const used = machine.frames.usedFrames;
    const host = new MemoryHost();
    const kernel = new Kernel(machine, host);
    const proc = kernel.spawn(new Uint8Array(readFileSync(FUZZ)), { argv: ['fuzz', seed, 'all'], envp: [] });
    const status = kernel.run(proc);
    assert.ok(status === 0 || (status > 128 && proc.killedBy !== undefined), `status ${status}`);
    assert.equal(machine.frames.usedFrames, used, 'every frame free again');
  }
});
