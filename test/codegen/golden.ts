/**
 * The golden-test format for kernel lowering (`test/codegen/*.kir`): the pass golden format
 * (test/passes/golden.ts: `// RUN:`, `// -----` cases, one kiln.graph each) with RUN naming the
 * stages: `// RUN: lower` lowers the graph as written, `// RUN: <pipeline> | lower` runs a pass
 * pipeline first (e.g. `fuse-elementwise | lower`); `lower(vectorBits=256)` lowers for a target with
 * vectors of that width (the templates: gemm.kir), plain `lower` for none; `lower(gpu)` lowers for
 * the GPU target and maps every kernel to GPU launches (codegen/gpu/map.ts: gpu-map.kir), CHECK lines
 * then read the GPU kernels and SOURCE lines their WGSL (the webgpu compiler, for an adapter with
 * shader-f16); the WGSL itself is compiled by Dawn in test/runtime/webgpu*.test.ts. `lower(cuda)`
 * (`lower(cuda,tf32)`: f32 products may use tf32) lowers for the CUDA target of sm_80 with its tensor
 * cores (runtime/cuda/compile.ts: cuda-mma.kir); CHECK lines read its GPU kernels, SOURCE lines the
 * CUDA unit (compiled by nvcc in cuda-compile.test.ts).
 *
 * Each case lowers its graph (compiler/codegen/lower) and checks:
 *   - `CHECK` lines against the printed kernel IR program (compiler/codegen/print.ts);
 *   - `SOURCE` lines against the rendered C (render.ts + lang/c.ts);
 *   - `UNSUPPORTED` lines against the unsupported list, one line `%<node> <op>: <reason>` each; a case
 *     without UNSUPPORTED lines must lower completely;
 *   - the rendered C compiles with `cc -c` (test/codegen/cc.ts; skipped without a compiler).
 */
import '../../compiler/passes/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import { printKernel, printProgram } from '../../compiler/codegen/print.ts';
import { DEFAULT_WEBGPU_TARGET, compileWebgpu, wgslText } from '../../compiler/runtime/webgpu/compile.ts';
import { compileCudaSource } from '../../compiler/runtime/cuda/compile.ts';
import { renderProgram } from '../../compiler/codegen/render.ts';
import { C } from '../../compiler/codegen/lang/c.ts';
import { FileCheckError, fileCheck, parseChecks } from '../filecheck.ts';
import { type GoldenCase, goldenCases as passCases } from '../passes/golden.ts';
import { compileC } from './cc.ts';

export type { GoldenCase };

/** The cases of every `.kir` file of `dir`. */
export function goldenCases(dir: string): GoldenCase[] {
  return passCases(dir);
}

/** What a RUN line asks for: the pass pipeline before lowering ('' for none), the target's vector bits (0: none), a GPU target. */
export interface RunStages {
  readonly pipeline: string;
  readonly vectorBits: number;
  readonly gpu: boolean;
  /** The CUDA target (tf32: f32 products may use tf32 tensor cores). */
  readonly cuda?: { readonly tf32: boolean };
}

/** Splits a RUN text into its stages (module header). */
export function runStages(run: string, where: string): RunStages {
  const parts = run.split('|').map((s) => s.trim());
  const m = /^lower(?:\((?:vectorBits=(\d+)|(gpu)|(cuda)(,tf32)?)\))?$/.exec(parts[parts.length - 1]);
  if (!m || parts.length > 2) throw new Error(`${where}: RUN must be 'lower', 'lower(vectorBits=N)', 'lower(gpu)', 'lower(cuda)', 'lower(cuda,tf32)' or '<pipeline> | lower', got '${run}'`);
  return {
    pipeline: parts.length === 2 ? parts[0] : '', vectorBits: m[1] ? Number(m[1]) : 0, gpu: m[2] === 'gpu' || m[3] === 'cuda',
    ...(m[3] ? { cuda: { tf32: m[4] !== undefined } } : {}),
  };
}

/** Runs one case; throws an Error naming file and line when it fails. */
export function runCodegenCase(c: GoldenCase): void {
  const where = `${c.file}:${c.line}: ${c.name}`;
  const { pipeline, vectorBits, gpu, cuda } = runStages(c.pipeline, where);
  let graph = parseGraph(c.text, { file: c.file });
  if (pipeline) {
    const results = new PassManager({ target: c.target, verify: true, numericCheck: false }).run(graph, pipeline);
    if (results.length) graph = results[results.length - 1].graph;
  }
  const compiled = cuda ? (() => { const x = compileCudaSource(graph, { tf32: cuda.tf32 }); return { program: x.program, fallbacks: x.fallbacks, kernels: x.launches.map((l) => l.kernel), source: x.source }; })()
    : gpu ? (() => { const x = compileWebgpu(graph, { target: { ...DEFAULT_WEBGPU_TARGET, f16: true } }); return { program: x.program, fallbacks: x.fallbacks, kernels: x.dispatches.map((d) => d.kernel), source: wgslText(x) }; })()
      : undefined;
  const { program, unsupported } = compiled ? { program: compiled.program, unsupported: compiled.fallbacks } : lowerGraph(graph, { target: { vectorBits } });
  const printed = compiled ? compiled.kernels.map((k) => printKernel(k)).join('\n') : printProgram(program);
  const source = compiled ? compiled.source : renderProgram(C, program);
  const unsupportedText = unsupported.map((u) => `%${u.node} ${u.op}: ${u.reason}`).join('\n') + '\n';
  let checked = false;
  const check = (prefix: string, input: string, what: string) => {
    if (!parseChecks(c.text, prefix, c.file).length) return false;
    checked = true;
    try {
      fileCheck(c.text, input, { prefix, checkFile: c.file, inputName: `<${what} of ${c.name}>` });
    } catch (e) {
      if (e instanceof FileCheckError) throw new FileCheckError(`${e.message}\n\nfull ${what} of ${c.name}:\n${input}`);
      throw e;
    }
    return true;
  };
  check('CHECK', printed, 'kernel IR');
  check('SOURCE', source, cuda ? 'CUDA' : gpu ? 'WGSL' : 'C source');
  if (!check('UNSUPPORTED', unsupportedText, 'unsupported list') && unsupported.length) {
    throw new Error(`${where}: did not lower completely:\n${unsupportedText}`);
  }
  if (!checked) throw new Error(`${where}: the case checks nothing (add CHECK, SOURCE or UNSUPPORTED lines)`);
  if (gpu) return;
  const cc = compileC(source, c.name);
  if (cc && !cc.ok) throw new Error(`${where}: the rendered C does not compile:\n${cc.log}\n${source}`);
}
