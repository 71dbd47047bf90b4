/**
 * The canonical text of the kernel IR (what `kiln opt --emit kernel` prints and test/codegen/*.kir
 * golden tests check). One statement per line, two spaces per nesting level:
 *
 * ```
 * kiln.program @mlp {
 *   buffer %x: f32[8] input
 *   buffer %flat: f32[8] view %h
 *   kernel @k0_Add(in0: f32[8] input, in1: f32[4] constant, out0: f32[8] output) nodes=[%0] loc=["/add"] {
 *     for i0 < 2 parallel {
 *       for i1 < 4 vectorize(4) {
 *         out0[i0 * 4 + i1] = add(in0[i0 * 4 + i1], in1[i1])
 *       }
 *     }
 *   }
 *   call @k0_Add(%x, %b, %0)
 * }
 * ```
 * A kernel whose arithmetic differs from the reference by design ends its header with
 * `tolerance=REL "what"` (Kernel.tolerance). Index arithmetic: `+`, `*`, `/` (floor division), `%` (non-negative modulo), with the usual
 * precedence and parentheses only where needed. Scalars: `op(a, b)` for every operator, `select(c, a, b)`,
 * `cast<f32>(x)`, `idx<i64>(i0 * 4)` (an index as a number), literals as numbers (`inf`, `-inf`,
 * `nan`, `true`, `false`). Accumulators: `acc s: f32 = 0 (add)` then `s += x` (add), `s *= x` (mul),
 * `s = max(s, x)`, `s = min(s, x)`. Vector lanes: a type `f32x16`, a load `vload<16>(in1[i0 * 16])`,
 * a store `vstore<16>(out0[i]) = v`, `bcast<16>(x)`, `lane(v, l)`; lanewise ops print as scalar ones. Guards: `when 0 <= i0 * 2 + k1 - 1 < 56, ... {`. GPU: `barrier`, `shared` lines, `launch grid=[..] block=[..]`.
 */
import type { DType } from '../ir/dtype.ts';
import { type Annotation, type BufferDecl, type Index, type Kernel, type Program, type Scalar, type Stmt, lanesOf } from './kir.ts';

/** A dtype with its lane count: `f32`, `f32x16`. */
export const printType = (dtype: DType, lanes = 1): string => (lanes > 1 ? `${dtype}x${lanes}` : dtype);

const PREC: Record<string, number> = { add: 1, mul: 2, div: 2, mod: 2 };
const SYMBOL: Record<string, string> = { add: '+', mul: '*', div: '/', mod: '%' };

/** Prints an index expression. */
export function printIndex(e: Index, outer = 0): string {
  switch (e.k) {
    case 'const': return e.value < 0 && outer > 0 ? `(${e.value})` : String(e.value);
    case 'var': return e.name;
    case 'load': return `${e.buffer}[${printIndex(e.index)}]`;
    case 'table': return `table[${e.values.join(', ')}][${printIndex(e.index)}]`;
    default: {
      const p = PREC[e.k];
      if (e.k === 'add' && e.b.k === 'const' && e.b.value < 0) {
        const text = `${printIndex(e.a, p)} - ${-e.b.value}`;
        return p < outer ? `(${text})` : text;
      }
      // left-associative: the right operand of a same-precedence op needs parentheses
      const text = `${printIndex(e.a, p)} ${SYMBOL[e.k]} ${printIndex(e.b, (e.k === 'add' || e.k === 'mul') && e.b.k === e.k ? p : p + 1)}`;
      return p < outer ? `(${text})` : text;
    }
  }
}

/** Prints a literal of a scalar dtype. */
export function printLiteral(value: number | boolean): string {
  if (typeof value === 'boolean') return String(value);
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return Object.is(value, -0) ? '-0' : String(value);
}

/** Prints a scalar expression. */
export function printScalar(e: Scalar): string {
  switch (e.k) {
    case 'lit': return printLiteral(e.value);
    case 'load': return e.lanes && e.lanes > 1 ? `vload<${e.lanes}${e.aligned ? ', aligned' : ''}>(${e.buffer}[${printIndex(e.index)}])` : `${e.buffer}[${printIndex(e.index)}]`;
    case 'ref': return e.name;
    case 'broadcast': return `bcast<${e.lanes}>(${printScalar(e.a)})`;
    case 'lane': return `lane(${printScalar(e.a)}, ${printIndex(e.index)})`;
    case 'index': return `idx<${e.dtype}>(${printIndex(e.index)})`;
    case 'table': return `table<${e.dtype}>[${e.values.map(printLiteral).join(', ')}][${printIndex(e.index)}]`;
    case 'unary': return `${e.op}(${printScalar(e.a)})`;
    case 'binary': return `${e.op}(${printScalar(e.a)}, ${printScalar(e.b)})`;
    case 'select': return `select(${printScalar(e.cond)}, ${printScalar(e.a)}, ${printScalar(e.b)})`;
    case 'cast': return `cast<${e.dtype}>(${printScalar(e.a)})`;
  }
}

/** Prints an annotation. */
export function printAnnotation(a: Annotation): string {
  switch (a.kind) {
    case 'parallel': return a.reductions?.length ? `parallel(reduce=${a.reductions.join(',')})` : 'parallel';
    case 'vectorize': return a.tail ? `vectorize(${a.width}, tail)` : `vectorize(${a.width})`;
    case 'unroll': return `unroll(${a.factor})`;
    case 'tile': return `tile(${a.sizes.join(', ')})`;
    case 'grid': return `grid(${a.axis})`;
    case 'block': return `block(${a.axis})`;
  }
}

/** Prints statements at an indent (in spaces); `combines` maps accumulator names to their combine. */
export function printStmts(stmts: readonly Stmt[], indent: number, combines: ReadonlyMap<string, string> = accumulators(stmts)): string[] {
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  for (const s of stmts) {
    switch (s.k) {
      case 'loop': {
        const ann = s.annotations.map((a) => ' ' + printAnnotation(a)).join('');
        out.push(`${pad}for ${s.var} < ${s.extent}${ann} {`, ...printStmts(s.body, indent + 2, combines), `${pad}}`);
        break;
      }
      case 'store': {
        const lanes = lanesOf(s.value);
        const at = `${s.buffer}[${printIndex(s.index)}]`;
        out.push(`${pad}${lanes > 1 ? `vstore<${lanes}>(${at})` : at} = ${printScalar(s.value)}`);
        break;
      }
      case 'let': out.push(`${pad}let ${s.name}: ${printType(s.value.dtype, lanesOf(s.value))} = ${printScalar(s.value)}`); break;
      case 'acc': out.push(`${pad}acc ${s.name}: ${printType(s.dtype, s.lanes)} = ${printScalar(s.init)} (${s.combine})`); break;
      case 'accum': out.push(`${pad}${accumText(s.name, s.value, combines.get(s.name) ?? '?')}`); break;
      case 'guard': {
        const conds = s.bounds.map((b) => `0 <= ${printIndex(b.index)} < ${b.extent}`).join(', ');
        out.push(`${pad}when ${conds} {`, ...printStmts(s.body, indent + 2, combines), `${pad}}`);
        break;
      }
      case 'barrier': out.push(`${pad}barrier`); break;
      case 'local': out.push(`${pad}local ${s.name}: ${s.dtype}[${s.count}]`); break;
      case 'mma': out.push(`${pad}${s.acc} += mma<${s.shape}>([${s.a.map(printScalar).join(', ')}], [${s.b.map(printScalar).join(', ')}])`); break;
      case 'copy_async': {
        const when = s.bounds.length ? ` when ${s.bounds.map((b) => `0 <= ${printIndex(b.index)} < ${b.extent}`).join(', ')} else 0` : '';
        out.push(`${pad}copy_async<${s.lanes}>(${s.to}[${printIndex(s.toIndex)}], ${s.from}[${printIndex(s.fromIndex)}])${when}`);
        break;
      }
      case 'ldmatrix': out.push(`${pad}let ${s.names.join(', ')}: ${s.dtype}x2 = ldmatrix<${s.names.length}>(${s.buffer}[${printIndex(s.index)}])`); break;
      case 'async_commit': out.push(`${pad}async_commit`); break;
      case 'async_wait': out.push(`${pad}async_wait ${s.pending}`); break;
    }
  }
  return out;
}

function accumText(name: string, value: Scalar, combine: string): string {
  const v = printScalar(value);
  if (combine === 'add') return `${name} += ${v}`;
  if (combine === 'mul') return `${name} *= ${v}`;
  return `${name} = ${combine}(${name}, ${v})`;
}

/** Every accumulator declared in `stmts` (nested), name → combine. */
export function accumulators(stmts: readonly Stmt[], out: Map<string, string> = new Map()): Map<string, string> {
  for (const s of stmts) {
    if (s.k === 'acc') out.set(s.name, s.combine);
    else if (s.k === 'loop' || s.k === 'guard') accumulators(s.body, out);
  }
  return out;
}

const decl = (b: BufferDecl) => `${b.name}: ${b.dtype}[${b.count}] ${b.role}`;

/** Prints one kernel (lines, at an indent). */
export function printKernelLines(k: Kernel, indent = 0): string[] {
  const pad = ' '.repeat(indent);
  const loc = k.loc.length ? ` loc=[${k.loc.map((l) => JSON.stringify(l)).join(', ')}]` : '';
  const tol = k.tolerance ? ` tolerance=${k.tolerance.rel} ${JSON.stringify(k.tolerance.what)}` : '';
  const head = `${pad}kernel @${k.name}(${k.params.map(decl).join(', ')}) nodes=[${k.nodes.map((n) => `%${n}`).join(', ')}]${loc}${tol} {`;
  const lines = [head];
  if (k.launch) lines.push(`${pad}  launch grid=[${k.launch.grid.join(', ')}] block=[${k.launch.block.join(', ')}]`);
  for (const s of k.shared) lines.push(`${pad}  shared ${decl(s)}`);
  lines.push(...printStmts(k.body, indent + 2));
  lines.push(`${pad}}`);
  return lines;
}

/** The text of one kernel. */
export function printKernel(k: Kernel): string {
  return printKernelLines(k).join('\n') + '\n';
}

/** The canonical text of a program. */
export function printProgram(p: Program): string {
  const lines = [`kiln.program @${p.name}${p.target ? ` target(vectorBits=${p.target.vectorBits})` : ''} {`];
  for (const b of p.buffers) {
    const kind = b.aliasOf !== undefined ? `view %${b.aliasOf}` : b.packed ? `constant packed %${b.packed.from} ${JSON.stringify(b.packed.what)}` : b.kind;
    lines.push(`  buffer %${b.value}: ${b.dtype}[${b.count}] ${kind}`);
  }
  for (const k of p.kernels) lines.push(...printKernelLines(k, 2));
  for (const c of p.calls) lines.push(`  call @${c.kernel}(${c.args.map((a) => `%${a}`).join(', ')})`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
