/**
 * DimPoly: a polynomial in symbolic dims with integer coefficients, so a count that depends on sizes
 * known only later (FLOPs of a model with input `f32[N,3,H,W]`) is kept as a formula, `54·N·H·W + 10·N`,
 * rather than a figure computed at some made-up size.
 *
 * A polynomial is a map from monomial to coefficient. A monomial is the sorted list of its symbols with
 * repetition (`N·N·S` for N²·S), keyed by those names joined with a NUL; the constant term has the
 * empty key. Zero coefficients are never stored, so two equal polynomials have equal maps. Sums,
 * products and scaling are exact for the sizes kiln deals with (coefficients stay below 2^53).
 * `dominates` is the sufficient test "this − other has no negative coefficient": since every symbol is
 * a size >= 1, every monomial is positive and the difference is then >= 0 at every size.
 */
import type { Dim } from './graph.ts';

const SEP = '\u0000';

/** An immutable polynomial in symbolic dims (see the module header). */
export class DimPoly {
  private constructor(private readonly terms: ReadonlyMap<string, number>) {}

  /** The constant `n`. */
  static constant(n: number): DimPoly {
    return new DimPoly(n === 0 ? new Map() : new Map([['', n]]));
  }

  /** The product of some dims: numbers multiply the coefficient, symbols make the monomial. */
  static product(dims: readonly Dim[]): DimPoly {
    let c = 1;
    const syms: string[] = [];
    for (const d of dims) {
      if (typeof d === 'number') c *= d;
      else syms.push(d);
    }
    if (c === 0) return ZERO;
    return new DimPoly(new Map([[syms.sort().join(SEP), c]]));
  }

  /** `this + o`. */
  add(o: DimPoly | number): DimPoly {
    const other = typeof o === 'number' ? DimPoly.constant(o) : o;
    const m = new Map(this.terms);
    for (const [k, c] of other.terms) {
      const v = (m.get(k) ?? 0) + c;
      if (v === 0) m.delete(k);
      else m.set(k, v);
    }
    return new DimPoly(m);
  }

  /** `this · o`. */
  mul(o: DimPoly | number): DimPoly {
    if (typeof o === 'number') {
      if (o === 0) return ZERO;
      return new DimPoly(new Map([...this.terms].map(([k, c]) => [k, c * o])));
    }
    let out: DimPoly = ZERO;
    for (const [ka, ca] of this.terms) {
      for (const [kb, cb] of o.terms) {
        const key = [...split(ka), ...split(kb)].sort().join(SEP);
        out = out.add(new DimPoly(new Map([[key, ca * cb]])));
      }
    }
    return out;
  }

  /** The number, when the polynomial has no symbol; undefined otherwise. */
  get value(): number | undefined {
    if (this.terms.size === 0) return 0;
    return this.terms.size === 1 && this.terms.has('') ? this.terms.get('') : undefined;
  }

  /** The highest number of symbol factors in a term (0 for a constant). */
  get degree(): number {
    let d = 0;
    for (const k of this.terms.keys()) d = Math.max(d, split(k).length);
    return d;
  }

  /** The distinct symbols, sorted. */
  get symbols(): string[] {
    const s = new Set<string>();
    for (const k of this.terms.keys()) for (const x of split(k)) s.add(x);
    return [...s].sort();
  }

  /** The value with every symbol given a size; undefined when one is missing from `dims`. */
  evaluate(dims: Readonly<Record<string, number>>): number | undefined {
    let total = 0;
    for (const [k, c] of this.terms) {
      let v = c;
      for (const x of split(k)) {
        if (!Object.prototype.hasOwnProperty.call(dims, x)) return undefined;
        v *= dims[x];
      }
      total += v;
    }
    return total;
  }

  /** True when `this >= o` at every size >= 1 of the symbols (sufficient test; see the header). */
  dominates(o: DimPoly): boolean {
    for (const c of this.add(o.mul(-1)).terms.values()) if (c < 0) return false;
    return true;
  }

  /** Equal polynomials. */
  equals(o: DimPoly): boolean {
    return this.terms.size === o.terms.size && [...this.terms].every(([k, c]) => o.terms.get(k) === c);
  }

  /**
   * `54·N·H·W + 10·N` (highest degree first, terms with fewer symbols outside `order` first; within a
   * monomial, symbols in `order` first, then by
   * name; a repeated symbol as `N^2`). `coefficient` formats the numbers (default: the plain integer).
   */
  toString(opts: { order?: readonly string[]; coefficient?: (n: number) => string } = {}): string {
    if (this.terms.size === 0) return '0';
    const rank = (s: string) => { const i = opts.order?.indexOf(s) ?? -1; return i < 0 ? Infinity : i; };
    const bySym = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
    const fmt = opts.coefficient ?? String;
    const terms = [...this.terms].map(([k, c]) => ({ syms: split(k).sort(bySym), c }));
    const unordered = (t: { syms: string[] }) => t.syms.filter((x) => rank(x) === Infinity).length;
    terms.sort((a, b) => b.syms.length - a.syms.length || unordered(a) - unordered(b) || a.syms.join(SEP).localeCompare(b.syms.join(SEP)));
    let out = '';
    for (const { syms, c } of terms) {
      const powers: string[] = [];
      for (let i = 0; i < syms.length;) {
        let j = i;
        while (j < syms.length && syms[j] === syms[i]) j++;
        powers.push(j - i > 1 ? `${syms[i]}^${j - i}` : syms[i]);
        i = j;
      }
      const mag = Math.abs(c);
      const body = powers.length ? (mag === 1 ? powers.join('·') : `${fmt(mag)}·${powers.join('·')}`) : fmt(mag);
      out += out === '' ? (c < 0 ? `-${body}` : body) : c < 0 ? ` - ${body}` : ` + ${body}`;
    }
    return out;
  }
}

const ZERO = DimPoly.constant(0);

function split(key: string): string[] {
  return key === '' ? [] : key.split(SEP);
}
