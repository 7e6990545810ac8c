/**
 * Fault injection: every allocation an operation makes is failed in turn
 * (FrameAllocator.failNthAllocation). The operation must fail with ENOMEM
 * (handlePageFault: answer false), leave every space as it was (areas,
 * bytes, resident pages), succeed when retried, and leak no frame.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno, LinuxError } from 'axptr/errno';
import type { AddrSpace } from 'axptr/mm';
import { MappingFlags, type PteFormat } from 'axptr/paging';
import { areasOf, bytesOf, FORMATS, K4, pattern, space, type World, world } from './helpers.js';

const { READ: R, WRITE: W, USER: U } = MappingFlags;
const URW = U | R | W;

/** A lazy area crossing a 2 MiB boundary (pages 2.. need a new leaf table). */
const A = 0x20_0000 - 2 * K4;
const A_PAGES = 6;
/** A lazy area alone in its 2 MiB region. */
const B = 0x3000_0000;

interface Ctx {
  w: World;
  sp: AddrSpace;
  /** Every space alive (the target first). */
  spaces: AddrSpace[];
}

/** A parent with some data, forked once: page 0 of A is shared copy-on-write. */
function setup(format: PteFormat): Ctx {
  const w = world(1024);
  const sp = space(w, format, 0x1_0000, 0x1_0000_0000 - 0x1_0000); // 4 GiB: room for a new 1 GiB region
  sp.mapAlloc(A, A_PAGES * K4, URW, false);
  sp.mapAlloc(B, 2 * K4, URW, false);
  sp.mapAlloc(0xc000_0000, K4, URW, false); // alone in its 1 GiB region: no table yet
  sp.mapAlloc(0x50_0000, 2 * K4, U | R, true);
  sp.write(A + 0x10, pattern(64, 1));
  sp.write(0x50_0000, pattern(2 * K4, 2));
  const child = sp.fork();
  child.write(0x50_1000, new Uint8Array([9, 9, 9]));
  return { w, sp, spaces: [sp, child] };
}

interface Snapshot {
  areas: unknown;
  bytes: Uint8Array[];
  resident: number;
  mapped: number;
  /** Page-table frames: a failed operation gives back the tables it made, too. */
  tables: number;
}

function snapshot(sp: AddrSpace): Snapshot {
  return {
    areas: areasOf(sp),
    bytes: [...sp.iterAreas()].map((a) => bytesOf(sp, a.start, a.end - a.start)),
    resident: sp.stats().residentPages,
    mapped: sp.stats().mappedBytes,
    tables: sp.stats().tableFrames,
  };
}

interface Scenario {
  name: string;
  /** Runs the operation; answers a space it created (to destroy) or the fault answer. */
  run(ctx: Ctx): AddrSpace | boolean | undefined;
  fault?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'eager mapAlloc in a new 1 GiB region (two new tables, then the frames)',
    run: ({ sp }) => void sp.mapAlloc(0x8000_0000, 2 * K4, URW, true),
  },
  {
    name: 'lazy fill in a new 1 GiB region (two new tables)',
    run: ({ sp }) => sp.handlePageFault(0xc000_0000, U | W),
    fault: true,
  },
  {
    name: 'eager mapAlloc across a 2 MiB boundary',
    run: ({ sp }) => void sp.mapAlloc(0x40_0000 - 2 * K4, 4 * K4, URW, true),
  },
  {
    name: 'mapLinear in a new 2 MiB region (tables)',
    run: ({ sp, w }) => void sp.mapLinear(0x60_0000, w.linearBase, 3 * K4, U | R),
  },
  {
    name: 'populateArea(READ) of a multi-page lazy range',
    run: ({ sp }) => void sp.populateArea(A, A_PAGES * K4, R),
  },
  {
    name: 'populateArea(WRITE) with a copy-on-write shared page',
    run: ({ sp }) => void sp.populateArea(A, A_PAGES * K4, W),
  },
  {
    name: 'populateArea(WRITE) on the child (shared and lazy pages)',
    run: ({ spaces }) => void spaces[1].populateArea(A, A_PAGES * K4, W),
  },
  {
    name: 'write() across lazy and shared pages',
    run: ({ sp }) => void sp.write(A + 0x800, pattern(5 * K4, 3)),
  },
  {
    name: 'write() to a read-only area shared with the child',
    run: ({ sp }) => void sp.write(0x50_0ff0, pattern(0x20, 4)),
  },
  {
    name: 'fork',
    run: ({ sp }) => sp.fork(),
  },
  {
    name: 'fork of the child',
    run: ({ spaces }) => spaces[1].fork(),
  },
  {
    name: 'handlePageFault: lazy fill needing a table',
    run: ({ sp }) => sp.handlePageFault(B + 0x123, U | W),
    fault: true,
  },
  {
    name: 'handlePageFault: copy-on-write copy',
    run: ({ sp }) => sp.handlePageFault(A + 0x10, U | W),
    fault: true,
  },
];

function destroyAll(ctx: Ctx, extra: AddrSpace | boolean | undefined): void {
  if (typeof extra === 'object') extra.destroy();
  for (const s of ctx.spaces) s.destroy();
  assert.equal(ctx.w.frames.usedFrames, 0, 'no frame leaked');
}

for (const format of FORMATS) {
  describe(`ENOMEM injection on ${format.arch}`, () => {
    for (const sc of SCENARIOS) {
      test(sc.name, () => {
        // A clean run: how many allocations the operation makes, and its result.
        const clean = setup(format);
        const calls0 = clean.w.frames.stats().allocCalls;
        const made = sc.run(clean);
        const count = clean.w.frames.stats().allocCalls - calls0;
        if (sc.fault) assert.equal(made, true);
        const after = clean.spaces.map(snapshot);
        const madeAfter = typeof made === 'object' ? snapshot(made) : undefined;
        destroyAll(clean, made);
        assert.ok(count > 0, 'the operation allocates');

        for (let i = 1; i <= count; i++) {
          const ctx = setup(format);
          const before = ctx.spaces.map(snapshot);
          const refused0 = ctx.sp.stats().faults.refused;
          const failed0 = ctx.w.frames.stats().failedCalls;
          ctx.w.frames.failNthAllocation(i);
          let result: AddrSpace | boolean | undefined;
          if (sc.fault) {
            result = sc.run(ctx);
            assert.equal(result, false, `allocation ${i}/${count}: the fault is refused`);
            assert.equal(ctx.sp.stats().faults.refused, refused0 + 1);
          } else {
            assert.throws(
              () => sc.run(ctx),
              (e: unknown) => e instanceof LinuxError && e.errno === Errno.ENOMEM,
              `allocation ${i}/${count}: ENOMEM`,
            );
          }
          assert.equal(ctx.w.frames.stats().failedCalls, failed0 + 1, 'the injected failure was hit');
          assert.deepEqual(ctx.spaces.map(snapshot), before, `allocation ${i}/${count}: nothing changed`);
          // Retrying now succeeds and gives what the clean run gave.
          const again = sc.run(ctx);
          if (sc.fault) assert.equal(again, true);
          assert.deepEqual(ctx.spaces.map(snapshot), after, `allocation ${i}/${count}: retry`);
          assert.deepEqual(typeof again === 'object' ? snapshot(again) : undefined, madeAfter);
          destroyAll(ctx, again);
        }
      });
    }

    test('fork failure keeps the parent usable: writes after it stay private', () => {
      const probe = setup(format);
      const c0 = probe.w.frames.stats().allocCalls;
      const ch = probe.sp.fork();
      const count = probe.w.frames.stats().allocCalls - c0;
      destroyAll(probe, ch);
      for (let i = 1; i <= count; i++) {
        const ctx = setup(format);
        ctx.w.frames.failNthAllocation(i);
        assert.throws(() => ctx.sp.fork(), LinuxError);
        const [sp, child] = ctx.spaces;
        const childBefore = snapshot(child);
        // User-style writes on the parent: faults then kernel writes.
        for (let p = 0; p < A_PAGES; p++) {
          assert.equal(sp.handlePageFault(A + p * K4, U | W), true);
          sp.write(A + p * K4, new Uint8Array([0xa0 + p]));
        }
        assert.deepEqual(snapshot(child), childBefore, 'the earlier child is not affected');
        for (let p = 0; p < A_PAGES; p++) assert.equal(bytesOf(sp, A + p * K4, 1)[0], 0xa0 + p);
        destroyAll(ctx, undefined);
      }
    });
  });
}
