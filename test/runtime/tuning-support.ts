/**
 * A test-only tunable op for the tuner's tests: `test.tuned_double` (y = 2x, f32) whose lowering offers
 * four candidates for the template `test-repeat` at key `n=<elements>`:
 * - 0 `{reps: 24, bias: 0}` (the default): adds x into an accumulator 24 times per element, a chain
 *   of dependent adds the compiler may not reassociate, so it is about 20x slower than
 * - 1 `{reps: 1, bias: 0}`: one add; the right answer, fastest;
 * - 2 `{reps: 1, bias: 1}`: as fast as 1 but adds 1 to every element: wrong, must be excluded;
 * - 3 `{reps: 0, bias: 0}`: refused by the lowering (LowerUnsupported), excluded without compiling.
 * `candidates` lets a test offer another list (a changed candidate set).
 */
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, readF32 } from '../../compiler/ir/tensor.ts';
import { registerOps } from '../../compiler/ops/registry.ts';
import { LowerUnsupported, registerLowerings, findLowering } from '../../compiler/codegen/lower/context.ts';
import { binary, iv, lit, load, loop, ref } from '../../compiler/codegen/kir.ts';
import '../../compiler/ops/all.ts';
import '../../compiler/codegen/lower/all.ts';

export const TEST_OP = 'test.tuned_double';
export const TEMPLATE = 'test-repeat';
export const DEFAULT_CANDIDATES = [{ reps: 24, bias: 0 }, { reps: 1, bias: 0 }, { reps: 1, bias: 1 }, { reps: 0, bias: 0 }] as const;

/** The candidates the lowering offers (tests may swap them). */
export const offered: { candidates: readonly Readonly<Record<string, number>>[] } = { candidates: DEFAULT_CANDIDATES };

if (!findLowering(TEST_OP)) {
  registerOps([{
    name: TEST_OP, inputs: [1, 1], outputs: [1, 1],
    parseAttrs: () => ({}),
    inferTypes: (ins) => [ins[0]!],
    run: (ins) => {
      const x = readF32(ins[0]!);
      return [new Tensor('f32', [...ins[0]!.shape] as number[], x.map((v) => 2 * v))];
    },
  }]);
  registerLowerings({
    [TEST_OP]: (n) => {
      const x = n.inputs[0]!, y = n.outputs[0];
      const c = n.choose(TEMPLATE, `n=${x.count}`, offered.candidates);
      if (c.reps < 1) throw new LowerUnsupported(`reps must be at least 1, got ${c.reps}`);
      const acc = 'acc';
      return {
        kind: 'kernel',
        body: [loop('i', x.count, [
          { k: 'acc', name: acc, dtype: 'f32', combine: 'add', init: lit(0, 'f32') },
          loop('r', c.reps, [{ k: 'accum', name: acc, value: load(x.name, iv('i'), 'f32') }]),
          { k: 'store', buffer: y.name, index: iv('i'), value: binary('add', binary('mul', ref(acc, 'f32'), lit(2 / c.reps, 'f32')), lit(c.bias, 'f32')) },
        ], [{ kind: 'parallel' }])],
      };
    },
  });
}

/** x → test op → test op → y over `n` elements: two nodes sharing one tuning problem. */
export function tunedGraph(n = 1 << 17, name = 'tuned'): Graph {
  const t = { dtype: 'f32' as const, shape: [n] };
  return {
    name, inputs: [{ name: 'x', type: t }], outputs: ['y'], constants: [],
    nodes: [
      { op: TEST_OP, inputs: ['x'], outputs: ['h'], types: [t], attrs: {}, loc: ['first'] },
      { op: TEST_OP, inputs: ['h'], outputs: ['y'], types: [t], attrs: {}, loc: ['second'] },
    ],
  };
}

/** Two problems: x[n] → test op → y and z[m] → test op → w (independent chains of different sizes). */
export function twoProblemGraph(n = 1 << 16, m = 1 << 15): Graph {
  const tx = { dtype: 'f32' as const, shape: [n] }, tz = { dtype: 'f32' as const, shape: [m] };
  return {
    name: 'two', inputs: [{ name: 'x', type: tx }, { name: 'z', type: tz }], outputs: ['y', 'w'], constants: [],
    nodes: [
      { op: TEST_OP, inputs: ['x'], outputs: ['y'], types: [tx], attrs: {}, loc: ['a'] },
      { op: TEST_OP, inputs: ['z'], outputs: ['w'], types: [tz], attrs: {}, loc: ['b'] },
    ],
  };
}
