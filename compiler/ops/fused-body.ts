/**
 * The body text of a `kiln.fused` region (see fused-region.ts): a list of SSA lines, one op each, kept
 * in the node's `body` attribute (a strings list), so a region prints, parses and diffs as plain IR text.
 *
 * Syntax of one line (j = the line's index, from 0):
 * ```
 * line    := 't' j ' = ' op '(' operand (', ' operand)* ')' [' {' attr (', ' attr)* '}']
 * operand := 'in' k      the region's k-th input (the fused node's input k)
 *          | 't' i       the value of line i < j
 *          | '_'         an omitted optional input
 * attr    := name '=' value   -- spelled exactly as print.ts prints node attributes, sorted by name
 * ```
 * e.g. `t0 = Sub(in0, in1)`, `t1 = Pow(t0, in2)`, `t2 = ReduceMean(t1, in3) {keepdims=1}`,
 * `t3 = Cast(t2) {to=10}`, `t4 = LeakyRelu(t3) {alpha=0.1}`. Op names are bare words or quoted strings;
 * tensor-valued attributes are not allowed (no elementwise op has one). Every line has one output.
 *
 * The text is canonical: `parseBodyLine` reads the line with the `.kir` lexer (lex.ts), rebuilds it
 * with `printBodyLine` and rejects it unless both agree, so equal bodies are equal strings (CSE and
 * diffs compare them as text) and the error tells the canonical spelling.
 */
import type { AttrValue, Attrs } from '../ir/graph.ts';
import { type Token, lex } from '../ir/lex.ts';
import { printAttr } from '../ir/print.ts';
import { floatValue, formatWord, isFloatSyntax } from '../ir/text-format.ts';

/** One operand of a body op. */
export type BodyOperand =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'value'; readonly index: number }
  | { readonly kind: 'omitted' };

/** One parsed body line: `t<index> = op(operands) {attrs}`. */
export interface BodyLine {
  readonly index: number;
  readonly op: string;
  readonly operands: readonly BodyOperand[];
  readonly attrs: Attrs;
}

/** Spelling of an operand: `in3`, `t1`, `_`. */
export function formatOperand(o: BodyOperand): string {
  return o.kind === 'input' ? `in${o.index}` : o.kind === 'value' ? `t${o.index}` : '_';
}

/** The canonical text of a body line. */
export function printBodyLine(line: BodyLine): string {
  const names = Object.keys(line.attrs).sort();
  const attrs = names.length ? ` {${names.map((k) => `${formatWord(k)}=${printAttr(line.attrs[k])}`).join(', ')}}` : '';
  return `t${line.index} = ${formatWord(line.op, ['const'])}(${line.operands.map(formatOperand).join(', ')})${attrs}`;
}

/** Reads an operand name (`in3`, `t1`, `_`); undefined when the text is not one. */
export function parseOperand(text: string): BodyOperand | undefined {
  if (text === '_') return { kind: 'omitted' };
  const m = /^(in|t)(0|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  return { kind: m[1] === 'in' ? 'input' : 'value', index: Number(m[2]) };
}

/** Thrown for a malformed body line; the message says what and where (the caller adds the line number). */
export class BodyError extends Error {}

/**
 * Parses body line number `index` (which must define `t<index>`). Checks syntax and canonical
 * spelling only; which ops and operands are allowed is the region op's business.
 */
export function parseBodyLine(text: string, index: number): BodyLine {
  let toks: Token[];
  try {
    toks = lex(text);
  } catch (e) {
    throw new BodyError((e as Error).message);
  }
  let pos = 0;
  const peek = () => toks[pos];
  const next = () => toks[pos < toks.length - 1 ? pos++ : pos];
  const isPunct = (p: string) => peek().kind === 'punct' && peek().text === p;
  const fail = (what: string): never => {
    const t = peek();
    throw new BodyError(`expected ${what} at column ${t.column}, found ${t.kind === 'eof' ? 'end of line' : `'${t.text}'`}`);
  };
  const punct = (p: string) => (isPunct(p) ? next() : fail(`'${p}'`));
  const word = () => (peek().kind === 'word' ? next().text : fail('a name'));

  const target = word();
  if (target !== `t${index}`) throw new BodyError(`line ${index} must define t${index}, not '${target}'`);
  punct('=');
  const opTok = peek();
  if (opTok.kind !== 'word' && opTok.kind !== 'string') fail('an op name');
  const op = next().value;
  punct('(');
  const operands: BodyOperand[] = [];
  if (isPunct(')')) next();
  else {
    for (;;) {
      const t = word();
      const o = parseOperand(t);
      if (!o) throw new BodyError(`operand '${t}' is not in<k>, t<i> or _`);
      operands.push(o);
      if (isPunct(',')) next();
      else if (isPunct(')')) { next(); break; }
      else fail("',' or ')'");
    }
  }
  const attrs: Record<string, AttrValue> = {};
  if (isPunct('{')) {
    next();
    for (;;) {
      const k = peek();
      if (k.kind !== 'word' && k.kind !== 'string') fail('an attribute name');
      const key = next().value;
      punct('=');
      Object.defineProperty(attrs, key, { value: attrValue(), enumerable: true, writable: true, configurable: true });
      if (isPunct(',')) next();
      else if (isPunct('}')) { next(); break; }
      else fail("',' or '}'");
    }
  }
  if (peek().kind !== 'eof') fail('end of line');
  const line: BodyLine = { index, op, operands, attrs };
  const canonical = printBodyLine(line);
  if (canonical !== text) throw new BodyError(`not in canonical form; write it as '${canonical}'`);
  return line;

  /** One attribute value, read as parse.ts reads node attributes (tensors excepted). */
  function attrValue(): AttrValue {
    const t = peek();
    const numeric = (x: Token) => x.kind === 'number' || (x.kind === 'word' && (x.text === 'inf' || x.text === 'nan'));
    if (t.kind === 'string') return { kind: 'string', value: next().value };
    if (numeric(t)) {
      next();
      if (/^-?0x/i.test(t.text)) throw new BodyError(`hex literal '${t.text}' is not an attribute value`);
      return isFloatSyntax(t.text) ? { kind: 'float', value: Math.fround(floatValue(t.text)) } : { kind: 'int', value: Number(t.text) + 0 };
    }
    if (t.kind === 'word' && (t.text === 'ints' || t.text === 'floats' || t.text === 'strings')) {
      next();
      punct('[');
      punct(']');
      return { kind: t.text, value: [] };
    }
    if (t.kind === 'word' && t.text === 'dense') throw new BodyError('tensor attributes are not allowed in a fused body');
    if (!isPunct('[')) return fail('an attribute value');
    next();
    const items: Token[] = [];
    for (;;) {
      const it = peek();
      if (!(numeric(it) && !/^-?0x/i.test(it.text)) && it.kind !== 'string') fail('a number or a string');
      items.push(next());
      if (isPunct(',')) next();
      else if (isPunct(']')) { next(); break; }
      else fail("',' or ']'");
    }
    const kindOf = (x: Token) => (x.kind === 'string' ? 'strings' : isFloatSyntax(x.text) ? 'floats' : 'ints');
    const kind = kindOf(items[0]);
    if (items.some((x) => kindOf(x) !== kind)) throw new BodyError(`list mixes ${kind} with other elements`);
    if (kind === 'strings') return { kind, value: items.map((x) => x.value) };
    if (kind === 'floats') return { kind, value: items.map((x) => Math.fround(floatValue(x.text))) };
    return { kind, value: items.map((x) => Number(x.text) + 0) };
  }
}
