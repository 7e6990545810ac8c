/**
 * Two machines in one process are independent: interleaved accesses,
 * faults and statistics of one never show in the other's RAM, frames, TLBs,
 * per-CPU flags, trap counters or running context.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  accessUserMemory,
  copyFromUser,
  copyToUser,
  isAccessingUserMemory,
  LockedAddrSpace,
  readVal,
  UserPtr,
  u32,
} from 'axptr';
import { KernelPanic, trapStats } from 'axptr/kernel';
import { currentMachine, Machine, Privilege } from 'axptr/paging';
import { runningCpuSet } from 'axptr/percpu';
import { emptyWorld, FORMATS, K4, URW, type World } from './helpers.js';

const LAZY = 0x20_0000;

function snapshot(w: World) {
  return {
    trap: trapStats(w.machine),
    tlb: w.machine.tlbStats(),
    frames: w.frames.stats(),
    faults: w.aspace.stats().faults,
    flags: w.machine.cpus.map((c) => c.accessingUserMem),
  };
}

for (const format of FORMATS) {
  describe(`two machines in one process (${format.arch})`, () => {
    test("interleaved accesses, faults and statistics: neither sees the other's state", () => {
      const a = emptyWorld(format);
      const b = emptyWorld(format);
      for (const w of [a, b]) {
        w.aspace.mapAlloc(LAZY, 8 * K4, URW, false);
        w.aspace.activate(w.machine.mmu);
      }
      const b0 = snapshot(b);
      // A's first touches fault in through A's trap vector; B is untouched.
      assert.equal(copyToUser(a.aspace, LAZY + K4 - 2, Uint8Array.of(1, 2, 3, 4)), 0);
      new UserPtr(LAZY + 4 * K4, u32).get(a.aspace).write(0xaaaa);
      assert.deepEqual(snapshot(b), b0, 'B saw nothing of A');
      const a1 = snapshot(a);
      assert.ok(a1.faults.lazyFill >= 3);
      // Now B works, with its own faults; A's counters stay.
      assert.equal(copyToUser(b.aspace, LAZY, Uint8Array.of(9)), 0);
      assert.equal(readVal(b.aspace, LAZY + 4 * K4, u32), 0, "B's memory is its own");
      assert.deepEqual(snapshot(a), a1, 'A saw nothing of B');
      assert.equal(readVal(a.aspace, LAZY + 4 * K4, u32), 0xaaaa);
      assert.notEqual(a.frames.usedFrames, 0);
      assert.notEqual(a.mem.buffer, b.mem.buffer);
    });

    test("one machine's user access opens nothing on the other: its kernel touch still panics", () => {
      const a = emptyWorld(format);
      const b = emptyWorld(format);
      for (const w of [a, b]) {
        w.aspace.mapAlloc(LAZY, K4, URW, true);
        w.aspace.activate(w.machine.mmu);
      }
      const panics = trapStats(b.machine).panics;
      accessUserMemory(() => {
        assert.equal(isAccessingUserMemory(a.machine), true);
        assert.equal(isAccessingUserMemory(b.machine), false);
        assert.equal(a.machine.mmu.read32(LAZY, Privilege.Kernel), 0, "A's window is open");
        assert.equal(b.machine.mmu.userAccessAllowed, false);
        assert.throws(() => b.machine.mmu.read32(LAZY, Privilege.Kernel), KernelPanic);
        // A copy from B inside A's access runs as B's access and leaves A's open.
        assert.equal(copyFromUser(b.aspace, new Uint8Array(4), LAZY), 0);
        assert.equal(isAccessingUserMemory(a.machine), true);
        assert.equal(currentMachine(), a.machine);
      }, a.machine);
      assert.equal(trapStats(b.machine).panics, panics + 1);
      assert.equal(trapStats(a.machine).panics, 0);
      assert.equal(isAccessingUserMemory(a.machine), false);
    });

    test('each machine has its own zero page, CPUs and lock owners', () => {
      const a = emptyWorld(format);
      const b = emptyWorld(format);
      for (const w of [a, b]) w.aspace.mapAlloc(LAZY, 2 * K4, URW, false);
      assert.equal(readVal(a.aspace, LAZY, u32), 0);
      assert.equal(readVal(b.aspace, LAZY, u32), 0);
      const za = a.aspace.pt.translate(LAZY);
      const zb = b.aspace.pt.translate(LAZY);
      assert.ok(a.frames.isZeroPage(za) && b.frames.isZeroPage(zb));
      a.aspace.unmap(LAZY, 2 * K4); // A's last zero-page mapping goes: A forgets its zero page, B keeps its own
      assert.equal(a.frames.isZeroPage(za), false);
      assert.equal(b.frames.isZeroPage(zb), true);
      b.machine.setCpuCount(2);
      assert.equal(a.machine.cpuCount, 1);
      const locked = new LockedAddrSpace(b.aspace);
      b.machine.runOn(1, () => {
        assert.equal(a.machine.currentCpu, 0, "B's CPU switch is not A's");
        assert.equal(
          locked.withAddrSpace(() => b.machine.currentCpu),
          1,
        );
      });
      b.machine.setCpuCount(1);
    });

    test('the running machine is restored after every access, also one that fails', () => {
      const a = emptyWorld(format);
      const b = emptyWorld(format);
      a.aspace.mapAlloc(LAZY, K4, URW, true);
      const before = runningCpuSet();
      assert.equal(before, b.machine, 'the last machine booted runs');
      assert.equal(readVal(a.aspace, LAZY, u32), 0);
      assert.equal(runningCpuSet(), before);
      assert.throws(() => readVal(a.aspace, LAZY + 2 * K4, u32), { name: 'LinuxError' });
      assert.equal(runningCpuSet(), before);
      assert.equal(isAccessingUserMemory(a.machine), false);
    });
  });
}

test('a machine refuses a frame allocator over other memory', () => {
  const a = new Machine({ memSize: 16 * K4 });
  assert.throws(() => new Machine({ memSize: 16 * K4, frames: a.frames }), { name: 'PhysMemoryError' });
});
