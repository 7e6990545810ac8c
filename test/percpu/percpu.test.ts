import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CpuSet as Machine, PerCpu, PerCpuError, restoreRunningCpuSet, runningCpuSet } from 'axptr/percpu';
import fc from 'fast-check';

const isPerCpuError = (e: unknown): boolean => e instanceof PerCpuError && e.name === 'PerCpuError';

describe('Machine', () => {
  test('a new machine has N CPUs and runs on CPU 0, unpinned', () => {
    const m = new Machine(4);
    assert.equal(m.cpuCount, 4);
    assert.equal(m.currentCpu, 0);
    assert.equal(m.isPinned, false);
    assert.equal(new Machine().cpuCount, 1);
    assert.equal(new Machine(4096).cpuCount, 4096);
  });

  test('bad CPU counts throw PerCpuError', () => {
    for (const n of [0, -1, 4097, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new Machine(n), isPerCpuError, `new Machine(${n})`);
      assert.throws(() => new Machine(2).setCpuCount(n), isPerCpuError, `setCpuCount(${n})`);
    }
  });

  test('switchTo changes the current CPU', () => {
    const m = new Machine(4);
    m.switchTo(3);
    assert.equal(m.currentCpu, 3);
    m.switchTo(1);
    assert.equal(m.currentCpu, 1);
    m.switchTo(1);
    assert.equal(m.currentCpu, 1);
  });

  test('bad CPU ids throw PerCpuError and leave the current CPU alone', () => {
    const m = new Machine(4);
    m.switchTo(2);
    for (const cpu of [-1, 4, 5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => m.switchTo(cpu), isPerCpuError, `switchTo(${cpu})`);
      assert.throws(() => m.runOn(cpu, () => 0), isPerCpuError, `runOn(${cpu})`);
      assert.throws(() => m.checkCpu(cpu), isPerCpuError, `checkCpu(${cpu})`);
      assert.equal(m.currentCpu, 2);
    }
    assert.doesNotThrow(() => m.checkCpu(3));
  });

  test('runOn runs on the CPU, returns the result and switches back, also after a throw', () => {
    const m = new Machine(4);
    m.switchTo(1);
    assert.equal(
      m.runOn(3, () => m.currentCpu * 10),
      30,
    );
    assert.equal(m.currentCpu, 1);
    const boom = new Error('boom');
    assert.throws(
      () =>
        m.runOn(2, () => {
          assert.equal(m.currentCpu, 2);
          throw boom;
        }),
      (e) => e === boom,
    );
    assert.equal(m.currentCpu, 1);
    // Nested.
    m.runOn(2, () => {
      m.runOn(3, () => assert.equal(m.currentCpu, 3));
      assert.equal(m.currentCpu, 2);
    });
    assert.equal(m.currentCpu, 1);
  });

  test('runOn whose body removes the CPU it came from stays on a CPU that exists', () => {
    const m = new Machine(4);
    const v = new PerCpu((cpu) => cpu * 10, m);
    m.switchTo(3);
    m.runOn(0, () => m.setCpuCount(2));
    assert.equal(m.cpuCount, 2);
    assert.ok(m.currentCpu < 2, `current CPU ${m.currentCpu} on a machine of 2`);
    assert.equal(v.readCurrent(), m.currentCpu * 10);
  });

  test('pin: switching to another CPU throws, to the same CPU is fine, and the pin is released after a throw', () => {
    const m = new Machine(2);
    m.pin(() => {
      assert.equal(m.isPinned, true);
      assert.throws(() => m.switchTo(1), isPerCpuError);
      assert.throws(() => m.runOn(1, () => 0), isPerCpuError);
      m.switchTo(0);
      assert.equal(
        m.runOn(0, () => 7),
        7,
      );
      assert.throws(() => m.setCpuCount(3), isPerCpuError);
    });
    assert.equal(m.isPinned, false);
    assert.throws(() =>
      m.pin(() => {
        throw new Error('inside');
      }),
    );
    assert.equal(m.isPinned, false);
    m.switchTo(1);
    assert.equal(m.currentCpu, 1);
  });

  test('the machine running now: makeCurrent sets it, run() restores it, also when its callback throws', () => {
    const before = runningCpuSet();
    const a = new Machine(1);
    const b = new Machine(2);
    assert.notEqual(before, a, 'a new set is not running until entered');
    const prev = a.makeCurrent();
    assert.equal(prev, before);
    assert.equal(runningCpuSet(), a);
    assert.equal(
      b.run(() => runningCpuSet()),
      b,
    );
    assert.equal(runningCpuSet(), a);
    assert.throws(() =>
      b.run(() => {
        throw new Error('boom');
      }),
    );
    assert.equal(runningCpuSet(), a);
    restoreRunningCpuSet(before);
    assert.equal(runningCpuSet(), before);
  });
});

describe('PerCpu', () => {
  test('a value initialiser gives every CPU the value; readCurrent follows the current CPU', () => {
    const m = new Machine(3);
    const v = new PerCpu(5, m);
    assert.equal(v.machine, m);
    for (let cpu = 0; cpu < 3; cpu++) {
      m.switchTo(cpu);
      assert.equal(v.readCurrent(), 5);
    }
  });

  test('a function initialiser is called with each CPU id and gives each CPU its own object', () => {
    const m = new Machine(4);
    const calls: number[] = [];
    const v = new PerCpu((cpu) => {
      calls.push(cpu);
      return { cpu, items: [] as number[] };
    }, m);
    assert.deepEqual(calls, [0, 1, 2, 3]);
    const objects = [0, 1, 2, 3].map((cpu) => v.readRemote(cpu));
    objects.forEach((o, cpu) => {
      assert.equal(o.cpu, cpu);
    });
    assert.equal(new Set(objects).size, 4);
    v.readRemote(0).items.push(1);
    assert.deepEqual(v.readRemote(1).items, []);
  });

  test('a plain object initialiser is shared by reference (documented: pass a function for mutable objects)', () => {
    const m = new Machine(2);
    const shared = { n: 0 };
    const v = new PerCpu(shared, m);
    assert.equal(v.readRemote(0), shared);
    assert.equal(v.readRemote(1), shared);
  });

  test('writeCurrent writes only the current CPU', () => {
    const m = new Machine(3);
    const v = new PerCpu(0, m);
    m.switchTo(1);
    v.writeCurrent(11);
    assert.equal(v.readCurrent(), 11);
    m.switchTo(2);
    assert.equal(v.readCurrent(), 0);
    v.writeCurrent(22);
    assert.deepEqual(
      [...v.entries()],
      [
        [0, 0],
        [1, 11],
        [2, 22],
      ],
    );
  });

  test('variables on different machines are independent', () => {
    const a = new Machine(2);
    const b = new Machine(2);
    const va = new PerCpu(0, a);
    const vb = new PerCpu(0, b);
    a.switchTo(1);
    va.writeCurrent(1);
    assert.equal(b.currentCpu, 0);
    assert.equal(vb.readRemote(1), 0);
    vb.writeCurrent(9);
    assert.equal(va.readRemote(0), 0);
  });

  test('property: random (switch, write, read) sequences agree with a model array', () => {
    type Op =
      | { kind: 'switch'; cpu: number }
      | { kind: 'write'; value: number }
      | { kind: 'remote'; cpu: number; value: number };
    const n = 6;
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('switch' as const), cpu: fc.nat(n - 1) }),
      fc.record({ kind: fc.constant('write' as const), value: fc.integer() }),
      fc.record({ kind: fc.constant('remote' as const), cpu: fc.nat(n - 1), value: fc.integer() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: n }), fc.array(op, { maxLength: 60 }), (count, ops) => {
        const m = new Machine(count);
        const a = new PerCpu((cpu) => -cpu - 1, m);
        const b = new PerCpu(100, m); // an untouched second variable
        const model = Array.from({ length: count }, (_, cpu) => -cpu - 1);
        let current = 0;
        for (const o of ops) {
          if (o.kind === 'switch') {
            if (o.cpu < count) {
              m.switchTo(o.cpu);
              current = o.cpu;
            } else {
              assert.throws(() => m.switchTo(o.cpu), isPerCpuError);
            }
          } else if (o.kind === 'write') {
            a.writeCurrent(o.value);
            model[current] = o.value;
          } else if (o.cpu < count) {
            a.writeRemote(o.cpu, o.value);
            model[o.cpu] = o.value;
          } else {
            assert.throws(() => a.writeRemote(o.cpu, o.value), isPerCpuError);
          }
          assert.equal(m.currentCpu, current);
          assert.equal(a.readCurrent(), model[current]);
        }
        assert.deepEqual(
          [...a].map(([, v]) => v),
          model,
        );
        for (let cpu = 0; cpu < count; cpu++) {
          assert.equal(a.readRemote(cpu), model[cpu]);
          assert.equal(b.readRemote(cpu), 100);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('withCurrent: the cell names the CPU, writes stick, and the result is returned', () => {
    const m = new Machine(3);
    const v = new PerCpu((cpu) => cpu, m);
    m.switchTo(2);
    const r = v.withCurrent((cell) => {
      assert.equal(cell.cpu, 2);
      assert.equal(cell.value, 2);
      cell.value = 42;
      assert.equal(cell.value, 42);
      assert.equal(v.readCurrent(), 42);
      return 'done';
    });
    assert.equal(r, 'done');
    assert.equal(v.readCurrent(), 42);
    assert.equal(v.readRemote(2), 42);
    assert.equal(v.readRemote(0), 0);
    assert.equal(v.readRemote(1), 1);
  });

  test('withCurrent pins the CPU: another CPU throws, the same CPU is fine', () => {
    const m = new Machine(3);
    const v = new PerCpu(0, m);
    m.switchTo(1);
    v.withCurrent((cell) => {
      assert.equal(m.isPinned, true);
      assert.throws(() => m.switchTo(2), isPerCpuError);
      assert.throws(() => m.switchTo(0), isPerCpuError);
      assert.equal(m.currentCpu, 1);
      m.switchTo(1);
      cell.value = 5;
      // Nested withCurrent on another variable of the same machine keeps the pin.
      const w = new PerCpu('x', m);
      w.withCurrent((inner) => {
        assert.equal(inner.cpu, 1);
        assert.throws(() => m.switchTo(2), isPerCpuError);
      });
      assert.equal(m.isPinned, true);
      assert.throws(() => m.switchTo(2), isPerCpuError);
    });
    assert.equal(m.isPinned, false);
    assert.equal(v.readRemote(1), 5);
    m.switchTo(2);
    assert.equal(m.currentCpu, 2);
  });

  test('withCurrent releases the pin after an exception, keeping writes made before it', () => {
    const m = new Machine(2);
    const v = new PerCpu(0, m);
    const boom = new RangeError('boom');
    assert.throws(
      () =>
        v.withCurrent((cell) => {
          cell.value = 9;
          throw boom;
        }),
      (e) => e === boom,
    );
    assert.equal(m.isPinned, false);
    assert.equal(v.readRemote(0), 9);
    m.switchTo(1);
    assert.equal(m.currentCpu, 1);
  });

  test('the cell stays bound to its CPU', () => {
    const m = new Machine(2);
    const v = new PerCpu(0, m);
    let saved: { value: number; readonly cpu: number } | undefined;
    v.withCurrent((cell) => {
      saved = cell;
    });
    m.switchTo(1);
    assert.ok(saved !== undefined);
    saved.value = 3;
    assert.equal(v.readRemote(0), 3);
    assert.equal(v.readRemote(1), 0);
  });

  test('readRemote/writeRemote', () => {
    const m = new Machine(4);
    const v = new PerCpu('init', m);
    v.writeRemote(3, 'three');
    v.writeRemote(0, 'zero');
    assert.equal(v.readRemote(3), 'three');
    assert.equal(v.readRemote(0), 'zero');
    assert.equal(v.readRemote(1), 'init');
    assert.equal(m.currentCpu, 0);
    assert.equal(v.readCurrent(), 'zero');
    for (const cpu of [-1, 4, 1.5, Number.NaN]) {
      assert.throws(() => v.readRemote(cpu), isPerCpuError, `readRemote(${cpu})`);
      assert.throws(() => v.writeRemote(cpu, 'x'), isPerCpuError, `writeRemote(${cpu})`);
    }
    assert.deepEqual(
      [...v].map(([, x]) => x),
      ['zero', 'init', 'init', 'three'],
    );
  });

  test('entries() and iteration are [cpu, value] in CPU order', () => {
    const m = new Machine(5);
    const v = new PerCpu((cpu) => `v${cpu}`, m);
    const expected: [number, string][] = [
      [0, 'v0'],
      [1, 'v1'],
      [2, 'v2'],
      [3, 'v3'],
      [4, 'v4'],
    ];
    assert.deepEqual([...v.entries()], expected);
    assert.deepEqual([...v], expected);
    const seen: number[] = [];
    for (const [cpu] of v) seen.push(cpu);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  test('setCpuCount grows: old copies kept, new CPUs get the init value or init(cpu)', () => {
    const m = new Machine(2);
    const byValue = new PerCpu(7, m);
    const calls: number[] = [];
    const byFn = new PerCpu((cpu) => {
      calls.push(cpu);
      return { cpu };
    }, m);
    byValue.writeRemote(1, 70);
    const kept = byFn.readRemote(1);
    calls.length = 0;

    m.setCpuCount(5);
    assert.equal(m.cpuCount, 5);
    assert.deepEqual(
      [...byValue].map(([, x]) => x),
      [7, 70, 7, 7, 7],
    );
    assert.deepEqual(calls, [2, 3, 4]);
    assert.equal(byFn.readRemote(1), kept);
    for (let cpu = 0; cpu < 5; cpu++) assert.equal(byFn.readRemote(cpu).cpu, cpu);
    m.switchTo(4);
    assert.equal(byValue.readCurrent(), 7);
  });

  test('setCpuCount shrinks: copies of remaining CPUs kept, removed CPUs gone, current CPU reset to 0 if removed', () => {
    const m = new Machine(4);
    const v = new PerCpu((cpu) => cpu * 10, m);
    v.writeRemote(1, 11);
    v.writeRemote(3, 333);
    m.switchTo(3);
    m.setCpuCount(2);
    assert.equal(m.cpuCount, 2);
    assert.equal(m.currentCpu, 0);
    assert.deepEqual(
      [...v],
      [
        [0, 0],
        [1, 11],
      ],
    );
    assert.throws(() => v.readRemote(2), isPerCpuError);
    assert.throws(() => m.switchTo(3), isPerCpuError);

    // Shrinking keeps a current CPU that still exists (grow first so that this is a real shrink).
    m.setCpuCount(3);
    m.switchTo(1);
    m.setCpuCount(2);
    assert.equal(m.currentCpu, 1);

    // Growing again re-initialises: the old copy of CPU 3 is not resurrected.
    v.writeRemote(0, 99);
    m.setCpuCount(4);
    assert.deepEqual(
      [...v].map(([, x]) => x),
      [99, 11, 20, 30],
    );
  });

  test('setCpuCount is refused while a CPU is pinned', () => {
    const m = new Machine(2);
    const v = new PerCpu(0, m);
    v.withCurrent(() => {
      assert.throws(() => m.setCpuCount(4), isPerCpuError);
    });
    assert.equal(m.cpuCount, 2);
    m.setCpuCount(4);
    assert.equal(m.cpuCount, 4);
  });

  test('PerCpuError is an Error with its own name', () => {
    const e = new PerCpuError('x');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'PerCpuError');
    assert.equal(e.message, 'x');
  });
});
