/**
 * The RISC-V 64 hart (user mode): registers as 32-bit halves, every access
 * through the paging layer's MMU, traps answered as values.
 */
export * from './compressed.js';
export * from './hart.js';
export * from './int64.js';
