/**
 * Paths tests share. The ONNX conformance cases live outside the repository, in the shared folder
 * beside the checkout (`<repo>/../shared/onnx-conformance/node`, as laid out for developers and CI);
 * KILN_CONFORMANCE_DIR overrides it. Tests that need them fail loudly when they are missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of ONNX node test cases (one sub-folder per case). Throws if it is not there. */
export function conformanceDir(): string {
  const dir = process.env.KILN_CONFORMANCE_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'onnx-conformance', 'node');
  if (!fs.existsSync(dir)) throw new Error(`ONNX conformance cases not found at ${dir} (set KILN_CONFORMANCE_DIR)`);
  return dir;
}

/**
 * The second folder of ONNX node test cases (`node-ext`: control flow, sequences, quantization,
 * attention, RNNs and the other ops), beside `node`; KILN_CONFORMANCE_EXT_DIR overrides it.
 */
export function conformanceExtDir(): string {
  const dir = process.env.KILN_CONFORMANCE_EXT_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'onnx-conformance', 'node-ext');
  if (!fs.existsSync(dir)) throw new Error(`ONNX conformance cases (node-ext) not found at ${dir} (set KILN_CONFORMANCE_EXT_DIR)`);
  return dir;
}

/** One conformance case's folder. */
export function conformanceCase(name: string): string {
  return path.join(conformanceDir(), name);
}
