/**
 * The parser of kiln's IR text form (`.kir`); the form and its rules are documented in print.ts.
 *
 * A recursive-descent parser over the tokens of lex.ts, one function per construct (signature,
 * constant, node, attribute, type, dense elements, loc). It checks syntax only, plus what the text
 * itself must agree on (the signature's outputs are the `return` list and carry the defined types;
 * inline data matches its type); SSA, op and type rules are the verifiers' (verify.ts,
 * ops/verify-types.ts), so a broken graph still reads back for them to report.
 *
 * Constants and tensor attributes printed by hash (`#` + 16 hex digits) get their data from
 * `opts.weights`, a map keyed by the full sha256 hex (as `weightsOf` builds it) or by its first 16 hex
 * digits. A constant found there takes the full key as its hash (or `hashOf(data)` for a short key);
 * one not found keeps the printed hash and no data. A large tensor attribute must be found (an
 * attribute cannot exist without its tensor).
 *
 * A file may open with a weights link (`kiln.weights "w.safetensors" sha256 #<64 hex>`, see print.ts).
 * With `opts.linkWeights` the parser hands the link over before reading the graph and takes the
 * tensors it returns (the sidecar's, read and checked by kir-file.ts); then every hash of the text must
 * be found there, and a miss is an error naming the value, the hash and the sidecar. Without
 * `linkWeights` the link is read and ignored (constants keep their hashes and no data, as above).
 *
 * Errors are KilnErrors with file, line and column: "expected ',' or ')' in input list, found '%x'".
 * Every loop consumes a token per step, so no input makes the parser hang.
 */
import { KilnError } from '../errors.ts';
import { type DType, isDType } from './dtype.ts';
import type { AttrValue, Constant, Dim, Graph, GraphInput, Node, TensorType } from './graph.ts';
import { valueTypes } from './graph.ts';
import { type Token, lex } from './lex.ts';
import { printType } from './print.ts';
import { Tensor } from './tensor.ts';
import { dimProblem } from './sizes.ts';
import { type Literal, elementSink, floatValue, isFloatSyntax } from './text-format.ts';
import { SHORT_HASH, type WeightsLink, hashOf } from './weights.ts';

/** Options of `parseGraph`. */
export interface ParseOptions {
  /** File name for error messages. */
  file?: string;
  /** Tensors by full hash or by 16-hex prefix, restoring constants and attributes printed by hash. */
  weights?: ReadonlyMap<string, Tensor>;
  /**
   * Called with the file's weights link, when it has one, before the graph is read; returns the
   * sidecar's tensors by full hash. Every hash in the text must then name one of them.
   */
  linkWeights?: (link: WeightsLink) => ReadonlyMap<string, Tensor>;
}

/** Parses `.kir` text into a Graph; throws a KilnError with line and column on malformed text. */
export function parseGraph(text: string, opts: ParseOptions = {}): Graph {
  return new Parser(lex(text, opts.file), opts).graph();
}

const LIST_KINDS = ['ints', 'floats', 'strings'] as const;

/** The parser state: the token list and a cursor. */
class Parser {
  private pos = 0;
  private index?: Map<string, [string, Tensor]>;
  private weights?: ReadonlyMap<string, Tensor>;
  /** The sidecar's path when its tensors are in use (every hash must then be found). */
  private sidecar?: string;

  constructor(private readonly toks: Token[], private readonly opts: ParseOptions) {
    this.weights = opts.weights;
  }

  // ---- token helpers ----

  private peek(ahead = 0): Token {
    return this.toks[Math.min(this.pos + ahead, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  private isPunct(p: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'punct' && t.text === p;
  }
  private isWord(w: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text === w;
  }
  private fail(message: string, at: Token = this.peek()): never {
    throw new KilnError(message, { file: this.opts.file, line: at.line, column: at.column });
  }
  private expected(what: string, where: string): never {
    const t = this.peek();
    const found = t.kind === 'eof' ? 'end of input' : `'${t.text.length > 32 ? t.text.slice(0, 32) + '...' : t.text}'`;
    return this.fail(`expected ${what} in ${where}, found ${found}`);
  }
  private punct(p: string, where: string): Token {
    if (!this.isPunct(p)) this.expected(`'${p}'`, where);
    return this.next();
  }
  /** Parses `item (',' item)* close`, the opening bracket already consumed; `close` may follow at once. */
  private list(close: string, where: string, item: () => void): void {
    if (this.isPunct(close)) {
      this.next();
      return;
    }
    for (;;) {
      item();
      if (this.isPunct(',')) this.next();
      else if (this.isPunct(close)) {
        this.next();
        return;
      } else this.expected(`',' or '${close}'`, where);
    }
  }

  // ---- graph ----

  graph(): Graph {
    if (this.isWord('kiln.weights')) this.weightsLink();
    if (!this.isWord('kiln.graph')) this.expected("'kiln.graph'", 'graph header');
    this.next();
    const graph = this.graphBody();
    if (this.peek().kind !== 'eof') this.expected('end of input', 'graph');
    return graph;
  }

  /** `kiln.weights "path" sha256 #<64 hex>`: hands the link to `opts.linkWeights` and takes its tensors. */
  private weightsLink(): void {
    this.next();
    const file = this.string('weights link');
    if (!this.isWord('sha256')) this.expected("'sha256'", 'weights link');
    this.next();
    const h = this.peek();
    if (h.kind !== 'hash' || h.value.length !== 64) this.expected("the sidecar's sha256 '#' + 64 hex digits", 'weights link');
    this.next();
    if (!this.opts.linkWeights) return;
    const linked = this.opts.linkWeights({ path: file, sha256: h.value });
    this.weights = this.weights ? new Map([...this.weights, ...linked]) : linked;
    this.sidecar = file;
  }

  /** `@name(inputs) -> (outputs) { statements return ... }`: a whole graph or a region. */
  private graphBody(): Graph {
    if (this.peek().kind !== 'global') this.expected("a graph name '@name'", 'graph header');
    const name = this.next().value;
    const inputs: GraphInput[] = [];
    this.punct('(', 'graph header');
    this.list(')', 'input list', () => {
      if (this.peek().kind !== 'value') this.expected("an input '%name'", 'input list');
      const n = this.next().value;
      this.punct(':', 'input list');
      inputs.push({ name: n, type: this.type('input list', n) });
    });
    this.punct('->', 'graph header');
    this.punct('(', 'graph header');
    const sig: { name: string; type?: TensorType; at: Token }[] = [];
    this.list(')', 'output list', () => {
      const at = this.peek();
      const n = this.valueRef('output list');
      this.punct(':', 'output list');
      if (this.isPunct('?')) {
        this.next();
        sig.push({ name: n, at });
      } else sig.push({ name: n, type: this.type('output list', n), at });
    });
    this.punct('{', 'graph header');
    const constants: Constant[] = [];
    const nodes: Node[] = [];
    while (!this.isWord('return')) {
      const t = this.peek();
      if (t.kind !== 'value' && !this.isWord('_') && !this.isPunct('(')) this.expected("a statement or 'return'", 'graph body');
      if (t.kind === 'value' && this.isPunct('=', 1) && this.peek(2).kind === 'word' && this.peek(2).text === 'const') {
        constants.push(this.constant());
      } else nodes.push(this.node());
    }
    const ret = this.next();
    const outputs: string[] = [];
    if (!this.isPunct('}')) {
      for (;;) {
        outputs.push(this.valueRef('return list'));
        if (this.isPunct(',')) this.next();
        else if (this.isPunct('}')) break;
        else this.expected("',' or '}'", 'return list');
      }
    }
    this.next();
    const graph: Graph = { name, inputs, outputs, constants, nodes };
    this.checkSignature(graph, sig, ret);
    return graph;
  }

  /** The signature's outputs must be the returned values with their defined types. */
  private checkSignature(graph: Graph, sig: { name: string; type?: TensorType; at: Token }[], ret: Token): void {
    const names = sig.map((s) => s.name);
    if (names.length !== graph.outputs.length || names.some((n, i) => n !== graph.outputs[i])) {
      const show = (l: readonly string[]) => l.map((n) => (n ? `'${n}'` : '_')).join(', ');
      this.fail(`return list [${show(graph.outputs)}] does not match the signature's outputs [${show(names)}]`, ret);
    }
    const types = valueTypes(graph);
    for (const s of sig) {
      const def = types.get(s.name);
      if (!def) continue;
      const declared = s.type ? printType(s.type) : '?';
      if (declared !== printType(def)) {
        this.fail(`signature declares output '${s.name}' as ${declared} but it is defined as ${printType(def)}`, s.at);
      }
    }
  }

  /** `%name` or `_` (''). */
  private valueRef(where: string): string {
    const t = this.peek();
    if (t.kind === 'value') return this.next().value;
    if (t.kind === 'word' && t.text === '_') {
      this.next();
      return '';
    }
    return this.expected("a value '%name' or '_'", where);
  }

  // ---- statements ----

  private constant(): Constant {
    const name = this.next().value;
    this.next(); // '='
    this.next(); // 'const'
    const typeAt = this.peek();
    const type = this.type('constant', name);
    if (this.peek().kind === 'hash') {
      const hashTok = this.next();
      const found = this.lookup(hashTok.value);
      if (!found && this.sidecar !== undefined) this.fail(`'%${name}' names tensor #${hashTok.value}, which the weights file '${this.sidecar}' does not hold`, hashTok);
      if (!found) return { name, type, hash: hashTok.value.slice(0, SHORT_HASH) };
      this.checkWeight(found[1], type, hashTok);
      return { name, type, hash: found[0].length > SHORT_HASH ? found[0] : hashOf(found[1]), data: found[1] };
    }
    if (!this.isWord('dense')) this.expected("'#hash' or 'dense<...>'", 'constant');
    this.next();
    this.punct('<', 'constant');
    const data = this.denseBody(type, typeAt, 'constant');
    this.punct('>', 'constant');
    return { name, type, hash: hashOf(data), data };
  }

  private node(): Node {
    const outputs: string[] = [];
    if (this.isPunct('(')) {
      this.next();
      this.punct(')', 'output names');
    } else {
      for (;;) {
        outputs.push(this.valueRef('output names'));
        if (this.isPunct(',')) this.next();
        else break;
      }
    }
    this.punct('=', 'node');
    const opTok = this.peek();
    if (opTok.kind !== 'word' && opTok.kind !== 'string') this.expected('an op name', 'node');
    const op = this.next().value;
    const inputs: string[] = [];
    this.punct('(', 'node');
    this.list(')', 'input list', () => { inputs.push(this.valueRef('input list')); });
    const attrs: Record<string, AttrValue> = {};
    if (this.isPunct('{')) {
      this.next();
      this.list('}', 'attribute list', () => {
        const at = this.peek();
        if (at.kind !== 'word' && at.kind !== 'string') this.expected('an attribute name', 'attribute list');
        const key = this.next().value;
        if (Object.prototype.hasOwnProperty.call(attrs, key)) this.fail(`duplicate attribute '${key}'`, at);
        this.punct('=', 'attribute list');
        Object.defineProperty(attrs, key, { value: this.attr(), enumerable: true, writable: true, configurable: true });
      });
    }
    this.punct(':', 'node');
    const types: TensorType[] = [];
    if (this.isPunct('(')) {
      this.next();
      this.punct(')', 'output types');
    } else {
      for (;;) {
        types.push(this.type('output types', outputs[types.length]));
        if (this.isPunct(',')) this.next();
        else break;
      }
    }
    const loc: string[] = [];
    if (this.isWord('loc')) {
      this.next();
      this.punct('(', 'loc');
      if (this.isWord('fused')) {
        this.next();
        this.punct('[', 'loc');
        this.list(']', 'loc', () => { loc.push(this.string('loc')); });
      } else loc.push(this.string('loc'));
      this.punct(')', 'loc');
    }
    if (this.isPunct('{')) this.regions(attrs);
    return { op, inputs, outputs, types, attrs, loc };
  }

  /** A node's regions: `{ name @graph(args) -> (results) { ... } ... }`, stored as graph attributes. */
  private regions(attrs: Record<string, AttrValue>): void {
    this.next();
    do {
      const at = this.peek();
      if (at.kind !== 'word' && at.kind !== 'string') this.expected('a region name', 'region list');
      const key = this.next().value;
      if (Object.prototype.hasOwnProperty.call(attrs, key)) this.fail(`duplicate attribute '${key}'`, at);
      Object.defineProperty(attrs, key, { value: { kind: 'graph', value: this.graphBody() }, enumerable: true, writable: true, configurable: true });
    } while (!this.isPunct('}'));
    this.next();
  }

  private string(where: string): string {
    if (this.peek().kind !== 'string') this.expected('a string', where);
    return this.next().value;
  }

  // ---- types ----

  /** A type; `value` names the value it belongs to (for dim errors). */
  private type(where: string, value?: string): TensorType {
    for (const [word, container] of [['seq', 'seq'], ['opt', 'opt']] as const) {
      if (!this.isWord(word) || !this.isPunct('<', 1)) continue;
      this.next();
      this.next();
      const inner = this.type(where, value);
      this.punct('>', `${word}<...> type`);
      if (inner.container === 'opt' || inner.container === 'opt-seq' || (container === 'seq' && inner.container)) {
        this.fail(`${word}<${printType(inner)}> is not a type (kiln has seq<T>, opt<T> and opt<seq<T>> of tensor types T)`);
      }
      return { ...inner, container: inner.container ? 'opt-seq' : container };
    }
    if (this.isPunct('[', 1) && this.isPunct('*', 2)) {
      const t = this.next();
      if (!isDType(t.text)) this.fail(`unknown dtype '${t.text}' in ${where}`, t);
      this.next();
      this.next();
      this.punct(']', where);
      return { dtype: t.text as DType, shape: [], unranked: true };
    }
    const t = this.peek();
    if (t.kind !== 'word') this.expected('a type like f32[1,3]', where);
    if (!isDType(t.text)) {
      if (!this.isPunct('[', 1)) this.expected('a type like f32[1,3]', where);
      this.fail(`unknown dtype '${t.text}' in ${where}`, t);
    }
    this.next();
    const dtype: DType = t.text;
    const shape: Dim[] = [];
    this.punct('[', where);
    this.list(']', `shape of ${where}`, () => {
      const d = this.peek();
      if (d.kind === 'number' && /^-?\d+$/.test(d.text)) {
        const problem = dimProblem(Number(d.text));
        if (problem) this.fail(`${value !== undefined ? `'%${value}' in ` : ''}${where}: dim ${shape.length} is ${d.text}; ${problem.replace(/^dim \S+ /, 'it ')} (dims are integers 0 to 2^53-1, or symbol names)`, d);
        shape.push(Number(d.text) + 0);
      }
      else if (d.kind === 'word' || d.kind === 'string') shape.push(d.kind === 'word' ? d.text : d.value);
      else this.expected('a dim (an integer or a symbol)', `shape of ${where}`);
      this.next();
    });
    return { dtype, shape };
  }

  // ---- attributes and tensors ----

  private attr(): AttrValue {
    const t = this.peek();
    if (t.kind === 'string') return { kind: 'string', value: this.next().value };
    if (t.kind === 'number' || (t.kind === 'word' && (t.text === 'inf' || t.text === 'nan'))) {
      this.next();
      if (/^-?0x/i.test(t.text)) this.fail(`hex literal '${t.text}' is not an attribute value`, t);
      return isFloatSyntax(t.text)
        ? { kind: 'float', value: Math.fround(floatValue(t.text)) }
        : { kind: 'int', value: Number(t.text) + 0 }; // + 0 turns -0 into 0
    }
    if (t.kind === 'word' && (LIST_KINDS as readonly string[]).includes(t.text)) {
      this.next();
      this.punct('[', 'empty list');
      this.punct(']', 'empty list');
      return { kind: t.text as (typeof LIST_KINDS)[number], value: [] } as AttrValue;
    }
    if (t.kind === 'word' && t.text === 'dense') {
      this.next();
      this.punct('<', 'tensor attribute');
      const typeAt = this.peek();
      const type = this.type('tensor attribute');
      let value: Tensor;
      if (this.peek().kind === 'hash') {
        const h = this.next();
        const found = this.lookup(h.value);
        if (!found) this.fail(`tensor attribute #${h.value} is not in ${this.sidecar !== undefined ? `the weights file '${this.sidecar}'` : 'the weights given to the parser'}`, h);
        this.checkWeight(found[1], type, h);
        value = found[1];
      } else value = this.denseBody(type, typeAt, 'tensor attribute');
      this.punct('>', 'tensor attribute');
      return { kind: 'tensor', value };
    }
    if (this.isPunct('[')) return this.attrList();
    return this.expected('an attribute value', 'attribute list');
  }

  /** A non-empty bracketed list: its kind is that of its elements, which must agree. */
  private attrList(): AttrValue {
    const open = this.next();
    const items: Token[] = [];
    if (this.isPunct(']')) this.fail('an empty list needs its kind: write ints[], floats[] or strings[]', open);
    this.list(']', 'list', () => {
      const t = this.peek();
      const numeric = t.kind === 'number' || (t.kind === 'word' && (t.text === 'inf' || t.text === 'nan'));
      if ((!numeric && t.kind !== 'string') || /^-?0x/i.test(t.text)) this.expected('a number or a string', 'list');
      items.push(this.next());
    });
    const kindOf = (t: Token) => (t.kind === 'string' ? 'strings' : isFloatSyntax(t.text) ? 'floats' : 'ints');
    const kind = kindOf(items[0]);
    const odd = items.find((t) => kindOf(t) !== kind);
    if (odd) this.fail(`list mixes ${kind} with ${kindOf(odd)} element '${odd.text}'`, odd);
    if (kind === 'strings') return { kind, value: items.map((t) => t.value) };
    if (kind === 'floats') return { kind, value: items.map((t) => Math.fround(floatValue(t.text))) };
    return { kind, value: items.map((t) => Number(t.text) + 0) };
  }

  /** Inline elements of a tensor of `type`: one literal (any single-element tensor) or a flat list. */
  private denseBody(type: TensorType, typeAt: Token, where: string): Tensor {
    const shape = type.shape;
    if (!shape.every((d): d is number => typeof d === 'number' && d >= 0)) {
      this.fail(`inline data needs a static shape, got ${printType(type)}`, typeAt);
    }
    let size = 1;
    for (const d of shape) size *= d;
    const lits: [Literal, Token][] = [];
    const literal = (): void => {
      const t = this.peek();
      if (t.kind !== 'number' && t.kind !== 'word' && t.kind !== 'string') this.expected('an element', where);
      this.next();
      lits.push([{ kind: t.kind, text: t.kind === 'string' ? t.value : t.text }, t]);
    };
    if (this.isPunct('[')) {
      this.next();
      this.list(']', `elements of ${where}`, literal);
    } else literal();
    if (lits.length !== size) this.fail(`${printType(type)} needs ${size} elements, found ${lits.length}`, typeAt);
    const sink = elementSink(type.dtype, size);
    lits.forEach(([lit, tok], i) => {
      const err = sink.put(i, lit);
      if (err) this.fail(`${err}, found '${tok.text}'`, tok);
    });
    return new Tensor(type.dtype, shape, sink.data);
  }

  /** The weights entry for a printed hash: [key, tensor], or undefined. */
  private lookup(hash: string): [string, Tensor] | undefined {
    const weights = this.weights;
    if (!weights || hash.length < SHORT_HASH) return undefined;
    if (!this.index) {
      this.index = new Map();
      for (const [k, t] of weights) this.index.set(k.toLowerCase().slice(0, SHORT_HASH), [k.toLowerCase(), t]);
    }
    const found = this.index.get(hash.slice(0, SHORT_HASH));
    if (!found) return undefined;
    const [key] = found;
    const common = Math.min(key.length, hash.length);
    return key.slice(0, common) === hash.slice(0, common) ? found : undefined;
  }

  private checkWeight(t: Tensor, type: TensorType, at: Token): void {
    const actual = printType(t);
    const entry = this.sidecar !== undefined ? `tensor #${at.value} of the weights file '${this.sidecar}'` : `weights entry #${at.value}`;
    if (actual !== printType(type)) this.fail(`${entry} is ${actual} but the text declares ${printType(type)}`, at);
  }
}
