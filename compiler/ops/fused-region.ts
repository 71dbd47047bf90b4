/**
 * `kiln.fused`: an elementwise region, the unit fuse-elementwise (compiler/passes/fuse-elementwise.ts)
 * builds and a later code generator turns into one loop.
 *
 * ```
 * %11, %13 = kiln.fused(%6, %8, %eps, %w, %b) {
 *     body=["t0 = Add(in1, in2)", "t1 = Sqrt(t0)", "t2 = Div(in0, t1)", "t3 = Mul(t2, in3)", "t4 = Add(t3, in4)"],
 *     results=["t2", "t4"]} : f32[1,128,256], f32[1,128,256]
 * ```
 * - Inputs: the region's external operands (activations and constants alike), referred to in the body
 *   as `in0`, `in1`, ... in the node's input order.
 * - `body` (strings): SSA lines `t<j> = Op(operands) {attrs}` in the syntax of fused-body.ts. Body ops are
 *   ops with the `elementwise` trait (registry.ts) and, only as the last line, one reduction to values
 *   (`reduction` trait, ReduceSum and the like). Each op keeps its ONNX form: constant operands such as a reduction's axes, Clip's
 *   bounds or Pow's exponent are region inputs like any other.
 * - `results` (strings): the body values the node outputs, in output order (`t<j>` names, distinct).
 *
 * Shape rule: the body ops' own shape rules, run line by line; a line sees the compile-time value of an
 * `in<k>` operand when the node's input k has one (so a reduction's constant axes resolve).
 * Reference kernel: one generated loop per result shape from the scalar-op table (fused-loop.ts),
 * under the table's precision contract (scalar-ops.ts): each op rounds to its compute type, so f32,
 * f64, integer and bool regions equal the unfused ops bit for bit, while f16/bf16 intermediates stay
 * in f32 and round once at the store (within the f16/bf16 tolerance of the unfused ops). A final
 * reduction runs its own kernel. Bodies the table cannot lower (float8 or string dtypes, integer Pow,
 * a non-scalar Clip bound) are interpreted with each op's reference kernel in line order instead.
 * Body lines are parsed (and each op's attributes validated) once per node by parseAttrs; errors name
 * the `body` attribute and the line.
 */
import type { Attrs, TensorType } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { AttrError, AttrReader, type OpDef, type ShapeContext, findOp, opTraits, readAttrs } from './registry.ts';
import { elems, times } from './flops.ts';
import { BodyError, type BodyLine, type BodyOperand, parseBodyLine } from './fused-body.ts';
import { runRegionLoop } from './fused-loop.ts';

/** The name of the region op. */
export const FUSED_OP = 'kiln.fused';

/**
 * True when `op` may be a body line of a region: an op with the `elementwise` trait (registry.ts;
 * single output, no axis semantics, ONNX broadcasting).
 */
export function isBodyElementwise(op: string): boolean {
  return opTraits(op).elementwise === true;
}

/** True when `op` may be a region's last body line as its reduction: a `reduction` trait to values (ReduceSum, ...). */
export function isBodyReduction(op: string): boolean {
  return opTraits(op).reduction?.result === 'value';
}

/**
 * True when a kiln.fused node's `body` holds only elementwise lines (no reduction), so the region is
 * elementwise as a whole. False for a missing or unparsable body.
 */
export function isElementwiseBody(attrs: Attrs): boolean {
  const body = attrs.body;
  if (!body || body.kind !== 'strings') return false;
  try {
    return body.value.every((text, j) => isBodyElementwise(parseBodyLine(text, j).op));
  } catch (e) {
    if (e instanceof BodyError) return false;
    throw e;
  }
}

/** One body line with its op definition and parsed attributes. */
interface CompiledLine extends BodyLine {
  readonly def: OpDef<any>;
  readonly parsed: unknown;
}

/** Parsed attributes of a kiln.fused node. */
export interface FusedAttrs {
  readonly lines: readonly CompiledLine[];
  /** Indices of the body values returned, in output order. */
  readonly results: readonly number[];
}

/** Parses and validates `body` and `results` (throws AttrError naming the attribute and line). */
function parseFusedAttrs(r: AttrReader): FusedAttrs {
  const body = r.strings('body');
  const resultNames = r.strings('results');
  if (body.length === 0) throw new AttrError('body', 'a fused region needs at least one body line');
  const lines = body.map((text, j): CompiledLine => {
    const fail = (msg: string): never => { throw new AttrError('body', `line ${j} ('${text}'): ${msg}`); };
    let line: BodyLine;
    try {
      line = parseBodyLine(text, j);
    } catch (e) {
      if (e instanceof BodyError) fail(e.message);
      throw e;
    }
    if (!isBodyElementwise(line.op) && !isBodyReduction(line.op)) fail(`op ${line.op} is not an elementwise op or a reduction`);
    if (isBodyReduction(line.op) && j !== body.length - 1) fail(`the reduction ${line.op} must be the last body line`);
    for (const o of line.operands) if (o.kind === 'value' && o.index >= j) fail(`t${o.index} is used before it is defined`);
    const def = findOp(line.op);
    if (!def) return fail(`unknown op '${line.op}'`);
    const [lo, hi] = def.inputs;
    if (line.operands.length < lo || line.operands.length > hi) {
      fail(`${line.op} takes ${lo === hi ? lo : `${lo} to ${hi}`} inputs, the line has ${line.operands.length}`);
    }
    let parsed: unknown;
    try {
      parsed = readAttrs(def, line.attrs);
    } catch (e) {
      if (e instanceof AttrError) fail(`attribute '${e.attribute}': ${e.message}`);
      throw e;
    }
    return { ...line, def, parsed };
  });
  if (resultNames.length === 0) throw new AttrError('results', 'a fused region returns at least one value');
  const results = resultNames.map((name) => {
    const m = /^t(0|[1-9][0-9]*)$/.exec(name);
    if (!m || Number(m[1]) >= body.length) throw new AttrError('results', `'${name}' is not a body value t0..t${body.length - 1}`);
    return Number(m[1]);
  });
  if (new Set(results).size !== results.length) throw new AttrError('results', `[${resultNames.join(', ')}] names a value twice`);
  return { lines, results };
}

/** Resolves an operand against the region inputs and the body values computed so far. */
function operandOf<T>(o: BodyOperand, inputs: readonly (T | undefined)[], values: readonly T[], j: number): T | undefined {
  if (o.kind === 'omitted') return undefined;
  if (o.kind === 'value') return values[o.index];
  if (o.index >= inputs.length) throw new Error(`body line ${j} reads in${o.index} but the node has ${inputs.length} inputs`);
  const v = inputs[o.index];
  if (v === undefined) throw new Error(`body line ${j} reads in${o.index}, an omitted input`);
  return v;
}

/** The `kiln.fused` op. */
export const fusedRegion: OpDef<FusedAttrs> = {
  name: FUSED_OP,
  inputs: [0, Infinity],
  outputs: [1, Infinity],
  // one FLOP per body line per element of the region's largest value; unknown when no value is at least
  // as large as every other at every size of the symbols
  flops(i, o, a) {
    const sizes = [...o.map((t) => elems(t.shape)), ...i.map((t) => elems(t?.shape))];
    if (sizes.some((s) => s === undefined)) return undefined;
    const widest = sizes.find((s) => sizes.every((t) => s!.dominates(t!)));
    return times(a.lines.length, widest);
  },
  parseAttrs: parseFusedAttrs,
  inferTypes(inputs, a, ctx, outputCount) {
    if (outputCount !== a.results.length) {
      throw new Error(`results names ${a.results.length} values but the node has ${outputCount} outputs`);
    }
    const types: TensorType[] = [];
    a.lines.forEach((line, j) => {
      const args = line.operands.map((o) => operandOf(o, inputs, types, j));
      const inner: ShapeContext = {
        value: (i) => {
          const o = line.operands[i];
          return o && o.kind === 'input' ? ctx.value(o.index) : undefined;
        },
        freshDim: () => ctx.freshDim(),
      };
      let out: TensorType[];
      try {
        out = line.def.inferTypes(args, line.parsed, inner, 1);
      } catch (e) {
        throw new Error(`body line ${j} (${line.op}): ${(e as Error).message}`);
      }
      types.push(out[0]);
    });
    return a.results.map((r) => types[r]);
  },
  run(inputs, a) {
    const looped = runRegionLoop(a.lines, a.results, inputs);
    if (looped) return looped;
    const values: Tensor[] = [];
    a.lines.forEach((line, j) => {
      const args = line.operands.map((o) => operandOf(o, inputs, values, j));
      try {
        values.push(line.def.run(args, line.parsed, 1)[0]);
      } catch (e) {
        throw new Error(`body line ${j} (${line.op}): ${(e as Error).message}`);
      }
    });
    return a.results.map((r) => values[r]);
  },
};

/** Attributes of a kiln.fused node built from body lines and result indices. */
export function fusedAttrs(body: readonly string[], results: readonly number[]): Attrs {
  return {
    body: { kind: 'strings', value: body },
    results: { kind: 'strings', value: results.map((r) => `t${r}`) },
  };
}

export const fusedRegionOps: OpDef<any>[] = [fusedRegion];
