/**
 * The `source` and `kir` commands (compiler/commands/source-commands.ts) over the Session's artifacts:
 * the kernel of a node found by IR id or ONNX name, the nodes fused with it, a view with no kernel,
 * the progress of the one preparation they share with `run`, highlighted HTML and plain terminal
 * text; and the Session's program cache disposing what it prepared (replaced, dropped, closed).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/commands/all.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { registerBackend } from '../../compiler/runtime/backends.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { Session } from '../../compiler/session.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { SourceView, TextView } from '../../compiler/display/views.ts';
import { toMimeBundle, toTerminal } from '../../compiler/display/index.ts';
import { stripAnsi } from '../../compiler/display/style.ts';
import { fakeBackend } from '../support/fake-backend.ts';
import { fakeContext } from './fake-context.ts';
import { findNvcc } from '../../compiler/runtime/cuda/nvcc.ts';

const fake = fakeBackend('fake-src', { kernelArtifacts: true, progress: [['lowering', 0], ['compiling', 0.5], ['ready', 1]] });
// registered only while this file's tests run (uvu imports every test file before running any)
let unregisterFake = () => {};
test.before(() => { unregisterFake = registerBackend(fake.backend); });
test.after(() => unregisterFake());

test('source NODE shows the kernel that computes it, found by IR id or ONNX name, with the nodes fused into it', async () => {
  const ctx = fakeContext(Session.load('zoo:mlp', { pipeline: 'dce' })); // at step 0: %0 Gemm, %1 Relu, ...
  const before = fake.calls.prepared;
  const v = await runLine('source 1 --backend fake-src', ctx);
  assert.instance(v, SourceView);
  const sv = v as SourceView;
  assert.is(sv.language, 'c');
  assert.match(sv.code, /void pair0\(void\) \{ \/\* 0 1 \*\/ \}/); // the pair kernel, not the whole-program text
  assert.match(sv.title!, /source of %1 Relu \(ONNX \/Relu\) on fake-src: pair0\.c; the kernel also computes %0/);
  // the progress the backend reported reached the shell, labelled with the step and backend
  const labels = ctx.progressLog.map((p) => `${p.label} ${p.fraction}`);
  assert.ok(labels.includes('preparing step 0 on fake-src: lowering 0'), labels.join('\n'));
  assert.ok(labels.includes('preparing step 0 on fake-src: ready 1'), labels.join('\n'));
  // by ONNX node name, kir of the same kernel, and a run: all on the one prepared program
  const byName = await runLine('source /fc2/Gemm --backend fake-src', ctx) as SourceView;
  assert.match(byName.code, /pair1\(void\) \{ \/\* 2 3 \*\//);
  const k = await runLine('kir %0 --backend fake-src', ctx) as SourceView;
  assert.is(k.language, 'kir');
  assert.match(k.code, /kernel @pair0\(\) nodes=\[%0, %1\]/);
  await runLine('run --backend fake-src', ctx);
  assert.is(fake.calls.prepared - before, 1, 'source, kir and run share one preparation');
});

test('source: a node that does not exist is an error with suggestions; a backend without sources says so', async () => {
  const ctx = fakeContext(Session.load('zoo:mlp', { pipeline: 'dce' }));
  try {
    await runLine('source fc9 --backend fake-src', ctx);
    assert.unreachable('an unknown node must be an error');
  } catch (e) {
    assert.match((e as Error).message, /no node 'fc9' at step 0 \(by IR node id or ONNX node name\)/);
  }
  const ref = await runLine('source 1 --backend ref', ctx);
  assert.instance(ref, TextView);
  assert.match((ref as TextView).text, /backend ref generates no source: %1 runs on the reference kernel of Relu/);
});

test('source: a node the backend runs on its reference kernel inside the program says so, with the reason', async () => {
  const unregister = registerBackend({
    name: 'fake-fallback', summary: 'compiles node %0 only', available: async () => ({ ok: true }), unsupported: () => [],
    async prepare(graph) {
      return {
        backend: 'fake-fallback', prepareMs: 1, run: async () => [],
        artifacts: [{ name: 'k0.c', kind: 'source', content: 'void k0(void) {}\n', nodes: ['0'] }],
        fallbacks: graph.nodes.slice(1).map((n) => ({ node: n.outputs[0], op: n.op, reason: `no lowering for ${n.op}` })),
        dispose: async () => {},
      };
    },
  });
  try {
    const ctx = fakeContext(Session.load('zoo:mlp', { pipeline: 'dce' }));
    assert.match((await runLine('source 0 --backend fake-fallback', ctx) as SourceView).code, /void k0/);
    const v = await runLine('source /Relu --backend fake-fallback', ctx) as TextView;
    assert.instance(v, TextView);
    assert.is(v.text, '%1 (Relu) runs on its reference kernel inside the fake-fallback program (not compiled: no lowering for Relu)');
  } finally {
    unregister();
  }
});

test('display: highlighted HTML in a notebook, plain numbered text on a terminal without colour', () => {
  const v = new SourceView('#include <math.h>\n/* a\n   b */\nvoid k(float *x) { x[0] = 1.5f; } // done\n', 'c', 'source of %1');
  const html = toMimeBundle(v)['text/html'];
  assert.match(html, /<span style="[^"]*">#include &lt;math\.h&gt;<\/span>/);
  assert.match(html, /<span style="[^"]*">void<\/span> <span style="[^"]*">k<\/span>/);
  assert.match(html, /<span style="[^"]*">   b \*\/<\/span>/); // a comment over lines stays a comment
  const plain = toTerminal(v, { color: false, width: 80 });
  assert.is(plain, 'source of %1\n1  #include <math.h>\n2  /* a\n3     b */\n4  void k(float *x) { x[0] = 1.5f; } // done\n');
  const coloured = toTerminal(v, { color: true, width: 80 });
  assert.ok(coloured.includes('\x1b['), 'colour on a colour terminal');
  assert.is(stripAnsi(coloured), plain);
});

test('cpu: the C of the kernel that runs a node; a view has no kernel', async () => {
  if (!findCCompiler()) return; // no C compiler: the cpu backend cannot prepare here
  const g = parseGraph('kiln.graph @v(%x: f32[2,3]) -> (%2: f32[3,2]) {\n  %s = const i64[2] dense<[3, 2]>\n'
    + '  %0 = Relu(%x) : f32[2,3] loc("relu_a")\n  %1 = Reshape(%0, %s) : f32[3,2] loc("flat")\n  %2 = Neg(%1) : f32[3,2] loc("neg")\n  return %2\n}\n');
  const s = Session.load(g, { pipeline: 'dce' });
  const ctx = fakeContext(s);
  const c = await runLine('source relu_a', ctx) as SourceView;
  assert.instance(c, SourceView);
  assert.is(c.language, 'c');
  assert.match(c.code, /void k0_Relu\(/);
  assert.not.match(c.code, /Neg/);
  const view = await runLine('source flat', ctx) as TextView;
  assert.instance(view, TextView);
  assert.match(view.text, /%1 \(Reshape\) has no kernel: it is a view of its input's storage/);
  const k = await runLine('kir 2', ctx) as SourceView;
  assert.match(k.code, /kernel @k\d+_Neg\(/);
  await s.close();
});

test('`load` releases the replaced session\'s programs; that session still runs, preparing again', async () => {
  const f = fakeBackend('fake-release');
  const unregister = registerBackend(f.backend);
  try {
    const first = Session.load('zoo:mlp', { numericCheck: false });
    const ctx = fakeContext(first);
    await first.execute({ backend: 'fake-release' });
    assert.equal([f.calls.prepared, f.calls.disposed, first.programs.size], [1, 0, 1]);
    await runLine('load zoo:mlp', ctx);
    assert.is.not(ctx.session, first);
    assert.equal([f.calls.disposed, first.programs.size], [1, 0]);
    await first.execute({ backend: 'fake-release' }); // still usable
    assert.equal([f.calls.prepared, first.programs.size], [2, 1]);
    await first.close();
    await ctx.session!.close();
  } finally {
    unregister();
  }
});

test('the Session disposes programs when replaced, when their snapshot is dropped, and when closed', async () => {
  const f = fakeBackend('fake-dispose');
  const unregister = registerBackend(f.backend);
  try {
    const s = Session.load('zoo:mlp', { pipeline: 'fuse-conv-act', numericCheck: false }); // step 1 changes the graph
    await s.execute({ backend: 'fake-dispose' });
    await s.execute({ backend: 'fake-dispose' });
    assert.equal([f.calls.prepared, f.calls.disposed], [1, 0]); // cached
    await s.execute({ backend: 'fake-dispose', threads: 1 }); // other options: the entry is replaced
    assert.equal([f.calls.prepared, f.calls.disposed], [2, 1]);
    s.step();
    await s.execute({ backend: 'fake-dispose' });
    assert.is(s.programs.size, 2);
    s.pipeline('dce'); // step 1 (fuse-conv-act) is dropped: its program goes
    await s.programs.retain(s.history.map((h) => h.graph)); // wait for the disposal the pipeline change started
    assert.equal([f.calls.disposed, s.programs.size], [2, 1]);
    await s.close();
    assert.equal([f.calls.disposed, s.programs.size], [3, 0]);
    await s.close(); // twice is fine
    assert.is(f.calls.disposed, 3);
    try {
      await s.execute({ backend: 'fake-dispose' });
      assert.unreachable('a closed session prepares nothing');
    } catch (e) {
      assert.match((e as Error).message, /this session was closed/);
    }
  } finally {
    unregister();
  }
});

const nvcc = findNvcc();
(nvcc ? test : test.skip)('source NODE --backend cuda --arch sm_90 builds without a GPU: the CUDA, and with --ptx the PTX of that kernel only', async () => {
  const ctx = fakeContext(Session.load('zoo:mlp', { pipeline: 'dce' })); // at step 0: %0 Gemm, %1 Relu, ...
  const id = '0';
  const cu = await runLine(`source ${id} --backend cuda --arch sm_90`, ctx) as SourceView;
  assert.is(cu.language, 'cuda');
  assert.match(cu.title!, /on cuda \(sm_90, built without a device\)/);
  assert.match(cu.code, /extern "C" __global__/);
  const ptx = await runLine(`source ${id} --backend cuda --arch sm_90 --ptx`, ctx) as SourceView;
  assert.is(ptx.language, 'ptx');
  assert.match(ptx.code, /^\.version [0-9.]+\n\.target sm_90/);
  const entries = [...ptx.code.matchAll(/\.visible \.entry (\w+)/g)].map((m) => m[1]);
  assert.ok(entries.length >= 1 && entries.every((e) => cu.code.includes(` ${e}(`)), `only this kernel's entries: ${entries.join(', ')}`);
  try {
    await runLine(`source ${id} --backend cpu --arch sm_90`, ctx);
    assert.unreachable('--arch on a CPU backend');
  } catch (e) {
    assert.match((e as Error).message, /builds for this machine only; --arch is for a GPU backend/);
  }
});

test.run();
