/**
 * Test-only passes and one test-only op for the Session, diff and results tests, registered under
 * `e-test.*` names so they never clash with the real passes.
 *
 * - `e_test.WithRelu` (op): runs an inner op (attribute `inner`, the inner op's own attributes beside
 *   it) and applies Relu to its first output; a stand-in for a fused op with an epilogue.
 * - `e-test.fuse-relu`: fuses Conv/Gemm/Add → Relu (the producer read only by the Relu) into one
 *   `e_test.WithRelu` node that takes the Relu's output name and the union of both locs, and records a
 *   decision per fusion; a Relu whose producer has other readers is recorded as rejected.
 * - `e-test.drop-relu`: deletes every Relu (its readers read the Relu's input): numerically wrong on
 *   purpose, so the numeric check has something to catch.
 * - `e-test.noop`: returns its input graph.
 * - `e-test.scale-first{factor=2}`: replaces the first float constant by a scaled copy (new object);
 *   every other constant stays the same object.
 * - `e-test.throw`: throws a plain Error.
 */
import type { Constant, Graph, Node } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { hashOf } from '../../compiler/ir/weights.ts';
import { AttrReader, type OpDef, findOp, getOp, registerOps } from '../../compiler/ops/registry.ts';
import { type Pass, findPass, registerPasses } from '../../compiler/passes/pass.ts';

interface WithReluAttrs { inner: string; innerAttrs: unknown }
const relu = () => getOp('Relu');

const withRelu: OpDef<WithReluAttrs> = {
  name: 'e_test.WithRelu',
  inputs: [1, 3],
  outputs: [1, 1],
  parseAttrs(r) {
    const inner = r.string('inner');
    return { inner, innerAttrs: getOp(inner).parseAttrs(r) };
  },
  inferTypes(inputs, a, ctx, n) {
    return getOp(a.inner).inferTypes(inputs, a.innerAttrs, ctx, n);
  },
  run(inputs, a) {
    const x = getOp(a.inner).run(inputs, a.innerAttrs, 1)[0];
    return relu().run([x], relu().parseAttrs(new AttrReader({})), 1);
  },
};

const FUSABLE = new Set(['Conv', 'Gemm', 'Add']);

const fuseRelu: Pass = {
  name: 'e-test.fuse-relu',
  summary: 'test only: fuse Conv/Gemm/Add + Relu',
  options: [],
  statistics: [{ name: 'fused', help: 'fusions' }],
  run(graph, ctx) {
    const readers = new Map<string, number>();
    for (const n of graph.nodes) for (const i of n.inputs) if (i) readers.set(i, (readers.get(i) ?? 0) + 1);
    for (const o of graph.outputs) readers.set(o, (readers.get(o) ?? 0) + 1);
    const byOutput = new Map(graph.nodes.map((n) => [n.outputs[0], n]));
    const gone = new Set<Node>();
    const replaced = new Map<Node, Node>();
    for (const n of graph.nodes) {
      if (n.op !== 'Relu') continue;
      const p = byOutput.get(n.inputs[0]);
      if (!p || !FUSABLE.has(p.op)) continue;
      if (readers.get(p.outputs[0]) !== 1) {
        ctx.decide({ kind: 'rejected', nodes: [p.outputs[0], n.outputs[0]], loc: [...p.loc, ...n.loc], reason: 'producer has other readers' });
        continue;
      }
      const fused: Node = {
        op: 'e_test.WithRelu', inputs: p.inputs, outputs: n.outputs, types: n.types,
        attrs: { ...p.attrs, inner: { kind: 'string', value: p.op } }, loc: [...p.loc, ...n.loc],
      };
      gone.add(p);
      replaced.set(n, fused);
      ctx.stats.add('fused');
      ctx.decide({ kind: 'fused', nodes: [p.outputs[0], n.outputs[0]], loc: fused.loc, reason: `${p.op}+Relu`, result: n.outputs[0] });
    }
    if (!gone.size) return graph;
    const nodes = graph.nodes.filter((n) => !gone.has(n)).map((n) => replaced.get(n) ?? n);
    return { ...graph, nodes };
  },
};

const dropRelu: Pass = {
  name: 'e-test.drop-relu',
  summary: 'test only: delete every Relu (numerically wrong)',
  options: [],
  statistics: [],
  run(graph) {
    const alias = new Map<string, string>();
    for (const n of graph.nodes) if (n.op === 'Relu') alias.set(n.outputs[0], alias.get(n.inputs[0]) ?? n.inputs[0]);
    if (!alias.size) return graph;
    const rename = (v: string) => alias.get(v) ?? v;
    const nodes = graph.nodes.filter((n) => n.op !== 'Relu')
      .map((n) => (n.inputs.some((i) => alias.has(i)) ? { ...n, inputs: n.inputs.map(rename) } : n));
    return { ...graph, nodes, outputs: graph.outputs.map(rename) };
  },
};

const noop: Pass = { name: 'e-test.noop', summary: 'test only: nothing', options: [], statistics: [], run: (g) => g };

const scaleFirst: Pass = {
  name: 'e-test.scale-first',
  summary: 'test only: scale the first float constant',
  options: [{ name: 'factor', type: 'float', default: 2, help: 'scale factor' }],
  statistics: [],
  run(graph, ctx) {
    const k = graph.constants.findIndex((c) => c.type.dtype === 'f32' && c.data);
    if (k < 0) return graph;
    const c = graph.constants[k];
    const v = readNumbers(c.data!);
    const scaled = Tensor.fromNumbers('f32', c.data!.shape, Array.from(v, (x) => x * (ctx.options.factor as number)));
    const copy: Constant = { ...c, data: scaled, hash: hashOf(scaled) };
    const constants = graph.constants.map((x, i) => (i === k ? copy : x));
    return { ...graph, constants };
  },
};

const thrower: Pass = {
  name: 'e-test.throw', summary: 'test only: fails', options: [], statistics: [],
  run() { throw new Error('boom'); },
};

/** Registers the test op and passes once per process. */
export function registerTestPasses(): void {
  if (!findOp(withRelu.name)) registerOps([withRelu]);
  if (!findPass(fuseRelu.name)) registerPasses([fuseRelu, dropRelu, noop, scaleFirst, thrower]);
}

/** A graph's node ops in order, for compact assertions. */
export function ops(g: Graph): string[] {
  return g.nodes.map((n) => n.op);
}
