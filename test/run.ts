/**
 * Runs the whole test suite with uvu (every test/**\/*.test.ts file) and ends with the line
 * `N passed, N failed[, N skipped]` that CI reads; the exit code is 0 only when every process passed.
 * Extra args are a file pattern (uvu's): the matching files run in one process.
 * KILN_TUNING defaults to `off` here (see below); set it to run the suite with tuning.
 *
 * Without a pattern the files run in several uvu processes at once (test/support/uvu-files.ts runs
 * one group of files as uvu's CLI would). Many tests spend their time waiting on child processes
 * (nvcc, the C compiler, python's Jupyter clients, tmux, the fuzz worker), so two or three processes
 * keep a 2-core machine busy where one leaves it idle.
 *  - The files that open a WebGPU device (`DEVICE_FILES`: the WGSL and webgpu backend tests, and the
 *    notebooks, whose test asks for an adapter) get a process of their own. A process that has opened
 *    a Dawn device keeps its Vulkan driver (lavapipe's threads) for good, and in such a process the
 *    kernel's worker tests failed (an interrupt escalated to a worker restart, and a child process was
 *    left unreaped) on a cold tsx cache; keeping the device out of the other processes keeps those
 *    tests independent of it.
 *  - The other files are dealt to `KILN_TEST_PROCESSES` processes (default 2): the heavy files
 *    (`HEAVY`, with their rough seconds) longest first, each to the process with least work so far,
 *    then the rest, counted at `LIGHT_SECONDS` each. The split is a pure function of the file list,
 *    so the same files always share a process.
 * The first process's output is shown as it comes (CI sees progress); each other process's output,
 * stdout and stderr, is held and shown whole when the shown one ends, in order, so their lines never
 * interleave. The totals line adds up every process's uvu counts.
 *
 * With KILN_TEST_TIMES=1 every file is timed (its import and its suites, in its process) and a table
 * of the files, slowest first, ends the output: the tool for keeping `HEAVY` honest.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'uvu/parse';
import { TIME_PREFIX } from './support/uvu-files.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** Test files that open the WebGPU device in the test process. */
const DEVICE_FILES = '(webgpu|wgsl|notebooks)';
/**
 * The non-device files that take longest, with their CPU seconds (theirs and their child processes':
 * the `cpu` column of KILN_TEST_TIMES=1, from a whole run on the 2-core machine, cold caches, Dec 2026);
 * only their relative sizes matter. A file missing here only makes the split less even.
 */
const HEAVY: Record<string, number> = {
  'codegen/cuda-compile.test.ts': 260, 'codegen/cuda-compile-f16.test.ts': 240,
  'codegen/cuda-compile-conformance.test.ts': 46, 'codegen/gpu-simulate.test.ts': 116, 'runtime/cpu.test.ts': 113,
  'cli/shapes.test.ts': 93, 'bench/gpu-bundle.test.ts': 88, 'repl/compiled.test.ts': 62, 'cli/cli.test.ts': 56,
  'cli/paths.test.ts': 52, 'cli/plan.test.ts': 38, 'cli/opt.test.ts': 36, 'passes/mixed-precision.test.ts': 30,
  'cli/build.test.ts': 30, 'kernel-jupyter/lifecycle.test.ts': 29, 'cli/args-errors.test.ts': 29,
  'runtime/templates.test.ts': 26, 'runtime/arena-zoo.test.ts': 23, 'passes/layout.test.ts': 22,
  'codegen/emit.test.ts': 22, 'cli/threads.test.ts': 22, 'cli/sequence-run.test.ts': 22,
  'codegen/golden.test.ts': 18, 'cli/max-memory.test.ts': 17, 'passes/conv-zoo.test.ts': 16,
  'codegen/zoo.test.ts': 16, 'cli/tuning.test.ts': 16, 'bench/latency.test.ts': 16, 'repl/piped.test.ts': 14,
  'zoo/reference.test.ts': 12, 'session/resnet.test.ts': 12, 'passes/cse.test.ts': 12,
  'zoo/onnxruntime.test.ts': 11, 'schedule/zoo.test.ts': 11, 'passes/fuse-elementwise.test.ts': 11,
  'commands/resnet.test.ts': 11,
  // measured alone (KILN_TEST_TIMES=1 with a file pattern), Dec 2026: the report's tests
  'cli/report.test.ts': 31, 'cli/ir-out.test.ts': 21, 'ir/kir-zoo.test.ts': 19,
};
/** The rough CPU seconds of a file not in HEAVY (the others averaged 1.3 in that run). */
const LIGHT_SECONDS = 1.5;
const PROCESSES = Math.max(1, Number(process.env.KILN_TEST_PROCESSES ?? 2) || 2);
const given = process.argv[2];
// compiled backends use their lowerings' default schedules unless a test asks for tuning itself
// (test/runtime/tuning.test.ts does): measuring every GEMM/conv shape of the zoo would dominate the suite
const env = { ...process.env, KILN_TUNING: process.env.KILN_TUNING ?? 'off' };

/** The test files (relative to test/) matching `pattern` and not `ignore`, sorted as uvu sorts them. */
async function files(pattern: string, ignore?: string): Promise<string[]> {
  const found = await parse(path.join(root, 'test'), pattern, ignore ? { ignore } : {});
  return found.suites.map((s) => s.name);
}

/** Deals `names` to `n` groups, heavy files first (longest first), each to the least loaded group. */
function split(names: readonly string[], n: number): string[][] {
  const cost = (f: string) => HEAVY[f] ?? LIGHT_SECONDS;
  const order = [...names].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b));
  const groups = Array.from({ length: n }, () => ({ files: [] as string[], load: 0 }));
  for (const f of order) {
    const g = groups.reduce((best, x) => (x.load < best.load ? x : best));
    g.files.push(f);
    g.load += cost(f);
  }
  return groups.map((g) => g.files.sort()).filter((g) => g.length > 0);
}

/** A finished uvu process: its exit code, its stdout, and its stdout and stderr as they came. */
interface Run { code: number; stdout: string; out: string }

/** A started uvu process: its end, and what it has written so far (held output shows on an interrupt). */
interface Started { done: Promise<Run>; sofar: () => string; kill: () => void }

/**
 * Starts one uvu process over `group`; its output goes to ours as it comes when `live` (stderr
 * inherited), else it is held, stdout and stderr together, for the caller to show whole.
 */
function uvu(group: readonly string[], live: boolean): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/uvu-files.ts', ...group], {
    cwd: root, stdio: ['ignore', 'pipe', live ? 'inherit' : 'pipe'], env,
  });
  let stdout = '', out = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    out += text;
    if (live) process.stdout.write(text);
  });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, out })));
  return { done, sofar: () => (live ? '' : out), kill: () => child.kill('SIGTERM') };
}

/** uvu's "Total: N", "Passed: N", "Skipped: N" of one run (colour codes stripped; the last match wins). */
function counts(out: string): { total: number; passed: number; skipped: number } {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label: string) => Number([...plain.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].pop()?.[1] ?? 0);
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') };
}

const groups = given !== undefined
  ? [await files(given)]
  : [...split(await files('\\.test\\.ts$', DEVICE_FILES), PROCESSES), await files(`${DEVICE_FILES}.*\\.test\\.ts$`)];
const runs = groups.filter((g) => g.length > 0).map((g, i) => uvu(g, i === 0));
// stopped from outside (CI's time limit, Ctrl-C): show what the held processes wrote, so a hang is found
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const [i, r] of runs.entries()) if (r.sofar()) process.stdout.write(`\n(process ${i + 1} of ${runs.length}, stopped by ${signal})\n${r.sofar()}\n`);
    for (const r of runs) r.kill();
    process.exit(1);
  });
}
let passed = 0, failed = 0, skipped = 0, ok = true;
const times: { wall: number; cpu: number; file: string }[] = [];
for (const [i, run] of runs.entries()) {
  const { code, stdout, out } = await run.done;
  if (i > 0) process.stdout.write(`\n${out}`);
  const c = counts(stdout);
  let f = c.total - c.passed; // uvu's Total counts the tests that ran (skipped ones apart)
  if (code !== 0 && f === 0) f = 1; // a crash outside any test still fails the run
  passed += c.passed; failed += f; skipped += c.skipped;
  ok &&= code === 0 && f === 0;
  for (const m of stdout.replace(/\x1b\[[0-9;]*m/g, '').matchAll(new RegExp(`^${TIME_PREFIX} (\\S+) (\\S+) (.*)$`, 'gm'))) times.push({ wall: Number(m[1]), cpu: Number(m[2]), file: m[3] });
}
if (times.length) {
  console.log('\nseconds per file (its import and suites; cpu: its process and the children that ended), most cpu first:');
  console.log('    wall      cpu  file');
  for (const t of times.sort((a, b) => b.cpu - a.cpu)) console.log(`${t.wall.toFixed(1).padStart(8)} ${t.cpu.toFixed(1).padStart(8)}  ${t.file}`);
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok ? 0 : 1);
