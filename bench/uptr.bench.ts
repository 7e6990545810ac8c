import { c_char, copyFromUser, importIovec, readVal, strncpyFromUser, UserConstPtr, u32 } from 'axptr';
import { installPageFaultHandler } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { currentMmu, MappingFlags as F, FrameAllocator, PhysMemory, PTE_FORMATS } from 'axptr/paging';
import type { BenchGroup } from './harness.js';

const K4 = 0x1000;
const MiB = 1 << 20;

export function uptr(): BenchGroup {
  installPageFaultHandler();
  const mem = new PhysMemory(16 << 20);
  const frames = new FrameAllocator(mem);
  const aspace = new AddrSpace({
    base: 0x1000,
    size: 2 ** 38 - 0x1000,
    format: PTE_FORMATS['riscv64-sv39'],
    mem,
    frames,
  });
  const base = 0x10_0000;
  aspace.mapAlloc(base, 2 * MiB, F.READ | F.WRITE | F.USER, true);
  // User data: 1 MiB of bytes, a 4 KiB C string, a 16-entry iovec array.
  const data = new Uint8Array(MiB).map((_, i) => (i * 31) & 0xff);
  aspace.write(base, data);
  const strAddr = base + MiB;
  const str = new Uint8Array(4097).fill(0x61);
  str[4096] = 0;
  aspace.write(strAddr, str);
  const iovAddr = strAddr + 3 * K4;
  const iov = new Uint8Array(16 * 16);
  const iovView = new DataView(iov.buffer);
  for (let i = 0; i < 16; i++) {
    iovView.setBigUint64(i * 16, BigInt(base + i * K4), true);
    iovView.setBigUint64(i * 16 + 8, 512n, true);
  }
  aspace.write(iovAddr, iov);
  // This machine's memory is the CPU's: install its MMU and run the space on it, as a kernel would.
  aspace.activate(currentMmu(mem));

  const N = 1000;
  const rawView = new DataView(mem.buffer);
  const u32Addrs = Array.from({ length: N }, (_, i) => base + ((i * 4) % (64 * K4)));
  const rawOffs = u32Addrs.map((a) => aspace.pt.translate(a) - mem.base);
  const dst = new Uint8Array(MiB);
  const strBuf = new Uint8Array(4097);
  const rawStr = str.slice();

  const rawU32Reads = () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += rawView.getUint32(rawOffs[i], true);
    return s;
  };
  return {
    title: 'uptr (RISC-V Sv39)',
    cases: [
      {
        name: 'checked u32 read: readVal(u32)',
        baseline: 'raw DataView.getUint32',
        batch: N,
        base: rawU32Reads,
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += readVal(aspace, u32Addrs[i], u32);
          return s;
        },
      },
      {
        name: "checked u32 read: UserConstPtr.get().read() (the seed's path)",
        baseline: 'raw DataView.getUint32',
        batch: N,
        base: rawU32Reads,
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += new UserConstPtr(u32Addrs[i], u32).get(aspace).read();
          return s;
        },
      },
      {
        name: '1 MiB copyFromUser spanning 256 pages',
        baseline: 'raw 1 MiB Uint8Array.set',
        base: () => dst.set(data),
        run: () => copyFromUser(aspace, dst, base),
      },
      {
        name: '4 KiB C string: strncpyFromUser',
        baseline: 'raw indexOf(0) + copy of the bytes',
        base: () => {
          const n = rawStr.indexOf(0);
          strBuf.set(rawStr.subarray(0, n + 1));
          return n;
        },
        run: () => strncpyFromUser(aspace, strBuf, strAddr, 4097),
      },
      {
        name: '4 KiB C string: UserConstPtr<c_char>.getAsStr (UTF-8 decode)',
        baseline: 'raw indexOf(0) + TextDecoder.decode',
        base: () => new TextDecoder().decode(rawStr.subarray(0, rawStr.indexOf(0))),
        run: () => new UserConstPtr(strAddr, c_char).getAsStr(aspace),
      },
      {
        name: '16-entry iovec import',
        baseline: 'raw DataView parse of 16 iovecs',
        base: () => {
          const segs = [];
          let total = 0;
          for (let i = 0; i < 16; i++) {
            const len = Number(iovView.getBigInt64(i * 16 + 8, true));
            segs.push({ base: Number(iovView.getBigUint64(i * 16, true)), len });
            total += len;
          }
          return total + segs.length;
        },
        run: () => importIovec(aspace, iovAddr, 16).total,
      },
    ],
  };
}
