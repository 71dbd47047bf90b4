/**
 * The reference kernel of a `kiln.fused` region (fused-region.ts) as loops generated from the
 * scalar-op table (scalar-ops.ts): the region computes through the same trees the compiled backends
 * render, under the table's precision contract.
 *
 * Algorithm: every elementwise body line gets its dtype, shape and tree from the table (opExpr).
 * The values that must exist as tensors (the region's results, and the operands of a final
 * reduction) are grouped by shape; each group is one generated JS loop over its shape that computes,
 * per element, every line in the group's cone in line order (`const t3 = ...;`) and stores the group's
 * values. Operands load through their broadcast: the element itself (same size), a hoisted scalar
 * (one element) or an offset table (broadcastOffsets). A line of a smaller shape inside a bigger
 * group is recomputed per element, which is correct because it is pointwise. The loop source depends
 * only on the body, dtypes and broadcast kinds, so identical regions share one compiled function.
 * A final reduction line runs its reference kernel on the materialised operand.
 *
 * `runRegionLoop` returns undefined when some line has no table entry for its dtypes or attributes
 * (float8, string, integer Pow, a non-scalar Clip bound, a bad operand...): the caller then
 * interprets the body with the reference kernels, which also report any error.
 */
import type { DType } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import { Tensor, readF32 } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import type { OpDef } from './registry.ts';
import type { BodyOperand } from './fused-body.ts';
import { broadcastOffsets, broadcastShapes } from './support.ts';
import { floatResult } from './elementwise.ts';
import { type Expr, compileJs, renderJs } from './scalar-expr.ts';
import { opExpr, outputDType, scalarOp } from './scalar-ops.ts';

/** What the loop generator needs of a body line. */
export interface LoopLine {
  readonly op: string;
  readonly operands: readonly BodyOperand[];
  readonly def: OpDef<any>;
  readonly parsed: unknown;
}

interface Planned {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly tree: Expr;
}

type Loop = (A: readonly ArrayLike<unknown>[], O: readonly (Int32Array | null)[], Y: unknown[], n: number) => void;

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Values of input tensor `t` in its compute type's storage (f16/bf16 decoded to f32). */
function loadArray(t: Tensor): ArrayLike<unknown> {
  return t.dtype === 'f16' || t.dtype === 'bf16' ? readF32(t) : (t.data as ArrayLike<unknown>);
}

/** Runs the body through generated loops, or returns undefined to ask for the interpreter. */
export function runRegionLoop(lines: readonly LoopLine[], results: readonly number[],
  inputs: readonly (Tensor | undefined)[]): Tensor[] | undefined {
  const last = lines[lines.length - 1];
  const tail = scalarOp(last.op) ? undefined : last;
  const m = tail ? lines.length - 1 : lines.length;
  const plan: Planned[] = [];
  for (let j = 0; j < m; j++) {
    const line = lines[j];
    const entry = scalarOp(line.op);
    if (!entry) return undefined;
    const dtypes: (DType | undefined)[] = [];
    const shapes: (readonly number[])[] = [];
    for (const o of line.operands) {
      if (o.kind === 'omitted') { dtypes.push(undefined); continue; }
      const src = o.kind === 'value' ? plan[o.index] : inputs[o.index];
      if (!src) return undefined;
      dtypes.push(src.dtype);
      shapes.push(src.shape);
    }
    const tree = opExpr(entry, dtypes, line.parsed);
    if (typeof tree === 'string') return undefined;
    let shape: number[];
    try {
      shape = broadcastShapes(...shapes);
    } catch {
      return undefined;
    }
    if (line.op === 'Clip') {
      if (shapes.slice(1).some((s) => sizeOf(s) !== 1)) return undefined; // Clip bounds are scalars
      shape = [...shapes[0]];
    }
    plan.push({ dtype: outputDType(entry, dtypes, line.parsed) as DType, shape, tree });
  }

  // the values that become tensors, grouped by shape
  const wanted = new Set<number>(results.filter((r) => r < m));
  if (tail) for (const o of tail.operands) if (o.kind === 'value') wanted.add(o.index);
  const groups = new Map<string, number[]>();
  for (const j of [...wanted].sort((a, b) => a - b)) {
    const key = plan[j].shape.join(',');
    groups.set(key, [...(groups.get(key) ?? []), j]);
  }
  const values = new Map<number, Tensor>();
  for (const members of groups.values()) runGroup(members, plan, lines, inputs, values);

  if (tail) {
    const args = tail.operands.map((o) => (o.kind === 'omitted' ? undefined : o.kind === 'value' ? values.get(o.index) : inputs[o.index]));
    const out = tail.def.run(args, tail.parsed, 1)[0];
    return results.map((r) => (r === m ? out : values.get(r)!));
  }
  return results.map((r) => values.get(r)!);
}

/** Generates, compiles (cached) and runs the loop of one shape group, filling `values`. */
function runGroup(members: readonly number[], plan: readonly Planned[], lines: readonly LoopLine[],
  inputs: readonly (Tensor | undefined)[], values: Map<number, Tensor>): void {
  const shape = plan[members[0]].shape;
  const n = sizeOf(shape);
  // the cone: every line the members need, in line order
  const cone = new Set<number>();
  const visit = (j: number) => {
    if (cone.has(j)) return;
    cone.add(j);
    for (const o of lines[j].operands) if (o.kind === 'value') visit(o.index);
  };
  members.forEach(visit);
  const order = [...cone].sort((a, b) => a - b);

  const A: ArrayLike<unknown>[] = [];
  const O: (Int32Array | null)[] = [];
  const head: string[] = [];
  const inputName = new Map<number, string>();
  const nameOfInput = (k: number): string => {
    const known = inputName.get(k);
    if (known) return known;
    const t = inputs[k]!;
    const slot = A.length;
    A.push(loadArray(t));
    let name: string;
    if (t.size === n) { O.push(null); head.push(`const a${slot} = A[${slot}];`); name = `a${slot}[i]`; }
    else if (t.size === 1) { O.push(null); head.push(`const s${slot} = A[${slot}][0];`); name = `s${slot}`; }
    else {
      O.push(broadcastOffsets(shape, t.shape));
      head.push(`const a${slot} = A[${slot}], o${slot} = O[${slot}];`);
      name = `a${slot}[o${slot}[i]]`;
    }
    inputName.set(k, name);
    return name;
  };
  const body: string[] = [];
  for (const j of order) {
    const names = lines[j].operands.map((o) => (o.kind === 'omitted' ? 'undefined' : o.kind === 'value' ? `t${o.index}` : nameOfInput(o.index)));
    body.push(`    const t${j} = ${renderJs(plan[j].tree, names)};`);
  }
  const Y: unknown[] = [];
  members.forEach((j, k) => {
    const { dtype } = plan[j];
    checkTensorSize({ what: 'output' }, dtype, shape);
    Y.push(dtype === 'f16' || dtype === 'bf16' ? new Float32Array(n) : dtypeInfo(dtype).alloc(n));
    head.push(`const y${k} = Y[${k}];`);
    body.push(`    y${k}[i] = t${j};`);
  });
  const src = `${head.join('\n')}\nfor (let i = 0; i < n; i++) {\n${body.join('\n')}\n}`;
  const loop = compileJs<Loop>(['A', 'O', 'Y', 'n'], src);
  loop(A, O, Y, n);
  members.forEach((j, k) => {
    const { dtype } = plan[j];
    const y = Y[k] as Float32Array;
    values.set(j, dtype === 'f16' || dtype === 'bf16' ? floatResult(dtype, shape, y) : new Tensor(dtype, shape, y as never));
  });
}
