import { readFileSync } from 'node:fs';
import { Kernel, MemoryHost } from 'axptr/kernel';
import { Machine } from 'axptr/paging';

const [file, tier, strace, maxI] = process.argv.slice(2);
const machine = new Machine({ memSize: 64 << 20 });
const used = machine.frames.usedFrames;
const host = new MemoryHost(new TextEncoder().encode('stdin-data\n'));
const hart =
  tier === 'jit' ? { compile: true, hotness: 1 } : tier === 'jit16' ? { compile: true } : { compile: false };
const kernel = new Kernel(machine, host, {
  hart,
  strace: strace === '1',
  maxInstructions: maxI ? Number(maxI) : undefined,
});
const proc = kernel.spawn(new Uint8Array(readFileSync(file)), { argv: ['prog'], envp: [], exe: '/bin/prog' });
let status: unknown;
try {
  status = kernel.run(proc);
} catch (e) {
  console.log('HOST EXCEPTION:', (e as Error)?.constructor?.name, (e as Error)?.message);
}
console.log('status', status, 'leaked', machine.frames.usedFrames - used);
console.log('stdout:', JSON.stringify(host.stdoutText));
console.log('stderr:', JSON.stringify(new TextDecoder().decode(Uint8Array.from(host.stderr))));
