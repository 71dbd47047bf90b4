/**
 * `kiln opt MODEL --emit graph|plan|kernel|source` (cli/commands/opt.ts over the Session's
 * artifacts, compiler/session-artifacts.ts),
 * run as a user does: each stage prints its text on stdout, the C of a zoo model compiles, a symbolic
 * dim must be bound first, nodes that do not lower are named, and a bad stage name is a usage error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runKiln } from '../support/cli.ts';
import { compileC } from './cc.ts';

const ok = (r: ReturnType<typeof runKiln>) => {
  assert.not.ok(r.timedOut, 'kiln timed out');
  assert.is(r.code, 0, r.err);
};

test('--emit graph is the default IR text', () => {
  const r = runKiln(['opt', 'zoo:mlp', '--emit', 'graph']);
  ok(r);
  assert.match(r.out, /^kiln\.graph @mlp\(/);
});

test('--emit plan prints the memory plan as JSON', () => {
  const r = runKiln(['opt', 'zoo:mlp', '--emit', 'plan']);
  ok(r);
  const plan = JSON.parse(r.out);
  assert.ok(plan.peakBytes > 0);
  assert.is(plan.order.length, plan.steps);
  assert.is(plan.tensors.length, plan.tensorCount);
  assert.ok(plan.tensors.every((t: { offset: number }) => Number.isInteger(t.offset)));
});

test('--emit kernel prints the kernel IR program; --emit source prints C that compiles', () => {
  const k = runKiln(['opt', 'zoo:mlp', '--emit', 'kernel']);
  ok(k);
  assert.match(k.out, /^kiln\.program @mlp \{/);
  assert.match(k.out, /kernel @k0_kiln_gemm\(in0: f32\[784\] input, in1: f32\[401408\] constant, in2: f32\[512\] constant, out0: f32\[512\] output\) nodes=\[%1\]/);
  assert.match(k.out, /call @k2_Gemm\(%3, %fc3\.weight, %fc3\.bias, %logits\)/);
  const s = runKiln(['opt', 'zoo:mlp', '--emit', 'source']);
  ok(s);
  assert.match(s.out, /void kiln_run\(void \*const \*buffers\) \{/);
  const cc = compileC(s.out, 'mlp');
  if (cc) assert.ok(cc.ok, cc.log);
});

test('nodes that do not lower are named on stderr and at the top of the output; symbolic dims must be bound', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-emit-'));
  try {
    const file = path.join(dir, 'g.kir');
    fs.writeFileSync(file, 'kiln.graph @g(%x: f32[N,4]) -> (%1: f32[N,4]) {\n  %0 = Relu(%x) : f32[N,4]\n  %1 = Erf(%0) : f32[N,4]\n  return %1\n}\n');
    const unbound = runKiln(['opt', file, '--pipeline', 'dce', '--emit', 'kernel']);
    assert.is(unbound.code, 1, unbound.err);
    assert.match(unbound.err, /--emit kernel needs concrete sizes/);
    assert.match(unbound.err, /--dim N=<size>/);
    const bound = runKiln(['opt', file, '--pipeline', 'dce', '--emit', 'kernel', '--dim', 'N=2']);
    ok(bound);
    assert.match(bound.out, /kernel @k0_Relu\(in0: f32\[8\] input, out0: f32\[8\] output\)/);
    fs.writeFileSync(file, 'kiln.graph @g(%x: i32[2,2], %y: i32[2,2]) -> (%0: i32[2,2]) {\n  %0 = Pow(%x, %y) : i32[2,2]\n  return %0\n}\n');
    const partial = runKiln(['opt', file, '--pipeline', 'dce', '--emit', 'source']);
    ok(partial);
    assert.match(partial.err, /note: not lowered: %0 Pow: Pow does not lower dtype i32/);
    assert.match(partial.out, /^\/\*\n \* not lowered: %0 Pow/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown stage is a usage error naming the stages', () => {
  const r = runKiln(['opt', 'zoo:mlp', '--emit', 'kernal']);
  assert.is(r.code, 2);
  assert.match(r.err, /unknown emit 'kernal' \(did you mean 'kernel'\?\); available: graph, plan, kernel, source/);
});

test.run();
