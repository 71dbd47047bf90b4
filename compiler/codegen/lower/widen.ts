/**
 * The precision contract of compiled kernels for half floats: f16 tensors are stored as f16 but
 * computed in f32, rounded once at the store (the issue's contract: compute in f32, f64 only for f64
 * tensors, round once at the store). Lowerings write their kernels in the tensors' own dtypes; this
 * rewrite then turns every f16 value into f32: a load of an f16 buffer becomes cast<f32>(load), f16
 * literals, locals, accumulators and operations become f32, and a store into an f16 buffer casts the
 * f32 value back. Intermediates of a fused region are therefore not rounded to f16 between steps (the
 * reference kernels do round them), a difference of about one f16 rounding per step, within the
 * f16 tolerance. bf16 has no C type yet and stays unsupported (scalar.ts).
 */
import type { DType } from '../../ir/dtype.ts';
import { type Scalar, type Stmt, cast } from '../kir.ts';

const wide = (d: DType): DType => (d === 'f16' ? 'f32' : d);

/**
 * A scalar with every f16 value computed in f32. `kept`: locals holding an f16 vector load (the GPU
 * GEMM template's tile copies), which stay f16 vectors; their lanes widen as they are read.
 */
function widenValue(e: Scalar, kept: ReadonlySet<string>): Scalar {
  const w = (x: Scalar) => widenValue(x, kept);
  switch (e.k) {
    case 'ref': return kept.has(e.name) ? e : { ...e, dtype: wide(e.dtype) };
    case 'lit': case 'index': case 'table': return { ...e, dtype: wide(e.dtype) };
    case 'load': return e.dtype === 'f16' && (e.lanes ?? 1) === 1 ? cast(e, 'f32') : e;
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

/** An f16 value moved without arithmetic: an f16 load or literal, a lane of a kept f16 vector. */
function halfCopy(e: Scalar, kept: ReadonlySet<string>): boolean {
  if (e.dtype !== 'f16') return false;
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
        if (s.value.k === 'load' && s.value.dtype === 'f16' && (s.value.lanes ?? 1) > 1) { kept.add(s.name); return s; }
        return { ...s, value: widenScalar(s.value) };
      case 'acc': return { ...s, dtype: wide(s.dtype), init: widenScalar(s.init) };
      case 'accum': return { ...s, value: widenScalar(s.value) };
      case 'mma': case 'copy_async': case 'ldmatrix': return s; // tensor-core fragments and raw copies move f16 as it is stored
      case 'store': {
        const d = locals.get(s.buffer) ?? dtypeOf(s.buffer);
        if (d === 'f16' && halfCopy(s.value, kept)) return s; // an f16 element moved as it is (a tile copy): no round trip
        const v = widenScalar(s.value);
        return { ...s, value: d === 'f16' ? cast(v, 'f16') : v };
      }
      default: return s;
    }
  });
  return walk(stmts);
}
