/**
 * Micro-benchmark of the reference executor's compute-heavy kernels (not a test): times Conv
 * (3×3 64→64 on 56×56, 1×1, 7×7/2 stem, depthwise), MatMul (BERT-sized) and a few others in steady
 * state (after 3 warm-up calls), best of several runs, and prints wall ms, process CPU ms and GMAC/s
 * (from CPU time, which other processes on a shared 2-core machine disturb less than wall time).
 * Run: node --import tsx bench/ops-micro.ts
 */
import { Tensor } from '../compiler/ir/tensor.ts';
import { getOp } from '../compiler/ops/registry.ts';
import { AttrReader } from '../compiler/ops/registry.ts';
import type { Attrs } from '../compiler/ir/graph.ts';
import '../compiler/ops/all.ts';

function rand(shape: number[]): Tensor {
  const t = Tensor.zeros('f32', shape);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = Math.random() - 0.5;
  return t;
}

function ints(value: number[]) { return { kind: 'ints' as const, value }; }
function int(value: number) { return { kind: 'int' as const, value }; }

function bench(name: string, op: string, inputs: (Tensor | undefined)[], attrs: Attrs, macs: number, reps = 7): void {
  const def = getOp(op);
  const a = def.parseAttrs(new AttrReader(attrs));
  for (let w = 0; w < 3; w++) def.run(inputs, a, 1); // warm-up: let V8 finish optimizing the kernels
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t = performance.now();
    def.run(inputs, a, 1);
    best = Math.min(best, performance.now() - t);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  }
  console.log(`${name.padEnd(40)} wall ${best.toFixed(1).padStart(7)} ms  cpu ${bestCpu.toFixed(1).padStart(7)} ms  ` +
    `${(macs / bestCpu / 1e6).toFixed(2)} GMAC/s`);
}

const x56 = rand([1, 64, 56, 56]);
bench('Conv 3x3 64->64 @56x56 pad1', 'Conv', [x56, rand([64, 64, 3, 3]), rand([64])], { pads: ints([1, 1, 1, 1]) }, 64 * 576 * 3136);
bench('Conv 1x1 64->256 @56x56', 'Conv', [x56, rand([256, 64, 1, 1]), rand([256])], {}, 256 * 64 * 3136);
bench('Conv 7x7/2 3->64 @224x224 (stem)', 'Conv', [rand([1, 3, 224, 224]), rand([64, 3, 7, 7]), rand([64])],
  { pads: ints([3, 3, 3, 3]), strides: ints([2, 2]) }, 64 * 147 * 112 * 112);
bench('Conv 3x3 512->512 @7x7 pad1', 'Conv', [rand([1, 512, 7, 7]), rand([512, 512, 3, 3])], { pads: ints([1, 1, 1, 1]) }, 512 * 4608 * 49);
bench('Conv depthwise 3x3 144 @56x56', 'Conv', [rand([1, 144, 56, 56]), rand([144, 1, 3, 3])],
  { pads: ints([1, 1, 1, 1]), group: int(144) }, 144 * 9 * 3136);
bench('MatMul [1,128,256]x[256,1024]', 'MatMul', [rand([1, 128, 256]), rand([256, 1024])], {}, 128 * 256 * 1024);
bench('MatMul [1,4,128,64]x[1,4,64,128]', 'MatMul', [rand([1, 4, 128, 64]), rand([1, 4, 64, 128])], {}, 4 * 128 * 64 * 128);
bench('Gemm [1,2048]x[1000,2048]^T', 'Gemm', [rand([1, 2048]), rand([1000, 2048]), rand([1000])], { transB: int(1) }, 2048 * 1000);
bench('MaxPool 3x3/2 64 @112x112', 'MaxPool', [rand([1, 64, 112, 112])],
  { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, 64 * 56 * 56 * 9);
bench('Softmax [4,128,128]', 'Softmax', [rand([4, 128, 128])], {}, 4 * 128 * 128);
bench('LayerNormalization [128,256]', 'LayerNormalization', [rand([1, 128, 256]), rand([256]), rand([256])], {}, 128 * 256);
