/**
 * The cpu backend's buffer layout (compiler/runtime/cpu/layout.ts) on lowered zoo models and a
 * conformance model whose graph output is a view of an intermediate: with `reuse`, intermediates
 * whose lifetimes (closed intervals of calls, views counted as their root) do not meet share bytes,
 * and the checks state the invariants the generated C depends on: no call ever sees two of its
 * arguments share bytes (every param is `restrict`); two intermediates live at the same call never
 * overlap; the root of an output view is never overwritten after its last write; inputs, outputs and
 * constants keep bytes of their own; and the reuse actually happens (the layout is smaller).
 * Without `reuse` no two values share bytes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { zooModel } from '../../compiler/zoo/index.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { PassManager, defaultPipeline, parsePipeline } from '../../compiler/passes/index.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import type { Program } from '../../compiler/codegen/kir.ts';
import { type CpuLayout, layoutBuffers } from '../../compiler/runtime/cpu/layout.ts';
import { conformanceDir } from '../support/paths.ts';
import type { Graph } from '../../compiler/ir/graph.ts';

const lowered = (g: Graph, pipeline = defaultPipeline('cpu')): Program =>
  lowerGraph(new PassManager({ target: 'cpu' }).run(g, parsePipeline(pipeline)).at(-1)?.graph ?? g, { target: { vectorBits: 256 } }).program;

/** Byte range of a value's slot. */
function range(layout: CpuLayout, value: string): [number, number] {
  const slot = layout.slots[layout.slotOf.get(value)!];
  return [slot.offset, slot.offset + Math.max(slot.bytes, 1)];
}
const meet = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1];

/** Root value of a (possibly view) buffer. */
function rootOf(p: Program, v: string): string {
  const byName = new Map(p.buffers.map((b) => [b.value, b]));
  let name = v;
  while (byName.get(name)?.aliasOf !== undefined) name = byName.get(name)!.aliasOf!;
  return name;
}

/** Checks the invariants of the module header on one program; returns how many bytes reuse saved. */
function checkLayout(p: Program, name: string): number {
  const shared = layoutBuffers(p, { reuse: true });
  const plain = layoutBuffers(p);
  const roots = new Set(p.buffers.filter((b) => b.aliasOf === undefined && b.kind !== 'scratch').map((b) => b.value));
  // lifetimes of roots as call intervals
  const life = new Map<string, [number, number]>();
  p.calls.forEach((c, i) => {
    for (const a of c.args) {
      const r = rootOf(p, a);
      const l = life.get(r);
      life.set(r, l ? [l[0], i] : [i, i]);
    }
  });
  for (const b of p.buffers) if (b.aliasOf !== undefined && b.kind === 'output') life.set(rootOf(p, b.value), [life.get(rootOf(p, b.value))?.[0] ?? 0, p.calls.length]);
  for (const c of p.calls) {
    const args = [...new Set(c.args.map((a) => rootOf(p, a)))];
    for (let i = 0; i < args.length; i++) {
      for (let j = i + 1; j < args.length; j++) {
        const bi = p.buffers.find((b) => b.value === args[i])!, bj = p.buffers.find((b) => b.value === args[j])!;
        if (bi.count === 0 || bj.count === 0 || bi.kind === 'scratch' || bj.kind === 'scratch') continue;
        assert.ok(!meet(range(shared, args[i]), range(shared, args[j])), `${name}: call ${c.kernel} gets %${args[i]} and %${args[j]} in shared bytes`);
      }
    }
  }
  const values = [...roots];
  for (let i = 0; i < values.length; i++) {
    for (let j = i + 1; j < values.length; j++) {
      const a = values[i], b = values[j];
      const ka = p.buffers.find((x) => x.value === a)!, kb = p.buffers.find((x) => x.value === b)!;
      if (ka.count === 0 || kb.count === 0) continue;
      const both = ka.kind === 'intermediate' && kb.kind === 'intermediate';
      const la = life.get(a), lb = life.get(b);
      const liveTogether = !both || !la || !lb || (la[0] <= lb[1] && lb[0] <= la[1]);
      if (liveTogether) assert.ok(!meet(range(shared, a), range(shared, b)), `${name}: %${a} (${ka.kind}) and %${b} (${kb.kind}) are live together but share bytes`);
      assert.ok(!meet(range(plain, a), range(plain, b)), `${name}: without reuse %${a} and %${b} share bytes`);
    }
  }
  return plain.totalBytes - shared.totalBytes;
}

for (const model of ['mobilenetv2', 'bert']) {
  test(`${model}: intermediates share bytes only when their lifetimes do not meet`, () => {
    const saved = checkLayout(lowered(zooModel(model)), model);
    assert.ok(saved > 0, `${model}: reuse saved no bytes`);
  });
}

test('an output that is a view of an intermediate keeps its root until the end (rotary embedding, expanded)', () => {
  const file = path.join(conformanceDir(), 'test_rotary_embedding_expanded', 'model.onnx');
  if (!fs.existsSync(file)) {
    console.log(`cpu-layout.test.ts: ${file} not found, skipping`);
    return;
  }
  // shape inference only, as the conformance runner lowers it: the last Transpose's output is then a view
  const p = lowered(importOnnx(new Uint8Array(fs.readFileSync(file))), 'shape-infer');
  const out = p.buffers.find((b) => b.kind === 'output' && b.aliasOf !== undefined);
  assert.ok(out, 'the case still has an output view (the regression this guards)');
  checkLayout(p, 'rotary_embedding_expanded');
});

test.run();
