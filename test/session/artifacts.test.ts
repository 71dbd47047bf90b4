/**
 * The Session's artifacts per snapshot (compiler/session-artifacts.ts): each stage's text, cached
 * lowering, the plan as JSON and text, nodes by IR id or ONNX name, and the kernel of a node among a
 * backend's artifacts (per-kernel sources preferred; a backend that keeps only a whole-program source
 * shows that).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../compiler/session.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { registerBackend } from '../../compiler/runtime/backends.ts';
import { fakeBackend } from '../support/fake-backend.ts';

const s = Session.load('zoo:mlp', { numericCheck: false });
s.run();

test('stage texts of a snapshot: IR, plan JSON, kernel IR, C; the lowering is computed once per graph', () => {
  const a = s.artifacts();
  assert.is(a.stage('graph').text, s.ir());
  const plan = JSON.parse(a.stage('plan').text);
  assert.equal(plan.order, a.plan().order);
  assert.match(a.stage('kernel').text, /^kiln\.program @mlp (target\(vectorBits=\d+\) )?\{/); // the cpu target lowers at this CPU's vector width
  assert.match(a.stage('source').text, /void kiln_run\(void \*const \*buffers\)/);
  assert.is(a.kernels(), s.artifacts().kernels(), 'one lowering per graph object');
  assert.is(a.kernels().program.kernels.length, 3);
  // step 0 is another snapshot with its own program: five kernels, one per node
  assert.is(s.artifacts(0).kernels().program.kernels.length, 5);
});

test('nodes by IR id (with or without %) or by ONNX node name; an unknown name suggests ids', () => {
  const a = s.artifacts();
  assert.is(a.findNode('%1').op, 'kiln.gemm');
  assert.is(a.findNode('1').op, 'kiln.gemm');
  assert.is(a.findNode('/Relu').op, 'kiln.gemm'); // fused into %1
  assert.is(a.findNode('/fc3/Gemm').op, 'Gemm');
  assert.throws(() => a.findNode('logit'), /no node 'logit' at step 10 \(by IR node id or ONNX node name\); did you mean 'logits'\?/);
  assert.throws(() => s.artifacts(99), /no such step/);
});

test('symbolic sizes: stages past the graph name what binds them', () => {
  const g = parseGraph('kiln.graph @g(%x: f32[N,4]) -> (%0: f32[N,4]) {\n  %0 = Relu(%x) : f32[N,4]\n  return %0\n}\n');
  const sym = Session.load(g, { pipeline: 'dce' });
  assert.match(sym.artifacts().stage('graph').text, /f32\[N,4\]/);
  assert.throws(() => sym.artifacts().stage('kernel', 'kiln build'), /kiln build needs concrete sizes/);
});

test('kernelOf on a backend with only a whole-program source shows that source', async () => {
  const f = fakeBackend('fake-whole');
  const unregister = registerBackend(f.backend);
  try {
    const k = await s.artifacts().kernelOf('3', { backend: 'fake-whole' });
    assert.is(k.source?.name, 'fake.txt');
    assert.equal(k.nodes, ['1', '3', 'logits']);
    assert.is(k.kir, undefined);
    const again = await s.artifacts().kernelOf('logits', { backend: 'fake-whole' });
    assert.is(again.source?.name, 'fake.txt');
    assert.is(f.calls.prepared, 1, 'one preparation for the snapshot');
  } finally {
    unregister();
    await s.close();
  }
});

test.run();
