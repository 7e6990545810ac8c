/**
 * Paging (the Rust crates page_table_multiarch and page_table_entry):
 * simulated physical memory and its frame allocator, mapping flags, the
 * entry formats of x86_64, AArch64, RISC-V Sv39/Sv48 and LoongArch64, the
 * generic page table, the MMU with its software TLB, and the machine that
 * owns them (RAM, frames, CPUs each with its MMU, the trap vector).
 */
export * from './arch/index.js';
export * from './errors.js';
export * from './fault.js';
export * from './flags.js';
export * from './machine.js';
export * from './memory.js';
export * from './mmu.js';
export * from './pte.js';
export * from './table.js';
export * from './tlb.js';
