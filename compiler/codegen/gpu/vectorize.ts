/**
 * Vectorized loads for the GPU mapping (map.ts, the thread-per-element mode): each thread computes
 * LANES consecutive iterations of the nest's innermost loop, and every load those iterations make of
 * consecutive, aligned elements becomes one aligned vector load (kernel IR `aligned`: one 16-byte
 * load of 4 f32 where the scalar form issues 4 loads, fewer instructions per byte moved on a
 * memory-bound kernel). Target independent: WGSL reads an array<vec4<T>> view of the buffer, CUDA a
 * float4.
 *
 * The rewrite, for a nest whose innermost variable x has an extent divisible by LANES and whose body
 * is straight-line code (lets and stores: an elementwise or fused elementwise kernel, a copy):
 *   1. x becomes LANES·q + l: q is the new innermost variable (extent / LANES), l = 0..LANES-1 a lane;
 *   2. a load whose index is affine with coefficient 1 on x, and a constant and every other
 *      coefficient divisible by LANES, reads at LANES·q + l the elements base + l of an aligned base:
 *      one `let v = vload<LANES, aligned>(buf[base])` before the lanes, and lane l reads `lane(v, l)`;
 *   3. a load whose index does not involve x is the same in every lane: one `let` before the lanes;
 *   4. every other load (a transpose's strided read, a gather) stays a scalar load in its lane;
 *   5. the body is written once per lane (its lets renamed `name_lN`), lanes in order.
 * The lanes cover exactly the iterations and elements the scalar nest did, so bounds and the nest's
 * independence proof carry over. A body with no load of step 2 is left alone (no gain).
 */
import type { DType } from '../../ir/dtype.ts';
import type { Index, Scalar, Stmt } from '../kir.ts';
import { iadd, ic, imul, iv, lane, vload, vref } from '../kir.ts';
import { affine, mentionsVar, substIndex } from './rewrite.ts';

/** Lanes of a vectorized thread (a WGSL vec4, a CUDA float4: 16 bytes of f32). */
export const LANES = 4;

/** Element types a vector load may read (WGSL's vector element types; bool and narrow ints are words). */
const VECTOR_DTYPES: ReadonlySet<DType> = new Set(['f32', 'f16', 'i32', 'u32']);

type NestLoop = { readonly var: string; readonly extent: number };

/** A vectorized nest: the new innermost variable and extent, and the body over it. */
export interface VectorizedNest {
  readonly nest: NestLoop[];
  readonly body: Stmt[];
  /** Aligned vector loads made (one per distinct buffer and base). */
  readonly vectorLoads: number;
}

/** Vectorizes `body` over the innermost loop of `nest` (module header), or undefined when it does not apply. */
export function vectorizeNest(nest: readonly NestLoop[], body: readonly Stmt[], fresh: (base: string) => string): VectorizedNest | undefined {
  const inner = nest.at(-1);
  if (!inner || inner.extent % LANES !== 0 || inner.extent < LANES) return undefined;
  if (!body.every((s) => s.k === 'let' || s.k === 'store')) return undefined;
  const x = inner.var, q = fresh(`${x}_v`);
  const hoisted: Stmt[] = [];
  const vectors = new Map<string, Scalar>(); // key → the `lane`-able vector ref
  const uniform = new Map<string, Scalar>(); // key → the ref of a lane-independent load
  const key = (e: { buffer: string; index: Index }) => `${e.buffer}[${JSON.stringify(e.index)}]`;
  const at = (l: number) => new Map([[x, iadd(imul(iv(q), ic(LANES)), ic(l))]]);

  const kind = (e: Scalar & { k: 'load' }): 'vector' | 'uniform' | 'scalar' => {
    if ((e.lanes ?? 1) !== 1) return 'scalar';
    const f = affine(e.index);
    if (!f) return mentionsVar(e.index, x) ? 'scalar' : 'uniform';
    const cx = f.terms.get(x) ?? 0;
    if (cx === 0) return 'uniform';
    if (cx !== 1 || !VECTOR_DTYPES.has(e.dtype) || f.constant % LANES !== 0) return 'scalar';
    return [...f.terms].every(([v, c]) => v === x || c % LANES === 0) ? 'vector' : 'scalar';
  };

  // lane l's copy of a scalar expression
  const laneOf = (e: Scalar, l: number, lets: ReadonlyMap<string, string>): Scalar => {
    const sc = (y: Scalar) => laneOf(y, l, lets);
    switch (e.k) {
      case 'load': {
        const how = kind(e);
        if (how === 'scalar') return { ...e, index: substIndex(e.index, at(l)) };
        const k = key(e);
        if (how === 'uniform') {
          if (!uniform.has(k)) {
            const name = fresh(`${e.buffer}_u`);
            hoisted.push({ k: 'let', name, value: e });
            uniform.set(k, { k: 'ref', dtype: e.dtype, name });
          }
          return uniform.get(k)!;
        }
        if (!vectors.has(k)) {
          const name = fresh(`${e.buffer}_v${LANES}`);
          hoisted.push({ k: 'let', name, value: vload(e.buffer, substIndex(e.index, at(0)), e.dtype, LANES, true) });
          vectors.set(k, vref(name, e.dtype, LANES));
        }
        return lane(vectors.get(k)!, ic(l));
      }
      case 'ref': return lets.has(e.name) ? { ...e, name: lets.get(e.name)! } : e;
      case 'index': case 'table': return { ...e, index: substIndex(e.index, at(l)) };
      case 'broadcast': case 'unary': case 'cast': return { ...e, a: sc(e.a) };
      case 'lane': return { ...e, a: sc(e.a), index: substIndex(e.index, at(l)) };
      case 'binary': return { ...e, a: sc(e.a), b: sc(e.b) };
      case 'select': return { ...e, cond: sc(e.cond), a: sc(e.a), b: sc(e.b) };
      default: return e;
    }
  };

  const lanesCode: Stmt[] = [];
  for (let l = 0; l < LANES; l++) {
    const lets = new Map<string, string>();
    for (const s of body) {
      if (s.k === 'let') {
        const value = laneOf(s.value, l, lets);
        const name = fresh(`${s.name}_l${l}`);
        lets.set(s.name, name);
        lanesCode.push({ k: 'let', name, value });
      } else if (s.k === 'store') {
        lanesCode.push({ k: 'store', buffer: s.buffer, index: substIndex(s.index, at(l)), value: laneOf(s.value, l, lets) });
      }
    }
  }
  if (!vectors.size) return undefined;
  return {
    nest: [...nest.slice(0, -1), { var: q, extent: inner.extent / LANES }],
    body: [...hoisted, ...lanesCode],
    vectorLoads: vectors.size,
  };
}
