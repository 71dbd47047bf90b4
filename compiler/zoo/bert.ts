/**
 * A small BERT encoder (4 layers, hidden 256, 4 heads of 64, FFN 1024, sequence 128, vocab 1000)
 * laid out as the Hugging Face `BertModel` ONNX export.
 *
 * Embeddings: word (Gather on `input_ids`) + token type (Gather on a constant all-zero
 * `token_type_ids`) + position (Gather on constant 0..127) → LayerNorm. The `attention_mask` input
 * becomes the additive mask (1 - mask) * -10000 shaped [batch,1,1,128]. Each layer: Q/K/V
 * MatMul+Add, Reshape to heads and Transpose (K straight to [b,h,d,s]), MatMul QK^T, Div by
 * sqrt(64), Add mask, Softmax, MatMul V, Transpose/Reshape back, output dense, residual Add,
 * LayerNorm, FFN dense, erf GELU written out as Div/Erf/Add/Mul/Mul, dense, residual, LayerNorm.
 * Variant `decomposed` writes every LayerNorm as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add
 * as exports before opset 17 do. Dense weights have std 1/sqrt(fan_in) so attention is not
 * uniform; embeddings std 0.02.
 */
import type { Graph } from '../ir/graph.ts';
import { i64Tensor } from '../ir/tensor.ts';
import { float } from './builder.ts';
import { linearMatMul, newContext, scopedInts, scopedScalar, torchScope, type ZooContext, type ZooOptions } from './layers.ts';

/** BERT hyper-parameters of the zoo model. */
export const BERT_CONFIG = {
  layers: 4, hidden: 256, heads: 4, intermediate: 1024, seq: 128, vocab: 1000, maxPositions: 512, typeVocab: 2,
  eps: 1e-12,
} as const;

/** Options of the BERT builder. */
export interface BertOptions extends ZooOptions {
  /** Write LayerNorm as its primitive ops instead of LayerNormalization. */
  decomposed?: boolean;
}

/** Builds BERT: inputs `input_ids`, `attention_mask` i64[batch,128]; output `last_hidden_state` f32[batch,128,256]. */
export function bert(opts: BertOptions = {}): Graph {
  const { hidden, seq, layers } = BERT_CONFIG;
  const c = newContext(opts);
  const batch = opts.batch ?? 1;
  const ids = c.b.input('input_ids', 'i64', [batch, seq]);
  const mask = c.b.input('attention_mask', 'i64', [batch, seq]);
  const ln = (x: string, path: string, outputs?: readonly string[]) => layerNorm(c, x, path, !!opts.decomposed, outputs);

  // embeddings
  const emb = (table: string, rows: number) =>
    c.b.constant(`embeddings.${table}.weight`, c.w.normal(`embeddings.${table}.weight`, [rows, hidden], 0.02));
  const word = c.b.op('Gather', [emb('word_embeddings', BERT_CONFIG.vocab), ids], { axis: 0 },
    { name: c.b.nodeName('/embeddings/word_embeddings', 'Gather') });
  const typeIds = c.b.constant('embeddings.token_type_ids', i64Tensor(new Array(seq).fill(0), [1, seq]));
  const type = c.b.op('Gather', [emb('token_type_embeddings', BERT_CONFIG.typeVocab), typeIds], { axis: 0 },
    { name: c.b.nodeName('/embeddings/token_type_embeddings', 'Gather') });
  let x = c.b.op('Add', [word, type], {}, { name: c.b.nodeName('/embeddings', 'Add') });
  const posIds = c.b.constant('embeddings.position_ids', i64Tensor(Array.from({ length: seq }, (_, i) => i), [1, seq]));
  const pos = c.b.op('Gather', [emb('position_embeddings', BERT_CONFIG.maxPositions), posIds], { axis: 0 },
    { name: c.b.nodeName('/embeddings/position_embeddings', 'Gather') });
  x = c.b.op('Add', [x, pos], {}, { name: c.b.nodeName('/embeddings', 'Add') });
  x = ln(x, 'embeddings.LayerNorm');

  // additive attention mask: (1 - mask[:, None, None, :]) * -10000
  let m = c.b.op('Unsqueeze', [mask, scopedInts(c, '', [1])], {}, { name: c.b.nodeName('', 'Unsqueeze') });
  m = c.b.op('Unsqueeze', [m, scopedInts(c, '', [2])], {}, { name: c.b.nodeName('', 'Unsqueeze') });
  m = c.b.op('Cast', [m], { to: 1 }, { name: c.b.nodeName('', 'Cast') });
  m = c.b.op('Sub', [scopedScalar(c, '', 1), m], {}, { name: c.b.nodeName('', 'Sub') });
  m = c.b.op('Mul', [m, scopedScalar(c, '', -10000)], {}, { name: c.b.nodeName('', 'Mul') });

  for (let i = 0; i < layers; i++) x = encoderLayer(c, x, m, `encoder.layer.${i}`, batch, ln, i === layers - 1);
  c.b.output(x);
  return c.b.build(opts.decomposed ? 'bert-decomposed' : 'bert', { inferTypes: opts.inferTypes });
}

type LayerNormFn = (x: string, path: string, outputs?: readonly string[]) => string;

/** One BertLayer: self-attention + output, intermediate + output. */
function encoderLayer(c: ZooContext, x: string, mask: string, path: string, batch: number | string,
  ln: LayerNormFn, last: boolean): string {
  const { hidden, heads, seq, intermediate } = BERT_CONFIG;
  const headDim = hidden / heads;
  const b0 = typeof batch === 'number' ? batch : 0; // Reshape 0 copies the batch dim when it is symbolic
  const scope = (p: string) => torchScope(p, ['layer']);
  const self = `${path}.attention.self`, selfScope = scope(self);
  const dense = (v: string, p: string, fin: number, fout: number) => linearMatMul(c, v, p, fin, fout, scope(p));
  const heads4 = (v: string, perm: number[]) => {
    const r = c.b.op('Reshape', [v, scopedInts(c, selfScope, [b0, seq, heads, headDim])], { allowzero: 0 },
      { name: c.b.nodeName(selfScope, 'Reshape') });
    return c.b.op('Transpose', [r], { perm }, { name: c.b.nodeName(selfScope, 'Transpose') });
  };
  const q = heads4(dense(x, `${self}.query`, hidden, hidden), [0, 2, 1, 3]);
  const k = heads4(dense(x, `${self}.key`, hidden, hidden), [0, 2, 3, 1]);
  const v = heads4(dense(x, `${self}.value`, hidden, hidden), [0, 2, 1, 3]);
  let s = c.b.op('MatMul', [q, k], {}, { name: c.b.nodeName(selfScope, 'MatMul') });
  s = c.b.op('Div', [s, scopedScalar(c, selfScope, Math.sqrt(headDim))], {}, { name: c.b.nodeName(selfScope, 'Div') });
  s = c.b.op('Add', [s, mask], {}, { name: c.b.nodeName(selfScope, 'Add') });
  s = c.b.op('Softmax', [s], { axis: -1 }, { name: c.b.nodeName(selfScope, 'Softmax') });
  let ctx = c.b.op('MatMul', [s, v], {}, { name: c.b.nodeName(selfScope, 'MatMul') });
  ctx = c.b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }, { name: c.b.nodeName(selfScope, 'Transpose') });
  ctx = c.b.op('Reshape', [ctx, scopedInts(c, selfScope, [b0, seq, hidden])], { allowzero: 0 },
    { name: c.b.nodeName(selfScope, 'Reshape') });

  const attOut = `${path}.attention.output`;
  let y = dense(ctx, `${attOut}.dense`, hidden, hidden);
  y = c.b.op('Add', [y, x], {}, { name: c.b.nodeName(scope(attOut), 'Add') });
  const h = ln(y, `${attOut}.LayerNorm`);

  const inter = `${path}.intermediate`;
  let f = dense(h, `${inter}.dense`, hidden, intermediate);
  f = gelu(c, f, scope(`${inter}.intermediate_act_fn`));
  const out = `${path}.output`;
  f = dense(f, `${out}.dense`, intermediate, hidden);
  f = c.b.op('Add', [f, h], {}, { name: c.b.nodeName(scope(out), 'Add') });
  return ln(f, `${out}.LayerNorm`, last ? ['last_hidden_state'] : undefined);
}

/** Exact (erf) GELU as PyTorch exports it: x * (1 + erf(x / sqrt 2)) * 0.5 → Div, Erf, Add, Mul, Mul. */
function gelu(c: ZooContext, x: string, scope: string): string {
  const d = c.b.op('Div', [x, scopedScalar(c, scope, Math.SQRT2)], {}, { name: c.b.nodeName(scope, 'Div') });
  const e = c.b.op('Erf', [d], {}, { name: c.b.nodeName(scope, 'Erf') });
  const a = c.b.op('Add', [e, scopedScalar(c, scope, 1)], {}, { name: c.b.nodeName(scope, 'Add') });
  const m = c.b.op('Mul', [x, a], {}, { name: c.b.nodeName(scope, 'Mul') });
  return c.b.op('Mul', [m, scopedScalar(c, scope, 0.5)], {}, { name: c.b.nodeName(scope, 'Mul') });
}

/** nn.LayerNorm over the last axis at module `path`, fused or written out. */
function layerNorm(c: ZooContext, x: string, path: string, decomposed: boolean, outputs?: readonly string[]): string {
  const { hidden, eps } = BERT_CONFIG;
  const scope = torchScope(path, ['layer']);
  const gamma = c.b.constant(`${path}.weight`, c.w.normal(`${path}.weight`, [hidden], 0.05, 1));
  const beta = c.b.constant(`${path}.bias`, c.w.normal(`${path}.bias`, [hidden], 0.05));
  const name = (op: string) => c.b.nodeName(scope, op);
  if (!decomposed) {
    return c.b.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: float(eps) },
      { name: name('LayerNormalization'), outputs });
  }
  const axes = scopedInts(c, scope, [-1]);
  const mean = c.b.op('ReduceMean', [x, axes], { keepdims: 1 }, { name: name('ReduceMean') });
  const d = c.b.op('Sub', [x, mean], {}, { name: name('Sub') });
  const sq = c.b.op('Pow', [d, scopedScalar(c, scope, 2)], {}, { name: name('Pow') });
  const v = c.b.op('ReduceMean', [sq, axes], { keepdims: 1 }, { name: name('ReduceMean') });
  const ve = c.b.op('Add', [v, scopedScalar(c, scope, eps)], {}, { name: name('Add') });
  const sd = c.b.op('Sqrt', [ve], {}, { name: name('Sqrt') });
  const n = c.b.op('Div', [d, sd], {}, { name: name('Div') });
  const g = c.b.op('Mul', [n, gamma], {}, { name: name('Mul') });
  return c.b.op('Add', [g, beta], {}, { name: name('Add'), outputs });
}
