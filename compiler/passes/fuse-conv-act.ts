/**
 * fuse-conv-act: fuses a Conv, Gemm or MatMul with the elementwise ops that follow it — a MatMul's
 * bias Add, activations, a residual Add — into one kiln.conv / kiln.gemm / kiln.matmul node whose
 * ordered `epilogue` attribute lists the steps (ops/epilogue.ts defines them).
 *
 * Algorithm: one walk over the nodes in graph order; each Conv/Gemm/MatMul (the anchor) grows a chain
 * forward from its output value v while v has exactly one reader node (and is not a graph output) and
 * that reader is an epilogue step (epilogue-match.ts):
 *   - bias (first step of a MatMul, or of a Gemm without C, which takes it as C with beta 1): Add(v, c)
 *     with c a constant broadcast along the last axis;
 *   - relu / sigmoid / hardswish: Relu, Sigmoid, HardSwish;
 *   - clip: Clip with constant scalar (or omitted) bounds — ReLU6 is Clip(0, 6); one per chain;
 *   - gelu / gelu_tanh: the Gelu op, or exact GELU written out as x·0.5·(1 + Erf(x/√2)) in the orders
 *     exporters produce (then v has exactly the pattern's two readers);
 *   - add: a residual Add(v, r) or Add(r, v), r of v's exact type and defined before the anchor (a graph
 *     input, a constant or an earlier node's output: "computed earlier in the graph"); one per chain.
 *     ResNet's add→relu and MobileNetV2's lone add both match. When r is produced after the anchor by
 *     another Conv/Gemm/MatMul (ResNet's downsample branch), that later anchor takes the Add instead.
 * A step candidate that cannot be taken (v has several readers, Clip bounds not constant, ...) is recorded
 * as a rejection with the reason, unless another anchor fuses that node later (a ResNet block output is
 * read by the next block's conv and, as its residual, by the next block's Add). Every fusion is
 * recorded too, with statistics per fused op kind and per epilogue step.
 *
 * The fused node replaces the anchor at the anchor's position (all its extra inputs — constants and an
 * earlier residual — are defined before it), takes the chain's last output name and type (so readers
 * and graph outputs are untouched), keeps the anchor's attributes and adds `epilogue` (and
 * `clip_min`/`clip_max`); its inputs are (X, W, B?, R?) / (A, B, C?, R?) / (A, B, bias?, R?). Its loc is
 * the union of the fused nodes' locs in graph order. Constants only the fused nodes read (Clip bounds,
 * GELU's scalars) are removed. A walk claims each node at most once, so the pass is linear in the graph
 * size; it never touches weights.
 */
import type { AttrValue, Graph, Node } from '../ir/graph.ts';
import { KILN_CONV, KILN_GEMM, KILN_MATMUL } from '../ops/fused-compute.ts';
import { FLOAT_TYPES } from '../ops/support.ts';
import type { Pass, PassContext } from './pass.ts';
import { dropOrphanedConstants, unionLoc } from './graph-edit.ts';
import { GraphIndex } from './graph-index.ts';
import { type ChainStep, matchStep } from './epilogue-match.ts';

const NAME = 'fuse-conv-act';

/** Anchor op → fused op. */
const FUSED_OP: Readonly<Record<string, string>> = { Conv: KILN_CONV, Gemm: KILN_GEMM, MatMul: KILN_MATMUL };

/** A grown chain: the steps after the anchor and what they contribute. */
interface Chain {
  readonly steps: ChainStep[];
  bias?: string;
  residual?: string;
  clip?: readonly [number, number];
  /** Why the chain stopped, when a step candidate (`blocked`) could not be taken. */
  rejection?: { readonly reason: string; readonly blocked: Node };
}

/** The fuse-conv-act pass. */
export const fuseConvActPass: Pass = {
  name: NAME,
  summary: 'fuse Conv/Gemm/MatMul with bias, activation and residual Add into kiln.conv/gemm/matmul epilogues',
  description:
    'A Conv, Gemm or MatMul followed by single-reader elementwise steps — the MatMul bias Add (constant along the last '
    + 'axis), Relu, Clip with constant bounds (ReLU6), Sigmoid, HardSwish, Gelu or its Erf form x*0.5*(1+Erf(x/sqrt2)), '
    + 'and one residual Add of a value computed before the anchor — becomes one kiln.conv/kiln.gemm/kiln.matmul node with '
    + 'an ordered `epilogue` attribute. Steps blocked by a value with several readers are recorded as rejections.',
  options: [],
  statistics: [
    { name: 'conv', help: 'kiln.conv nodes formed' },
    { name: 'gemm', help: 'kiln.gemm nodes formed' },
    { name: 'matmul', help: 'kiln.matmul nodes formed' },
    { name: 'bias', help: 'MatMul bias Adds fused' },
    { name: 'relu', help: 'Relu steps fused' },
    { name: 'clip', help: 'Clip steps fused' },
    { name: 'sigmoid', help: 'Sigmoid steps fused' },
    { name: 'hardswish', help: 'HardSwish steps fused' },
    { name: 'gelu', help: 'GELU steps fused (Gelu op or Erf pattern)' },
    { name: 'gelu-erf-pattern', help: 'GELU steps recognised from Div/Erf/Add/Mul/Mul' },
    { name: 'add', help: 'residual Adds fused' },
    { name: 'rejected', help: 'steps not fused (recorded with the reason)' },
  ],
  run(graph, ctx) {
    const ix = new GraphIndex(graph);
    const claimed = new Set<Node>();
    const replace = new Map<Node, Node>();
    // decisions in walk order; a rejection whose blocked node a later anchor fused is dropped at the end
    const log: (() => void)[] = [];
    for (const anchor of graph.nodes) {
      if (!(anchor.op in FUSED_OP) || claimed.has(anchor)) continue;
      if (!FLOAT_TYPES.includes(anchor.types[0]?.dtype)) continue;
      const chain = grow(ix, anchor, claimed);
      if (chain.steps.length) {
        const fused = buildNode(ix, anchor, chain);
        replace.set(anchor, fused);
        for (const s of chain.steps) for (const n of s.nodes) claimed.add(n);
        log.push(() => record(ix, anchor, chain, fused, ctx));
      }
      const rejection = chain.rejection;
      if (rejection) {
        log.push(() => {
          if (claimed.has(rejection.blocked)) return;
          ctx.stats.add('rejected');
          ctx.decide({
            kind: 'rejected', nodes: [ix.id(anchor), ix.id(rejection.blocked)],
            loc: unionLoc(anchor.loc, rejection.blocked.loc), reason: rejection.reason,
          });
        });
      }
    }
    for (const emit of log) emit();
    if (replace.size === 0) return graph;
    const nodes: Node[] = [];
    for (const n of graph.nodes) {
      const r = replace.get(n);
      if (r) nodes.push(r);
      else if (!claimed.has(n)) nodes.push(n);
    }
    return { ...graph, constants: dropOrphanedConstants(graph, nodes, graph.constants), nodes } satisfies Graph;
  },
};

/** Grows the chain of epilogue steps after `anchor` (see the module comment). */
function grow(ix: GraphIndex, anchor: Node, claimed: ReadonlySet<Node>): Chain {
  const chain: Chain = { steps: [] };
  const anchorAt = ix.position(anchor);
  let value = anchor.outputs[0];
  for (;;) {
    const m = matchStep(ix, value, {
      anchor, anchorAt, claimed,
      biasAllowed: chain.steps.length === 0 && (anchor.op === 'MatMul' || (anchor.op === 'Gemm' && !anchor.inputs[2])),
      residualTaken: chain.residual !== undefined,
      clipTaken: chain.clip !== undefined,
    });
    if (m.kind === 'stop') break;
    if (m.kind === 'reject') {
      chain.rejection = { reason: m.reason, blocked: m.node };
      break;
    }
    const step = m.step;
    if (step.name === 'bias') chain.bias = step.operand;
    if (step.name === 'add') chain.residual = step.operand;
    if (step.name === 'clip') chain.clip = step.clip;
    chain.steps.push(step);
    value = step.nodes[step.nodes.length - 1].outputs[0];
  }
  return chain;
}

/** The fused node for `anchor` and its chain. */
function buildNode(ix: GraphIndex, anchor: Node, chain: Chain): Node {
  const lastStep = chain.steps[chain.steps.length - 1];
  const last = lastStep.nodes[lastStep.nodes.length - 1];
  const epilogue = chain.steps.filter((s) => s.name !== 'bias').map((s) => s.epilogue!);
  const attrs: Record<string, AttrValue> = { ...anchor.attrs };
  if (epilogue.length) attrs.epilogue = { kind: 'strings', value: epilogue };
  if (chain.clip) {
    if (chain.clip[0] !== -Infinity) attrs.clip_min = { kind: 'float', value: chain.clip[0] };
    if (chain.clip[1] !== Infinity) attrs.clip_max = { kind: 'float', value: chain.clip[1] };
  }
  const third = chain.bias ?? anchor.inputs[2] ?? '';
  // a Gemm without C takes the bias as C (beta 1)
  if (anchor.op === 'Gemm' && chain.bias) attrs.beta = { kind: 'float', value: 1 };
  const inputs = [anchor.inputs[0], anchor.inputs[1], third];
  if (chain.residual !== undefined) inputs.push(chain.residual);
  while (inputs.length > 2 && inputs[inputs.length - 1] === '') inputs.pop();
  const fusedNodes = [anchor, ...chain.steps.flatMap((s) => s.nodes)].sort((a, b) => ix.position(a) - ix.position(b));
  return {
    op: FUSED_OP[anchor.op], inputs, outputs: [last.outputs[0]], types: [last.types[0]], attrs,
    loc: unionLoc(...fusedNodes.map((n) => n.loc)),
  };
}

/** Statistics and the decision of one fusion. */
function record(ix: GraphIndex, anchor: Node, chain: Chain, fused: Node, ctx: PassContext): void {
  ctx.stats.add(anchor.op.toLowerCase());
  for (const s of chain.steps) {
    ctx.stats.add(s.name === 'gelu_tanh' ? 'gelu' : s.name);
    if (s.pattern) ctx.stats.add('gelu-erf-pattern');
  }
  const parts = [anchor.op, ...chain.steps.map((s) => s.label)];
  const epilogue = chain.steps.filter((s) => s.name !== 'bias').map((s) => s.epilogue!);
  ctx.decide({
    kind: 'fused',
    nodes: [ix.id(anchor), ...chain.steps.flatMap((s) => s.nodes.map((n) => ix.id(n)))],
    loc: fused.loc,
    reason: `${parts.join(' + ')} → ${fused.op}${chain.bias ? ' with bias' : ''} [${epilogue.join(', ')}]`,
    result: fused.outputs[0],
  });
}
