/**
 * Seeded inputs and output statistics for `kiln run` and benchmarks.
 *
 * Random inputs are deterministic for a seed (splitmix32 + Box–Muller): floats ~ N(0, 1), integers
 * uniform in [0, 10) (valid token ids / indices for the zoo models), bools fair coins. Every symbolic
 * input dim needs a size (from `dims`, or bound in the graph: ops/bind-shapes.ts); an unbound one is a
 * KilnError naming it and the options that bind it, never a made-up size.
 */
import type { Graph } from '../ir/graph.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import { Tensor, readNumbers, writeNumbers } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import { KilnError } from '../errors.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';

/** A deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Seeded random tensors for every graph input. */
export function randomInputs(graph: Graph, seed = 0, dims: Readonly<Record<string, number>> = {}): Map<string, Tensor> {
  requireStaticShapes(graph, 'making random inputs', { dims });
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out = new Map<string, Tensor>();
  for (const input of graph.inputs) {
    const { dtype } = input.type;
    const shape = input.type.shape.map((d) => (typeof d === 'number' ? d : dims[d]));
    checkTensorSize({ value: input.name, what: 'graph input' }, dtype, shape);
    if (dtype === 'str') throw new KilnError(`cannot make random values for string input '${input.name}'`);
    const info = dtypeInfo(dtype);
    const draw = info.isFloat ? normal : dtype === 'bool' ? () => (rand() < 0.5 ? 0 : 1) : () => Math.floor(rand() * 10);
    const t = Tensor.zeros(dtype, shape);
    // values are drawn a chunk at a time into the tensor's own storage, so a u8 input near the memory
    // budget never needs an f64 copy eight times its size
    const chunk = new Float64Array(Math.min(t.size, 1 << 16));
    const data = t.data as Exclude<Tensor['data'], string[]>;
    for (let off = 0; off < t.size; off += chunk.length) {
      const len = Math.min(chunk.length, t.size - off);
      for (let i = 0; i < len; i++) chunk[i] = draw();
      writeNumbers(new Tensor(dtype, [len], data.subarray(off, off + len)), chunk);
    }
    out.set(input.name, t);
  }
  return out;
}

/** Summary statistics of a tensor (NaN when empty or non-numeric). */
export interface TensorStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** Mean, standard deviation, min and max of a numeric tensor. */
export function tensorStats(t: Tensor): TensorStats {
  if (t.dtype === 'str' || t.size === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  const v = readNumbers(t);
  let sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / v.length;
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / v.length), min, max };
}
