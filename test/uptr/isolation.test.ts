/**
 * Regressions from the review: device memory, cross-space access, bounded
 * argv arrays, zero-size layouts, and write-only pages in the page table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  copyFromUser,
  copyStructFromUser,
  copyToUser,
  readStringArray,
  readVal,
  struct,
  UserConstPtr,
  UserPtr,
  u8,
  u32,
  u64,
} from 'axptr';
import { Errno, LinuxError } from 'axptr/errno';
import { KernelPanic, trapStats } from 'axptr/kernel';
import { activeSpaceOf } from 'axptr/mm';
import { currentMachine, MappingFlags, PageFaultError, Privilege } from 'axptr/paging';
import { bytesOf, emptyWorld, FORMATS, K4, UR, URW, UW } from './helpers.js';

function errnoOf(fn: () => unknown): number | string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    if (e instanceof LinuxError) return e.errno;
    return (e as Error).name;
  }
}

for (const format of FORMATS) {
  describe(`isolation and limits (${format.arch})`, () => {
    test('a linear mapping of non-RAM memory is EFAULT / a full short count, never a JS error', () => {
      const w = emptyWorld(format);
      w.aspace.mapLinear(0x10_0000, w.mem.end, K4, URW);
      const buf = new Uint8Array(8).fill(9);
      assert.equal(copyFromUser(w.aspace, buf, 0x10_0000), 8);
      assert.deepEqual(buf, new Uint8Array(8));
      assert.equal(
        errnoOf(() => readVal(w.aspace, 0x10_0000, u32)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => new UserConstPtr(0x10_0000, u32).get(w.aspace).read()),
        Errno.EFAULT,
      );
      // The MMU reports it as a bus error, without asking the page-fault handler.
      const mmu = w.machine.mmu;
      w.aspace.activate(mmu);
      let trapped = 0;
      const saved = mmu.trapHandler;
      mmu.trapHandler = () => {
        trapped++;
        return false;
      };
      try {
        assert.throws(
          () => mmu.read8(0x10_0000, Privilege.User),
          (e) => e instanceof PageFaultError && e.fault.reason === 'bus-error',
        );
      } finally {
        mmu.trapHandler = saved;
      }
      assert.equal(trapped, 0);
      w.aspace.destroy();
    });

    test("an access to another space never switches the CPU's space nor flushes its TLB", () => {
      const p = emptyWorld(format);
      const q = { ...p, aspace: p.aspace.fork() }; // same machine, a second process
      p.aspace.mapAlloc(0x10_0000, K4, URW, true);
      p.aspace.mapAlloc(0x20_0000, 2 * K4, URW, false); // lazy: the access faults it in
      q.aspace.mapAlloc(0x10_0000, K4, URW, true);
      p.aspace.write(0x10_0000, Uint8Array.of(0x22));
      q.aspace.write(0x10_0000, Uint8Array.of(0x11));
      const mmu = p.machine.mmu;
      q.aspace.activate(mmu); // the CPU runs Q
      assert.equal(mmu.read8(0x10_0000, Privilege.User), 0x11);
      const flushes = mmu.stats().flushes;
      const buf = new Uint8Array(1);
      assert.equal(copyFromUser(p.aspace, buf, 0x10_0000), 0); // Q's syscall reads P's memory
      assert.equal(buf[0], 0x22);
      new UserPtr(0x10_0000, u8).get(p.aspace).write(0x23);
      const faults = trapStats(p.machine).kernelUserAccessFaults;
      assert.equal(copyToUser(p.aspace, 0x20_0000 + K4 - 2, Uint8Array.of(1, 2, 3, 4)), 0);
      assert.ok(
        trapStats(p.machine).kernelUserAccessFaults > faults,
        "P's lazy pages faulted in through the trap",
      );
      assert.deepEqual(bytesOf(p.aspace, 0x20_0000 + K4 - 2, 4), Uint8Array.of(1, 2, 3, 4));
      assert.equal(activeSpaceOf(mmu), q.aspace);
      assert.equal(mmu.stats().flushes, flushes, "no flush of the CPU's TLB");
      assert.equal(mmu.read8(0x10_0000, Privilege.User), 0x11, 'Q still sees its own page');
      assert.equal(bytesOf(p.aspace, 0x10_0000, 1)[0], 0x23);
      assert.equal(mmu.userAccessAllowed, false);
      q.aspace.destroy();
      p.aspace.destroy();
    });

    test('readStringArray keeps kernel memory bounded by the limits', () => {
      const w = emptyWorld(format, 2048);
      const pages = 256; // 1 MiB of non-zero "pointers": 131072 of them
      w.aspace.mapAlloc(0x100_0000, pages * K4, UR, true);
      w.aspace.write(0x100_0000, new Uint8Array(pages * K4).fill(1));
      w.aspace.write(0x100_0000 + pages * K4 - 8, new Uint8Array(8)); // the terminating NULL
      assert.equal(
        errnoOf(() => readStringArray(w.aspace, 0x100_0000, { maxTotal: 64 })),
        Errno.E2BIG,
      );
      // An array that runs into a hole before its NULL is EFAULT (counted before any string is read).
      w.aspace.write(0x100_0000 + pages * K4 - 8, new Uint8Array(8).fill(1));
      assert.equal(
        errnoOf(() => readStringArray(w.aspace, 0x100_0000)),
        Errno.EFAULT,
      );
      w.aspace.destroy();
    });

    test('a zero-size layout is a kernel bug (TypeError), not a crash deep inside', () => {
      const w = emptyWorld(format);
      w.aspace.mapAlloc(0x10_0000, K4, URW, true);
      const empty = struct('empty', []);
      assert.throws(() => new UserConstPtr(0x10_0000, empty).getAsNullTerminated(w.aspace), TypeError);
      w.aspace.destroy();
    });

    test("a write-only area is readable in the page table and to Linux's copies, not through the seed's UserConstPtr", () => {
      const w = emptyWorld(format);
      w.aspace.mapAlloc(0x10_0000, K4, UW, true);
      w.aspace.mapAlloc(0x20_0000, K4, UW, false); // lazy: a read fault must be served too
      const pte = w.aspace.pt.flagsOf(0x10_0000)!;
      assert.equal(pte & MappingFlags.READ, MappingFlags.READ);
      assert.equal(pte & MappingFlags.WRITE, MappingFlags.WRITE);
      w.aspace.write(0x10_0000, Uint8Array.of(1, 2, 3, 4));
      assert.equal(readVal(w.aspace, 0x10_0000, u32), 0x0403_0201);
      assert.equal(copyFromUser(w.aspace, new Uint8Array(8), 0x20_0000), 0);
      assert.equal(w.aspace.handlePageFault(0x20_0000, MappingFlags.USER | MappingFlags.READ), true);
      assert.equal(
        errnoOf(() => new UserConstPtr(0x10_0000, u32).get(w.aspace)),
        Errno.EFAULT,
        "axptr's check_region compares the area's own flags",
      );
      // After fork both sides keep the page readable (copy-on-write strips WRITE, not the implied READ).
      const child = w.aspace.fork();
      assert.equal(readVal(child, 0x10_0000, u32), 0x0403_0201);
      assert.equal(readVal(w.aspace, 0x10_0000, u32), 0x0403_0201);
      w.aspace.protect(0x10_0000, K4, UW); // mprotect of a page still shared keeps it readable too
      assert.equal(readVal(w.aspace, 0x10_0000, u32), 0x0403_0201);
      copyToUser(child, 0x10_0000, Uint8Array.of(9));
      assert.equal(readVal(w.aspace, 0x10_0000, u32), 0x0403_0201, 'the parent keeps its copy');
      child.destroy();
      w.aspace.destroy();
    });

    test(`an execute-only area follows the architecture: ${format.arch === 'x86_64' || format.arch === 'aarch64' ? 'readable' : 'not readable'} by the copies`, () => {
      const w = emptyWorld(format);
      w.aspace.mapAlloc(0x10_0000, K4, MappingFlags.USER | MappingFlags.EXECUTE, true);
      w.aspace.mapAlloc(0x20_0000, K4, MappingFlags.USER | MappingFlags.EXECUTE, false);
      const execReads = format.arch === 'x86_64' || format.arch === 'aarch64';
      // x86_64 reads every present page and AArch64 (as modelled) has no execute-only entry;
      // RISC-V and LoongArch map X without R, so a load faults and the fault is refused.
      assert.equal(copyFromUser(w.aspace, new Uint8Array(4), 0x10_0000), execReads ? 0 : 4);
      assert.equal(copyFromUser(w.aspace, new Uint8Array(4), 0x20_0000), execReads ? 0 : 4);
      assert.equal(
        errnoOf(() => readVal(w.aspace, 0x10_0000, u32)),
        execReads ? 'no error' : Errno.EFAULT,
      );
      assert.equal(copyToUser(w.aspace, 0x10_0000, new Uint8Array(4)), 4, 'never writable');
      w.aspace.destroy();
    });
  });
}

describe('second review regressions', () => {
  const format = FORMATS[2];

  test("an access to another machine's space leaves both machines' CPUs as they were, windows closed", () => {
    const q = emptyWorld(format);
    const p = emptyWorld(format);
    for (const w of [p, q]) w.aspace.mapAlloc(0x10_0000, K4, URW, true);
    const mmu = q.machine.mmu;
    q.aspace.activate(mmu);
    p.aspace.activate(p.machine.mmu);
    q.machine.makeCurrent();
    assert.equal(readVal(p.aspace, 0x10_0000, u8), 0);
    assert.equal(currentMachine(), q.machine, 'the running machine is restored');
    assert.equal(activeSpaceOf(mmu), q.aspace);
    for (const m of [q.machine.mmu, p.machine.mmu]) {
      assert.equal(m.userAccessAllowed, false);
      assert.throws(() => m.read8(0x10_0000, Privilege.Kernel), KernelPanic); // the SMAP-like guard holds
    }
    assert.equal(p.machine.cpu.accessingUserMem, false);
    p.aspace.destroy();
    q.aspace.destroy();
  });

  test("a provider that probes again around the callback cannot widen a typed read's check", () => {
    const w = emptyWorld(format);
    w.aspace.mapAlloc(0x10_0000, K4, URW, true);
    w.aspace.mapAlloc(0x30_0000, K4, MappingFlags.READ | MappingFlags.WRITE, true); // kernel-only
    const auditing = {
      withAddrSpace<R>(fn: (a: typeof w.aspace) => R): R {
        const r = fn(w.aspace);
        readVal(w.aspace, 0x10_0000, u32); // some bookkeeping read of its own
        return r;
      },
    };
    assert.equal(
      errnoOf(() => readVal(auditing, 0x30_0000, u32)),
      Errno.EFAULT,
    );
    w.aspace.destroy();
  });

  test('a reference kept past its space is EFAULT, and the CPU is not left on the dead space', () => {
    const w = emptyWorld(format);
    w.aspace.mapAlloc(0x10_0000, K4, URW, true);
    const ref = new UserConstPtr(0x10_0000, u32).get(w.aspace);
    w.aspace.destroy();
    assert.equal(
      errnoOf(() => ref.read()),
      Errno.EFAULT,
    );
    assert.notEqual(activeSpaceOf(w.machine.mmu), w.aspace);
  });
});

describe('the TLB shortcut of checkRegion', () => {
  for (const format of FORMATS) {
    test(`${format.arch}: a cached write entry never skips a copy-on-write break after fork`, () => {
      const w = emptyWorld(format);
      w.aspace.mapAlloc(0x10_0000, K4, URW, false);
      w.aspace.activate(w.machine.mmu);
      const p = new UserPtr(0x10_0000, u32);
      p.get(w.aspace).write(1); // fills the page and the CPU's write TLB entry
      p.get(w.aspace).write(2); // the shortcut: no populate
      const child = w.aspace.fork(); // write-protects the parent and flushes its TLB
      p.get(w.aspace).write(3);
      assert.equal(new UserConstPtr(0x10_0000, u32).get(child).read(), 2);
      assert.equal(new UserConstPtr(0x10_0000, u32).get(w.aspace).read(), 3);
      assert.equal(w.aspace.stats().faults.cowCopy + w.aspace.stats().faults.cowReuse, 1);
      child.destroy();
      w.aspace.destroy();
    });
  }
});

test('copyStructFromUser checks the unknown tail first, as Linux does (E2BIG before EFAULT)', () => {
  const w = emptyWorld(FORMATS[2]);
  w.aspace.mapAlloc(0x10_0000, K4, URW, true); // a hole lies before it
  w.aspace.write(0x10_0000, Uint8Array.of(1));
  // The known 8 bytes lie in the hole, the 8-byte tail in the area and it is not zero.
  assert.equal(
    errnoOf(() => copyStructFromUser(w.aspace, 0x10_0000 - 8, 16, u64)),
    Errno.E2BIG,
  );
  // With a zero tail, the unreadable known part is EFAULT.
  w.aspace.write(0x10_0000, Uint8Array.of(0));
  assert.equal(
    errnoOf(() => copyStructFromUser(w.aspace, 0x10_0000 - 8, 16, u64)),
    Errno.EFAULT,
  );
  // A zero-size user struct reads nothing: zeroes, whatever the address.
  assert.equal(copyStructFromUser(w.aspace, Number.NaN, 0, u64), 0n);
  w.aspace.destroy();
});

test('reading untouched user memory through the copy family takes no frame per page (zero page)', () => {
  const w = emptyWorld(FORMATS[0]);
  w.aspace.mapAlloc(0x100_0000, 64 * K4, URW, false);
  const used = w.frames.usedFrames;
  // A struct with a 60 KiB zero tail over lazy memory: E2BIG is not raised, and 15 pages are read.
  assert.equal(copyStructFromUser(w.aspace, 0x100_0000, 15 * K4, u64), 0n);
  const tables = w.aspace.stats().tableFrames - 1;
  assert.ok(
    w.frames.usedFrames - used <= tables + 1,
    `${w.frames.usedFrames - used} frames for 15 read pages`,
  );
  assert.equal(w.aspace.stats().faults.zeroPage, 15);
  w.aspace.destroy();
});
