/**
 * The CUDA language descriptor: what render.ts needs to write GPU kernels (kernel IR after the GPU
 * mapping, codegen/gpu/map.ts) as one CUDA C++ translation unit for nvcc or NVRTC. It shares the C
 * descriptor's scalar spelling (lang/c.ts: operators, casts and libm names with the scalar-op table's
 * semantics) and differs where the target does:
 *
 * - No headers: the file includes nothing, so NVRTC needs no include paths. The fixed-width integer
 *   names the C spelling uses are typedefs to the LP64 builtin types glibc uses (a redeclaration of
 *   the same type where nvcc's implicit headers declared them too); the float math functions (expf,
 *   erff, rintf, ...) are CUDA's device builtins; NaN and ±Inf come from bits (__int_as_float,
 *   __longlong_as_double), since math.h's NAN/INFINITY are not there.
 * - f16 and bf16 are stored as `kiln_f16` / `kiln_bf16` (unsigned shorts) and converted with PTX
 *   `cvt` (round to nearest even; bf16 → f32 is a 16-bit shift): kernels compute them in f32
 *   (widen.ts), so they appear only where they are loaded, stored or fed to tensor cores. The
 *   float8/float4 types and sub-byte integers are refused for now (their C helpers are host code).
 * - Kernels: `extern "C" __global__ void __launch_bounds__(threads, minBlocks) NAME(...)` (unmangled names for
 *   cuModuleGetFunction), inputs `const T *__restrict__`, outputs `T *__restrict__` (a lowering never
 *   binds an output over another param); shared buffers are `__shared__` arrays at the top of the body,
 *   private buffers (`local`) per-thread arrays. A loop annotated grid(axis)/block(axis) is no loop but
 *   a block binding its variable to blockIdx/threadIdx on that axis; `unroll(n)` is `#pragma unroll n`.
 *   Index arithmetic is 32-bit `int` (a kernel with a buffer of 2^31 elements or more is refused).
 * - Vectors: `kiln_<dtype>x<lanes>`, a struct of `lanes` elements aligned to its size (16 bytes for 4
 *   f32), with lanewise + - * / operators: an aligned vector load (kernel IR `aligned`) is one
 *   naturally aligned load through a cast pointer (ld.global.v4.f32), an unaligned one is built element
 *   by element, a lane is `.v[i]`.
 * - Tables (kernel IR `table`): one file-scope `__device__ const` array per distinct table
 *   (`<kernel>_kiln_tN`), collected while a body renders and declared by kernelOpen before the kernel.
 * - Tensor cores (kernel IR `mma`): one inline `mma.sync.aligned` per statement, the accumulator's
 *   4 lanes as in-out f32 registers, f16 fragment elements packed two per 32-bit register, f32
 *   elements converted with `cvt.rna.tf32.f32` (sm_80+).
 * - Warp matrix loads (kernel IR ldmatrix): `ldmatrix.sync.aligned.m8n8.xN.shared.b16` into 32-bit
 *   registers, each unpacked into its 2-lane vector (mma packs it back: no instructions remain).
 * - Async copies (kernel IR copy_async, sm_80+): `cp.async` through the shared-window address of the
 *   destination, zero-filled (source size 0) where the copy's bounds fail; commit and wait groups.
 * - Barrier: `__syncthreads()`. Entry: CUDA has no multi-kernel entry; the runtime launches the
 *   kernels in order, and `entry` lists the program's calls as comments.
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import type { Annotation, Kernel, MmaShape, Program, UnaryOp } from '../kir.ts';
import { vectorTypes } from '../kir.ts';
import type { Language, MmaFragment } from '../render.ts';
import { accumulate, binary as cBinary, cast as cCast, literal as cLiteral, type as cType, unary as cUnary } from './c.ts';

/** Buffers of this many elements or more need 64-bit indices, which the CUDA descriptor does not use. */
export const CUDA_MAX_ELEMENTS = 2 ** 31;

const HEADER = [
  'typedef signed char int8_t; typedef unsigned char uint8_t; typedef short int16_t; typedef unsigned short uint16_t;',
  'typedef int int32_t; typedef unsigned int uint32_t; typedef long int64_t; typedef unsigned long uint64_t;',
  'typedef unsigned short kiln_f16;',
  'static __device__ __forceinline__ float kiln_f16_f32(kiln_f16 h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }',
  'static __device__ __forceinline__ kiln_f16 kiln_f32_f16(float f) { kiln_f16 h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }',
  'typedef unsigned short kiln_bf16;',
  'static __device__ __forceinline__ float kiln_bf16_f32(kiln_bf16 h) { return __uint_as_float((unsigned)h << 16); }',
  'static __device__ __forceinline__ kiln_bf16 kiln_f32_bf16(float f) { kiln_bf16 h; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }',
  // tensor-core operand registers: two 16-bit elements (low first), an f32 rounded to tf32
  'static __device__ __forceinline__ unsigned kiln_pack16(unsigned short lo, unsigned short hi) { return (unsigned)lo | ((unsigned)hi << 16); }',
  'static __device__ __forceinline__ unsigned kiln_tf32(float f) { unsigned r; asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f)); return r; }',
  // the shared-window address of a generic pointer into shared memory (cp.async's destination)
  'static __device__ __forceinline__ unsigned kiln_smem(const void *p) { unsigned r; asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p)); return r; }',
];

/**
 * cp.async of lanes · size bytes (16: .cg, bypassing L1; 4 or 8: .ca); where a bound fails the source
 * size is 0 (the destination is zero-filled, nothing read) and the base pointer stands in for the
 * source address.
 */
function copyAsync(to: string, toIndex: string, from: string, fromIndex: string, d: DType, lanes: number, bounds: readonly { index: string; extent: number }[]): string {
  const bytes = lanes * (dtypeInfo(d).bits / 8);
  const cond = bounds.map((b) => `${b.index} >= 0 && ${b.index} < ${b.extent}`).join(' && ') || 'true';
  return `{ const bool kiln_ok = ${cond}; asm volatile("cp.async.${bytes === 16 ? 'cg' : 'ca'}.shared.global [%0], [%1], ${bytes}, %2;" :: "r"(kiln_smem(&${to}[${toIndex}])), "l"(kiln_ok ? &${from}[${fromIndex}] : ${from}), "r"(kiln_ok ? ${bytes} : 0) : "memory"); }`;
}

/** PTX's spelling of each tensor-core shape (row-major A, column-major B, f32 accumulators). */
const MMA_PTX: Record<MmaShape, string> = {
  'm16n8k16.f16': 'mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32',
  'm16n8k16.bf16': 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32',
  'm16n8k8.tf32': 'mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32',
};

/**
 * The 32-bit registers of one operand fragment: 16-bit elements packed two per register (a 2-lane
 * vector is one register), f32 elements converted to tf32 one per register.
 */
function registers(frags: readonly MmaFragment[]): string[] {
  const elems = frags.flatMap((f) => (f.lanes === 1 ? [f.text] : Array.from({ length: f.lanes }, (_, i) => `${f.text}.v[${i}]`)));
  if (frags.every((f) => f.dtype === 'f32')) return elems.map((e) => `kiln_tf32(${e})`);
  const regs: string[] = [];
  for (let i = 0; i < elems.length; i += 2) regs.push(`kiln_pack16(${elems[i]}, ${elems[i + 1]})`);
  return regs;
}

/** One mma.sync over the accumulator's 4 f32 lanes (in and out) and the operands' registers. */
function mma(shape: MmaShape, acc: string, a: readonly MmaFragment[], b: readonly MmaFragment[]): string[] {
  const ra = registers(a), rb = registers(b);
  const list = (from: number, n: number) => `{${Array.from({ length: n }, (_, i) => `%${from + i}`).join(', ')}}`;
  const text = `${MMA_PTX[shape]} ${list(0, 4)}, ${list(4, ra.length)}, ${list(4 + ra.length, rb.length)}, ${list(0, 4)};`;
  const outs = [0, 1, 2, 3].map((i) => `"+f"(${acc}.v[${i}])`).join(', ');
  const ins = [...ra, ...rb].map((r) => `"r"(${r})`).join(', ');
  return [`asm volatile("${text}" : ${outs} : ${ins});`];
}

const STORED: ReadonlySet<DType> = new Set(['f32', 'f64', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool']);

/** Dtypes the descriptor can store (the float8/float4 and sub-byte types wait for device helpers). */
function type(d: DType): string {
  if (d === 'f16') return 'kiln_f16';
  if (d === 'bf16') return 'kiln_bf16';
  if (!STORED.has(d)) throw new Error(`the CUDA target has no ${d} yet`);
  return cType(d);
}

function literal(value: number | boolean, d: DType): string {
  if (d === 'f16' || d === 'bf16') return value === 0 && !Object.is(value, -0) ? `((kiln_${d})0)` : `kiln_f32_${d}(${literal(value, 'f32')})`;
  if ((d === 'f32' || d === 'f64') && typeof value === 'number' && !Number.isFinite(value)) {
    if (d === 'f32') return `__int_as_float(${Number.isNaN(value) ? '0x7fc00000' : value > 0 ? '0x7f800000' : '(int)0xff800000u'})`;
    return `__longlong_as_double(${Number.isNaN(value) ? '0x7ff8000000000000LL' : value > 0 ? '0x7ff0000000000000LL' : '(long long)0xfff0000000000000ULL'})`;
  }
  type(d);
  return cLiteral(value, d);
}

/** f32 functions the C descriptor writes as its own arithmetic helpers: CUDA's builtins instead. */
const F32_BUILTIN: Partial<Record<UnaryOp, string>> = { exp: 'expf', erf: 'erff' };

function unary(op: UnaryOp, a: string, d: DType): string {
  type(d);
  if (d === 'f32' && F32_BUILTIN[op]) return `${F32_BUILTIN[op]}(${a})`;
  if (op === 'round_f16') return d === 'f64' ? `((double)kiln_f16_f32(kiln_f32_f16((float)${a})))` : `kiln_f16_f32(kiln_f32_f16(${a}))`;
  return cUnary(op, a, d);
}

function cast(a: string, from: DType, to: DType): string {
  type(from); type(to);
  if (from === to) return a;
  if (from === 'f16' || from === 'bf16') return cast(`kiln_${from}_f32(${a})`, 'f32', to);
  if (to === 'f16' || to === 'bf16') return `kiln_f32_${to}(${cast(a, from, 'f32')})`;
  return cCast(a, from, to);
}

function vectorType(d: DType, lanes: number): string {
  if (lanes < 2 || lanes > 16 || (lanes & (lanes - 1))) throw new Error(`the CUDA target has no ${lanes}-lane vectors (2, 4, 8 or 16)`);
  type(d);
  if (d === 'bool') throw new Error('the CUDA target has no vectors of bool');
  return `kiln_${d}x${lanes}`;
}

/** A vector struct with its lanewise operators. */
function vectorDecl(d: DType, lanes: number): string[] {
  const t = vectorType(d, lanes), e = type(d), bytes = (dtypeInfo(d).bits / 8) * lanes;
  const align = Math.min(16, bytes);
  const op = (sym: string) => `static __device__ __forceinline__ ${t} operator${sym}(${t} a, ${t} b) { ${t} r; for (int i = 0; i < ${lanes}; i++) r.v[i] = a.v[i] ${sym} b.v[i]; return r; }`;
  return [`struct __align__(${align}) ${t} { ${e} v[${lanes}]; };`, ...(d === 'f16' || d === 'bf16' ? [] : ['+', '-', '*', '/'].map(op))];
}

/**
 * The minimum blocks per multiprocessor of every kernel's __launch_bounds__: 1, which lets ptxas use
 * up to 255 registers per thread. Without the second argument ptxas aims at an occupancy of its own
 * and spilled a few bytes in long tensor-core kernels at 48 registers (mobilenetv2's first conv on
 * sm_80); a budget of 128 (4 blocks of 128 threads) spilled resnet50's first conv (7×7, 3 channels:
 * heavy im2col index arithmetic, 122–156 registers).
 */
const MIN_BLOCKS = 1;

/** The CUDA descriptor (a fresh one per rendering: it collects each kernel's tables). */
export function cuda(): Language {
  const tables = new Map<string, string>(); // declaration → name, for the kernel being rendered
  let kernelName = '';

  function table(values: readonly number[], d: DType, index: string): string {
    const items = (values.length ? values : [0]).map((v) => literal(v, d)).join(', ');
    const decl = `${type(d)} NAME[${Math.max(values.length, 1)}] = {${items}};`;
    let name = tables.get(decl);
    if (!name) { name = `${kernelName}_kiln_t${tables.size}`; tables.set(decl, name); }
    return `${name}[${index}]`;
  }

  function kernelOpen(k: Kernel): string[] {
    const big = k.params.find((p) => p.count >= CUDA_MAX_ELEMENTS);
    if (big) throw new Error(`CUDA: buffer ${big.name} has ${big.count} elements, past 32-bit indexing`);
    const lines = [...tables].map(([decl, name]) => `static __device__ const ${decl.replace('NAME', name)}`);
    tables.clear();
    const params = k.params.map((p) => `${p.role === 'input' || p.role === 'constant' ? 'const ' : ''}${type(p.dtype)} *__restrict__ ${p.name}`);
    const threads = (k.launch?.block ?? [1, 1, 1]).reduce((a, b) => a * b, 1);
    const loc = k.loc.length ? ` (${k.loc.join(', ').replace(/\*\//g, '* /')})` : '';
    const grid = k.launch ? ` grid [${k.launch.grid.join(', ')}] block [${k.launch.block.join(', ')}]` : '';
    lines.push(
      `/* ${k.nodes.map((n) => `%${n}`).join(', ')}${loc}${grid} */`,
      `extern "C" __global__ void __launch_bounds__(${threads}, ${MIN_BLOCKS}) ${k.name}(${params.join(', ')}) {`,
      ...k.shared.map((s) => `  __shared__ ${type(s.dtype)} ${s.name}[${s.count}];`),
    );
    return lines;
  }

  function loopOpen(v: string, extent: number, anns: readonly Annotation[]): string[] {
    const gpu = anns.find((a) => a.kind === 'grid' || a.kind === 'block');
    if (gpu && (gpu.kind === 'grid' || gpu.kind === 'block')) {
      return [`{ const int ${v} = (int)${gpu.kind === 'grid' ? 'blockIdx' : 'threadIdx'}.${'xyz'[gpu.axis]}; /* ${gpu.kind}(${gpu.axis}) over ${extent} */`];
    }
    const unroll = anns.find((a) => a.kind === 'unroll');
    return [...(unroll && unroll.kind === 'unroll' ? [`#pragma unroll ${unroll.factor}`] : []), `for (int ${v} = 0; ${v} < ${extent}; ${v}++) {`];
  }

  return {
    name: 'cuda',
    extension: 'cu',
    indexType: 'int',
    indexDType: 'i32',
    type,
    literal,
    unary,
    binary: (op, a, b, d) => { type(d); return cBinary(op, a, b, d); },
    select: (c, a, b) => `(${c} ? ${a} : ${b})`,
    cast,
    vectorType,
    // an aligned load of lanes·size bytes from a multiple of lanes: one vector load (buffers start 256-byte aligned)
    vectorLoad: (buffer, index, d, lanes, aligned) => (aligned ? `(*(const ${vectorType(d, lanes)} *)&${buffer}[${index}])`
      : `${vectorType(d, lanes)}{{${Array.from({ length: lanes }, (_, i) => `${buffer}[${i ? `(${index}) + ${i}` : index}]`).join(', ')}}}`),
    vectorStore: (buffer, index, value, d, lanes) => `{ const ${vectorType(d, lanes)} kiln_v = ${value}; for (int kiln_l = 0; kiln_l < ${lanes}; kiln_l++) ${buffer}[(${index}) + kiln_l] = kiln_v.v[kiln_l]; }`,
    broadcast: (a, d, lanes) => `${vectorType(d, lanes)}{{${Array.from({ length: lanes }, () => a).join(', ')}}}`,
    lane: (a, index) => `${a}.v[${index}]`,
    load: (buffer, index) => `${buffer}[${index}]`,
    indexLoad: (buffer, index) => `((int)${buffer}[${index}])`,
    table,
    beginKernel: (k) => { kernelName = k.name; },
    fileHeader: (p: Program) => [
      `/* kiln: program @${p.name}, ${p.kernels.length} kernel(s), CUDA; generated, do not edit */`,
      ...HEADER,
      ...vectorTypes(p).flatMap((t) => vectorDecl(t.dtype, t.lanes)),
    ],
    kernelOpen,
    loopOpen,
    letDecl: (name, d, value, lanes) => `const ${lanes > 1 ? vectorType(d, lanes) : type(d)} ${name} = ${value};`,
    accDecl: (name, d, init, lanes) => `${lanes > 1 ? vectorType(d, lanes) : type(d)} ${name} = ${init};`,
    accumulate,
    store: (buffer, index, value) => `${buffer}[${index}] = ${value};`,
    guardOpen: (bounds) => `if (${bounds.map((b) => `${b.index} >= 0 && ${b.index} < ${b.extent}`).join(' && ') || 'true'}) {`,
    barrier: () => '__syncthreads();',
    mma,
    copyAsync,
    ldmatrix: (names, buffer, index, d) => {
      const t = vectorType(d, 2), regs = names.map((n) => `${n}_r`);
      const list = names.map((_, i) => `%${i}`).join(', ');
      return [
        `unsigned ${regs.join(', ')};`,
        `asm volatile("ldmatrix.sync.aligned.m8n8.x${names.length}.shared.b16 {${list}}, [%${names.length}];" : ${regs.map((r) => `"=r"(${r})`).join(', ')} : "r"(kiln_smem(&${buffer}[${index}])));`,
        ...names.map((n, i) => `const ${t} ${n} = ${t}{{(${type(d)})(${regs[i]} & 0xffffu), (${type(d)})(${regs[i]} >> 16)}};`),
      ];
    },
    asyncCommit: () => 'asm volatile("cp.async.commit_group;" ::: "memory");',
    asyncWait: (n) => `asm volatile("cp.async.wait_group ${n};" ::: "memory");`,
    localDecl: (name, d, _offset, count) => `${type(d)} ${name}[${count}];`,
    entry: (p) => [
      '/* CUDA has no multi-kernel entry: the runtime launches, in order (kernel: buffers): */',
      ...p.calls.map((c) => `/*   ${c.kernel}(${c.args.map((a) => `%${a}`).join(', ')}) */`),
    ],
  };
}
