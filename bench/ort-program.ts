/**
 * onnxruntime-node as a kiln Program (compiler/runtime/backend.ts), so the bench times it with the
 * same loop as every kiln backend (compiler/runtime/timings.ts `timeProgram`) instead of a copy.
 *
 * The session is created on the exported ONNX bytes with `intraOpNumThreads` = the thread count asked
 * for, `interOpNumThreads` 1 and sequential execution (one operator at a time, like kiln), and graph
 * optimization `all` (onnxruntime's best: fusions, layout changes) or `disabled` (its kernels on the
 * graph as written). `prepareMs` is the session creation (its own graph optimization and weight
 * packing). A run wraps kiln tensors as onnxruntime tensors over the same memory and the outputs back
 * as kiln tensors (in `outputs` order).
 */
import { createRequire } from 'node:module';
import { expectTensors } from '../compiler/ir/value.ts';
import { Tensor } from '../compiler/ir/tensor.ts';
import type { DType } from '../compiler/ir/dtype.ts';
import type { Program } from '../compiler/runtime/backend.ts';

/** onnxruntime's graph optimization levels the bench compares. */
export type OrtOptimization = 'all' | 'disabled';
export const ORT_OPTIMIZATIONS: readonly OrtOptimization[] = ['all', 'disabled'];

/** How the onnxruntime session is made. */
export interface OrtOptions {
  /** intraOpNumThreads. */
  readonly threads: number;
  readonly optimization: OrtOptimization;
}

// onnxruntime-node is a dev dependency loaded only here (the bench), through require (it is CommonJS)
const ort = createRequire(import.meta.url)('onnxruntime-node');

const ORT_TYPES: Record<string, string> = { f32: 'float32', i64: 'int64', i32: 'int32', f64: 'float64', bool: 'bool', u8: 'uint8', i8: 'int8' };
const KILN_TYPES: Record<string, DType> = Object.fromEntries(Object.entries(ORT_TYPES).map(([k, v]) => [v, k as DType]));

function toOrt(t: Tensor): unknown {
  const type = ORT_TYPES[t.dtype];
  if (!type) throw new Error(`the bench cannot pass a ${t.dtype} tensor to onnxruntime (types: ${Object.keys(ORT_TYPES).join(', ')})`);
  return new ort.Tensor(type, t.data, [...t.shape]);
}

/** The onnxruntime-node version the bench runs against. */
export function ortVersion(): string {
  return String(ort.env?.versions?.common ?? createRequire(import.meta.url)('onnxruntime-node/package.json').version);
}

/** A Program running `bytes` (an ONNX model) on onnxruntime-node with `opts`; `outputs` in graph order. */
export async function ortProgram(bytes: Uint8Array, outputs: readonly string[], opts: OrtOptions): Promise<Program> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: opts.optimization,
  });
  return {
    backend: `ort-${opts.optimization}`, prepareMs: performance.now() - t0, artifacts: [],
    async run(inputs) {
      const got = await session.run(Object.fromEntries(expectTensors([...inputs.values()], [...inputs.keys()]).map((t, k) => [[...inputs.keys()][k], toOrt(t)])));
      return outputs.map((name) => {
        const o = got[name];
        if (!o) throw new Error(`onnxruntime returned no output '${name}'`);
        return new Tensor(KILN_TYPES[o.type], o.dims, o.data);
      });
    },
    dispose: async () => { await session.release?.(); },
  };
}
