/** The shared zero page: read faults on untouched memory use no frame of their own. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MappingFlags } from 'axptr/paging';
import { bytesOf, FORMATS, K4, space, world } from './helpers.js';

const { READ: R, WRITE: W, USER: U } = MappingFlags;
const URW = U | R | W;

for (const format of FORMATS) {
  describe(`zero page (${format.arch})`, () => {
    test('read faults share one read-only zero frame; a write copies; all frames come back', () => {
      const w = world();
      const start = w.frames.usedFrames;
      const sp = space(w, format);
      const other = space(w, format);
      sp.mapAlloc(0x40_0000, 8 * K4, URW, false);
      other.mapAlloc(0x40_0000, 2 * K4, U | R, false);
      const afterMap = w.frames.usedFrames;
      for (let p = 0; p < 8; p++) assert.equal(sp.handlePageFault(0x40_0000 + p * K4 + 5, U | R), true);
      for (let p = 0; p < 2; p++) assert.equal(other.handlePageFault(0x40_0000 + p * K4, U | R), true);
      const tables = sp.stats().tableFrames + other.stats().tableFrames - 2;
      assert.equal(w.frames.usedFrames, afterMap + tables + 1, 'ten read faults, two spaces: one zero frame');
      const zero = sp.pt.translate(0x40_0000);
      for (let p = 1; p < 8; p++) assert.equal(sp.pt.translate(0x40_0000 + p * K4), zero);
      assert.equal(other.pt.translate(0x40_0000), zero);
      assert.equal((sp.pt.flagsOf(0x40_0000)! & W) === 0, true, 'mapped read-only');
      assert.equal(sp.stats().faults.zeroPage, 8);
      assert.equal(sp.stats().residentPages, 8);
      assert.deepEqual(bytesOf(sp, 0x40_0000, 16), new Uint8Array(16));

      // A user write copies (the zero page is shared, whatever its count); the others stay zero.
      assert.equal(sp.handlePageFault(0x40_3000, U | W), true);
      assert.equal(sp.stats().faults.cowCopy, 1);
      assert.notEqual(sp.pt.translate(0x40_3000), zero);
      // Kernel writes and protect never write into it either.
      sp.write(0x40_5000, Uint8Array.of(7));
      sp.protect(0x40_6000, K4, URW);
      assert.equal(sp.pt.translate(0x40_6000), zero);
      assert.equal((sp.pt.flagsOf(0x40_6000)! & W) === 0, true, 'still read-only after protect');
      assert.equal(w.mem.read8(zero), 0);
      assert.deepEqual(bytesOf(other, 0x40_0000, 8), new Uint8Array(8));
      assert.equal(bytesOf(sp, 0x40_5000, 1)[0], 7);

      // fork shares it; tearing everything down frees it.
      const child = sp.fork();
      assert.equal(child.pt.translate(0x40_0000), zero);
      child.destroy();
      sp.destroy();
      other.destroy();
      assert.equal(w.frames.usedFrames, start);
      // A later read fault gets a (new) zero page again.
      const again = space(w, format);
      again.mapAlloc(0x40_0000, K4, U | R, false);
      assert.equal(again.handlePageFault(0x40_0000, U | R), true);
      assert.deepEqual(bytesOf(again, 0x40_0000, 4), new Uint8Array(4));
      again.destroy();
      assert.equal(w.frames.usedFrames, start);
    });
  });
}
