/**
 * Kernel IR rewriting and analysis the GPU mapping needs (map.ts): substituting index expressions for
 * loop variables, renaming locals, collecting the buffer accesses of a statement list, and the affine
 * form of an index (`c0 + Σ cᵢ·vᵢ` over loop variables) with which the mapping proves that a loop's
 * iterations write disjoint elements. Target independent.
 */
import type { Index, Scalar, Stmt } from '../kir.ts';
import { iadd, ic, idiv, imod, imul, iv, knownMultiple } from '../kir.ts';

/** Loop variable → the index expression that replaces it. */
export type VarMap = ReadonlyMap<string, Index>;

/** `e` with every variable of `vars` replaced (folding constants as the builders do). */
export function substIndex(e: Index, vars: VarMap): Index {
  switch (e.k) {
    case 'const': return e;
    case 'var': return vars.get(e.name) ?? e;
    case 'load': return { ...e, index: substIndex(e.index, vars) };
    case 'table': return { ...e, index: substIndex(e.index, vars) };
    case 'add': return iadd(substIndex(e.a, vars), substIndex(e.b, vars));
    case 'mul': return imul(substIndex(e.a, vars), substIndex(e.b, vars));
    case 'div': return idiv(substIndex(e.a, vars), substIndex(e.b, vars));
    case 'mod': return imod(substIndex(e.a, vars), substIndex(e.b, vars));
  }
}

/** `e` with loop variables substituted (`vars`) and locals renamed (`refs`: old name → new name). */
export function substScalar(e: Scalar, vars: VarMap, refs: ReadonlyMap<string, string> = new Map()): Scalar {
  const sc = (x: Scalar) => substScalar(x, vars, refs);
  switch (e.k) {
    case 'lit': return e;
    case 'load': return { ...e, index: substIndex(e.index, vars) };
    case 'ref': return refs.has(e.name) ? { ...e, name: refs.get(e.name)! } : e;
    case 'broadcast': case 'unary': case 'cast': return { ...e, a: sc(e.a) };
    case 'lane': return { ...e, a: sc(e.a), index: substIndex(e.index, vars) };
    case 'index': case 'table': return { ...e, index: substIndex(e.index, vars) };
    case 'binary': return { ...e, a: sc(e.a), b: sc(e.b) };
    case 'select': return { ...e, cond: sc(e.cond), a: sc(e.a), b: sc(e.b) };
  }
}

/** Statements with loop variables substituted and locals renamed (see substScalar). */
export function substStmts(stmts: readonly Stmt[], vars: VarMap, refs: ReadonlyMap<string, string> = new Map()): Stmt[] {
  return stmts.map((s): Stmt => {
    switch (s.k) {
      case 'loop': return { ...s, body: substStmts(s.body, vars, refs) };
      case 'guard': return { ...s, bounds: s.bounds.map((b) => ({ ...b, index: substIndex(b.index, vars) })), body: substStmts(s.body, vars, refs) };
      case 'store': return { ...s, index: substIndex(s.index, vars), value: substScalar(s.value, vars, refs) };
      case 'let': return { ...s, value: substScalar(s.value, vars, refs) };
      case 'acc': return { ...s, init: substScalar(s.init, vars, refs) };
      case 'accum': return { ...s, name: refs.get(s.name) ?? s.name, value: substScalar(s.value, vars, refs) };
      case 'mma': return { ...s, acc: refs.get(s.acc) ?? s.acc, a: s.a.map((x) => substScalar(x, vars, refs)), b: s.b.map((x) => substScalar(x, vars, refs)) };
      case 'ldmatrix': return { ...s, index: substIndex(s.index, vars) };
      case 'copy_async': return { ...s, toIndex: substIndex(s.toIndex, vars), fromIndex: substIndex(s.fromIndex, vars), bounds: s.bounds.map((b) => ({ ...b, index: substIndex(b.index, vars) })) };
      default: return s;
    }
  });
}

/** One buffer access: a load or store, at an index, under the loops that enclose it. */
export interface Access {
  readonly buffer: string;
  readonly index: Index;
  readonly store: boolean;
  /** Lanes accessed from the index (1 for a scalar). */
  readonly lanes: number;
  /** The loops (variable, extent) between the statement list's top and the access, outermost first. */
  readonly loops: readonly { readonly var: string; readonly extent: number }[];
}

/** Every load and store in `stmts` (indirect index loads included, as loads). */
export function accesses(stmts: readonly Stmt[]): Access[] {
  const out: Access[] = [];
  type L = Access['loops'];
  const idx = (e: Index, loops: L): void => {
    if (e.k === 'load') { out.push({ buffer: e.buffer, index: e.index, store: false, lanes: 1, loops }); idx(e.index, loops); }
    else if (e.k === 'table') idx(e.index, loops);
    else if (e.k !== 'const' && e.k !== 'var') { idx(e.a, loops); idx(e.b, loops); }
  };
  const sc = (e: Scalar, loops: L): void => {
    switch (e.k) {
      case 'load': out.push({ buffer: e.buffer, index: e.index, store: false, lanes: e.lanes ?? 1, loops }); idx(e.index, loops); return;
      case 'index': case 'table': idx(e.index, loops); return;
      case 'broadcast': case 'unary': case 'cast': sc(e.a, loops); return;
      case 'lane': sc(e.a, loops); idx(e.index, loops); return;
      case 'binary': sc(e.a, loops); sc(e.b, loops); return;
      case 'select': sc(e.cond, loops); sc(e.a, loops); sc(e.b, loops); return;
      default:
    }
  };
  const walk = (ss: readonly Stmt[], loops: L): void => {
    for (const s of ss) {
      switch (s.k) {
        case 'loop': walk(s.body, [...loops, { var: s.var, extent: s.extent }]); break;
        case 'guard': for (const b of s.bounds) idx(b.index, loops); walk(s.body, loops); break;
        case 'store': {
          const lanes = s.value.k === 'load' || s.value.k === 'ref' || s.value.k === 'binary' || s.value.k === 'broadcast' ? s.value.lanes ?? 1 : 1;
          out.push({ buffer: s.buffer, index: s.index, store: true, lanes, loops }); idx(s.index, loops); sc(s.value, loops); break;
        }
        case 'let': case 'accum': sc(s.value, loops); break;
        case 'acc': sc(s.init, loops); break;
        case 'mma': for (const x of [...s.a, ...s.b]) sc(x, loops); break;
        case 'ldmatrix': out.push({ buffer: s.buffer, index: s.index, store: false, lanes: 8, loops }); idx(s.index, loops); break;
        case 'copy_async':
          for (const b of s.bounds) idx(b.index, loops);
          out.push({ buffer: s.from, index: s.fromIndex, store: false, lanes: s.lanes, loops }, { buffer: s.to, index: s.toIndex, store: true, lanes: s.lanes, loops });
          idx(s.fromIndex, loops); idx(s.toIndex, loops);
          break;
        default:
      }
    }
  };
  walk(stmts, []);
  return out;
}

/** An affine index: constant + Σ coefficient · variable (no variable twice). */
export interface Affine {
  readonly constant: number;
  readonly terms: ReadonlyMap<string, number>;
}

/** The affine form of an index, or undefined when it divides, takes a modulo or reads memory. */
export function affine(e: Index): Affine | undefined {
  switch (e.k) {
    case 'const': return { constant: e.value, terms: new Map() };
    case 'var': return { constant: 0, terms: new Map([[e.name, 1]]) };
    case 'add': {
      const a = affine(e.a), b = affine(e.b);
      if (!a || !b) return undefined;
      const terms = new Map(a.terms);
      for (const [v, c] of b.terms) terms.set(v, (terms.get(v) ?? 0) + c);
      return { constant: a.constant + b.constant, terms };
    }
    case 'mul': {
      const a = affine(e.a), b = affine(e.b);
      if (!a || !b) return undefined;
      const [k, x] = a.terms.size === 0 ? [a.constant, b] : b.terms.size === 0 ? [b.constant, a] : [undefined, undefined];
      if (k === undefined || !x) return undefined;
      return { constant: x.constant * k, terms: new Map([...x.terms].map(([v, c]) => [v, c * k])) };
    }
    default: return undefined;
  }
}

/** Statement names bound anywhere in `stmts` (loop variables, lets, accumulators, locals). */
export function boundNames(stmts: readonly Stmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of stmts) {
    if (s.k === 'loop') { out.add(s.var); boundNames(s.body, out); } else if (s.k === 'guard') boundNames(s.body, out);
    else if (s.k === 'let' || s.k === 'acc' || s.k === 'local') out.add(s.name);
    else if (s.k === 'ldmatrix') for (const n of s.names) out.add(n);
  }
  return out;
}

/** Names of locals and accumulators `stmts` reads (`ref`) or updates (`accum`). */
export function namesUsed(stmts: readonly Stmt[], out: Set<string> = new Set()): Set<string> {
  const sc = (e: Scalar): void => {
    if (e.k === 'ref') out.add(e.name);
    else if (e.k === 'broadcast' || e.k === 'unary' || e.k === 'cast' || e.k === 'lane') sc(e.a);
    else if (e.k === 'binary') { sc(e.a); sc(e.b); } else if (e.k === 'select') { sc(e.cond); sc(e.a); sc(e.b); }
  };
  for (const s of stmts) {
    if (s.k === 'loop' || s.k === 'guard') namesUsed(s.body, out);
    else if (s.k === 'store' || s.k === 'let') sc(s.value);
    else if (s.k === 'accum') { out.add(s.name); sc(s.value); } else if (s.k === 'acc') sc(s.init);
    else if (s.k === 'mma') { out.add(s.acc); [...s.a, ...s.b].forEach(sc); }
  }
  return out;
}

/** The flat position → loop variables of a row-major nest: vᵢ = (flat / strideᵢ) mod extentᵢ. */
export function unflatten(flat: Index, nest: readonly { readonly var: string; readonly extent: number }[]): Map<string, Index> {
  const out = new Map<string, Index>();
  let stride = 1;
  for (let i = nest.length - 1; i >= 0; i--) {
    const { var: v, extent } = nest[i];
    const q = idiv(flat, { k: 'const', value: stride });
    out.set(v, i === 0 ? q : imod(q, { k: 'const', value: extent }));
    stride *= extent;
  }
  return out;
}

/** `stmts` with buffer names replaced (`names`: old → new) in every load, store and indirect index. */
export function renameBuffers(stmts: readonly Stmt[], names: ReadonlyMap<string, string>): Stmt[] {
  const ix = (e: Index): Index => {
    switch (e.k) {
      case 'const': case 'var': return e;
      case 'load': return { ...e, buffer: names.get(e.buffer) ?? e.buffer, index: ix(e.index) };
      case 'table': return { ...e, index: ix(e.index) };
      default: return { ...e, a: ix(e.a), b: ix(e.b) };
    }
  };
  const sc = (e: Scalar): Scalar => {
    switch (e.k) {
      case 'lit': case 'ref': return e;
      case 'load': return { ...e, buffer: names.get(e.buffer) ?? e.buffer, index: ix(e.index) };
      case 'broadcast': case 'unary': case 'cast': return { ...e, a: sc(e.a) };
      case 'lane': return { ...e, a: sc(e.a), index: ix(e.index) };
      case 'index': case 'table': return { ...e, index: ix(e.index) };
      case 'binary': return { ...e, a: sc(e.a), b: sc(e.b) };
      case 'select': return { ...e, cond: sc(e.cond), a: sc(e.a), b: sc(e.b) };
    }
  };
  return stmts.map((s): Stmt => {
    switch (s.k) {
      case 'loop': return { ...s, body: renameBuffers(s.body, names) };
      case 'guard': return { ...s, bounds: s.bounds.map((b) => ({ ...b, index: ix(b.index) })), body: renameBuffers(s.body, names) };
      case 'store': return { ...s, buffer: names.get(s.buffer) ?? s.buffer, index: ix(s.index), value: sc(s.value) };
      case 'let': case 'accum': return { ...s, value: sc(s.value) };
      case 'acc': return { ...s, init: sc(s.init) };
      case 'mma': return { ...s, a: s.a.map(sc), b: s.b.map(sc) };
      case 'ldmatrix': return { ...s, buffer: names.get(s.buffer) ?? s.buffer, index: ix(s.index) };
      case 'copy_async': return {
        ...s, to: names.get(s.to) ?? s.to, from: names.get(s.from) ?? s.from, toIndex: ix(s.toIndex), fromIndex: ix(s.fromIndex),
        bounds: s.bounds.map((b) => ({ ...b, index: ix(b.index) })),
      };
      default: return s;
    }
  });
}

/** `e` as coef·v + rest (rest free of v), or undefined when v appears under a div, mod or load. */
export function linearIn(e: Index, v: string): { coef: number; rest: Index } | undefined {
  switch (e.k) {
    case 'const': return { coef: 0, rest: e };
    case 'var': return e.name === v ? { coef: 1, rest: ic(0) } : { coef: 0, rest: e };
    case 'add': {
      const a = linearIn(e.a, v), b = linearIn(e.b, v);
      return a && b ? { coef: a.coef + b.coef, rest: iadd(a.rest, b.rest) } : undefined;
    }
    case 'mul': {
      const a = linearIn(e.a, v), b = linearIn(e.b, v);
      if (!a || !b) return undefined;
      if (a.coef === 0 && b.coef === 0) return { coef: 0, rest: e };
      if (a.coef === 0 && a.rest.k === 'const') return { coef: b.coef * a.rest.value, rest: imul(a.rest, b.rest) };
      if (b.coef === 0 && b.rest.k === 'const') return { coef: a.coef * b.rest.value, rest: imul(a.rest, b.rest) };
      return undefined;
    }
    default: return mentionsVar(e, v) ? undefined : { coef: 0, rest: e };
  }
}

/** True when index `e` reads variable `v`. */
export function mentionsVar(e: Index, v: string): boolean {
  switch (e.k) {
    case 'const': return false;
    case 'var': return e.name === v;
    case 'load': case 'table': return mentionsVar(e.index, v);
    default: return mentionsVar(e.a, v) || mentionsVar(e.b, v);
  }
}

/**
 * `e` with the lane variable `l` (0 <= l < lanes) moved out of floor divisions and modulos where that
 * is exact: for x = a + l with a a known multiple of `lanes` and a divisor d that `lanes` divides,
 * (a + l) / d = a / d and (a + l) mod d = (a mod d) + l. Unflattening a vector's position
 * (k → kh, kw, c) then keeps its lanes consecutive in the innermost coordinate.
 */
export function hoistLane(e: Index, l: string, lanes: number): Index {
  switch (e.k) {
    case 'const': case 'var': return e;
    case 'load': case 'table': return { ...e, index: hoistLane(e.index, l, lanes) };
    case 'add': return iadd(hoistLane(e.a, l, lanes), hoistLane(e.b, l, lanes));
    case 'mul': return imul(hoistLane(e.a, l, lanes), hoistLane(e.b, l, lanes));
    case 'div': case 'mod': {
      const a = hoistLane(e.a, l, lanes), b = hoistLane(e.b, l, lanes);
      const f = linearIn(a, l);
      if (f && f.coef === 1 && b.k === 'const' && b.value % lanes === 0 && knownMultiple(f.rest) % lanes === 0) {
        return e.k === 'div' ? idiv(f.rest, b) : iadd(imod(f.rest, b), iv(l));
      }
      return e.k === 'div' ? idiv(a, b) : imod(a, b);
    }
  }
}
