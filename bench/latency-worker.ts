/**
 * One configuration of the latency bench (bench/latency.ts), in a child process of its own so its
 * peak RSS is its own: one zoo model on one contender (a kiln backend, or onnxruntime-node with one
 * graph optimization level) at one thread count.
 *
 * Setup (the parent starts the children one at a time, so setups never overlap): the zoo model is
 * built (seed 0) and exported to ONNX; onnxruntime gets those bytes, kiln imports the same bytes and
 * runs its pass pipeline (`passesMs`). A kiln backend is prepared twice: first with `KILN_CACHE_DIR`
 * pointing at a new empty folder (cold: everything compiled), then again (warm: the object cache
 * hit); the warm program is the one timed, and the nodes it runs on reference kernels inside the
 * program (fallbacks) are counted. The inputs are random (seed 0), the same in every child.
 *
 * Rounds: the one timing loop (timeProgram, compiler/runtime/timings.ts) runs one warm-up, then one
 * timed run per round; before each timed run it reports to the parent and waits for the parent's `go`,
 * so the parent decides the order in which the configurations of a round run (bench/latency.ts).
 * After the last round, a kiln configuration asked for kernels runs the per-kernel timing (median of
 * `kernelRepeat` runs) and reports its slowest nodes with GFLOP/s and % of the measured peak
 * (NodeTimings of timings.ts). Last it reports everything with `process.resourceUsage().maxRSS`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zooModel } from '../compiler/zoo/index.ts';
import { expectTensors } from '../compiler/ir/value.ts';
import { exportOnnx } from '../compiler/import/onnx/export.ts';
import { importOnnx } from '../compiler/import/onnx/import.ts';
import { PassManager, defaultPipeline, isTarget, parsePipeline } from '../compiler/passes/index.ts'; // index.ts registers the passes
import { bindInputs } from '../compiler/runtime/inputs.ts';
import { requireSupported, useBackend, type Program } from '../compiler/runtime/backends.ts';
import { gflopPerS, nodeTimings, timeProgram } from '../compiler/runtime/timings.ts';
import { ortProgram, type OrtOptimization } from './ort-program.ts';

/** What one child measures. */
export interface WorkerConfig {
  readonly model: string;
  /** A kiln backend name, or onnxruntime with an optimization level. */
  readonly contender: { readonly kind: 'kiln'; readonly backend: string } | { readonly kind: 'ort'; readonly optimization: OrtOptimization };
  readonly threads: number;
  /** kiln's pass pipeline text ('' for the graph as imported). */
  readonly pipeline: string;
  readonly rounds: number;
  /** Slowest nodes to report from a per-kernel timing after the rounds (0: none). */
  readonly topKernels: number;
  readonly kernelRepeat: number;
}

/** One of the slowest nodes of a kiln program (from its timing table). */
export interface TopKernel {
  readonly node: string;
  readonly op: string;
  readonly ms: number;
  readonly sharePct: number;
  readonly gflops: number | null;
  readonly pctOfPeak: number | null;
}

/** A tensor as it crosses the process boundary. */
export interface PlainTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number | bigint | boolean | string>;
}

/** What a child reports at the end. */
export interface WorkerResult {
  /** Wall time of each timed run, one per round, in round order. */
  readonly times: readonly number[];
  /** Preparation with an empty object cache (onnxruntime: session creation). */
  readonly prepareColdMs: number;
  /** Second preparation (kiln only); `cacheHit` says whether the object cache answered. */
  readonly prepareWarmMs: number | null;
  readonly cacheHit: boolean | null;
  /** Nodes a kiln program runs on reference kernels, not compiled (null for onnxruntime). */
  readonly fallbacks: number | null;
  /** kiln's pass pipeline time (null for onnxruntime). */
  readonly passesMs: number | null;
  /** maxRSS after building the model and inputs (before any preparation), MiB. */
  readonly rssBaseMiB: number;
  /** maxRSS at the end (the child's peak), MiB. */
  readonly rssPeakMiB: number;
  /** Outputs of the last timed run. */
  readonly outputs: readonly PlainTensor[];
  readonly peakGflops: number | null;
  readonly top: readonly TopKernel[];
}

/** Messages child → parent. */
export type WorkerMessage =
  | { readonly type: 'waiting'; readonly run: number }
  | { readonly type: 'done'; readonly result: WorkerResult }
  | { readonly type: 'error'; readonly message: string };

/** Messages parent → child. */
export type ParentMessage = { readonly type: 'config'; readonly config: WorkerConfig } | { readonly type: 'go' };

const maxRssMiB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

function send(m: WorkerMessage, then?: () => void): void {
  process.send!(m, undefined, {}, then);
}

/** Resolves on the parent's next `go`. */
function nextGo(): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: ParentMessage) => {
      if (m.type !== 'go') return;
      process.off('message', on);
      resolve();
    };
    process.on('message', on);
  });
}

/** Prepares a kiln backend cold (empty cache folder) then warm; returns the warm program. */
async function prepareKiln(backendName: string, config: WorkerConfig, graph: ReturnType<typeof importOnnx>) {
  const backend = await useBackend(backendName, { substitute: false }); // never the reference backend in disguise
  requireSupported(backend, graph, `zoo:${config.model}`);
  const saved = process.env.KILN_CACHE_DIR;
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-cache-'));
  process.env.KILN_CACHE_DIR = cache;
  try {
    const cold = await backend.prepare(graph, undefined, { threads: config.threads });
    const prepareColdMs = cold.prepareMs;
    await cold.dispose();
    const warm = await backend.prepare(graph, undefined, { threads: config.threads });
    const hit = (warm as Program & { cacheHit?: boolean }).cacheHit;
    return { program: warm, prepareColdMs, prepareWarmMs: warm.prepareMs, cacheHit: hit ?? null, cache };
  } finally {
    // the peak probe and anything else later use the user's cache again
    if (saved === undefined) delete process.env.KILN_CACHE_DIR;
    else process.env.KILN_CACHE_DIR = saved;
  }
}

async function main(config: WorkerConfig): Promise<WorkerResult> {
  const zoo = zooModel(config.model, { seed: 0 });
  const bytes = exportOnnx(zoo);
  const { inputs } = bindInputs(zoo, { random: { seed: 0 } });
  let program: Program, prepareColdMs: number, prepareWarmMs: number | null = null, cacheHit: boolean | null = null;
  let passesMs: number | null = null, cache: string | undefined;
  let graph = importOnnx(bytes);
  const rssBaseMiB = maxRssMiB();
  if (config.contender.kind === 'ort') {
    program = await ortProgram(bytes, zoo.outputs, { threads: config.threads, optimization: config.contender.optimization });
    prepareColdMs = program.prepareMs;
  } else {
    const p0 = performance.now();
    // `default`: the backend's own target's default pipeline (webgpu: fusion and f16 mixed precision)
    const target = isTarget(config.contender.backend) ? config.contender.backend : 'cpu';
    const text = config.pipeline === 'default' ? defaultPipeline(target) : config.pipeline;
    if (text) graph = new PassManager({ target }).run(graph, parsePipeline(text)).at(-1)?.graph ?? graph;
    passesMs = performance.now() - p0;
    ({ program, prepareColdMs, prepareWarmMs, cacheHit, cache } = await prepareKiln(config.contender.backend, config, graph));
  }
  try {
    const timing = await timeProgram(program, inputs, {
      warmup: 1, repeat: config.rounds,
      beforeRun: async (run) => {
        const go = nextGo();
        send({ type: 'waiting', run });
        await go;
      },
    });
    let top: TopKernel[] = [], peakGflops: number | null = null;
    if (config.topKernels > 0 && config.contender.kind === 'kiln') {
      peakGflops = program.peakGflops ? await program.peakGflops() : null;
      const perKernel = await timeProgram(program, inputs, { repeat: config.kernelRepeat, perKernel: true });
      const t = nodeTimings(graph, inputs, perKernel, graph.name, peakGflops);
      top = t.top(config.topKernels).map((n) => {
        const gflops = gflopPerS(n.flops, n.ms);
        return { node: n.node, op: n.op, ms: n.ms, sharePct: t.share(n.ms), gflops, pctOfPeak: t.pctOfPeak(gflops) };
      });
    }
    return {
      times: timing.times, fallbacks: config.contender.kind === 'kiln' ? program.fallbacks?.length ?? 0 : null, prepareColdMs, prepareWarmMs, cacheHit, passesMs, rssBaseMiB, rssPeakMiB: maxRssMiB(),
      outputs: expectTensors(timing.outputs, zoo.outputs).map((o) => ({ dtype: o.dtype, shape: [...o.shape], data: o.data as PlainTensor['data'] })), peakGflops, top,
    };
  } finally {
    await program.dispose();
    if (cache) fs.rmSync(cache, { recursive: true, force: true });
  }
}

process.once('message', (m: ParentMessage) => {
  if (m.type !== 'config') return;
  // the channel closes only once the last message is sent (the outputs can be large), so the child can end
  const bye = () => process.disconnect();
  main(m.config).then(
    (result) => send({ type: 'done', result }, bye),
    (e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e) }, bye),
  );
});
