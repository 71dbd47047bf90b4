/**
 * Seeded inputs for the zoo models, shared by the zoo tests: f32 inputs ~ N(0,1), `input_ids`
 * uniform over the BERT vocabulary, `attention_mask` ones for the first `valid` positions and zeros
 * after (padding), so the mask path is exercised; the decoder's `prompt` and `max_new_tokens` are its
 * default inputs (`decoderInputs`, which stop at EOS before the budget). Also small statistics helpers.
 */
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, i64Tensor, readF32, shapeSize } from '../../compiler/ir/tensor.ts';
import { Rng } from '../../compiler/zoo/random.ts';
import { BERT_CONFIG } from '../../compiler/zoo/bert.ts';
import { decoderInputs } from '../../compiler/zoo/decoder.ts';

/** Inputs of `graph` with symbolic dims bound to `batch`. */
export function zooInputs(graph: Graph, seed = 1, batch = 1, valid = 96): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  const decoder = decoderInputs();
  for (const input of graph.inputs) {
    const given = graph.name === 'decoder' ? decoder.get(input.name) : undefined;
    if (given) {
      m.set(input.name, given);
      continue;
    }
    const shape = input.type.shape.map((d) => (typeof d === 'number' ? d : batch));
    const rng = Rng.forName(seed, input.name);
    const n = shapeSize(shape);
    if (input.name === 'input_ids') m.set(input.name, i64Tensor(Array.from({ length: n }, () => rng.int(0, BERT_CONFIG.vocab)), shape));
    else if (input.name === 'attention_mask') m.set(input.name, i64Tensor(Array.from({ length: n }, (_, i) => (i % shape[shape.length - 1] < valid ? 1 : 0)), shape));
    else {
      const data = new Float32Array(n);
      rng.fillNormal(data, 0, 1);
      m.set(input.name, new Tensor('f32', shape, data));
    }
  }
  return m;
}

/** Mean, standard deviation, max |x| and whether every element is finite. */
export function stats(t: Tensor): { mean: number; std: number; maxAbs: number; finite: boolean } {
  const d = readF32(t);
  let s = 0, s2 = 0, maxAbs = 0, finite = true;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!Number.isFinite(v)) finite = false;
    s += v;
    s2 += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(Math.max(0, s2 / d.length - mean * mean)), maxAbs, finite };
}

/** Largest |a - b| over two same-sized tensors (optionally only where `keep(i)`). */
export function maxAbsDiff(a: Tensor, b: Tensor, keep: (i: number) => boolean = () => true): number {
  const x = readF32(a), y = readF32(b);
  if (x.length !== y.length) throw new Error(`sizes differ: ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) if (keep(i)) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
