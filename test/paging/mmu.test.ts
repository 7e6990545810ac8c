import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Access,
  FrameAllocator,
  MappingFlags,
  Mmu,
  PageFault,
  PageFaultError,
  PageTable64,
  PhysMemory,
  Privilege,
  PTE_FORMATS,
  type PteFormat,
} from 'axptr/paging';
import fc from 'fast-check';

const K4 = 0x1000;
const M2 = 0x20_0000;
const MiB = 0x10_0000;

const { READ, WRITE, EXECUTE, USER } = MappingFlags;
const U = Privilege.User;
const S = Privilege.Kernel;

function setup(format: PteFormat, tlbEntries?: number) {
  const mem = new PhysMemory(16 * MiB);
  const frames = new FrameAllocator(mem);
  const pt = new PageTable64(mem, frames, format);
  const mmu = new Mmu(mem, tlbEntries === undefined ? {} : { tlbEntries });
  mmu.setRoot(pt.root, format);
  /** Maps a fresh frame at `v` and answers it. */
  const mapPage = (v: number, flags: number): number => {
    const f = frames.alloc()!;
    pt.map(v, f, K4, flags);
    return f;
  };
  return { mem, frames, pt, mmu, mapPage };
}

/** Physical address of the leaf entry of 4K page `v` (walking the tables by hand). */
function leafEntryAddr(pt: PageTable64, mem: PhysMemory, v: number): number {
  const fmt = pt.format;
  let table = pt.root;
  const spans = [K4, M2, 0x4000_0000, 512 * 0x4000_0000];
  for (let d = fmt.levels - 1; d > 0; d--) {
    const at = table + (Math.floor(v / spans[d]) % 512) * 8;
    const e = mem.read64(at);
    table = fmt.paddr(Number(e & 0xffff_ffffn), Number(e >> 32n));
  }
  return table + (Math.floor(v / K4) % 512) * 8;
}

function faultOf(fn: () => unknown): PageFaultError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PageFaultError) return e;
    throw e;
  }
  assert.fail('expected a PageFaultError');
}

function expectFault(
  r: number | PageFault,
  vaddr: number,
  access: number,
  privilege: number,
  reason: string,
): void {
  assert.ok(r instanceof PageFault, `expected a fault, got ${String(r)}`);
  assert.equal(r.vaddr, vaddr);
  assert.equal(r.access, access);
  assert.equal(r.privilege, privilege);
  assert.equal(r.reason, reason);
}

for (const fmt of Object.values(PTE_FORMATS)) {
  describe(`Mmu (${fmt.arch})`, () => {
    test('translate of a mapped page answers its paddr', () => {
      const { mmu, mapPage } = setup(fmt);
      const f = mapPage(0x40_0000, READ | WRITE | USER);
      assert.equal(mmu.translate(0x40_0123, Access.Read, U), f + 0x123);
      assert.equal(mmu.translate(0x40_0fff, Access.Write, U), f + 0xfff);
      assert.equal(mmu.root, mmu.root);
      assert.equal(mmu.pteFormat, fmt);
    });

    test('translate through a 2M page', () => {
      const { mmu, pt, frames } = setup(fmt);
      const p = frames.allocContiguous(512, 512)!;
      pt.map(2 * M2, p, M2, READ | WRITE);
      assert.equal(mmu.translate(2 * M2 + 0x12_3456, Access.Read, S), p + 0x12_3456);
      mmu.write32(2 * M2 + 0x1f_fffc, 0xcafe_f00d, S);
      assert.equal(mmu.mem.read32(p + 0x1f_fffc), 0xcafe_f00d);
    });

    test('not-present faults', () => {
      const { mmu, mapPage } = setup(fmt);
      mapPage(0x40_0000, READ | WRITE | USER);
      expectFault(mmu.translate(0x40_1000, Access.Read, U), 0x40_1000, Access.Read, U, 'not-present');
      expectFault(mmu.translate(0x3f_ffff, Access.Write, S), 0x3f_ffff, Access.Write, S, 'not-present');
      expectFault(
        mmu.translate(0x7_0000_0000, Access.Execute, U),
        0x7_0000_0000,
        Access.Execute,
        U,
        'not-present',
      );
      const big = 2 ** (fmt.vaMaxBits - 1);
      for (const v of [big, -1, -K4, Number.NaN, 2 ** 60]) {
        assert.ok(mmu.translate(v, Access.Read, S) instanceof PageFault, `vaddr ${v}`);
      }
      const e = faultOf(() => mmu.read8(0x40_1000, U));
      assert.equal(e.fault.reason, 'not-present');
      assert.equal(e.fault.vaddr, 0x40_1000);
      assert.equal(e.done, 0);
      assert.match(e.message, /user read at 0x401000 \(not-present\)/);
    });

    test('permission faults', () => {
      const { mmu, mapPage } = setup(fmt);
      const kernelRW = 0x10_0000;
      const userRO = 0x20_0000;
      const userRX = 0x30_0000;
      const userRW = 0x40_0000;
      const kernelRX = 0x50_0000;
      mapPage(kernelRW, READ | WRITE);
      mapPage(userRO, READ | USER);
      mapPage(userRX, READ | EXECUTE | USER);
      mapPage(userRW, READ | WRITE | USER);
      mapPage(kernelRX, READ | EXECUTE);
      const perm = (v: number, a: number, p: number) =>
        expectFault(mmu.translate(v, a as Access, p as Privilege), v, a, p, 'permission');
      const ok = (v: number, a: number, p: number) =>
        assert.equal(
          typeof mmu.translate(v, a as Access, p as Privilege),
          'number',
          `${v.toString(16)} ${a} ${p}`,
        );
      // User access to a non-USER page.
      perm(kernelRW, Access.Read, U);
      perm(kernelRW, Access.Write, U);
      perm(kernelRX, Access.Execute, U);
      // Write to read-only.
      perm(userRO, Access.Write, U);
      perm(userRX, Access.Write, U);
      perm(kernelRX, Access.Write, S);
      // Execute of a non-EXECUTE page.
      perm(userRW, Access.Execute, U);
      perm(kernelRW, Access.Execute, S);
      // What is allowed.
      ok(kernelRW, Access.Read, S);
      ok(kernelRW, Access.Write, S);
      ok(kernelRX, Access.Execute, S);
      ok(userRO, Access.Read, U);
      ok(userRX, Access.Execute, U);
      ok(userRW, Access.Write, U);
      assert.equal(mmu.fetch32(userRX, U), 0);
      // Loads and stores raise the same faults.
      assert.equal(faultOf(() => mmu.write8(userRO, 1, U)).fault.reason, 'permission');
      assert.equal(faultOf(() => mmu.fetch16(userRW, U)).fault.reason, 'permission');
    });

    test('kernel access to a USER page needs userAccessAllowed; kernel execute never works', () => {
      const { mmu, mapPage } = setup(fmt);
      const v = 0x60_0000;
      const x = 0x61_0000;
      mapPage(v, READ | WRITE | USER);
      mapPage(x, READ | EXECUTE | USER);
      // Fill the TLB in user mode first: the cached entry must not leak to the kernel.
      mmu.write8(v, 7, U);
      assert.equal(mmu.read8(v, U), 7);
      assert.equal(mmu.userAccessAllowed, false);
      expectFault(mmu.translate(v, Access.Read, S), v, Access.Read, S, 'permission');
      expectFault(mmu.translate(v, Access.Write, S), v, Access.Write, S, 'permission');
      mmu.userAccessAllowed = true;
      assert.equal(mmu.read8(v, S), 7);
      mmu.write8(v, 9, S);
      assert.equal(mmu.read8(v, U), 9);
      expectFault(mmu.translate(x, Access.Execute, S), x, Access.Execute, S, 'permission');
      assert.equal(mmu.fetch16(x, U), 0);
      expectFault(mmu.translate(x, Access.Execute, S), x, Access.Execute, S, 'permission');
      // Turning it off again works without a flush, though the TLB has the entry.
      mmu.userAccessAllowed = false;
      expectFault(mmu.translate(v, Access.Read, S), v, Access.Read, S, 'permission');
      assert.equal(faultOf(() => mmu.write8(v, 1, S)).fault.reason, 'permission');
      assert.equal(mmu.read8(v, U), 9);
    });

    test('accessed / dirty bits: set in the leaf as the hardware does (AF only on AArch64, none on LoongArch)', () => {
      const { mmu, mapPage, pt, mem } = setup(fmt);
      const v = 0x70_0000;
      mapPage(v, READ | WRITE);
      const at = leafEntryAddr(pt, mem, v);
      const A = BigInt(fmt.accessedBit);
      const D = BigInt(fmt.dirtyBit);
      const entry = mem.read64(at);
      assert.equal(
        fmt.paddr(Number(entry & 0xffff_ffffn), Number(entry >> 32n)),
        pt.query(v).paddr,
        'found the leaf',
      );
      // Start from an entry with both bits clear.
      const clean = entry & ~(A | D);
      mem.write64(at, clean);
      mmu.flushAll();
      mmu.read8(v + 5, S);
      assert.equal(mem.read64(at), clean | A, 'a read sets only the accessed bit');
      mmu.write8(v + 5, 1, S);
      assert.equal(mem.read64(at), clean | A | D, 'a write sets the dirty bit');
      if (fmt.accessedBit === 0 && fmt.dirtyBit === 0)
        assert.equal(mem.read64(at), clean, 'the entry is left alone');
      else assert.notEqual(mem.read64(at), clean);
      // Also seen by walk.
      const seen: bigint[] = [];
      pt.walk(512, (e) => {
        if (e.isLeaf && e.vaddr === v) seen.push(e.entry);
      });
      assert.deepEqual(seen, [clean | A | D]);
    });

    test('TLB: the second access hits; access kinds are cached apart', () => {
      const { mmu, mapPage } = setup(fmt);
      mapPage(0x1000, READ | WRITE);
      mmu.resetStats();
      mmu.read32(0x1000, S);
      assert.deepEqual(mmu.stats(), { hits: 0, misses: 1, flushes: 0, faults: 0 });
      mmu.read32(0x1ff0, S);
      assert.deepEqual(mmu.stats(), { hits: 1, misses: 1, flushes: 0, faults: 0 });
      mmu.write8(0x1000, 1, S);
      assert.equal(mmu.stats().misses, 2);
      mmu.write8(0x1001, 1, S);
      assert.equal(mmu.stats().hits, 2);
      assert.ok(mmu.translate(0x2000, Access.Read, S) instanceof PageFault);
      assert.equal(mmu.stats().faults, 1);
      mmu.flushAll();
      mmu.read8(0x1000, S);
      assert.deepEqual(mmu.stats(), { hits: 2, misses: 4, flushes: 1, faults: 1 });
    });

    test('a stale TLB entry survives a change until flushPage / flushAll', () => {
      const { mmu, mapPage, pt } = setup(fmt);
      const v = 0x80_0000;
      const w = 0x80_1000;
      mapPage(v, READ | WRITE);
      mapPage(w, READ | WRITE);
      mmu.write8(v, 1, S);
      mmu.write8(w, 1, S);
      pt.protect(v, READ);
      pt.protect(w, READ);
      // Without a flush the stale entry still allows the write: why flushes matter.
      mmu.write8(v, 2, S);
      mmu.flushPage(v + 0x800);
      assert.equal(faultOf(() => mmu.write8(v, 3, S)).fault.reason, 'permission');
      assert.equal(mmu.read8(v, S), 2);
      // flushPage dropped only that page.
      mmu.write8(w, 2, S);
      mmu.flushAll();
      assert.equal(faultOf(() => mmu.write8(w, 3, S)).fault.reason, 'permission');
      // An unmapped page stays readable until flushed, too.
      mmu.read8(w, S);
      pt.unmap(w);
      assert.equal(mmu.read8(w, S), 2);
      mmu.flushRange(w, K4);
      assert.equal(faultOf(() => mmu.read8(w, S)).fault.reason, 'not-present');
      // setRoot / clearRoot flush.
      mmu.read8(v, S);
      mmu.clearRoot();
      assert.equal(mmu.root, -1);
      expectFault(mmu.translate(v, Access.Read, S), v, Access.Read, S, 'not-present');
      mmu.setRoot(pt.root, fmt);
      assert.equal(mmu.read8(v, S), 2);
    });

    test('an invalidated TLB slot does not answer for a negative address', () => {
      const { mmu, mapPage } = setup(fmt, 256);
      // vpn 255 uses the last slot; a negative vpn (-1) maps to the same slot.
      mapPage(255 * K4, READ | WRITE);
      mmu.write8(255 * K4, 0x42, S);
      for (const flush of [() => mmu.flushAll(), () => mmu.flushPage(255 * K4)]) {
        mmu.read8(255 * K4, S);
        flush();
        for (const v of [-K4, -K4 + 1, -1]) {
          assert.ok(mmu.translate(v, Access.Read, S) instanceof PageFault, `vaddr ${v}`);
          assert.ok(mmu.translate(v, Access.Write, S) instanceof PageFault, `vaddr ${v}`);
          assert.throws(() => mmu.read8(v, S), PageFaultError);
        }
      }
    });

    test('loads / stores of every size at every alignment, across a page boundary', () => {
      const { mmu, mapPage } = setup(fmt);
      const base = 0x90_0000;
      mapPage(base, READ | WRITE | USER);
      mapPage(base + K4, READ | WRITE | USER);
      const model = new Uint8Array(2 * K4);
      const dv = new DataView(model.buffer);
      const offsets: number[] = [];
      for (let o = 0; o < 16; o++) offsets.push(o, K4 - 16 + o, K4 + o);
      let seed = 1;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed;
      };
      for (const o of offsets) {
        const v = base + o;
        const b = rnd() & 0xff;
        mmu.write8(v, b, U);
        model[o] = b;
        assert.equal(mmu.read8(v, U), model[o]);
        if (o + 2 <= 2 * K4) {
          const h = rnd() & 0xffff;
          mmu.write16(v, h, U);
          dv.setUint16(o, h, true);
          assert.equal(mmu.read16(v, U), h);
        }
        if (o + 4 <= 2 * K4) {
          const x = rnd();
          mmu.write32(v, x, U);
          dv.setUint32(o, x, true);
          assert.equal(mmu.read32(v, U), x);
        }
        if (o + 8 <= 2 * K4) {
          const q = (BigInt(rnd()) << 32n) | BigInt(rnd());
          mmu.write64(v, q, U);
          dv.setBigUint64(o, q, true);
          assert.equal(mmu.read64(v, U), q);
        }
      }
      // Every width at every offset reads what the byte model says.
      for (const o of offsets) {
        const v = base + o;
        assert.equal(mmu.read8(v, U), model[o]);
        if (o + 2 <= 2 * K4) assert.equal(mmu.read16(v, U), dv.getUint16(o, true), `read16 @${o}`);
        if (o + 4 <= 2 * K4) assert.equal(mmu.read32(v, U), dv.getUint32(o, true), `read32 @${o}`);
        if (o + 8 <= 2 * K4) assert.equal(mmu.read64(v, U), dv.getBigUint64(o, true), `read64 @${o}`);
      }
      const all = new Uint8Array(2 * K4);
      mmu.readBytes(base, all, U);
      assert.deepEqual(all, model);
    });

    test('execute fetches across a page boundary', () => {
      const { mmu, mapPage, mem } = setup(fmt);
      const base = 0xa0_0000;
      const f0 = mapPage(base, READ | EXECUTE | USER);
      const f1 = mapPage(base + K4, READ | EXECUTE | USER);
      mem.writeBytes(f0 + K4 - 3, new Uint8Array([0x11, 0x22, 0x33]));
      mem.writeBytes(f1, new Uint8Array([0x44, 0x55]));
      assert.equal(mmu.fetch16(base + K4 - 1, U), 0x4433);
      assert.equal(mmu.fetch32(base + K4 - 2, U), 0x5544_3322);
      assert.equal(mmu.fetch32(base + K4 - 3, U), 0x4433_2211);
    });

    test('a store across into a faulting page changes nothing', () => {
      const { mmu, mapPage, mem } = setup(fmt);
      const base = 0xb0_0000;
      const f0 = mapPage(base, READ | WRITE);
      mapPage(base + K4, READ); // read-only second page
      for (const [size, store] of [
        [2, (v: number) => mmu.write16(v, 0xffff, S)],
        [4, (v: number) => mmu.write32(v, 0xffff_ffff, S)],
        [8, (v: number) => mmu.write64(v, 0xffff_ffff_ffff_ffffn, S)],
      ] as const) {
        for (let k = 1; k < size; k++) {
          const v = base + K4 - k;
          const e = faultOf(() => store(v));
          assert.equal(e.fault.reason, 'permission');
          assert.equal(e.fault.vaddr, base + K4);
          assert.ok(
            mem.readBytes(f0 + K4 - 8, 8).every((b) => b === 0),
            `write of ${size} at page end - ${k} wrote part of the value`,
          );
        }
      }
      // Same with a missing second page.
      const g = 0xc0_0000;
      const gf = mapPage(g, READ | WRITE);
      assert.equal(faultOf(() => mmu.write64(g + K4 - 4, -1n, S)).fault.reason, 'not-present');
      assert.ok(mem.readBytes(gf + K4 - 8, 8).every((b) => b === 0));
    });

    test('readBytes / writeBytes / fill across several pages', () => {
      const { mmu, mapPage } = setup(fmt);
      const base = 0xd0_0000;
      for (let i = 0; i < 4; i++) mapPage(base + i * K4, READ | WRITE | USER);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 4 * K4 }),
          fc.integer({ min: 0, max: 4 * K4 }),
          fc.integer({ min: 0, max: 255 }),
          fc.boolean(),
          (a, b, value, useFill) => {
            const start = Math.min(a, b);
            const len = Math.max(a, b) - start;
            const model = new Uint8Array(4 * K4);
            mmu.readBytes(base, model, U);
            if (useFill) {
              mmu.fill(base + start, len, value, U);
              model.fill(value, start, start + len);
            } else {
              const data = Uint8Array.from({ length: len }, (_, i) => (i * 7 + value) & 0xff);
              mmu.writeBytes(base + start, data, U);
              model.set(data, start);
            }
            const got = new Uint8Array(len);
            mmu.readBytes(base + start, got, U);
            assert.deepEqual(got, model.subarray(start, start + len));
            const whole = new Uint8Array(4 * K4);
            mmu.readBytes(base, whole, U);
            assert.deepEqual(whole, model);
          },
        ),
        { numRuns: 60 },
      );
    });

    test('a fault in the middle of a bulk copy reports the bytes done before the faulting page', () => {
      const { mmu, mapPage, mem } = setup(fmt);
      const base = 0xe0_0000;
      const f0 = mapPage(base, READ | WRITE | USER);
      const f1 = mapPage(base + K4, READ | WRITE | USER);
      mapPage(base + 3 * K4, READ | WRITE | USER); // hole at page 2
      mem.fill(f0, K4, 0x11);
      mem.fill(f1, K4, 0x22);
      const dst = new Uint8Array(3 * K4);
      const e = faultOf(() => mmu.readBytes(base + 100, dst, U));
      assert.equal(e.done, 2 * K4 - 100);
      assert.equal(e.fault.vaddr, base + 2 * K4);
      assert.equal(e.fault.access, Access.Read);
      assert.equal(e.fault.reason, 'not-present');
      assert.ok(dst.subarray(0, K4 - 100).every((b) => b === 0x11));
      assert.ok(dst.subarray(K4 - 100, 2 * K4 - 100).every((b) => b === 0x22));
      assert.ok(dst.subarray(2 * K4 - 100).every((b) => b === 0));
      const src = new Uint8Array(3 * K4).fill(0x77);
      const w = faultOf(() => mmu.writeBytes(base + K4 + 8, src, U));
      assert.equal(w.done, K4 - 8);
      assert.equal(w.fault.access, Access.Write);
      assert.ok(mem.readBytes(f1 + 8, K4 - 8).every((b) => b === 0x77));
      assert.equal(mem.read8(f1 + 7), 0x22);
      const fl = faultOf(() => mmu.fill(base, 3 * K4, 0, U));
      assert.equal(fl.done, 2 * K4);
      assert.equal(faultOf(() => mmu.readBytes(base + 2 * K4 + 5, new Uint8Array(1), U)).done, 0);
      // Ending exactly at the hole does not touch it.
      mmu.readBytes(base + K4, new Uint8Array(K4), U);
      // Permission faults count too.
      mmu.userAccessAllowed = false;
      const k = faultOf(() => mmu.readBytes(base, new Uint8Array(10), S));
      assert.equal(k.done, 0);
      assert.equal(k.fault.reason, 'permission');
    });

    test('trapHandler: a handler that maps the page makes the access succeed (lazy fill)', () => {
      const { mmu, pt, frames } = setup(fmt);
      const faults: PageFault[] = [];
      mmu.trapHandler = (fault, m) => {
        assert.equal(m, mmu);
        faults.push(fault);
        if (fault.reason !== 'not-present' || fault.vaddr < 0x100_0000 || fault.vaddr >= 0x200_0000)
          return false;
        const page = fault.vaddr - (fault.vaddr % K4);
        pt.map(page, frames.alloc()!, K4, READ | WRITE | USER);
        return true;
      };
      const v = 0x100_0ff0;
      assert.equal(mmu.read64(v, U), 0n);
      assert.equal(faults.length, 1);
      assert.equal(faults[0].vaddr, v);
      assert.equal(faults[0].access, Access.Read);
      assert.equal(faults[0].privilege, U);
      // A write spanning into the next, still missing page.
      mmu.write64(v + 12, 0x0102_0304_0506_0708n, U);
      assert.equal(faults.length, 2);
      assert.equal(faults[1].vaddr, 0x100_1000);
      assert.equal(mmu.read64(v + 12, U), 0x0102_0304_0506_0708n);
      // A bulk copy over 5 missing pages.
      const data = new Uint8Array(5 * K4).fill(0xab);
      mmu.writeBytes(0x150_0000, data, U);
      assert.equal(faults.length, 7);
      const back = new Uint8Array(5 * K4);
      mmu.readBytes(0x150_0000, back, U);
      assert.deepEqual(back, data);
      // Outside the lazy range: the handler says no.
      const e = faultOf(() => mmu.read8(0x300_0000, U));
      assert.equal(e.fault, faults[faults.length - 1]);
      assert.equal(e.fault.vaddr, 0x300_0000);
    });

    test('trapHandler: a handler returning false, or lying, gives PageFaultError', () => {
      const { mmu } = setup(fmt);
      let calls = 0;
      mmu.trapHandler = () => {
        calls++;
        return false;
      };
      assert.throws(() => mmu.write32(0x5000, 1, U), PageFaultError);
      assert.equal(calls, 1);
      calls = 0;
      mmu.trapHandler = () => {
        calls++;
        return true; // claims a fix but changes nothing
      };
      assert.throws(() => mmu.read8(0x5000, U), PageFaultError);
      assert.ok(calls >= 1 && calls <= 16, `${calls} handler calls`);
      mmu.trapHandler = null;
      assert.throws(() => mmu.read8(0x5000, U), PageFaultError);
    });

    test('indexOfByte', () => {
      const { mmu, mapPage, mem } = setup(fmt);
      const base = 0xf0_0000;
      const f0 = mapPage(base, READ | USER);
      const f1 = mapPage(base + K4, READ | USER);
      mem.fill(f0, K4, 0x61);
      mem.fill(f1, K4, 0x62);
      mem.write8(f1 + 10, 0);
      assert.equal(mmu.indexOfByte(base, 2 * K4, 0, U), K4 + 10);
      assert.equal(mmu.indexOfByte(base + K4 - 1, 100, 0, U), 11);
      assert.equal(mmu.indexOfByte(base, 2 * K4, 0x62, U), K4);
      assert.equal(mmu.indexOfByte(base, K4 + 10, 0, U), -1, 'max stops before the byte');
      assert.equal(mmu.indexOfByte(base, 0, 0x61, U), -1);
      assert.equal(mmu.indexOfByte(base + 5, 1, 0x61, U), 0);
      mem.write8(f1 + 10, 0x62);
      const e = faultOf(() => mmu.indexOfByte(base + 16, 3 * K4, 0, U));
      assert.equal(e.done, 2 * K4 - 16);
      assert.equal(e.fault.vaddr, base + 2 * K4);
    });

    test('the TLB size is validated', () => {
      const mem = new PhysMemory(K4);
      for (const n of [0, 3, 100, 1.5, 65536 * 2])
        assert.throws(() => new Mmu(mem, { tlbEntries: n }), RangeError);
      assert.equal(new Mmu(mem, { tlbEntries: 1 }).tlbEntries, 1);
      assert.equal(new Mmu(mem).tlbEntries, 256);
    });
  });
}
