/**
 * The printer of kiln's canonical IR text form (`.kir`). parse.ts reads the same form back;
 * `printGraph(parseGraph(t)) === t` for every printed t, and `parseGraph(printGraph(g))` equals g
 * (give `weightsOf(g)` as `opts.weights` to restore large tensors).
 *
 * ```
 * kiln.graph @resnet50(%input: f32[N,3,224,224]) -> (%output: f32[N,1000]) {
 *   %conv1.weight = const f32[64,3,7,7] #3f2a9c0e12ab45cd
 *   %shape0 = const i64[2] dense<[1, -1]>
 *   %0 = Conv(%input, %conv1.weight) {group=1, pads=[3, 3, 3, 3], strides=[2, 2]} : f32[N,64,112,112] loc("/conv1/Conv")
 *   %1, %2 = Split(%0, %s) {axis=1} : f32[N,32,112,112], f32[N,32,112,112] loc("/split")
 *   %3 = Clip(%1, _, %max) : f32[N,32,112,112] loc(fused["/a/Clip", "/b/Relu"])
 *   return %output
 * }
 * ```
 * Rules:
 * - Names. Values are `%` + `[A-Za-z0-9_.$-]+`, else a quoted string `%"/odd name:0"` (JSON escapes);
 *   the graph name likewise after `@`. Op names, attribute names and symbolic dims are bare words
 *   `[A-Za-z_][A-Za-z0-9_.]*` or quoted strings (an op named `const` is always quoted). `_` is an
 *   omitted input or output ('' in the IR).
 * - Types: `dtype[d0,d1,...]` with the short dtype names; a dim is an integer or a symbol by name;
 *   `f32[]` is a scalar. Every node line ends its outputs' types after ` : ` (mandatory; `()` for a node
 *   without outputs, whose output list is also `()`).
 * - The signature lists inputs with types and outputs with their defined types (`?` when an output is
 *   not defined); `return` repeats the output names.
 * - Constants come first, in graph order, then nodes in graph order. A constant with data of at most
 *   16 elements (or a scalar) prints inline, `dense<[1, -1]>` (flat row-major; a scalar without
 *   brackets); every other constant prints `#` + the first 16 hex digits of `Constant.hash` and its data
 *   is restored by `parseGraph` from `opts.weights`.
 * - Elements (text-format.ts): ints as decimal (i64/u64 exact), bool `true`/`false`, strings JSON,
 *   floats as the shortest decimal that re-encodes to the same value in the element's dtype (f16/bf16/
 *   float8 print their decoded values), `inf`/`-inf`/`nan`, and raw hex bits where no decimal is exact.
 * - Attributes: `{name=value, ...}` sorted by name, omitted when empty. int `3`; float (an f32 value)
 *   always with `.` or exponent, or `inf`/`-inf`/`nan`; string `"..."`; ints `[1, 2]`; floats
 *   `[1.0, 2.5]`; strings `["a"]`; empty lists `ints[]`, `floats[]`, `strings[]`; tensor
 *   `dense<f32[2] [1.0, 2.0]>` when small, else `dense<f32[64,3] #3f2a9c0e12ab45cd>` by hash.
 * - Provenance: ` loc("/conv1/Conv")`, or ` loc(fused["/a", "/b"])` for several names; omitted when empty.
 * - `//` starts a comment to the end of the line (outside strings); the parser ignores it.
 * - A `.kir` file may open with a weights link, `kiln.weights "model.safetensors" sha256 #<64 hex>`
 *   (`printWeightsLink`): the safetensors sidecar holding the tensors the text names by hash (path
 *   relative to the .kir's folder) and the sidecar's sha256. It is a file header, not part of a graph's
 *   canonical text: `printGraph` never prints it (kir-file.ts writes and reads it).
 * - `printGraph(g, { inline })` prints every tensor `inline` selects inline whatever its size (how a
 *   .kir file holds tensors its sidecar cannot); the canonical text (no options) never does.
 */
import type { AttrValue, Constant, Graph, Node, TensorType } from './graph.ts';
import { regionsOf, valueTypes } from './graph.ts';
import type { Tensor } from './tensor.ts';
import { formatElements, formatF32, formatValueName, formatWord, quote } from './text-format.ts';
import { SHORT_HASH, type WeightsLink, hashOf, printsInline } from './weights.ts';

/** Options of `printGraph`. */
export interface PrintOptions {
  /** Tensors to print inline whatever their size (default: none beyond the 16-element limit). */
  readonly inline?: (t: Tensor) => boolean;
}

const inlines = (t: Tensor, opts: PrintOptions): boolean => printsInline(t.size) || (opts.inline?.(t) ?? false);

/** `f32[1,3,224,224]`, `i64[]`, `f32[N,"batch size"]`; `seq<f32[N]>`, `opt<i64[]>`, `opt<seq<f32[*]>>`. */
export function printType(t: TensorType): string {
  const dims = t.unranked ? '*' : t.shape.map((d) => (typeof d === 'number' ? String(d) : formatWord(d))).join(',');
  const inner = `${t.dtype}[${dims}]`;
  switch (t.container) {
    case undefined: return inner;
    case 'seq': return `seq<${inner}>`;
    case 'opt': return `opt<${inner}>`;
    case 'opt-seq': return `opt<seq<${inner}>>`;
  }
}

/** A value reference: `%x`, `%"odd:0"`, or `_` for '' (omitted). */
export function printValueRef(name: string): string {
  return name === '' ? '_' : formatValueName(name);
}

function printInt(v: number): string {
  return Number.isInteger(v) ? BigInt(v).toString() : String(v);
}

/** The elements of a small tensor: one literal for a scalar, else a flat bracketed list. */
function printDenseBody(t: Tensor): string {
  const elems = formatElements(t);
  return t.shape.length === 0 && elems.length === 1 ? elems[0] : `[${elems.join(', ')}]`;
}

/** An attribute value (see the module header for the spelling of each kind). */
export function printAttr(a: AttrValue, opts: PrintOptions = {}): string {
  switch (a.kind) {
    case 'int': return printInt(a.value);
    case 'float': return formatF32(a.value);
    case 'string': return quote(a.value);
    case 'ints': return a.value.length ? `[${a.value.map(printInt).join(', ')}]` : 'ints[]';
    case 'floats': return a.value.length ? `[${a.value.map(formatF32).join(', ')}]` : 'floats[]';
    case 'strings': return a.value.length ? `[${a.value.map(quote).join(', ')}]` : 'strings[]';
    case 'tensor': {
      const t = a.value;
      const body = inlines(t, opts) ? printDenseBody(t) : '#' + hashOf(t).slice(0, SHORT_HASH);
      return `dense<${printType(t)} ${body}>`;
    }
    case 'graph': return printGraphLines(a.value, '', 0, opts).join('\n');
  }
}

/** The provenance suffix (with its leading space), or '' when there is none. */
export function printLoc(loc: readonly string[]): string {
  if (loc.length === 0) return '';
  if (loc.length === 1) return ` loc(${quote(loc[0])})`;
  return ` loc(fused[${loc.map(quote).join(', ')}])`;
}

/**
 * One node line, without indentation: `%0 = Relu(%x) : f32[4] loc("/relu")`. A node that owns regions
 * prints them after the line, one `name @graph(args) -> (results) { ... }` block each, inside `{ }`
 * (several lines, nested one indent step per region level; `indent` is the node's own indentation).
 */
export function printNode(node: Node, indent = '', opts: PrintOptions = {}): string {
  const outs = node.outputs.length ? node.outputs.map(printValueRef).join(', ') : '()';
  const ins = node.inputs.map(printValueRef).join(', ');
  const names = Object.keys(node.attrs).filter((k) => node.attrs[k].kind !== 'graph').sort();
  const attrs = names.length
    ? ` {${names.map((k) => `${formatWord(k)}=${printAttr(node.attrs[k], opts)}`).join(', ')}}`
    : '';
  const types = node.types.length ? node.types.map(printType).join(', ') : '()';
  const line = `${outs} = ${formatWord(node.op, ['const'])}(${ins})${attrs} : ${types}${printLoc(node.loc)}`;
  const regions = regionsOf(node);
  if (!regions.length) return line;
  const lines = [line + ' {'];
  for (const [name, g] of regions) lines.push(...printGraphLines(g, formatWord(name) + ' ', indent.length + 2, opts).map((l, i) => (i ? l : indent + '  ' + l)));
  lines.push(indent + '}');
  return lines.join('\n');
}

/** One constant line, without indentation: inline `dense<...>` when small, else `#hash`. */
export function printConstant(c: Constant, opts: PrintOptions = {}): string {
  const body = c.data && inlines(c.data, opts)
    ? `dense<${printDenseBody(c.data)}>`
    : '#' + c.hash.slice(0, SHORT_HASH);
  return `${formatValueName(c.name)} = const ${printType(c.type)} ${body}`;
}

/**
 * A graph's lines: the header (after `head`, unindented: the caller places it), the body indented by
 * `depth + 2` spaces and the closing brace at `depth`. A region's outputs may be values of enclosing
 * scopes; their types are not known here, so an output this graph does not define prints `?`.
 */
function printGraphLines(graph: Graph, head: string, depth: number, opts: PrintOptions): string[] {
  const pad = ' '.repeat(depth);
  const types = valueTypes(graph);
  const ins = graph.inputs.map((i) => `${formatValueName(i.name)}: ${printType(i.type)}`).join(', ');
  const outs = graph.outputs.map((o) => {
    const t = types.get(o);
    return `${printValueRef(o)}: ${t ? printType(t) : '?'}`;
  }).join(', ');
  const lines = [`${head}${formatValueName(graph.name, '@')}(${ins}) -> (${outs}) {`];
  for (const c of graph.constants) lines.push(pad + '  ' + printConstant(c, opts));
  for (const n of graph.nodes) lines.push(pad + '  ' + printNode(n, pad + '  ', opts));
  lines.push(pad + '  return' + (graph.outputs.length ? ' ' + graph.outputs.map(printValueRef).join(', ') : ''));
  lines.push(pad + '}');
  return lines;
}

/** The whole graph as `.kir` text (ends with a newline); without options, its canonical text. */
export function printGraph(graph: Graph, opts: PrintOptions = {}): string {
  return printGraphLines(graph, 'kiln.graph ', 0, opts).join('\n') + '\n';
}

/** The weights link line of a `.kir` file, `kiln.weights "w.safetensors" sha256 #<64 hex>` (with its newline). */
export function printWeightsLink(link: WeightsLink): string {
  return `kiln.weights ${quote(link.path)} sha256 #${link.sha256}\n`;
}
