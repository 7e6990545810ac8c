/** Native oracles: find a C compiler, build one of fixtures/native/*.c, run it. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const NATIVE_DIR = new URL('../../fixtures/native/', import.meta.url).pathname;

/** `cc` or `gcc` from PATH, or undefined when neither runs. */
export function findCompiler(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d.length > 0);
  for (const name of ['cc', 'gcc']) {
    for (const dir of dirs) {
      try {
        execFileSync(join(dir, name), ['--version'], { stdio: 'ignore' });
        return join(dir, name);
      } catch {
        // not here (or not runnable); keep looking
      }
    }
  }
  return undefined;
}

/** Compiles fixtures/native/`source` with `compiler` in a temporary folder, runs it, answers its output. */
export function buildAndRun(compiler: string, source: string, optimise = '-O1'): string {
  const dir = mkdtempSync(join(tmpdir(), 'axptr-native-'));
  try {
    const exe = join(dir, source.replace(/\.c$/, ''));
    execFileSync(compiler, [optimise, '-o', exe, join(NATIVE_DIR, source)], { stdio: 'pipe' });
    return execFileSync(exe, { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
