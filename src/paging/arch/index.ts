/**
 * The page-table-entry formats of every supported architecture
 * (page_table_entry's `arch` module).
 */
import type { PagingArch, PteFormat } from '../pte.js';
import { A64_FORMAT } from './aarch64.js';
import { LA64_FORMAT } from './loongarch64.js';
import { SV39_FORMAT, SV48_FORMAT } from './riscv.js';
import { X64_FORMAT } from './x86_64.js';

export { A64_FORMAT, MAIR_VALUE, MemAttr } from './aarch64.js';
export { LA64_FORMAT } from './loongarch64.js';
export { SV39_FORMAT, SV48_FORMAT } from './riscv.js';
export { X64_FORMAT } from './x86_64.js';

/** Every format by architecture name. */
export const PTE_FORMATS: Readonly<Record<PagingArch, PteFormat>> = Object.freeze({
  x86_64: X64_FORMAT,
  aarch64: A64_FORMAT,
  'riscv64-sv39': SV39_FORMAT,
  'riscv64-sv48': SV48_FORMAT,
  loongarch64: LA64_FORMAT,
});
