/** The OS around axptr: the trap entry and its page-fault handler, the ELF loader, the page cache. */
export * from './exec/elf.js';
export * from './exec/load.js';
export * from './fs/pagecache.js';
export * from './trap.js';
