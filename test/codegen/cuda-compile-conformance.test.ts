/**
 * Every kernel of the ONNX conformance cases (the first set, `node/`), rendered as CUDA and compiled by
 * nvcc as one translation unit for sm_80 and sm_90 (compiler/runtime/cuda/nvcc.ts): ptxas reports every
 * kernel, none over the architecture's 48 KiB of static shared memory; a node without a CUDA kernel is
 * listed with a known reason (a dtype the CUDA target has no form for yet, a value known only at run
 * time, ...), and at least 80% of the cases compile with every node. The zoo models' CUDA is checked in
 * cuda-compile.test.ts (split from it so test/run.ts can run both halves in different processes).
 * Without nvcc the test says it was skipped and why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import { type RenderedKernel, compileCudaSource, cudaUnit } from '../../compiler/runtime/cuda/compile.ts';
import { conformanceDir } from '../support/paths.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { bindInputs } from '../../compiler/runtime/inputs.ts';
import { compileCuda, findNvcc } from '../../compiler/runtime/cuda/nvcc.ts';

const nvcc = findNvcc();
if (!nvcc) console.log('cuda-compile-conformance.test.ts: no nvcc found (KILN_NVCC, PATH, CUDA_HOME, /usr/local/cuda): skipping the CUDA compile check');
const withNvcc = nvcc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cuda-conf-'));
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

const ARCHS = ['sm_80', 'sm_90'];
/** Static shared memory per block on sm_80 and sm_90 without the dynamic opt-in. */
const STATIC_SHARED_LIMIT = 48 * 1024;

/** Why a conformance case's node may have no CUDA kernel (it then runs on the host). */
const FALLBACK_REASONS = /the CUDA target has no (bf16|f8\w*|f4\w*|[iu][24]|str) yet|kernels do not compute on|known only at run time|does not lower dtype|is not lowered|training mode/;

withNvcc('every kernel of the ONNX conformance cases compiles for sm_80 and sm_90 (one unit); nodes without one are listed for a known reason', () => {
  const dir = conformanceDir();
  const cases = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx'))).sort();
  assert.ok(cases.length >= 740, `found only ${cases.length} cases`);
  const kernels: RenderedKernel[] = [];
  const odd: string[] = [];
  let compiled = 0;
  cases.forEach((name, i) => {
    const caseDir = path.join(dir, name);
    const set = fs.readdirSync(caseDir).filter((f) => f.startsWith('test_data_set_')).sort()[0];
    let graph;
    try {
      graph = bindInputs(loadOnnxFile(path.join(caseDir, 'model.onnx')), { dir: path.join(caseDir, set) }).graph;
    } catch {
      return; // a case kiln does not import (the conformance runner reports it)
    }
    const c = compileCudaSource(graph, { prefix: `c${i}_` });
    for (const f of c.fallbacks) if (!FALLBACK_REASONS.test(f.reason)) odd.push(`${name}: ${f.op}: ${f.reason}`);
    if (c.launches.length && !c.fallbacks.length) compiled++;
    kernels.push(...c.kernels);
  });
  assert.equal(odd, [], `kernels refused for other reasons:\n${odd.join('\n')}`);
  assert.ok(compiled / cases.length >= 0.8, `fully compiled cases: ${compiled}/${cases.length}`);
  const source = cudaUnit('conformance', kernels);
  console.log(`cuda-compile-conformance.test.ts: ${kernels.length} kernels from ${cases.length} conformance cases (${compiled} with every node compiled)`);
  for (const arch of ARCHS) {
    const bin = compileCuda(source, arch, { nvcc, cacheDir: cache, name: 'conformance', ptx: false });
    assert.is(bin.resources.length, kernels.length, `${arch}: ptxas reported every kernel`);
    for (const r of bin.resources) assert.ok(r.sharedBytes <= STATIC_SHARED_LIMIT, `${arch}: ${r.kernel} uses ${r.sharedBytes} bytes of shared memory`);
  }
});

test.run();
