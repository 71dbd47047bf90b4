/**
 * Direct tests of the mixed-precision pass and its bulk converter: the inlined f16/bf16 encoders give
 * exactly the codes of ir/floatbits.ts (random bit patterns plus every special case), the measured
 * rounding error on hand values, and the zoo in f16 and bf16 — compute ops converted, constant errors
 * reported, bytes saved, and outputs within the documented tolerance of the f32 graph (norm-relative:
 * max |got - ref| / max |ref| below 5e-3 for f16, 3e-2 for bf16).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { f16BitsToF32, f32ToBF16Bits, f32ToF16Bits } from '../../compiler/ir/floatbits.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import '../../compiler/passes/all.ts';
import { findPass } from '../../compiler/passes/pass.ts';
import { mixedPrecision } from '../../compiler/passes/mixed-precision.ts';
import { formatError, narrowF32 } from '../../compiler/passes/narrow-float.ts';
import { Rng } from '../../compiler/zoo/random.ts';
import { runPass, zooBaseline } from './canonical-helpers.ts';

test('the bulk encoders give the same codes as the per-element codecs', () => {
  const rng = Rng.forName(7, 'narrow');
  const bits = new Uint32Array(200_000);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(rng.uniform() * 2 ** 32) >>> 0;
  const specials = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc00001, 0x00000001, 0x33000000, 0x33000001,
    0x387fc000, 0x38800000, 0x477fe000, 0x477fefff, 0x477ff000, 0x47800000, 0x3f7fffff, 0x3effffff, 0x3dcccccd, 0x7f7fffff, 0xff7fffff];
  const data = new Float32Array(bits.length + specials.length + 65536 * 4);
  const view = new Uint32Array(data.buffer);
  view.set(bits);
  view.set(specials, bits.length);
  // around every f16 code: the code's value and its neighbours in f32 (ties, carries into the exponent)
  for (let c = 0, k = bits.length + specials.length; c < 65536; c++) {
    const f = new Float32Array([0]);
    const u = new Uint32Array(f.buffer);
    const h = c & 0x7fff, sign = c & 0x8000 ? 0x80000000 : 0;
    const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
    u[0] = e === 0 ? 0 : (sign | ((e - 15 + 127) << 23) | (m << 13)) >>> 0;
    for (const d of [0, 0x1000, 0x0fff, 0x1001]) view[k++] = (u[0] + d) >>> 0;
  }
  const f16 = narrowF32(data, 'f16').codes, bf16 = narrowF32(data, 'bf16').codes;
  for (let i = 0; i < data.length; i++) {
    if (f16[i] !== f32ToF16Bits(data[i])) assert.unreachable(`f16 of 0x${view[i].toString(16)}: ${f16[i]} vs ${f32ToF16Bits(data[i])}`);
    if (bf16[i] !== f32ToBF16Bits(data[i])) assert.unreachable(`bf16 of 0x${view[i].toString(16)}: ${bf16[i]} vs ${f32ToBF16Bits(data[i])}`);
  }
});

test('rounding error by hand: abs and rel maxima, overflow to inf and underflow to 0 counted apart', () => {
  // f16: 0.1 -> 0.0999755859375, 0.3 -> 0.300048828125, 1000.1 -> 1000.0, 70000 -> inf, 1e-8 -> 0, 2 exact
  const data = new Float32Array([0.1, 0.3, 1000.1, 70000, 1e-8, 2, -0]);
  const { codes, error } = narrowF32(data, 'f16');
  assert.is(codes[3], 0x7c00);
  assert.is(codes[4], 0);
  assert.is(error.overflow, 1);
  assert.is(error.underflow, 1);
  assert.ok(Math.abs(error.maxAbs - Math.abs(1000 - Math.fround(1000.1))) < 1e-9, `maxAbs ${error.maxAbs}`);
  assert.ok(Math.abs(error.maxRel - Math.abs(0.0999755859375 - Math.fround(0.1)) / Math.fround(0.1)) < 1e-9, `maxRel ${error.maxRel}`);
  assert.is(formatError(error), 'max abs 1.0e-1, max rel 2.4e-4, 1 overflow to inf, 1 underflow to 0');
  const bf = narrowF32(new Float32Array([70000, 1e-8]), 'bf16').error;
  assert.is(bf.overflow + bf.underflow, 0, 'bf16 has the f32 range');
});

/** max |got - ref| / max |ref| over the graph's outputs on the model's seeded inputs. */
function normRelError(name: string, g: Graph): number {
  const base = zooBaseline(name);
  const got = runReference(g, base.inputs);
  let worst = 0;
  got.forEach((t, k) => {
    assert.is(t.dtype, base.outputs[k].dtype, 'graph outputs keep their dtype');
    const a = readNumbers(t), b = readNumbers(base.outputs[k]);
    let diff = 0, scale = 0;
    for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
    worst = Math.max(worst, diff / scale);
  });
  return worst;
}

test('bert and bert-decomposed in f16: every MatMul on f16, LayerNorm/Softmax/reductions f32, within 5e-3', () => {
  for (const model of ['bert', 'bert-decomposed']) {
    const g = zooBaseline(model).graph;
    const r = runPass(mixedPrecision, g);
    const matmuls = r.graph.nodes.filter((n) => n.op === 'MatMul');
    assert.is(matmuls.length, 32);
    const types = new Map(r.graph.nodes.flatMap((n) => n.outputs.map((o, k) => [o, n.types[k]] as const)));
    for (const c of r.graph.constants) types.set(c.name, c.type);
    for (const n of matmuls) assert.ok(n.inputs.every((v) => types.get(v)?.dtype === 'f16'), `${n.outputs[0]} reads f16`);
    for (const n of r.graph.nodes.filter((x) => /^(Softmax|LayerNormalization|ReduceMean|Pow)$/.test(x.op))) {
      assert.is(n.types[0].dtype, 'f32', `${n.op} stays f32`);
    }
    assert.is(r.stats.constants, 64, 'the 32 weight matrices and their 32 bias vectors');
    assert.ok(r.stats['bytes-saved'] > 6_000_000);
    // each reported error is what the per-element codec gives (recomputed here for every converted weight)
    const reports = r.decisions.filter((x) => x.reason.startsWith('constant '));
    assert.is(reports.length, 64);
    for (const d of reports) {
      const name = /^constant %(\S+) f32→f16/.exec(d.reason)![1];
      const w = readNumbers(g.constants.find((c) => c.name === name)!.data!);
      let abs = 0, rel = 0, underflow = 0;
      for (const x of w) {
        const q = f16BitsToF32(f32ToF16Bits(x));
        abs = Math.max(abs, Math.abs(q - x));
        if (q !== 0) rel = Math.max(rel, Math.abs(q - x) / Math.abs(x));
        else if (x !== 0) underflow++;
      }
      assert.is(d.reason, `constant %${name} f32→f16: ${formatError({ maxAbs: abs, maxRel: rel, overflow: 0, underflow })}`);
    }
    const err = normRelError(model, r.graph);
    assert.ok(err > 1e-5 && err < 5e-3, `${model} f16 error ${err}`);
  }
});

test('resnet50 after fold-conv-bn + fuse-conv-act + layout, in f16 and bf16: all convs converted, 4 casts, within tolerance', () => {
  let g = zooBaseline('resnet50').graph;
  for (const name of ['fold-conv-bn', 'fold-constants', 'fuse-conv-act', 'layout']) g = runPass(findPass(name)!, g).graph;
  const f16 = runPass(mixedPrecision, g);
  const convs = f16.graph.nodes.filter((n) => n.op.startsWith('kiln.conv'));
  assert.ok(convs.length >= 53 && convs.every((n) => n.types[0].dtype === 'f16'));
  assert.is(f16.stats.casts, 4, 'input, before GlobalAveragePool, before Gemm, output');
  assert.ok(f16.stats['bytes-saved'] > 50_000_000, 'about half of the 102 MB of f32 weights');
  const e16 = normRelError('resnet50', f16.graph);
  assert.ok(e16 < 5e-3, `resnet50 f16 error ${e16}`);
  const bf16 = runPass(mixedPrecision, g, { dtype: 'bf16' });
  assert.ok(bf16.graph.constants.some((c) => c.type.dtype === 'bf16'));
  const eb = normRelError('resnet50', bf16.graph);
  assert.ok(eb > e16 && eb < 3e-2, `resnet50 bf16 error ${eb} (f16 ${e16})`);
});

test('report-errors=false converts lazily to the very same codes and says the error was not measured', () => {
  const g = zooBaseline('mlp').graph;
  const eager = runPass(mixedPrecision, g), lazy = runPass(mixedPrecision, g, { 'report-errors': false });
  assert.is(lazy.stats.constants, eager.stats.constants);
  const byName = new Map(eager.graph.constants.map((c) => [c.name, c]));
  for (const c of lazy.graph.constants) {
    assert.equal(c.data!.data, byName.get(c.name)!.data!.data, c.name);
    assert.is(c.hash, byName.get(c.name)!.hash);
  }
  assert.ok(lazy.decisions.filter((d) => d.reason.startsWith('constant ')).every((d) => d.reason.endsWith('error not measured (report-errors=false)')));
});

test('running the pass again changes nothing; bad options are refused', () => {
  const once = runPass(mixedPrecision, zooBaseline('mlp').graph).graph;
  assert.is(runPass(mixedPrecision, once).graph, once);
  assert.throws(() => runPass(mixedPrecision, once, { dtype: 'f8' }), /option 'dtype' must be f16 or bf16/);
});

test.run();
