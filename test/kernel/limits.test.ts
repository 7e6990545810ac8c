/**
 * Limits hold, with the answers Linux gives (fixtures/kernel/limits): on a
 * 16 MiB machine a malloc larger than the machine fails (the overcommit
 * heuristic) while a lazy MAP_NORESERVE gigabyte maps; RLIMIT_AS and
 * RLIMIT_NOFILE refuse with ENOMEM and EMFILE; touching more memory than
 * the machine has ends in the OOM killer's SIGKILL, recursing past
 * RLIMIT_STACK in SIGSEGV; tmpfs holds half the machine (ENOSPC); never a
 * host crash, every frame free again. Also two answers where qemu-user's
 * differ from Linux's (O_LARGEFILE from open; no reads in access mode 3).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';

const LIMITS = new Uint8Array(
  readFileSync(fileURLToPath(new URL('../../fixtures/kernel/limits/limits', import.meta.url))),
);

function run(argv: string[]) {
  const machine = new Machine({ memSize: 16 << 20 });
  const used = machine.frames.usedFrames;
  const host = new MemoryHost();
  const kernel = new Kernel(machine, host);
  const status = kernel.run(kernel.spawn(LIMITS, { argv: ['limits', ...argv], envp: [] }));
  return {
    status,
    out: host.stdoutText,
    err: new TextDecoder().decode(Uint8Array.from(host.stderr)),
    leaked: machine.frames.usedFrames - used,
  };
}

test('overcommit, RLIMIT_AS and RLIMIT_NOFILE answer as Linux', () => {
  const r = run([]);
  assert.equal(r.status, 0, r.err);
  assert.equal(
    r.out,
    [
      'malloc(2 GiB): NULL',
      'mmap(1 GiB, MAP_NORESERVE): ok',
      'setrlimit(RLIMIT_AS, 32 MiB): 0',
      'mmap(64 MiB) past RLIMIT_AS: ENOMEM',
      'setrlimit(RLIMIT_NOFILE, 16): 0',
      'opened until EMFILE: 13 more descriptors',
      'dup2(0, 16): -1 EBADF',
      'tmpfs full after 8 MiB: ENOSPC',
      'statfs(/tmp): 2048 blocks of 4096, 0 free',
      'after unlink: 2048 free',
      'F_GETFL has O_LARGEFILE: yes',
      'read(mode 3): -1 EBADF',
      '',
    ].join('\n'),
  );
  assert.equal(r.leaked, 0);
});

test('touching more than the machine has: the OOM killer (SIGKILL, status 137), no frame lost', () => {
  const r = run(['oom', '64']);
  assert.equal(r.status, 137);
  assert.equal(r.out, 'touching 64 MiB\n');
  assert.match(r.err, /out of memory .*killed\nKilled\n$/);
  assert.equal(r.leaked, 0);
});

test('recursing past RLIMIT_STACK: SIGSEGV (status 139)', () => {
  const r = run(['stack']);
  assert.equal(r.status, 139);
  assert.equal(r.out, 'RLIMIT_STACK 8192 KiB; recursing 16 MiB deep\n');
  assert.equal(r.err, 'Segmentation fault\n');
  assert.equal(r.leaked, 0);
});
