import { installPageFaultHandler } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { MappingFlags as F, Machine, Privilege, PTE_FORMATS } from 'axptr/paging';
import type { BenchGroup } from './harness.js';

const K4 = 0x1000;
const MiB64 = 64 << 20;
const RW_USER = F.READ | F.WRITE | F.USER;

/** A space with `n` one-page lazy areas, one every other page from 0x1000_0000. */
function spaceWithAreas(n: number): AddrSpace {
  const machine = new Machine({ memSize: 4 << 20 });
  const aspace = new AddrSpace({ base: 0x1000, size: 2 ** 46, format: PTE_FORMATS.x86_64, machine });
  for (let i = 0; i < n; i++) aspace.mapAlloc(0x1000_0000 + i * 2 * K4, K4, RW_USER, false);
  return aspace;
}

function lookups(aspace: AddrSpace, n: number, batch: number): () => number {
  const addrs = Array.from({ length: batch }, (_, i) => 0x1000_0000 + ((i * 7919) % (2 * n)) * K4 + 8);
  return () => {
    let hits = 0;
    for (let i = 0; i < batch; i++) if (aspace.findArea(addrs[i]) !== undefined) hits++;
    return hits;
  };
}

function mapUnmap(aspace: AddrSpace, n: number, batch: number): () => void {
  // The holes between the areas: map a page into one, then unmap it again.
  const holes = Array.from({ length: batch }, (_, i) => 0x1000_0000 + (((i * 7919) % n) * 2 + 1) * K4);
  return () => {
    for (let i = 0; i < batch; i++) {
      aspace.mapAlloc(holes[i], K4, RW_USER, false);
      aspace.unmap(holes[i], K4);
    }
  };
}

export function mm(): BenchGroup {
  const B = 1000;
  const small = spaceWithAreas(1000);
  const large = spaceWithAreas(100_000);
  const sortedStarts = Array.from({ length: 1000 }, (_, i) => 0x1000_0000 + i * 2 * K4);
  const probe = Array.from({ length: B }, (_, i) => 0x1000_0000 + ((i * 7919) % 2000) * K4 + 8);
  const rawSearch = () => {
    let hits = 0;
    for (let i = 0; i < B; i++) {
      const a = probe[i];
      let lo = 0;
      let hi = sortedStarts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sortedStarts[mid] <= a) lo = mid + 1;
        else hi = mid;
      }
      if (lo > 0 && a < sortedStarts[lo - 1] + K4) hits++;
    }
    return hits;
  };

  // First touch of a 64 MiB lazy area, page by page, through the MMU and the kernel's fault handler.
  const machine = new Machine({ memSize: 192 << 20 });
  installPageFaultHandler(machine);
  const frames = machine.frames;
  const pages = MiB64 / K4;
  const firstTouch = () => {
    const aspace = new AddrSpace({
      base: 0x1000,
      size: 2 ** 40,
      format: PTE_FORMATS['riscv64-sv48'],
      machine,
    });
    aspace.mapAlloc(0x4000_0000, MiB64, RW_USER, false);
    const mmu = machine.mmu;
    aspace.activate(mmu);
    for (let v = 0x4000_0000; v < 0x4000_0000 + MiB64; v += K4) mmu.write8(v, 1, Privilege.User);
    aspace.destroy();
  };
  const bareFrames = () => {
    const got: number[] = new Array(pages);
    for (let i = 0; i < pages; i++) got[i] = frames.alloc()!;
    for (let i = 0; i < pages; i++) frames.dealloc(got[i]);
  };

  // Fork of a fully populated 64 MiB space (copy-on-write: no data copied).
  const parent = new AddrSpace({
    base: 0x1000,
    size: 2 ** 40,
    format: PTE_FORMATS['riscv64-sv48'],
    machine,
  });
  parent.mapAlloc(0x4000_0000, MiB64, RW_USER, true);
  const src = new Uint8Array(MiB64);
  const dst = new Uint8Array(MiB64);
  const fork = () => parent.fork().destroy();

  // Costs that follow resident pages: the same operations on a 1-page area and on an 8 GiB lazy
  // area, each with one resident page (the ratio should be close to 1).
  const GiB8 = 8 * 2 ** 30;
  const sparse = (areaSize: number) => {
    const sp = new AddrSpace({ base: 0x1000, size: 2 ** 40, format: PTE_FORMATS['riscv64-sv48'], machine });
    sp.mapAlloc(0x40_0000_0000, areaSize, RW_USER, false);
    sp.write(0x40_0000_0000, Uint8Array.of(1));
    return sp;
  };
  const onePage = sparse(K4);
  const eightGiB = sparse(GiB8);
  const protectTwice = (sp: AddrSpace, size: number) => () => {
    sp.protect(0x40_0000_0000, size, F.READ | F.USER);
    sp.protect(0x40_0000_0000, size, RW_USER);
  };
  const remapOnePage = (sp: AddrSpace, size: number) => () => {
    sp.unmap(0x40_0000_0000, size);
    sp.mapAlloc(0x40_0000_0000, size, RW_USER, false);
    sp.write(0x40_0000_0000, Uint8Array.of(1));
  };

  return {
    title: 'mm (address space)',
    cases: [
      {
        name: 'area lookup, 1,000 areas',
        baseline: 'raw binary search over 1,000 starts',
        batch: B,
        base: rawSearch,
        run: lookups(small, 1000, B),
      },
      {
        name: 'area lookup, 100,000 areas',
        baseline: 'area lookup, 1,000 areas (growth)',
        batch: B,
        base: lookups(small, 1000, B),
        run: lookups(large, 100_000, B),
      },
      {
        name: 'map+unmap 1-page area, 100,000 areas',
        baseline: 'map+unmap 1-page area, 1,000 areas (growth)',
        batch: B,
        base: mapUnmap(small, 1000, B),
        run: mapUnmap(large, 100_000, B),
      },
      {
        name: 'first touch of a 64 MiB lazy area, per page (fault + fill)',
        baseline: 'bare frame alloc + free, per frame',
        batch: pages,
        time: 1500,
        base: bareFrames,
        run: firstTouch,
      },
      {
        name: 'fork of a populated 64 MiB space (+ child destroy)',
        baseline: 'raw 64 MiB Uint8Array copy',
        time: 1500,
        base: () => dst.set(src),
        run: fork,
      },
      {
        name: 'fork of an 8 GiB lazy area with 1 resident page (+ child destroy)',
        baseline: 'the same on a 1-page area',
        base: () => onePage.fork().destroy(),
        run: () => eightGiB.fork().destroy(),
      },
      {
        name: 'mprotect twice of an 8 GiB lazy area with 1 resident page',
        baseline: 'the same on a 1-page area',
        base: protectTwice(onePage, K4),
        run: protectTwice(eightGiB, GiB8),
      },
      {
        name: 'munmap (+ map, touch) of an 8 GiB lazy area with 1 resident page',
        baseline: 'the same on a 1-page area',
        base: remapOnePage(onePage, K4),
        run: remapOnePage(eightGiB, GiB8),
      },
    ],
  };
}
