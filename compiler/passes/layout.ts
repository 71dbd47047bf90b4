/**
 * layout: rewrites the NCHW convolution part of a graph to channels-last (NHWC), with explicit
 * Transpose nodes at its boundaries, then cancels Transpose pairs that undo each other — so a ResNet
 * ends with one Transpose after its input and one before its Flatten.
 *
 * Algorithm: one walk in graph order, keeping for each NCHW value whether an NHWC twin exists (a map
 * from the NCHW name to the NHWC name).
 * - Conv, MaxPool (without Indices), AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization
 *   and fuse-conv-act's kiln.conv on a 4-D X become their channels-last ops (compiler/ops/nhwc.ts:
 *   kiln.conv_nhwc, ..., attrs unchanged plus `layout="NHWC"`, weights untouched). X (and kiln.conv's
 *   residual) is read as its twin; where there is none yet a `Transpose(perm=[0,2,3,1])` named
 *   `<x>.nhwc` makes one (once per value).
 * - An elementwise op (the `elementwise` trait, or a kiln.fused region without a reduction) follows the layout
 *   of its inputs: it runs on the twins when at least one input has a twin and every other input
 *   has one too, is a constant (permuted once into a new constant `<c>.nhwc`, after padding its shape
 *   to rank 4; all-ones shapes stay as they are), or has only unit dims. Its 4-D outputs become twins.
 * - Converted nodes' outputs are renamed `<name>.nhwc`; the NCHW name itself is defined again, by a
 *   `Transpose(perm=[0,3,1,2])` placed before the first node (or graph output) that still reads it,
 *   so untouched nodes keep reading the very same names.
 * - Cancellation: a Transpose whose input comes from a Transpose and whose permutation undoes it is
 *   removed and its readers read the first Transpose's input (the first one goes too when nothing reads
 *   it any more). This also folds transposes the model itself brought (a TF export's NHWC input).
 * Only `layout=nhwc` exists; blocked layouts (NCHWc) are not implemented and are refused by name.
 * The cpu target's default pipeline runs this pass after fuse-conv-act: its backend lowers the NHWC ops
 * natively (compiler/codegen/lower/conv-nhwc.ts says why and what it measured).
 * Numerics: transposes are exact and the NHWC ops' reference kernels call the NCHW kernels, so the
 * rewritten graph computes bit-identically.
 */
import type { Constant, Graph, Node, TensorType } from '../ir/graph.ts';
import { readsOf } from '../ir/graph.ts';
import { hashOf } from '../ir/weights.ts';
import { KilnError } from '../errors.ts';
import { FUSED_OP, isElementwiseBody } from '../ops/fused-region.ts';
import { opTraits } from '../ops/registry.ts';
import { transposeTensor } from '../ops/layout.ts';
import { NHWC, NHWC_VARIANT, TO_NCHW, TO_NHWC } from '../ops/nhwc.ts';
import type { Pass, PassContext } from './pass.ts';
import { Namer, cancelInversePairs, option } from './rewrite-kit.ts';

const NAME = 'layout';

const permute = (t: TensorType, perm: readonly number[]): TensorType => ({ dtype: t.dtype, shape: perm.map((a) => t.shape[a]) });
const permAttr = (perm: readonly number[]) => ({ perm: { kind: 'ints', value: perm } as const });


function run(graph: Graph, ctx: PassContext): Graph {
  const layout = option(NAME, ctx, 'layout', 'nhwc');
  if (layout !== 'nhwc') {
    throw new KilnError(`layout '${layout}' is not supported; only 'nhwc' is (blocked NCHWc layouts are not implemented)`, { pass: NAME });
  }
  const namer = new Namer(graph);
  const types = new Map<string, TensorType>();
  for (const i of graph.inputs) types.set(i.name, i.type);
  for (const c of graph.constants) types.set(c.name, c.type);
  for (const n of graph.nodes) n.outputs.forEach((o, k) => { if (o) types.set(o, n.types[k]); });
  const constants = new Map(graph.constants.map((c) => [c.name, c]));
  const newConstants: Constant[] = [];
  const permutedConst = new Map<string, string>();

  const twin = new Map<string, string>(); // NCHW name -> NHWC name
  const defined = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.constants.map((c) => c.name)]);
  const out: Node[] = [];

  /** The NHWC twin of x, making one with a Transpose when needed. */
  const toNhwc = (x: string, loc: readonly string[]): string => {
    let t = twin.get(x);
    if (t) return t;
    t = namer.fresh(x, 'nhwc');
    out.push({ op: 'Transpose', inputs: [x], outputs: [t], types: [permute(types.get(x)!, TO_NHWC)], attrs: permAttr(TO_NHWC), loc });
    ctx.stats.add('transposes');
    twin.set(x, t);
    return t;
  };
  /** Makes sure the NCHW name x is defined (by a Transpose from its twin) before a reader. */
  const needNchw = (x: string, loc: readonly string[]) => {
    if (!x || defined.has(x)) return;
    const t = twin.get(x);
    if (!t) return; // defined later by an unconverted node (cannot happen in topological order)
    out.push({ op: 'Transpose', inputs: [t], outputs: [x], types: [types.get(x)!], attrs: permAttr(TO_NCHW), loc });
    ctx.stats.add('transposes');
    defined.add(x);
  };
  /** A constant operand in NHWC form: itself when its dims are all 1, else a permuted copy. */
  const constOperand = (c: Constant): string | undefined => {
    const shape = c.type.shape as number[];
    if (shape.every((d) => d === 1)) return c.name;
    if (shape.length > 4 || !c.data) return undefined;
    let name = permutedConst.get(c.name);
    if (!name) {
      const padded = c.data.reshape([...Array(4 - shape.length).fill(1), ...shape]);
      const data = transposeTensor(padded, TO_NHWC);
      name = namer.fresh(c.name, 'nhwc');
      newConstants.push({ name, type: { dtype: data.dtype, shape: data.shape }, hash: hashOf(data), data });
      permutedConst.set(c.name, name);
      ctx.stats.add('constants-permuted');
    }
    return name;
  };
  /** The operands of an elementwise node in NHWC form, or undefined when it should stay NCHW. */
  const elementwiseOperands = (n: Node): string[] | undefined => {
    if (!n.inputs.some((v) => twin.has(v))) return undefined;
    if (!n.outputs.every((o, k) => !o || n.types[k].shape.length === 4)) return undefined;
    const ops: string[] = [];
    for (const v of n.inputs) {
      const t = v ? twin.get(v) : undefined;
      const c = v ? constants.get(v) : undefined;
      const shape = v ? types.get(v)?.shape : undefined;
      if (!v) ops.push(v);
      else if (t) ops.push(t);
      else if (c) {
        const p = constOperand(c);
        if (!p) return undefined;
        ops.push(p);
      } else if (shape && shape.length <= 4 && shape.every((d) => d === 1)) ops.push(v);
      else return undefined;
    }
    return ops;
  };

  for (const n of graph.nodes) {
    const variant = NHWC_VARIANT[n.op];
    const x = types.get(n.inputs[0]);
    const convertible = variant && x && x.shape.length === 4 && n.outputs.length === 1 && n.outputs[0]
      && variant.activations.every((i) => !n.inputs[i] || types.get(n.inputs[i])?.shape.length === 4);
    if (convertible) {
      const y = namer.fresh(n.outputs[0], 'nhwc');
      const isAct = (i: number) => variant.activations.includes(i);
      const inputs = n.inputs.map((v, i) => (v && isAct(i) ? toNhwc(v, n.loc) : v));
      inputs.forEach((v, i) => { if (!isAct(i)) needNchw(v, n.loc); });
      out.push({ op: variant.name, inputs, outputs: [y], types: [permute(n.types[0], TO_NHWC)],
        attrs: { ...n.attrs, layout: { kind: 'string', value: NHWC } }, loc: n.loc });
      twin.set(n.outputs[0], y);
      ctx.stats.add('converted');
      continue;
    }
    const elementwise = opTraits(n.op).elementwise === true || (n.op === FUSED_OP && isElementwiseBody(n.attrs));
    const operands = elementwise ? elementwiseOperands(n) : undefined;
    if (operands) {
      const outputs = n.outputs.map((o) => (o ? namer.fresh(o, 'nhwc') : o));
      out.push({ ...n, inputs: operands, outputs, types: n.types.map((t) => permute(t, TO_NHWC)) });
      n.outputs.forEach((o, k) => { if (o) twin.set(o, outputs[k]); });
      ctx.stats.add('converted');
      continue;
    }
    for (const v of readsOf(n)) needNchw(v, n.loc); // a region's reads of the value too
    out.push(n);
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of graph.outputs) needNchw(o, []);
  if (ctx.stats.get('converted') === 0) return graph;
  const nodes = cancelTransposes(out, graph.outputs, ctx);
  const used = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of readsOf(n)) used.add(v);
  const kept = [...graph.constants, ...newConstants].filter((c) => used.has(c.name) || (!permutedConst.has(c.name) && !newConstants.includes(c)));
  return { ...graph, constants: kept, nodes };
}

/** The permutation of a Transpose node (its attribute, or reversed axes). */
function permOf(n: Node, rank: number): number[] {
  const p = n.attrs.perm;
  if (p && p.kind === 'ints') return p.value.map((a) => (a < 0 ? a + rank : a));
  return Array.from({ length: rank }, (_, i) => rank - 1 - i);
}

/**
 * Removes Transposes that undo the Transpose feeding them (readers are redirected to the first one's
 * input); a first Transpose left without readers goes too. Graph outputs keep their producers.
 */
export function cancelTransposes(nodes: readonly Node[], graphOutputs: readonly string[], ctx?: PassContext): Node[] {
  return cancelInversePairs(nodes, graphOutputs, 'Transpose', (second, first) => {
    const rank = second.types[0].shape.length;
    const p1 = permOf(first, rank), p2 = permOf(second, rank);
    return p2.every((a, d) => p1[a] === d);
  }, () => ctx?.stats.add('cancelled'));
}

/** The layout pass. */
export const layoutPass: Pass = {
  name: NAME,
  summary: 'run Conv/pool/BatchNormalization and the elementwise ops between them channels-last (NHWC)',
  description: 'Rewrites 4-D Conv, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool and BatchNormalization into '
    + 'kiln.*_nhwc ops (layout="NHWC"), lets elementwise ops between them follow, inserts Transposes where NCHW and '
    + 'NHWC values meet, and cancels Transpose pairs that undo each other. Weights keep their ONNX layout.',
  options: [
    { name: 'layout', type: 'string', default: 'nhwc', help: 'target layout: nhwc (the only one implemented)' },
  ],
  statistics: [
    { name: 'converted', help: 'nodes rewritten to run in NHWC' },
    { name: 'transposes', help: 'Transpose nodes inserted (before cancellation)' },
    { name: 'cancelled', help: 'Transpose nodes removed because a pair undid itself' },
    { name: 'constants-permuted', help: 'constants copied into NHWC order for elementwise operands' },
  ],
  run,
};

export const layoutPasses: Pass[] = [layoutPass];
