/**
 * A seeded generator of random graphs for the memory-planning property tests. The graphs are only
 * ever planned, never run, so node types need only be consistent with what the planner reads: output
 * types, which ops are views (Reshape/Flatten/Squeeze/Unsqueeze/Identity keeping the element count),
 * which are elementwise (unary, binary with a same-shaped or broadcast operand, Cast changing the width,
 * kiln.fused regions with and without a reduction) and everything else (Conv/MatMul/Concat-like ops
 * with fresh sizes, two-output Split). Inputs are drawn mostly from recent values (chains) and
 * sometimes from any earlier value (long lives, many readers); some outputs are dropped, several
 * values become graph outputs (views and in-place candidates among them), some shapes are symbolic.
 */
import type { Constant, Dim, Graph, GraphInput, Node, TensorType } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of randomGraph. */
export interface RandomGraphOptions {
  /** Most nodes (default 40). */
  maxNodes?: number;
}

/** A random graph (see the module header); the same seed gives the same graph. */
export function randomGraph(seed: number, opts: RandomGraphOptions = {}): Graph {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const dtypes: DType[] = ['f32', 'f32', 'f32', 'f16', 'i64', 'bool'];
  const randomShape = (): Dim[] => {
    if (r() < 0.03) return [0, int(1, 4)];
    const rank = int(1, 3);
    const shape: Dim[] = [];
    for (let i = 0; i < rank; i++) shape.push(pick([1, 2, 3, 4, 7, 8, 16, 32, 64, 100]));
    if (r() < 0.1) shape[0] = 'N';
    return shape;
  };
  const randomType = (): TensorType => ({ dtype: pick(dtypes), shape: randomShape() });
  const inputs: GraphInput[] = [];
  const constants: Constant[] = [];
  const values: { name: string; type: TensorType }[] = [];
  for (let i = 0, k = int(1, 3); i < k; i++) {
    const v = { name: `in${i}`, type: randomType() };
    inputs.push(v);
    values.push(v);
  }
  for (let i = 0, k = int(0, 2); i < k; i++) {
    const v = { name: `w${i}`, type: randomType() };
    constants.push({ ...v, hash: `h${seed}_${i}` });
    values.push(v);
  }
  const shapeConst = (rank: number): string => {
    const name = `shape${constants.length}`;
    constants.push({ name, type: { dtype: 'i64', shape: [rank] }, hash: `s${seed}_${constants.length}` });
    return name;
  };
  const nodes: Node[] = [];
  let counter = 0;
  const fresh = () => `v${counter++}`;
  const source = () => (r() < 0.7 ? values[Math.max(0, values.length - int(1, 3))] : pick(values));
  const count = (t: TensorType) => t.shape.reduce<number>((n, d) => n * (typeof d === 'number' ? d : 1), 1);
  const emit = (op: string, ins: string[], types: TensorType[], attrs: Node['attrs'] = {}) => {
    const outs = types.map(() => fresh());
    nodes.push({ op, inputs: ins, outputs: outs, types, attrs, loc: [outs[0]] });
    outs.forEach((o, k) => { if (r() < 0.95 || k === 0) values.push({ name: o, type: types[k] }); });
  };
  const target = int(3, opts.maxNodes ?? 40);
  while (nodes.length < target) {
    const a = source();
    const roll = r();
    if (roll < 0.2) {
      emit(pick(['Relu', 'Sigmoid', 'Neg', 'Exp']), [a.name], [a.type]);
    } else if (roll < 0.35) {
      const same = values.filter((v) => v.type.dtype === a.type.dtype && v.type.shape.join() === a.type.shape.join());
      const b = r() < 0.6 ? pick(same) : { name: a.name };
      const [x, y] = r() < 0.5 ? [a.name, b.name] : [b.name, a.name];
      emit(pick(['Add', 'Mul', 'Sub']), [x, y], [a.type]);
    } else if (roll < 0.4) {
      const small = { dtype: a.type.dtype, shape: a.type.shape.slice(-1) };
      const w = `w${constants.length}`;
      constants.push({ name: w, type: small, hash: `b${seed}_${w}` });
      emit('Mul', r() < 0.5 ? [a.name, w] : [w, a.name], [a.type]);
    } else if (roll < 0.45) {
      emit('Cast', [a.name], [{ dtype: a.type.dtype === 'f32' ? 'f16' : 'f32', shape: a.type.shape }], { to: { kind: 'int', value: 1 } });
    } else if (roll < 0.62) {
      const n = count(a.type);
      const sym = a.type.shape.find((d) => typeof d === 'string');
      const shape: Dim[] = sym !== undefined ? [sym, n] : pick([[n], [1, n], [n, 1]]);
      const op = pick(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);
      emit(op, op === 'Reshape' ? [a.name, shapeConst(shape.length)] : [a.name], [{ dtype: a.type.dtype, shape }]);
    } else if (roll < 0.72) {
      const b = source();
      const body = ['t0 = Add(in0, in1)', 't1 = Relu(t0)'];
      const reduce = r() < 0.3;
      if (reduce) body.push('t2 = ReduceSum(t1, in1)');
      const two = !reduce && r() < 0.4;
      emit('kiln.fused', [a.name, b.name], two ? [a.type, a.type] : [reduce ? randomType() : a.type], {
        body: { kind: 'strings', value: body },
        results: { kind: 'strings', value: reduce ? ['t2'] : two ? ['t0', 't1'] : ['t1'] },
      });
    } else if (roll < 0.8) {
      emit('Split', [a.name], [randomType(), randomType()]);
    } else {
      const ins = [a.name];
      for (let i = 0, k = int(0, 2); i < k; i++) ins.push(source().name);
      emit(pick(['Conv', 'MatMul', 'Concat', 'Transpose']), ins, [randomType()]);
    }
  }
  const outputs = new Set<string>([nodes[nodes.length - 1].outputs[0]]);
  for (let i = 0, k = int(0, 2); i < k; i++) outputs.add(pick(nodes).outputs[0]);
  if (r() < 0.1) outputs.add(inputs[0].name);
  return { name: `random${seed}`, inputs, outputs: [...outputs], constants, nodes };
}
