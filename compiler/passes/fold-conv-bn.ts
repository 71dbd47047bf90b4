/**
 * fold-conv-bn: folds an inference BatchNormalization into the Conv, Gemm or MatMul that feeds it.
 *
 * BatchNormalization computes y = (x - mean) · k + beta with k = gamma / sqrt(var + eps), one value per
 * channel (axis 1). When x = Conv(X, W, b), channel c is W's output channel (row) c, so
 *   y = Conv(X, W', b')   with  W'[c, ...] = W[c, ...] · k[c],  b'[c] = (b[c] - mean[c]) · k[c] + beta[c]
 * (b = 0 when the Conv has no bias). For a 2-D Gemm or MatMul output [M, N] the channel is the output
 * column n: B's column n (row n when transB) is scaled by k[n] and the bias becomes
 * (beta_gemm · C - mean) · k + beta, broadcast with C's shape (Gemm; beta becomes 1), or a new bias
 * Add after the MatMul (which fuse-conv-act then fuses as the MatMul's bias).
 *
 * Conditions, each rejection recorded with its reason: the BN input is produced by a Conv, Gemm or
 * MatMul whose output has no other user (and is not a graph output); W/B, the conv bias (or Gemm C)
 * and the four BN parameters are constants with data; float dtypes; for MatMul, A and B are 2-D; the
 * BN is in inference mode (training_mode 0, a single output).
 *
 * Design choice: the new weights and bias are computed directly into new constants rather than
 * emitted as Mul/Add nodes for fold-constants (TVM's route), because this costs nothing at compile
 * time: the scaled weight is a lazy tensor (lazy-weights.ts), computed from the original weight on
 * first read of its data (reference run, backend, hash for printing or verification) in one
 * multiply pass, and its hash is likewise computed on first read. The per-channel vectors (k, b') are
 * tiny and computed eagerly in double precision. A fold-constants run after this pass therefore has
 * nothing left to do for the folded BNs. Weights the pass does not change are never copied; constants
 * left unread by the rewrite (the old W, b and BN parameters) are removed.
 *
 * The folded node takes the BN's output name and type (so every consumer and the graph outputs are
 * untouched) and sits at the producer's position; provenance is the producer's loc then the BN's.
 * For MatMul, the scaled MatMul gets a fresh output name and the bias Add takes the BN's name.
 */
import type { Constant, Node } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import type { Tensor } from '../ir/tensor.ts';
import { FLOAT_TYPES } from '../ops/support.ts';
import { allocFloat, floatData, floatTensor } from '../ops/float-io.ts';
import type { Pass } from './pass.ts';
import { dropOrphanedConstants, unionLoc } from './graph-edit.ts';
import { lazyConstant, lazyTensor } from '../ir/lazy-weights.ts';
import { GraphIndex } from './graph-index.ts';

const NAME = 'fold-conv-bn';

/** Ops a BatchNormalization folds into. */
const PRODUCERS: ReadonlySet<string> = new Set(['Conv', 'Gemm', 'MatMul']);

/** Per-channel BN factors: y = x · scale + shift. */
interface BnFactors {
  readonly scale: Float64Array;
  readonly mean: Float64Array;
  readonly beta: Float64Array;
}

/** The rewrite of one producer: the nodes replacing it and the new constants. */
interface Fold {
  readonly nodes: Node[];
  readonly constants: Constant[];
}

/** W scaled along `axis` (0: rows = dim 0; 1: columns of a 2-D matrix) by `k`, computed lazily. */
function scaledWeight(w: Tensor, k: Float64Array, axis: 0 | 1): Tensor {
  return lazyTensor(w.dtype, w.shape, () => {
    const src = floatData(w);
    const rows = w.shape[0], cols = rows ? w.size / rows : 0;
    if (src instanceof Float32Array) {
      const out = new Float32Array(w.size);
      if (axis === 0) scaleRows32(src, out, k, rows, cols);
      else scaleCols32(src, out, k, rows, cols);
      return floatTensor(w.dtype, w.shape, out).data;
    }
    const out = new Float64Array(w.size);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[r * cols + c] = src[r * cols + c] * k[axis === 0 ? r : c];
    }
    return floatTensor(w.dtype, w.shape, out).data;
  });
}

/** out[r, :] = src[r, :] · k[r] (monomorphic f32 loop: the hot path of folding a whole network). */
function scaleRows32(src: Float32Array, out: Float32Array, k: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const s = k[r], o = r * cols, end = o + cols;
    for (let i = o; i < end; i++) out[i] = src[i] * s;
  }
}

/** out[r, c] = src[r, c] · k[c]. */
function scaleCols32(src: Float32Array, out: Float32Array, k: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[o + c] = src[o + c] * k[c];
  }
}

/** A small tensor of `dtype` from f64 values. */
function vector(dtype: DType, shape: readonly number[], values: Float64Array): Tensor {
  const out = allocFloat(dtype, values.length);
  out.set(values);
  return floatTensor(dtype, shape, out);
}

/** The fold-conv-bn pass. */
export const foldConvBnPass: Pass = {
  name: NAME,
  summary: 'fold BatchNormalization into the preceding Conv/Gemm/MatMul (scaled weights and bias)',
  description:
    'BatchNormalization(Conv(X, W, b)) becomes Conv(X, W·k, (b - mean)·k + beta) with k = gamma/sqrt(var + eps) per '
    + 'output channel; after a 2-D Gemm or MatMul the output columns are scaled the same way (MatMul gets a bias Add). '
    + 'Requires constant weights and BN parameters and a producer output read only by the BN. The scaled weights are '
    + 'computed on first use (no cost at compile time); unchanged weights are never copied.',
  options: [],
  statistics: [
    { name: 'folded', help: 'BatchNormalization nodes folded' },
    { name: 'folded-conv', help: 'folded into a Conv' },
    { name: 'folded-gemm', help: 'folded into a Gemm' },
    { name: 'folded-matmul', help: 'folded into a MatMul' },
    { name: 'rejected', help: 'BatchNormalization nodes left in place' },
  ],
  run(graph, ctx) {
    const ix = new GraphIndex(graph);
    const folds = new Map<Node, Fold>();
    const dropped = new Set<Node>();
    for (const bn of graph.nodes) {
      if (bn.op !== 'BatchNormalization') continue;
      const producer = ix.producer(bn.inputs[0]);
      const reject = (reason: string) => {
        ctx.stats.add('rejected');
        const nodes = producer ? [ix.id(producer), ix.id(bn)] : [ix.id(bn)];
        ctx.decide({ kind: 'rejected', nodes, loc: unionLoc(producer?.loc ?? [], bn.loc), reason });
      };
      const fold = tryFold(ix, bn, producer, reject);
      if (!fold) continue;
      folds.set(producer!, fold);
      dropped.add(bn);
      const kind = producer!.op.toLowerCase() as 'conv' | 'gemm' | 'matmul';
      ctx.stats.add('folded');
      ctx.stats.add(`folded-${kind}`);
      const result = fold.nodes[fold.nodes.length - 1];
      ctx.decide({
        kind: 'fused', nodes: [ix.id(producer!), ix.id(bn)], loc: unionLoc(producer!.loc, bn.loc),
        reason: `BatchNormalization folded into ${producer!.op} weights and bias`, result: ix.id(result),
      });
    }
    if (folds.size === 0) return graph;
    const nodes: Node[] = [];
    const created: Constant[] = [];
    for (const n of graph.nodes) {
      if (dropped.has(n)) continue;
      const f = folds.get(n);
      if (!f) { nodes.push(n); continue; }
      nodes.push(...f.nodes);
      created.push(...f.constants);
    }
    const kept = dropOrphanedConstants(graph, nodes, graph.constants);
    return { ...graph, constants: [...kept, ...created], nodes };
  },
};

/** Checks one BN and builds its fold, or reports why not (through `reject`) and returns undefined. */
function tryFold(ix: GraphIndex, bn: Node, producer: Node | undefined, reject: (reason: string) => void): Fold | undefined {
  if (!producer) return void reject(`BatchNormalization input is a graph input or constant, not a Conv/Gemm/MatMul output`);
  if (!PRODUCERS.has(producer.op)) return void reject(`BatchNormalization input is produced by ${producer.op}, not Conv/Gemm/MatMul`);
  const training = bn.attrs.training_mode;
  if ((training && training.kind === 'int' && training.value !== 0) || bn.outputs.slice(1).some((o) => o)) {
    return void reject('BatchNormalization is in training mode (batch statistics)');
  }
  const x = bn.inputs[0];
  if (ix.isOutput(x)) return void reject(`${producer.op} output is also a graph output`);
  const users = ix.useCount(x);
  if (users !== 1) return void reject(`${producer.op} output has ${users} users`);
  const dtype = producer.types[0].dtype;
  if (!FLOAT_TYPES.includes(dtype)) return void reject(`dtype ${dtype} is not a float type`);
  const params = bn.inputs.slice(1, 5).map((v) => ix.constantData(v));
  if (params.some((t) => !t)) return void reject('BatchNormalization parameters not constant');
  const w = ix.constantData(producer.inputs[1]);
  if (!w) return void reject('weights not constant');
  const biasName = producer.inputs[2] ?? '';
  const bias = biasName ? ix.constantData(biasName) : undefined;
  if (biasName && !bias) return void reject('bias not constant');
  const epsAttr = bn.attrs.epsilon;
  const eps = epsAttr && (epsAttr.kind === 'float' || epsAttr.kind === 'int') ? epsAttr.value : 1e-5;
  const [gamma, beta, mean, variance] = params.map((t) => floatData(t!));
  const channels = gamma.length;
  if ([beta, mean, variance].some((a) => a.length !== channels)) return void reject('BatchNormalization parameters differ in size');
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);
  const f: BnFactors = { scale, mean: Float64Array.from(mean), beta: Float64Array.from(beta) };
  const out = bn.outputs[0], outType = bn.types[0];
  const loc = unionLoc(producer.loc, bn.loc);
  const wName = producer.inputs[1];

  if (producer.op === 'Conv') {
    if (w.shape[0] !== channels) return void reject(`weights have ${w.shape[0]} output channels, BatchNormalization ${channels}`);
    const bNew = new Float64Array(channels);
    const b = bias ? floatData(bias) : undefined;
    for (let c = 0; c < channels; c++) bNew[c] = ((b ? b[c] : 0) - f.mean[c]) * scale[c] + f.beta[c];
    const wc = lazyConstant(ix.freshName(wName, 'folded'), scaledWeight(w, scale, 0));
    const bc = lazyConstant(ix.freshName(biasName || baseOf(wName) + '.bias', 'folded'), vector(dtype, [channels], bNew));
    const node: Node = { ...producer, inputs: [producer.inputs[0], wc.name, bc.name], outputs: [out], types: [outType], loc };
    return { nodes: [node], constants: [wc, bc] };
  }

  if (outType.shape.length !== 2 || w.shape.length !== 2) {
    return void reject(`${producer.op} output has rank ${outType.shape.length}; only 2-D outputs normalise per output column`);
  }
  if (producer.op === 'Gemm') {
    const transB = producer.attrs.transB?.kind === 'int' && producer.attrs.transB.value !== 0;
    const n = transB ? w.shape[0] : w.shape[1];
    if (n !== channels) return void reject(`Gemm has ${n} output columns, BatchNormalization ${channels}`);
    const betaAttr = producer.attrs.beta;
    const gemmBeta = betaAttr && (betaAttr.kind === 'float' || betaAttr.kind === 'int') ? betaAttr.value : 1;
    const [shape, values] = gemmBias(bias, gemmBeta, f);
    const wc = lazyConstant(ix.freshName(wName, 'folded'), scaledWeight(w, scale, transB ? 0 : 1));
    const bc = lazyConstant(ix.freshName(biasName || baseOf(wName) + '.bias', 'folded'), vector(dtype, shape, values));
    const attrs = { ...producer.attrs, beta: { kind: 'float' as const, value: 1 } };
    const node: Node = { ...producer, inputs: [producer.inputs[0], wc.name, bc.name], outputs: [out], types: [outType], attrs, loc };
    return { nodes: [node], constants: [wc, bc] };
  }
  // MatMul [M, K] x [K, N]: scale B's columns, then a bias Add named like the BN output
  if (w.shape[1] !== channels) return void reject(`MatMul has ${w.shape[1]} output columns, BatchNormalization ${channels}`);
  const bNew = new Float64Array(channels);
  for (let c = 0; c < channels; c++) bNew[c] = f.beta[c] - f.mean[c] * scale[c];
  const wc = lazyConstant(ix.freshName(wName, 'folded'), scaledWeight(w, scale, 1));
  const bc = lazyConstant(ix.freshName(baseOf(wName) + '.bias', 'folded'), vector(dtype, [channels], bNew));
  const mmOut = ix.freshName(x, 'bn_folded');
  const mm: Node = { ...producer, inputs: [producer.inputs[0], wc.name], outputs: [mmOut], types: [producer.types[0]], loc };
  const add: Node = { op: 'Add', inputs: [mmOut, bc.name], outputs: [out], types: [outType], attrs: {}, loc: [...bn.loc] };
  return { nodes: [mm, add], constants: [wc, bc] };
}

/** `layer1.conv.weight` → `layer1.conv`; other names unchanged. */
function baseOf(weightName: string): string {
  return weightName.endsWith('.weight') ? weightName.slice(0, -'.weight'.length) : weightName;
}

/** The folded Gemm bias: (beta_gemm · C - mean) · k + beta, with C's broadcast shape widened to N columns. */
function gemmBias(c: Tensor | undefined, gemmBeta: number, f: BnFactors): [number[], Float64Array] {
  const n = f.scale.length;
  const cs = c ? floatData(c) : undefined;
  const cShape = c ? c.shape : [];
  const rows = cShape.length === 2 ? cShape[0] : 1;
  const cCols = cShape.length === 0 ? 1 : cShape[cShape.length - 1];
  const values = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      const cv = cs ? gemmBeta * cs[r * cCols + (cCols === 1 ? 0 : j)] : 0;
      values[r * n + j] = (cv - f.mean[j]) * f.scale[j] + f.beta[j];
    }
  }
  return [cShape.length === 2 ? [rows, n] : [n], values];
}

