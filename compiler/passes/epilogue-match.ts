/**
 * Matching one epilogue step for fuse-conv-act: given the value v at the end of a growing chain, decide
 * whether its reader is a step the fused op can absorb (see fuse-conv-act.ts for the step list), must be
 * recorded as a rejection (a step candidate blocked by v's other readers, bounds that are not constant,
 * a residual computed too late, ...), or simply ends the chain.
 *
 * The GELU matcher recognises exact GELU written with Erf, x·0.5·(1 + erf(x/√2)), in the orders the
 * exporters write it (x/√2 as Div(x, √2) or Mul(x, 1/√2); Add and Mul operands in either order):
 *   A  Mul(Mul(x, 1 + erf), 0.5)          (PyTorch F.gelu before opset 20)
 *   B  Mul(Mul(x, 0.5), 1 + erf)          (Hugging Face `x * 0.5 * (1.0 + erf(...))`)
 *   C  Mul(x, Mul(1 + erf, 0.5))          (`x * (0.5 * (1 + erf(...)))`)
 * Every intermediate must have exactly one reader; x has exactly the pattern's two. Constants are
 * scalars (one element) within 1e-3 relative of √2, 1/√2, 1 and 0.5 (exact in f32 and close enough
 * for f16 models).
 */
import type { Node, TensorType } from '../ir/graph.ts';
import { readNumbers } from '../ir/tensor.ts';
import type { EpilogueStep } from '../ops/epilogue.ts';
import { sameType } from './graph-edit.ts';
import type { GraphIndex } from './graph-index.ts';

/** One step of a chain. */
export interface ChainStep {
  /** The step kind: an epilogue step, or `bias` (MatMul bias Add, an input rather than a step). */
  readonly name: EpilogueStep | 'bias';
  /** The `epilogue` entry (undefined for `bias`). */
  readonly epilogue?: EpilogueStep;
  /** The nodes absorbed, in graph order; the last one produces the step's result. */
  readonly nodes: readonly Node[];
  /** The bias constant or residual value, for `bias` and `add`. */
  readonly operand?: string;
  /** Clip bounds, for `clip`. */
  readonly clip?: readonly [number, number];
  /** True for GELU recognised from its Erf form. */
  readonly pattern?: boolean;
  /** A short label for decisions: `Relu`, `Add(bias)`, `Add(residual)`, `GELU(Erf)`, ... */
  readonly label: string;
}

/** The outcome of matching the reader of the chain's value. */
export type StepMatch =
  | { readonly kind: 'step'; readonly step: ChainStep }
  | { readonly kind: 'reject'; readonly reason: string; readonly node: Node }
  | { readonly kind: 'stop' };

/** What the matcher needs to know about the chain so far. */
export interface ChainState {
  readonly anchor: Node;
  readonly anchorAt: number;
  readonly claimed: ReadonlySet<Node>;
  /** A MatMul bias may be taken (first step after a MatMul). */
  readonly biasAllowed: boolean;
  readonly residualTaken: boolean;
  readonly clipTaken: boolean;
}

/** Ops that would be an epilogue step if nothing blocked them. */
const CANDIDATES: ReadonlySet<string> = new Set(['Relu', 'Clip', 'Sigmoid', 'HardSwish', 'Gelu', 'Add']);
const ANCHORS: ReadonlySet<string> = new Set(['Conv', 'Gemm', 'MatMul']);
const STOP: StepMatch = { kind: 'stop' };

/** Matches the step reading `value` (the chain's current end). */
export function matchStep(ix: GraphIndex, value: string, st: ChainState): StepMatch {
  const producer = ix.producer(value)!;
  const type = producer.types[producer.outputs.indexOf(value)];
  const readers = ix.consumers(value);
  if (readers.length === 2 && !ix.isOutput(value)) {
    const gelu = matchGelu(ix, value, type, readers, st.claimed);
    if (gelu) return { kind: 'step', step: gelu };
  }
  if (readers.length !== 1 || ix.isOutput(value)) {
    const blocked = readers.find((r) => CANDIDATES.has(r.op) && !st.claimed.has(r));
    if (!blocked) return STOP;
    const what = ix.isOutput(value) ? 'is also a graph output' : `has ${readers.length} users`;
    return { kind: 'reject', reason: `${producer.op} output ${what}`, node: blocked };
  }
  const r = readers[0];
  if (st.claimed.has(r) || r.outputs.length !== 1 || !r.types[0]) return STOP;
  const step = (name: EpilogueStep, label = r.op): StepMatch => ({ kind: 'step', step: { name, epilogue: name, nodes: [r], label } });
  switch (r.op) {
    case 'Relu': return step('relu');
    case 'Sigmoid': return step('sigmoid');
    case 'HardSwish': return step('hardswish');
    case 'Gelu': {
      const a = r.attrs.approximate;
      return step(a && a.kind === 'string' && a.value === 'tanh' ? 'gelu_tanh' : 'gelu');
    }
    case 'Clip': return matchClip(ix, r, st);
    case 'Add': return matchAdd(ix, r, value, type, st);
    default: return STOP;
  }
}

/** Clip with constant scalar bounds (omitted bounds do not clip). */
function matchClip(ix: GraphIndex, r: Node, st: ChainState): StepMatch {
  if (st.clipTaken) return { kind: 'reject', reason: 'a second Clip in the chain (one clip per epilogue)', node: r };
  const bounds: number[] = [];
  for (const [k, dflt] of [[1, -Infinity], [2, Infinity]] as const) {
    const v = r.inputs[k] ?? '';
    if (!v) { bounds.push(dflt); continue; }
    const t = ix.constantData(v);
    if (!t) return { kind: 'reject', reason: 'Clip bounds not constant', node: r };
    if (t.size === 0) { bounds.push(dflt); continue; }
    if (t.size !== 1) return { kind: 'reject', reason: 'Clip bounds are not scalars', node: r };
    const x = readNumbers(t)[0];
    if (Math.fround(x) !== x) return { kind: 'reject', reason: `Clip bound ${x} is not exact in f32 (clip_min/clip_max are f32 attributes)`, node: r };
    bounds.push(x);
  }
  return { kind: 'step', step: { name: 'clip', epilogue: 'clip', nodes: [r], clip: [bounds[0], bounds[1]], label: 'Clip' } };
}

/** Add: the MatMul bias (a constant along the last axis) or a residual computed before the anchor. */
function matchAdd(ix: GraphIndex, r: Node, value: string, type: TensorType, st: ChainState): StepMatch {
  const [a, b] = r.inputs;
  if (a === b) return STOP;
  const other = a === value ? b : a;
  if (!other) return STOP;
  const c = ix.constantData(other);
  if (st.biasAllowed && c && c.dtype === type.dtype && isColumnBias(c.shape, type.shape) && sameType(r.types[0], type)) {
    return { kind: 'step', step: { name: 'bias', nodes: [r], operand: other, label: 'Add(bias)' } };
  }
  if (st.residualTaken) return { kind: 'reject', reason: 'a second Add in the chain (one residual per epilogue)', node: r };
  const otherType = ix.constant(other)?.type ?? typeOf(ix, other);
  if (!otherType || !sameType(otherType, type) || !sameType(r.types[0], type)) {
    const shown = otherType ? `${otherType.dtype}[${otherType.shape.join(',')}]` : 'unknown';
    return { kind: 'reject', reason: `residual ${shown} does not have the output type ${type.dtype}[${type.shape.join(',')}] (no broadcasting)`, node: r };
  }
  if (ix.definedAt(other) >= st.anchorAt) {
    const p = ix.producer(other)!;
    // the Add is left to the later Conv/Gemm/MatMul that produces the other operand
    if (ANCHORS.has(p.op) && ix.useCount(other) === 1) return STOP;
    return { kind: 'reject', reason: `residual operand is computed after the ${st.anchor.op}`, node: r };
  }
  return { kind: 'step', step: { name: 'add', epilogue: 'add', nodes: [r], operand: other, label: 'Add(residual)' } };
}

/** The type of a node output or graph input. */
function typeOf(ix: GraphIndex, v: string): TensorType | undefined {
  const p = ix.producer(v);
  if (p) return p.types[p.outputs.indexOf(v)];
  return ix.graph.inputs.find((i) => i.name === v)?.type;
}

/** True if a bias of `shape` broadcasts along the last axis of `out` without growing it. */
function isColumnBias(shape: readonly number[], out: readonly (number | string)[]): boolean {
  if (shape.length === 0 || shape.length > out.length) return false;
  const last = shape[shape.length - 1];
  return shape.slice(0, -1).every((d) => d === 1) && (last === 1 || last === out[out.length - 1]);
}

/** True if `v` is a one-element constant within 1e-3 relative of `target`. */
function isScalar(ix: GraphIndex, v: string, target: number): boolean {
  const t = ix.constantData(v);
  if (!t || t.size !== 1 || t.dtype === 'str') return false;
  return Math.abs(readNumbers(t)[0] - target) <= 1e-3 * Math.abs(target);
}

/** The operand of a binary node other than `v`, when `v` is one of its two operands. */
function otherOperand(n: Node, v: string): string | undefined {
  if (n.inputs.length !== 2) return undefined;
  if (n.inputs[0] === v) return n.inputs[1];
  if (n.inputs[1] === v) return n.inputs[0];
  return undefined;
}

/** Exact GELU in its Erf form reading x twice (patterns A, B, C of the module comment). */
function matchGelu(ix: GraphIndex, x: string, type: TensorType, readers: readonly Node[], claimed: ReadonlySet<Node>): ChainStep | undefined {
  const sole = (v: string): Node | undefined => {
    const rs = ix.consumers(v);
    return rs.length === 1 && !ix.isOutput(v) && !claimed.has(rs[0]) ? rs[0] : undefined;
  };
  const mulBy = (n: Node | undefined, v: string, target: number) =>
    !!n && n.op === 'Mul' && (() => { const o = otherOperand(n, v); return o !== undefined && isScalar(ix, o, target); })();
  for (const [d, o] of [[readers[0], readers[1]], [readers[1], readers[0]]]) {
    if (claimed.has(d) || claimed.has(o)) return undefined;
    const scaled = (d.op === 'Div' && d.inputs[0] === x && isScalar(ix, d.inputs[1], Math.SQRT2)) || mulBy(d, x, Math.SQRT1_2);
    if (!scaled) continue;
    const e = sole(d.outputs[0]);
    if (!e || e.op !== 'Erf') continue;
    const a = sole(e.outputs[0]);
    if (!a || a.op !== 'Add' || !isScalar(ix, otherOperand(a, e.outputs[0]) ?? '', 1)) continue;
    const onePlus = a.outputs[0];
    let nodes: Node[] | undefined;
    if (o.op === 'Mul' && otherOperand(o, x) === onePlus && sole(onePlus) === o) {
      const m2 = sole(o.outputs[0]);
      if (mulBy(m2, o.outputs[0], 0.5)) nodes = [d, e, a, o, m2!]; // A
    } else if (mulBy(o, x, 0.5)) {
      const m2 = sole(o.outputs[0]);
      if (m2 && m2.op === 'Mul' && otherOperand(m2, o.outputs[0]) === onePlus && sole(onePlus) === m2) nodes = [d, e, a, o, m2]; // B
    } else {
      const h = sole(onePlus);
      if (mulBy(h, onePlus, 0.5) && o.op === 'Mul' && otherOperand(o, x) === h!.outputs[0] && sole(h!.outputs[0]) === o) nodes = [d, e, a, h!, o]; // C
    }
    if (!nodes) continue;
    const end = nodes[nodes.length - 1];
    if (!sameType(end.types[0], type)) return undefined;
    nodes.sort((p, q) => ix.position(p) - ix.position(q));
    // the node producing the result must come last in graph order
    if (nodes[nodes.length - 1] !== end) return undefined;
    return { name: 'gelu', epilogue: 'gelu', nodes, pattern: true, label: 'GELU(Erf)' };
  }
  return undefined;
}
