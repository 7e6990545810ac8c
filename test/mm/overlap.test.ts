import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from 'axptr/errno';
import { MappingFlags as F } from 'axptr/paging';
import { areasOf, bytesOf, errnoOf, FORMATS, K4, space, world } from './helpers.js';

const RW = F.READ | F.WRITE | F.USER;

for (const format of FORMATS) {
  describe(`map with unmapOverlap (${format.arch})`, () => {
    test('an overlap is EEXIST by default and replaces the old mapping when asked', () => {
      const w = world();
      const start = w.frames.usedFrames;
      const sp = space(w, format);
      sp.mapAlloc(0x10_0000, 4 * K4, RW, true);
      sp.write(0x10_0000, Uint8Array.of(1, 2, 3));
      assert.equal(
        errnoOf(() => sp.mapAlloc(0x10_1000, 2 * K4, F.READ, false)),
        Errno.EEXIST,
      );
      assert.equal(
        errnoOf(() => sp.mapLinear(0x10_1000, w.linearBase, 2 * K4, F.READ)),
        Errno.EEXIST,
      );
      assert.deepEqual(areasOf(sp), [[0x10_0000, 0x10_4000, RW, 'alloc']]);

      // Replace the middle two pages by a linear mapping: the old area splits around it.
      w.mem.fill(w.linearBase, 2 * K4, 0x5a);
      sp.mapLinear(0x10_1000, w.linearBase, 2 * K4, F.READ | F.USER, true);
      assert.deepEqual(areasOf(sp), [
        [0x10_0000, 0x10_1000, RW, 'alloc'],
        [0x10_1000, 0x10_3000, F.READ | F.USER, 'linear'],
        [0x10_3000, 0x10_4000, RW, 'alloc'],
      ]);
      assert.deepEqual(bytesOf(sp, 0x10_0000, 3), Uint8Array.of(1, 2, 3));
      assert.deepEqual(bytesOf(sp, 0x10_1000, 2), Uint8Array.of(0x5a, 0x5a));

      // And the same with a lazy area over all of it: the replaced frames go back.
      sp.mapAlloc(0x10_0000, 4 * K4, F.READ | F.USER, false, true);
      assert.deepEqual(areasOf(sp), [[0x10_0000, 0x10_4000, F.READ | F.USER, 'alloc']]);
      assert.deepEqual(bytesOf(sp, 0x10_0000, 3), new Uint8Array(3));
      sp.destroy();
      assert.equal(w.frames.usedFrames, start);
    });
  });
}
