/**
 * Processes and threads (fixtures/proc: static glibc programs built from our own C sources): fork,
 * exec through /proc/self/exe, wait, pipelines, vfork, posix_spawn, orphans, process groups,
 * pthreads and a TLB shootdown give native Linux's output and status under our kernel, in both
 * tiers and on 1, 2 and 4 simulated CPUs, with every frame free again at the end.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';
import { TIERS } from '../support/mini-kernel.js';

const FIX = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));
const expected = (name: string, ext: string) => readFileSync(join(FIX, 'expected', `${name}.${ext}`), 'utf8');

function runGuest(name: string, cpus: number, hart: object) {
  const machine = new Machine({ memSize: 128 << 20, cpus });
  const used = machine.frames.usedFrames;
  const host = new MemoryHost();
  const kernel = new Kernel(machine, host, { hart });
  const proc = kernel.spawn(new Uint8Array(readFileSync(join(FIX, 'bin', name))), {
    argv: [name],
    envp: ['WHO=axptr'],
    exe: `/bin/${name}`,
  });
  const status = kernel.run(proc);
  return { status, stdout: host.stdoutText, kernel, leaked: machine.frames.usedFrames - used };
}

describe('processes and threads give native Linux output', () => {
  for (const name of readdirSync(join(FIX, 'bin')).sort()) {
    for (const [tier, hart] of TIERS) {
      for (const cpus of [1, 2, 4]) {
        test(`${name} (${tier}, ${cpus} CPU${cpus > 1 ? 's' : ''}): output, status, every frame free`, () => {
          const r = runGuest(name, cpus, hart);
          assert.equal(r.stdout, expected(name, 'txt'));
          assert.equal(r.status, Number(expected(name, 'status')));
          assert.equal(r.leaked, 0, 'no frame leaked');
          assert.equal(r.kernel.tasks.size, 0, 'no task left');
          assert.equal(r.kernel.processes.size, 0, 'no process left');
        });
      }
    }
  }

  test('forkexec made processes and ran execs; threads made threads; the CPUs switched contexts', () => {
    const f = runGuest('forkexec', 2, {});
    assert.ok(f.kernel.stats.forks >= 15 && f.kernel.stats.execs >= 10, JSON.stringify(f.kernel.stats.forks));
    const t = runGuest('threads', 2, {});
    assert.equal(t.kernel.stats.threads, 4);
    assert.ok(t.kernel.stats.contextSwitches > 4);
  });

  test("qemu-riscv64's recorded output differs from native Linux's only where qemu runs vfork as fork", () => {
    for (const name of readdirSync(join(FIX, 'bin'))) {
      const native = expected(name, 'txt').split('\n');
      const qemu = expected(name, 'qemu.txt').split('\n');
      assert.equal(qemu.length, native.length, name);
      const differ = native.filter((l, i) => l !== qemu[i]);
      const known =
        name === 'forkexec'
          ? ["the child's store seen by the parent: 42", 'posix_spawn(missing): 2 No such file or directory']
          : [];
      assert.deepEqual(differ, known, name);
      assert.equal(expected(name, 'qemu.status'), expected(name, 'status'));
    }
  });
});
