/**
 * Memory management (the Rust crates axmm and memory_set): address spaces
 * made of sorted memory areas over mapping backends (linear, private
 * anonymous, private file, shared), and the page-fault handling that fills
 * them.
 */
export * from './areas.js';
export * from './aspace.js';
export * from './backend/index.js';
export * from './pteflags.js';
