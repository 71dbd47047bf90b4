/**
 * `.kir` files with their weights: the IR text plus a safetensors sidecar, so that a `.kir` runs
 * anywhere a model path is accepted.
 *
 * Writing (`kirFiles`, `writeKir`): each graph prints as its canonical text (`printGraph`) under a
 * weights link line, `kiln.weights "<sidecar>" sha256 #<64 hex>` (print.ts), naming the sidecar by its
 * path relative to that .kir's folder and by the sidecar's sha256. One sidecar serves every graph given:
 * it holds each tensor some graph prints by hash (constants with data and tensor attributes, regions
 * included), once, named by its full content hash (`Constant.hash`, `hashOf`). Tensors safetensors cannot
 * hold (strings, sub-byte ints, float4, the fnuz float8 types; `safetensorsHolds`) are printed inline in
 * the text instead, whatever their size, so they round-trip too; only then does a .kir's graph text
 * differ from `printGraph(graph)` (the parsed graph still prints canonically).
 *
 * Reading (`readKirFile`): the .kir is parsed; when it has a weights link, the sidecar is read once,
 * its sha256 computed over those same bytes and compared with the link, decoded (safetensors.ts, strict)
 * and handed to the parser, which then requires every hash of the text to be in it and to agree in dtype
 * and shape. Each failure is a KilnError naming the .kir and the sidecar. A .kir without a link parses
 * as before (inline constants; a constant named by hash has no data, which running it reports).
 */
import path from 'node:path';
import { KilnError, withPlace } from '../errors.ts';
import { type NamedFile, readRegularFile, sha256Hex, writeFilesAtomic } from '../files.ts';
import { type Graph, regionsOf } from './graph.ts';
import { parseGraph } from './parse.ts';
import { printGraph, printWeightsLink } from './print.ts';
import { decodeSafetensors, encodeSafetensors, safetensorsHolds } from './safetensors.ts';
import type { Tensor } from './tensor.ts';
import { hashOf, printsInline } from './weights.ts';

/** One graph to write as a .kir: its path relative to the output root. */
export interface KirEntry {
  readonly path: string;
  readonly graph: Graph;
}

/** A tensor the text names by hash, unless safetensors cannot hold it (then it prints inline). */
const byHash = (t: Tensor): boolean => !printsInline(t.size) && safetensorsHolds(t.dtype);
const inline = (t: Tensor): boolean => !safetensorsHolds(t.dtype);

/** Adds every tensor `graph` prints by hash to `into`; a constant without data is an error naming it. */
function collect(graph: Graph, file: string, into: Map<string, Tensor>): void {
  for (const c of graph.constants) {
    if (!c.data) {
      throw new KilnError(`constant '%${c.name}' has no data (its IR was parsed without its weights), so it cannot be written to a weights file`, { file });
    }
    if (byHash(c.data)) into.set(c.hash.length === 64 ? c.hash : hashOf(c.data), c.data);
  }
  for (const n of graph.nodes) {
    for (const a of Object.values(n.attrs)) if (a.kind === 'tensor' && byHash(a.value)) into.set(hashOf(a.value), a.value);
    for (const [, g] of regionsOf(n)) collect(g, file, into);
  }
}

/** The files of `kirFiles` with the sidecar's tensor count and size. */
export interface KirFileSet {
  readonly files: NamedFile[];
  readonly tensors: number;
  readonly sidecarBytes: number;
}

/** `kirFiles` with what the sidecar holds. */
export function kirFileSet(entries: readonly KirEntry[], sidecarPath: string): KirFileSet {
  const tensors = new Map<string, Tensor>();
  for (const e of entries) collect(e.graph, e.path, tensors);
  const sidecar = encodeSafetensors(tensors, { format: 'kiln' });
  const sha256 = sha256Hex(sidecar);
  const files: NamedFile[] = entries.map((e) => {
    const link = { path: path.posix.relative(path.posix.dirname(e.path), sidecarPath), sha256 };
    return [e.path, printWeightsLink(link) + printGraph(e.graph, { inline })];
  });
  files.push([sidecarPath, sidecar]);
  return { files, tensors: tensors.size, sidecarBytes: sidecar.length };
}

/**
 * The text of each .kir (with its weights link to the sidecar) and ONE safetensors sidecar holding every
 * tensor any of the graphs prints by hash. Paths are relative to an output root, `/`-separated, as
 * `writeFilesAtomic` takes them; the sidecar is the last file.
 */
export function kirFiles(entries: readonly KirEntry[], sidecarPath: string): NamedFile[] {
  return kirFileSet(entries, sidecarPath).files;
}

/**
 * Writes `graph` to `kirPath` and its sidecar to `sidecarPath` (default: the .kir's path with the
 * extension `.safetensors`), both at once (`writeFilesAtomic` in their nearest common folder).
 */
export function writeKir(kirPath: string, graph: Graph, sidecarPath?: string): KirFileSet & { sidecarPath: string } {
  const given = sidecarPath ?? kirPath.replace(/\.kir$/i, '') + '.safetensors';
  const kir = path.resolve(kirPath);
  const side = path.resolve(given);
  if (side === kir) throw new KilnError('the weights file and the .kir are the same file', { file: kirPath });
  let root = path.dirname(kir);
  while (root !== path.dirname(root) && path.relative(root, side).startsWith('..')) root = path.dirname(root);
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const set = kirFileSet([{ path: rel(kir), graph }], rel(side));
  writeFilesAtomic(root, set.files, { what: '.kir and its weights' });
  return { ...set, sidecarPath: given };
}

/** Reads, hash-checks and decodes the sidecar a .kir links to. */
function readSidecar(kirPath: string, link: { path: string; sha256: string }): ReadonlyMap<string, Tensor> {
  if (path.isAbsolute(link.path)) {
    throw new KilnError(`its weights file '${link.path}' (kiln.weights) must be a path relative to the .kir's folder`, { file: kirPath });
  }
  const file = path.join(path.dirname(kirPath), link.path);
  let bytes: Buffer;
  try {
    bytes = readRegularFile(file, 'weights file');
  } catch (e) {
    const reason = e instanceof KilnError ? e.reason : String(e);
    const where = path.dirname(link.path) === '.' ? 'next to the .kir' : `to ${file}`;
    const hint = /no such file/.test(reason) ? `; it was written by \`kiln ir MODEL --out FILE.kir\`; copy it ${where}` : '';
    throw new KilnError(`${reason} (the weights of ${kirPath}, named by its kiln.weights line)${hint}`, { file });
  }
  const actual = sha256Hex(bytes);
  if (actual !== link.sha256) {
    throw new KilnError(`weights file does not match ${kirPath}: its sha256 is ${actual} but the .kir expects ${link.sha256} `
      + '(the file was changed, or belongs to another .kir)', { file });
  }
  try {
    return decodeSafetensors(bytes, file).tensors;
  } catch (e) {
    throw e instanceof KilnError ? withPlace(e, {}, `weights of ${kirPath}: `) : e;
  }
}

/** Parses a .kir file; with a weights link, its sidecar's tensors restore what the text names by hash. */
export function readKirFile(kirPath: string): Graph {
  const text = readRegularFile(kirPath, 'model').toString('utf8');
  return parseGraph(text, { file: kirPath, linkWeights: (link) => readSidecar(kirPath, link) });
}
