/**
 * Mounted host directories (src/kernel/fs/hostfs.ts through the Node host's
 * file system): a guest program (fixtures/kernel/mount/escape.c) tries
 * every way out of a mount — `..` at the mount's root, relative and
 * absolute symlinks made by the guest and by the host, /proc/self/root,
 * /proc/self/cwd, renames and links across mounts — and each ends inside
 * the guest's name space, while files made inside the mount land on the
 * host. A read-only mount refuses writes with EROFS.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';
import { NodeHostFs } from '../../src/cli/node-fs.js';

const ESCAPE = fileURLToPath(new URL('../../fixtures/kernel/mount/escape', import.meta.url));
const STALE = fileURLToPath(new URL('../../fixtures/kernel/mount/stale', import.meta.url));

/** A host directory with a secret beside the directory that gets mounted. */
function makeHostTree(): { base: string; mounted: string } {
  const base = mkdtempSync(join(tmpdir(), 'axptr-hostfs-'));
  const mounted = join(base, 'mounted');
  mkdirSync(mounted);
  writeFileSync(join(base, 'secret'), 'SECRET\n');
  writeFileSync(join(mounted, 'inside.txt'), 'inside\n');
  symlinkSync(join(base, 'secret'), join(mounted, 'host-abs-link'));
  symlinkSync('../secret', join(mounted, 'host-rel-link'));
  return { base, mounted };
}

class FsHost extends MemoryHost {
  readonly fs = new NodeHostFs();
}

function runEscape(mounted: string, readOnly: boolean) {
  const machine = new Machine({ memSize: 32 << 20 });
  const used = machine.frames.usedFrames;
  const host = new FsHost();
  const kernel = new Kernel(machine, host, { mounts: [{ host: mounted, guest: '/mnt', readOnly }] });
  const proc = kernel.spawn(new Uint8Array(readFileSync(ESCAPE)), {
    argv: ['escape', '/mnt', 'secret'],
    envp: [],
  });
  const status = kernel.run(proc);
  return { status, out: host.stdoutText, leaked: machine.frames.usedFrames - used };
}

describe('a mounted host directory: no path leads out of it', () => {
  const trees: string[] = [];
  after(() => {
    for (const t of trees) rmSync(t, { recursive: true, force: true });
  });

  test('every escape ends in the guest name space; files made inside land on the host', () => {
    const { base, mounted } = makeHostTree();
    trees.push(base);
    const r = runEscape(mounted, false);
    assert.equal(r.status, 0);
    assert.equal(r.leaked, 0);
    assert.equal(
      r.out,
      [
        "open ../secret from the mount's root: -1 ENOENT",
        'open MNT/../secret: -1 ENOENT',
        'open MNT/../../../../../secret: -1 ENOENT',
        'chdir .. from the mount: cwd /',
        'open inside.txt: opened, read 7 bytes: inside',
        'symlink rel -> ../secret: ok',
        'open rel-link: -1 ENOENT',
        'symlink up -> ../../../..: ok',
        'open up-link/secret: -1 ENOENT',
        'open host-abs-link (made on the host: absolute, to the secret): -1 ENOENT',
        'open host-rel-link (made on the host: ../secret): -1 ENOENT',
        'open /proc/self/root/MNT/inside.txt: opened, read 7 bytes: inside',
        'open /proc/self/cwd/inside.txt: opened, read 7 bytes: inside',
        'open /proc/self/cwd/../secret: -1 ENOENT',
        'rename inside.txt -> /tmp/x: -1 EXDEV',
        'link inside.txt -> /tmp/x: -1 EXDEV',
        'rename the mount point away: -1 EBUSY',
        'rmdir the mount point: -1 EBUSY',
        'create made-by-guest.txt: ok',
        'write it: ok',
        'mkdir sub: ok',
        'rename made-by-guest.txt -> sub/moved.txt: ok',
        'stat sub/moved.txt: ok',
        'size 12',
        '',
      ].join('\n'),
    );
    // The host sees what the guest made inside the mount, and nothing else changed.
    assert.equal(readFileSync(join(mounted, 'sub', 'moved.txt'), 'utf8'), 'guest bytes\n');
    assert.equal(readFileSync(join(base, 'secret'), 'utf8'), 'SECRET\n');
    assert.equal(existsSync(join(mounted, 'rel-link')), false, 'the guest removed its links');
    assert.equal(existsSync(join(base, 'x')), false);
  });

  test('a read-only mount: reads work, every write is EROFS and the host is untouched', () => {
    const { base, mounted } = makeHostTree();
    trees.push(base);
    const r = runEscape(mounted, true);
    assert.equal(r.status, 0);
    assert.match(r.out, /open inside\.txt: opened, read 7 bytes: inside/);
    assert.match(r.out, /symlink rel -> \.\.\/secret: -1 EROFS/);
    assert.match(r.out, /create made-by-guest\.txt: -1 EROFS/);
    assert.match(r.out, /mkdir sub: -1 EROFS/);
    assert.equal(existsSync(join(mounted, 'made-by-guest.txt')), false);
    assert.equal(existsSync(join(mounted, 'sub')), false);
  });

  test('stale paths: a removed directory or cwd replaced by a symlink out, a hard link renamed; files unlinked while open or mapped', () => {
    const { base, mounted } = makeHostTree();
    trees.push(base);
    writeFileSync(join(base, 'outside.txt'), 'secret\n', { mode: 0o644 });
    writeFileSync(join(mounted, 'hm.dat'), 'A'.repeat(8192));
    const machine = new Machine({ memSize: 32 << 20 });
    const used = machine.frames.usedFrames;
    const host = new FsHost();
    const kernel = new Kernel(machine, host, { mounts: [{ host: mounted, guest: '/mnt' }] });
    const status = kernel.run(
      kernel.spawn(new Uint8Array(readFileSync(STALE)), { argv: ['stale', base], envp: [], cwd: '/mnt' }),
    );
    assert.equal(status, 0, new TextDecoder().decode(Uint8Array.from(host.stderr)));
    // What native Linux prints for the same program in a directory of its own (the oracle's run).
    assert.equal(
      host.stdoutText,
      [
        'openat(removed dir, outside.txt): -1 ENOENT',
        'openat(removed dir, new.txt, O_CREAT): -1 ENOENT',
        'open(made-outside.txt, O_CREAT) in a removed cwd: -1 ENOENT',
        'fchmod(the file, 0600): 0',
        'its mode: 600',
        'unlinked while open: write 5, fstat 0 nlink 0 size 5, pread 5 "hello"',
        'mapping after pwrite: p[0]=A p[4096]=B',
        'done',
        '',
      ].join('\n'),
    );
    assert.equal(statSync(join(base, 'outside.txt')).mode & 0o7777, 0o644, 'the file outside kept its mode');
    assert.equal(existsSync(join(base, 'made-outside.txt')), false);
    assert.equal(existsSync(join(base, 'new.txt')), false);
    assert.equal(machine.frames.usedFrames, used, 'every frame free again (the unlinked mapped file too)');
  });
});
