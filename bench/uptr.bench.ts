import {
  c_char,
  copyFromUser,
  importIovec,
  readVal,
  strncpyFromUser,
  UserConstPtr,
  u32,
  writeVal,
} from 'axptr';
import { isLinuxError } from 'axptr/errno';
import { installPageFaultHandler } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import { MappingFlags as F, Machine, PTE_FORMATS } from 'axptr/paging';
import type { BenchGroup } from './harness.js';

const K4 = 0x1000;
const MiB = 1 << 20;

export function uptr(): BenchGroup {
  const machine = new Machine({ memSize: 16 << 20 });
  installPageFaultHandler(machine);
  machine.makeCurrent();
  const mem = machine.mem;
  const aspace = new AddrSpace({
    base: 0x1000,
    size: 2 ** 38 - 0x1000,
    format: PTE_FORMATS['riscv64-sv39'],
    machine,
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
  // The CPU runs the space, as a kernel would while serving its system calls.
  aspace.activate(machine.mmu);
  // A second process that the CPU does not run (process_vm_readv, ptrace, exec's new stack).
  const other = aspace.fork();
  const small = new Uint8Array(16);
  const buf64 = new Uint8Array(64);
  const raw64 = new Uint8Array(mem.buffer, aspace.pt.translate(base) - mem.base, 64);

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
  const checkedU32Reads = () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += readVal(aspace, u32Addrs[i], u32);
    return s;
  };
  /** Runs `fn` N times; each must fail with a LinuxError (counted, so nothing is optimised away). */
  const failing = (fn: (i: number) => unknown) => () => {
    let errors = 0;
    for (let i = 0; i < N; i++) {
      try {
        fn(i);
      } catch (e) {
        if (!isLinuxError(e)) throw e;
        errors++;
      }
    }
    if (errors !== N) throw new Error(`${N - errors} accesses did not fail`);
    return errors;
  };
  return {
    title: 'uptr (RISC-V Sv39)',
    cases: [
      {
        name: 'checked u32 read: readVal(u32)',
        baseline: 'raw DataView.getUint32',
        batch: N,
        base: rawU32Reads,
        run: checkedU32Reads,
      },
      {
        name: 'checked u32 write: writeVal(u32)',
        baseline: 'raw DataView.setUint32',
        batch: N,
        base: () => {
          for (let i = 0; i < N; i++) rawView.setUint32(rawOffs[i], i, true);
        },
        run: () => {
          for (let i = 0; i < N; i++) writeVal(aspace, u32Addrs[i], u32, i);
        },
      },
      {
        name: '64-byte copyFromUser',
        baseline: 'raw 64-byte Uint8Array.set',
        batch: N,
        base: () => {
          for (let i = 0; i < N; i++) buf64.set(raw64);
        },
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += copyFromUser(aspace, buf64, base);
          return s;
        },
      },
      {
        name: '16-byte copyFromUser from a space the CPU does not run',
        baseline: 'the same copy from the space it runs',
        batch: N,
        base: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += copyFromUser(aspace, small, base + 64);
          return s;
        },
        run: () => {
          let s = 0;
          for (let i = 0; i < N; i++) s += copyFromUser(other, small, base + 64);
          return s;
        },
      },
      {
        name: 'failing u32 read: readVal of a hole (EFAULT)',
        baseline: 'the same readVal succeeding',
        batch: N,
        base: checkedU32Reads,
        run: failing((i) => readVal(aspace, 0x8000_0000 + i * 4, u32)),
      },
      {
        name: 'failing seed read: UserConstPtr.get() misaligned (EFAULT)',
        baseline: 'the same readVal succeeding',
        batch: N,
        base: checkedU32Reads,
        run: failing((i) => new UserConstPtr(u32Addrs[i] + 2, u32).get(aspace)),
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
