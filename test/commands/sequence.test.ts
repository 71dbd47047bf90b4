/**
 * The Session and the `run`/`timings` commands (the REPL's and the Jupyter kernel's) on a graph with
 * sequence and optional outputs (test/support/sequence-graphs.ts): Session.execute returns the
 * sequence and none as values; the run view's outputs table gives the sequence a row (element dtype,
 * `seq of 2: [2,3], [1,3]`, statistics over all elements) and none a `none` row, in the terminal and
 * the kernel's MIME bundle; `run --check` compares element by element; `timings` keeps the values;
 * stepping the pipeline checks each step's sequence outputs (passes/numeric-check.ts, element by
 * element: a changed sequence is past tolerance); and a graph with a sequence input is refused by the
 * random-input path, naming the input, while its steps are left unchecked with that reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/commands/all.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { Session } from '../../compiler/session.ts';
import { NodeTimings } from '../../compiler/runtime/timings.ts';
import { RunView } from '../../compiler/display/views.ts';
import { toMimeBundle, toTerminal } from '../../compiler/display/index.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { SEQ_IN_TEXT, SEQ_OUT_TEXT, SEQ_OUT_X, kirFileOf } from '../support/sequence-graphs.ts';
import { fakeContext } from './fake-context.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { NumericChecker } from '../../compiler/passes/numeric-check.ts';

const model = kirFileOf(SEQ_OUT_TEXT, 'seqout');

test('Session.execute: a sequence output comes back as its tensors, an optional none as null', async () => {
  const s = Session.load(model);
  const r = await s.execute({ inputs: { x: SEQ_OUT_X } });
  const [parts, n, o, none] = r.timing.outputs;
  assert.ok(Array.isArray(parts), 'a sequence');
  assert.equal((parts as Tensor[]).map((t) => [[...t.shape], Array.from(readNumbers(t))]), [[[2, 3], [1, 2, 3, 4, 5, 6]], [[1, 3], [7, 8, 9]]]);
  assert.equal(Array.from(readNumbers(n as Tensor)), [2]);
  assert.equal(Array.from(readNumbers(o as Tensor)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(none, null);
  assert.equal(r.run.stats[0], r.run.stats[2], 'statistics over all elements of the sequence: those of x');
  assert.is(r.run.stats[0].mean, 5);
  assert.ok(Number.isNaN(r.run.stats[3].mean), 'none has no statistics');
  await s.close();
});

test('run: the outputs table has a sequence row and a none row, in the terminal and the MIME bundle; --check passes', async () => {
  const ctx = fakeContext();
  await runLine(`load ${model}`, ctx);
  const v = (await runLine('run --check', ctx)) as RunView;
  assert.instance(v, RunView);
  const rows = v.outputs.rows();
  assert.equal(rows.map((r) => [r.output, r.dtype, r.shape]), [
    ['parts', 'f32', 'seq of 2: [2,3], [1,3]'], ['n', 'i64', '[]'], ['o', 'f32', 'opt [3,3]'], ['none', 'f32', 'none'],
  ]);
  assert.equal([rows[3].mean, rows[3].std, rows[3].min, rows[3].max], [null, null, null, null]);
  assert.equal([rows[0].mean, rows[0].min, rows[0].max], [rows[2].mean, rows[2].min, rows[2].max], 'the sequence holds the rows of x');
  assert.match(v.notes.join('\n'), /numeric check vs reference: max rel error 0 <= tolerance/);
  const text = toTerminal(v, { width: 120, color: false });
  assert.match(text, /parts\s+f32\s+seq of 2: \[2,3\], \[1,3\]/);
  assert.match(text, /none\s+f32\s+none/);
  const bundle = toMimeBundle(v);
  assert.match(bundle['text/plain'], /seq of 2: \[2,3\], \[1,3\]/);
  assert.match(bundle['text/html'], /seq of 2: \[2,3\], \[1,3\]/);
  assert.ok(bundle['application/vnd.apache.arrow.stream'], 'the table as Arrow');
  const t = (await runLine('timings --repeat 2', ctx)) as NodeTimings;
  assert.instance(t, NodeTimings);
  assert.equal(t.nodes.map((x) => x.op), ['SplitToSequence', 'SequenceLength', 'Optional', 'Optional']);
  assert.ok(Array.isArray(t.outputs[0]) && t.outputs[3] === null, 'timings keep the values');
  assert.match(toTerminal(t, { width: 120, color: false }), /SplitToSequence/);
  await ctx.session!.close();
});

test('runall on sequence outputs: every step checked against step 0, element by element', async () => {
  const ctx = fakeContext();
  await runLine(`load ${model}`, ctx);
  await runLine('runall', ctx);
  const s = ctx.session!;
  assert.ok(s.current > 0);
  assert.is(s.numericCheckSkipped, undefined);
  assert.equal([s.at(s.current).withinTolerance, s.at(s.current).maxAbsError], [true, 0]);
  // a graph whose sequence holds the rows of -x is past tolerance
  const base = s.at(0).graph;
  const changed = inferTypes(parseGraph(SEQ_OUT_TEXT.replace('%parts = SplitToSequence(%x, %sp)', '%nx = Neg(%x) : f32[3,3] loc("neg")\n  %parts = SplitToSequence(%nx, %sp)')
    .replace('%o = Optional(%x)', '%o = Optional(%nx)')));
  const r = new NumericChecker(base).check(changed);
  assert.is(r.withinTolerance, false);
  assert.ok(r.maxAbsError > 0 && Number.isFinite(r.maxAbsError), String(r.maxAbsError));
  await s.close();
});

test('Session.execute and timings with a sequence input given as values; a wrong container is refused naming the input', async () => {
  const s = Session.load(kirFileOf(SEQ_IN_TEXT, 'seqin'));
  const xs = [Tensor.fromNumbers('f32', [2], [1, 2]), Tensor.fromNumbers('f32', [3], [3, 4, 5])];
  const inputs = { xs, t: Tensor.fromNumbers('f32', [2], [7, 8]) };
  const r = await s.execute({ inputs, check: true });
  const [cat, more] = r.timing.outputs;
  assert.equal(Array.from(readNumbers(cat as Tensor)), [1, 2, 3, 4, 5]);
  assert.equal((more as Tensor[]).map((t) => Array.from(readNumbers(t))), [[1, 2], [3, 4, 5], [7, 8]]);
  assert.is(r.check?.ok, true);
  const t = await s.timings({ inputs, repeat: 2 });
  assert.equal(t.nodes.map((n) => n.op), ['ConcatFromSequence', 'SequenceInsert']);
  try {
    await s.execute({ inputs: { xs: xs[0], t: inputs.t } });
    assert.unreachable('a tensor where a sequence is declared');
  } catch (e) {
    assert.match((e as Error).message, /'xs'.*not a sequence/);
  }
  await s.close();
});

test('run on a graph with a sequence input: the random inputs refuse it, naming the input; steps are not checked, saying why', async () => {
  const ctx = fakeContext();
  await runLine(`load ${kirFileOf(SEQ_IN_TEXT, 'seqin')}`, ctx);
  assert.is(ctx.session!.numericCheckSkipped, "seq<f32[N]> input 'xs': the check runs on random inputs, which are tensors");
  await runLine('runall', ctx);
  assert.is(ctx.session!.at(ctx.session!.current).withinTolerance, undefined, 'not checked');
  try {
    await runLine('run', ctx);
    assert.unreachable('random inputs for a sequence');
  } catch (e) {
    assert.match((e as Error).message, /cannot make random values for seq<f32\[N\]> input 'xs': random inputs are tensors/);
  }
  await ctx.session!.close();
});

test.run();
