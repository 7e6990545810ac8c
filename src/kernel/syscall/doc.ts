/**
 * docs/syscalls.md, made from the table (like gVisor's compatibility
 * table): every riscv64 number with its name and whether it is
 * implemented, partial (with what is missing) or ENOSYS.
 */
import { RISCV64_SYSCALL_NAMES } from './names.js';
import { PARTIAL, SYSCALLS } from './table.js';

export function syscallsMarkdown(): string {
  const served = new Map(SYSCALLS.map((e) => [e.nr, e]));
  const numbers = [...new Set([...RISCV64_SYSCALL_NAMES.keys(), ...served.keys()])].sort((a, b) => a - b);
  let implemented = 0;
  let partial = 0;
  const rows = numbers.map((nr) => {
    const e = served.get(nr);
    const name = e?.name ?? RISCV64_SYSCALL_NAMES.get(nr) ?? `syscall_${nr}`;
    if (e === undefined) return `| ${nr} | ${name} | ENOSYS | |`;
    const note = PARTIAL[e.name];
    if (note !== undefined) partial++;
    else implemented++;
    return `| ${nr} | ${name} | ${note === undefined ? 'implemented' : 'partial'} | ${note ?? ''} |`;
  });
  return `# System calls

Generated from the kernel's table (\`src/kernel/syscall/table.ts\`, by
\`src/kernel/syscall/doc.ts\` when \`npm run build\` runs); do not edit by hand.
riscv64 numbers (asm-generic \`unistd.h\`). **${implemented + partial}** of ${numbers.length} are
served: ${implemented} implemented, ${partial} partial; the rest answer \`ENOSYS\` (and show in
\`--strace\` and \`--stats\`). Every pointer argument reaches user memory only
through the user-pointer layer, with the errno Linux gives.

| nr | name | status | notes |
|---:|------|--------|-------|
${rows.join('\n')}
`;
}
