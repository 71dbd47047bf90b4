/**
 * The numeric check of a compiled program (compiler/runtime/check.ts): outputs against the reference
 * executor's on the same inputs, norm-relative as the pass pipeline's numeric check; the default
 * tolerance widens only to bounds the program's kernels declare (Winograd), and the report names them.
 * Programs here are plain objects with given outputs (no compiler needed); the CLI case compiles.
 * Sequence and optional outputs compare element by element, by length and by presence.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { DeclaredTolerance, Program } from '../../compiler/runtime/backend.ts';
import { checkAgainstReference, formatCheck } from '../../compiler/runtime/check.ts';
import { runKiln } from '../support/cli.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';

const graph = parseGraph('kiln.graph @g(%x: f32[4]) -> (%0: f32[4]) {\n  %0 = Relu(%x) : f32[4]\n  return %0\n}\n');
const x = new Tensor('f32', [4], new Float32Array([-1, 2, -3, 4]));
const inputs = new Map([['x', x]]);
const program = (tolerances: DeclaredTolerance[] = []): Program => ({
  backend: 'fake', prepareMs: 0, artifacts: [], tolerances, run: async () => [], dispose: async () => {},
});
const out = (...v: number[]) => [new Tensor('f32', [4], new Float32Array(v))];

test('exact outputs pass with zero error; the default tolerance is 1e-4 norm-relative', async () => {
  const c = await checkAgainstReference(graph, program(), inputs, out(0, 2, 0, 4));
  assert.is(c.ok, true);
  assert.is(c.maxRelError, 0);
  assert.is(c.rtol, 1e-4);
  assert.equal(c.declared, []);
  assert.match(formatCheck(c), /^numeric check vs reference: max rel error 0 <= tolerance 1\.0e-4$/);
});

test('an error of 5e-4 of the largest output fails by default and passes under a declared 1e-3 bound', async () => {
  const off = out(0, 2, 0, 4 + 4 * 5e-4); // abs error 2e-3, max |ref| 4: 5e-4 relative
  const plain = await checkAgainstReference(graph, program(), inputs, off);
  assert.is(plain.ok, false);
  assert.ok(Math.abs(plain.maxRelError - 5e-4) < 1e-6, String(plain.maxRelError));
  assert.match(formatCheck(plain), /> tolerance 1\.0e-4; beyond tolerance: 0$/);
  const wino = { kernel: 'k3', nodes: ['0'], rel: 1e-3, what: 'Winograd F(4x4,3x3) convolution, f32' };
  const declared = await checkAgainstReference(graph, program([wino, { ...wino, kernel: 'k7' }]), inputs, off);
  assert.is(declared.ok, true);
  assert.is(declared.rtol, 1e-3);
  assert.equal(declared.declared, [{ what: wino.what, rel: 1e-3, kernels: 2 }]);
  assert.match(formatCheck(declared), /<= tolerance 1\.0e-3 \(declared by Winograd F\(4x4,3x3\) convolution, f32: 1\.0e-3 in 2 kernels\)/);
});

test('a missing output or a NaN where the reference has a number is an infinite error', async () => {
  const none = await checkAgainstReference(graph, program(), inputs, []);
  assert.is(none.ok, false);
  assert.is(none.maxRelError, Infinity);
  const nan = await checkAgainstReference(graph, program(), inputs, out(0, NaN, 0, 4));
  assert.is(nan.ok, false);
});

(findCCompiler() ? test : test.skip)('kiln run --backend cpu --check reports the check (text and JSON)', () => {
  const env = { ...process.env, KILN_TUNING: 'off' };
  const text = runKiln(['run', 'zoo:mlp', '--backend', 'cpu', '--check'], { env });
  assert.is(text.code, 0, text.err);
  assert.match(text.out, /numeric check vs reference: max rel error \S+ <= tolerance 1\.0e-4/);
  const json = runKiln(['run', 'zoo:mlp', '--backend', 'cpu', '--check', '--json'], { env });
  assert.is(json.code, 0, json.err);
  const j = JSON.parse(json.out);
  assert.is(j.check.ok, true);
  assert.ok(j.check.maxRelError < 1e-4);
});

test('sequence outputs compare element by element (worst element over the largest scale); length and presence must agree', async () => {
  const g = parseGraph(`kiln.graph @g(%x: f32[4]) -> (%s: seq<f32[4]>, %o: opt<f32[2]>) {
  %r = Relu(%x) : f32[4] loc("relu")
  %s = SequenceConstruct(%x, %r) : seq<f32[4]> loc("build")
  %o = Optional() {type="f32[2]"} : opt<f32[2]> loc("none")
  return %s, %o
}
`);
  const t = (...v: number[]) => new Tensor('f32', [4], new Float32Array(v));
  const ok = await checkAgainstReference(g, program(), inputs, [[t(-1, 2, -3, 4), t(0, 2, 0, 4)], null]);
  assert.is(ok.ok, true);
  assert.equal(ok.outputs.map((o) => [o.name, o.maxAbsError]), [['s', 0], ['o', 0]]);
  const off = await checkAgainstReference(g, program(), inputs, [[t(-1, 2, -3, 4), t(0, 2, 0, 4.004)], null]);
  assert.is(off.ok, false);
  assert.ok(Math.abs(off.outputs[0].maxRelError - 1e-3) < 1e-6, String(off.outputs[0].maxRelError));
  assert.match(formatCheck(off), /beyond tolerance: s$/);
  const short = await checkAgainstReference(g, program(), inputs, [[t(-1, 2, -3, 4)], t(0, 0, 0, 0)]);
  assert.equal(short.outputs.map((o) => [o.maxAbsError, o.ok]), [[Infinity, false], [Infinity, false]], 'a shorter sequence; a tensor where none is expected');
});

test.run();
