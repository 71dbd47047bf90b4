/**
 * Op family 'control-flow': If, Loop and Scan, the ONNX ops that own regions (graph attributes; see
 * ir/graph.ts). Their shape rules type the regions through `ShapeContext.region`; their value kernels
 * (`runValues`) run the regions through the executor's `RunContext.runRegion`, so compiled backends
 * keep this control on the host and only the kernels inside run compiled.
 *
 * If(cond) runs `then_branch` or `else_branch` (no arguments) and returns its results; the output
 * types join the two branches' (ops/value-helpers.ts `joinTypes`), or, when the condition is known
 * before running, are the taken branch's (the other branch is not typed at all).
 *
 * Loop(M?, cond?, v_initial...) runs `body(iteration_num, cond_in, v...) -> (cond_out, v..., scan...)`
 * while `iteration_num < M` (no bound when M is omitted) and the condition holds (true when omitted),
 * carrying the v's from one iteration to the next; returns the final v's, then each scan output's
 * per-iteration values stacked along a new axis 0. The carried values' types may change between
 * iterations (an empty sequence filling up, an optional becoming a value, a dim growing): the rule
 * types the body with the initial types, joins each carried result with its argument type and types
 * the body again until nothing changes (at most three rounds; types only get more general).
 *
 * Scan(state_initial..., scan_inputs...) with `num_scan_inputs` (opset 9+): the sequence length L is
 * the size of every scan input along its `scan_input_axes` entry; the body runs L times on the states
 * and the t-th slice of each scan input (from the end where `scan_input_directions` is 1), and the
 * outputs are the final states and each scan output's slices stacked along its `scan_output_axes`
 * entry (in reverse where `scan_output_directions` is 1).
 */
import type { Graph, TensorType } from '../ir/graph.ts';
import { formatType } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import type { Value } from '../ir/value.ts';
import { type OpDef, type ShapeContext, valueKernelOnly } from './registry.ts';
import { regionResultType, regionResultTypes } from './region-types.ts';
import { normalizeAxis } from './support.ts';
import { expectTensor, mustJoin, sliceAxis, stackAxis } from './value-helpers.ts';

/** The results' types of a region given its arguments' (declared ones where no inference runs). */
export function typeRegion(ctx: ShapeContext, g: Graph, args: readonly TensorType[]): TensorType[] {
  return ctx.region ? ctx.region(g, args) : regionResultTypes(g);
}

const BOOL: TensorType = { dtype: 'bool', shape: [] };
const I64: TensorType = { dtype: 'i64', shape: [] };

/** True when a bool or numeric single-element condition tensor holds a non-zero value. */
function truth(t: Tensor, what: string): boolean {
  if (t.size !== 1) throw new Error(`${what} must have one element, got ${t.dtype}[${t.shape.join(',')}]`);
  return Boolean(Number(t.data[0] as number | bigint));
}

/** A condition input's type: a one-element bool tensor. */
function checkCondition(t: TensorType | undefined, what: string): void {
  if (!t) return;
  if (t.container || t.dtype !== 'bool' || t.shape.some((d) => typeof d === 'number' && d !== 1)) {
    throw new Error(`${what} must be a one-element bool tensor, got ${formatType(t)}`);
  }
}

interface IfAttrs { then_branch: Graph; else_branch: Graph }

const If: OpDef<IfAttrs> = {
  name: 'If', inputs: [1, 1], outputs: [1, Infinity],
  parseAttrs: (r) => ({ then_branch: r.graph('then_branch'), else_branch: r.graph('else_branch') }),
  inferTypes(inputs, a, ctx, outputCount) {
    checkCondition(inputs[0], 'cond');
    const count = (name: string, t: TensorType[]) => {
      if (t.length !== outputCount) throw new Error(`region '${name}' returns ${t.length} values but the node has ${outputCount} outputs`);
      return t;
    };
    const known = ctx.value(0);
    if (known) {
      // only the taken branch is typed (the other never runs, and may not even type here, as
      // exporters' branches for another rank or size often do); what it knows, the outputs know
      const then = truth(known, 'cond');
      const taken = then ? a.then_branch : a.else_branch;
      const types = count(then ? 'then_branch' : 'else_branch', typeRegion(ctx, taken, []));
      for (let k = 0; k < outputCount; k++) {
        const v = ctx.regionValue?.(taken, k);
        if (v) ctx.produce?.(k, v);
      }
      return types;
    }
    const thenT = count('then_branch', typeRegion(ctx, a.then_branch, []));
    const elseT = count('else_branch', typeRegion(ctx, a.else_branch, []));
    return thenT.map((t, k) => mustJoin(t, elseT[k], ctx, `output ${k}: the branches return different types`));
  },
  run: valueKernelOnly('If'),
  runValues([cond], a, _n, ctx) {
    return ctx.runRegion(truth(expectTensor(cond, 'cond'), 'cond') ? a.then_branch : a.else_branch, []);
  },
};

interface LoopAttrs { body: Graph }

const Loop: OpDef<LoopAttrs> = {
  name: 'Loop', inputs: [2, Infinity], outputs: [1, Infinity],
  parseAttrs: (r) => ({ body: r.graph('body') }),
  inferTypes(inputs, a, ctx, outputCount) {
    const [m, cond, ...carried] = inputs;
    if (m && (m.container || m.dtype !== 'i64' || m.shape.length > 1)) throw new Error(`M (the trip count) must be an i64 scalar, got ${formatType(m)}`);
    checkCondition(cond, 'cond');
    const n = carried.length;
    let args = carried.map((t, k) => {
      if (!t) throw new Error(`loop-carried input ${k + 2} is omitted; carried values are required`);
      return t;
    });
    let results: TensorType[] = [];
    for (let round = 0; round < 3; round++) {
      results = typeRegion(ctx, a.body, [I64, BOOL, ...args]);
      if (results.length < 1 + n) throw new Error(`region 'body' returns ${results.length} values; it must return the condition and the ${n} carried values`);
      checkCondition(results[0], "region 'body' result 0 (the condition)");
      const joined = args.map((t, k) => mustJoin(t, results[1 + k], ctx, `carried value ${k}: the body returns ${formatType(results[1 + k])} for an argument of type ${formatType(t)}`));
      if (joined.every((t, k) => formatType(t) === formatType(args[k]))) break;
      args = joined;
    }
    const scans = results.slice(1 + n);
    if (n + scans.length !== outputCount) {
      throw new Error(`the node has ${outputCount} outputs but the body gives ${n} carried values and ${scans.length} scan outputs`);
    }
    // ONNX types a carried output as the body's result (an optional initial value that the body
    // always fills comes out filled), with dims joined over the iterations
    const finals = results.slice(1, 1 + n).map((t, k) => (args[k].container === t.container ? args[k] : { ...args[k], container: t.container }));
    const stacked = scans.map((t, j) => {
      if (t.container) throw new Error(`scan output ${j} is ${formatType(t)}; scan outputs are tensors`);
      return { dtype: t.dtype, shape: [ctx.freshDim(), ...t.shape] };
    });
    return [...finals, ...stacked];
  },
  run: valueKernelOnly('Loop'),
  runValues([m, cond, ...initial], a, outputCount, ctx) {
    const trips = m == null ? Infinity : Number(expectTensor(m, 'M').data[0] as number | bigint);
    let go = cond == null ? true : truth(expectTensor(cond, 'cond'), 'cond');
    let carried = initial as Value[];
    const n = carried.length;
    const scans: Tensor[][] = Array.from({ length: outputCount - n }, () => []);
    for (let i = 0; i < trips && go; i++) {
      const res = ctx.runRegion(a.body, [new Tensor('i64', [], BigInt64Array.of(BigInt(i))), new Tensor('bool', [], Uint8Array.of(1)), ...carried]);
      go = truth(expectTensor(res[0], "the body's condition"), "the body's condition");
      carried = res.slice(1, 1 + n);
      scans.forEach((list, j) => list.push(expectTensor(res[1 + n + j], `scan output ${j}`)));
    }
    const stacked = scans.map((list, j) => {
      const t = regionResultType(a.body, 1 + n + j);
      return stackAxis(list, 0, t?.dtype ?? 'f32', (t?.shape ?? []).map((d) => (typeof d === 'number' ? d : 0)));
    });
    return [...carried, ...stacked];
  },
};

interface ScanAttrs {
  body: Graph; numScanInputs: number;
  inputAxes?: readonly number[]; inputDirections?: readonly number[];
  outputAxes?: readonly number[]; outputDirections?: readonly number[];
}

const Scan: OpDef<ScanAttrs> = {
  name: 'Scan', inputs: [1, Infinity], outputs: [1, Infinity],
  parseAttrs: (r) => ({
    body: r.graph('body'),
    numScanInputs: r.int('num_scan_inputs'),
    inputAxes: r.has('scan_input_axes') ? r.ints('scan_input_axes') : undefined,
    inputDirections: r.has('scan_input_directions') ? r.ints('scan_input_directions') : undefined,
    outputAxes: r.has('scan_output_axes') ? r.ints('scan_output_axes') : undefined,
    outputDirections: r.has('scan_output_directions') ? r.ints('scan_output_directions') : undefined,
  }),
  inferTypes(inputs, a, ctx, outputCount) {
    const m = a.numScanInputs;
    if (m < 1 || m > inputs.length) throw new Error(`num_scan_inputs is ${m}, but the node has ${inputs.length} inputs`);
    const n = inputs.length - m;
    const types = inputs.map((t, k) => {
      if (!t || t.container) throw new Error(`input ${k} must be a tensor`);
      return t;
    });
    const axes = types.slice(n).map((t, j) => normalizeAxis(a.inputAxes?.[j] ?? 0, t.shape.length, `scan_input_axes[${j}]`));
    const slices = types.slice(n).map((t, j) => ({ dtype: t.dtype, shape: t.shape.filter((_, i) => i !== axes[j]) }));
    const lengths = types.slice(n).map((t, j) => t.shape[axes[j]]);
    const length = lengths.find((d) => typeof d === 'number') ?? lengths[0];
    const results = typeRegion(ctx, a.body, [...types.slice(0, n), ...slices]);
    if (results.length !== outputCount) throw new Error(`region 'body' returns ${results.length} values but the node has ${outputCount} outputs`);
    return results.map((t, k) => {
      if (k < n) return mustJoin(types[k], t, ctx, `state ${k}`);
      const j = k - n;
      const axis = normalizeAxis(a.outputAxes?.[j] ?? 0, t.shape.length + 1, `scan_output_axes[${j}]`);
      return { dtype: t.dtype, shape: [...t.shape.slice(0, axis), length, ...t.shape.slice(axis)] };
    });
  },
  run: valueKernelOnly('Scan'),
  runValues(inputs, a, outputCount, ctx) {
    const m = a.numScanInputs, n = inputs.length - m;
    const xs = inputs.map((v, k) => expectTensor(v, `input ${k}`));
    const scanIn = xs.slice(n);
    const axes = scanIn.map((t, j) => normalizeAxis(a.inputAxes?.[j] ?? 0, t.shape.length, `scan_input_axes[${j}]`));
    const length = scanIn[0].shape[axes[0]];
    scanIn.forEach((t, j) => {
      if (t.shape[axes[j]] !== length) throw new Error(`scan input ${j} has ${t.shape[axes[j]]} steps along axis ${axes[j]}, but scan input 0 has ${length}`);
    });
    let states: Value[] = xs.slice(0, n);
    const outs: Tensor[][] = Array.from({ length: outputCount - n }, () => []);
    for (let t = 0; t < length; t++) {
      const slices = scanIn.map((x, j) => sliceAxis(x, axes[j], a.inputDirections?.[j] ? length - 1 - t : t));
      const res = ctx.runRegion(a.body, [...states, ...slices]);
      states = res.slice(0, n);
      outs.forEach((list, j) => list.push(expectTensor(res[n + j], `scan output ${j}`)));
    }
    return [...states, ...outs.map((list, j) => {
      const t = regionResultType(a.body, n + j);
      const axis = normalizeAxis(a.outputAxes?.[j] ?? 0, (t?.shape.length ?? 0) + 1, `scan_output_axes[${j}]`);
      const ordered = a.outputDirections?.[j] ? [...list].reverse() : list;
      return stackAxis(ordered, axis, t?.dtype ?? 'f32', (t?.shape ?? []).map((d) => (typeof d === 'number' ? d : 0)));
    })];
  },
};

/** The control-flow ops. */
export const controlFlowOps: OpDef<any>[] = [If, Loop, Scan];
