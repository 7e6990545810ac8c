/**
 * The `axptr` command with qemu-user's habits: -E, -U, -0 shape the
 * program's environment and argv; --max-insns stops with a clear message;
 * --deterministic makes two runs print the same bytes; --help, --version
 * and bad options answer as a command should; a program that is not
 * there or not ELF is refused with the shell's statuses.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'axptr.js');
const BIN = join(ROOT, 'fixtures', 'kernel', 'bin');

function axptr(args: string[], env: Record<string, string> = {}) {
  return spawnSync('node', [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}

describe('the axptr command', (t) => {
  const built = !axptr(['--version']).stderr.includes('Cannot find module');
  const needsBuild = (ctx: { skip: (m: string) => void }) => {
    if (built) return false;
    if (process.env.CI) assert.fail('dist/ is not built');
    ctx.skip('dist/ is not built (npm run build; npm ci builds it)');
    return true;
  };
  void t;

  test('-E, -U and -0 as qemu-user has them', (ctx) => {
    if (needsBuild(ctx)) return;
    // The env fixture prints argv and the environment (through /proc/self/cmdline and environ too).
    const r = axptr(
      [
        'run',
        '--sandbox',
        '-E',
        'WHO=axptr',
        '-U',
        'DROPPED',
        '-0',
        'env',
        join(BIN, 'env'),
        'axptr',
        'two words',
      ],
      {
        DROPPED: 'yes',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^argc 3\nargv\[0\] = "env"\nargv\[1\] = "axptr"\nargv\[2\] = "two words"\n/);
    assert.match(r.stdout, /environ\[\d+\] = "WHO=axptr"/);
    assert.doesNotMatch(r.stdout, /DROPPED/);
    assert.match(r.stdout, /cmdline: 20 bytes "env\|axptr\|two words\|"/);
  });

  test('--max-insns stops the program with a clear message and status 124', (ctx) => {
    if (needsBuild(ctx)) return;
    const r = axptr(['run', '--sandbox', '--max-insns', '1000', join(BIN, 'hello')]);
    assert.equal(r.status, 124);
    assert.match(r.stderr, /axptr: stopped after 1\d{3} instructions \(--max-insns\)/);
  });

  test('--deterministic: two runs print the same bytes (time and entropy included)', (ctx) => {
    if (needsBuild(ctx)) return;
    const a = axptr(['run', '--sandbox', '--deterministic', '--strace', join(BIN, 'tty')]);
    const b = axptr(['run', '--sandbox', '--deterministic', '--strace', join(BIN, 'tty')]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stderr, b.stderr);
    // getrandom's bytes are in the trace: they are the seeded ones, the same each run.
    assert.match(a.stderr, /getrandom\("/);
  });

  test('--cpus 2 --strace --stats: a forking program traced per pid, exit_group returns nowhere ("= ?")', (ctx) => {
    if (needsBuild(ctx)) return;
    const prog = fileURLToPath(new URL('../../fixtures/proc/bin/forkexec', import.meta.url));
    const r = axptr(['run', '--sandbox', '--cpus', '2', '--strace', '--stats', prog]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^\[pid +1\] clone\(0x1200011, /m);
    assert.match(r.stderr, /^\[pid +\d+\] execve\("\/proc\/self\/exe", .*\) = 0$/m);
    assert.match(r.stderr, /^\[pid +1\] exit_group\(0\) = \?$/m);
    assert.match(
      r.stderr,
      /^tasks: \d+ processes forked, 0 threads made, \d+ execs; \d+ context switches on 2 CPUs$/m,
    );
    assert.equal(axptr(['run', '--cpus', '65', prog]).status, 2);
  });

  test('--help and --version', (ctx) => {
    if (needsBuild(ctx)) return;
    const h = axptr(['--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /usage: axptr run \[options\] program/);
    assert.match(h.stdout, /--mount HOST:GUEST\[:ro\]/);
    const v = axptr(['--version']);
    assert.equal(v.status, 0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(v.stdout, `axptr ${pkg.version}\n`);
  });

  test('bad options and bad programs: usage errors (2), not found (127), not runnable (126)', (ctx) => {
    if (needsBuild(ctx)) return;
    const bad = axptr(['run', '--frobnicate', join(BIN, 'hello')]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /axptr: unknown option --frobnicate/);
    const noValue = axptr(['run', '--mem']);
    assert.equal(noValue.status, 2);
    assert.match(noValue.stderr, /--mem needs a value/);
    const mount = axptr(['run', '--mount', 'nocolon', join(BIN, 'hello')]);
    assert.equal(mount.status, 2);
    assert.match(mount.stderr, /--mount needs HOST:GUEST/);
    const missing = axptr(['run', join(ROOT, 'no-such-program')]);
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /no-such-program/);
    const notElf = axptr(['run', join(ROOT, 'README.md')]);
    assert.equal(notElf.status, 126);
    assert.match(notElf.stderr, /Exec format error/);
  });

  test('a reader that goes (axptr run yes | head -1): SIGPIPE (141), or EPIPE when the program ignores it', (ctx) => {
    if (needsBuild(ctx)) return;
    const yes = join(ROOT, 'fixtures', 'kernel', 'cli', 'yes');
    const pipe = (args: string) =>
      spawnSync(
        'bash',
        ['-c', `node ${CLI} run --sandbox ${yes} ${args} | head -1; echo "status \${PIPESTATUS[0]}"`],
        {
          encoding: 'utf8',
        },
      );
    const killed = pipe('');
    assert.equal(killed.stdout, 'y\nstatus 141\n');
    assert.equal(killed.stderr, '');
    const ignored = pipe('ignore');
    assert.equal(ignored.stdout, 'y\nstatus 3\n');
    assert.equal(ignored.stderr, 'write: Broken pipe\n');
  });
});
