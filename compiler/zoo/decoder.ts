/**
 * A greedy GRU decoder with control flow, laid out as an exporter writes greedy generation (a
 * scripted `generate` loop): an If on the prompt length, a Scan that reads the prompt into the
 * hidden state, and a Loop that emits one token per iteration until the model produces EOS or
 * `max_new_tokens` tokens have been made.
 *
 * Inputs `prompt` i64[1,P] (token ids, P symbolic, P >= 1) and `max_new_tokens` i64[] (the Loop's M).
 *
 * 1. If P > maxPrompt (Greater on Gather(Shape(prompt), 1)): `then_branch` keeps the last maxPrompt
 *    tokens (Slice with start -maxPrompt on axis 1), `else_branch` passes the prompt on (Identity).
 * 2. Prefill: Gather the prompt's embeddings [1,P',E] and Scan them along axis 1 with the GRU cell,
 *    from a zero hidden state; the final state is the decoder's initial hidden state.
 * 3. Loop(M = max_new_tokens, cond = true, h, token = the prompt's last token): the body embeds the
 *    token, runs one GRU step, projects to logits (Gemm), picks the next token by ArgMax, and stops
 *    (condition false) when that token is `eos`: a data-dependent condition. It carries h and the
 *    token and emits the token and the logits as scan outputs, so the iteration that produces EOS
 *    still emits it (ONNX Loop semantics).
 *
 * The GRU cell is written out as PyTorch's nn.GRUCell (gates r, z, n, in that order) with explicit
 * ops, so it compiles like any other graph: gi = Gemm(x, W_ih, b_ih, transB), gh = Gemm(h, W_hh,
 * b_hh, transB), each split in three; r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n),
 * h' = n + z·(h - n) (= (1 - z)·n + z·h).
 *
 * The body also appends each step's state to a carried sequence that starts as [prefill state]
 * (SequenceConstruct; SequenceInsert in the body), and ConcatFromSequence stacks it after the loop.
 * (It does not start from SequenceEmpty: kiln types an empty sequence's elements as unranked, and the
 * Loop's join of that with the body's f32[1,H] stays unranked, which ConcatFromSequence cannot type.)
 *
 * Outputs: `tokens` i64[T,1] (the generated ids, T <= M), `logits` f32[T,1,V] (each step's logits),
 * `hidden` f32[1,H] (the final state) and `hidden_states` f32[1,T+1,H] (the prefill state, then each
 * step's).
 *
 * Weights are seeded (random.ts) with std 1.5/sqrt(fan_in) in the recurrent weights, so the state
 * moves from step to step instead of settling at once; `eos` is a token the default prompt reaches
 * after a few steps with seed 0 (test/zoo/decoder.test.ts checks it, and a prompt that never
 * reaches it).
 */
import type { Graph } from '../ir/graph.ts';
import { Tensor, i64Tensor } from '../ir/tensor.ts';
import type { GraphBuilder } from './builder.ts';
import { newContext, type ZooContext, type ZooOptions } from './layers.ts';

/** The decoder's hyper-parameters. */
export const DECODER_CONFIG = {
  vocab: 64, embed: 32, hidden: 64,
  /** Longer prompts keep their last `maxPrompt` tokens (the If). */
  maxPrompt: 16,
  /** The end-of-sequence id: generation stops once ArgMax picks it. */
  eos: 0,
  /** The prompt and token budget of the default inputs (`decoderInputs()`). */
  defaultPrompt: [5, 17, 42, 8, 23, 11], defaultMaxNewTokens: 16,
} as const;

/** Inputs for the decoder: `prompt` i64[1,P] and `max_new_tokens` i64[]. */
export function decoderInputs(prompt: readonly number[] = DECODER_CONFIG.defaultPrompt,
  maxNewTokens: number = DECODER_CONFIG.defaultMaxNewTokens): Map<string, Tensor> {
  return new Map([
    ['prompt', i64Tensor([...prompt], [1, prompt.length])],
    ['max_new_tokens', new Tensor('i64', [], BigInt64Array.of(BigInt(maxNewTokens)))],
  ]);
}

/** The GRU cell's weight names (constants of the top graph, read from the regions as outer values). */
interface GruWeights { wih: string; whh: string; bih: string; bhh: string; split: string }

/** One nn.GRUCell step on x [1,E] and h [1,H] in builder `b` (a region's); returns h' [1,H]. */
function gruStep(b: GraphBuilder, w: GruWeights, x: string, h: string, scope: string): string {
  const name = (op: string) => ({ name: b.nodeName(scope, op) });
  const gi = b.op('Gemm', [x, w.wih, w.bih], { transB: 1 }, name('Gemm'));
  const gh = b.op('Gemm', [h, w.whh, w.bhh], { transB: 1 }, name('Gemm'));
  const [ir, iz, inn] = b.node('Split', [gi, w.split], { axis: 1 }, { ...name('Split'), outputs: 3 });
  const [hr, hz, hn] = b.node('Split', [gh, w.split], { axis: 1 }, { ...name('Split'), outputs: 3 });
  const r = b.op('Sigmoid', [b.op('Add', [ir, hr], {}, name('Add'))], {}, name('Sigmoid'));
  const z = b.op('Sigmoid', [b.op('Add', [iz, hz], {}, name('Add'))], {}, name('Sigmoid'));
  const n = b.op('Tanh', [b.op('Add', [inn, b.op('Mul', [r, hn], {}, name('Mul'))], {}, name('Add'))], {}, name('Tanh'));
  const dz = b.op('Mul', [z, b.op('Sub', [h, n], {}, name('Sub'))], {}, name('Mul'));
  return b.op('Add', [n, dz], {}, name('Add'));
}

/** The GRU's weights as PyTorch names them (W_ih [3H,E], W_hh [3H,H], biases [3H]). */
function gruWeights(c: ZooContext): GruWeights {
  const { embed: E, hidden: H } = DECODER_CONFIG;
  const k = 1 / Math.sqrt(H);
  const weight = (n: string, shape: number[], std: number) => c.b.constant(n, c.w.normal(n, shape, std));
  return {
    wih: weight('gru.weight_ih', [3 * H, E], 1.5 / Math.sqrt(E)),
    whh: weight('gru.weight_hh', [3 * H, H], 1.5 / Math.sqrt(H)),
    bih: c.b.constant('gru.bias_ih', c.w.uniform('gru.bias_ih', [3 * H], -k, k)),
    bhh: c.b.constant('gru.bias_hh', c.w.uniform('gru.bias_hh', [3 * H], -k, k)),
    split: c.b.int64s('/gru/Constant_output_0', [H, H, H]),
  };
}

/** Builds the decoder (see the module comment); `opts.batch` is ignored (generation is batch 1). */
export function decoder(opts: ZooOptions = {}): Graph {
  const { vocab: V, embed: E, hidden: H, maxPrompt, eos } = DECODER_CONFIG;
  const c = newContext(opts);
  const b = c.b;
  const prompt = b.input('prompt', 'i64', [1, 'P']);
  const maxNew = b.input('max_new_tokens', 'i64', []);
  const embedding = b.constant('embed.weight', c.w.normal('embed.weight', [V, E], 1));
  const gru = gruWeights(c);
  const headW = b.constant('lm_head.weight', c.w.normal('lm_head.weight', [V, H], 2 / Math.sqrt(H)));
  const headB = b.constant('lm_head.bias', c.w.uniform('lm_head.bias', [V], -0.1, 0.1));
  const name = (scope: string, op: string) => ({ name: b.nodeName(scope, op) });

  // 1. truncate a long prompt to its last maxPrompt tokens
  const shape = b.op('Shape', [prompt], {}, name('', 'Shape'));
  const length = b.op('Gather', [shape, b.constant('/Constant_output_0', i64Tensor([1], []))], { axis: 0 }, name('', 'Gather'));
  const tooLong = b.op('Greater', [length, b.constant('/Constant_1_output_0', i64Tensor([maxPrompt], []))], {}, name('', 'Greater'));
  const starts = b.int64s('/Constant_2_output_0', [-maxPrompt]);
  const ends = b.int64s('/Constant_3_output_0', [2 ** 31 - 1]);
  const axes = b.int64s('/Constant_4_output_0', [1]);
  const kept = b.op('If', [tooLong], {
    then_branch: b.region('then_branch', [], (r) => [r.op('Slice', [prompt, starts, ends, axes], {}, { name: r.nodeName('/truncate', 'Slice') })]),
    else_branch: b.region('else_branch', [], (r) => [r.op('Identity', [prompt], {}, { name: r.nodeName('/truncate', 'Identity') })]),
  }, name('', 'If'));

  // 2. prefill: the GRU reads the prompt's embeddings from a zero state
  const embedded = b.op('Gather', [embedding, kept], { axis: 0 }, name('/embed', 'Gather'));
  const h0 = b.constant('/Constant_5_output_0', Tensor.zeros('f32', [1, H]));
  const prefilled = b.op('Scan', [h0, embedded], {
    num_scan_inputs: 1, scan_input_axes: [1],
    body: b.region('prefill', [{ name: 'prefill_h', dtype: 'f32', shape: [1, H] }, { name: 'prefill_x', dtype: 'f32', shape: [1, E] }],
      (r, [h, x]) => [gruStep(r, gru, x, h, '/prefill/gru')]),
  }, name('', 'Scan'));
  const last = b.op('Gather', [kept, b.constant('/Constant_6_output_0', i64Tensor([-1], []))], { axis: 1 }, name('', 'Gather'));

  // 3. greedy generation until EOS or max_new_tokens
  const eosId = b.constant('/Constant_7_output_0', i64Tensor([eos], []));
  const squeezeAxes = b.int64s('/Constant_8_output_0', [0]);
  const go = b.constant('/Constant_9_output_0', new Tensor('bool', [], Uint8Array.of(1)));
  const firstStates = b.op('SequenceConstruct', [prefilled], {}, name('', 'SequenceConstruct'));
  const body = b.region('generate', [
    { name: 'step', dtype: 'i64', shape: [] }, { name: 'cond_in', dtype: 'bool', shape: [] },
    { name: 'h', dtype: 'f32', shape: [1, H] }, { name: 'token', dtype: 'i64', shape: [1] },
    { name: 'states', dtype: 'f32', shape: [1, H], container: 'seq' },
  ], (r, [, , h, token, states]) => {
    const at = (scope: string, op: string) => ({ name: r.nodeName(scope, op) });
    const x = r.op('Gather', [embedding, token], { axis: 0 }, at('/generate/embed', 'Gather'));
    const h1 = gruStep(r, gru, x, h, '/generate/gru');
    const logits = r.op('Gemm', [h1, headW, headB], { transB: 1 }, at('/generate/lm_head', 'Gemm'));
    const next = r.op('ArgMax', [logits], { axis: 1, keepdims: 0 }, at('/generate', 'ArgMax'));
    const isEos = r.op('Equal', [r.op('Squeeze', [next, squeezeAxes], {}, at('/generate', 'Squeeze')), eosId], {}, at('/generate', 'Equal'));
    const cond = r.op('Not', [isEos], {}, at('/generate', 'Not'));
    const tokenOut = r.op('Identity', [next], {}, at('/generate', 'Identity'));
    const states1 = r.op('SequenceInsert', [states, h1], {}, at('/generate', 'SequenceInsert'));
    return [cond, h1, next, states1, tokenOut, logits];
  });
  const [, , allStates] = b.node('Loop', [maxNew, go, prefilled, last, firstStates], { body },
    { ...name('', 'Loop'), outputs: ['hidden', null, null, 'tokens', 'logits'] });
  b.op('ConcatFromSequence', [allStates], { axis: 1, new_axis: 1 }, { ...name('', 'ConcatFromSequence'), outputs: ['hidden_states'] });
  for (const o of ['tokens', 'logits', 'hidden', 'hidden_states']) b.output(o);
  return b.build('decoder', { inferTypes: opts.inferTypes });
}
