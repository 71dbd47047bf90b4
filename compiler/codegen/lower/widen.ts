/**
 * The precision contract of compiled kernels for half floats: f16 and bf16 tensors are stored as such
 * but computed in f32, rounded once at the store (the contract: compute in f32, f64 only for
 * f64 tensors, round once at the store). Lowerings write their kernels in the tensors' own dtypes;
 * this rewrite then turns every half value into f32: a load of a half buffer becomes cast<f32>(load),
 * half literals, locals, accumulators and operations become f32, and a store into a half buffer casts
 * the f32 value back. Intermediates of a fused region are therefore not rounded to the half type
 * between steps (the reference kernels do round them), a difference of about one rounding per step,
 * within the half types' tolerance. Values moved without arithmetic (a tile copy, a tensor-core
 * fragment) stay in their half type.
 */
import type { DType } from '../../ir/dtype.ts';
import { type Scalar, type Stmt, cast } from '../kir.ts';

/** The 16-bit float types kernels store but compute in f32. */
export const isHalf = (d: DType): boolean => d === 'f16' || d === 'bf16';
const wide = (d: DType): DType => (isHalf(d) ? 'f32' : d);

/**
 * A scalar with every f16 value computed in f32. `kept`: locals holding an f16 vector load (the GPU
 * GEMM template's tile copies), which stay f16 vectors; their lanes widen as they are read.
 */
function widenValue(e: Scalar, kept: ReadonlySet<string>): Scalar {
  const w = (x: Scalar) => widenValue(x, kept);
  switch (e.k) {
    case 'ref': return kept.has(e.name) ? e : { ...e, dtype: wide(e.dtype) };
    case 'lit': case 'index': case 'table': return { ...e, dtype: wide(e.dtype) };
    case 'load': return isHalf(e.dtype) && (e.lanes ?? 1) === 1 ? cast(e, 'f32') : e;
    case 'lane': {
      const a = w(e.a);
      return a.dtype === e.dtype ? cast({ ...e, a }, wide(e.dtype)) : { ...e, dtype: wide(e.dtype), a };
    }
    case 'unary': case 'broadcast': return { ...e, dtype: wide(e.dtype), a: w(e.a) };
    case 'cast': return cast(w(e.a), wide(e.dtype)); // a cast to f16 computes on in f32: no node
    case 'binary': return { ...e, dtype: wide(e.dtype), a: w(e.a), b: w(e.b) };
    case 'select': return { ...e, dtype: wide(e.dtype), cond: w(e.cond), a: w(e.a), b: w(e.b) };
  }
}

/** A half value moved without arithmetic: a half load or literal, a lane of a kept half vector. */
function halfCopy(e: Scalar, kept: ReadonlySet<string>): boolean {
  if (!isHalf(e.dtype)) return false;
  return e.k === 'lit' || (e.k === 'load' && (e.lanes ?? 1) === 1) || (e.k === 'lane' && e.a.k === 'ref' && kept.has(e.a.name));
}

/**
 * Statements with every f16 value computed in f32; `dtypeOf` gives each param's dtype, and the
 * kernel's `local` buffers keep theirs (an f16 plane stays f16 storage, its stores cast back).
 */
export function widenHalf(stmts: readonly Stmt[], dtypeOf: (buffer: string) => DType | undefined): Stmt[] {
  const locals = new Map<string, DType>();
  const kept = new Set<string>();
  const widenScalar = (e: Scalar) => widenValue(e, kept);
  const walk = (list: readonly Stmt[]): Stmt[] => list.map((s): Stmt => {
    switch (s.k) {
      case 'local': locals.set(s.name, s.dtype); return s;
      case 'loop': return { ...s, body: walk(s.body) };
      case 'guard': return { ...s, body: walk(s.body) };
      case 'let':
        if (s.value.k === 'load' && isHalf(s.value.dtype) && (s.value.lanes ?? 1) > 1) { kept.add(s.name); return s; }
        return { ...s, value: widenScalar(s.value) };
      case 'acc': return { ...s, dtype: wide(s.dtype), init: widenScalar(s.init) };
      case 'accum': return { ...s, value: widenScalar(s.value) };
      case 'mma': case 'copy_async': case 'ldmatrix': return s; // tensor-core fragments and raw copies move halves as they are stored
      case 'store': {
        const d = locals.get(s.buffer) ?? dtypeOf(s.buffer);
        if (d && isHalf(d) && halfCopy(s.value, kept)) return s; // a half element moved as it is (a tile copy): no round trip
        const v = widenScalar(s.value);
        return { ...s, value: d && isHalf(d) ? cast(v, d) : v };
      }
      default: return s;
    }
  });
  return walk(stmts);
}
