import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ALL_ERRNOS,
  AX_ERROR_MESSAGES,
  AX_TO_LINUX,
  AxError,
  type AxErrorKind,
  axErrorFromCode,
  axToLinux,
  ERRNO_ALIASES,
  ERRNO_MESSAGES,
  Errno,
  type ErrnoName,
  err,
  errnoFromName,
  errnoName,
  isErrno,
  isLinuxError,
  LinuxError,
  type LinuxResult,
  ok,
  strerror,
  syscallReturn,
  tryLinux,
  unwrap,
} from 'axptr/errno';
import fc from 'fast-check';
import { buildAndRun, findCompiler } from '../support/native.js';

const NATIVE_DIR = fileURLToPath(new URL('../../fixtures/native/', import.meta.url));
const TABLE_TEXT = readFileSync(join(NATIVE_DIR, 'errno_table.txt'), 'utf8');

interface Row {
  errno: number;
  name: string;
  message: string;
}

function parseTable(text: string): Row[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const parts = line.split('\t');
      assert.equal(parts.length, 3, `malformed fixture line: ${JSON.stringify(line)}`);
      return { errno: Number(parts[0]), name: parts[1], message: parts[2] };
    });
}

const ROWS = parseTable(TABLE_TEXT);

describe('errno table against fixtures/native/errno_table.txt', () => {
  test('the fixture itself has 131 rows, 1..133 without 41 and 58', () => {
    assert.equal(ROWS.length, 131);
    const numbers = ROWS.map((r) => r.errno);
    const expected: number[] = [];
    for (let n = 1; n <= 133; n++) if (n !== 41 && n !== 58) expected.push(n);
    assert.deepEqual(numbers, expected);
  });

  test('every errno has the fixture number, name and message', () => {
    for (const { errno, name, message } of ROWS) {
      assert.equal(Errno[name as ErrnoName], errno, `Errno.${name}`);
      assert.equal(errnoName(errno), name, `errnoName(${errno})`);
      assert.equal(errnoFromName(name), errno, `errnoFromName(${name})`);
      assert.equal(ERRNO_MESSAGES[errno], message, `ERRNO_MESSAGES[${errno}]`);
      assert.equal(strerror(errno), message, `strerror(${errno})`);
      assert.ok(isErrno(errno));
      const e = new LinuxError(errno);
      assert.equal(e.errno, errno);
      assert.equal(e.code, name);
      assert.equal(e.description, message);
      assert.equal(e.message, `${name}: ${message}`);
    }
  });

  test('Errno has exactly the fixture names and ERRNO_MESSAGES exactly the fixture numbers', () => {
    assert.deepEqual(Object.keys(Errno).sort(), ROWS.map((r) => r.name).sort());
    assert.deepEqual(
      Object.keys(ERRNO_MESSAGES)
        .map(Number)
        .sort((a, b) => a - b),
      ROWS.map((r) => r.errno),
    );
  });

  test('ALL_ERRNOS: 131 numbers ascending, 41 and 58 missing', () => {
    assert.equal(ALL_ERRNOS.length, 131);
    assert.deepEqual(
      [...ALL_ERRNOS],
      ROWS.map((r) => r.errno),
    );
    assert.ok(!ALL_ERRNOS.includes(41));
    assert.ok(!ALL_ERRNOS.includes(58));
    assert.equal(ALL_ERRNOS[0], 1);
    assert.equal(ALL_ERRNOS[130], 133);
  });

  test('41, 58, 0, 134, negatives and non-integers are not errnos', () => {
    for (const n of [0, 41, 58, 134, -1, -14, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(isErrno(n), false, `isErrno(${n})`);
      assert.equal(errnoName(n), undefined, `errnoName(${n})`);
    }
    assert.equal(isErrno('14'), false);
    assert.equal(isErrno(14n), false);
    assert.equal(strerror(41), 'Unknown error 41');
    assert.equal(strerror(58), 'Unknown error 58');
    assert.equal(strerror(0), 'Unknown error 0');
  });

  test('a few well-known values by hand', () => {
    assert.equal(Errno.EPERM, 1);
    assert.equal(Errno.EFAULT, 14);
    assert.equal(Errno.EINVAL, 22);
    assert.equal(Errno.ENOSYS, 38);
    assert.equal(Errno.EHWPOISON, 133);
    assert.equal(strerror(14), 'Bad address');
  });

  test('native oracle: errno_table.c rebuilt and rerun gives the committed table', (t) => {
    const compiler = findCompiler();
    if (compiler === undefined) {
      t.skip('no C compiler: neither cc nor gcc is on PATH, so the native oracle cannot be rebuilt');
      return;
    }
    assert.equal(buildAndRun(compiler, 'errno_table.c', '-O0'), TABLE_TEXT);
  });
});

describe('aliases', () => {
  test('ERRNO_ALIASES lists exactly EWOULDBLOCK and EDEADLOCK', () => {
    assert.deepEqual({ ...ERRNO_ALIASES }, { EWOULDBLOCK: 'EAGAIN', EDEADLOCK: 'EDEADLK' });
  });

  test('EWOULDBLOCK → EAGAIN (11), EDEADLOCK → EDEADLK (35)', () => {
    assert.equal(errnoFromName('EWOULDBLOCK'), 11);
    assert.equal(errnoFromName('EDEADLOCK'), 35);
    const a = new LinuxError('EWOULDBLOCK');
    assert.equal(a.errno, 11);
    assert.equal(a.code, 'EAGAIN');
    const d = new LinuxError('EDEADLOCK');
    assert.equal(d.errno, 35);
    assert.equal(d.code, 'EDEADLK');
  });

  test('aliases are not canonical names and have no number of their own', () => {
    assert.equal(Object.hasOwn(Errno, 'EWOULDBLOCK'), false);
    assert.equal(Object.hasOwn(Errno, 'EDEADLOCK'), false);
    assert.equal(errnoName(11), 'EAGAIN');
    assert.equal(errnoName(35), 'EDEADLK');
  });
});

describe('LinuxError', () => {
  test('from number, from name, from alias', () => {
    const byNumber = new LinuxError(14);
    const byName = new LinuxError('EFAULT');
    for (const e of [byNumber, byName]) {
      assert.ok(e instanceof LinuxError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'LinuxError');
      assert.equal(e.errno, 14);
      assert.equal(e.code, 'EFAULT');
      assert.equal(e.message, 'EFAULT: Bad address');
      assert.equal(e.description, 'Bad address');
    }
    const alias = new LinuxError('EWOULDBLOCK');
    assert.equal(alias.code, 'EAGAIN');
    assert.equal(alias.message, 'EAGAIN: Resource temporarily unavailable');
  });

  test('detail goes into the message but not the description', () => {
    const e = new LinuxError('EINVAL', 'flags 0x8');
    assert.equal(e.message, 'EINVAL: Invalid argument (flags 0x8)');
    assert.equal(e.description, 'Invalid argument');
  });

  test('an unknown number or name throws TypeError', () => {
    for (const bad of [
      0,
      41,
      58,
      134,
      -14,
      14.5,
      Number.NaN,
      'EBOGUS',
      'efault',
      '',
      '14',
      'toString',
      '__proto__',
    ]) {
      assert.throws(() => new LinuxError(bad), TypeError, `new LinuxError(${String(bad)})`);
    }
    assert.equal(errnoFromName('toString'), undefined);
    assert.equal(errnoFromName('constructor'), undefined);
    assert.equal(errnoFromName('efault'), undefined);
  });

  test('property: every errno round-trips through its name and toSyscallReturn() is -errno', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_ERRNOS), (n) => {
        const e = new LinuxError(n);
        const again = new LinuxError(e.code);
        assert.equal(again.errno, n);
        assert.equal(e.toSyscallReturn(), -n);
        assert.equal(
          syscallReturn(() => thrower(n)),
          -n,
        );
      }),
    );
  });

  test('toSyscallReturn() == -errno for all 131', () => {
    for (const n of ALL_ERRNOS) assert.equal(new LinuxError(n).toSyscallReturn(), -n);
  });
});

function thrower(n: number): number {
  throw new LinuxError(n);
}

describe('isLinuxError', () => {
  const efault = new LinuxError('EFAULT');
  const eagain = new LinuxError('EAGAIN');

  test('without a filter: LinuxError only', () => {
    assert.equal(isLinuxError(efault), true);
    assert.equal(isLinuxError(new Error('EFAULT')), false);
    assert.equal(isLinuxError(new TypeError('x')), false);
    assert.equal(isLinuxError({ errno: 14, code: 'EFAULT' }), false);
    assert.equal(isLinuxError(14), false);
    assert.equal(isLinuxError(undefined), false);
    assert.equal(isLinuxError(null), false);
  });

  test('with a number, a name or an alias', () => {
    assert.equal(isLinuxError(efault, 14), true);
    assert.equal(isLinuxError(efault, 'EFAULT'), true);
    assert.equal(isLinuxError(efault, 22), false);
    assert.equal(isLinuxError(efault, 'EINVAL'), false);
    assert.equal(isLinuxError(eagain, 'EWOULDBLOCK'), true);
    assert.equal(isLinuxError(eagain, 11), true);
    assert.equal(isLinuxError(efault, 'EWOULDBLOCK'), false);
    assert.equal(isLinuxError(efault, 'EBOGUS'), false);
    assert.equal(isLinuxError(new Error('x'), 14), false);
  });
});

describe('syscallReturn', () => {
  test('a normal return passes through', () => {
    assert.equal(
      syscallReturn(() => 42),
      42,
    );
    assert.equal(
      syscallReturn(() => 0),
      0,
    );
  });

  test('a thrown LinuxError becomes -errno', () => {
    assert.equal(
      syscallReturn(() => {
        throw new LinuxError('EFAULT');
      }),
      -14,
    );
    assert.equal(
      syscallReturn(() => {
        throw new LinuxError('EWOULDBLOCK');
      }),
      -11,
    );
  });

  test('anything else is rethrown unchanged', () => {
    const bug = new RangeError('kernel bug');
    assert.throws(
      () =>
        syscallReturn(() => {
          throw bug;
        }),
      (e) => e === bug,
    );
    assert.throws(
      () =>
        syscallReturn(() => {
          throw 14;
        }),
      (e) => e === 14,
    );
  });
});

// The reference (arceos-deps.md §5.1 and §5.3), written out independently of src.
const AX_KINDS_IN_ORDER = [
  'AddrInUse',
  'AlreadyExists',
  'BadAddress',
  'BadState',
  'ConnectionRefused',
  'ConnectionReset',
  'DirectoryNotEmpty',
  'InvalidData',
  'InvalidInput',
  'Io',
  'IsADirectory',
  'NoMemory',
  'NotADirectory',
  'NotConnected',
  'NotFound',
  'PermissionDenied',
  'ResourceBusy',
  'StorageFull',
  'UnexpectedEof',
  'Unsupported',
  'WouldBlock',
  'WriteZero',
] as const;

const AX_LINUX_REFERENCE: Record<(typeof AX_KINDS_IN_ORDER)[number], number> = {
  AddrInUse: 98,
  AlreadyExists: 17,
  BadAddress: 14,
  BadState: 14,
  ConnectionRefused: 111,
  ConnectionReset: 104,
  DirectoryNotEmpty: 39,
  InvalidInput: 22,
  InvalidData: 22,
  Io: 5,
  UnexpectedEof: 5,
  WriteZero: 5,
  IsADirectory: 21,
  NoMemory: 12,
  NotADirectory: 20,
  NotConnected: 107,
  NotFound: 2,
  PermissionDenied: 13,
  ResourceBusy: 16,
  StorageFull: 28,
  Unsupported: 38,
  WouldBlock: 11,
};

const AX_MESSAGES_REFERENCE = [
  'Address in use',
  'Entity already exists',
  'Bad address',
  'Bad internal state',
  'Connection refused',
  'Connection reset',
  'Directory not empty',
  'Invalid data',
  'Invalid input parameter',
  'I/O error',
  'Is a directory',
  'Out of memory',
  'Not a directory',
  'Not connected',
  'Entity not found',
  'Permission denied',
  'Resource busy',
  'No storage space',
  'Unexpected end of file',
  'Operation not supported',
  'Operation would block',
  'Write zero',
];

describe('AxError', () => {
  test('codes 1..22 in the reference order', () => {
    assert.deepEqual(Object.keys(AxError), [...AX_KINDS_IN_ORDER]);
    AX_KINDS_IN_ORDER.forEach((kind, i) => {
      assert.equal(AxError[kind], i + 1, kind);
    });
  });

  test('axErrorFromCode inverts the codes and refuses everything else', () => {
    AX_KINDS_IN_ORDER.forEach((kind, i) => {
      assert.equal(axErrorFromCode(i + 1), kind);
    });
    for (const bad of [0, 23, -1, 1.5, Number.NaN]) assert.equal(axErrorFromCode(bad), undefined);
  });

  test('messages', () => {
    AX_KINDS_IN_ORDER.forEach((kind, i) => {
      assert.equal(AX_ERROR_MESSAGES[kind], AX_MESSAGES_REFERENCE[i], kind);
    });
  });

  test('the full mapping to Linux errnos (§5.3)', () => {
    assert.deepEqual(Object.keys(AX_TO_LINUX).sort(), [...AX_KINDS_IN_ORDER].sort());
    for (const kind of AX_KINDS_IN_ORDER) {
      const expected = AX_LINUX_REFERENCE[kind];
      assert.equal(Errno[AX_TO_LINUX[kind]], expected, `AX_TO_LINUX.${kind}`);
      const e = axToLinux(kind);
      assert.ok(e instanceof LinuxError);
      assert.equal(e.errno, expected, `axToLinux(${kind})`);
      assert.equal(e.code, errnoName(expected));
      assert.equal(e.toSyscallReturn(), -expected);
      assert.ok(e.message.includes(kind), `message names the kind: ${e.message}`);
    }
  });

  test('axToLinux keeps the detail', () => {
    const e = axToLinux('NoMemory' satisfies AxErrorKind, 'populate 0x1000');
    assert.equal(e.errno, 12);
    assert.equal(e.message, 'ENOMEM: Cannot allocate memory (NoMemory: populate 0x1000)');
  });
});

describe('LinuxResult helpers', () => {
  test('ok', () => {
    const r = ok(7);
    assert.deepEqual(r, { ok: true, value: 7 });
    assert.equal(unwrap(r), 7);
  });

  test('err from a number, a name, an alias or a LinuxError', () => {
    const e = new LinuxError('EINVAL');
    const same = err(e);
    assert.equal(same.ok, false);
    if (!same.ok) assert.equal(same.error, e);
    for (const [input, errno] of [
      [14, 14],
      ['EFAULT', 14],
      ['EWOULDBLOCK', 11],
    ] as const) {
      const r = err(input);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.ok(r.error instanceof LinuxError);
        assert.equal(r.error.errno, errno);
      }
    }
    assert.throws(() => err(41), TypeError);
    assert.throws(() => err('EBOGUS'), TypeError);
  });

  test('unwrap throws the error of an err', () => {
    const r: LinuxResult<number> = err('ENOENT');
    assert.throws(
      () => unwrap(r),
      (e) => isLinuxError(e, 'ENOENT'),
    );
  });

  test('tryLinux: value, LinuxError as value, anything else propagates', () => {
    assert.deepEqual(
      tryLinux(() => 'x'),
      { ok: true, value: 'x' },
    );
    const failing = new LinuxError('EACCES');
    const r = tryLinux<number>(() => {
      throw failing;
    });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error, failing);

    const bug = new TypeError('not a LinuxError');
    assert.throws(
      () =>
        tryLinux(() => {
          throw bug;
        }),
      (e) => e === bug,
    );
    assert.throws(
      () =>
        tryLinux(() => {
          throw 'string';
        }),
      (e) => e === 'string',
    );
  });

  test('property: unwrap(tryLinux(f)) behaves like f', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer(),
          fc.constantFrom(...ALL_ERRNOS).map((n) => new LinuxError(n)),
        ),
        (x) => {
          const f = (): number => {
            if (x instanceof LinuxError) throw x;
            return x;
          };
          const r = tryLinux(f);
          if (x instanceof LinuxError) {
            assert.equal(r.ok, false);
            assert.throws(
              () => unwrap(r),
              (e) => e === x,
            );
          } else {
            assert.equal(unwrap(r), x);
          }
        },
      ),
    );
  });
});
