/**
 * The arithmetic math helpers of the C descriptor (compiler/codegen/lang/c.ts: `kiln_expf`) against the
 * exact function, over a dense sweep of f32 inputs: every 4096th f32 bit pattern (about a million
 * values, both signs, from the subnormals to NaN) plus the edges of the range (overflow to inf,
 * underflow to 0, ±0, ±inf, NaN). Each result must be within the scalar-op table's f32 tolerance
 * (TOLERANCES) of the exact value rounded to f32, within 2 ulps of it where that is a normal float,
 * and equal to it where it is inf, 0 or NaN. Compiled with the flags the cpu backend uses (-O3
 * -march=native: FMA contraction, vectorised loop), so the tested code is the code that runs. Skipped
 * without cc.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { C } from '../../compiler/codegen/lang/c.ts';
import { withinTolerance } from '../../compiler/ops/scalar-ops.ts';
import { haveCC } from './cc.ts';

const STEP = 4096;
const EDGES = [0, -0, 1, -1, 88.72283, 88.72284, 88.7229, 89, 89.5, 1e30, -87.33654, -87.34, -100, -103.9, -103.98, -104, -105, -1e30,
  Infinity, -Infinity, NaN, 1e-30, -1e-30, 0.5 * Math.LN2, -0.5 * Math.LN2];

/** Distance in f32 ulps between two finite f32 values of one sign. */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0] - bits[1]);
}

function runC(fn: string, inputs: Float32Array): Float32Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-math-c-'));
  try {
    const file = path.join(dir, 'math.c'), exe = path.join(dir, 'math'), data = path.join(dir, 'in.bin'), out = path.join(dir, 'out.bin');
    fs.writeFileSync(data, inputs);
    const src = [...C.fileHeader({ name: 'math', buffers: [], kernels: [], calls: [] }), '#include <stdio.h>', '#include <stdlib.h>',
      'static void apply(const float *restrict x, float *restrict y, long n) { for (long i = 0; i < n; i++) y[i] = ' + fn + '(x[i]); }',
      'int main(int argc, char **argv) {',
      '  long n = atol(argv[1]); float *x = malloc(n * 4), *y = malloc(n * 4);',
      '  FILE *f = fopen(argv[2], "rb"); if (!f || fread(x, 4, n, f) != (size_t)n) return 2; fclose(f);',
      '  apply(x, y, n);',
      '  f = fopen(argv[3], "wb"); if (!f || fwrite(y, 4, n, f) != (size_t)n) return 3; fclose(f);',
      '  return 0;', '}', ''].join('\n');
    fs.writeFileSync(file, src);
    const cc = spawnSync('cc', ['-std=gnu11', '-O3', '-march=native', '-Wall', '-Werror', '-Wno-unused-function', '-o', exe, file, '-lm'], { encoding: 'utf8', timeout: 300_000 });
    if (cc.status !== 0) assert.unreachable(`cc failed:\n${cc.stderr.slice(0, 3000)}`);
    const run = spawnSync(exe, [String(inputs.length), data, out], { encoding: 'utf8' });
    if (run.status !== 0) assert.unreachable(`the test program failed (${run.status}): ${run.stderr} ${String(run.error ?? '')}`);
    const buf = fs.readFileSync(out);
    return new Float32Array(buf.buffer, buf.byteOffset, inputs.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('kiln_expf is within 2 ulps of exp over a dense f32 sweep, exact at inf, 0 and NaN', () => {
  if (!haveCC()) { console.log('  (skipped: no cc)'); return; }
  const bits = new Uint32Array(2 ** 32 / STEP + EDGES.length);
  for (let i = 0; i < 2 ** 32 / STEP; i++) bits[i] = i * STEP + (i % 7); // the low bits vary too
  const x = new Float32Array(bits.buffer);
  x.set(EDGES, 2 ** 32 / STEP);
  const got = runC('kiln_expf', x);
  const bad: string[] = [];
  let worst = 0, normal = 0;
  for (let i = 0; i < x.length; i++) {
    const want = Math.fround(Math.exp(x[i]));
    const ok = withinTolerance('f32', got[i], want) && (Number.isFinite(want) && want !== 0 ? true : Object.is(got[i], want) || (Number.isNaN(want) && Number.isNaN(got[i])));
    if (want >= 2 ** -126 && Number.isFinite(want)) { normal++; worst = Math.max(worst, ulps(got[i], want)); }
    if (!ok && bad.length < 10) bad.push(`exp(${x[i]}): C ${got[i]}, exact ${want}`);
  }
  assert.equal(bad, []);
  assert.ok(normal > 100_000, `only ${normal} normal results`);
  assert.ok(worst <= 2, `max error ${worst} ulps`);
});

test.run();
