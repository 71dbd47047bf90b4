/**
 * Op family 'optional': the ONNX ops over optionals (ir/value.ts: an optional value is its tensor or
 * sequence, or `null` for none; its IR type is `opt<T>` or `opt<seq<T>>`). Every op has a value
 * kernel (`runValues`) only.
 *
 * Optional(input?; type) wraps a tensor or sequence into an optional holding it; without an input it
 * makes none, whose element type the `type` attribute gives. ONNX gives that attribute as a
 * TypeProto, which kiln's IR has no attribute kind for: the importer (import/onnx/proto-values.ts)
 * stores it as a string holding kiln's type text (ir/graph.ts `formatType`, e.g. `seq<f32[5]>`), which
 * `parseTypeText` reads back. OptionalHasElement(input?) is true when the input holds a value: a
 * non-optional tensor or sequence always does (opset 18), an omitted input never does.
 * OptionalGetElement(input) returns the held value (a tensor or a sequence; a non-optional input comes
 * back as it is, opset 18) and is an error on none.
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import { formatType } from '../ir/graph.ts';
import { DTYPES, type DType } from '../ir/dtype.ts';
import { Tensor } from '../ir/tensor.ts';
import { AttrError, type OpDef, valueKernelOnly } from './registry.ts';

/**
 * A tensor or sequence type from kiln's type text (`f32[2,N]`, `i64[]`, `f32[*]`, `seq<f32[5]>`), or
 * undefined when the text is not one.
 */
export function parseTypeText(text: string): TensorType | undefined {
  const m = /^(seq<)?([a-z0-9]+)\[([^\]]*)\](>?)$/.exec(text.trim());
  if (!m || Boolean(m[1]) !== Boolean(m[4]) || !(DTYPES as readonly string[]).includes(m[2])) return undefined;
  const dtype = m[2] as DType;
  const container = m[1] ? { container: 'seq' as const } : {};
  if (m[3].trim() === '*') return m[1] ? { dtype, shape: [], container: 'seq', unranked: true } : undefined;
  const dims = m[3].trim() === '' ? [] : m[3].split(',').map((d) => d.trim());
  if (dims.some((d) => !/^(\d+|[A-Za-z_][\w.:/-]*)$/.test(d))) return undefined;
  const shape: Dim[] = dims.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
  return { dtype, shape, ...container };
}

/** The optional type holding values of `t` (a tensor or sequence type). */
function optionalOf(t: TensorType, what: string): TensorType {
  if (t.container === 'opt' || t.container === 'opt-seq') throw new Error(`${what} is already optional (${formatType(t)}); an optional holds a tensor or a sequence`);
  return { ...t, container: t.container === 'seq' ? 'opt-seq' : 'opt' };
}

const Optional: OpDef<{ type?: TensorType }> = {
  name: 'Optional', inputs: [0, 1], outputs: [1, 1],
  parseAttrs(r) {
    if (!r.has('type')) return {};
    const text = r.string('type');
    const type = parseTypeText(text);
    if (!type) throw new AttrError('type', `'${text}' is not a tensor or sequence type (such as f32[2,3] or seq<f32[N]>)`);
    return { type };
  },
  inferTypes(inputs, a) {
    const x = inputs[0];
    if (!x && !a.type) throw new Error('without an input, the attribute type must give the element type');
    if (x && a.type && (x.dtype !== a.type.dtype || (x.container === 'seq') !== (a.type.container === 'seq'))) {
      throw new Error(`the input is ${formatType(x)} but attribute type says ${formatType(a.type)}`);
    }
    return [optionalOf(x ?? a.type!, x ? 'the input' : 'attribute type')];
  },
  run: valueKernelOnly('Optional'),
  runValues: ([x]) => [x ?? null],
};

const OptionalHasElement: OpDef<Record<string, never>> = {
  name: 'OptionalHasElement', inputs: [0, 1], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes: () => [{ dtype: 'bool', shape: [] }],
  run: valueKernelOnly('OptionalHasElement'),
  runValues: ([x]) => [new Tensor('bool', [], Uint8Array.of(x == null ? 0 : 1))],
};

const OptionalGetElement: OpDef<Record<string, never>> = {
  name: 'OptionalGetElement', inputs: [1, 1], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes([x]) {
    if (!x) throw new Error('input is required');
    if (x.container === 'opt-seq') return [{ ...x, container: 'seq' }];
    if (x.container !== 'opt') return [x];
    if (x.unranked) throw new Error(`the rank of ${formatType(x)}'s tensor is not known, and kiln tensors have a rank`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run: valueKernelOnly('OptionalGetElement'),
  runValues([x]) {
    if (x == null) throw new Error('the optional input is none: it holds no element to get');
    return [x];
  },
};

/** The optional ops. */
export const optionalOps: OpDef<any>[] = [Optional, OptionalHasElement, OptionalGetElement];
