/**
 * axptr: safe access to user memory from kernel code.
 *
 * Typed user pointers (`UserPtr`, `UserConstPtr`) with axptr's API and
 * checks, the address-space providers, the per-CPU "accessing user memory"
 * flag that the page-fault handler consults, and the copy family of the best
 * kernels: partial-count copies, bounded strings and paths, argv arrays,
 * iovecs, atomics and extensible structs.
 */
export * from './access.js';
export * from './atomic.js';
export { checkRegion } from './check.js';
export * from './copy.js';
export * from './iovec.js';
export * from './layout.js';
export * from './provider.js';
export * from './ptr.js';
export * from './stats.js';
export * from './strings.js';
