/**
 * The review's findings, kept (fixtures/kernel/regress/): a jump below
 * address 0 ends in SIGSEGV (it hung: the fault was "fixed" for ever); a
 * bad string pointer under --strace is -EFAULT and an address in the trace
 * (it threw out of the kernel); rdinstret in a loop moves in the compiled
 * tier too (it read a frozen count); unknown system-call numbers cannot
 * grow the kernel's statistics without bound.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kernel, MemoryHost, PANIC_STATUS, SYSCALL_BY_NR, type SyscallEntry } from 'axptr/kernel';
import { Machine, Privilege } from 'axptr/paging';
import { TIERS } from '../support/mini-kernel.js';

const DIR = fileURLToPath(new URL('../../fixtures/kernel/regress/', import.meta.url));

function run(name: string, hart: object, strace = false) {
  const machine = new Machine({ memSize: 16 << 20 });
  const used = machine.frames.usedFrames;
  const host = new MemoryHost();
  const kernel = new Kernel(machine, host, { hart, strace, maxInstructions: 10_000_000 });
  const status = kernel.run(
    kernel.spawn(new Uint8Array(readFileSync(DIR + name)), { argv: [name], envp: [] }),
  );
  return {
    status,
    stderr: new TextDecoder().decode(Uint8Array.from(host.stderr)),
    leaked: machine.frames.usedFrames - used,
    kernel,
  };
}

for (const [tier, hart] of TIERS) {
  describe(`review regressions (${tier})`, () => {
    test('a jump below address 0 is SIGSEGV (139), as under qemu-riscv64', () => {
      const r = run('negpc', hart);
      assert.equal(r.status, 139);
      assert.match(r.stderr, /Segmentation fault/);
      assert.equal(r.leaked, 0);
    });

    test('a bad path pointer under --strace: -EFAULT, the trace shows the address', () => {
      const r = run('badpath', hart, true);
      assert.equal(r.status, 0);
      assert.match(r.stderr, /openat\(AT_FDCWD, 0x1234, O_RDONLY\) = -1 EFAULT \(Bad address\)/);
    });

    test('rdinstret inside a loop counts every instruction in both tiers (28)', () => {
      assert.equal(run('instret', hart).status, 28);
    });
  });
}

describe('a kernel bug in a system call: a panic with its report, the run stopped, nothing leaked', () => {
  test('a handler that reads user memory outside a user access panics with the call, the fault and the registers', () => {
    // A deliberately buggy system call 500: it reads the user's stack page below sp with the MMU in
    // kernel mode without opening a user access (the per-CPU flag clear).
    const table = SYSCALL_BY_NR as Map<number, SyscallEntry>;
    table.set(500, {
      nr: 500,
      name: 'buggy_call',
      args: ['ptr'],
      handler: (ctx, [sp]) => ctx.kernel.machine.mmu.read8(Number(sp) - 0x100000, Privilege.Kernel),
    });
    try {
      const r = run('syscall500', {});
      assert.equal(r.status, PANIC_STATUS);
      assert.match(
        r.stderr,
        /^axptr: kernel panic: a page fault in kernel mode outside a user-memory access/,
      );
      assert.match(r.stderr, /fault: page fault: kernel read at 0x[0-9a-f]+ \(not-present\)/);
      assert.match(r.stderr, /in: system call buggy_call\(0x[0-9a-f]{16}\), process 1 \(syscall500\)/);
      assert.match(r.stderr, / {4}sp 0x[0-9a-f]{16}/);
      assert.ok(r.kernel.panicked !== undefined);
      assert.equal(r.leaked, 0, 'the stopped process is reaped: every frame free again');
    } finally {
      table.delete(500);
    }
  });
});
