/**
 * Symbolic dims in the Session and the shared command table: `Session.load(ref, {shapes, dims})` and
 * `load MODEL --shape INPUT=SIZES --dim NAME=SIZE` bind them (and the numeric check runs at that
 * size); unbound, the session still steps through passes, but the numeric check is skipped with the
 * reason stated, and `check`, `mem`, `run` and `timings` stop with the error naming the dims and the
 * options — no figure is computed at a made-up size.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from '../../compiler/session.ts';
import { KilnError } from '../../compiler/errors.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { findCommand } from '../../compiler/commands/all.ts';
import { loadLine } from '../../repl/index.ts';
import { symbolicDetectorBytes } from '../support/symbolic-model.ts';
import { fakeContext } from '../commands/fake-context.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-session-shapes-'));
const MODEL = path.join(tmp, 'det.onnx');
fs.writeFileSync(MODEL, symbolicDetectorBytes());
const PIPE = 'shape-infer,fold-constants,fuse-conv-act,dce';
const UNBOUND = /needs concrete sizes, but the graph inputs have symbolic dims N \(in x\), H \(in x\), W \(in x\); bind them with --shape x=<N>x3x<H>x<W> or --dim N=<size> --dim H=<size> --dim W=<size>/;

async function rejects(p: Promise<unknown> | (() => unknown), re: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.instance(e, KilnError, `not a KilnError: ${(e as Error).stack}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a KilnError matching ${re}`);
}

test('Session.load(ref, {shapes}) binds the dims; the numeric check runs at that size', () => {
  const s = Session.load(MODEL, { pipeline: PIPE, shapes: { x: [1, 3, 16, 8] } });
  assert.equal(s.graph(0).inputs[0].type.shape, [1, 3, 16, 8]);
  assert.is(s.numericCheckSkipped, undefined);
  const last = s.run();
  assert.is(last.withinTolerance, true);
  assert.is(last.maxAbsError, 0);
  assert.ok(s.memory().peakBytes > 0);
  assert.match(s.summary(), /numeric check: on \(rtol/);
  // a Graph given to Session.load is bound the same way
  const g = Session.load(MODEL, { pipeline: '' }).graph(0);
  assert.equal(Session.load(g, { pipeline: '', dims: { N: 2, H: 4, W: 4 } }).graph(0).inputs[0].type.shape, [2, 3, 4, 4]);
});

test('unbound: steps run, the check is skipped with the reason, numbers are refused', async () => {
  const s = Session.load(MODEL, { pipeline: PIPE });
  assert.is(s.numericCheckSkipped, 'symbolic input dims N (in x), H (in x), W (in x); bind them when loading: --shape INPUT=SIZES or --dim NAME=SIZE');
  const last = s.run();
  assert.is(last.maxAbsError, undefined, 'no error figure');
  assert.is(last.withinTolerance, undefined);
  assert.is(s.at(0).maxAbsError, undefined);
  const summary = s.summary();
  assert.match(summary, /numeric check: skipped: symbolic input dims N \(in x\), H \(in x\), W \(in x\); bind them when loading/);
  assert.match(summary, /current graph: \d+ nodes, \d+ constants, .*N·H·W.* FLOPs;/);
  await rejects(() => s.check(), UNBOUND);
  await rejects(() => s.memory(), /the memory plan needs concrete sizes/);
  const ctx = fakeContext(s);
  for (const cmd of ['run', 'timings', 'mem', 'check']) await rejects(runLine(cmd, ctx), /needs concrete sizes, but the graph inputs have symbolic dims N \(in x\)/);
});

test('load MODEL --shape / --dim in the command table', async () => {
  const ctx = fakeContext();
  await runLine(`load ${MODEL} --shape x=1x3x16x16 --pipeline ${PIPE}`, ctx);
  assert.equal(ctx.session!.graph().inputs[0].type.shape, [1, 3, 16, 16]);
  const mem16 = (await runLine('mem', ctx)) as object;
  assert.ok(mem16);
  const peak16 = ctx.session!.memory().peakBytes;
  await runLine(`load ${MODEL} --dim N=2 --dim H=16 --dim W=16 --pipeline ${PIPE}`, ctx);
  assert.equal(ctx.session!.graph().inputs[0].type.shape, [2, 3, 16, 16]);
  assert.ok(ctx.session!.memory().peakBytes > peak16, 'the plan is at the bound size');
  await runLine('runall', ctx);
  assert.is(ctx.session!.at().withinTolerance, true);
  // zoo models with a symbolic batch bind the same way
  await runLine('load zoo:mlp --batch N --dim N=4 --no-check', ctx);
  assert.equal(ctx.session!.graph().inputs[0].type.shape, [4, 784]);
  // errors name the option and what is wrong
  await rejects(runLine(`load ${MODEL} --shape 1x3x16x16`, ctx), /^load: --shape expects INPUT=SIZES such as x=1x3x640x640, got '1x3x16x16' \(usage: load MODEL/);
  await rejects(runLine(`load ${MODEL} --dim N=0`, ctx), /^load: --dim N: a size must be a whole number >= 1, got 0/);
  await rejects(runLine(`load ${MODEL} --shape x=1x3x16`, ctx), /the shape of 'x' is given with 3 dims \(1x3x16\) but 'x' has rank 4/);
  await rejects(runLine(`load ${MODEL} --shape y=1x3x16x16`, ctx), /there is no graph input 'y'/);
  // the help lists the options and its examples run
  const load = findCommand('load')!;
  assert.match(load.usage, '[--shape INPUT=SIZES]... [--dim NAME=SIZE]...');
  for (const ex of load.examples!.filter((e) => /--shape|--dim/.test(e))) await runLine(ex, fakeContext());
});

test('kiln repl MODEL --shape ... opens with the same load line', () => {
  assert.is(loadLine('a b.onnx', { shapes: { x: [1, 3, 64, 64] }, dims: { N: 2 } }), 'load "a b.onnx" --shape x=1x3x64x64 --dim N=2');
  assert.is(loadLine('zoo:mlp'), 'load zoo:mlp');
});

test.run();
