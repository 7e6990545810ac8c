/**
 * Property tests of the whole uptr API, on each page-table format.
 *
 * Random address spaces (areas with random USER / READ / WRITE flags, lazy
 * or eager, some pages written, sometimes forked so pages are shared
 * copy-on-write) and random pointers (edges of areas, holes, and wild values:
 * NaN, negatives, bigints ≥ 2^64) and lengths. After every call:
 * 1. no byte changed outside `[ptr, ptr + len)` or in an area whose flags do
 *    not allow the write (the other space of a fork never changes);
 * 2. every failure is a LinuxError (and no KernelPanic happened);
 * 3. a failed all-or-nothing call changed no byte; a partial copy changed
 *    only its first `len - notCopied` bytes, and that count is exactly the
 *    accessible prefix; successes happen exactly when the model says so.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  atomicCmpxchgU32,
  atomicFetchOpU32,
  atomicLoadU32,
  atomicSwapU32,
  c_char,
  clearUser,
  copyFromUser,
  copyStructFromUser,
  copyToUser,
  encodeToBytes,
  type Layout,
  readVal,
  strncpyFromUser,
  struct,
  UserConstPtr,
  UserPtr,
  u8,
  u16,
  u32,
  u64,
  writeVal,
} from 'axptr';
import { ADDR_END, toSafeIndex } from 'axptr/addr';
import { LinuxError } from 'axptr/errno';
import { trapStats } from 'axptr/kernel';
import type { AddrSpace } from 'axptr/mm';
import type { PteFormat } from 'axptr/paging';
import fc from 'fast-check';
import { emptyWorld, FORMATS, K4, pattern, R, RW, U, W, WILD_ADDRESSES, type World, X } from './helpers.js';

const BASE = 0x10_0000;
const SLOT_PAGES = 3;
const SLOTS = 8;
const SLOT = SLOT_PAGES * K4;
const REGION_END = BASE + SLOTS * SLOT;

const S3 = struct('s3', [
  ['a', u8],
  ['b', u32],
  ['c', u16],
] as const);

interface AreaSpec {
  slot: number;
  pages: number;
  flags: number;
  populate: boolean;
  writes: { page: number; seed: number }[];
}

interface SpaceSpec {
  areas: AreaSpec[];
  fork: 'none' | 'parent' | 'child';
}

const areaArb: fc.Arbitrary<AreaSpec | null> = fc.option(
  fc.record({
    slot: fc.constant(0),
    pages: fc.integer({ min: 1, max: SLOT_PAGES }),
    // At least one of READ / WRITE (a mapping with neither is not a mapping); USER or not.
    flags: fc.constantFrom(R, W, RW, U | R, U | W, U | R | W),
    populate: fc.boolean(),
    writes: fc.array(fc.record({ page: fc.integer({ min: 0, max: SLOT_PAGES - 1 }), seed: fc.nat() }), {
      maxLength: 2,
    }),
  }),
  { freq: 4 },
);

const spaceArb: fc.Arbitrary<SpaceSpec> = fc.record({
  areas: fc
    .array(areaArb, { minLength: SLOTS, maxLength: SLOTS })
    .map((list) => list.flatMap((a, slot) => (a === null ? [] : [{ ...a, slot }]))),
  fork: fc.constantFrom('none', 'none', 'parent', 'child'),
});

type Ptr = number | bigint;

const nearEdge = fc
  .tuple(fc.integer({ min: 0, max: SLOTS * SLOT_PAGES }), fc.integer({ min: -9, max: 9 }))
  .map(([page, d]) => BASE + page * K4 + d);
const ptrArb: fc.Arbitrary<Ptr> = fc.oneof(
  { weight: 5, arbitrary: nearEdge },
  { weight: 3, arbitrary: fc.integer({ min: BASE - K4, max: REGION_END + K4 }) },
  { weight: 1, arbitrary: nearEdge.map(BigInt) },
  { weight: 2, arbitrary: fc.constantFrom<Ptr>(...WILD_ADDRESSES, 0, 0n, 2 ** 53 - 1, 2 ** 53 - 4) },
);
const lenArb: fc.Arbitrary<number | bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 * K4 + 20 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 16 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<number | bigint>(2 ** 52, 2 ** 53 - 1, -1, Number.NaN, 2n ** 64n, 1.5),
  },
);

const LAYOUTS: readonly Layout<unknown>[] = [u8, u16, u32, u64, S3 as Layout<unknown>];
const sampleValue = (l: Layout<unknown>, seed: number): unknown =>
  l === u64
    ? BigInt(seed) * 0x1_0001n
    : l === (S3 as Layout<unknown>)
      ? { a: seed & 0xff, b: seed >>> 0, c: seed & 0xffff }
      : seed % 2 ** (8 * l.size);

type Op =
  | { t: 'get.write'; ptr: Ptr; layout: number; seed: number }
  | { t: 'get.read'; ptr: Ptr; layout: number }
  | { t: 'slice.write'; ptr: Ptr; len: number | bigint; seed: number }
  | { t: 'slice.read'; ptr: Ptr; len: number | bigint }
  | { t: 'str'; ptr: Ptr }
  | { t: 'nullterm'; ptr: Ptr; layout: number }
  | { t: 'copyTo'; ptr: Ptr; len: number | bigint; seed: number }
  | { t: 'copyFrom'; ptr: Ptr; len: number | bigint }
  | { t: 'clear'; ptr: Ptr; len: number | bigint }
  | { t: 'writeVal'; ptr: Ptr; layout: number; seed: number }
  | { t: 'readVal'; ptr: Ptr; layout: number }
  | { t: 'strncpy'; ptr: Ptr; len: number | bigint }
  | { t: 'atomic'; ptr: Ptr; kind: number; seed: number }
  | { t: 'struct'; ptr: Ptr; len: number | bigint };

const L = fc.integer({ min: 0, max: LAYOUTS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('get.write' as const), ptr: ptrArb, layout: L, seed: fc.nat() }),
  fc.record({ t: fc.constant('get.read' as const), ptr: ptrArb, layout: L }),
  fc.record({ t: fc.constant('slice.write' as const), ptr: ptrArb, len: lenArb, seed: fc.nat() }),
  fc.record({ t: fc.constant('slice.read' as const), ptr: ptrArb, len: lenArb }),
  fc.record({ t: fc.constant('str' as const), ptr: ptrArb }),
  fc.record({ t: fc.constant('nullterm' as const), ptr: ptrArb, layout: L }),
  fc.record({ t: fc.constant('copyTo' as const), ptr: ptrArb, len: lenArb, seed: fc.nat() }),
  fc.record({ t: fc.constant('copyFrom' as const), ptr: ptrArb, len: lenArb }),
  fc.record({ t: fc.constant('clear' as const), ptr: ptrArb, len: lenArb }),
  fc.record({ t: fc.constant('writeVal' as const), ptr: ptrArb, layout: L, seed: fc.nat() }),
  fc.record({ t: fc.constant('readVal' as const), ptr: ptrArb, layout: L }),
  fc.record({ t: fc.constant('strncpy' as const), ptr: ptrArb, len: lenArb }),
  fc.record({
    t: fc.constant('atomic' as const),
    ptr: ptrArb,
    kind: fc.integer({ min: 0, max: 7 }),
    seed: fc.nat(),
  }),
  fc.record({ t: fc.constant('struct' as const), ptr: ptrArb, len: lenArb }),
);

// ---- the model ------------------------------------------------------------

interface ModelArea {
  start: number;
  end: number;
  flags: number;
}

class Model {
  constructor(
    readonly areas: ModelArea[],
    readonly format: PteFormat,
  ) {}

  /**
   * The access Linux's copies get from an area: READ when it has READ or
   * WRITE (write implies read everywhere), or EXECUTE on a format that
   * cannot map execute-only (x86_64, AArch64); the rest as asked.
   */
  mapped(flags: number): number {
    const execReads = this.format.arch === 'x86_64' || this.format.arch === 'aarch64';
    const reads = (flags & (R | W)) !== 0 || (execReads && (flags & X) !== 0);
    const access = (flags & (R | W | X)) === 0 ? 0 : flags | (reads ? R : 0);
    return access | (flags & U);
  }

  /** Bytes from `start` (at most `len`) lying without a gap in areas with `flags` (as the copies see them with `mapped`). */
  prefix(start: number, len: number, flags: number, mapped = false): number {
    let at = start;
    const end = start + len;
    while (at < end) {
      const a = this.areas.find((x) => x.start <= at && at < x.end);
      if (a === undefined || ((mapped ? this.mapped(a.flags) : a.flags) & flags) !== flags) break;
      at = a.end;
    }
    return Math.min(at, end) - start;
  }

  /** axmm's check_region_access: every byte in such areas; an empty range needs its start in one. */
  covered(start: number, len: number, flags: number, mapped = false): boolean {
    if (len === 0) {
      const a = this.areas.find((x) => x.start <= start && start < x.end);
      return a !== undefined && ((mapped ? this.mapped(a.flags) : a.flags) & flags) === flags;
    }
    return this.prefix(start, len, flags, mapped) === len;
  }
}

function build(
  format: PteFormat,
  spec: SpaceSpec,
): { w: World; target: AddrSpace; other?: AddrSpace; model: Model } {
  const w = emptyWorld(format, 2048);
  const areas: ModelArea[] = [];
  for (const a of spec.areas) {
    const start = BASE + a.slot * SLOT;
    w.aspace.mapAlloc(start, a.pages * K4, a.flags, a.populate);
    for (const wr of a.writes) {
      if (wr.page < a.pages) w.aspace.write(start + wr.page * K4 + (wr.seed % 64), pattern(K4 / 2, wr.seed));
    }
    areas.push({ start, end: start + a.pages * K4, flags: a.flags });
  }
  const model = new Model(areas, format);
  if (spec.fork === 'none') return { w, target: w.aspace, model };
  const child = w.aspace.fork();
  return spec.fork === 'child'
    ? { w, target: child, other: w.aspace, model }
    : { w, target: w.aspace, other: child, model };
}

/** 1 for the bytes of `l`'s fields, 0 for padding (encoding writes fields only, so padding keeps the fill). */
function fieldMask<T>(l: Layout<T>, v: T): Uint8Array {
  const zeros = new Uint8Array(l.size);
  const ones = new Uint8Array(l.size).fill(0xff);
  l.encode(new DataView(zeros.buffer), 0, v);
  l.encode(new DataView(ones.buffer), 0, v);
  return zeros.map((z, i) => (z === ones[i] ? 1 : 0));
}

function snapshot(sp: AddrSpace, model: Model): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const a of model.areas) {
    const b = new Uint8Array(a.end - a.start);
    sp.read(a.start, b);
    m.set(a.start, b);
  }
  return m;
}

/** Addresses of every byte that differs. */
function changed(before: Map<number, Uint8Array>, after: Map<number, Uint8Array>): number[] {
  const out: number[] = [];
  for (const [start, b] of before) {
    const a = after.get(start)!;
    for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) out.push(start + i);
  }
  return out;
}

interface Outcome {
  /** null: success. */
  error: LinuxError | null;
  /** For partial copies: bytes NOT copied. */
  notCopied?: number;
  /** The range the call may write and the flags the bytes there need. */
  write?: { start: number; len: number; flags: number };
  /** All-or-nothing: a failure must change nothing. */
  atomic: boolean;
  /** The model's verdict for all-or-nothing calls: should it succeed? */
  expectOk?: boolean;
  /** Bytes expected at `write.start` after a success (or the prefix of a partial copy). */
  expectBytes?: Uint8Array;
  /** Bytes the call copied out of user memory, with the user address they came from. */
  /** Bytes the call handed back, from `start`; `mask[i] === 0` marks padding (not read back). */
  readBack?: { start: number; bytes: Uint8Array; mask?: Uint8Array };
}

function run(op: Op, sp: AddrSpace, model: Model): Outcome {
  const addr = toSafeIndex(op.ptr);
  const valid = addr !== undefined;
  const n = 'len' in op ? toSafeIndex(op.len) : undefined;
  const out: Outcome = { error: null, atomic: true };
  const rw = R | W;
  const userW = U | W;
  try {
    switch (op.t) {
      case 'get.write': {
        const l = LAYOUTS[op.layout];
        const v = sampleValue(l, op.seed);
        out.write = { start: addr ?? -1, len: l.size, flags: rw };
        out.expectOk =
          valid && addr % l.align === 0 && l.size <= ADDR_END - addr && model.covered(addr, l.size, rw);
        out.expectBytes = encodeToBytes(l, v);
        new UserPtr(op.ptr, l).get(sp).write(v);
        break;
      }
      case 'get.read': {
        const l = LAYOUTS[op.layout];
        out.expectOk = valid && addr % l.align === 0 && model.covered(addr, l.size, R);
        new UserConstPtr(op.ptr, l).get(sp).read();
        break;
      }
      case 'slice.write': {
        const len = n ?? 0;
        out.write = { start: addr ?? -1, len, flags: rw };
        out.expectOk = valid && n !== undefined && len <= ADDR_END - addr && model.covered(addr, len, rw);
        const data = pattern(Math.min(len, 3 * K4), op.seed);
        out.expectBytes = data;
        const s = new UserPtr(op.ptr, u8).getAsSlice(sp, op.len);
        s.writeBytes(data);
        break;
      }
      case 'slice.read': {
        out.expectOk = valid && n !== undefined && n <= ADDR_END - addr && model.covered(addr, n, R);
        const s = new UserConstPtr(op.ptr, u8).getAsSlice(sp, op.len);
        out.readBack = { start: addr!, bytes: s.readBytes() };
        break;
      }
      case 'str':
        new UserConstPtr(op.ptr, c_char).getAsStr(sp);
        break;
      case 'nullterm':
        new UserPtr(op.ptr, LAYOUTS[op.layout]).getAsNullTerminated(sp);
        break;
      case 'copyTo': {
        out.atomic = false;
        const len = Math.min(n ?? 0, 3 * K4);
        const data = pattern(len, op.seed);
        out.write = { start: addr ?? -1, len, flags: userW };
        out.expectBytes = data;
        out.notCopied = copyToUser(sp, op.ptr, data);
        assert.equal(
          out.notCopied,
          len - (valid && len <= ADDR_END - addr ? model.prefix(addr, len, userW, true) : 0),
        );
        break;
      }
      case 'copyFrom': {
        out.atomic = false;
        const len = Math.min(n ?? 0, 3 * K4);
        const dst = new Uint8Array(len).fill(0xa5);
        out.notCopied = copyFromUser(sp, dst, op.ptr);
        const ok = valid && len <= ADDR_END - addr ? model.prefix(addr, len, U | R, true) : 0;
        assert.equal(out.notCopied, len - ok);
        assert.ok(
          dst.subarray(ok).every((b) => b === 0),
          'uncopied tail zeroed',
        );
        if (ok > 0) out.readBack = { start: addr!, bytes: dst.subarray(0, ok) };
        break;
      }
      case 'clear': {
        out.atomic = false;
        const len = Math.min(n ?? 0, 3 * K4);
        out.write = { start: addr ?? -1, len, flags: userW };
        out.expectBytes = new Uint8Array(len);
        out.notCopied = clearUser(sp, op.ptr, n === undefined ? op.len : len);
        if (n !== undefined) {
          assert.equal(
            out.notCopied,
            len - (valid && len <= ADDR_END - addr ? model.prefix(addr, len, userW, true) : 0),
          );
        }
        break;
      }
      case 'writeVal': {
        const l = LAYOUTS[op.layout];
        const v = sampleValue(l, op.seed);
        out.write = { start: addr ?? -1, len: l.size, flags: userW };
        out.expectOk = valid && l.size <= ADDR_END - addr && model.covered(addr, l.size, userW, true);
        out.expectBytes = encodeToBytes(l, v);
        writeVal(sp, op.ptr, l, v);
        break;
      }
      case 'readVal': {
        const l = LAYOUTS[op.layout];
        out.expectOk = valid && l.size <= ADDR_END - addr && model.covered(addr, l.size, U | R, true);
        const v = readVal(sp, op.ptr, l);
        out.readBack = { start: addr!, bytes: encodeToBytes(l, v), mask: fieldMask(l, v) };
        break;
      }
      case 'strncpy': {
        const len = Math.min(n ?? 0, 3 * K4);
        const dst = new Uint8Array(len);
        const got = strncpyFromUser(sp, dst, op.ptr);
        assert.ok(got >= 0 && got <= len);
        if (got > 0) out.readBack = { start: addr!, bytes: dst.subarray(0, got) };
        break;
      }
      case 'atomic': {
        const rmw = op.kind !== 0;
        const flags = rmw ? U | R | W : U | R;
        out.write = { start: addr ?? -1, len: 4, flags };
        out.expectOk = valid && addr % 4 === 0 && model.covered(addr, 4, flags, true);
        const ops = ['set', 'add', 'or', 'andn', 'xor'] as const;
        if (op.kind === 0) atomicLoadU32(sp, op.ptr);
        else if (op.kind === 1) atomicSwapU32(sp, op.ptr, op.seed);
        else if (op.kind === 2) atomicCmpxchgU32(sp, op.ptr, op.seed & 1, op.seed);
        else atomicFetchOpU32(sp, op.ptr, ops[op.kind - 3], op.seed);
        break;
      }
      case 'struct': {
        copyStructFromUser(sp, op.ptr, op.len, S3);
        break;
      }
    }
  } catch (e) {
    if (!(e instanceof LinuxError))
      throw new Error(`${op.t} threw a non-LinuxError: ${String(e)}`, { cause: e });
    out.error = e;
  }
  return out;
}

function check(
  op: Op,
  o: Outcome,
  before: Map<number, Uint8Array>,
  after: Map<number, Uint8Array>,
  model: Model,
) {
  const diff = changed(before, after);
  const ctx = `${op.t} at ${String(op.ptr)}${'len' in op ? ` len ${String(op.len)}` : ''}: ${o.error?.message ?? 'ok'}`;
  if (o.expectOk !== undefined) assert.equal(o.error === null, o.expectOk, `model disagrees: ${ctx}`);
  if (o.write === undefined || (o.atomic && o.error !== null)) {
    assert.deepEqual(diff, [], `nothing may change: ${ctx}`);
    return;
  }
  const { start, flags } = o.write;
  const len = o.atomic ? o.write.len : o.write.len - (o.notCopied ?? 0);
  for (const a of diff) {
    assert.ok(a >= start && a < start + len, `byte ${a.toString(16)} outside the written range: ${ctx}`);
    const area = model.areas.find((x) => x.start <= a && a < x.end)!;
    assert.equal(
      model.mapped(area.flags) & flags,
      flags,
      `byte ${a.toString(16)} in an area without ${flags}: ${ctx}`,
    );
  }
  if (o.expectBytes !== undefined && o.error === null && op.t !== 'atomic') {
    const n = Math.min(len, o.expectBytes.length);
    const got = after.get(model.areas.find((x) => x.start <= start && start < x.end)?.start ?? -1);
    if (n > 0 && got !== undefined) {
      // The written bytes may span areas; read them back from the snapshot map byte by byte.
      for (let i = 0; i < n; i++) {
        const a = start + i;
        const area = model.areas.find((x) => x.start <= a && a < x.end)!;
        assert.equal(after.get(area.start)![a - area.start], o.expectBytes[i], `byte ${i} of ${ctx}`);
      }
    }
  }
}

for (const format of FORMATS) {
  describe(`uptr properties on ${format.arch}`, () => {
    test('no access outside its pages; only LinuxErrors; failures change nothing; exact partial counts', () => {
      fc.assert(
        fc.property(spaceArb, fc.array(opArb, { minLength: 1, maxLength: 12 }), (spec, ops) => {
          const { w, target, other, model } = build(format, spec);
          const panics = trapStats(w.machine).panics;
          for (const op of ops) {
            const before = snapshot(target, model);
            const otherBefore = other === undefined ? undefined : snapshot(other, model);
            const o = run(op, target, model);
            const after = snapshot(target, model);
            check(op, o, before, after, model);
            if (o.readBack !== undefined) {
              const { start, bytes, mask } = o.readBack;
              for (let i = 0; i < bytes.length; i++) {
                if (mask !== undefined && mask[i] === 0) continue;
                const a = start + i;
                const area = model.areas.find((x) => x.start <= a && a < x.end)!;
                assert.equal(
                  bytes[i],
                  before.get(area.start)![a - area.start],
                  `${op.t}: byte ${i} read back`,
                );
              }
            }
            if (other !== undefined) {
              assert.deepEqual(
                changed(otherBefore!, snapshot(other, model)),
                [],
                `${op.t}: the other space changed`,
              );
            }
          }
          assert.equal(trapStats(w.machine).panics, panics, 'no KernelPanic from the uptr API');
          void w;
        }),
        { numRuns: 60 },
      );
    });
  });
}
