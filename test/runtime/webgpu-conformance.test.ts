/**
 * The whole ONNX node-test set on the webgpu backend (lavapipe in CI): at least 97% must pass, the only
 * failures are the reference backend's known ones (training-mode Dropout draws a random mask), and
 * at least 80% of the cases run fully compiled. A node runs on the host only when WGSL cannot hold its
 * dtypes (f64, bf16, float8, sub-byte integers, strings) or it does not lower at all (the cpu backend's
 * gaps): every fallback case is checked against that list of reasons by recompiling its graph.
 * Skipped, saying why, without a WebGPU adapter.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conformanceDir } from '../support/paths.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { bindInputs } from '../../compiler/runtime/inputs.ts';
import { webgpuDevice } from '../../compiler/runtime/webgpu/device.ts';
import { compileWebgpu } from '../../compiler/runtime/webgpu/compile.ts';
import '../../compiler/runtime/backends.ts';

const opened = await webgpuDevice();
if (!opened.ok) console.log(`webgpu-conformance.test.ts: skipping: ${opened.reason}`);
const withGpu = opened.ok ? test : test.skip;

const KNOWN_FAILURES: Record<string, RegExp> = {
  test_training_dropout: /training mode/,
  test_training_dropout_default: /training mode/,
  test_training_dropout_default_mask: /training mode/,
  test_training_dropout_mask: /training mode/,
};

/** Why a node may run on the host inside a webgpu program. */
const FALLBACK_REASONS = /WGSL has no (f64|bf16|f8\w*|f4\w*|[iu][24])|kernels do not compute on|known only at run time|does not lower dtype|is not lowered|training mode/;

withGpu('webgpu backend passes the ONNX conformance set on its adapter', async () => {
  const dir = conformanceDir();
  const report = await runConformance(dir, { backend: 'webgpu' });
  assert.is(report.backend, 'webgpu');
  const total = report.results.length;
  assert.ok(total >= 740, `found only ${total} cases`);
  const unexpected = report.results
    .filter((r) => r.status === 'fail' && !(KNOWN_FAILURES[r.name]?.test(r.reason ?? '')))
    .map((r) => `${r.name}: ${r.reason}`);
  assert.equal(unexpected, [], `unexpected failures:\n${unexpected.join('\n')}`);
  assert.ok(report.passed / total >= 0.97, `pass rate ${report.passed}/${total}`);
  assert.ok(report.compiled && report.compiled.fully / total >= 0.8, `fully compiled: ${report.compiled?.fully}/${total}`);
  // every fallback for a reason the backend documents
  const gpu = opened.ok ? opened.gpu : undefined;
  const target = { f16: gpu!.f16, maxStorageBuffersPerShaderStage: gpu!.info.limits.maxStorageBuffersPerShaderStage, maxStorageBufferBindingSize: gpu!.info.limits.maxStorageBufferBindingSize };
  const odd: string[] = [];
  for (const r of report.results.filter((x) => x.fallback?.length)) {
    const caseDir = path.join(dir, r.name);
    const graph = loadOnnxFile(path.join(caseDir, 'model.onnx'));
    const set = fs.readdirSync(caseDir).filter((f) => f.startsWith('test_data_set_')).sort()[0];
    const bound = bindInputs(graph, { dir: path.join(caseDir, set) }).graph;
    for (const f of compileWebgpu(bound, { target }).fallbacks) if (!FALLBACK_REASONS.test(f.reason)) odd.push(`${r.name}: ${f.op}: ${f.reason}`);
  }
  assert.equal(odd, [], `fallbacks for other reasons:\n${odd.join('\n')}`);
});

test.run();
