/**
 * Symbolic dims on the command line (issue 9, item 2), driven as a user drives it: a detector-like ONNX
 * model with input x f32[N,3,H,W] (test/support/symbolic-model.ts). `--shape INPUT=...` and `--dim
 * NAME=...` bind the dims on every command that loads a model; `summary` reports the hand-counted FLOPs
 * at that size and a formula without a binding; `plan` and `run` stop with the error naming the dims
 * and the options; `run --inputs DIR` binds from the tensors given; bad option text exits 2. The last
 * test checks, command by command, that no figure is computed at a silently bound size: the model
 * bound at two sizes gives two different figures, unbound gives none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, runKiln } from '../support/cli.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { handFlops, symbolicDetectorBytes } from '../support/symbolic-model.ts';
import { writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';

type Result = CliResult;

const kiln = (args: string[], input?: string): Result => runKiln(args, { input });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-shapes-'));
const MODEL = path.join(tmp, 'det.onnx');
fs.writeFileSync(MODEL, symbolicDetectorBytes());

const noStack = (r: Result) => assert.not.match(r.err, /\n\s+at /, `stack trace printed:\n${r.err}`);
const json = (r: Result) => {
  assert.is(r.code, 0, r.err);
  return JSON.parse(r.out);
};

/** The error of item 2: names every symbolic dim, the input carrying it, and both options. */
function assertUnboundError(r: Result, what: string): void {
  assert.is(r.code, 1, `${what}: exit 1\n${r.out}${r.err}`);
  noStack(r);
  assert.match(r.err, `error: ${what} needs concrete sizes, but the graph inputs have symbolic dims N (in x), H (in x), W (in x); `
    + 'bind them with --shape x=<N>x3x<H>x<W> or --dim N=<size> --dim H=<size> --dim W=<size>');
}

test('summary --shape x=1x3x640x640 reports the hand-counted FLOPs at that size', () => {
  const s = json(kiln(['summary', MODEL, '--shape', 'x=1x3x640x640', '--json']));
  assert.is(s.flops, handFlops(1, 640, 640));
  assert.is(s.flops, 196_608_002); // 2·(8·640·640)·27 + 2·8·640·640 + 8·1280·1280 + 2
  assert.is(s.flopsByOp.Conv, 2 * 8 * 640 * 640 * 27);
  assert.equal(s.symbols, []);
  const text = kiln(['summary', MODEL, '--shape', 'x=1x3x640x640']);
  assert.is(text.code, 0);
  assert.match(text.out, '  FLOPs:      196.61 M (≈ 98.30 M MACs)');
  assert.match(text.out, 'inputs:     x f32[1,3,640,640]');
  // --dim binds the same way
  assert.is(json(kiln(['summary', MODEL, '--dim', 'N=1', '--dim', 'H=640', '--dim', 'W=640', '--json'])).flops, handFlops(1, 640, 640));
});

test('summary and ir without a binding show symbols: FLOPs as a formula, types with N, H, W', () => {
  const s = json(kiln(['summary', MODEL, '--json']));
  assert.is(s.flops, null);
  assert.is(s.flopsByOp.Conv, '432·N·H·W');
  assert.is(s.flopsByOp.Relu, '8·N·H·W');
  assert.match(s.flopsFormula, '440·N·H·W');
  assert.ok(['N', 'H', 'W'].every((d) => s.symbols.includes(d)));
  const text = kiln(['summary', MODEL]);
  assert.is(text.code, 0);
  assert.match(text.out, /FLOPs: {6}.*440·N·H·W/);
  assert.match(text.out, 'a formula in the symbolic dims N, H, W of the inputs');
  assert.not.match(text.out, /MACs/, 'no figure');
  const ir = kiln(['ir', MODEL]);
  assert.is(ir.code, 0);
  assert.match(ir.out, 'kiln.graph @test(%x: f32[N,3,H,W])');
  assert.match(ir.out, /Conv\(%x, %w, %b\) .*: f32\[N,8,H,W\]/);
  const bound = kiln(['ir', MODEL, '--shape', 'x=2x3x32x16']);
  assert.is(bound.code, 0);
  assert.match(bound.out, 'kiln.graph @test(%x: f32[2,3,32,16]) -> (%flat: f32[2,8,512], %up: f32[2,8,64,32], %grown: f32[2,8,32,16], %cols: i64[16])');
});

test('plan and run stop without a binding, naming the dims and the options; opt --check too', () => {
  assertUnboundError(kiln(['plan', MODEL]), 'kiln plan');
  assertUnboundError(kiln(['run', MODEL]), 'kiln run');
  const opt = kiln(['opt', MODEL, '--check']);
  assert.is(opt.code, 1);
  noStack(opt);
  assert.match(opt.err, /the numeric check needs concrete sizes, but the graph inputs have symbolic dims N \(in x\), H \(in x\), W \(in x\)/);
  // opt without --check needs no numbers: it prints the optimized IR with its symbols
  const ir = kiln(['opt', MODEL]);
  assert.is(ir.code, 0, ir.err);
  assert.match(ir.out, 'f32[N,3,H,W]');
});

test('plan --shape plans that size; run --shape runs at it; opt --check checks at it', () => {
  const p = json(kiln(['plan', MODEL, '--shape', 'x=1x3x64x32', '--json']));
  assert.is(p.inputBytes, 1 * 3 * 64 * 32 * 4);
  assert.ok(p.valid);
  // a pipeline that binds the dims itself (shape-infer{bind=...}) is planned at its sizes
  const viaPipeline = json(kiln(['plan', MODEL, '--pipeline', 'shape-infer{bind=[N:1,H:64,W:32]},dce', '--json']));
  assert.is(viaPipeline.inputBytes, p.inputBytes);
  const r = json(kiln(['run', MODEL, '--shape', 'x=1x3x64x32', '--json']));
  assert.equal(r.inputs, [{ name: 'x', dtype: 'f32', shape: [1, 3, 64, 32] }]);
  assert.equal(r.outputs.map((o: { shape: number[] }) => o.shape), [[1, 8, 2048], [1, 8, 128, 64], [1, 8, 64, 32], [32]]);
  const opt = kiln(['opt', MODEL, '--check', '--dim', 'N=1', '--dim', 'H=16', '--dim', 'W=16']);
  assert.is(opt.code, 0, opt.err);
  assert.match(opt.out, 'f32[1,3,16,16]');
});

test('run --inputs DIR binds the symbols from the tensors given', () => {
  const dir = path.join(tmp, 'inputs');
  fs.mkdirSync(dir);
  writeTensorFile(path.join(dir, 'input_0.pb'), Tensor.zeros('f32', [2, 3, 8, 4]), 'x');
  const r = json(kiln(['run', MODEL, '--inputs', dir, '--json']));
  assert.equal(r.outputs.map((o: { shape: number[] }) => o.shape), [[2, 8, 32], [2, 8, 16, 8], [2, 8, 8, 4], [4]]);
  // a --shape that contradicts the tensor is an error naming both
  const bad = kiln(['run', MODEL, '--inputs', dir, '--shape', 'x=1x3x8x4']);
  assert.is(bad.code, 1);
  noStack(bad);
  assert.match(bad.err, /input_0\.pb.*tensor is f32\[2,3,8,4\] but graph input 'x' is f32\[1,3,8,4\]: dim 0 differs/);
});

test('bad --shape / --dim text exits 2 with the usage on every command; a bad binding exits 1', () => {
  const bad: [string, string[], string][] = [
    ['run', ['--shape', '1x3x64x64'], "--shape expects INPUT=SIZES such as x=1x3x640x640, got '1x3x64x64'"],
    ['opt', ['--shape', 'x=1x3xHx64'], "--shape x: '1x3xHx64' is not a list of sizes like 1x3x640x640"],
    ['plan', ['--dim', 'N'], "--dim expects NAME=SIZE such as N=8, got 'N'"],
    ['summary', ['--dim', 'N=0'], '--dim N: a size must be a whole number >= 1, got 0'],
    ['ir', ['--shape'], "option '--shape' needs a value"],
    ['repl', ['--dim', 'N=1', '--dim', 'N=2'], "--dim binds 'N' twice (1 and 2)"],
  ];
  for (const [cmd, args, message] of bad) {
    const r = kiln([cmd, MODEL, ...args]);
    assert.is(r.code, 2, `${cmd} ${args.join(' ')}: ${r.err}`);
    noStack(r);
    assert.match(r.err, `kiln ${cmd}: `);
    assert.match(r.err, message);
    assert.match(r.err, `usage: kiln ${cmd} `);
  }
  const cases: [string[], RegExp][] = [
    [['--shape', 'image=1x3x64x64'], /there is no graph input 'image' to give a shape to \(graph inputs: x f32\[N,3,H,W\]\)/],
    [['--shape', 'x=1x3x64'], /the shape of 'x' is given with 3 dims \(1x3x64\) but 'x' has rank 4/],
    [['--shape', 'x=1x4x64x64'], /dim 1 of 'x' is 3 in the model/],
    [['--shape', 'x=1x3x64x64', '--dim', 'N=2'], /symbol 'N' is bound to 1 by the shape of 'x' \(1x3x64x64\) and to 2 by dim N=2/],
    [['--dim', 'B=2'], /symbol 'B' does not occur in the graph inputs \(they use N, H, W\)/],
  ];
  for (const [args, re] of cases) {
    const r = kiln(['summary', MODEL, ...args]);
    assert.is(r.code, 1, `${args.join(' ')}: ${r.err}`);
    noStack(r);
    assert.match(r.err, re);
  }
});

test('no command computes a figure at a silently bound size: two sizes, two figures; unbound, none', () => {
  const at = (shape: string) => ['--shape', `x=${shape}`];
  const A = '1x3x16x16', B = '2x3x32x16';
  // summary: FLOPs
  const fa = json(kiln(['summary', MODEL, ...at(A), '--json'])).flops, fb = json(kiln(['summary', MODEL, ...at(B), '--json'])).flops;
  assert.equal([fa, fb], [handFlops(1, 16, 16), handFlops(2, 32, 16)]);
  assert.is(json(kiln(['summary', MODEL, '--json'])).flops, null);
  // plan: bytes
  const pa = json(kiln(['plan', MODEL, ...at(A), '--json'])), pb = json(kiln(['plan', MODEL, ...at(B), '--json']));
  assert.ok(pb.peakBytes > pa.peakBytes && pb.inputBytes === 4 * pa.inputBytes, `${pa.peakBytes} ${pb.peakBytes}`);
  assert.is(kiln(['plan', MODEL]).code, 1);
  // run: output shapes
  const ra = json(kiln(['run', MODEL, ...at(A), '--json'])), rb = json(kiln(['run', MODEL, ...at(B), '--json']));
  assert.equal([ra.outputs[0].shape, rb.outputs[0].shape], [[1, 8, 256], [2, 8, 512]]);
  assert.is(kiln(['run', MODEL]).code, 1);
  // ir and opt: types
  assert.match(kiln(['ir', MODEL, ...at(A)]).out, '%flat: f32[1,8,256]');
  assert.match(kiln(['ir', MODEL, ...at(B)]).out, '%flat: f32[2,8,512]');
  assert.not.match(kiln(['ir', MODEL]).out, /%flat: f32\[\d/);
  assert.match(kiln(['opt', MODEL, ...at(B)]).out, 'f32[2,3,32,16]');
  // the REPL (piped): the memory plan and a run, through `kiln repl MODEL --shape ...`
  const script = 'mem\nrun\n';
  const repl = (extra: string[]) => kiln(['repl', MODEL, ...extra], script);
  const peak = (r: Result) => /\bpeak +([\d.]+ \w*B)/.exec(r.out)?.[1];
  const qa = repl(at(A)), qb = repl(at(B));
  assert.is(qa.code, 0, qa.err);
  assert.is(qb.code, 0, qb.err);
  assert.ok(peak(qa) && peak(qb) && peak(qa) !== peak(qb), `peaks ${peak(qa)} ${peak(qb)}\n${qa.out}`);
  assert.match(qa.out, 'x: f32[1,3,16,16]');
  assert.match(qb.out, 'x: f32[2,3,32,16]');
  const unbound = repl([]);
  assert.is(unbound.code, 1, 'mem and run fail');
  assert.match(unbound.err, /the memory plan needs concrete sizes, but the graph inputs have symbolic dims N \(in x\)/);
  assert.match(unbound.err, /run needs concrete sizes/);
  assert.not.ok(peak(unbound), 'no peak figure');
});

test.run();
