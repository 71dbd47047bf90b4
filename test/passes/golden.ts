/**
 * The golden-test format for passes (`test/passes/*.kir`, described in test/passes/README.md): reading a
 * file into cases and running one case.
 *
 * A file starts with `// RUN: <pipeline>`; cases are separated by lines `// -----`. A case is one
 * `kiln.graph` in IR text (comments are ignored by the IR parser) with its `// CHECK...` lines and
 * optional directives (`// RUN:` overriding the file's pipeline, `// TARGET:`, `// UNCHANGED`,
 * `// NUMERIC: off | rtol=R atol=A`, `// EXPECT-ERROR: text`, and `// STATS:` / `// DECISION:` checks).
 *
 * Running a case: parse the graph (the case text is padded with blank lines so parser and FileCheck
 * line numbers are the file's), run the pipeline through a PassManager with the verifier on and the
 * numeric check on when every constant has data (and no input is a string; symbolic input dims at size
 * 2), assert every step stayed within tolerance, then FileCheck the printed result against the case's CHECK lines, the statistics
 * (`<pass>.<stat> = N`, one line per counter per step) against STATS lines and the decisions
 * (`<pass>: <kind> <nodes>[ -> <result>]: <reason>`) against DECISION lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import '../../compiler/passes/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { unboundDims } from '../../compiler/ops/bind-shapes.ts';
import { PassManager, type StepResult } from '../../compiler/passes/manager.ts';
import { FileCheckError, fileCheck, parseChecks } from '../filecheck.ts';

/** One case of a golden file. */
export interface GoldenCase {
  /** `<file>#<n>`, n from 1. */
  readonly name: string;
  readonly file: string;
  /** The case's text, padded with blank lines so that its line numbers are the file's. */
  readonly text: string;
  /** 1-based line of the case's first line in the file. */
  readonly line: number;
  readonly pipeline: string;
  readonly target: string;
  readonly unchanged: boolean;
  /** Numeric check: undefined = automatic, false = off, or tolerances. */
  readonly numeric?: { rtol: number; atol: number } | false;
  readonly expectError?: string;
}

const SEPARATOR = /^\s*\/\/\s*-----\s*$/;
const directive = (text: string, name: string) => new RegExp(`^\\s*//\\s*${name}:(.*)$`, 'm').exec(text)?.[1].trim();

/** Splits a golden file into cases (throws on a missing RUN line or malformed directive). */
export function parseGoldenFile(source: string, file: string): GoldenCase[] {
  const lines = source.split('\n');
  const firstLine = lines.find((l) => l.trim() !== '') ?? '';
  const run = /^\s*\/\/\s*RUN:(.*)$/.exec(firstLine)?.[1].trim();
  if (run === undefined) throw new Error(`${file}:1: a golden file starts with '// RUN: <pipeline>'`);
  const fileTarget = directive(lines.slice(0, lines.findIndex((l) => SEPARATOR.test(l)) >>> 0).join('\n'), 'TARGET');
  const cases: GoldenCase[] = [];
  let start = 0;
  const base = path.basename(file);
  const flush = (end: number) => {
    const body = lines.slice(start, end).join('\n');
    if (body.trim() === '' || !/kiln\.graph/.test(body)) {
      if (/\/\/\s*CHECK/.test(body)) throw new Error(`${file}:${start + 1}: case has CHECK lines but no kiln.graph`);
      return;
    }
    const text = '\n'.repeat(start) + body;
    const numericText = directive(body, 'NUMERIC');
    let numeric: GoldenCase['numeric'];
    if (numericText === 'off') numeric = false;
    else if (numericText !== undefined) {
      const m = /^rtol=(\S+)\s+atol=(\S+)$/.exec(numericText);
      if (!m || !Number.isFinite(Number(m[1])) || !Number.isFinite(Number(m[2]))) {
        throw new Error(`${file}: '// NUMERIC: ${numericText}': write 'off' or 'rtol=R atol=A'`);
      }
      numeric = { rtol: Number(m[1]), atol: Number(m[2]) };
    }
    const caseRun = cases.length === 0 && start === 0 ? undefined : directive(body, 'RUN');
    cases.push({
      name: `${base}#${cases.length + 1}`, file, text, line: start + 1,
      pipeline: caseRun ?? run, target: directive(body, 'TARGET') ?? fileTarget ?? 'ref',
      unchanged: /^\s*\/\/\s*UNCHANGED\s*$/m.test(body), numeric, expectError: directive(body, 'EXPECT-ERROR'),
    });
  };
  lines.forEach((l, i) => {
    if (!SEPARATOR.test(l)) return;
    flush(i);
    start = i + 1;
  });
  flush(lines.length);
  return cases;
}

/** Reads every `*.kir` file of `dir` into cases, sorted by file name. */
export function goldenCases(dir: string): GoldenCase[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.kir')).sort()
    .flatMap((f) => parseGoldenFile(fs.readFileSync(path.join(dir, f), 'utf8'), path.join(path.relative(process.cwd(), dir) || '.', f)));
}

/** The statistics of the steps as FileCheck input: `<pass>.<stat> = N`, per step in order. */
export function statsText(results: readonly StepResult[]): string {
  return results.flatMap((r) => Object.entries(r.stats).map(([k, v]) => `${r.pass}.${k} = ${v}`)).join('\n') + '\n';
}

/** The decisions of the steps as FileCheck input: `<pass>: <kind> <nodes>[ -> <result>]: <reason>`. */
export function decisionsText(results: readonly StepResult[]): string {
  return results.flatMap((r) => r.decisions.map((d) => `${d.pass}: ${d.kind} ${d.nodes.join(',')}${d.result ? ` -> ${d.result}` : ''}: ${d.reason}`))
    .join('\n') + '\n';
}

/** Runs one case; throws (an Error with file and line) when it fails. */
export function runGoldenCase(c: GoldenCase): void {
  const graph = parseGraph(c.text, { file: c.file });
  const checkable = graph.constants.every((k) => k.data) && graph.inputs.every((i) => i.type.dtype !== 'str');
  // symbolic input dims are checked at size 2 (an explicit choice: the check never assumes a size)
  const dims = Object.fromEntries(unboundDims(graph).map((u) => [u.symbol, 2]));
  const numeric = c.numeric === false || !checkable ? false : { seed: 0, rtol: 1e-4, atol: 1e-5, dims, ...(c.numeric ?? {}) };
  const pm = new PassManager({ target: c.target, verify: true, numericCheck: numeric });
  let results: StepResult[];
  try {
    results = pm.run(graph, c.pipeline);
  } catch (e) {
    if (c.expectError !== undefined && (e as Error).message.includes(c.expectError)) return;
    throw new Error(`${c.file}:${c.line}: ${c.name}: pipeline '${c.pipeline}' failed: ${(e as Error).message}`, { cause: e });
  }
  if (c.expectError !== undefined) throw new Error(`${c.file}:${c.line}: ${c.name}: expected an error containing '${c.expectError}', but the pipeline succeeded`);
  for (const r of results) {
    if (r.withinTolerance === false) {
      throw new Error(`${c.file}:${c.line}: ${c.name}: numeric check failed after '${r.pass}' (step ${r.step}): max abs error ${r.maxAbsError}, `
        + `max rel error ${r.maxRelError}${r.firstDivergent !== undefined ? `, first divergent node '${r.firstDivergent}'` : ''}`);
    }
  }
  const out = results.length ? results[results.length - 1].graph : graph;
  const printed = printGraph(out);
  if (c.unchanged) {
    const changed = results.find((r) => r.changed);
    if (changed) throw new Error(`${c.file}:${c.line}: ${c.name}: marked UNCHANGED but '${changed.pass}' (step ${changed.step}) changed the graph:\n${printed}`);
  }
  let checked = c.unchanged;
  const check = (prefix: string, input: string, what: string) => {
    if (!parseChecks(c.text, prefix, c.file).length) return;
    checked = true;
    try {
      fileCheck(c.text, input, { prefix, checkFile: c.file, inputName: `<${what} of ${c.name}>` });
    } catch (e) {
      if (e instanceof FileCheckError) throw new FileCheckError(`${e.message}\n\nfull ${what} of ${c.name} (pipeline '${c.pipeline}'):\n${input}`);
      throw e;
    }
  };
  check('CHECK', printed, 'output');
  check('STATS', statsText(results), 'statistics');
  check('DECISION', decisionsText(results), 'decisions');
  if (!checked && c.expectError === undefined) throw new Error(`${c.file}:${c.line}: ${c.name}: the case checks nothing (add CHECK lines or // UNCHANGED)`);
}
