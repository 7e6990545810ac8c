/**
 * The core property test: long random sequences of address-space operations
 * on up to three forked spaces, checked after every step against a reference
 * model that keeps, per space and page, the area flags (or "unmapped"), the
 * backend kind and the bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from 'axptr/errno';
import type { AddrSpace } from 'axptr/mm';
import { MappingFlags, type PteFormat } from 'axptr/paging';
import fc from 'fast-check';
import { errnoOf, FORMATS, K4, LINEAR_FRAMES, range, space, type World, world } from './helpers.js';

const { READ: R, WRITE: W, EXECUTE: X, USER: U } = MappingFlags;

/** The window of pages the operations touch; it straddles a 2 MiB boundary (two leaf tables). */
const NPAGES = 40;
const WBASE = 0x20_0000 - 16 * K4;
const va = (page: number) => WBASE + page * K4;

/** Area flags the operations use (USER-only is PROT_NONE; 0 is "no permission at all"). */
const AREA_FLAGS = [U | R, U | R | W, U | R | X, U | R | W | X, U, R | W, U | R | W, 0] as const;
/** Access flags the checks use. */
const CHECK_FLAGS = [R, W, X, U | R, U | W, U | X, U | R | W, 0] as const;

interface PageState {
  flags: number;
  kind: 'alloc' | 'linear';
  /** Linear: physical frame index below the allocator. */
  phys: number;
  /** Alloc: the page has a frame (lazy pages become resident when touched). */
  resident: boolean;
}

class SpaceModel {
  pages: (PageState | null)[] = new Array(NPAGES).fill(null);
  bytes = new Map<number, Uint8Array>();
  clone(): SpaceModel {
    const m = new SpaceModel();
    m.pages = this.pages.map((p) => (p === null ? null : { ...p }));
    for (const [k, v] of this.bytes) m.bytes.set(k, v.slice());
    return m;
  }
}

class Model {
  spaces: SpaceModel[] = [new SpaceModel()];
  phys = new Map<number, Uint8Array>();

  pageBytes(s: SpaceModel, page: number): Uint8Array {
    const p = s.pages[page]!;
    const store = p.kind === 'linear' ? this.phys : s.bytes;
    const key = p.kind === 'linear' ? p.phys : page;
    let b = store.get(key);
    if (b === undefined) {
      b = new Uint8Array(K4);
      store.set(key, b);
    }
    return b;
  }

  readPage(s: SpaceModel, page: number): Uint8Array {
    const p = s.pages[page]!;
    const b = p.kind === 'linear' ? this.phys.get(p.phys) : s.bytes.get(page);
    return b ?? new Uint8Array(K4);
  }
}

type Op =
  | { t: 'mapAlloc'; s: number; p: number; n: number; f: number; populate: boolean }
  | { t: 'mapLinear'; s: number; p: number; n: number; f: number; phys: number }
  | { t: 'unmap'; s: number; p: number; n: number }
  | { t: 'protect'; s: number; p: number; n: number; f: number }
  | { t: 'populate'; s: number; p: number; n: number; write: boolean }
  | { t: 'fault'; s: number; p: number; off: number; a: number }
  | { t: 'fork'; s: number }
  | { t: 'destroy'; s: number }
  | { t: 'write'; s: number; p: number; off: number; len: number; seed: number };

const sArb = fc.nat({ max: 5 });
const pArb = fc.nat({ max: NPAGES - 1 });
const nArb = fc.integer({ min: 1, max: 10 });
const fArb = fc.nat({ max: AREA_FLAGS.length - 1 });

const opArb = (linear: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('mapAlloc' as const),
        s: sArb,
        p: pArb,
        n: nArb,
        f: fArb,
        populate: fc.boolean(),
      }),
    },
    {
      weight: linear ? 1 : 0,
      arbitrary: fc.record({
        t: fc.constant('mapLinear' as const),
        s: sArb,
        p: pArb,
        n: fc.integer({ min: 1, max: 4 }),
        f: fArb,
        phys: fc.nat({ max: LINEAR_FRAMES - 4 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('unmap' as const), s: sArb, p: pArb, n: nArb }) },
    {
      weight: 3,
      arbitrary: fc.record({ t: fc.constant('protect' as const), s: sArb, p: pArb, n: nArb, f: fArb }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('populate' as const),
        s: sArb,
        p: pArb,
        n: nArb,
        write: fc.boolean(),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('fault' as const),
        s: sArb,
        p: pArb,
        off: fc.nat({ max: K4 - 1 }),
        a: fc.nat({ max: CHECK_FLAGS.length - 1 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('fork' as const), s: sArb }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('destroy' as const), s: sArb }) },
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('write' as const),
        s: sArb,
        p: pArb,
        off: fc.nat({ max: K4 - 1 }),
        len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 * K4 + 100 })),
        seed: fc.nat(),
      }),
    },
  );

function rng(seed: number): () => number {
  let x = (seed >>> 0) ^ 0x9e3779b9 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomBytes(len: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** The model's answer to handlePageFault: the access is allowed by the area. */
function allowed(p: PageState | null, access: number): boolean {
  return p !== null && (p.flags & access) === access;
}

function expectedRegion(s: SpaceModel, start: number, end: number, flags: number): boolean {
  const first = Math.floor((start - WBASE) / K4);
  const last = end > start ? Math.floor((end - 1 - WBASE) / K4) : first;
  for (let i = first; i <= last; i++) {
    if (i < 0 || i >= NPAGES) return false;
    const p = s.pages[i];
    if (p === null || (p.flags & flags) !== flags) return false;
  }
  return true;
}

function runSequence(format: PteFormat, ops: Op[], checkSeed: number): void {
  const w: World = world(1024);
  const start = w.frames.usedFrames;
  const model = new Model();
  const spaces: AddrSpace[] = [space(w, format)];
  const r = rng(checkSeed);
  const pick = (n: number) => Math.floor(r() * n);
  let step = 0;

  const check = (label: string) => {
    for (let si = 0; si < spaces.length; si++) {
      const sp = spaces[si];
      const m = model.spaces[si];
      const where = `${label} [space ${si}]`;
      // Area coverage and flags page by page, and residency.
      let resident = 0;
      for (let i = 0; i < NPAGES; i++) {
        const a = sp.findArea(va(i));
        const p = m.pages[i];
        if (p === null) assert.equal(a, undefined, `${where}: page ${i} should be unmapped`);
        else {
          assert.ok(a !== undefined, `${where}: page ${i} should be mapped`);
          assert.equal(a.flags, p.flags, `${where}: flags of page ${i}`);
          assert.equal(a.backend.kind, p.kind, `${where}: backend of page ${i}`);
          if (p.kind === 'linear' || p.resident) resident++;
        }
      }
      assert.equal(sp.stats().residentPages, resident, `${where}: resident pages`);
      // read() of a few random pages (and one random sub-range).
      for (let k = 0; k < 3; k++) {
        const i = pick(NPAGES);
        const p = m.pages[i];
        if (p === null) {
          assert.equal(
            errnoOf(() => sp.read(va(i), new Uint8Array(K4))),
            Errno.EFAULT,
            where,
          );
        } else {
          const got = new Uint8Array(K4);
          sp.read(va(i), got);
          assert.deepEqual(got, model.readPage(m, i), `${where}: bytes of page ${i}`);
        }
      }
      // checkRegionAccess over random ranges (empty ones too).
      for (let k = 0; k < 4; k++) {
        const s0 = WBASE - K4 + pick((NPAGES + 2) * K4);
        const len = k === 0 ? 0 : pick(4) === 0 ? pick(16) : pick(6 * K4);
        const f = CHECK_FLAGS[pick(CHECK_FLAGS.length)];
        assert.equal(
          sp.checkRegionAccess(range(s0, s0 + len), f),
          expectedRegion(m, s0, s0 + len, f),
          `${where}: checkRegionAccess(${s0.toString(16)}+${len}, ${f})`,
        );
      }
      // handlePageFault answers exactly what the area allows.
      const i = pick(NPAGES);
      const f = CHECK_FLAGS[1 + pick(CHECK_FLAGS.length - 2)];
      const want = allowed(m.pages[i], f);
      assert.equal(sp.handlePageFault(va(i) + pick(K4), f), want, `${where}: fault ${f} on page ${i}`);
      if (want) m.pages[i]!.resident = true;
    }
  };

  for (const op of ops) {
    step++;
    const si = op.s % spaces.length;
    const sp = spaces[si];
    const m = model.spaces[si];
    const label = `step ${step} ${JSON.stringify(op)} on space ${si}`;
    switch (op.t) {
      case 'mapAlloc':
      case 'mapLinear': {
        const n = Math.min(op.n, NPAGES - op.p);
        const f = AREA_FLAGS[op.f];
        const overlap = m.pages.slice(op.p, op.p + n).some((p) => p !== null);
        const run = () =>
          op.t === 'mapAlloc'
            ? sp.mapAlloc(va(op.p), n * K4, f, op.populate)
            : sp.mapLinear(va(op.p), w.linearBase + op.phys * K4, n * K4, f);
        if (overlap) {
          assert.equal(errnoOf(run), Errno.EEXIST, label);
          break;
        }
        run();
        for (let i = 0; i < n; i++) {
          const lin = op.t === 'mapLinear';
          m.pages[op.p + i] = {
            flags: f,
            kind: lin ? 'linear' : 'alloc',
            phys: lin ? op.phys + i : -1,
            resident: !lin && op.populate,
          };
          m.bytes.delete(op.p + i);
        }
        break;
      }
      case 'unmap': {
        const n = Math.min(op.n, NPAGES - op.p);
        sp.unmap(va(op.p), n * K4);
        for (let i = op.p; i < op.p + n; i++) {
          m.pages[i] = null;
          m.bytes.delete(i);
        }
        break;
      }
      case 'protect': {
        const n = Math.min(op.n, NPAGES - op.p);
        sp.protect(va(op.p), n * K4, AREA_FLAGS[op.f]);
        for (let i = op.p; i < op.p + n; i++) {
          const p = m.pages[i];
          if (p !== null) p.flags = AREA_FLAGS[op.f];
        }
        break;
      }
      case 'populate': {
        const n = Math.min(op.n, NPAGES - op.p);
        const access = op.write ? W : R;
        let want: number | undefined;
        for (let i = op.p; i < op.p + n && want === undefined; i++) {
          const p = m.pages[i];
          if (p === null) want = Errno.ENOMEM;
          else if ((p.flags & access) !== access) want = Errno.EFAULT;
        }
        assert.equal(
          errnoOf(() => sp.populateArea(va(op.p), n * K4, access)),
          want,
          label,
        );
        if (want === undefined) for (let i = op.p; i < op.p + n; i++) m.pages[i]!.resident = true;
        break;
      }
      case 'fault': {
        const a = CHECK_FLAGS[op.a];
        const want = a !== 0 && allowed(m.pages[op.p], a);
        if (a === 0) break;
        assert.equal(sp.handlePageFault(va(op.p) + op.off, a), want, label);
        if (want) m.pages[op.p]!.resident = true;
        break;
      }
      case 'fork': {
        if (spaces.length >= 3) break;
        spaces.push(sp.fork());
        model.spaces.push(m.clone());
        break;
      }
      case 'destroy': {
        if (spaces.length <= 1) break;
        sp.destroy();
        spaces.splice(si, 1);
        model.spaces.splice(si, 1);
        break;
      }
      case 'write': {
        const startAddr = va(op.p) + op.off;
        const len = Math.min(op.len, WBASE + NPAGES * K4 - startAddr);
        const data = randomBytes(len, op.seed);
        const first = op.p;
        const last = Math.floor((startAddr + len - 1 - WBASE) / K4);
        const hole = m.pages.slice(first, last + 1).some((p) => p === null);
        if (hole) {
          assert.equal(
            errnoOf(() => sp.write(startAddr, data)),
            Errno.EFAULT,
            label,
          );
          break;
        }
        sp.write(startAddr, data);
        for (let done = 0; done < len; ) {
          const v = startAddr + done;
          const i = Math.floor((v - WBASE) / K4);
          const inPage = v - va(i);
          const chunk = Math.min(len - done, K4 - inPage);
          model.pageBytes(m, i).set(data.subarray(done, done + chunk), inPage);
          if (m.pages[i]!.kind === 'alloc') m.pages[i]!.resident = true;
          done += chunk;
        }
        break;
      }
    }
    check(label);
  }
  for (const sp of spaces) sp.destroy();
  assert.equal(w.frames.usedFrames, start, 'every frame came back');
  const st = w.frames.stats();
  assert.equal(st.used, 0);
}

describe('AddrSpace against a reference model', () => {
  for (const format of FORMATS) {
    test(`random operation sequences on ${format.arch}`, () => {
      fc.assert(
        fc.property(fc.array(opArb(true), { minLength: 100, maxLength: 300 }), fc.nat(), (ops, seed) =>
          runSequence(format, ops, seed),
        ),
        { numRuns: 30, includeErrorInReport: true },
      );
    });
  }
});
