/**
 * Memory management (the Rust crates axmm and memory_set): address spaces
 * made of sorted memory areas with linear, eagerly or lazily allocated and
 * copy-on-write backends, and the page-fault handling that fills them.
 */
export * from './areas.js';
export * from './aspace.js';
