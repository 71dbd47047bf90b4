/**
 * Runs the whole test suite with uvu (every test/**\/*.test.ts file) and ends with the line
 * `N passed, N failed` that CI reads. Extra args are passed to uvu as the file pattern (one process).
 * KILN_TUNING defaults to `off` here (see below); set it to run the suite with tuning.
 *
 * Without a pattern the suite runs in two uvu processes, one after the other: first every file that
 * does not open a WebGPU device, then those that do (`DEVICE_FILES`: the WGSL and webgpu backend tests,
 * and the notebooks, whose test asks for an adapter). A process that has opened a Dawn device keeps its
 * Vulkan driver (lavapipe's threads) for good, and in such a process the kernel's worker tests failed
 * (an interrupt escalated to a worker restart, and a child process was left unreaped) on a cold tsx
 * cache; keeping the device out of the first process keeps those tests independent of it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** Test files that open the WebGPU device in the test process. */
const DEVICE_FILES = '(webgpu|wgsl|notebooks)';
const given = process.argv[2];
// compiled backends use their lowerings' default schedules unless a test asks for tuning itself
// (test/runtime/tuning.test.ts does): measuring every GEMM/conv shape of the zoo would dominate the suite
const env = { ...process.env, KILN_TUNING: process.env.KILN_TUNING ?? 'off' };

/** One uvu process over `args`; resolves to its exit code and stdout. */
function uvu(args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', ...args], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { process.stdout.write(d); out += d.toString(); });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** uvu's "Total: N", "Passed: N", "Skipped: N" of one run (colour codes stripped; the last match wins). */
function counts(out: string): { total: number; passed: number; skipped: number } {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label: string) => Number([...plain.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].pop()?.[1] ?? 0);
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') };
}

const runs = given !== undefined ? [[given]] : [['\\.test\\.ts$', '-i', DEVICE_FILES], [`${DEVICE_FILES}.*\\.test\\.ts$`]];
let passed = 0, failed = 0, skipped = 0, ok = true;
for (const args of runs) {
  const { code, out } = await uvu(args);
  const c = counts(out);
  let f = c.total - c.passed; // uvu's Total counts the tests that ran (skipped ones apart)
  if (code !== 0 && f === 0) f = 1; // a crash outside any test still fails the run
  passed += c.passed; failed += f; skipped += c.skipped;
  ok &&= code === 0 && f === 0;
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok ? 0 : 1);
