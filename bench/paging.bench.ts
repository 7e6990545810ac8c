import {
  Access,
  MappingFlags as F,
  FrameAllocator,
  Mmu,
  PageSize,
  PageTable64,
  PhysMemory,
  Privilege,
  PTE_FORMATS,
} from 'axptr/paging';
import type { BenchGroup } from './harness.js';

export function paging(): BenchGroup {
  const N = 1000;
  const mem = new PhysMemory(8 << 20);
  const frames = new FrameAllocator(mem);
  const pt = new PageTable64(mem, frames, PTE_FORMATS.x86_64);
  // Two pages whose TLB slots collide in a 1-entry TLB, far apart so the walks differ at every level.
  const pageA = 0x7f12_3456_7000;
  const pageB = 0x0000_4000_0000;
  for (const v of [pageA, pageB]) pt.map(v, frames.alloc()!, PageSize.Size4K, F.READ | F.WRITE);
  const hitMmu = new Mmu(mem);
  hitMmu.setRoot(pt.root, pt.format);
  const missMmu = new Mmu(mem, { tlbEntries: 1 });
  missMmu.setRoot(pt.root, pt.format);
  const raw = new Uint32Array(mem.buffer);
  const idx = Array.from({ length: N }, (_, i) => (i * 4) & 1023);
  const addrs = idx.map((o) => pageA + o * 4);
  const rawReads = () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += raw[idx[i]];
    return s;
  };
  return {
    title: 'paging (x86_64 4-level)',
    cases: [
      {
        name: 'MMU translate, TLB hit',
        baseline: 'raw Uint32Array element read',
        batch: N,
        base: rawReads,
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++)
            s += hitMmu.translate(addrs[i], Access.Read, Privilege.Kernel) as number;
          return s;
        },
      },
      {
        name: 'MMU read32, TLB hit',
        baseline: 'raw Uint32Array element read',
        batch: N,
        base: rawReads,
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += hitMmu.read32(addrs[i], Privilege.Kernel);
          return s;
        },
      },
      {
        name: 'MMU translate, TLB miss (4-level walk)',
        baseline: 'raw Uint32Array element read',
        batch: N,
        base: rawReads,
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) {
            s += missMmu.translate((i & 1) === 0 ? pageA : pageB, Access.Read, Privilege.Kernel) as number;
          }
          return s;
        },
      },
    ],
  };
}
