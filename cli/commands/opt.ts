/**
 * `kiln opt MODEL [--pipeline P] [--target T] [--emit graph|plan|kernel|source]
 *  [--print-ir-after-all | --print-ir-after-change] [--dump-dir DIR] [--check] [--no-verify] [--stats]
 *  [--seed N] [--rtol R] [--atol A]`
 *
 * The mlir-opt of kiln: loads a model, runs a pass pipeline (default: the target's default pipeline)
 * through the PassManager and prints the final IR to stdout. Everything else goes to stderr, so stdout
 * stays a valid `.kir` file: the per-step IR (`// ----- after <pass> (step N) -----` headers), and a
 * summary table with one row per step (pass, ms, nodes before→after, changed, the numeric check's
 * errors with --check, the non-zero statistics with --stats). The pipeline runs in a Session
 * (compiler/session.ts), and `--emit` prints a stage of its last snapshot through the Session's
 * artifacts (compiler/session-artifacts.ts, the API `kiln build` and `%source` use too): `graph`
 * (default, the IR), `plan` (the memory plan as JSON), `kernel` (the kernel IR program) or `source`
 * (the C); nodes that do not lower are listed on stderr and in a comment at the top of the output.
 * The verifier runs after every pass unless
 * --no-verify. With --check, a step past tolerance makes the command exit 1 after printing (the
 * table names the first divergent node).
 */
import { SEED, SHAPE_OPTIONS, TOLERANCE, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { STAGES, Session } from '../../compiler/session.ts';
import type { StepResult } from '../../compiler/passes/manager.ts';
import { requireStaticShapes } from '../../compiler/ops/bind-shapes.ts';
import { type PassInstrument, dumpDirInstrument, printIrInstrument } from '../../compiler/passes/instruments.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';

export async function optCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    pipeline: { type: 'string' },
    target: { type: 'string' },
    'print-ir-after-all': { type: 'boolean', default: false },
    'print-ir-after-change': { type: 'boolean', default: false },
    'dump-dir': { type: 'string' },
    check: { type: 'boolean', default: false },
    'no-verify': { type: 'boolean', default: false },
    stats: { type: 'boolean', default: false },
    seed: { type: 'string' },
    rtol: { type: 'string' },
    atol: { type: 'string' },
    emit: { type: 'string' },
    ...SHAPE_OPTIONS,
  }, [1, 1], ['MODEL']);
  const target = choiceOption(values.target, 'target', TARGETS, 'cpu');
  const emit = choiceOption(values.emit, 'emit', STAGES, 'graph');
  if (values['print-ir-after-all'] && values['print-ir-after-change']) {
    throw new UsageError('--print-ir-after-all and --print-ir-after-change exclude each other');
  }
  const seed = numberOption(values.seed, 'seed', 0, SEED);
  const rtol = numberOption(values.rtol, 'rtol', 1e-4, TOLERANCE);
  const atol = numberOption(values.atol, 'atol', 1e-5, TOLERANCE);
  const pipeline = values.pipeline ?? defaultPipeline(target);
  pipelineOption(pipeline); // a bad pipeline is a usage error

  const instruments: PassInstrument[] = [];
  const printMode = values['print-ir-after-all'] ? 'all' : values['print-ir-after-change'] ? 'change' : undefined;
  if (printMode) instruments.push(printIrInstrument(printMode, (header, text) => process.stderr.write(`${header}\n${text}`)));
  if (values['dump-dir']) instruments.push(dumpDirInstrument(values['dump-dir']));
  const session = Session.load(positionals[0], {
    ...(await shapeBindings(values)), target, pipeline, instruments,
    verify: !values['no-verify'], numericCheck: values.check!, seed, rtol, atol,
  });
  if (values.check) requireStaticShapes(session.graph(0), 'the numeric check'); // the Session would skip it; --check asks for it
  session.run();
  const graph = session.graph(0);
  const results = session.history.slice(1);
  const emitted = session.artifacts().stage(emit, `--emit ${emit}`);
  process.stdout.write(emitted.text);
  for (const n of emitted.notes) process.stderr.write(`note: ${n}\n`);
  process.stderr.write(stepTable(graph.nodes.length, results, { check: values.check!, stats: values.stats! }));
  const bad = results.find((r) => r.withinTolerance === false);
  if (bad) {
    process.stderr.write(`error: numeric check failed after pass '${bad.pass}' (step ${bad.step}): max rel error ${fmtErr(bad.maxRelError)}`
      + ` (rtol ${rtol}, atol ${atol})${bad.firstDivergent !== undefined ? `; first divergent node '${bad.firstDivergent}'` : ''}\n`);
    return 1;
  }
  return 0;
}

const fmtErr = (x: number | undefined) => (x === undefined ? '' : x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));

/** The step summary table (ends with a newline). */
export function stepTable(inputNodes: number, results: readonly StepResult[], opts: { check: boolean; stats: boolean }): string {
  const head = ['step', 'pass', 'ms', 'nodes', 'changed'];
  if (opts.check) head.push('max abs err', 'max rel err', 'divergent');
  if (opts.stats) head.push('stats');
  const rows: string[][] = [['0', '(input)', '', String(inputNodes), '', ...(opts.check ? ['0', '0', ''] : []), ...(opts.stats ? [''] : [])]];
  for (const r of results) {
    const row = [String(r.step), r.pass, r.skipped ? 'skip' : r.ms.toFixed(1), `${r.nodesBefore}→${r.nodesAfter}`, r.changed ? 'yes' : 'no'];
    if (opts.check) row.push(fmtErr(r.maxAbsError), fmtErr(r.maxRelError), r.firstDivergent ?? (r.withinTolerance === false ? '?' : ''));
    if (opts.stats) {
      const s = Object.entries(r.stats).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`);
      if (r.decisions.length) s.push(`decisions=${r.decisions.length}`);
      row.push(s.join(' '));
    }
    rows.push(row);
  }
  const total = results.reduce((a, r) => a + r.ms, 0);
  const right = new Set([0, 2, 3]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === cells.length - 1 && !right.has(c) ? x : right.has(c) ? x.padStart(widths[c]) : x.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line), `total ${total.toFixed(1)} ms in ${results.length} step(s)`].join('\n') + '\n';
}
