/**
 * Every tile candidate of the GEMM template (compiler/codegen/lower/gemm.ts) computes the right result,
 * not only the default: a tuner may pick any of them. For a MatMul with a constant B (fused bias and
 * relu), a MatMul of two runtime operands, a padded 3x3 convolution (im2col) and a 1x1 convolution (B
 * read in place), on sizes off the tile edges, each candidate is lowered for this machine's vector
 * width (LowerOptions.choices), rendered to C with a main() that loads the inputs and prints the
 * outputs, compiled, run, and compared with the reference executor (1e-5 of the largest |output|).
 * Skipped without a C compiler or without vectors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../../compiler/ops/all.ts';
import '../../compiler/passes/all.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { lazyConstant } from '../../compiler/ir/lazy-weights.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import { renderProgram } from '../../compiler/codegen/render.ts';
import { C, bufferSlots } from '../../compiler/codegen/lang/c.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { cpuLowerTarget } from '../../compiler/runtime/cpu/index.ts';
import { haveCC } from './cc.ts';

const target = cpuLowerTarget();
const runnable = haveCC() && target.vectorBits >= 128;
if (!runnable) console.log('gemm-candidates.test.ts: no C compiler or no vectors: skipping');
const withCC = runnable ? test : test.skip;

/** A seeded uniform(-1, 1) f32 tensor. */
function random(shape: number[], seed: number): Tensor {
  let s = seed * 7919 + 17;
  const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < d.length; i++) { s = (s * 1103515245 + 12345) % 2147483648; d[i] = (s / 2147483648) * 2 - 1; }
  return new Tensor('f32', shape, d);
}

/** `text` parsed, with the named inputs turned into random constants, after `pipeline`. */
function graphOf(text: string, constants: readonly string[], pipeline = ''): Graph {
  let g = parseGraph(text);
  const made = g.inputs.filter((i) => constants.includes(i.name)).map((i, k) => lazyConstant(i.name, random(i.type.shape as number[], k + 2)));
  g = { ...g, inputs: g.inputs.filter((i) => !constants.includes(i.name)), constants: [...g.constants, ...made] };
  if (!pipeline) return g;
  const r = new PassManager({ target: 'cpu', verify: true, numericCheck: false }).run(g, pipeline);
  return r.length ? r[r.length - 1].graph : g;
}

const floats = (d: ArrayLike<number>) => Array.from(d, (x) => C.literal(x, 'f32')).join(', ');

/** Runs `g` compiled with the candidate `choice` of every template choice; returns its outputs. */
function runCompiled(g: Graph, inputs: ReadonlyMap<string, Tensor>, choice: number, dir: string): Float32Array[] | undefined {
  const probe = lowerGraph(g, { target });
  const tunables = probe.tunables.filter((t) => t.template === 'gemm');
  if (tunables.some((t) => choice >= t.candidates.length)) return undefined;
  const choices = new Map(tunables.map((t) => [`${t.template}|${t.key}`, choice]));
  const { program, unsupported } = lowerGraph(g, { target, choices });
  assert.equal(unsupported, []);
  const slots = bufferSlots(program);
  const constants = new Map(g.constants.map((c) => [c.name, c.data!.data as Float32Array]));
  const decls: string[] = [];
  const roots = program.buffers.filter((b) => b.aliasOf === undefined);
  for (const b of roots) {
    const data = inputs.get(b.value)?.data ?? b.packed?.data ?? constants.get(b.value);
    decls.push(data ? `static float b${slots.get(b.value)}[] = { ${floats(data as ArrayLike<number>)} };` : `static float b${slots.get(b.value)}[${Math.max(1, b.count)}];`);
  }
  const outs = g.outputs.map((o) => ({ slot: slots.get(o)!, count: program.buffers.find((b) => b.value === o)!.count }));
  const main = [
    '#include <stdio.h>', ...decls, 'int main(void) {',
    `  void *bufs[] = { ${roots.map((b) => `b${slots.get(b.value)}`).join(', ')} };`, '  kiln_run(bufs);',
    ...outs.map((o) => `  for (int i = 0; i < ${o.count}; i++) printf("%.9g\\n", (double)b${o.slot}[i]);`), '  return 0;', '}',
  ];
  const file = path.join(dir, `c${choice}.c`), exe = path.join(dir, `c${choice}`);
  fs.writeFileSync(file, renderProgram(C, program) + main.join('\n') + '\n');
  const cc = spawnSync('cc', ['-O1', '-march=native', '-fopenmp', '-o', exe, file, '-lm'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(cc.status, 0, cc.stderr);
  const run = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(run.status, 0, run.stderr);
  const values = run.stdout.trim().split('\n').map(Number);
  let at = 0;
  return outs.map((o) => Float32Array.from(values.slice(at, (at += o.count))));
}

function checkAllCandidates(name: string, g: Graph): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-gemm-cand-'));
  try {
    const inputs = randomInputs(g, 5);
    const want = runReference(g, inputs);
    let ran = 0;
    for (let choice = 0; choice < 8; choice++) {
      const got = runCompiled(g, inputs, choice, dir);
      if (!got) break;
      ran++;
      want.forEach((w, k) => {
        const a = w.data as Float32Array;
        let err = 0, max = 0;
        for (let i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - got[k][i])); }
        assert.ok(err <= 1e-5 * (max || 1), `${name}, candidate ${choice}: max error ${err} against max |value| ${max}`);
      });
    }
    assert.ok(ran >= 3, `${name}: only ${ran} candidate(s)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

withCC('every tile candidate: MatMul with a constant B and a fused epilogue, and with a runtime B', () => {
  checkAllCandidates('dense', graphOf(`kiln.graph @dense(%a: f32[13,37], %w: f32[37,45], %c: f32[45]) -> (%2: f32[13,45]) {
  %0 = MatMul(%a, %w) : f32[13,45]
  %1 = Add(%0, %c) : f32[13,45]
  %2 = Relu(%1) : f32[13,45]
  return %2
}`, ['w', 'c'], 'fuse-conv-act'));
  checkAllCandidates('runtime', graphOf(`kiln.graph @rt(%a: f32[2,11,9], %b: f32[2,9,50]) -> (%0: f32[2,11,50]) {
  %0 = MatMul(%a, %b) : f32[2,11,50]
  return %0
}`, []));
});

withCC('every tile candidate: a padded 3x3 convolution and a 1x1 convolution', () => {
  checkAllCandidates('conv3x3', graphOf(`kiln.graph @c3(%x: f32[1,3,9,7], %w: f32[19,3,3,3], %b: f32[19]) -> (%0: f32[1,19,9,7]) {
  %0 = Conv(%x, %w, %b) {pads=[1,1,1,1]} : f32[1,19,9,7]
  return %0
}`, ['w', 'b']));
  checkAllCandidates('conv1x1', graphOf(`kiln.graph @c1(%x: f32[2,5,6,7], %w: f32[14,5,1,1]) -> (%0: f32[2,14,6,7]) {
  %0 = Conv(%x, %w) : f32[2,14,6,7]
  return %0
}`, ['w']));
});

test.run();
