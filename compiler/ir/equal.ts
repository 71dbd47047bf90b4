/**
 * Structural equality of graphs, for round-trip tests and for passes that want to know whether they
 * changed anything.
 *
 * Two graphs are equal when names, inputs, outputs, constants (name, type, hash, data presence and
 * data bits) and nodes (op, inputs, outputs, types, attributes with their kinds, loc) agree in order.
 * Floats compare with Object.is (so NaN equals NaN and -0 differs from 0); tensor data compares bit for
 * bit; regions (graph attributes) compare as graphs. `graphDiff` names the first difference, which makes a failing test say where.
 */
import type { AttrValue, Constant, Graph, Node, TensorType } from './graph.ts';
import type { Tensor } from './tensor.ts';

function typeDiff(a: TensorType, b: TensorType): boolean {
  return a.dtype !== b.dtype || a.container !== b.container || !a.unranked !== !b.unranked || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]);
}

function listDiff<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length !== b.length || a.some((x, i) => !same(x, b[i]));
}

/** True if two tensors have the same dtype, shape and storage bits. */
export function tensorsEqual(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || listDiff(a.shape, b.shape, (x, y) => x === y)) return false;
  const da = a.data, db = b.data;
  if (Array.isArray(da) || Array.isArray(db)) {
    return Array.isArray(da) && Array.isArray(db) && !listDiff(da, db, (x, y) => x === y);
  }
  if (da.constructor !== db.constructor || da.byteLength !== db.byteLength) return false;
  const ba = new Uint8Array(da.buffer, da.byteOffset, da.byteLength);
  const bb = new Uint8Array(db.buffer, db.byteOffset, db.byteLength);
  for (let i = 0; i < ba.length; i++) if (ba[i] !== bb[i]) return false;
  return true;
}

/** True if two attribute values have the same kind and value. */
export function attrsEqual(a: AttrValue, b: AttrValue): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tensor') return tensorsEqual(a.value, b.value as Tensor);
  if (a.kind === 'graph') return graphDiff(a.value, b.value as Graph) === undefined;
  if (Array.isArray(a.value)) return listDiff(a.value, b.value as unknown[], (x, y) => Object.is(x, y)) === false;
  return Object.is(a.value, b.value);
}

function constantDiff(a: Constant, b: Constant): string | undefined {
  if (a.name !== b.name) return `name '${a.name}' vs '${b.name}'`;
  if (typeDiff(a.type, b.type)) return 'type';
  if (a.hash !== b.hash) return `hash ${a.hash} vs ${b.hash}`;
  if (!a.data !== !b.data) return a.data ? 'data missing on the right' : 'data missing on the left';
  if (a.data && b.data && !tensorsEqual(a.data, b.data)) return 'data';
  return undefined;
}

function nodeDiff(a: Node, b: Node): string | undefined {
  if (a.op !== b.op) return `op ${a.op} vs ${b.op}`;
  if (listDiff(a.inputs, b.inputs, (x, y) => x === y)) return 'inputs';
  if (listDiff(a.outputs, b.outputs, (x, y) => x === y)) return 'outputs';
  if (listDiff(a.types, b.types, (x, y) => !typeDiff(x, y))) return 'types';
  if (listDiff(a.loc, b.loc, (x, y) => x === y)) return 'loc';
  const ka = Object.keys(a.attrs).sort(), kb = Object.keys(b.attrs).sort();
  if (listDiff(ka, kb, (x, y) => x === y)) return `attribute names [${ka}] vs [${kb}]`;
  for (const k of ka) if (!attrsEqual(a.attrs[k], b.attrs[k])) return `attribute '${k}'`;
  return undefined;
}

/** The first structural difference between two graphs, described; undefined when they are equal. */
export function graphDiff(a: Graph, b: Graph): string | undefined {
  if (a.name !== b.name) return `graph name '${a.name}' vs '${b.name}'`;
  if (listDiff(a.inputs, b.inputs, (x, y) => x.name === y.name && !typeDiff(x.type, y.type))) return 'graph inputs';
  if (listDiff(a.outputs, b.outputs, (x, y) => x === y)) return 'graph outputs';
  if (a.constants.length !== b.constants.length) return `constant count ${a.constants.length} vs ${b.constants.length}`;
  for (let i = 0; i < a.constants.length; i++) {
    const d = constantDiff(a.constants[i], b.constants[i]);
    if (d) return `constant '${a.constants[i].name}': ${d}`;
  }
  if (a.nodes.length !== b.nodes.length) return `node count ${a.nodes.length} vs ${b.nodes.length}`;
  for (let i = 0; i < a.nodes.length; i++) {
    const d = nodeDiff(a.nodes[i], b.nodes[i]);
    if (d) return `node ${i} ('${a.nodes[i].outputs[0]}'): ${d}`;
  }
  return undefined;
}

/** True if two graphs are structurally equal. */
export function graphsEqual(a: Graph, b: Graph): boolean {
  return graphDiff(a, b) === undefined;
}
