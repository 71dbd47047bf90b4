/**
 * The C rendering of the scalar-op table against the table's JS evaluator: for every table entry, every
 * dtype the C target computes on (f32, f64, the integers, bool) and a few attribute variants, the
 * entry's kernel IR scalar (lower/scalar.ts over `ref` operands, shared subtrees bound to locals as the
 * lowering binds them) is rendered with the C descriptor as one function; one generated C file evaluates every function on rows of edge values and prints the results
 * (floats as %a, exact), a child process runs it, and each result must match `evaluateOp` within the
 * table's tolerance for the output dtype (TOLERANCES; integers and bool exactly). Skipped without cc.
 *
 * Edge values include the integer extremes (INT_MIN / -1 is guarded by the C descriptor) but avoid float
 * -> int conversions of non-finite or out-of-range values (the table follows x86; C leaves them
 * undefined). The file is compiled with -fwrapv (the table's integers wrap) and -O0, so every expression
 * runs as written: an integer division hoisted out of its zero-divisor guard traps here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../../compiler/ops/all.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import type { Attrs } from '../../compiler/ir/graph.ts';
import { findOp, readAttrs } from '../../compiler/ops/registry.ts';
import { type ScalarOp, evaluateOp, outputDType, scalarOp as tableEntry, scalarOpNames, withinTolerance } from '../../compiler/ops/scalar-ops.ts';
import { LowerUnsupported } from '../../compiler/codegen/lower/context.ts';
import { scalarOp } from '../../compiler/codegen/lower/scalar.ts';
import { type Scalar, ref } from '../../compiler/codegen/kir.ts';
import { C } from '../../compiler/codegen/lang/c.ts';
import { renderScalar } from '../../compiler/codegen/render.ts';
import { haveCC } from './cc.ts';

const TYPES: DType[] = ['f32', 'f64', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool'];
const FLOATS = [0, -0, 1, -1, 0.5, -2.5, 2.5, 3.7, -3.7, 100, 1e-3, 88, -88, Infinity, -Infinity, NaN, 1e30, -1e-30];
/** Float values every integer type holds after truncation (for float -> int casts). */
const SAFE_FLOATS = [0, -0, 1, -1, 0.5, -2.5, 2.5, 3.7, -3.7, 100, 120.9];
const INTS: Readonly<Record<string, readonly (number | bigint)[]>> = {
  i8: [0, 1, -1, 7, -7, 127, -127, 3, -3, 100], u8: [0, 1, 2, 7, 255, 128, 3, 100, 200, 9],
  i16: [0, 1, -1, 7, -7, 32767, -32767, 3, -3, 1000], u16: [0, 1, 2, 7, 65535, 32768, 3, 1000, 40000, 9],
  i32: [0, 1, 100000, 7, -7, 2147483647, -2147483648, 3, -3, -1], u32: [0, 1, 2, 7, 4294967295, 2147483648, 3, 100000, 9, 65536],
  i64: [0n, 1n, 2n ** 40n + 1n, 7n, -7n, 2n ** 63n - 1n, -(2n ** 63n), 3n, -3n, -1n],
  u64: [0n, 1n, 2n, 7n, 2n ** 64n - 1n, 2n ** 63n, 3n, 2n ** 40n + 1n, 9n, 100n],
  bool: [0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
};
/** Rows per case; operand k of row r is list[(r + 3k) mod n], so row 6 pairs MIN with -1 for i32/i64. */
const ROWS = 18;

const f = (value: number) => ({ kind: 'float' as const, value: Math.fround(value) });
const s = (value: string) => ({ kind: 'string' as const, value });
const i = (value: number) => ({ kind: 'int' as const, value });
const VARIANTS: Readonly<Record<string, Attrs[]>> = {
  LeakyRelu: [{}, { alpha: f(0.3) }], Elu: [{}, { alpha: f(0.5) }], HardSigmoid: [{}, { alpha: f(0.25), beta: f(0.4) }],
  Gelu: [{}, { approximate: s('tanh') }], Mod: [{ fmod: i(0) }, { fmod: i(1) }],
  Cast: TYPES.map((to) => ({ to: s(to) })),
};

/** Operand dtype lists for an entry on dtype d. */
function operandTypes(e: ScalarOp, d: DType): (DType | undefined)[][] {
  switch (e.rule) {
    case 'where': return [['bool', d, d]];
    case 'pow': return [[d, d], [d, 'i32']];
    case 'cast': return [[d]];
    case 'cast-like': return TYPES.map((to) => [d, to]);
    default: break;
  }
  if (e.op === 'Clip') return [[d, d, d], [d, undefined, d]];
  return [Array.from({ length: Math.max(e.arity[0], Math.min(e.arity[1], 2)) }, () => d)];
}

const C_TYPE = (d: DType) => C.type(d);

/** The operand value of row r, operand k, for dtype d (`safe`: float values every int type holds). */
function value(d: DType, r: number, k: number, safe: boolean, unsigned: boolean): number | bigint {
  if (d === 'f32' || d === 'f64') {
    const list = safe ? SAFE_FLOATS.filter((v) => !unsigned || v >= 0) : FLOATS;
    const v = list[(r + 5 * k) % list.length];
    return d === 'f32' ? Math.fround(v) : v;
  }
  const list = INTS[d];
  return list[(r + 3 * k) % list.length];
}

/** C source of a value of dtype d. */
function cValue(v: number | bigint, d: DType): string {
  if (typeof v === 'bigint') return d === 'u64' ? `${v}ULL` : v === -(2n ** 63n) ? '(-9223372036854775807LL - 1)' : `(${v}LL)`;
  return C.literal(v, d);
}

interface Case { readonly name: string; readonly op: string; readonly attrs: unknown; readonly dtypes: (DType | undefined)[]; readonly out: DType; readonly rows: (number | bigint | undefined)[][] }

/** Parses a printed result of dtype d. */
function parse(text: string, d: DType): number | bigint {
  if (d === 'i64' || d === 'u64') return BigInt(text);
  if (d === 'f32' || d === 'f64') return text === 'nan' || text === '-nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text.startsWith('0x') || text.startsWith('-0x') ? hexFloat(text) : text);
  return Number(text);
}

/** A C99 hex float (%a) as a number. */
function hexFloat(t: string): number {
  const m = /^(-?)0x([01])(?:\.([0-9a-f]*))?p([+-]\d+)$/.exec(t);
  if (!m) throw new Error(`bad hex float ${t}`);
  const frac = m[3] ? parseInt(m[3], 16) / 16 ** m[3].length : 0;
  const v = (Number(m[2]) + frac) * 2 ** Number(m[4]);
  return m[1] ? -v : v;
}

test('every table entry renders to C that agrees with the JS evaluator', () => {
  if (!haveCC()) { console.log('  (skipped: no cc)'); return; }
  const cases: Case[] = [];
  const fns: string[] = [];
  const unsupported: string[] = [];
  for (const op of scalarOpNames()) {
    const e = tableEntry(op)!;
    const def = findOp(op)!;
    for (const raw of VARIANTS[op] ?? [{}]) {
      const attrs = readAttrs(def, raw);
      for (const d of TYPES) {
        for (const dtypes of operandTypes(e, d)) {
          const result = outputDType(e, dtypes, attrs); // a dtype, or the reason the entry does not lower
          if (!TYPES.includes(result as DType)) continue;
          const out = result as DType;
          const args = dtypes.map((t, k) => (t === undefined ? undefined : ref(`x${k}`, t)));
          // shared subtrees become locals, as the lowering binds them (tests that none is hoisted out of a guard)
          const lets: string[] = [];
          const bind = (v: Scalar): Scalar => {
            const local = `s${lets.length}`;
            lets.push(`const ${C_TYPE(v.dtype)} ${local} = ${renderScalar(C, v)};`);
            return ref(local, v.dtype);
          };
          let expr;
          try { expr = scalarOp(op, args, attrs, out, bind); } catch (err) {
            if (err instanceof LowerUnsupported) { unsupported.push(`${op}(${dtypes.join(',')}): ${err.message}`); continue; }
            throw err;
          }
          const name = `f${cases.length}`;
          const castToInt = (op === 'Cast' || op === 'CastLike') && !(out === 'f32' || out === 'f64' || out === 'bool');
          const rows = Array.from({ length: ROWS }, (_, r) => dtypes.map((t, k) => (t === undefined ? undefined : value(t, r, k, castToInt, out.startsWith('u')))));
          const params = dtypes.map((t, k) => (t === undefined ? '' : `${C_TYPE(t)} x${k}`)).filter(Boolean);
          fns.push(`static ${C_TYPE(out)} ${name}(${params.join(', ')}) { ${lets.join(' ')} return ${renderScalar(C, expr)}; }`);
          cases.push({ name, op, attrs, dtypes, out, rows });
        }
      }
    }
  }
  const print = (c: Case, call: string) => {
    if (c.out === 'f32' || c.out === 'f64') return `printf("%a\\n", (double)${call});`;
    if (c.out === 'u64') return `printf("%llu\\n", (unsigned long long)${call});`;
    return `printf("%lld\\n", (long long)${call});`;
  };
  // operands pass through a volatile (v_<dtype>) so the compiler cannot fold a call on constants
  const main = cases.flatMap((c) => c.rows.map((row) => print(c, `${c.name}(${row.flatMap((v, k) => (v === undefined ? [] : [`v_${c.dtypes[k]}(${cValue(v, c.dtypes[k]!)})`])).join(', ')})`)));
  const opaque = TYPES.map((d) => `static ${C_TYPE(d)} v_${d}(${C_TYPE(d)} x) { volatile ${C_TYPE(d)} v = x; return v; }`);
  const src = [...C.fileHeader({ name: 'scalar', buffers: [], kernels: [], calls: [] }), '#include <stdio.h>', ...opaque, ...fns,
    'int main(void) {', ...main.map((l) => `  ${l}`), '  return 0;', '}', ''].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-scalar-c-'));
  try {
    const file = path.join(dir, 'scalar.c'), exe = path.join(dir, 'scalar');
    fs.writeFileSync(file, src);
    const cc = spawnSync('cc', ['-std=c11', '-O0', '-fwrapv', '-Wall', '-Wno-unused-function', '-o', exe, file, '-lm'], { encoding: 'utf8', timeout: 300_000 });
    if (cc.status !== 0) assert.unreachable(`cc failed:\n${cc.stderr.slice(0, 3000)}`);
    const run = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) assert.unreachable(`the test program failed (${run.status}): ${run.stderr.slice(0, 2000)} ${String(run.error ?? "")}`);
    const lines = run.stdout.trim().split('\n');
    assert.is(lines.length, cases.length * ROWS);
    const bad: string[] = [];
    let n = 0;
    for (const c of cases) {
      for (const row of c.rows) {
        const got = parse(lines[n++], c.out);
        const want = evaluateOp(c.op, c.attrs, c.dtypes, row);
        // the reference erf (compiler/ops/unary.ts) is a ~1e-8 approximation: f64 Erf/Gelu are held to f32's tolerance
        const tol = c.out === 'f64' && (c.op === 'Erf' || (c.op === 'Gelu' && (c.attrs as { approximate?: string }).approximate !== 'tanh')) ? 'f32' : c.out;
        const ok = c.out === 'bool' ? Number(got) === Number(want) : withinTolerance(tol, got, want);
        if (!ok) bad.push(`${c.op}(${c.dtypes.join(',')}) -> ${c.out} ${JSON.stringify(c.attrs)} at (${row.map(String).join(', ')}): C ${String(got)}, table ${String(want)}`);
      }
    }
    assert.ok(cases.length > 150, `only ${cases.length} cases`);
    assert.equal(bad.slice(0, 20), [], `${bad.length} mismatches`);
    assert.equal(unsupported, [], 'table entries the adapter could not lower');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
