/**
 * The zoo models' CUDA in f16 and bf16 (mixed precision, tensor cores) compiled by nvcc for sm_80 and
 * sm_90: the checks of cuda-zoo-compile.ts. f32 and tf32 are in cuda-compile.test.ts, split so that
 * test/run.ts can run the two halves of the nvcc work in different processes. Without nvcc the tests
 * say they were skipped and why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import { findNvcc } from '../../compiler/runtime/cuda/nvcc.ts';
import { cudaZooTests } from './cuda-zoo-compile.ts';

const nvcc = findNvcc();
if (!nvcc) console.log('cuda-compile-f16.test.ts: no nvcc found (KILN_NVCC, PATH, CUDA_HOME, /usr/local/cuda): skipping the CUDA compile checks');
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cuda-f16-'));
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

cudaZooTests(['f16', 'bf16'], { nvcc, cacheDir: cache });

test.run();
