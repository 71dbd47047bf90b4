/**
 * Runs the whole test suite with uvu (every test/**\/*.test.ts file, each in one process) and ends
 * with the line `N passed, N failed` that CI reads. Extra args are passed to uvu as the file pattern.
 * KILN_TUNING defaults to `off` here (see below); set it to run the suite with tuning.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const pattern = process.argv[2] ?? '\\.test\\.ts$';
// compiled backends use their lowerings' default schedules unless a test asks for tuning itself
// (test/runtime/tuning.test.ts does): measuring every GEMM/conv shape of the zoo would dominate the suite
const env = { ...process.env, KILN_TUNING: process.env.KILN_TUNING ?? 'off' };
const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', pattern], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env,
});
let out = '';
child.stdout.on('data', (d: Buffer) => { process.stdout.write(d); out += d.toString(); });
child.on('close', (code) => {
  // uvu prints "Total: N", "Passed: N", "Skipped: N"; strip colour codes first
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label: string) => Number(/* last match wins */ [...plain.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].pop()?.[1] ?? 0);
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped');
  let failed = total - passed - skipped;
  if (code !== 0 && failed === 0) failed = 1; // a crash outside any test still fails the run
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
