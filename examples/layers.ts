/**
 * The bundled demo: every layer of axptr at work, as a kernel would use it.
 *
 *   npm run example            (all five page-table formats)
 *   npm run example -- x86_64  (one format)
 *
 * It builds a machine with two CPUs, a process address space with a lazily
 * allocated heap and a read-only text area, serves three "system calls"
 * through user pointers, forks the process copy-on-write, and finally shows
 * a kernel bug (touching user memory outside a user access) caught as a
 * panic instead of silently working.
 */
import {
  accessUserMemory,
  c_char,
  copyFromUser,
  copyToUser,
  importIovec,
  LockedAddrSpace,
  readUserPathString,
  UserConstPtr,
  UserPtr,
  u32,
} from 'axptr';
import { parseUserAddr } from 'axptr/addr';
import { isLinuxError, syscallReturn } from 'axptr/errno';
import { installPageFaultHandler, KernelPanic, trapStats } from 'axptr/kernel';
import { AddrSpace } from 'axptr/mm';
import {
  MappingFlags as F,
  flagsToString,
  Machine,
  type PagingArch,
  Privilege,
  PTE_FORMATS,
} from 'axptr/paging';

const TEXT = 0x1_0000;
const HEAP = 0x40_0000;
const STACK = 0x7f_0000;

function demo(arch: PagingArch): void {
  const format = PTE_FORMATS[arch];
  console.log(
    `\n=== ${arch}: ${format.levels}-level page table, ${format.vaMaxBits}-bit virtual addresses ===`,
  );
  // The machine: 32 MiB of RAM, its frame allocator, two CPUs each with an MMU; the kernel's
  // page-fault entry is its trap vector, and it is the machine running now (the boot).
  const machine = new Machine({ memSize: 32 << 20, cpus: 2 });
  installPageFaultHandler(machine);
  machine.makeCurrent();
  const frames = machine.frames;
  const before = frames.usedFrames;

  // A process: read-only text (eager), a lazy heap, a small stack; all USER.
  const aspace = new AddrSpace({ base: 0x1000, size: 0x4000_0000, format, machine });
  aspace.mapAlloc(TEXT, 0x2000, F.READ | F.EXECUTE | F.USER, true);
  aspace.mapAlloc(HEAP, 0x10_0000, F.READ | F.WRITE | F.USER, false);
  aspace.mapAlloc(STACK, 0x4000, F.READ | F.WRITE | F.USER, true);
  aspace.write(TEXT, new TextEncoder().encode('/etc/hostname\0'));
  aspace.write(TEXT + 14, Uint8Array.of(0x6e, 0x6f, 0xff, 0xfe, 0)); // "no" then bytes that are not UTF-8
  const proc = new LockedAddrSpace(aspace); // the fault handler takes this lock too
  for (const a of aspace.iterAreas()) {
    console.log(
      `  area [0x${a.start.toString(16)}, 0x${a.end.toString(16)}) ${flagsToString(a.flags)} (${a.backend.kind})`,
    );
  }

  // open(path): the path is read once, bounded by PATH_MAX.
  const path = readUserPathString(proc, TEXT);
  console.log(`  open("${path}") read the path through UserConstPtr-style checks`);

  // A bad register value never becomes a rounded address.
  for (const bad of [Number.NaN, -1, 2n ** 64n + 5n]) {
    const r = syscallReturn(() => {
      parseUserAddr(bad);
      return 0;
    });
    console.log(`  address ${String(bad)} -> ${r} (EFAULT = -14)`);
  }

  // write(fd, buf, n) through an iovec in the lazy heap: first touches fault pages in.
  const faultsBefore = trapStats(machine).kernelUserAccessFaults;
  const iov = new Uint8Array(32);
  const view = new DataView(iov.buffer);
  view.setBigUint64(0, BigInt(TEXT), true);
  view.setBigUint64(8, 14n, true);
  view.setBigUint64(16, BigInt(HEAP + 0x3000), true);
  view.setBigUint64(24, 100n, true);
  console.log(`  copyToUser(iovec array) left ${copyToUser(proc, HEAP, iov)} bytes uncopied`);
  const imported = importIovec(proc, HEAP, 2);
  console.log(
    `  importIovec: ${imported.segments.length} segments, ${imported.total} bytes; kernel-mode faults served: ${trapStats(machine).kernelUserAccessFaults - faultsBefore}`,
  );

  // A counter in the heap, read and written through UserPtr<u32>.
  const counter = new UserPtr(HEAP + 0x10, u32);
  const ref = counter.get(proc);
  ref.write(41);
  ref.write(ref.read() + 1);
  console.log(`  UserPtr<u32> at 0x${(HEAP + 0x10).toString(16)} = ${ref.read()}`);

  // Errors are the errno Linux gives.
  for (const [what, run] of [
    ['misaligned u32', () => new UserConstPtr(HEAP + 2, u32).get(proc)],
    ['write to read-only text', () => new UserPtr(TEXT, u32).get(proc)],
    ['invalid UTF-8', () => new UserConstPtr(TEXT + 14, c_char).getAsStr(proc)],
    ['hole', () => new UserConstPtr(0x20_0000, u32).get(proc)],
  ] as const) {
    try {
      run();
    } catch (e) {
      if (!isLinuxError(e)) throw e;
      console.log(`  ${what}: ${e.code} (${e.description})`);
    }
  }
  const buf = new Uint8Array(16);
  console.log(
    `  copyFromUser across the end of the stack: ${copyFromUser(proc, buf, STACK + 0x4000 - 6)} of 16 bytes not copied`,
  );

  // fork: the child shares frames copy-on-write.
  const used = frames.usedFrames;
  const child = aspace.fork();
  console.log(`  fork: ${frames.usedFrames - used} new frames (page tables only)`);
  new UserPtr(HEAP + 0x10, u32).get(child).write(7);
  console.log(
    `  after the child writes: parent sees ${new UserConstPtr(HEAP + 0x10, u32).get(proc).read()}, child sees ${new UserConstPtr(HEAP + 0x10, u32).get(child).read()}; child faults ${JSON.stringify(child.stats().faults)}`,
  );

  // A kernel bug: touching user memory without accessUserMemory (SMAP-like) panics.
  const mmu = machine.mmu;
  aspace.activate(mmu);
  try {
    mmu.read32(HEAP + 0x10, Privilege.Kernel);
    console.log('  BUG: a kernel access outside accessUserMemory went through');
  } catch (e) {
    if (!(e instanceof KernelPanic)) throw e;
    console.log(`  kernel touch outside accessUserMemory: KernelPanic (${e.message})`);
  }
  console.log(
    `  inside accessUserMemory the same load gives ${accessUserMemory(() => mmu.read32(HEAP + 0x10, Privilege.Kernel))}`,
  );

  // Migration between CPUs is blocked inside a user access.
  try {
    accessUserMemory(() => machine.switchTo(1));
  } catch (e) {
    console.log(`  switching CPU inside accessUserMemory: ${(e as Error).name}`);
  }

  child.destroy();
  aspace.destroy();
  console.log(`  destroyed: ${frames.usedFrames - before} frames still in use (0 = no leak)`);
}

const wanted = process.argv.slice(2) as PagingArch[];
for (const arch of wanted.length > 0 ? wanted : (Object.keys(PTE_FORMATS) as PagingArch[])) {
  if (!(arch in PTE_FORMATS)) {
    console.error(`unknown architecture ${arch}; one of ${Object.keys(PTE_FORMATS).join(', ')}`);
    process.exit(2);
  }
  demo(arch);
}
