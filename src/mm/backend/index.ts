export * from './anon.js';
export * from './file.js';
export * from './linear.js';
export * from './private.js';
export * from './shared.js';
export * from './shmem.js';
export * from './types.js';
