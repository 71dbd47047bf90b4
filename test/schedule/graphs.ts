/**
 * Hand-built graphs for the memory-planning tests, written compactly: `build` takes inputs, constants
 * and nodes as tuples; `f32(...shape)` etc. make types. Sizes are chosen so every figure (intervals,
 * breadth, offsets) can be computed by hand; f32 element counts are multiples of 16 so 64-byte
 * alignment never pads.
 */
import type { Attrs, Dim, Graph, Node, TensorType } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';

export const ty = (dtype: DType, ...shape: Dim[]): TensorType => ({ dtype, shape });
export const f32 = (...shape: Dim[]): TensorType => ty('f32', ...shape);

/** One node: op, inputs, outputs with types, optional attributes. */
export type NodeSpec = [op: string, inputs: string[], outputs: [string, TensorType][], attrs?: Attrs];

/** A graph from tuples (constants carry no data: plans never read it). */
export function build(spec: {
  inputs: [string, TensorType][];
  constants?: [string, TensorType][];
  nodes: NodeSpec[];
  outputs: string[];
  name?: string;
}): Graph {
  return {
    name: spec.name ?? 'hand',
    inputs: spec.inputs.map(([name, type]) => ({ name, type })),
    constants: (spec.constants ?? []).map(([name, type]) => ({ name, type, hash: `hash-${name}` })),
    nodes: spec.nodes.map(([op, inputs, outs, attrs]): Node => ({
      op, inputs, outputs: outs.map((o) => o[0]), types: outs.map((o) => o[1]), attrs: attrs ?? {}, loc: [outs[0][0]],
    })),
    outputs: spec.outputs,
  };
}

/**
 * The chain x → A → a(1024 B) → B → b(2048 B) → C → c(512 B) → D → y(64 B, output), all Conv.
 * Intervals a [0,1], b [1,2], c [2,3], y [3,3]; breadth 1024, 3072, 2560, 576; lower bound 3072;
 * naive 3648.
 */
export const chain = (): Graph => build({
  inputs: [['x', f32(16)]],
  nodes: [
    ['Conv', ['x'], [['a', f32(256)]]],
    ['Conv', ['a'], [['b', f32(512)]]],
    ['Conv', ['b'], [['c', f32(128)]]],
    ['Conv', ['c'], [['y', f32(16)]]],
  ],
  outputs: ['y'],
});

/**
 * The diamond x → A → a(1024 B); B(a) → b(512 B); C(a) → c(256 B); D = Concat(b, c) → d(768 B, output).
 * Intervals a [0,2], b [1,3], c [2,3], d [3,3]; breadth 1024, 1536, 1792, 1536; lower bound 1792.
 */
export const diamond = (): Graph => build({
  inputs: [['x', f32(16)]],
  nodes: [
    ['Conv', ['x'], [['a', f32(256)]]],
    ['Conv', ['a'], [['b', f32(128)]]],
    ['Conv', ['a'], [['c', f32(64)]]],
    ['Concat', ['b', 'c'], [['d', f32(192)]]],
  ],
  outputs: ['d'],
});

/**
 * A fan written breadth-first: four expansions A1..A4 of x (4096 B each), then four reductions
 * B1..B4 (64 B each), then a Concat. As written all four expansions are live at once (lower bound
 * 4·4096 + 64); run as A,B pairs only one is (4096 + 4·64).
 */
export const fan = (k = 4): Graph => build({
  inputs: [['x', f32(16)]],
  nodes: [
    ...Array.from({ length: k }, (_, i): NodeSpec => ['Conv', ['x'], [[`a${i}`, f32(1024)]]]),
    ...Array.from({ length: k }, (_, i): NodeSpec => ['Conv', [`a${i}`], [[`b${i}`, f32(16)]]]),
    ['Concat', Array.from({ length: k }, (_, i) => `b${i}`), [['y', f32(16 * k)]]],
  ],
  outputs: ['y'],
});
