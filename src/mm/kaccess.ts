/**
 * The kernel's own copies into and out of an address space (a loader
 * writing segments and the initial stack, `/proc/pid/mem`-style access):
 * area permissions are ignored, lazy pages read as what they would hold
 * (zero, the file's bytes) without being mapped, and a write fills lazy
 * pages and breaks copy-on-write sharing first. Unlike the user-pointer
 * layer, nothing here goes through an MMU: the page table is walked in
 * software, as Linux's `access_remote_vm` does.
 */
import { alignUp, hex, PAGE_SIZE_4K } from '../addr/index.js';
import { Errno, LinuxError } from '../errno/index.js';
import type { MemoryArea } from './areas.js';
import type { BackendHost } from './backend/index.js';

/** What the copies need of a space. */
export interface KernelAccessible extends BackendHost {
  findArea(vaddr: number): Readonly<MemoryArea> | undefined;
  canAccessRange(start: number, size: number, flags: number): boolean;
  populateForKernelWrite(start: number, size: number): void;
}

/**
 * Copies `[start, start + buf.length)` into `buf`. `EFAULT` when a byte lies
 * outside every area, in device memory, or in a page its object cannot give
 * (past the end of a file).
 */
export function kernelRead(space: KernelAccessible, start: number, buf: Uint8Array): void {
  checkCovered(space, start, buf.length);
  let done = 0;
  while (done < buf.length) {
    const v = start + done;
    const chunk = Math.min(buf.length - done, PAGE_SIZE_4K - (v % PAGE_SIZE_4K));
    const p = space.pt.translate(v);
    if (p < 0) {
      const area = space.findArea(v)!;
      if (!area.backend.peekAbsent(space, v, buf.subarray(done, done + chunk))) {
        throw new LinuxError(Errno.EFAULT, `page ${hex(v)} cannot be read`);
      }
    } else {
      const off = ramOffset(space, p, chunk);
      buf.set(space.mem.bytes.subarray(off, off + chunk), done);
    }
    done += chunk;
  }
}

/**
 * Copies `data` to `start`. Fills lazy pages and breaks copy-on-write
 * sharing first (`ENOMEM` then, with nothing written); `EFAULT` when a byte
 * lies outside every area or in device memory, with nothing written.
 */
export function kernelWrite(space: KernelAccessible, start: number, data: Uint8Array): void {
  checkCovered(space, start, data.length);
  if (data.length === 0) return;
  const first = start - (start % PAGE_SIZE_4K);
  const last = alignUp(start + data.length, PAGE_SIZE_4K);
  space.populateForKernelWrite(first, last - first);
  // Translate every chunk before copying, so a page outside RAM writes nothing.
  const offs: number[] = [];
  for (let done = 0; done < data.length; ) {
    const v = start + done;
    const chunk = Math.min(data.length - done, PAGE_SIZE_4K - (v % PAGE_SIZE_4K));
    offs.push(ramOffset(space, space.pt.translate(v), chunk));
    done += chunk;
  }
  let done = 0;
  for (const off of offs) {
    const chunk = Math.min(data.length - done, PAGE_SIZE_4K - ((start + done) % PAGE_SIZE_4K));
    space.mem.bytes.set(data.subarray(done, done + chunk), off);
    done += chunk;
  }
}

/** `EFAULT` unless every byte of `[start, start + len)` lies in some area. */
function checkCovered(space: KernelAccessible, start: number, len: number): void {
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(len) || len < 0) {
    throw new LinuxError(Errno.EFAULT, `bad range ${hex(start)}+${hex(len)}`);
  }
  if (!space.canAccessRange(start, len, 0) && len > 0) {
    throw new LinuxError(Errno.EFAULT, `range ${hex(start)}+${hex(len)} not mapped`);
  }
}

/**
 * Index into the memory views of physical `[p, p + len)`; `EFAULT` when it is
 * not RAM (a linear mapping of device memory, which is not modelled).
 */
function ramOffset(space: KernelAccessible, p: number, len: number): number {
  if (p < 0 || !space.mem.contains(p, len)) {
    throw new LinuxError(Errno.EFAULT, `physical ${hex(p)}+${len} is not RAM`);
  }
  return p - space.mem.base;
}
