/**
 * Regression tests for the bugs reproduced in issue 8, each on all five
 * page-table formats. Every test here failed on the code before its fix.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  accessUserMemory,
  array,
  atomicLoadU32,
  clearUser,
  copyFromUser,
  copyStructFromUser,
  copyToUser,
  readUserPathString,
  struct,
  UserConstPtr,
  u8,
  u32,
} from 'axptr';
import { Errno } from 'axptr/errno';
import { trapStats } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { FrameAllocator, Machine, MappingFlags, Mmu, PageSize, PhysMemory, Privilege } from 'axptr/paging';
import {
  emptyWorld,
  errnoOf,
  FORMATS,
  K4,
  makeWorld,
  RW_AREA,
  SPACE_END,
  U,
  UR,
  URW,
  X,
} from '../uptr/helpers.js';

for (const format of FORMATS) {
  describe(`issue 8 regressions on ${format.arch}`, () => {
    test('3: a leading UTF-8 BOM is kept by getAsStr and readUserPathString', () => {
      const { aspace } = makeWorld(format);
      const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x62, 0x00]);
      assert.equal(copyToUser(aspace, RW_AREA, bytes), 0);
      assert.equal(new UserConstPtr(RW_AREA, u8).getAsStr(aspace), '\u{FEFF}ab');
      assert.equal(readUserPathString(aspace, RW_AREA), '\u{FEFF}ab');
    });

    test('4: a copy running past the top of user space copies nothing (access_ok)', () => {
      const { aspace } = emptyWorld(format);
      aspace.mapAlloc(SPACE_END - 4 * K4, 4 * K4, URW, true);
      const start = SPACE_END - 0x2000;
      const src = new Uint8Array(0x2010).fill(0x5a);
      assert.equal(copyToUser(aspace, start, src), 0x2010);
      const back = new Uint8Array(0x2000);
      assert.equal(copyFromUser(aspace, back, start), 0, 'the in-range part is readable');
      assert.ok(
        back.every((b) => b === 0),
        'the refused copyToUser wrote nothing',
      );
      assert.equal(copyFromUser(aspace, new Uint8Array(0x2010), start), 0x2010);
      aspace.write(start, new Uint8Array(0x2000).fill(7));
      assert.equal(clearUser(aspace, start, 0x2010), 0x2010);
      assert.equal(copyFromUser(aspace, back, start), 0);
      assert.ok(
        back.every((b) => b === 7),
        'the refused clearUser cleared nothing',
      );
      // Ending exactly at the top is fine.
      assert.equal(copyToUser(aspace, start, src.subarray(0, 0x2000)), 0);
    });

    test('6: futex alignment is checked before the address (EINVAL first)', () => {
      const { aspace } = makeWorld(format);
      assert.equal(
        errnoOf(() => atomicLoadU32(aspace, 2n ** 64n - 1n)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => atomicLoadU32(aspace, 2 ** 53 + 2)),
        Errno.EINVAL,
      );
      assert.equal(
        errnoOf(() => atomicLoadU32(aspace, 2n ** 64n - 4n)),
        Errno.EFAULT,
      );
      assert.equal(
        errnoOf(() => atomicLoadU32(aspace, RW_AREA + 1)),
        Errno.EINVAL,
      );
      assert.equal(atomicLoadU32(aspace, RW_AREA), 0);
    });

    test('9: a TLB hit refuses a fractional address', () => {
      const { aspace, machine } = makeWorld(format);
      const mmu = machine.mmu;
      aspace.activate(mmu);
      const page = RW_AREA + K4;
      aspace.write(page, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      assert.equal(mmu.read8(page, Privilege.User), 1); // the page is now cached
      assert.throws(() => mmu.read8(page + 0.5, Privilege.User), { name: 'PageFaultError' });
      assert.throws(() => mmu.read32(page + 1.5, Privilege.User), { name: 'PageFaultError' });
      assert.equal(mmu.read32(page + 1, Privilege.User), 0x0504_0302);
    });

    test('10: a kernel fetch of a user page is one unfixed fault', () => {
      const { aspace, machine } = emptyWorld(format);
      aspace.mapAlloc(RW_AREA, K4, UR | X, true);
      const mmu = machine.mmu;
      aspace.activate(mmu);
      const before = trapStats(machine);
      const spurious = aspace.stats().faults.spurious;
      // Inside a user access the flag routes the fault to the handler, which cannot fix it.
      assert.throws(() => accessUserMemory(() => mmu.fetch32(RW_AREA, Privilege.Kernel)), {
        name: 'PageFaultError',
      });
      const after = trapStats(machine);
      assert.equal(after.fixed, before.fixed, 'nothing claimed fixed');
      assert.equal(after.unfixed, before.unfixed + 1, 'counted once, as unfixed');
      assert.equal(aspace.stats().faults.spurious, spurious);
      // Outside a user access the same fetch is a kernel bug.
      assert.throws(() => mmu.fetch32(RW_AREA, Privilege.Kernel), { name: 'KernelPanic' });
    });

    test('11: a zero-size element type refuses a user-chosen count before allocating', () => {
      const { aspace } = makeWorld(format);
      assert.throws(() => new UserConstPtr(RW_AREA, array(u8, 0)).getAsSlice(aspace, 2 ** 40), TypeError);
      assert.equal(new UserConstPtr(RW_AREA, u32).getAsSlice(aspace, 4).toArray().length, 4);
    });
  });
}

describe('issue 8 regression 12: RAM above 2 GiB', () => {
  for (const format of FORMATS) {
    test(`frames above base + 2 GiB read and write through the TLB on ${format.arch}`, () => {
      const mem = new PhysMemory(2 ** 31 + 64 * K4);
      // Hand out only frames above the 2 GiB mark (tables included).
      const frames = new FrameAllocator(mem, { start: mem.base + 2 ** 31 });
      const machine = new Machine({ mem, frames });
      const aspace = new AddrSpace({ base: 0x1_0000, size: 1 << 30, format, machine });
      aspace.mapAlloc(0x10_0000, 2 * K4, URW, true);
      const mmu = machine.mmu;
      aspace.activate(mmu);
      mmu.write32(0x10_0010, 0xdead_beef, Privilege.User);
      assert.equal(mmu.read32(0x10_0010, Privilege.User), 0xdead_beef);
      assert.equal(mmu.read32(0x10_0010, Privilege.User), 0xdead_beef, 'second read: a TLB hit');
      const t = mmu.translate(0x10_0010, 1, Privilege.User);
      assert.equal(typeof t, 'number');
      assert.ok((t as number) >= mem.base + 2 ** 31);
      assert.equal(readBack(aspace), 0xdead_beef);
      aspace.destroy();
    });
  }
});

function readBack(aspace: AddrSpace): number {
  const b = new Uint8Array(4);
  assert.equal(copyFromUser(aspace, b, 0x10_0010), 0);
  return new DataView(b.buffer).getUint32(0, true);
}

for (const format of FORMATS) {
  describe(`issue 8 regressions 5 and 8 on ${format.arch}`, () => {
    test('5: copyStructFromUser answers E2BIG when a non-zero tail byte comes before the fault', () => {
      const { aspace } = emptyWorld(format);
      aspace.mapAlloc(RW_AREA, K4, URW, true); // the page after it is a hole
      const known = struct('known', [['a', u32]]);
      const start = RW_AREA + K4 - 64;
      aspace.write(start + 8, new Uint8Array([1]));
      // The user struct is 8 KiB: its tail runs into the hole after a non-zero byte.
      assert.equal(
        errnoOf(() => copyStructFromUser(aspace, start, 0x2000, known)),
        Errno.E2BIG,
      );
      aspace.write(start + 8, new Uint8Array([0]));
      assert.equal(
        errnoOf(() => copyStructFromUser(aspace, start, 0x2000, known)),
        Errno.EFAULT,
      );
      assert.deepEqual(copyStructFromUser(aspace, start, 64, known), { a: 0 });
    });

    test('8: activate refuses an MMU over other physical memory', () => {
      const a = makeWorld(format);
      const b = makeWorld(format);
      const mmu = new Mmu(b.mem);
      assert.equal(
        errnoOf(() => a.aspace.activate(mmu)),
        Errno.EINVAL,
      );
      assert.equal(mmu.root, -1, 'nothing installed');
      b.aspace.activate(mmu);
      assert.equal(mmu.read32(RW_AREA, Privilege.User), 0);
    });
  });
}

const ACCESS_BITS = [
  ['read', 1],
  ['write', 2],
  ['execute', 4],
] as const;

for (const format of FORMATS) {
  describe(`issue 8 regressions 1 and 2 on ${format.arch}`, () => {
    test('1: a PROT_NONE page is never accessible, in any mode, and keeps its frame and data', () => {
      const { aspace, frames, machine } = emptyWorld(format);
      const empty = frames.usedFrames;
      aspace.mapAlloc(RW_AREA, K4, URW, true);
      aspace.write(RW_AREA, new Uint8Array([9, 8, 7, 6]));
      const used = frames.usedFrames;
      aspace.protect(RW_AREA, K4, U);
      const mmu = machine.mmu;
      aspace.activate(mmu);
      for (const priv of [Privilege.User, Privilege.Kernel]) {
        for (const [name, access] of ACCESS_BITS) {
          const t = accessUserMemory(() => mmu.translate(RW_AREA, access, priv));
          assert.equal(typeof t, 'object', `${name} in ${priv === Privilege.User ? 'user' : 'kernel'} mode`);
        }
      }
      assert.throws(() => mmu.read8(RW_AREA, Privilege.User), { name: 'PageFaultError' });
      assert.equal(frames.usedFrames, used, 'the frame is kept, not freed or leaked');
      aspace.protect(RW_AREA, K4, UR);
      assert.equal(mmu.read32(RW_AREA, Privilege.User), 0x0607_0809, 'the data survived');
      aspace.protect(RW_AREA, K4, MappingFlags.EMPTY);
      aspace.unmap(RW_AREA, K4);
      assert.equal(frames.usedFrames, empty, 'unmap frees the PROT_NONE frame and its tables');
    });

    test('1: page-table entries grant a subset of the request plus the READ that W and X imply', () => {
      const { aspace, machine } = emptyWorld(format);
      const mmu = machine.mmu;
      aspace.activate(mmu);
      let at = RW_AREA;
      for (let req = 0; req < 16; req++) {
        aspace.mapAlloc(at, K4, req, true);
        const granted = aspace.pt.flagsOf(at) ?? 0;
        const implied = req & (MappingFlags.WRITE | MappingFlags.EXECUTE) ? MappingFlags.READ : 0;
        assert.equal(granted & ~(req | implied), 0, `asked ${req}, PTE grants ${granted}`);
        for (const [name, access] of ACCESS_BITS) {
          const user = typeof mmu.translate(at, access, Privilege.User) === 'number';
          const allowed = (req & U) !== 0 && ((req | implied) & access) !== 0;
          if (user) assert.ok(allowed, `user ${name} of a page asked ${req}`);
        }
        at += 2 * K4;
      }
    });

    test('2: a reference taken before mprotect(PROT_NONE) faults at copy time', () => {
      const noneFlags =
        format.arch === 'x86_64' || format.arch === 'aarch64'
          ? [MappingFlags.EMPTY, U]
          : [MappingFlags.EMPTY];
      for (const none of noneFlags) {
        const { aspace } = makeWorld(format);
        aspace.write(RW_AREA, new Uint8Array([1, 2, 3, 4]));
        const ref = new UserConstPtr(RW_AREA, u32).get(aspace);
        const slice = new UserConstPtr(RW_AREA, u8).getAsSlice(aspace, 4);
        assert.equal(ref.read(), 0x0403_0201);
        aspace.protect(RW_AREA, K4, none);
        assert.equal(
          errnoOf(() => ref.read()),
          Errno.EFAULT,
        );
        assert.equal(
          errnoOf(() => slice.readBytes()),
          Errno.EFAULT,
        );
        assert.equal(
          errnoOf(() => new UserConstPtr(RW_AREA, u32).get(aspace)),
          Errno.EFAULT,
        );
      }
    });
  });
}

describe('PROT_NONE entries of every format', () => {
  for (const format of FORMATS) {
    test(`${format.arch}: not present to the hardware, keep the frame, decode huge as blocks`, () => {
      for (const paddr of [0x8000_0000, 0x1_2345_6000, 2 ** 40]) {
        for (const huge of [false, true]) {
          const e = format.newProtNone(paddr, huge);
          const lo = Number(e & 0xffff_ffffn);
          const hi = Number(e >> 32n);
          assert.equal(format.isPresent(lo, hi), false);
          assert.equal(format.isProtNone(lo, hi), true);
          assert.equal(format.paddr(lo, hi), paddr);
          assert.equal(format.flags(lo, hi), 0);
          if (huge) assert.equal(format.isHuge(lo, hi), true);
          // An ordinary present entry is never taken for PROT_NONE.
          const page = format.newPage(paddr, MappingFlags.READ | U, huge);
          assert.equal(format.isProtNone(Number(page & 0xffff_ffffn), Number(page >> 32n)), false);
          assert.equal(format.isProtNone(0, 0), false);
        }
      }
    });
  }
});

for (const format of FORMATS) {
  test(`7: a switch of address space made inside a user access stays (exec-like) on ${format.arch}`, () => {
    const old = makeWorld(format);
    const mmu = old.machine.mmu;
    old.aspace.activate(mmu);
    const fresh = new AddrSpace({ base: 0x1_0000, size: 1 << 30, format, machine: old.machine });
    fresh.mapAlloc(RW_AREA, K4, URW, false);
    accessUserMemory(() => {
      fresh.activate(mmu);
      assert.equal(copyToUser(fresh, RW_AREA, new Uint8Array([1, 2, 3])), 0);
    });
    assert.equal(fresh.isActiveOn(mmu), true, 'the CPU runs the new space');
    // A copy from another space (process_vm_readv-like) still leaves the CPU on its own space.
    assert.equal(copyFromUser(old.aspace, new Uint8Array(4), RW_AREA), 0);
    assert.equal(fresh.isActiveOn(mmu), true);
    fresh.destroy();
  });
}

for (const format of FORMATS) {
  test(`PageTable64.unmap changes nothing when it fails on ${format.arch}`, () => {
    const { mem, aspace } = emptyWorld(format);
    const pt = aspace.pt;
    const frame = mem.base + 0x40_0000;
    pt.map(RW_AREA, frame, PageSize.Size4K, MappingFlags.READ | U);
    // Find the leaf's word and replace it with a non-zero entry that is neither present nor PROT_NONE.
    const leaf = format.newPage(frame, MappingFlags.READ | U, false);
    const lo = Number(leaf & 0xffff_ffffn);
    const hi = Number(leaf >> 32n);
    let w = -1;
    for (let i = 0; i < mem.u32.length; i += 2) {
      if (mem.u32[i] === lo && mem.u32[i + 1] === hi) {
        w = i;
        break;
      }
    }
    assert.ok(w >= 0, 'leaf found');
    const stale = format.newPage(frame, MappingFlags.EMPTY, false);
    mem.u32[w] = Number(stale & 0xffff_ffffn);
    mem.u32[w + 1] = Number(stale >> 32n);
    assert.equal(format.isPresent(mem.u32[w], mem.u32[w + 1]), false);
    assert.ok(mem.u32[w] !== 0 || mem.u32[w + 1] !== 0, 'a non-zero entry');
    assert.throws(() => pt.unmap(RW_AREA), { name: 'PagingError' });
    assert.equal(mem.u32[w], Number(stale & 0xffff_ffffn), 'the entry is unchanged');
    assert.equal(mem.u32[w + 1], Number(stale >> 32n));
  });
}
