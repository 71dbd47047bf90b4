/**
 * The op-aware verifier: checks every node against its OpDef in the registry (all ops are registered
 * by importing all.ts). Complements the structural verifier (ir/verify.ts), which should pass first;
 * nodes whose inputs are undefined are skipped here rather than reported twice.
 *
 * Per node, in order, stopping at the first failing rule of that node:
 * - `op.unknown`   the op is registered
 * - `op.arity`     input and output counts are within the OpDef's [min, max] (omitted ones count)
 * - `op.attrs`     the attributes parse (`nodeAttrs`, cached per node); the error names the attribute
 * - `type.infer`   the op's type rule accepts the input types (its message says why not) and yields a
 *                  type for every declared output
 * - `type.mismatch` every declared (non-omitted) output type agrees with the inferred one: same dtype,
 *                  same rank, and equal dims where both are static (a symbolic dim on either side
 *                  matches anything)
 * The type rule sees constant inputs' values through `ShapeContext.value`, and fresh symbols from
 * `freshDim`.
 */
import './all.ts';
import { KilnError } from '../errors.ts';
import type { Dim, Graph, TensorType } from '../ir/graph.ts';
import { regionName, valueTypes } from '../ir/graph.ts';
import { printType } from '../ir/print.ts';
import type { Tensor } from '../ir/tensor.ts';
import { type VerifyOptions, collectGraphErrors, nodeLabel } from '../ir/verify.ts';
import { type ShapeContext, findOp } from './registry.ts';
import { regionResultTypes } from './region-types.ts';
import { nodeAttrs } from './infer.ts';

/** True if a declared type agrees with an inferred one (symbolic dims match any dim). */
export function typesAgree(declared: TensorType, inferred: TensorType): boolean {
  if (declared.dtype !== inferred.dtype || declared.container !== inferred.container) return false;
  if (declared.unranked || inferred.unranked) return !!declared.container;
  if (declared.shape.length !== inferred.shape.length) return false;
  return declared.shape.every((d: Dim, i) => {
    const e = inferred.shape[i];
    return typeof d === 'string' || typeof e === 'string' || d === e;
  });
}

/** Every op-aware error of the graph (empty when every node agrees with its OpDef). */
export function collectTypeErrors(graph: Graph, opts: VerifyOptions = {}): KilnError[] {
  const errors: KilnError[] = [];
  checkScopeTypes(graph, new Map(), new Map(), '', opts, errors, { fresh: 0 });
  return errors;
}

/**
 * Checks one graph or region: `outerTypes` and `outerValues` are what the enclosing scopes make
 * visible. A node's regions are checked (once each, with their declared argument types) when its
 * rule asks for their result types; errors inside say which region (`where`).
 */
function checkScopeTypes(graph: Graph, outerTypes: ReadonlyMap<string, TensorType>, outerValues: ReadonlyMap<string, Tensor>,
  where: string, opts: VerifyOptions, errors: KilnError[], counter: { fresh: number }): void {
  const { pass } = opts;
  const types = new Map([...outerTypes, ...valueTypes(graph)]);
  const constValues = new Map<string, Tensor>(outerValues);
  for (const c of graph.constants) if (c.data) constValues.set(c.name, c.data);
  graph.nodes.forEach((n, index) => {
    const node = nodeLabel(n, index);
    const op = n.op;
    const report = (rule: string, message: string, attribute?: string) => {
      errors.push(new KilnError(where + message, { pass, rule, node, op, attribute }));
    };
    const def = findOp(op);
    if (!def) return report('op.unknown', `unknown op '${op}'`);
    const [inMin, inMax] = def.inputs;
    const [outMin, outMax] = def.outputs;
    const range = (lo: number, hi: number) => (lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`);
    if (n.inputs.length < inMin || n.inputs.length > inMax) {
      return report('op.arity', `${op} takes ${range(inMin, inMax)} inputs, node has ${n.inputs.length}`);
    }
    if (n.outputs.length < outMin || n.outputs.length > outMax) {
      return report('op.arity', `${op} produces ${range(outMin, outMax)} outputs, node has ${n.outputs.length}`);
    }
    let attrs: unknown;
    try {
      attrs = nodeAttrs(def, n); // parsed once per node object and shared with inference and the executor
    } catch (e) {
      if (!(e instanceof KilnError)) return report('op.attrs', `attributes rejected: ${e instanceof Error ? e.message : String(e)}`);
      return report('op.attrs', e.reason, e.place.attribute);
    }
    const inputTypes: (TensorType | undefined)[] = [];
    for (const i of n.inputs) {
      if (i === '') inputTypes.push(undefined);
      else if (types.has(i)) inputTypes.push(types.get(i));
      else return; // undefined input: the structural verifier reports it
    }
    const checked = new Set<Graph>();
    const ctx: ShapeContext = {
      value: (i) => (n.inputs[i] ? constValues.get(n.inputs[i]) : undefined),
      freshDim: () => `_v${counter.fresh++}`,
      region: (region) => {
        if (!checked.has(region)) {
          checked.add(region);
          const name = regionName(n, region);
          checkScopeTypes(region, types, constValues, `${where}region '${name}' of node '${node}': `, opts, errors, counter);
        }
        return regionResultTypes(region, types);
      },
    };
    let inferred: TensorType[];
    try {
      inferred = def.inferTypes(inputTypes, attrs, ctx, n.outputs.length);
    } catch (e) {
      return report('type.infer', `type rule failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    n.outputs.forEach((o, k) => {
      if (o === '' || !n.types[k]) return;
      const got = inferred[k];
      if (!got) return report('type.infer', `type rule gave no type for output ${k} ('${o}')`);
      if (!typesAgree(n.types[k], got)) {
        report('type.mismatch', `output '${o}' is declared ${printType(n.types[k])} but ${op} infers ${printType(got)}`);
      }
    });
  });
}

/** Throws the first op-aware error (a KilnError naming rule, node, op and pass), if any. */
export function verifyTypes(graph: Graph, opts: VerifyOptions = {}): void {
  const errors = collectTypeErrors(graph, opts);
  if (errors.length) throw errors[0];
}

/** Structural then op-aware verification; throws the first error found. */
export function verifyAll(graph: Graph, opts: VerifyOptions = {}): void {
  const structural = collectGraphErrors(graph, opts);
  if (structural.length) throw structural[0];
  verifyTypes(graph, opts);
}
