/**
 * Every CLI command with bad arguments, and the front-door checks on bad models:
 *
 * - in-process, each command function (cli/commands/*.ts) with an unknown flag, a missing value, an
 *   extra or missing positional, bad or absurd numbers and unknown passes, planners, backends and
 *   targets throws a UsageError with kiln's one-line wording (and nothing runs);
 * - as a child process (the contract scripts see), one such error per command exits 2 and prints
 *   exactly `kiln CMD: <message>` and `usage: ...` on stderr, nothing on stdout and no stack trace;
 *   `--version`; a .kir file that fails the verifier and unknown attributes (in .kir and ONNX) exit 1
 *   with the error naming file, node, op and rule or attribute;
 * - `kiln run --inputs DIR` against the expected `output_<k>.pb` files of a conformance case (exit 0,
 *   the errors per output) and of a corrupted copy (exit 1), and `kiln conformance --verbose`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, conformanceCase, conformanceDir } from '../support/paths.ts';
import { runKiln, stackFrames } from '../support/cli.ts';
import { UsageError } from '../../cli/args.ts';
import { runCommand } from '../../cli/commands/run.ts';
import { irCommand } from '../../cli/commands/ir.ts';
import { conformanceCommand } from '../../cli/commands/conformance.ts';
import { zooCommand } from '../../cli/commands/zoo.ts';
import { optCommand } from '../../cli/commands/opt.ts';
import { passesCommand } from '../../cli/commands/passes.ts';
import { replCommand } from '../../cli/commands/repl.ts';
import { planCommand } from '../../cli/commands/plan.ts';
import { kernelCommand } from '../../cli/commands/kernel.ts';
import { summaryCommand } from '../../cli/commands/summary.ts';
import { reportCommand } from '../../cli/commands/report.ts';
import { readTensorFile, writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { attr, modelBytes, node, value } from '../import/onnx-build.ts';

interface Result { code: number; out: string; err: string }

const kiln = (...args: string[]): Result => runKiln(args);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-args-'));
const noStack = (r: Result, what: string) => assert.equal(stackFrames(r.err), [], `${what}: stack trace printed:\n${r.err}`);

type CommandFn = (argv: string[]) => Promise<number>;
const COMMANDS: Record<string, CommandFn> = {
  run: runCommand, ir: irCommand, conformance: conformanceCommand, zoo: zooCommand, opt: optCommand,
  passes: passesCommand, repl: replCommand, plan: planCommand, kernel: kernelCommand, summary: summaryCommand,
  report: reportCommand,
};

/** The UsageError message `command argv` throws; fails when it throws something else or nothing. */
async function usageError(command: string, argv: string[]): Promise<string> {
  try {
    await COMMANDS[command](argv);
  } catch (e) {
    assert.instance(e, UsageError, `kiln ${command} ${argv.join(' ')}: threw ${(e as Error)?.stack}`);
    return (e as Error).message;
  }
  return assert.unreachable(`kiln ${command} ${argv.join(' ')} was accepted`) as never;
}

// A model path that does not exist: were the arguments accepted, loading would fail with a KilnError
// (not a UsageError), so a missed check fails the test instead of running anything.
const M = path.join(tmp, 'no-such-model.onnx');

/** [command, argv, the message (exact string, or a pattern)]. */
const CASES: [string, string[], string | RegExp][] = [
  // run
  ['run', [M, '--foo'], /^unknown option '--foo' \(options: --backend, .*--repeat.*\)$/],
  ['run', [M, '--repet', '3'], "unknown option '--repet' (did you mean --repeat?)"],
  ['run', [M, '-x'], /^unknown option '-x' \(options: /],
  ['run', [M, '--repeat'], "option '--repeat' needs a value"],
  ['run', [M, '--outputs', '--json'], "option '--outputs' needs a value"],
  ['run', [M, '--json=yes'], "option '--json' takes no value"],
  ['run', [M, '--seed', '1', '--seed=2'], "option '--seed' is given twice"],
  ['run', [], 'missing MODEL'],
  ['run', [M, 'extra.onnx'], "unexpected argument 'extra.onnx'"],
  ['run', [M, '--repeat', '1e9'], '--repeat must be an integer in [1, 10000], got 1e9'],
  ['run', [M, '--repeat', '0'], '--repeat must be an integer in [1, 10000], got 0'],
  ['run', [M, '--repeat', '2.5'], '--repeat must be an integer in [1, 10000], got 2.5'],
  ['run', [M, '--seed', '1e300'], '--seed must be an integer in [0, 2^32), got 1e300'],
  ['run', [M, '--seed', '-1'], '--seed must be an integer in [0, 2^32), got -1'],
  ['run', [M, '--seed', '4294967296'], '--seed must be an integer in [0, 2^32), got 4294967296'],
  ['run', [M, '--seed', 'abc'], "--seed expects an integer in [0, 2^32), got 'abc'"],
  ['run', [M, '--seed', '0x10'], "--seed expects an integer in [0, 2^32), got '0x10'"],
  ['run', [M, '--seed', ''], "--seed expects an integer in [0, 2^32), got ''"],
  ['run', [M, '--rtol', '-1'], '--rtol must be a number >= 0, got -1'],
  ['run', [M, '--atol', 'Infinity'], "--atol expects a number >= 0, got 'Infinity'"],
  ['run', [M, '--backend', 'tpu'], "unknown backend 'tpu' (did you mean 'cpu'?); available: ref, arena, cpu, webgpu, cuda"],
  // ir
  ['ir', [], 'missing MODEL'],
  ['ir', ['a.kir', 'b.kir'], "unexpected argument 'b.kir'"],
  ['ir', ['--bogus', 'a.kir'], /^unknown option '--bogus'/],
  // conformance
  ['conformance', [], 'missing DIR'],
  ['conformance', ['d', 'e'], "unexpected argument 'e'"],
  ['conformance', ['d', '--filter', '('], /^--filter is not a valid regular expression: .*Unterminated group/],
  ['conformance', ['d', '--rtol', 'abc'], "--rtol expects a number >= 0, got 'abc'"],
  ['conformance', ['d', '--atol', '-1e-5'], '--atol must be a number >= 0, got -1e-5'],
  ['conformance', ['d', '--backend', 'quantum'], "unknown backend 'quantum'; available: ref, arena, cpu, webgpu, cuda"],
  ['conformance', ['d', '--verbse'], "unknown option '--verbse' (did you mean --verbose?)"],
  // zoo
  ['zoo', [], 'missing list or export'],
  ['zoo', ['frob'], "unknown zoo command 'frob'; available: list, export"],
  ['zoo', ['list', 'x'], 'zoo list takes no arguments'],
  ['zoo', ['export', 'mlp'], 'zoo export needs NAME and FILE.onnx'],
  ['zoo', ['export', 'mlp', path.join(tmp, 'z.onnx'), 'y'], "unexpected argument 'y'"],
  ['zoo', ['export', 'mlp', path.join(tmp, 'z.onnx'), '--seed', '1e300'], '--seed must be an integer in [0, 2^32), got 1e300'],
  ['zoo', ['export', 'mlp', path.join(tmp, 'z.onnx'), '--sed', '1'], "unknown option '--sed' (did you mean --seed?)"],
  // opt
  ['opt', [], 'missing MODEL'],
  ['opt', [M, '--target', 'tpu'], "unknown target 'tpu' (did you mean 'cpu'?); available: ref, cpu, cuda, webgpu"],
  ['opt', [M, '--pipeline', 'shape-infer,dcee'],
    /^bad --pipeline: pipeline position 13: unknown pass 'dcee' \(did you mean 'dce'\?\); known passes: .*dce.* \(see `kiln passes`\)$/],
  ['opt', [M, '--pipeline', 'fold-constants{bogus=1}'],
    /^bad --pipeline: pipeline position 16: unknown option 'bogus' of pass 'fold-constants'; its options: max-elements \(see `kiln passes`\)$/],
  ['opt', [M, '--pipeline', 'fold-constants{max-elements=1e300}'], /option 'max-elements' of pass 'fold-constants' expects an integer, got '1e300'/],
  ['opt', [M, '--seed', '1e300'], '--seed must be an integer in [0, 2^32), got 1e300'],
  ['opt', [M, '--rtol', '-1'], '--rtol must be a number >= 0, got -1'],
  ['opt', [M, '--print-ir-after-all', '--print-ir-after-change'], '--print-ir-after-all and --print-ir-after-change exclude each other'],
  ['opt', [M, '--check=1'], "option '--check' takes no value"],
  ['opt', [M, '--dump-dir'], "option '--dump-dir' needs a value"],
  // passes
  ['passes', ['x'], "unexpected argument 'x'"],
  ['passes', ['--jsn'], "unknown option '--jsn' (did you mean --json?)"],
  // repl
  ['repl', ['a', 'b'], "unexpected argument 'b'"],
  ['repl', ['--width', '0'], '--width must be an integer in [20, 1000], got 0'],
  ['repl', ['--width', '1e9'], '--width must be an integer in [20, 1000], got 1e9'],
  ['repl', ['--width'], "option '--width' needs a value"],
  ['repl', ['--plian'], "unknown option '--plian' (did you mean --plain?)"],
  // plan
  ['plan', [], 'missing MODEL'],
  ['plan', [M, '--planner', 'frob'], "unknown planner 'frob'; available: naive, greedy-size, greedy-breadth, best"],
  ['plan', [M, '--planner', 'greedy-sise'], "unknown planner 'greedy-sise' (did you mean 'greedy-size'?); available: naive, greedy-size, greedy-breadth, best"],
  ['plan', [M, '--pipeline', 'frob'], /^bad --pipeline: pipeline position 1: unknown pass 'frob'; known passes: .* \(see `kiln passes`\)$/],
  ['plan', [M, '--alignment', '0'], '--alignment must be an integer in [1, 65536], got 0'],
  ['plan', [M, '--alignment', '1e20'], '--alignment must be an integer in [1, 65536], got 1e20'],
  ['plan', [M, '--order', 'sideways'], "unknown order 'sideways'; available: memory, graph"],
  ['plan', [M, '--target', 'gpu'], "unknown target 'gpu' (did you mean 'cpu'?); available: ref, cpu, cuda, webgpu"],
  ['plan', [M, '--arrow'], "option '--arrow' needs a value"],
  ['plan', [M, '--svg', ''], '--svg needs a file name'],
  // kernel
  ['kernel', [], 'missing -f CONNECTION_FILE (or use `kiln kernel install`)'],
  ['kernel', ['-f'], "option '-f' needs a value"],
  ['kernel', ['--user'], "unknown option '--user' (options: --connection-file (-f))"],
  ['kernel', ['conn.json'], "unexpected argument 'conn.json'"],
  ['kernel', ['install', '--user', '--prefix', path.join(tmp, 'prefix')], '--user and --prefix exclude each other'],
  ['kernel', ['install', 'extra'], "unexpected argument 'extra'"],
  ['kernel', ['install', '--nmae', 'k'], "unknown option '--nmae' (did you mean --name?)"],
  // summary
  ['summary', [], 'missing MODEL'],
  ['summary', ['a.onnx', 'b.onnx'], "unexpected argument 'b.onnx'"],
  ['summary', ['--x', 'a.onnx'], /^unknown option '--x'/],
  // report
  ['report', [], 'missing MODEL (or --replay DIR to rerun a report)'],
  ['report', ['--replay', path.join(tmp, 'r'), M], `--replay reruns the model its manifest names; no MODEL is given with it (got '${M}')`],
  ['report', ['--replay', path.join(tmp, 'r'), '--seed', '2'], '--replay reruns the options its manifest records; --seed cannot be given with it'],
  ['report', ['--replay'], "option '--replay' needs a value"],
  ['report', [M], '--out DIR is required (a new or empty folder for the report)'],
  ['report', [M, '--out', path.join(tmp, 'r'), '--backend', 'tpu'], "unknown backend 'tpu' (did you mean 'cpu'?); available: ref, arena, cpu, webgpu, cuda"],
  ['report', [M, '--out', path.join(tmp, 'r'), '--backend', 'ref', '--backend', 'ref'], '--backend ref is given twice; each backend is timed once'],
  ['report', [M, '--out', path.join(tmp, 'r'), '--repeat', '0'], '--repeat must be an integer in [1, 10000], got 0'],
  ['report', [M, '--out', path.join(tmp, 'r'), '--warmup', '-1'], /^--warmup must be an integer in \[0, 10000\], got -1$/],
  ['report', [M, '--out', path.join(tmp, 'r'), '--tuning', 'fast'], /^unknown tuning 'fast'/],
  ['report', [M, '--out', path.join(tmp, 'r'), '--pipeline', 'dcee'], /^bad --pipeline: .*unknown pass 'dcee'/],
];

test('every command: bad arguments throw a UsageError with kiln\'s one-line wording', async () => {
  for (const command of Object.keys(COMMANDS)) assert.ok(CASES.some(([c]) => c === command), `no case for ${command}`);
  for (const [command, argv, want] of CASES) {
    const message = await usageError(command, argv);
    const where = `kiln ${command} ${argv.join(' ')}`;
    assert.not.match(message, '\n', `${where}: the message is one line: ${message}`);
    if (typeof want === 'string') assert.is(message, want, where);
    else assert.match(message, want, where);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'z.onnx')), 'zoo export wrote nothing');
  assert.not.ok(fs.existsSync(path.join(tmp, 'prefix')), 'kernel install wrote nothing');
});

test('as a process: exit 2, `kiln CMD: <message>` and the usage on stderr, nothing on stdout, no stack trace', () => {
  const cases: [string[], string][] = [
    [['run', 'zoo:mlp', '--repeat', '1e9'], 'kiln run: --repeat must be an integer in [1, 10000], got 1e9'],
    [['ir', '--bogus', 'a.kir'], "kiln ir: unknown option '--bogus'"],
    [['conformance', conformanceDir(), '--rtol', '-1'], 'kiln conformance: --rtol must be a number >= 0, got -1'],
    [['zoo', 'export', 'mlp', path.join(tmp, 'z.onnx'), '--seed', '1e300'], 'kiln zoo: --seed must be an integer in [0, 2^32), got 1e300'],
    [['opt', 'zoo:mlp', '--pipeline', 'frob'], "kiln opt: bad --pipeline: pipeline position 1: unknown pass 'frob'"],
    [['passes', '--jsn'], "kiln passes: unknown option '--jsn' (did you mean --json?)"],
    [['repl', '--width', '0'], 'kiln repl: --width must be an integer in [20, 1000], got 0'],
    [['plan', 'zoo:mlp', '--planner', 'frob'], "kiln plan: unknown planner 'frob'; available: naive, greedy-size, greedy-breadth, best"],
    [['kernel', '-f'], "kiln kernel: option '-f' needs a value"],
    [['summary', 'zoo:mlp', 'zoo:mlp'], "kiln summary: unexpected argument 'zoo:mlp'"],
  ];
  for (const [args, first] of cases) {
    const r = kiln(...args);
    const where = args.join(' ');
    assert.is(r.code, 2, `${where} -> ${r.code}: ${r.err}`);
    assert.is(r.out, '', where);
    const lines = r.err.split('\n');
    assert.is(lines.length, 3, `${where}: two lines and the final newline:\n${r.err}`);
    assert.ok(lines[0].startsWith(first), `${where}: ${lines[0]}`);
    assert.match(lines[1], new RegExp(`^usage: kiln ${args[0]} `), where);
    assert.is(lines[2], '');
    noStack(r, where);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'z.onnx')));
});

test('--version and -V print the package version', () => {
  const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V']) {
    const r = kiln(flag);
    assert.equal([r.code, r.out, r.err], [0, `kiln ${version}\n`, ''], flag);
  }
});

test('a .kir file that fails the verifier, and unknown attributes in .kir and ONNX, exit 1 naming file, node, op and rule', () => {
  const mismatch = path.join(tmp, 'mismatch.kir');
  fs.writeFileSync(mismatch, 'kiln.graph @g(%x: f32[2]) -> (%y: f32[3]) {\n  %y = Relu(%x) : f32[3]\n  return %y\n}\n');
  for (const command of ['ir', 'run']) {
    const r = kiln(command, mismatch);
    assert.is(r.code, 1, `${command}: ${r.err}`);
    assert.is(r.err, `error: ${mismatch}, node 'y', op Relu, rule type.mismatch: output 'y' is declared f32[3] but Relu infers f32[2]\n`, command);
    assert.is(r.out, '', command);
  }
  const kirAttr = path.join(tmp, 'attr.kir');
  fs.writeFileSync(kirAttr, 'kiln.graph @g(%x: f32[2]) -> (%y: f32[2]) {\n  %y = LeakyRelu(%x) {alpha=0.5, beta=1} : f32[2]\n  return %y\n}\n');
  const k = kiln('ir', kirAttr);
  assert.is(k.code, 1, k.err);
  assert.is(k.err, `error: ${kirAttr}, node 'y', op LeakyRelu, attribute 'beta', rule op.attrs: LeakyRelu has no attribute 'beta' (its attributes: alpha)\n`);

  const onnxAttr = path.join(tmp, 'attr.onnx');
  fs.writeFileSync(onnxAttr, modelBytes({
    nodes: [node('Relu', ['x'], ['h'], [], 'relu'), node('Gemm', ['h', 'w'], ['y'], [attr.int('transB', 1), attr.int('transpose_b', 1)], 'fc')],
    inputs: [value('x', 1, [1, 2]), value('w', 1, [3, 2])], outputs: [value('y', 1, [1, 3])],
  }));
  const o = kiln('run', onnxAttr);
  assert.is(o.code, 1, o.err);
  assert.is(o.err, `error: ${onnxAttr}, node 'fc', op Gemm, attribute 'transpose_b': Gemm has no attribute 'transpose_b' (its attributes: transA, transB, alpha, beta)\n`);
  noStack(o, 'run attr.onnx');
});

/** Runs a command in-process with its console and stdout output captured. */
async function captured(fn: () => Promise<number>): Promise<Result> {
  const log = console.log, error = console.error, write = process.stdout.write;
  let out = '', err = '';
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  console.error = (...a: unknown[]) => { err += a.join(' ') + '\n'; };
  process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
  try {
    return { code: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
  }
}

const CASE = 'test_conv_with_strides_padding';

test('run --inputs DIR compares with the expected output_<k>.pb files: errors per output, exit 1 past tolerance', async () => {
  const caseDir = conformanceCase(CASE);
  const model = path.join(caseDir, 'model.onnx');
  const data = path.join(caseDir, 'test_data_set_0');
  const ok = await captured(() => runCommand([model, '--inputs', data]));
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, `  compared with 1 expected output file(s) in ${data} (rtol 0.001, atol 0.00001):\n    y: max abs error 0, max rel error 0  ok\n`);

  // a copy whose expected output is off by 1 in one element
  const bad = path.join(tmp, 'corrupted');
  fs.mkdirSync(bad);
  for (const f of fs.readdirSync(data)) fs.copyFileSync(path.join(data, f), path.join(bad, f));
  const want = readTensorFile(path.join(data, 'output_0.pb'));
  const values = Array.from(readNumbers(want));
  const big = values.findIndex((v) => v !== 0);
  values[big] += 1;
  const relative = 1 / Math.abs(values[big]); // relative to the (corrupted) expected value
  writeTensorFile(path.join(bad, 'output_0.pb'), Tensor.fromNumbers('f32', want.shape, values), 'y');
  const r = await captured(() => runCommand([model, '--inputs', bad]));
  assert.is(r.code, 1);
  assert.match(r.out, new RegExp(`    y: max abs error 1\\.00e\\+0, max rel error ${relative.toExponential(2).replace('+', '\\+')}  MISMATCH: 1 of ${values.length} elements differ`));
  assert.is(r.err, `error: 'y' differs from the expected output in ${bad} beyond tolerance (rtol 0.001, atol 0.00001)\n`);
  // a looser tolerance accepts it; --json carries the comparison
  const loose = await captured(() => runCommand([model, '--inputs', bad, '--atol', '1.5', '--json']));
  assert.is(loose.code, 0, loose.err);
  const j = JSON.parse(loose.out) as { tolerance: unknown; matchesExpected: boolean; outputs: { expected: Record<string, unknown> }[] };
  assert.equal(j.tolerance, { rtol: 0.001, atol: 1.5 });
  assert.is(j.matchesExpected, true);
  assert.equal(j.outputs[0].expected, {
    file: path.join(bad, 'output_0.pb'), maxAbsError: 1, maxRelError: relative, mismatched: 0, withinTolerance: true,
  });
  // without expected outputs nothing is compared
  fs.rmSync(path.join(bad, 'output_0.pb'));
  const none = await captured(() => runCommand([model, '--inputs', bad, '--json']));
  assert.is(none.code, 0, none.err);
  assert.not.ok('matchesExpected' in JSON.parse(none.out));

  // as a process: the exit status and no stack trace
  writeTensorFile(path.join(bad, 'output_0.pb'), Tensor.fromNumbers('f32', want.shape, values), 'y');
  const p = kiln('run', model, '--inputs', bad);
  assert.is(p.code, 1, p.err);
  assert.match(p.err, /^error: 'y' differs from the expected output in .* beyond tolerance/);
  noStack(p, 'run --inputs corrupted');
  // more expected outputs than the graph has is a clear error
  writeTensorFile(path.join(bad, 'output_1.pb'), want, 'z');
  const extra = await captured(async () => {
    try { return await runCommand([model, '--inputs', bad]); } catch (e) { console.error((e as Error).message); return 1; }
  });
  assert.match(extra.err, `${bad}: found 2 expected output files (output_<k>.pb) but the graph has 1 output`);
});

test('conformance --verbose prints each case with its time and worst error', async () => {
  const r = await captured(() => conformanceCommand([conformanceDir(), '--filter', `^(${CASE}|test_relu)$`, '--verbose']));
  assert.is(r.code, 0, r.out);
  assert.equal(r.out.trim().split('\n').map((l) => l.replace(/\d+\.\d ms/, 'T ms')), [
    'PASS test_conv_with_strides_padding  T ms  max abs 0, max rel 0',
    'PASS test_relu  T ms  max abs 0, max rel 0',
    '2 passed, 0 failed, 0 skipped',
  ]);
});

test.run();
