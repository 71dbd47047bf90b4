/**
 * The WGSL language descriptor (WebGPU compute shaders, run through Dawn): what render.ts needs to write
 * one kernel as one WGSL module (renderKernelModule), one `@compute` entry point named after the kernel.
 *
 * - Storage (wgslStorage; the webgpu runtime widens and narrows exactly this at upload and download):
 *   f32, i32, u32 as themselves; f16 as f16 (only with the adapter's `shader-f16`: the descriptor is made
 *   by `wgsl({ f16 })`, the header then has `enable f16;`; without it any f16 throws); bool as u32 words
 *   0/1; i8/i16 as i32 and u8/u16 as u32 words holding the value; i64/u64 as vec2<u32> (low word, high
 *   word: the host's little-endian bytes). f64, bf16, the float8/float4 types and sub-byte integers have
 *   no WGSL storage: a kernel that uses one throws (`WGSL has no f64`).
 * - Values: bool is WGSL bool (a load is `(b[i] != 0u)`, a store `select(0u, 1u, v)`); i8/i16 are i32
 *   and u8/u16 u32 values whose add, sub, mul, neg, div and casts wrap to their width (a shift pair or a
 *   mask after the operation); i64/u64 are vec2<u32> computed by helper functions (wgsl-i64.ts). An
 *   i64 read as an index (a Gather's indices) is its low word as i32. Index arithmetic and loop
 *   variables are i32.
 * - Semantics are the scalar-op table's (compiler/ops/scalar-expr.ts), as in lang/c.ts: max/min propagate
 *   NaN and keep a on ties, sign keeps NaN and -0, round is WGSL's round (half to even), integer div
 *   truncates and fmod is the truncated remainder (WGSL's `/` and `%`, which give a and 0 for a zero
 *   divisor and MIN / -1 = MIN, MIN % -1 = 0, without trapping). NaN is tested on the bits and
 *   non-finite constants are made from bits at run time (wgsl-math.ts: WGSL may assume finite floats
 *   and rejects non-finite constant expressions). f16 math beyond arithmetic runs in f32 (kiln's
 *   lowering already computes f16 kernels in f32: widen.ts).
 * - Helpers: functions (wgsl-math.ts, wgsl-i64.ts) are written into the header only when a kernel of the
 *   program uses them: the header renders the program's kernels once with a fresh descriptor that
 *   records every helper it calls.
 * - Tables (kernel IR `table`): a module-scope `const kiln_tN = array<T, N>(...)` per distinct table,
 *   collected while the body renders and declared by kernelOpen (runtime indexing of a module const
 *   array is valid WGSL); a float table holding NaN, ±Inf or -0 (no WGSL constants) is a function
 *   `kiln_tN(i)` that builds the array at run time instead.
 * - Literals: f32 with the shortest digits that read back exactly (suffix f), f16 rounded to f16
 *   (suffix h), NaN, ±Inf and -0 from bits at run time (a constant -0 comes out +0 through Dawn);
 *   INT32_MIN as `i32(-2147483647 - 1)`; i64/u64 as vec2<u32>(lo, hi) (wgsl-i64.ts: literal64).
 * - Kernels: one binding per param in param order, `@group(0) @binding(N) var<storage, read_write>`
 *   for every param, inputs included: kiln binds every param as a range of one device buffer, and
 *   WebGPU refuses a dispatch that uses one buffer both as read-only and as writable storage (usage
 *   scopes are per buffer, not per range; disjoint writable ranges are allowed); shared buffers are `var<workgroup>`
 *   arrays; private buffers (`local`) function-scope `var` arrays. The entry point takes workgroup_id
 *   (`wid`), local_invocation_id (`lid`) and num_workgroups (`nwg`); its workgroup size is the launch's
 *   block ([1, 1, 1] without a launch: the kernel runs as one thread of one workgroup).
 * - Loops: `for (var v: i32 = 0; v < N; v++)`; a loop annotated grid(axis) or block(axis) is no loop but
 *   a block binding `v` to wid or lid on that axis (the renderer closes it with `}`); the CPU annotations
 *   (parallel, vectorize, unroll, tile) are comments.
 * - Vectors: vecN<T> for 2 to 4 lanes of f32, f16, i32, u32 (no alignment: a vector load builds the
 *   vector from consecutive elements, a vector store writes each lane). A param read by `aligned`
 *   vector loads is bound as `array<vecN<T>>` (wgslVectorParams: N = 2 or 4, never stored, its count
 *   a multiple of N): an aligned load is one element `X[i / N]` (one 16-byte load for vec4<f32>; i is a
 *   multiple of N by the verifier's rule, and every binding starts 256-byte aligned), a scalar access a
 *   component `X[i / N][i % N]`. A second, vector-typed binding of the same range is no option: WebGPU
 *   refuses overlapping writable bindings in one dispatch, and a read-only one beside them.
 * - Names: kernel IR names are printed as they are; a WGSL keyword or reserved word as a name throws,
 *   and so does a kernel or buffer (module-scope) name that shadows a builtin the code calls (`exp`).
 * - Entry: WGSL has no multi-kernel entry; `entry` lists the program's calls as comments.
 */
import type { DType } from '../../ir/dtype.ts';
import { narrowFloatCodec } from '../../ir/floatbits.ts';
import type { Annotation, BinaryOp, Combine, Kernel, Program, Scalar, Stmt, UnaryOp } from '../kir.ts';
import { type Language, renderKernel } from '../render.ts';
import { I64_HELPERS, literal64 } from './wgsl-i64.ts';
import { MATH_HELPERS } from './wgsl-math.ts';
import { ident } from './wgsl-names.ts';

/** The WGSL storage of a device buffer of a dtype: element type and bytes; undefined where WGSL has none. */
export function wgslStorage(dtype: DType): { type: string; bytes: number } | undefined {
  switch (dtype) {
    case 'f32': return { type: 'f32', bytes: 4 };
    case 'f16': return { type: 'f16', bytes: 2 };
    case 'i32': case 'i8': case 'i16': return { type: 'i32', bytes: 4 };
    case 'u32': case 'u8': case 'u16': case 'bool': return { type: 'u32', bytes: 4 };
    case 'i64': case 'u64': return { type: 'vec2<u32>', bytes: 8 };
    default: return undefined;
  }
}

/**
 * The params kernel `k` binds as arrays of vectors, with their lane counts: those its aligned vector
 * loads read (2 or 4 lanes, one count per param), that it never stores and whose element count is a
 * multiple of the lanes (the array covers every element). An aligned load of such a param is one
 * element of the array; any other access reads a component (`X[i / 4][i % 4]`). The aligned loads of
 * other params read their lanes one by one.
 */
export function wgslVectorParams(k: Kernel): ReadonlyMap<string, number> {
  const lanes = new Map<string, Set<number>>(), stored = new Set<string>();
  const sc = (e: Scalar): void => {
    if (e.k === 'load' && e.aligned) (lanes.get(e.buffer) ?? lanes.set(e.buffer, new Set()).get(e.buffer)!).add(e.lanes ?? 1);
    else if (e.k === 'unary' || e.k === 'cast' || e.k === 'broadcast' || e.k === 'lane') sc(e.a);
    else if (e.k === 'binary') { sc(e.a); sc(e.b); } else if (e.k === 'select') { sc(e.cond); sc(e.a); sc(e.b); }
  };
  const walk = (stmts: readonly Stmt[]): void => {
    for (const st of stmts) {
      if (st.k === 'loop' || st.k === 'guard') walk(st.body);
      else if (st.k === 'store') { stored.add(st.buffer); sc(st.value); } else if (st.k === 'let' || st.k === 'accum') sc(st.value);
      else if (st.k === 'acc') sc(st.init);
    }
  };
  walk(k.body);
  const out = new Map<string, number>();
  for (const p of k.params) {
    const l = [...(lanes.get(p.name) ?? [])];
    if (l.length === 1 && (l[0] === 2 || l[0] === 4) && !stored.has(p.name) && p.count % l[0] === 0) out.set(p.name, l[0]);
  }
  return out;
}

/** Options of the WGSL descriptor. */
export interface WgslOptions {
  /** The device has `shader-f16` (GpuContext.f16): f16 storage and arithmetic are allowed. */
  readonly f16: boolean;
}

const HELPERS: Readonly<Record<string, readonly [readonly string[], readonly string[]]>> = { ...MATH_HELPERS, ...I64_HELPERS };
const NARROW_BITS: Partial<Record<DType, number>> = { i8: 8, i16: 16, u8: 8, u16: 16 };
const SIGNED: ReadonlySet<DType> = new Set(['i8', 'i16', 'i32', 'i64']);
const is64 = (d: DType) => d === 'i64' || d === 'u64';
const isFloat = (d: DType) => d === 'f32' || d === 'f16';
/** The WGSL scalar type of an integer dtype's value (i8/i16 in i32, u8/u16 in u32). */
const intType = (d: DType) => (SIGNED.has(d) ? 'i32' : 'u32');
const F32_MATH: Partial<Record<UnaryOp, string>> = {
  exp: 'exp', log: 'log', sqrt: 'sqrt', sin: 'sin', cos: 'cos', floor: 'floor', ceil: 'ceil', round: 'round',
  erf: 'kiln_erf', expm1: 'kiln_expm1', log1p: 'kiln_log1p', tanh: 'kiln_tanh', round_f16: 'kiln_round_f16',
};
const COMPARE: Partial<Record<BinaryOp, string>> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' };

/** The WGSL descriptor for a device with or without shader-f16. */
export function wgsl(opts: WgslOptions): Language {
  const used = new Set<string>();
  let usesF16 = false;
  const tables = new Map<string, string>(); // declaration → name, for the kernel being rendered
  let vectorParams: ReadonlyMap<string, number> = new Map(); // of the kernel being rendered
  /** Element `index` of buffer `b` (a component of a vector array for a vector param). */
  const element = (b: string, index: string): string => {
    const l = vectorParams.get(b);
    return l ? `${b}[(${index}) / ${l}][(${index}) % ${l}]` : `${b}[${index}]`;
  };

  const call = (name: string, ...args: string[]) => { used.add(name); return `${name}(${args.join(', ')})`; };

  /** The value type of a dtype in expressions (bool is bool; storage types are wgslStorage's). */
  function type(d: DType): string {
    if (d === 'bool') return 'bool';
    const s = wgslStorage(d);
    if (!s) throw new Error(`WGSL has no ${d}`);
    if (d === 'f16') {
      if (!opts.f16) throw new Error('WGSL f16: the adapter has no shader-f16');
      usesF16 = true;
    }
    return s.type;
  }
  /** The storage element type of a buffer of dtype d. */
  const storage = (d: DType): string => (d === 'bool' ? 'u32' : type(d));

  /** Wraps an i32/u32 value of a narrow dtype to its width (unchanged for other dtypes). */
  function wrap(v: string, d: DType): string {
    const bits = NARROW_BITS[d];
    if (!bits) return v;
    return SIGNED.has(d) ? `((${v} << ${32 - bits}u) >> ${32 - bits}u)` : `(${v} & ${2 ** bits - 1}u)`;
  }

  function literal(value: number | boolean, d: DType): string {
    if (d === 'bool') return value ? 'true' : 'false';
    const v = Number(value);
    type(d);
    if (is64(d)) return literal64(v, d === 'u64');
    if (d === 'f32' || d === 'f16') {
      const x = d === 'f32' ? Math.fround(v) : narrowFloatCodec('f16').decode(narrowFloatCodec('f16').encode(v, false));
      // non-finite values cannot be constants; a constant -0 comes out +0 (Dawn/Tint): all from bits at run time
      if (!Number.isFinite(x) || Object.is(x, -0)) {
        const bits = Number.isNaN(x) ? 0x7fc00000 : x === Infinity ? 0x7f800000 : x === -Infinity ? 0xff800000 : 0x80000000;
        const f = call('kiln_f32_bits', `0x${bits.toString(16)}u`);
        return d === 'f32' ? f : call('kiln_f16', f);
      }
      let s = String(x);
      if (!/[.e]/.test(s)) s += '.0';
      s += d === 'f32' ? 'f' : 'h';
      return s.startsWith('-') ? `(${s})` : s;
    }
    if (intType(d) === 'u32') return `${v >>> 0}u`;
    const i = v | 0;
    return i === -2147483648 ? 'i32(-2147483647 - 1)' : i < 0 ? `(${i}i)` : `${i}i`;
  }

  function unary(op: UnaryOp, a: string, d: DType): string {
    type(d);
    if (op === 'not') return `(!${a})`;
    if (op === 'isnan') return d === 'f32' ? call('kiln_isnan', a) : d === 'f16' ? call('kiln_isnan', `f32(${a})`) : 'false';
    if (isFloat(d)) {
      if (op === 'neg') return `(-${a})`;
      if (op === 'abs') return `abs(${a})`;
      if (op === 'sign') return call(`kiln_sign_${d}`, a);
      const f = F32_MATH[op];
      if (!f) throw new Error(`WGSL has no float ${op}`);
      const r = f.startsWith('kiln_') ? call(f, d === 'f16' ? `f32(${a})` : a) : `${f}(${d === 'f16' ? `f32(${a})` : a})`;
      return d === 'f16' ? call('kiln_f16', r) : r;
    }
    if (d === 'bool') throw new Error(`WGSL has no bool ${op}`);
    if (op === 'round' || op === 'floor' || op === 'ceil') return a;
    if (is64(d)) {
      if (op === 'neg') return call('kiln_neg64', a);
      if (op === 'abs') return d === 'i64' ? call('kiln_abs64', a) : a;
      if (op === 'sign') return call(`kiln_sign_${d}`, a);
    } else {
      const signed = SIGNED.has(d);
      if (op === 'neg') return wrap(signed ? `(-${a})` : `(0u - ${a})`, d);
      if (op === 'abs') return signed ? wrap(`abs(${a})`, d) : a;
      if (op === 'sign') return signed ? call('kiln_sign_i32', a) : `select(0u, 1u, ${a} > 0u)`;
    }
    throw new Error(`WGSL has no integer ${op}`);
  }

  function binary(op: BinaryOp, a: string, b: string, d: DType): string {
    type(d);
    if (d === 'bool') {
      // bool orders false < true: max is or, min is and (a ReduceMax/ReduceMin over bool)
      const sym = { and: '&&', or: '||', xor: '!=', eq: '==', ne: '!=', max: '||', min: '&&' }[op as string];
      if (!sym) throw new Error(`WGSL has no bool ${op}`);
      return `(${a} ${sym} ${b})`;
    }
    if (is64(d)) return binary64(op, a, b, d);
    const cmp = COMPARE[op];
    if (cmp) return `(${a} ${cmp} ${b})`;
    if (isFloat(d)) {
      switch (op) {
        case 'add': return `(${a} + ${b})`;
        case 'sub': return `(${a} - ${b})`;
        case 'mul': return `(${a} * ${b})`;
        case 'div': return `(${a} / ${b})`;
        case 'max': case 'min': return call(`kiln_${op}_${d}`, a, b);
        case 'pow': case 'fmod': {
          const r = d === 'f16' ? call(`kiln_${op}`, `f32(${a})`, `f32(${b})`) : call(`kiln_${op}`, a, b);
          return d === 'f16' ? call('kiln_f16', r) : r;
        }
        default: throw new Error(`WGSL has no float ${op}`);
      }
    }
    switch (op) {
      case 'add': return wrap(`(${a} + ${b})`, d);
      case 'sub': return wrap(`(${a} - ${b})`, d);
      case 'mul': return wrap(`(${a} * ${b})`, d);
      case 'div': return wrap(`(${a} / ${b})`, d);
      case 'fmod': return `(${a} % ${b})`;
      case 'max': case 'min': return `${op}(${a}, ${b})`;
      case 'and': return `(${a} & ${b})`;
      case 'or': return `(${a} | ${b})`;
      case 'xor': return `(${a} ^ ${b})`;
      // the table's Pow is float only; an integer pow (C: through double) goes through f32 here
      case 'pow': return cast(call('kiln_pow', `f32(${a})`, `f32(${b})`), 'f32', d);
      default: throw new Error(`WGSL has no integer ${op}`);
    }
  }

  function binary64(op: BinaryOp, a: string, b: string, d: DType): string {
    const s = d === 'i64' ? 'i64' : 'u64';
    switch (op) {
      case 'add': return call('kiln_add64', a, b);
      case 'sub': return call('kiln_sub64', a, b);
      case 'mul': return call('kiln_mul64', a, b);
      case 'div': return call(`kiln_div_${s}`, a, b);
      case 'fmod': return call(`kiln_rem_${s}`, a, b);
      case 'max': case 'min': return call(`kiln_${op}_${s}`, a, b);
      case 'lt': return call(`kiln_lt_${s}`, a, b);
      case 'gt': return call(`kiln_lt_${s}`, b, a);
      case 'le': return `(!${call(`kiln_lt_${s}`, b, a)})`;
      case 'ge': return `(!${call(`kiln_lt_${s}`, a, b)})`;
      case 'eq': return `all(${a} == ${b})`;
      case 'ne': return `any(${a} != ${b})`;
      case 'and': return `(${a} & ${b})`;
      case 'or': return `(${a} | ${b})`;
      case 'xor': return `(${a} ^ ${b})`;
      default: throw new Error(`WGSL has no 64-bit integer ${op}`);
    }
  }

  /** A conversion with the table's semantics (see the module header and wgsl-math.ts). */
  function cast(a: string, from: DType, to: DType): string {
    type(from); type(to);
    if (from === to) return a;
    if (to === 'bool') {
      if (isFloat(from)) return `((bitcast<u32>(${from === 'f16' ? `f32(${a})` : a}) & 0x7fffffffu) != 0u)`;
      return is64(from) ? `any(${a} != vec2<u32>(0u, 0u))` : `(${a} != ${literal(0, from)})`;
    }
    if (from === 'bool') return is64(to) ? `vec2<u32>(select(0u, 1u, ${a}), 0u)` : `select(${literal(0, to)}, ${literal(1, to)}, ${a})`;
    if (isFloat(to)) {
      let f: string;
      if (from === 'f32' || from === 'f16') f = from === 'f16' ? `f32(${a})` : a;
      else if (is64(from)) f = call(`kiln_${from}_f32`, a);
      else f = `f32(${a})`;
      return to === 'f16' ? call('kiln_f16', f) : f;
    }
    if (isFloat(from)) {
      const f = from === 'f16' ? `f32(${a})` : a;
      if (is64(to)) return call('kiln_f32_64', f);
      if (to === 'i32') return call('kiln_f32_i32', f);
      const bits = call('kiln_f32_wrap32', f);
      return intType(to) === 'u32' ? wrap(bits, to) : wrap(`bitcast<i32>(${bits})`, to);
    }
    // integer -> integer
    if (is64(to)) {
      if (is64(from)) return a;
      return SIGNED.has(from) ? call('kiln_i64_from_i32', a) : `vec2<u32>(${a}, 0u)`;
    }
    if (is64(from)) return intType(to) === 'u32' ? wrap(`${a}.x`, to) : wrap(`bitcast<i32>(${a}.x)`, to);
    const src = intType(from), dst = intType(to);
    if (to === 'i32' && from === 'u32') return call('kiln_u32_i32', a);
    const v = src === dst ? a : `bitcast<${dst}>(${a})`;
    return wrap(v, to);
  }

  function vectorType(d: DType, lanes: number): string {
    if (lanes < 2 || lanes > 4) throw new Error(`WGSL has no ${lanes}-lane vectors (2 to 4 lanes)`);
    if (!(isFloat(d) || d === 'i32' || d === 'u32')) throw new Error(`WGSL vectors of ${d} are not supported (f32, f16, i32, u32)`);
    return `vec${lanes}<${type(d)}>`;
  }

  function table(values: readonly number[], d: DType, index: string): string {
    const t = type(d);
    const n = Math.max(values.length, 1);
    const items = (values.length ? values : [0]).map((v) => literal(v, d)).join(', ');
    // NaN, ±Inf and -0 are no constants (see literal): such a table is a function building its array
    const special = isFloat(d) && values.some((v) => !Number.isFinite(v) || Object.is(v, -0));
    const decl = special ? `(i: i32) -> ${t} { var t = array<${t}, ${n}>(${items}); return t[i]; }` : `array<${t}, ${n}>(${items})`;
    let name = tables.get(decl);
    if (!name) { name = `kiln_t${tables.size}`; tables.set(decl, name); }
    return special ? `${name}(${index})` : `${name}[${index}]`;
  }

  function kernelOpen(k: Kernel): string[] {
    const lines: string[] = [];
    for (const [decl, name] of tables) lines.push(decl.startsWith('(') ? `fn ${name}${decl}` : `const ${name} = ${decl};`);
    tables.clear();
    for (const b of [k.name, ...k.params.map((p) => p.name), ...k.shared.map((b) => b.name)]) ident(b, true);
    k.params.forEach((p, i) => {
      const l = vectorParams.get(p.name);
      lines.push(`@group(0) @binding(${i}) var<storage, read_write> ${p.name}: array<${l ? vectorType(p.dtype, l) : storage(p.dtype)}>;`);
    });

    for (const s of k.shared) lines.push(`var<workgroup> ${s.name}: array<${storage(s.dtype)}, ${s.count}>;`);
    const block = k.launch?.block ?? [1, 1, 1];
    const loc = k.loc.length ? ` (${k.loc.join(', ').replace(/\n/g, ' ')})` : '';
    const grid = k.launch ? ` grid [${k.launch.grid.join(', ')}]` : '';
    lines.push(
      `// ${k.nodes.map((n) => `%${n}`).join(', ')}${loc}${grid}`,
      `@compute @workgroup_size(${block.join(', ')})`,
      `fn ${k.name}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    );
    return lines;
  }

  function loopOpen(v: string, extent: number, anns: readonly Annotation[]): string[] {
    ident(v);
    const gpu = anns.find((a) => a.kind === 'grid' || a.kind === 'block');
    if (gpu && (gpu.kind === 'grid' || gpu.kind === 'block')) {
      return [`{ let ${v}: i32 = i32(${gpu.kind === 'grid' ? 'wid' : 'lid'}.${'xyz'[gpu.axis]}); // ${gpu.kind}(${gpu.axis}) over ${extent}`];
    }
    const notes = anns.map((a) => (a.kind === 'tile' ? `tile(${a.sizes.join(', ')})` : a.kind === 'unroll' ? `unroll(${a.factor})`
      : a.kind === 'vectorize' ? `vectorize(${a.width})` : a.kind));
    return [`for (var ${v}: i32 = 0; ${v} < ${extent}; ${v}++) {${notes.length ? ` // ${notes.join(' ')}` : ''}`];
  }

  const accumulate = (name: string, combine: Combine, value: string, d: DType) => `${name} = ${binary(combine, name, value, d)};`;

  function fileHeader(p: Program): string[] {
    // render every kernel once with a recording descriptor: the helpers and f16 it uses
    const probe = wgsl(opts) as Language & { readonly usage: () => { helpers: Set<string>; f16: boolean } };
    for (const k of p.kernels) renderKernel(probe, k);
    const { helpers, f16 } = probe.usage();
    const order: string[] = [];
    const add = (n: string) => { if (order.includes(n)) return; for (const dep of HELPERS[n][0]) add(dep); order.push(n); };
    for (const n of [...helpers].sort()) add(n);
    return [
      `// kiln: program @${p.name}, ${p.kernels.length} kernel(s), WGSL; generated, do not edit`,
      ...(f16 ? ['enable f16;'] : []),
      ...order.flatMap((n) => HELPERS[n][1]),
    ];
  }

  const descriptor: Language & { readonly usage: () => { helpers: Set<string>; f16: boolean } } = {
    name: 'wgsl',
    extension: 'wgsl',
    indexType: 'i32',
    indexDType: 'i32',
    type,
    literal,
    unary,
    binary,
    select: (c, a, b, d) => { type(d); return `select(${b}, ${a}, ${c})`; },
    cast,
    vectorType,
    // an aligned load of a vector param is one element of its array; otherwise the lanes one by one
    vectorLoad: (buffer, index, d, lanes, aligned) => (aligned && vectorParams.get(buffer) === lanes ? (vectorType(d, lanes), `${buffer}[(${index}) / ${lanes}]`)
      : `${vectorType(d, lanes)}(${Array.from({ length: lanes }, (_, i) => element(buffer, i ? `(${index}) + ${i}` : index)).join(', ')})`),
    vectorStore: (buffer, index, value, d, lanes) => {
      vectorType(d, lanes);
      const stores = Array.from({ length: lanes }, (_, i) => `${buffer}[${i ? `(${index}) + ${i}` : index}] = kiln_v[${i}];`);
      return `{ let kiln_v = ${value}; ${stores.join(' ')} }`;
    },
    broadcast: (a, d, lanes) => `${vectorType(d, lanes)}(${a})`,
    lane: (a, index) => `${a}[${index}]`,
    load: (buffer, index, d) => { type(d); return d === 'bool' ? `(${buffer}[${index}] != 0u)` : element(buffer, index); },
    indexLoad: (buffer, index, d) => {
      type(d);
      if (is64(d)) return `bitcast<i32>(${buffer}[${index}].x)`;
      if (d === 'i32' || d === 'i8' || d === 'i16') return element(buffer, index);
      if (isFloat(d)) throw new Error(`WGSL: an index read from a ${d} buffer`);
      return `i32(${element(buffer, index)})`;
    },
    table,
    fileHeader,
    beginKernel: (k) => { vectorParams = wgslVectorParams(k); },
    kernelOpen,
    loopOpen,
    letDecl: (name, d, value, lanes) => `let ${ident(name)}: ${lanes > 1 ? vectorType(d, lanes) : type(d)} = ${value};`,
    accDecl: (name, d, init, lanes) => `var ${ident(name)}: ${lanes > 1 ? vectorType(d, lanes) : type(d)} = ${init};`,
    accumulate,
    store: (buffer, index, value, d) => `${buffer}[${index}] = ${d === 'bool' ? `select(0u, 1u, ${value})` : (type(d), value)};`,
    guardOpen: (bounds) => `if (${bounds.map((b) => `${b.index} >= 0 && ${b.index} < ${b.extent}`).join(' && ') || 'true'}) {`,
    barrier: () => 'workgroupBarrier();',
    localDecl: (name, d, _offset, count) => `var ${ident(name)}: array<${storage(d)}, ${count}>;`,
    entry: (p) => [
      `// WGSL has no multi-kernel entry: the runtime dispatches, in order (kernel: buffers):`,
      ...p.calls.map((c) => `//   ${c.kernel}(${c.args.map((a) => `%${a}`).join(', ')})`),
    ],
    usage: () => ({ helpers: new Set(used), f16: usesF16 }),
  };
  return descriptor;
}
