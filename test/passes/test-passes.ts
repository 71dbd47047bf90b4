/**
 * Small passes for testing the pass infrastructure, registered under `test-` names (idempotently, as
 * several test files share one process): a no-op, a pass with an option of every type, correct and
 * numerically wrong rewrites, and deliberately broken passes that the verifier must catch.
 */
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { type Pass, findPass, registerPasses } from '../../compiler/passes/pass.ts';

/** Replaces node `i` of the graph (a new graph; the others are shared). */
function withNode(g: Graph, i: number, node: Node): Graph {
  return { ...g, nodes: g.nodes.map((n, k) => (k === i ? node : n)) };
}

const base = { options: [], statistics: [] } as const;

export const TEST_PASSES: Pass[] = [
  { ...base, name: 'test-noop', summary: 'returns its input', run: (g) => g },
  {
    name: 'test-opts',
    summary: 'has an option of every type; changes nothing',
    options: [
      { name: 'max-ops', type: 'int', default: 8, help: 'an int' },
      { name: 'tol', type: 'float', default: 0.5, help: 'a float' },
      { name: 'aggressive', type: 'bool', default: false, help: 'a bool' },
      { name: 'mode', type: 'string', default: 'fast', help: 'a string' },
      { name: 'allow', type: 'strings', default: [], help: 'a list' },
    ],
    statistics: [],
    run: (g) => g,
  },
  {
    name: 'test-count',
    summary: 'counts nodes by op into statistics and records a decision per Relu; changes nothing',
    options: [],
    statistics: [{ name: 'nodes', help: 'nodes seen' }, { name: 'relus', help: 'Relu nodes seen' }],
    run(g, ctx) {
      for (const n of g.nodes) {
        ctx.stats.add('nodes');
        if (n.op === 'Relu') {
          ctx.stats.add('relus');
          ctx.decide({ kind: 'rejected', nodes: [n.outputs[0]], loc: n.loc, reason: 'test pass never fuses' });
        }
      }
      return g;
    },
  },
  {
    ...base,
    name: 'test-relu-to-sigmoid',
    summary: 'turns Relu into Sigmoid, keeping the output name (numerically wrong, structurally fine)',
    run(g) {
      const i = g.nodes.findIndex((n) => n.op === 'Relu');
      return i < 0 ? g : withNode(g, i, { ...g.nodes[i], op: 'Sigmoid' });
    },
  },
  {
    ...base,
    name: 'test-broken-drop-input',
    summary: 'BROKEN: drops the last input of the first node with two inputs',
    run(g) {
      const i = g.nodes.findIndex((n) => n.inputs.length === 2);
      return i < 0 ? g : withNode(g, i, { ...g.nodes[i], inputs: g.nodes[i].inputs.slice(0, 1) });
    },
  },
  {
    ...base,
    name: 'test-broken-type',
    summary: 'BROKEN: declares the last node output as i32',
    run(g) {
      const i = g.nodes.length - 1;
      return withNode(g, i, { ...g.nodes[i], types: [{ ...g.nodes[i].types[0], dtype: 'i32' }] });
    },
  },
  {
    ...base,
    name: 'test-broken-undefined',
    summary: 'BROKEN: makes the first node read a value nothing defines',
    run: (g) => withNode(g, 0, { ...g.nodes[0], inputs: ['nowhere', ...g.nodes[0].inputs.slice(1)] }),
  },
  {
    ...base,
    name: 'test-broken-input-type',
    summary: 'BROKEN: retypes the first graph input as f64, leaving its readers untouched',
    run: (g) => ({ ...g, inputs: [{ ...g.inputs[0], type: { ...g.inputs[0].type, dtype: 'f64' } }, ...g.inputs.slice(1)] }),
  },
  {
    ...base,
    name: 'test-broken-hash',
    summary: 'BROKEN: adds a constant whose hash does not match its data',
    run(g) {
      const c = g.constants[0];
      return { ...g, constants: [...g.constants, { ...c, name: 'bad_hash', hash: 'ab'.repeat(32), data: c.data }] };
    },
  },
  {
    ...base,
    name: 'test-throws',
    summary: 'throws a plain Error',
    run() { throw new Error('index out of range'); },
  },
  {
    ...base,
    name: 'test-throws-at-node',
    summary: 'throws a KilnError naming a node',
    run(g) { throw new KilnError('cannot handle this node', { node: g.nodes[0].outputs[0], op: g.nodes[0].op }); },
  },
];

/** Registers the test passes once per process. */
export function registerTestPasses(): void {
  const missing = TEST_PASSES.filter((p) => !findPass(p.name));
  if (missing.length) registerPasses(missing);
}
