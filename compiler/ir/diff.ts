/**
 * Graph diff: what a pass changed, node by node and as a unified text diff of the printed IR.
 *
 * Structural diff (`diffGraphs`): nodes are keyed by their id (first output name, `nodeId`), which
 * every pass keeps for a node it does not replace. Walking both node lists in order, a node whose id is
 * only in the old graph is `removed`, only in the new one `added`, in both `changed` (when op, inputs,
 * outputs, attrs, regions, types or loc differ; the differing fields are listed) or `unchanged`. A
 * change anywhere inside a region is a change of the node owning it (field `regions`), with a line
 * diff of the node's nested text (`regionDiff`). Node objects
 * shared between snapshots (the common case: passes share untouched nodes) are unchanged without
 * looking further. Entries come in a merged order: each removed node sits where it was, before the
 * next surviving node. A removed node whose provenance reappears in an added or changed node records
 * that node as `replacedBy`, so a fusion reads "these three were removed into that one", and the added
 * node's `loc` lists them. Constants are diffed the same way by name (type or content hash).
 *
 * Text diff (`formatDiff`, `formatDiffAnsi`, `formatDiffHTML`): a line diff of the two `printGraph`
 * texts by Myers' O(ND) algorithm (common prefix and suffix trimmed first; the trace keeps only the
 * live diagonals of each round, D² integers in all), grouped into hunks with `context` lines around
 * each change, rendered as a classic unified diff (`---`/`+++`/`@@` headers and ` `/`-`/`+` lines),
 * coloured with ANSI escapes for terminals, or as HTML with one class per line kind.
 */
import type { Constant, Graph, Node, TensorType } from './graph.ts';
import { nodeId } from './graph.ts';
import { attrsEqual } from './equal.ts';
import { printConstant, printGraph, printNode } from './print.ts';

/** The kind of change of one node or constant. */
export type ChangeKind = 'added' | 'removed' | 'changed' | 'unchanged';

/**
 * A node field that can differ between two versions of a node; `regions`: a region it owns (a graph
 * attribute: If's branches, Loop's body) differs anywhere inside, nested regions included.
 */
export type NodeField = 'op' | 'inputs' | 'outputs' | 'attrs' | 'regions' | 'types' | 'loc';

/** One node in a graph diff. */
export interface NodeChange {
  /** Node id (first output name; `#index op` for a node without outputs). */
  readonly node: string;
  readonly kind: ChangeKind;
  /** The printed node line in the old graph (absent for added nodes). */
  readonly before?: string;
  /** The printed node line in the new graph (absent for removed nodes). */
  readonly after?: string;
  /** Fields that differ (only for `changed`). */
  readonly fields: readonly NodeField[];
  /** For a removed node: the added or changed node that took over its provenance (e.g. a fusion). */
  readonly replacedBy?: string;
  /**
   * For a node whose regions changed: a line diff of its printed text (the node line and its nested
   * regions), `@@` hunks with two lines of context (`formatNodeDiff`).
   */
  readonly regionDiff?: string;
}

/** One constant in a graph diff. */
export interface ConstantChange {
  readonly name: string;
  readonly kind: ChangeKind;
  readonly before?: string;
  readonly after?: string;
}

/** The difference between two graphs. */
export interface GraphDiff {
  readonly a: Graph;
  readonly b: Graph;
  /** Every node of either graph, in merged order. */
  readonly nodes: readonly NodeChange[];
  /** Every constant of either graph that was added, removed or changed (unchanged ones are left out). */
  readonly constants: readonly ConstantChange[];
  /** True when the graph inputs or outputs (names or types) differ. */
  readonly signatureChanged: boolean;
  /** Number of nodes of each kind. */
  readonly counts: Readonly<Record<ChangeKind, number>>;
}

const key = (n: Node, i: number) => nodeId(n) || `#${i} ${n.op}`;
const sameList = <T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean = (x, y) => x === y) =>
  a.length === b.length && a.every((x, i) => eq(x, b[i]));
const sameType = (a: TensorType, b: TensorType) => a.dtype === b.dtype && a.container === b.container && !a.unranked === !b.unranked && sameList(a.shape, b.shape);

/** The fields in which two versions of a node differ (empty when they are equal). */
export function nodeFieldChanges(a: Node, b: Node): NodeField[] {
  if (a === b) return [];
  const out: NodeField[] = [];
  if (a.op !== b.op) out.push('op');
  if (!sameList(a.inputs, b.inputs)) out.push('inputs');
  if (!sameList(a.outputs, b.outputs)) out.push('outputs');
  if (a.attrs !== b.attrs) {
    // plain attributes and regions (graph attributes) are told apart
    const names = (n: Node, regions: boolean) => Object.keys(n.attrs).filter((k) => (n.attrs[k].kind === 'graph') === regions).sort();
    for (const [regions, field] of [[false, 'attrs'], [true, 'regions']] as const) {
      const ka = names(a, regions), kb = names(b, regions);
      if (!sameList(ka, kb) || ka.some((k) => !attrsEqual(a.attrs[k], b.attrs[k]))) out.push(field);
    }
  }
  if (!sameList(a.types, b.types, sameType)) out.push('types');
  if (!sameList(a.loc, b.loc)) out.push('loc');
  return out;
}

function constantChanged(a: Constant, b: Constant): boolean {
  return a !== b && (a.hash !== b.hash || !sameType(a.type, b.type) || !a.data !== !b.data);
}

/** Diffs two graphs node by node (keyed by node id) and constant by constant (keyed by name). */
export function diffGraphs(a: Graph, b: Graph): GraphDiff {
  const aNodes = new Map<string, Node>(), bNodes = new Map<string, Node>();
  a.nodes.forEach((n, i) => aNodes.set(key(n, i), n));
  b.nodes.forEach((n, i) => bNodes.set(key(n, i), n));
  const nodes: NodeChange[] = [];
  const counts: Record<ChangeKind, number> = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  const emitted = new Set<string>();
  const pair = (id: string, x: Node, y: Node) => {
    const fields = nodeFieldChanges(x, y);
    const kind: ChangeKind = fields.length ? 'changed' : 'unchanged';
    counts[kind]++;
    emitted.add(id);
    const before = printNode(x), after = printNode(y);
    nodes.push({ node: id, kind, before, after, fields, ...(fields.includes('regions') ? { regionDiff: formatNodeDiff(before, after) } : {}) });
  };
  let i = 0, j = 0;
  while (i < a.nodes.length || j < b.nodes.length) {
    const ka = i < a.nodes.length ? key(a.nodes[i], i) : undefined;
    if (ka !== undefined && emitted.has(ka)) { i++; continue; }
    if (ka !== undefined && !bNodes.has(ka)) {
      counts.removed++;
      nodes.push({ node: ka, kind: 'removed', before: printNode(a.nodes[i]), fields: [] });
      i++;
      continue;
    }
    if (j < b.nodes.length) {
      const kb = key(b.nodes[j], j);
      const old = aNodes.get(kb);
      if (old === undefined) {
        counts.added++;
        nodes.push({ node: kb, kind: 'added', after: printNode(b.nodes[j]), fields: [] });
      } else {
        pair(kb, old, b.nodes[j]); // the same id, possibly moved
      }
      j++;
      continue;
    }
    i++; // only reachable for an old node already paired: skipped above
  }
  linkReplacements(nodes, aNodes, bNodes);
  return { a, b, nodes, constants: diffConstants(a, b), signatureChanged: signatureChanged(a, b), counts };
}

/** Points each removed node at the added/changed node that now carries its provenance. */
function linkReplacements(nodes: NodeChange[], aNodes: Map<string, Node>, bNodes: Map<string, Node>): void {
  const carrier = new Map<string, string>();
  for (const c of nodes) {
    if (c.kind !== 'added' && c.kind !== 'changed') continue;
    for (const l of bNodes.get(c.node)!.loc) if (!carrier.has(l)) carrier.set(l, c.node);
  }
  nodes.forEach((c, k) => {
    if (c.kind !== 'removed') return;
    const loc = aNodes.get(c.node)!.loc;
    const into = loc.length ? carrier.get(loc[0]) : undefined;
    if (into !== undefined && loc.every((l) => carrier.get(l) === into)) nodes[k] = { ...c, replacedBy: into };
  });
}

function diffConstants(a: Graph, b: Graph): ConstantChange[] {
  const bc = new Map(b.constants.map((c) => [c.name, c]));
  const ac = new Set(a.constants.map((c) => c.name));
  const out: ConstantChange[] = [];
  for (const c of a.constants) {
    const d = bc.get(c.name);
    if (!d) out.push({ name: c.name, kind: 'removed', before: printConstant(c) });
    else if (constantChanged(c, d)) out.push({ name: c.name, kind: 'changed', before: printConstant(c), after: printConstant(d) });
  }
  for (const c of b.constants) if (!ac.has(c.name)) out.push({ name: c.name, kind: 'added', after: printConstant(c) });
  return out;
}

function signatureChanged(a: Graph, b: Graph): boolean {
  return !sameList(a.outputs, b.outputs)
    || !sameList(a.inputs, b.inputs, (x, y) => x.name === y.name && sameType(x.type, y.type));
}

/** One sentence: "2 added, 5 removed, 1 changed, 40 unchanged nodes; 3 constants added". */
export function formatDiffSummary(d: GraphDiff): string {
  const c = d.counts;
  let s = `${c.added} added, ${c.removed} removed, ${c.changed} changed, ${c.unchanged} unchanged nodes`;
  const ck = { added: 0, removed: 0, changed: 0 };
  for (const x of d.constants) if (x.kind !== 'unchanged') ck[x.kind]++;
  const parts = (['added', 'removed', 'changed'] as const).filter((k) => ck[k]).map((k) => `${ck[k]} ${k}`);
  if (parts.length) s += `; constants ${parts.join(', ')}`;
  if (d.signatureChanged) s += '; signature changed';
  return s;
}

// ---------------------------------------------------------------------------------------------
// Line diff

/** One line of a line diff: kept (' '), removed ('-') or added ('+'). */
export interface DiffLine {
  readonly tag: ' ' | '-' | '+';
  readonly text: string;
}

/** The shortest edit script turning `a` into `b` (Myers), as a sequence of kept/removed/added lines. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const out: DiffLine[] = [];
  for (let k = 0; k < pre; k++) out.push({ tag: ' ', text: a[k] });
  out.push(...myers(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf)));
  for (let k = a.length - suf; k < a.length; k++) out.push({ tag: ' ', text: a[k] });
  return out;
}

function myers(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length, m = b.length;
  if (n === 0) return b.map((text) => ({ tag: '+' as const, text }));
  if (m === 0) return a.map((text) => ({ tag: '-' as const, text }));
  // intern lines so the inner loop compares integers
  const ids = new Map<string, number>();
  const intern = (s: string) => { let v = ids.get(s); if (v === undefined) ids.set(s, (v = ids.size)); return v; };
  const ai = Int32Array.from(a, intern), bi = Int32Array.from(b, intern);
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = []; // trace[d][k + d] = furthest x on diagonal k before round d
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice(max - d, max + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[max + k - 1] < v[max + k + 1]) ? v[max + k + 1] : v[max + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && ai[x] === bi[y]) { x++; y++; }
      v[max + k] = x;
      if (x >= n && y >= m) { found = d; break; }
    }
  }
  // walk back through the rounds
  const rev: DiffLine[] = [];
  let x = n, y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d]; // state before round d: diagonals -(d-1)..(d-1) live at offsets
    const at = (k: number) => prev[k + d];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const pk = down ? k + 1 : k - 1;
    const px = at(pk), py = px - pk;
    while (x > (down ? px : px + 1) && y > (down ? py + 1 : py)) { x--; y--; rev.push({ tag: ' ', text: a[x] }); }
    if (down) { y--; rev.push({ tag: '+', text: b[y] }); } else { x--; rev.push({ tag: '-', text: a[x] }); }
  }
  while (x > 0 && y > 0) { x--; y--; rev.push({ tag: ' ', text: a[x] }); }
  return rev.reverse();
}

// ---------------------------------------------------------------------------------------------
// Unified diff rendering

/** A hunk of a unified diff: 1-based start lines and lengths in each file, and its lines. */
export interface Hunk {
  readonly aStart: number;
  readonly aLength: number;
  readonly bStart: number;
  readonly bLength: number;
  readonly lines: readonly DiffLine[];
}

/** Options of the text diff renderers. */
export interface FormatDiffOptions {
  /** Unchanged lines shown around each change (default 3; Infinity shows the whole graph). */
  readonly context?: number;
  /** File labels for the `---` and `+++` lines (default `a/<graph name>`, `b/<graph name>`). */
  readonly labels?: readonly [string, string];
}

/** Groups a line diff into hunks with `context` lines of context. */
export function hunks(lines: readonly DiffLine[], context = 3): Hunk[] {
  const changed: number[] = [];
  lines.forEach((l, k) => { if (l.tag !== ' ') changed.push(k); });
  const out: Hunk[] = [];
  // line numbers before each diff line
  const aAt: number[] = [], bAt: number[] = [];
  let an = 0, bn = 0;
  for (const l of lines) { aAt.push(an); bAt.push(bn); if (l.tag !== '+') an++; if (l.tag !== '-') bn++; }
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k] - context);
    let end = changed[k];
    while (k + 1 < changed.length && changed[k + 1] - end <= 2 * context + 1) end = changed[++k];
    k++;
    const stop = Math.min(lines.length, end + context + 1);
    const body = lines.slice(start, stop);
    const aLength = body.filter((l) => l.tag !== '+').length, bLength = body.filter((l) => l.tag !== '-').length;
    out.push({ aStart: aAt[start] + (aLength ? 1 : 0), aLength, bStart: bAt[start] + (bLength ? 1 : 0), bLength, lines: body });
  }
  return out;
}

/**
 * A line diff of two printed versions of one node (`printNode`: the node line and its nested regions)
 * as `@@` hunks with `context` lines around each change, for a change inside a region.
 */
export function formatNodeDiff(before: string, after: string, context = 2): string {
  const out: string[] = [];
  for (const h of hunks(diffLines(before.split('\n'), after.split('\n')), context)) {
    out.push(`@@ -${h.aStart},${h.aLength} +${h.bStart},${h.bLength} @@`, ...h.lines.map((l) => l.tag + l.text));
  }
  return out.join('\n');
}

type Piece = { kind: 'file' | 'hunk' | 'ctx' | 'del' | 'add'; text: string };

function pieces(d: GraphDiff, opts: FormatDiffOptions): Piece[] {
  const [la, lb] = opts.labels ?? [`a/${d.a.name}`, `b/${d.b.name}`];
  const split = (g: Graph) => printGraph(g).replace(/\n$/, '').split('\n');
  const lines = diffLines(split(d.a), split(d.b));
  const out: Piece[] = [{ kind: 'file', text: `--- ${la}` }, { kind: 'file', text: `+++ ${lb}` }];
  for (const h of hunks(lines, opts.context ?? 3)) {
    out.push({ kind: 'hunk', text: `@@ -${h.aStart},${h.aLength} +${h.bStart},${h.bLength} @@` });
    for (const l of h.lines) out.push({ kind: l.tag === ' ' ? 'ctx' : l.tag === '-' ? 'del' : 'add', text: l.tag + l.text });
  }
  return out;
}

/** The unified text diff of the two printed graphs ('' when they print the same). */
export function formatDiff(d: GraphDiff, opts: FormatDiffOptions = {}): string {
  const p = pieces(d, opts);
  return p.length > 2 ? p.map((x) => x.text).join('\n') + '\n' : '';
}

const ANSI: Record<Piece['kind'], string> = { file: '\x1b[1m', hunk: '\x1b[36m', ctx: '', del: '\x1b[31m', add: '\x1b[32m' };

/** The unified diff coloured for terminals: removed lines red, added green, hunk headers cyan. */
export function formatDiffAnsi(d: GraphDiff, opts: FormatDiffOptions = {}): string {
  const p = pieces(d, opts);
  if (p.length <= 2) return '';
  return p.map((x) => (ANSI[x.kind] ? `${ANSI[x.kind]}${x.text}\x1b[0m` : x.text)).join('\n') + '\n';
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The unified diff as HTML: `<pre class="kiln-diff">` with one `<span>` per line, classed
 * `kiln-diff-file`, `kiln-diff-hunk`, `kiln-diff-ctx`, `kiln-diff-del` or `kiln-diff-add`.
 */
export function formatDiffHTML(d: GraphDiff, opts: FormatDiffOptions = {}): string {
  const p = pieces(d, opts);
  const body = p.length > 2
    ? p.map((x) => `<span class="kiln-diff-${x.kind}">${escapeHTML(x.text)}</span>`).join('\n')
    : '<span class="kiln-diff-same">(no changes)</span>';
  return `<pre class="kiln-diff">${body}</pre>`;
}
