/**
 * The C descriptor's narrow-type helpers (compiler/codegen/lang/c-narrow.ts) against the reference
 * Cast (compiler/ops/cast.ts castTensor, saturate=1, round_mode=up): one C program decodes every code
 * of every float8/float4/bf16 format (printed as %a, exact) and encodes a list of doubles into every
 * narrow dtype (printed as the code); a child process runs it and each result must equal the reference
 * exactly. The doubles include every rounding threshold of the formats (ties), their neighbours one
 * ulp away, zeros of both signs, infinities, NaN, values past the largest finite one, subnormals, and
 * seeded random magnitudes over each format's range. Skipped without cc.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DType } from '../../compiler/ir/dtype.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { castTensor } from '../../compiler/ops/cast.ts';
import { C } from '../../compiler/codegen/lang/c.ts';
import { narrowHelpers } from '../../compiler/codegen/lang/c-narrow.ts';
import { haveCC } from './cc.ts';

const FLOATS: DType[] = ['bf16', 'f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz', 'f8e8m0', 'f4e2m1'];
const INTS: DType[] = ['i4', 'u4', 'i2', 'u2'];

/** The doubles every encoder is checked on. */
function probeValues(): number[] {
  const v = new Set<number>([0, -0, Infinity, -Infinity, 1, -1, 0.5, 1.5, 2.5, -2.5, 3.5, 7.5, 8, -8, 15.9, 16, -17.2, 1e-40, -1e-45, 2 ** -126, 1e38, 3.4e38, 1e300]);
  for (const d of FLOATS) {
    if (d === 'bf16') continue;
    const size = d === 'f4e2m1' ? 16 : 256;
    const decoded = Array.from({ length: size }, (_, c) => readNumbers(new Tensor(d, [1], Uint8Array.of(c)))[0]);
    const finite = [...new Set(decoded.filter((x) => Number.isFinite(x) && x >= 0))].sort((a, b) => a - b);
    for (let k = 0; k + 1 < finite.length; k++) {
      const mid = (finite[k] + finite[k + 1]) / 2;
      for (const x of [finite[k], mid, mid * (1 + 2 ** -40), mid * (1 - 2 ** -40)]) { v.add(x); v.add(-x); }
    }
    const top = finite[finite.length - 1];
    for (const x of [top * 1.03, top * 1.0625, top * 1.07, top * 2]) { v.add(x); v.add(-x); }
  }
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  for (let k = 0; k < 400; k++) v.add((rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 40 - 20) * (1 + rand()));
  return [...v];
}

test('narrow C helpers decode every code and encode like the reference Cast', () => {
  if (!haveCC()) return;
  const values = probeValues();
  const all = [...FLOATS, ...INTS];
  const lines = ['#include <math.h>', '#include <stdint.h>', '#include <stdio.h>', ...narrowHelpers(new Set(all)), 'int main(void) {'];
  lines.push(`  static const double v[${values.length}] = {${values.map((x) => (Number.isNaN(x) ? 'NAN' : x === Infinity ? 'INFINITY' : x === -Infinity ? '-INFINITY' : Object.is(x, -0) ? '-0.0' : x.toExponential(17))).join(',')}};`);
  lines.push(`  for (int i = 0; i < ${values.length}; i++) {`);
  for (const d of all) lines.push(`    printf("%d\\n", (int)${C.cast('v[i]', 'f64', d)});`);
  lines.push('  }');
  for (const d of FLOATS) {
    const size = d === 'bf16' ? 65536 : d === 'f4e2m1' ? 16 : 256;
    lines.push(`  for (int c = 0; c < ${size}; c++) printf("%a\\n", (double)${C.cast(`(${C.type(d)})c`, d, 'f32')});`);
  }
  lines.push('  return 0;', '}');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-narrow-'));
  try {
    const file = path.join(dir, 'narrow.c'), exe = path.join(dir, 'narrow');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const cc = spawnSync('cc', ['-std=c11', '-O2', '-Wall', '-Werror', '-o', exe, file, '-lm'], { encoding: 'utf8', timeout: 300_000 });
    if (cc.status !== 0) assert.unreachable(`cc failed:\n${cc.stderr.slice(0, 3000)}`);
    const run = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.is(run.status, 0, run.stderr);
    const out = run.stdout.trim().split('\n');
    const bad: string[] = [];
    let n = 0;
    const src = new Tensor('f64', [values.length], Float64Array.from(values));
    const expected = new Map(all.map((d) => [d, castTensor(src, d).data as ArrayLike<number>]));
    for (let i = 0; i < values.length; i++) {
      for (const d of all) {
        const got = Number(out[n++]);
        const want = Number(expected.get(d)![i]);
        if (got !== want) bad.push(`encode ${d}(${values[i]}): C ${got}, reference ${want}`);
      }
    }
    for (const d of FLOATS) {
      const size = d === 'bf16' ? 65536 : d === 'f4e2m1' ? 16 : 256;
      const codes = d === 'bf16' ? Uint16Array.from({ length: size }, (_, c) => c) : Uint8Array.from({ length: size }, (_, c) => c);
      const want = readNumbers(new Tensor(d, [size], codes));
      for (let c = 0; c < size; c++) {
        const got = hexFloat(out[n++]);
        if (!(Object.is(got, want[c]) || (Number.isNaN(got) && Number.isNaN(want[c])))) bad.push(`decode ${d}(0x${c.toString(16)}): C ${got}, reference ${want[c]}`);
      }
    }
    assert.is(n, out.length);
    assert.equal(bad.slice(0, 20), [], `${bad.length} mismatches`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Parses C's %a output (hex float, inf, nan). */
function hexFloat(s: string): number {
  const t = s.trim();
  if (/^-?inf/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/nan/.test(t)) return NaN;
  const m = /^(-?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]\d+)$/i.exec(t);
  if (!m) throw new Error(`not a hex float: ${s}`);
  const frac = m[3] ?? '';
  const mant = parseInt(m[2] + frac, 16) / 16 ** frac.length;
  const v = mant * 2 ** Number(m[4]);
  return m[1] ? -v : v;
}

test.run();
