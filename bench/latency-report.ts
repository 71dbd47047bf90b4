/**
 * The latency section as text: one table (a row per model × contender × threads), its legend, the
 * issue's acceptance figure, and kiln's slowest kernels per model.
 */
import { ACCEPTANCE_MODELS, ACCEPTANCE_THREADS, type LatencyReport, type LatencyRow } from './latency.ts';

const f = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const e = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x === 0 ? '0' : x.toExponential(1));

/** Columns left to right: header, alignment, cell. */
const COLUMNS: readonly [string, 'l' | 'r', (r: LatencyRow) => string][] = [
  ['model', 'l', (r) => r.model],
  ['contender', 'l', (r) => r.contender],
  ['thr', 'r', (r) => String(r.threads)],
  ['median ms', 'r', (r) => f(r.medianMs)],
  ['min ms', 'r', (r) => f(r.minMs)],
  ['/ort-all', 'r', (r) => f(r.ratioToOrtAll, 2)],
  ['prep cold ms', 'r', (r) => f(r.prepareColdMs, 0)],
  ['prep warm ms', 'r', (r) => (r.prepareWarmMs === null || r.prepareWarmMs === undefined ? '-' : `${f(r.prepareWarmMs, 0)}${r.cacheHit === false ? ' (miss)' : ''}`)],
  ['passes ms', 'r', (r) => f(r.passesMs, 0)],
  ['fallback', 'r', (r) => (r.fallbacks === null || r.fallbacks === undefined ? '-' : String(r.fallbacks))],
  ['peak RSS MiB', 'r', (r) => f(r.rssPeakMiB, 0)],
  ['max |diff|', 'r', (r) => e(r.maxAbsDiffToOrtAll)],
];

/** Left/right-pads every row of cells to the widest cell of its column. */
function grid(head: readonly string[], align: readonly ('l' | 'r')[], body: readonly string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

/** The latency report as printed by `npm run bench`. */
export function formatLatency(report: LatencyReport): string {
  const out: string[] = [];
  const ok = report.rows.filter((r) => !r.error);
  out.push(...grid(COLUMNS.map((c) => c[0]), COLUMNS.map((c) => c[1]), ok.map((r) => COLUMNS.map((c) => c[2](r)))));
  for (const r of report.rows.filter((x) => x.error)) out.push(`${r.model} ${r.contender} @${r.threads}: FAILED: ${r.error!.split('\n')[0]}`);
  out.push('',
    `legend: median and min of ${report.rounds} interleaved round(s) (one run per configuration per round, order rotated each round),`,
    '  after one warm-up run; each configuration runs in its own child process, alone (the others wait).',
    '  /ort-all: median over onnxruntime-node (graph optimization all) at the same thread count.',
    '  prep cold: kiln prepare with an empty object cache (a new KILN_CACHE_DIR: C compiled); onnxruntime: session creation.',
    '  prep warm: kiln prepare again, object cache hit ("(miss)" if it was not). passes: kiln\'s pass pipeline before prepare.',
    '  peak RSS: maxRSS of that configuration\'s child process (Node, the model built and exported, the session, its runs);',
    '    compare rows of one model: every child carries the same model-building baseline.',
    '  fallback: nodes the kiln program runs on reference kernels instead of compiled code (0: all compiled).',
    '  max |diff|: largest absolute output difference from onnxruntime all at the same thread count.',
    '  thr: intra-op threads (onnxruntime; inter-op 1, sequential) or OpenMP threads (kiln cpu); kiln ref/arena are',
    '    single-threaded whatever the count.',
    `  kiln pipeline: ${report.pipeline === 'default' ? 'each backend\'s default pipeline (cpu: channels-last; webgpu: f16 mixed precision where the adapter has shader-f16)' : report.pipeline || '(none: the graph as imported)'}`,
    '  Shared or busy machines make every number noisy: compare rows of one run, not runs.');

  const a = report.acceptance;
  const parts = ACCEPTANCE_MODELS.map((m) => `${m} ${f(a.ratios[m], 2)}`).join(', ');
  out.push('', a.geomean === null
    ? `acceptance (kiln-cpu/ort-all at ${ACCEPTANCE_THREADS} threads over ${ACCEPTANCE_MODELS.join(', ')}): incomplete (${parts})`
    : `acceptance: geomean kiln-cpu/ort-all at ${ACCEPTANCE_THREADS} threads = ${a.geomean.toFixed(2)} (goal <= 1.00), worst ${a.worst!.toFixed(2)} (goal <= 1.25): ${parts}`);

  for (const r of ok.filter((x) => x.top && x.top.length)) {
    out.push('', `where the time goes: ${r.model} on ${r.contender} at ${r.threads} thread(s), per-kernel timing (FP32 peak ${f(r.peakGflops, 1)} GFLOP/s)`);
    out.push(...grid(['node', 'op', 'ms', 'share %', 'GFLOP/s', '% of peak'], ['l', 'l', 'r', 'r', 'r', 'r'],
      r.top!.map((k) => [k.node, k.op, f(k.ms, 2), f(k.sharePct, 1), f(k.gflops, 1), f(k.pctOfPeak, 1)])));
  }
  return out.join('\n');
}
