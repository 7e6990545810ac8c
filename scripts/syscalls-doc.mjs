// Writes docs/syscalls.md from the kernel's system-call table (dist/kernel, src/kernel/syscall/doc.ts).
// `npm run build` runs it; test/kernel/syscalls-doc.test.ts checks that the committed file is current.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { syscallsMarkdown } = await import('../dist/kernel/index.js');
writeFileSync(fileURLToPath(new URL('../docs/syscalls.md', import.meta.url)), syscallsMarkdown());
