/**
 * Loading a model from whatever the user names: `zoo:NAME` (a built-in model with seeded weights),
 * an `.onnx` file (imported and converted to kiln's newest-opset IR) or a `.kir` file (kiln's IR
 * text; large constants are named by hash and read from the safetensors sidecar its `kiln.weights`
 * line names, see ir/kir-file.ts; a .kir without that line has only its inline data). A `.kir` graph must pass both verifiers (structural and op-aware, as after
 * every pass); the first failure is a KilnError naming the file, node, op and rule. The choice is
 * made by the `zoo:` prefix, else by file extension. `shapes` and `dims` bind symbolic input dims to
 * sizes (ops/bind-shapes.ts) and re-infer every type at that size.
 */
import path from 'node:path';
import type { Graph } from './ir/graph.ts';
import { KilnError, withPlace } from './errors.ts';
import { isZooRef, zooModel, type ZooOptions } from './zoo/index.ts';
import { loadOnnxFile } from './import/onnx/import.ts';
import { readKirFile } from './ir/kir-file.ts';
import { bindShapes, type ShapeBindings } from './ops/bind-shapes.ts';
import { verifyAll } from './ops/verify-types.ts';

/** Options of `loadModel`. */
export interface LoadOptions extends ShapeBindings {
  /** Options for zoo models (seed, batch). */
  zoo?: ZooOptions;
}

/** Loads `zoo:NAME`, a `.onnx` file or a `.kir` file as a Graph, with `shapes`/`dims` bound. */
export function loadModel(ref: string, opts: LoadOptions = {}): Graph {
  const graph = loadUnbound(ref, opts);
  return bindShapes(graph, opts, isZooRef(ref) ? {} : { file: ref });
}

function loadUnbound(ref: string, opts: LoadOptions): Graph {
  if (isZooRef(ref)) return zooModel(ref, opts.zoo);
  const ext = path.extname(ref).toLowerCase();
  if (ext === '.onnx') return loadOnnxFile(ref);
  if (ext === '.kir') {
    const graph = readKirFile(ref);
    try {
      verifyAll(graph);
    } catch (e) {
      throw e instanceof KilnError ? withPlace(e, { file: ref }) : e;
    }
    return graph;
  }
  throw new KilnError(`cannot tell the model format from '${ref}': expected a .onnx or .kir file, or zoo:NAME (see \`kiln zoo list\`)`);
}
