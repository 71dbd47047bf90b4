/**
 * Compiling generated C in tests: `cc -std=c11 -O2 -c -fopenmp -Wall -Werror` into a temporary
 * directory (the object is thrown away: loading and running it is the CPU backend's business). When
 * the machine has no C compiler `compileC` returns undefined and callers skip.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let available: boolean | undefined;

/** True when `cc` runs here. */
export function haveCC(): boolean {
  if (available === undefined) available = spawnSync('cc', ['--version'], { encoding: 'utf8' }).status === 0;
  return available;
}

/** The flags every test compiles with. */
export const CC_FLAGS = ['-std=c11', '-O2', '-c', '-fopenmp', '-Wall', '-Werror'];

/** Compiles C source; undefined without cc, else the compiler's exit status and diagnostics. */
export function compileC(source: string, name = 'kernel'): { ok: boolean; log: string } | undefined {
  if (!haveCC()) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cc-'));
  try {
    const file = path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.c`);
    fs.writeFileSync(file, source);
    const r = spawnSync('cc', [...CC_FLAGS, '-o', path.join(dir, 'out.o'), file], { encoding: 'utf8', timeout: 120_000 });
    return { ok: r.status === 0, log: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
