/**
 * The OS around axptr: the trap entry and its page-fault handler, the kernel
 * and its processes and system calls, the ELF loader, the page cache, and
 * the host interface.
 */
export * from './exec/elf.js';
export * from './exec/load.js';
export * from './fs/pagecache.js';
export * from './host.js';
export * from './kernel.js';
export * from './process.js';
export * from './syscall/doc.js';
export { DIRENT64, STAT, STATFS, STATX } from './syscall/fs.js';
export * from './syscall/names.js';
export { SYSINFO } from './syscall/sys.js';
export * from './syscall/table.js';
export { TIMESPEC } from './syscall/time.js';
export * from './trap.js';
