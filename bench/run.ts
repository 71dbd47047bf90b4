/**
 * `npm run bench`: kiln against onnxruntime-node, measured in one run, and kiln's own compile-time,
 * kernel and memory figures. A benchmark, never a test: nothing here asserts a time.
 *
 * Sections (`--sections`, default all; with `--json` default `latency` only):
 * - latency (bench/latency.ts): zoo models × {kiln backends (`--backends`, default cpu; ref and arena
 *   by option, they are slow), onnxruntime-node graph optimization all and disabled (`--ort`)} ×
 *   threads (`--threads`, default 1,2), in interleaved rounds (`--rounds`, default 7), each
 *   configuration in a child process; median and min latency, kiln/ORT ratio, prepare cold and warm,
 *   peak RSS; the issue's acceptance figure; kiln's slowest kernels (`--top`, default 5) at 2 threads.
 *   `--json` prints this section's report as JSON on stdout (progress goes to stderr).
 * - passes (bench/passes.ts): import + the default pass pipeline on resnet50 against its budgets.
 * - kernel (bench/kernel.ts): the Jupyter kernel's start-up and `1+1` round trip.
 * - memory (bench/memory.ts): the memory plans of the zoo models after the default pipeline.
 *
 * Usage: npm run bench -- [--models a,b (default: the zoo models without control flow)] [--threads 1,2] [--rounds N] [--backends cpu,ref]
 *   [--ort all,disabled|none] [--pipeline default|none|P] [--top N] [--sections s,t] [--json]
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { zooNames } from '../compiler/zoo/index.ts';
import { backendNames, findBackend } from '../compiler/runtime/backends.ts';
import { parsePipeline, printPipeline } from '../compiler/passes/index.ts';
import { benchLatency, ortLevels, type Contender } from './latency.ts';
import { formatLatency } from './latency-report.ts';
import { ortVersion } from './ort-program.ts';
import { benchPasses } from './passes.ts';
import { benchMemory } from './memory.ts';
import { benchKernel } from './kernel.ts';

const SECTIONS = ['latency', 'passes', 'kernel', 'memory'] as const;

const { values } = parseArgs({
  options: {
    models: { type: 'string' }, threads: { type: 'string', default: '1,2' }, rounds: { type: 'string', default: '7' },
    backends: { type: 'string', default: 'cpu' }, ort: { type: 'string', default: 'all,disabled' },
    pipeline: { type: 'string', default: 'default' }, top: { type: 'string', default: '5' },
    sections: { type: 'string' }, json: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(`npm run bench: ${message}`);
  process.exit(2);
}

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);
function count(text: string, what: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) fail(`--${what} must be a whole number >= ${min}, got '${text}'`);
  return n;
}

const models = values.models ? list(values.models) : zooNames({ controlFlow: false });
const badModels = models.filter((m) => !zooNames().includes(m));
if (badModels.length) fail(`unknown model(s) ${badModels.join(', ')}; zoo models: ${zooNames().join(', ')}`);
const threads = list(values.threads).map((t) => count(t, 'threads', 1));
const rounds = count(values.rounds, 'rounds', 1);
const top = count(values.top, 'top', 0);
const sections = values.sections ? list(values.sections) : values.json ? ['latency'] : [...SECTIONS];
const badSections = sections.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (badSections.length) fail(`unknown section(s) ${badSections.join(', ')}; sections: ${SECTIONS.join(', ')}`);
let pipeline = '';
if (values.pipeline !== 'none') {
  try {
    // `default`: each kiln backend runs its own target's default pipeline (bench/latency-worker.ts)
    pipeline = values.pipeline === 'default' ? 'default' : printPipeline(parsePipeline(values.pipeline));
  } catch (e) {
    fail(`bad --pipeline: ${(e as Error).message.split('\n')[0]}`);
  }
}

let ort: Contender[] = [];
try {
  ort = ortLevels(values.ort).map((optimization) => ({ kind: 'ort', optimization }));
} catch (e) {
  fail((e as Error).message);
}
const kiln: Contender[] = [];
for (const name of list(values.backends)) {
  const b = findBackend(name);
  if (!b) fail(`unknown backend '${name}'; backends: ${backendNames().join(', ')}`);
  const a = await b.available();
  if (a.ok) kiln.push({ kind: 'kiln', backend: name });
  else console.error(`(backend ${name} skipped: ${a.reason})`);
}

const log = (line: string) => console.error(line);
if (sections.includes('latency')) {
  log(`kiln bench: ${models.join(', ')} × ${[...kiln, ...ort].map((c) => (c.kind === 'kiln' ? `kiln-${c.backend}` : `ort-${c.optimization}`)).join(', ')}`
    + ` × threads ${threads.join(',')}, ${rounds} interleaved round(s); onnxruntime-node ${ortVersion()}; ${os.cpus()[0]?.model ?? 'unknown CPU'}, `
    + `${os.cpus().length} logical cores; ${new Date().toISOString()}`);
  const report = await benchLatency({
    models, contenders: [...kiln, ...ort], threads, rounds, pipeline, topKernels: top, kernelThreads: 2, kernelRepeat: 3, log,
  });
  if (values.json) console.log(JSON.stringify(report, null, 1));
  else console.log(`\n${formatLatency(report)}`);
}

// Compile time: import + the default pass pipeline (bench/passes.ts), against its budgets.
if (sections.includes('passes')) benchPasses({ repeat: Math.max(rounds, 5) });

// The Jupyter kernel: start-up to kernel_info_reply and the round trip of `1+1` (bench/kernel.ts).
if (sections.includes('kernel')) await benchKernel();

// Memory planning: naive, lower bound and planned peak per model (bench/memory.ts).
if (sections.includes('memory')) benchMemory({ repeat: Math.max(rounds, 5), models });
