/**
 * `kiln conformance DIR [--backend NAME] [--filter REGEX] [--rtol 1e-3] [--atol 1e-5] [--no-fallback] [--verbose] [--json]`
 *
 * Runs the ONNX node-test cases under DIR (folders with model.onnx and test_data_set_*) on a backend
 * (any registered one, compiler/runtime/backends.ts; default the reference executor)
 * and compares with the expected outputs. Prints one line per failing or skipped case with its
 * reason (with --verbose: one line per case, passing ones too, with its time and worst absolute and
 * relative error), then `N passed, N failed, N skipped`. On a compiled backend (cpu) a passing case
 * that needed reference fallback prints `FALLBACK name: Op, Op` (the ops that fell back; a failing
 * case's line ends with `[fallback: Op, Op]`), and after the summary a line
 * `compiled: N fully (P%), M with fallback` counts the passing cases that ran fully compiled (P: of all
 * cases run) and those that needed fallback. --no-fallback prepares without fallback (strict: such
 * cases fail, naming their nodes). With --verbose, a case whose sizes depended on input values that
 * the runner bound as constants ends with `[values bound: INPUT, ...]`. --json prints the report (every case with its status, reason,
 * errors and fallback ops; the counts) as one JSON object instead. A backend that cannot run here
 * (no C compiler) is replaced by the reference backend with a note on stderr. Exit status: 0 when nothing failed, 1 when
 * any case failed, 2 (with the usage text) for bad arguments.
 */
import { TOLERANCE, UsageError, choiceOption, numberOption, parseCommand } from '../args.ts';
import { DEFAULT_TOLERANCE, runConformance, type CaseResult } from '../../compiler/runtime/conformance.ts';
import { DEFAULT_BACKEND, backendNames } from '../../compiler/runtime/backends.ts';

/** Entry point; `argv` are the arguments after `conformance`. */
export async function conformanceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    backend: { type: 'string' },
    filter: { type: 'string' },
    rtol: { type: 'string' },
    atol: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'no-fallback': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  }, [1, 1], ['DIR']);
  const backend = choiceOption(values.backend, 'backend', backendNames(), DEFAULT_BACKEND);
  let filter: RegExp | undefined;
  if (values.filter !== undefined) {
    try {
      filter = new RegExp(values.filter);
    } catch (e) {
      throw new UsageError(`--filter is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const rtol = numberOption(values.rtol, 'rtol', DEFAULT_TOLERANCE.rtol, TOLERANCE);
  const atol = numberOption(values.atol, 'atol', DEFAULT_TOLERANCE.atol, TOLERANCE);
  const verbose = values.verbose!, json = values.json!;
  const report = await runConformance(positionals[0], {
    backend, filter, rtol, atol, fallback: !values['no-fallback'],
    onWarning: (m) => console.error(`note: ${m}`),
    onCase: (r) => {
      if (json) return;
      const fell = r.fallback?.length ? r.fallback.join(', ') : undefined;
      if (verbose) console.log(verboseLine(r) + (fell ? `  [fallback: ${fell}]` : '') + (r.specialized ? `  [values bound: ${r.specialized.join(', ')}]` : ''));
      else if (r.status === 'pass') { if (fell) console.log(`FALLBACK ${r.name}: ${fell}`); }
      else console.log(`${r.status === 'fail' ? 'FAIL' : 'SKIP'} ${r.name}: ${oneLine(r.reason)}${fell ? ` [fallback: ${fell}]` : ''}`);
    },
  });
  if (json) {
    console.log(JSON.stringify(report));
    return report.failed > 0 ? 1 : 0;
  }
  console.log(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  if (report.compiled) {
    const total = report.passed + report.failed + report.skipped;
    const pct = total ? ((100 * report.compiled.fully) / total).toFixed(1) : '0.0';
    console.log(`compiled: ${report.compiled.fully} fully (${pct}%), ${report.compiled.withFallback} with fallback`);
  }
  return report.failed > 0 ? 1 : 0;
}

/** `PASS test_add  0.4 ms  max abs 0, max rel 0` (FAIL and SKIP lines add the reason). */
function verboseLine(r: CaseResult): string {
  const errors = r.maxAbsError === undefined ? '' : `  max abs ${fmt(r.maxAbsError)}, max rel ${fmt(r.maxRelError!)}`;
  const reason = r.status === 'pass' ? '' : `: ${oneLine(r.reason)}`;
  return `${r.status.toUpperCase()} ${r.name}  ${r.ms.toFixed(1)} ms${errors}${reason}`;
}

const oneLine = (reason: string | undefined) => (reason ?? '').replace(/\s*\n\s*/g, '; ');
const fmt = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
