/**
 * Op family 'optional' (compiler/ops/optional.ts): Optional, OptionalHasElement and
 * OptionalGetElement on tensors, sequences and none, their type rules over `opt<T>` and
 * `opt<seq<T>>`, the `type` attribute's text (and its ONNX export as a TypeProto), Identity passing sequences and optionals through, and
 * errors naming the node, op and attribute.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, TensorType } from '../../compiler/ir/graph.ts';
import { formatType } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { Value } from '../../compiler/ir/value.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { KilnError } from '../../compiler/errors.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { AttrReader, type OpDef, getOp } from '../../compiler/ops/registry.ts';
import { optionalOps, parseTypeText } from '../../compiler/ops/optional.ts';
import '../../compiler/ops/all.ts';
import { runReferenceValues } from '../../compiler/runtime/reference.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { AttrType, decodeModelProto } from '../../compiler/import/onnx/schema.ts';
import { opFrom, inferOp, ty, f32, nums } from './movement-helpers.ts';
import { nodeAttrError } from './node-attr-helpers.ts';

const op = (name: string) => opFrom(optionalOps, name);
const withContainer = (t: TensorType, container: TensorType['container']): TensorType => ({ ...t, container });

/** Runs a value kernel (string attributes only: Optional's type). */
function runValues(def: OpDef<any>, inputs: (Value | undefined)[], attrs: Record<string, string> = {}): Value[] {
  const a = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { kind: 'string' as const, value: v }]));
  return def.runValues!(inputs, def.parseAttrs(new AttrReader(a)), 1, { runRegion: () => { throw new Error('no regions'); } });
}

const x = f32([2], [1, 2]);
const hasElement = (v: Value | undefined) => nums(runValues(op('OptionalHasElement'), [v])[0] as Tensor)[0];

test('Optional wraps a tensor or a sequence, or makes none of the attribute type', () => {
  assert.is(runValues(op('Optional'), [x])[0], x);
  const s = [x, x];
  assert.is(runValues(op('Optional'), [s])[0], s);
  assert.is(runValues(op('Optional'), [undefined], { type: 'f32[2]' })[0], null);
  assert.equal(formatType(inferOp(op('Optional'), [ty('f32', ['N'])])[0]), 'opt<f32[N]>');
  assert.equal(formatType(inferOp(op('Optional'), [withContainer(ty('f32', [5]), 'seq')])[0]), 'opt<seq<f32[5]>>');
  assert.equal(formatType(inferOp(op('Optional'), [], { type: 'seq<f32[5]>' })[0]), 'opt<seq<f32[5]>>');
  assert.equal(formatType(inferOp(op('Optional'), [], { type: 'i64[]' })[0]), 'opt<i64[]>');
  assert.throws(() => inferOp(op('Optional'), []), /without an input, the attribute type must give the element type/);
  assert.throws(() => inferOp(op('Optional'), [withContainer(ty('f32', [2]), 'opt')]), /the input is already optional \(opt<f32\[2\]>\)/);
  assert.throws(() => inferOp(op('Optional'), [ty('f32', [2])], { type: 'i64[2]' }), /the input is f32\[2\] but attribute type says i64\[2\]/);
  nodeAttrError(op('Optional'), { type: { kind: 'string', value: 'tensor(float)' } }, 'type', /'tensor\(float\)' is not a tensor or sequence type/);
});

test('parseTypeText reads back formatType for tensors and sequences', () => {
  for (const t of [ty('f32', [2, 'N']), ty('i64', []), withContainer(ty('f32', [5]), 'seq'), { dtype: 'bool', shape: [], container: 'seq', unranked: true } as TensorType]) {
    assert.equal(parseTypeText(formatType(t)), t);
  }
  assert.is(parseTypeText('f32[*]'), undefined, 'a tensor has a rank');
  assert.is(parseTypeText('seq<f32[2]'), undefined);
  assert.is(parseTypeText('q32[2]'), undefined);
});

test('OptionalHasElement and OptionalGetElement: none, tensors, sequences, omitted inputs', () => {
  assert.is(hasElement(null), 0);
  assert.is(hasElement(undefined), 0, 'an omitted input holds nothing');
  assert.is(hasElement(x), 1);
  assert.is(hasElement([]), 1, 'an empty sequence is still a value');
  assert.equal(inferOp(op('OptionalHasElement'), []), [{ dtype: 'bool', shape: [] }]);
  assert.is(runValues(op('OptionalGetElement'), [x])[0], x);
  const s = [x];
  assert.is(runValues(op('OptionalGetElement'), [s])[0], s);
  assert.throws(() => runValues(op('OptionalGetElement'), [null]), /the optional input is none/);
  const get = (t: TensorType) => formatType(inferOp(op('OptionalGetElement'), [t])[0]);
  assert.is(get(withContainer(ty('f32', [2]), 'opt')), 'f32[2]');
  assert.is(get(withContainer(ty('f32', [2]), 'opt-seq')), 'seq<f32[2]>');
  assert.is(get(withContainer(ty('f32', [2]), 'seq')), 'seq<f32[2]>', 'a non-optional input passes through');
  assert.is(get(ty('i32', [])), 'i32[]');
  assert.throws(() => get({ dtype: 'f32', shape: [], container: 'opt', unranked: true }), /rank of opt<f32\[\*\]>'s tensor is not known/);
});

test('Identity passes sequences and optionals through; a known tensor value passes on to later rules', () => {
  const I = getOp('Identity');
  const s = [x];
  assert.is(I.runValues!([s], {}, 1, { runRegion: () => [] })[0], s);
  assert.is(I.runValues!([null], {}, 1, { runRegion: () => [] })[0], null);
  const copy = I.runValues!([x], {}, 1, { runRegion: () => [] })[0] as Tensor;
  assert.is.not(copy, x);
  assert.equal(nums(copy), [1, 2]);
  const seqT = withContainer(ty('f32', ['N']), 'seq');
  assert.equal(inferOp(I, [seqT]), [seqT]);
  assert.equal(inferOp(I, [withContainer(ty('f32', [5]), 'opt-seq')]).map(formatType), ['opt<seq<f32[5]>>']);
  // a constant shape through Identity still sizes a Reshape
  const g = inferTypes(parseGraph(`kiln.graph @g(%x: f32[6]) -> (%y: f32[A, B]) {
  %s = const i64[2] dense<[2, 3]>
  %t = Identity(%s) : i64[2] loc("id")
  %y = Reshape(%x, %t) : f32[A, B] loc("reshape")
  return %y
}`));
  assert.equal(g.nodes.at(-1)!.types[0].shape, [2, 3]);
});

const IF_OPT = `kiln.graph @g(%c: bool[]) -> (%has: bool[], %o: opt<seq<f32[2]>>) {
  %o = If(%c) : opt<seq<f32[2]>> loc("if") {
    else_branch @e() -> (%full: opt<seq<f32[2]>>) {
      %v = const f32[2] dense<[1.0, 2.0]>
      %s = SequenceConstruct(%v) : seq<f32[2]> loc("build")
      %full = Optional(%s) : opt<seq<f32[2]>> loc("wrap")
      return %full
    }
    then_branch @t() -> (%none: opt<seq<f32[2]>>) {
      %none = Optional() {type="seq<f32[2]>"} : opt<seq<f32[2]>> loc("none")
      return %none
    }
  }
  %has = OptionalHasElement(%o) : bool[] loc("has")
  return %has, %o
}`;

test('in a graph: an If returning none or a sequence; getting none is an error naming the node', () => {
  const g = inferTypes(parseGraph(IF_OPT));
  const run = (c: number) => runReferenceValues(g, new Map([['c', new Tensor('bool', [], Uint8Array.of(c))]]));
  const [hasNone, none] = run(1);
  assert.equal(nums(hasNone as Tensor), [0]);
  assert.is(none, null);
  const [hasSome, some] = run(0);
  assert.equal(nums(hasSome as Tensor), [1]);
  assert.equal((some as Tensor[]).map(nums), [[1, 2]]);
  const get = inferTypes(parseGraph(`kiln.graph @g(%o: opt<f32[2]>) -> (%y: f32[2]) {
  %y = OptionalGetElement(%o) : f32[2] loc("get")
  return %y
}`));
  assert.equal(nums(runReferenceValues(get, new Map([['o', x]]))[0] as Tensor), [1, 2]);
  try {
    runReferenceValues(get, new Map([['o', null]]));
    assert.unreachable('getting none must fail');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.equal([(e as KilnError).place.node, (e as KilnError).place.op], ['y', 'OptionalGetElement']);
    assert.match((e as Error).message, /the optional input is none/);
  }
});

test('ONNX export writes Optional\'s type back as a TypeProto; import reads it again', () => {
  const g = inferTypes(parseGraph(IF_OPT));
  const bytes = exportOnnx(g);
  const none = decodeModelProto(bytes).graph!.node![0].attribute!.find((x) => x.name === 'then_branch')!.g!.node![0];
  assert.is(none.op_type, 'Optional');
  assert.is(none.attribute![0].type, AttrType.TYPE_PROTO);
  assert.ok(none.attribute![0].tp?.sequence_type, 'a sequence TypeProto');
  assert.is(printGraph(importOnnx(bytes)), printGraph(importOnnx(exportOnnx(importOnnx(bytes)))));
  const reimported = importOnnx(bytes);
  const then = reimported.nodes[0].attrs.then_branch.value as Graph;
  assert.equal(then.nodes[0].attrs.type, { kind: 'string', value: 'seq<f32[2]>' });
});

test.run();
