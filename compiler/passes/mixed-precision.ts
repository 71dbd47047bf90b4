/**
 * mixed-precision: runs compute-heavy ops on f16 (or bf16) storage with f32 accumulation, and reports
 * the rounding error each conversion adds.
 *
 * Which nodes convert (deny beats allow beats follow):
 * - `deny` (default: Softmax, LogSoftmax, reductions `Reduce*`, GlobalAveragePool, the norms, Exp, Log,
 *   Pow, and kiln.globalaveragepool_nhwc) never converts; a kiln.fused region counts as denied when its
 *   body holds a denied op or a Cast/CastLike (whose fixed output dtype would clash with 16-bit operands);
 * - `allow` (default: MatMul, Gemm, Conv, ConvTranspose, Einsum and the kiln compute ops `kiln.conv*`,
 *   kiln.gemm, kiln.matmul) converts whenever its float inputs and outputs are f32;
 * - with `follow` (default true), ops that do not care about precision (elementwise arithmetic and
 *   activations: the `elementwise` trait, except Cast/CastLike; kiln.fused regions; views and movement
 *   ops by their traits: Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Concat, Slice, Split, Gather,
 *   Expand, Tile, Pad, ...; the max/average pools) convert when every f32 activation they
 *   read already exists in low precision — so MatMul → Add → Reshape → Transpose → MatMul stays 16-bit
 *   throughout, while an op reading an f32-only value (an attention mask) stays f32;
 * - a node whose constant input would overflow the 16-bit range (f16 tops out at 65504) stays f32;
 * - everything else stays as it is. Lists take op names or `X*` prefix globs.
 * A converted node reads the low-precision twin of each f32 input and defines its f32 outputs as
 * low-precision values named `<name>.f16` (`.bf16`); other inputs and outputs (indices, shapes, bools)
 * are untouched. Twins are made once per value: a constant becomes a new constant `<name>.f16` holding
 * the rounded data (the f32 original is dropped when nothing reads it any more); an activation gets a
 * `Cast(to=f16)` named `<name>.f16`. Where an f32 reader (an unconverted node or a graph output) needs
 * a value whose producer was converted, a `Cast(to=f32)` re-defines the original name right before it,
 * so unconverted nodes keep their inputs. Finally a Cast that narrows back what a Cast just widened
 * exactly (f16 → f32 → f16) is removed: its readers read the first Cast's input.
 *
 * f32 accumulation: the reference kernels read f16/bf16 storage through f32 (`floatData`/`readF32`),
 * compute in f32 (the GEMM core, Conv) or f64 (reductions, norms), and round only the stored result to
 * 16 bits. So a converted MatMul computes exactly "f16 inputs, f32 accumulation, f16 output".
 *
 * Reporting: one decision per converted constant (`constant %w f32→f16: max abs 3.1e-5, max rel 4.9e-4`,
 * plus any overflow/underflow counts; rel is over values that stay non-zero, so f16 subnormals can reach
 * 0.5) and per converted node; a rejection for a denied node that reads a low-precision value (the
 * region boundary) and for an allowed node whose inputs are not f32.
 * Cost: measuring means converting every weight now (narrow-float.ts; about 0.3-0.5 s for ResNet-50's
 * 25 M weights on a 2-core machine). With `report-errors=false` constants convert lazily (lazy-weights.ts:
 * on first read of their data) and the pass takes milliseconds, but errors are not measured and the
 * overflow rule is skipped (bf16 cannot overflow; f16 values beyond 65504 would become ±inf). New
 * constants always hash lazily.
 * Statistics: converted nodes, constants, casts inserted, casts removed, bytes saved (constant bytes
 * dropped minus bytes added).
 * Numerics: expect a norm-relative output error of about 1e-3 for f16 (see the tests for the zoo).
 */
import type { DType } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import type { Constant, Graph, Node, TensorType } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { nodeId, readsOf } from '../ir/graph.ts';
import { KilnError } from '../errors.ts';
import { parseBodyLine } from '../ops/fused-body.ts';
import { FUSED_OP } from '../ops/fused-region.ts';
import { opTraits } from '../ops/registry.ts';
import type { Pass, PassContext } from './pass.ts';
import { formatError, narrowTensor } from './narrow-float.ts';
import { Namer, cancelInversePairs, opMatcher, option } from './rewrite-kit.ts';
import { lazyConstant, lazyTensor } from '../ir/lazy-weights.ts';

const NAME = 'mixed-precision';

/** Default allow list. */
export const DEFAULT_ALLOW: readonly string[] = [
  'MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Einsum', 'kiln.conv*', 'kiln.gemm', 'kiln.matmul',
];
/** Default deny list. */
export const DEFAULT_DENY: readonly string[] = [
  'Softmax', 'LogSoftmax', 'Reduce*', 'GlobalAveragePool', 'kiln.globalaveragepool_nhwc',
  'LayerNormalization', 'BatchNormalization', 'InstanceNormalization', 'kiln.batchnorm_nhwc', 'Exp', 'Log', 'Pow',
];
/**
 * Ops that follow their inputs into low precision: views, movement ops and elementwise ops (their
 * traits, ops/registry.ts), and these window ops, whose max or average is as good in 16 bits.
 */
const FOLLOW_WINDOW_OPS: ReadonlySet<string> = new Set([
  'MaxPool', 'GlobalMaxPool', 'AveragePool', 'kiln.maxpool_nhwc', 'kiln.globalmaxpool_nhwc', 'kiln.averagepool_nhwc',
]);
/** True when `op` follows low-precision inputs (see FOLLOW_WINDOW_OPS and NOT_FOLLOWING). */
function follows(op: string): boolean {
  const t = opTraits(op);
  if (t.view || t.movement || op === FUSED_OP || FOLLOW_WINDOW_OPS.has(op)) return true;
  return t.elementwise === true && !NOT_FOLLOWING.has(op);
}
/** Elementwise ops whose output dtype is not their input's (they never follow). */
const NOT_FOLLOWING: ReadonlySet<string> = new Set(['Cast', 'CastLike']);
/** ONNX TensorProto codes for the Cast `to` attribute. */
const CAST_CODE: Readonly<Record<string, number>> = { f32: 1, f16: 10, bf16: 16 };

/** Exact widenings: a Cast from the key dtype to any listed dtype loses nothing. */
const EXACT_WIDEN: Readonly<Record<string, readonly DType[]>> = { f16: ['f32', 'f64'], bf16: ['f32', 'f64'], f32: ['f64'] };

function run(graph: Graph, ctx: PassContext): Graph {
  const low = option(NAME, ctx, 'dtype', 'f16');
  if (low !== 'f16' && low !== 'bf16') throw new KilnError(`option 'dtype' must be f16 or bf16, got '${low}'`, { pass: NAME });
  const allowed = opMatcher(option<readonly string[]>(NAME, ctx, 'allow', DEFAULT_ALLOW));
  const deniedOp = opMatcher(option<readonly string[]>(NAME, ctx, 'deny', DEFAULT_DENY));
  const follow = option(NAME, ctx, 'follow', true);
  const measure = option(NAME, ctx, 'report-errors', true);
  const lowType = (t: TensorType): TensorType => ({ dtype: low, shape: t.shape });

  const namer = new Namer(graph);
  const types = new Map<string, TensorType>();
  for (const i of graph.inputs) types.set(i.name, i.type);
  for (const c of graph.constants) types.set(c.name, c.type);
  for (const n of graph.nodes) n.outputs.forEach((o, k) => { if (o) types.set(o, n.types[k]); });
  const constants = new Map(graph.constants.map((c) => [c.name, c]));
  const isF32 = (v: string) => !!v && types.get(v)?.dtype === 'f32';
  const isFloat = (t: TensorType | undefined) => !!t && dtypeInfo(t.dtype).isFloat;

  const twin = new Map<string, string>(); // f32 name -> low-precision name
  const defined = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.constants.map((c) => c.name)]);
  const newConstants: Constant[] = [];
  const converted = new Set<string>(); // original constants given a twin
  const out: Node[] = [];

  /** Why n may not convert (deny list, or a region body that holds a denied op or a Cast), or undefined. */
  const denied = (n: Node): string | undefined => {
    if (deniedOp(n.op)) return `op ${n.op} is on the deny list`;
    if (n.op !== FUSED_OP || n.attrs.body?.kind !== 'strings') return undefined;
    for (const [j, text] of n.attrs.body.value.entries()) {
      let op: string;
      try { op = parseBodyLine(text, j).op; } catch { return 'its body does not parse'; }
      if (deniedOp(op)) return `its body holds ${op}, which is on the deny list`;
      if (NOT_FOLLOWING.has(op)) return `its body holds ${op}, whose output dtype is fixed`;
    }
    return undefined;
  };

  const narrowed = new Map<string, ReturnType<typeof narrowTensor>>();
  /** Constant c's data in low precision with its rounding error (converted once). */
  const narrowConst = (c: Constant) => {
    let r = narrowed.get(c.name);
    if (!r) narrowed.set(c.name, (r = narrowTensor(c.data!, low)));
    return r;
  };
  /** The low-precision twin of f32 value v (a converted constant or a Cast), made once. */
  const toLow = (v: string, reader: Node): string => {
    let t = twin.get(v);
    if (t) return t;
    t = namer.fresh(v, low);
    const c = constants.get(v);
    if (c?.data) {
      let data: Tensor, report: string;
      if (measure) {
        const r = narrowConst(c);
        data = r.tensor;
        report = formatError(r.error);
      } else {
        const source = c.data;
        data = lazyTensor(low, source.shape, () => narrowTensor(source, low).tensor.data);
        report = 'error not measured (report-errors=false)';
      }
      newConstants.push(lazyConstant(t, data));
      converted.add(v);
      ctx.stats.add('constants');
      ctx.decide({ kind: 'fused', nodes: [nodeId(reader)], loc: reader.loc, result: t, reason: `constant %${v} f32→${low}: ${report}` });
    } else {
      out.push({ op: 'Cast', inputs: [v], outputs: [t], types: [lowType(types.get(v)!)],
        attrs: { to: { kind: 'int', value: CAST_CODE[low] } }, loc: reader.loc });
      ctx.stats.add('casts');
    }
    twin.set(v, t);
    return t;
  };
  /** Re-defines f32 value v from its twin (a Cast back) before an f32 reader, when it is not defined. */
  const needF32 = (v: string, loc: readonly string[]) => {
    if (!v || defined.has(v)) return;
    const t = twin.get(v);
    if (!t) return;
    out.push({ op: 'Cast', inputs: [t], outputs: [v], types: [types.get(v)!], attrs: { to: { kind: 'int', value: CAST_CODE.f32 } }, loc });
    ctx.stats.add('casts');
    defined.add(v);
  };

  /** 'low' to convert n, or a rejection reason (undefined: stays, nothing to report). */
  const classify = (n: Node): 'low' | string | undefined => {
    const floatsIn = n.inputs.filter((v) => v && isFloat(types.get(v)));
    const floatsOut = n.types.filter((t, k) => n.outputs[k] && isFloat(t));
    const readsTwin = n.inputs.some((v) => twin.has(v));
    if (floatsIn.length + floatsOut.length === 0) return undefined;
    const deny = denied(n);
    if (deny) return readsTwin ? deny : undefined;
    const allF32 = floatsIn.every(isF32) && floatsOut.every((t) => t.dtype === 'f32');
    let verdict: string | undefined;
    if (allowed(n.op)) verdict = allF32 ? 'low' : `op ${n.op} has float inputs or outputs that are not f32`;
    else if (follow && allF32 && follows(n.op)) {
      const activations = floatsIn.filter((v) => !constants.has(v));
      if (activations.length > 0 && activations.every((v) => twin.has(v))) verdict = 'low';
    }
    if (verdict !== 'low') return verdict;
    for (const v of floatsIn) {
      const c = constants.get(v);
      const over = measure && c?.data && !twin.has(v) ? narrowConst(c).error.overflow : 0;
      if (over) return `constant %${v} has ${over} value${over > 1 ? 's' : ''} beyond the ${low} range`;
    }
    return 'low';
  };

  for (const n of graph.nodes) {
    const verdict = classify(n);
    if (verdict === 'low') {
      const inputs = n.inputs.map((v) => (isF32(v) ? toLow(v, n) : v));
      const outputs = n.outputs.map((o, k) => (o && n.types[k].dtype === 'f32' ? namer.fresh(o, low) : o));
      n.outputs.forEach((o, k) => { if (outputs[k] !== o) twin.set(o, outputs[k]); else if (o) defined.add(o); });
      out.push({ ...n, inputs, outputs, types: n.types.map((t, k) => (outputs[k] !== n.outputs[k] ? lowType(t) : t)) });
      ctx.stats.add('converted');
      ctx.decide({ kind: 'fused', nodes: [nodeId(n)], loc: n.loc, result: outputs[0], reason: `${n.op} runs on ${low} storage with f32 accumulation` });
      continue;
    }
    if (verdict) {
      ctx.stats.add('rejected');
      ctx.decide({ kind: 'rejected', nodes: [nodeId(n)], loc: n.loc, reason: verdict });
    }
    for (const v of readsOf(n)) needF32(v, n.loc); // a region's reads of the value too
    out.push(n);
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of graph.outputs) needF32(o, []);
  if (ctx.stats.get('converted') === 0) return graph;

  const nodes = cancelCasts(out, graph.outputs, types, ctx);
  const used = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of readsOf(n)) used.add(v);
  let saved = 0;
  const kept = graph.constants.filter((c) => {
    const drop = converted.has(c.name) && !used.has(c.name);
    if (drop) saved += byteSize(c);
    return !drop;
  });
  const added = newConstants.filter((c) => used.has(c.name));
  for (const c of added) saved -= byteSize(c);
  ctx.stats.add('bytes-saved', saved);
  return { ...graph, constants: [...kept, ...added], nodes };
}

/** Storage bytes of a constant's data. */
function byteSize(c: Constant): number {
  return c.data ? Math.ceil((c.data.size * dtypeInfo(c.type.dtype).bits) / 8) : 0;
}

/** Removes Casts that narrow back exactly what a Cast just widened (x: f16 → f32 → f16 is x). */
export function cancelCasts(nodes: readonly Node[], graphOutputs: readonly string[], types: ReadonlyMap<string, TensorType>,
  ctx?: PassContext): Node[] {
  const prod = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) if (o) prod.set(o, n);
  const typeOf = (v: string) => types.get(v) ?? prod.get(v)?.types[prod.get(v)!.outputs.indexOf(v)];
  return cancelInversePairs(nodes, graphOutputs, 'Cast', (second, first) => {
    const src = typeOf(first.inputs[0]);
    const mid = first.types[0].dtype;
    return !!src && src.dtype === second.types[0].dtype && (EXACT_WIDEN[src.dtype] ?? []).includes(mid);
  }, () => ctx?.stats.add('casts-removed'));
}

/** The mixed-precision pass. */
export const mixedPrecision: Pass = {
  name: NAME,
  summary: 'f16/bf16 storage with f32 accumulation for allowed ops; reports the rounding error of each conversion',
  description: 'Converts allowed compute ops (and, with follow, the precision-neutral ops between them) to read and '
    + 'write f16 or bf16 values, converting constants to new rounded constants and inserting Casts at region '
    + 'boundaries; exact Cast round trips are removed. Each converted constant is reported with its max abs/rel '
    + 'rounding error.',
  options: [
    { name: 'dtype', type: 'string', default: 'f16', help: 'storage type: f16 or bf16' },
    { name: 'allow', type: 'strings', default: DEFAULT_ALLOW, help: 'ops converted whenever their floats are f32 (`X*` globs)' },
    { name: 'deny', type: 'strings', default: DEFAULT_DENY, help: 'ops never converted (`X*` globs); wins over allow' },
    { name: 'follow', type: 'bool', default: true, help: 'let elementwise and data-movement ops follow low-precision inputs' },
    { name: 'report-errors', type: 'bool', default: true, help: 'convert constants now and measure their rounding error (false: convert lazily, unmeasured)' },
  ],
  statistics: [
    { name: 'converted', help: 'nodes now computing on low-precision storage' },
    { name: 'constants', help: 'constants converted (each reported with its rounding error)' },
    { name: 'casts', help: 'Cast nodes inserted at region boundaries' },
    { name: 'casts-removed', help: 'Cast nodes removed as exact round trips' },
    { name: 'bytes-saved', help: 'constant bytes dropped minus constant bytes added' },
    { name: 'rejected', help: 'nodes left in f32 at a boundary (deny list) or with non-f32 floats' },
  ],
  run,
};

export const mixedPrecisionPasses: Pass[] = [mixedPrecision];
