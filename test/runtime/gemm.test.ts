/**
 * The GEMM template (compiler/codegen/lower/gemm.ts) on the cpu backend against the reference executor:
 * MatMul (constant and runtime B, batched with broadcast, fused bias/relu/residual), Gemm (transA,
 * transB, alpha, beta, C) and group-1 convolutions as implicit GEMM (1x1, 3x3 padded, strided 7x7,
 * fused epilogue, two images), on sizes around the tile edges (M, N, K = 1, 7, 17, 33, ...), at one
 * and two threads. Each case also checks that the kernel really ran on the template (a vector load
 * in its kernel IR). Random data with fixed seeds; tolerance 1e-5 of the largest |output| (the
 * reference accumulates in f64, the template in f32 in another order).
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import type { Attrs, Graph, Node } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { lazyConstant } from '../../compiler/ir/lazy-weights.ts';
import '../../compiler/ops/all.ts';
import '../../compiler/passes/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const cc = findCCompiler();
if (!cc) console.log('gemm.test.ts: no C compiler found: skipping');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-gemm-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

/** A seeded uniform(-1, 1) f32 tensor. */
function random(shape: number[], seed: number): Tensor {
  let s = seed * 7919 + 17;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; d[i] = (s / 2147483648) * 2 - 1; }
  return new Tensor('f32', shape, d);
}

const f32 = (shape: number[]) => ({ dtype: 'f32' as DType, shape });
const ints = (value: number[]) => ({ kind: 'ints' as const, value });

/** A graph builder: inputs, constants and nodes by name. */
function graph(name: string, parts: {
  inputs: Record<string, number[]>; constants?: Record<string, Tensor>;
  nodes: { op: string; inputs: string[]; out: string; shape: number[]; attrs?: Attrs }[]; outputs: string[];
}): Graph {
  return {
    name,
    inputs: Object.entries(parts.inputs).map(([n, shape]) => ({ name: n, type: f32(shape) })),
    constants: Object.entries(parts.constants ?? {}).map(([n, t]) => lazyConstant(n, t)),
    nodes: parts.nodes.map((x): Node => ({ op: x.op, inputs: x.inputs, outputs: [x.out], types: [f32(x.shape)], attrs: x.attrs ?? {}, loc: [`/${x.out}`] })),
    outputs: parts.outputs,
  };
}

/** Runs `g` after the default cpu pipeline on the cpu backend and compares with the reference on `g`. */
async function check(g: Graph, threads: number, seed = 3): Promise<void> {
  const results = new PassManager({ target: 'cpu' }).run(g, defaultPipeline('cpu'));
  const compiled = results.length ? results[results.length - 1].graph : g;
  const inputs = randomInputs(g, seed);
  const want = runReference(g, inputs);
  const program = await prepareCpu(compiled, undefined, { threads });
  try {
    const kir = program.artifacts.find((a) => a.name.endsWith('.kir'))?.content ?? '';
    assert.ok(/vload<\d+>/.test(kir), `@${g.name}: no vector load in the kernel IR (the template did not run)`);
    const got = expectTensors(await program.run(inputs));
    want.forEach((w, k) => {
      const a = w.data as Float32Array, b = got[k].data as Float32Array;
      assert.is(b.length, a.length);
      let err = 0, max = 0;
      for (let i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
      assert.ok(err <= 1e-5 * (max || 1), `@${g.name} output ${k}: max error ${err} against max |value| ${max}`);
    });
  } finally {
    await program.dispose();
  }
}

const SIZES: [number, number, number][] = [[1, 1, 1], [7, 17, 33], [17, 33, 7], [33, 7, 17], [6, 32, 5], [13, 48, 64], [2, 1000, 40]];

withCC('MatMul with a constant B, plus bias and relu fused (kiln.matmul), on edge sizes', async () => {
  for (const [M, N, K] of SIZES) {
    for (const threads of [1, 2]) {
      await check(graph(`mm_${M}_${N}_${K}`, {
        inputs: { a: [M, K] }, constants: { w: random([K, N], M + N), bias: random([N], K) },
        nodes: [
          { op: 'MatMul', inputs: ['a', 'w'], out: 'y', shape: [M, N] },
          { op: 'Add', inputs: ['y', 'bias'], out: 'z', shape: [M, N] },
          { op: 'Relu', inputs: ['z'], out: 'r', shape: [M, N] },
        ],
        outputs: ['r'],
      }), threads);
    }
  }
});

withCC('MatMul of two runtime operands, batched with broadcast, and a 3-D A folded into rows', async () => {
  await check(graph('bmm', {
    inputs: { a: [2, 1, 7, 9], b: [3, 9, 17] },
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], out: 'y', shape: [2, 3, 7, 17] }], outputs: ['y'],
  }), 2);
  await check(graph('rows', {
    inputs: { a: [2, 5, 33], r: [2, 5, 20] }, constants: { w: random([33, 20], 4) },
    nodes: [
      { op: 'MatMul', inputs: ['a', 'w'], out: 'y', shape: [2, 5, 20] },
      { op: 'Add', inputs: ['y', 'r'], out: 'z', shape: [2, 5, 20] },
    ],
    outputs: ['z'],
  }), 2);
});

withCC('Gemm with transA, transB, alpha, beta and a broadcast C, constant and runtime B', async () => {
  for (const [M, N, K] of [[7, 17, 33], [1, 40, 3], [20, 9, 16], [1, 1000, 64]]) {
    await check(graph(`gemm_${M}_${N}_${K}`, {
      inputs: { a: [K, M] }, constants: { b: random([N, K], 5), c: random([N], 6) },
      nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], out: 'y', shape: [M, N], attrs: { transA: { kind: 'int', value: 1 }, transB: { kind: 'int', value: 1 }, alpha: { kind: 'float', value: 0.5 }, beta: { kind: 'float', value: 2 } } }],
      outputs: ['y'],
    }), 2);
    await check(graph(`gemm_rt_${M}_${N}_${K}`, {
      inputs: { a: [M, K], b: [K, N], c: [M, 1] },
      nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], out: 'y', shape: [M, N] }], outputs: ['y'],
    }), 1);
  }
});

withCC('group-1 convolutions as implicit GEMM: 1x1, 3x3 padded, 7x7 strided, with bias, relu and a residual', async () => {
  const cases: { name: string; x: number[]; w: number[]; out: number[]; attrs: Attrs }[] = [
    { name: 'pw', x: [2, 9, 5, 7], w: [17, 9, 1, 1], out: [2, 17, 5, 7], attrs: {} },
    { name: 'c3', x: [1, 5, 9, 11], w: [13, 5, 3, 3], out: [1, 13, 9, 11], attrs: { pads: ints([1, 1, 1, 1]) } },
    { name: 'c7', x: [1, 3, 19, 18], w: [8, 3, 7, 7], out: [1, 8, 10, 9], attrs: { pads: ints([3, 3, 3, 3]), strides: ints([2, 2]) } },
    { name: 'c1s2', x: [1, 16, 9, 9], w: [33, 16, 1, 1], out: [1, 33, 5, 5], attrs: { strides: ints([2, 2]) } },
  ];
  for (const c of cases) {
    for (const threads of [1, 2]) {
      await check(graph(c.name, {
        inputs: { x: c.x, r: c.out }, constants: { w: random(c.w, c.w[0]), b: random([c.w[0]], 2) },
        nodes: [
          { op: 'Conv', inputs: ['x', 'w', 'b'], out: 'y', shape: c.out, attrs: c.attrs },
          { op: 'Add', inputs: ['y', 'r'], out: 'z', shape: c.out },
          { op: 'Relu', inputs: ['z'], out: 'o', shape: c.out },
        ],
        outputs: ['o'],
      }), threads);
    }
  }
});

test.run();
