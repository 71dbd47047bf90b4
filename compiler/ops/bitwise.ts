/**
 * Bit-level ops and float classification: BitwiseAnd, BitwiseOr, BitwiseXor (numpy broadcasting),
 * BitwiseNot, BitShift, BitCast, IsNaN, IsInf.
 *
 * Bitwise ops work on the integer storage: i8..u32 as JS numbers (32-bit operators whose result the
 * typed-array store wraps back to the element width, so signed and unsigned agree bit for bit),
 * i64/u64 as BigInts (two's complement operators, stores wrap modulo 2^64). BitShift (unsigned types
 * only, as in ONNX) shifts by the second operand; a shift by the element width or more gives 0, as
 * numpy does. BitCast reinterprets the input's bytes as the `to` dtype, which must have the same
 * element width (shape unchanged). IsNaN and IsInf decode any float dtype (float8 included) and
 * return bool; IsInf's detect_negative / detect_positive select which infinities count.
 */
import type { DType } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import { AttrError, type OpDef } from './registry.ts';
import { required, INT_TYPES } from './support.ts';
import { checkDType, need } from './elementwise.ts';
import { unaryOp } from './unary-kernel.ts';
import { arithOp } from './binary.ts';
import { targetDType } from './cast.ts';

const UNSIGNED: readonly DType[] = ['u8', 'u16', 'u32', 'u64'];

interface ShiftAttrs { readonly left: boolean }

const bitShift = arithOp<ShiftAttrs>({
  name: 'BitShift', types: UNSIGNED,
  attrs: (r) => ({ left: r.oneOf('direction', r.string('direction'), ['LEFT', 'RIGHT']) === 'LEFT' }),
  int: (a, b, y, { left }) => {
    // u8..u32 values and shifts below 32 bits: JS shifts are exact there; the store wraps to the width
    const bits = (y.BYTES_PER_ELEMENT * 8);
    for (let i = 0; i < y.length; i++) {
      const s = b[i];
      y[i] = s >= bits ? 0 : left ? a[i] << s : a[i] >>> s;
    }
  },
  big: (a, b, y, { left }) => {
    for (let i = 0; i < y.length; i++) { const s = b[i]; y[i] = s >= 64n ? 0n : left ? a[i] << s : a[i] >> s; }
  },
});

interface IsInfAttrs { readonly negative: boolean; readonly positive: boolean }

/** IsNaN/IsInf input dtypes: every float dtype, float8 included. */
const CLASSIFIED: readonly DType[] = ['f32', 'f16', 'bf16', 'f64', 'f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz'];

/** A float -> bool classification op. */
function classifyOp<A>(name: string, attrs: OpDef<A>['parseAttrs'], test: (v: number, attrs: A) => boolean): OpDef<A> {
  return {
    name,
    inputs: [1, 1],
    outputs: [1, 1],
    elementwise: true,
    inPlace: 'all',
    parseAttrs: attrs,
    inferTypes(inputs) {
      const x = required(inputs, 0, `${name} input`);
      checkDType(name, x.dtype, CLASSIFIED);
      return [{ dtype: 'bool', shape: x.shape }];
    },
    run(inputs, a) {
      const x = need(inputs[0], `${name} input`);
      checkDType(name, x.dtype, CLASSIFIED);
      const v = readNumbers(x);
      const y = new Uint8Array(v.length);
      for (let i = 0; i < v.length; i++) y[i] = test(v[i], a) ? 1 : 0;
      return [new Tensor('bool', x.shape, y)];
    },
  };
}

const bitCast: OpDef<{ readonly to: DType }> = {
  name: 'BitCast',
  inputs: [1, 1],
  outputs: [1, 1],
  parseAttrs: (r) => ({ to: targetDType(r) }),
  inferTypes(inputs, { to }) {
    const x = required(inputs, 0, 'BitCast input');
    checkWidths(x.dtype, to);
    return [{ dtype: to, shape: x.shape }];
  },
  run(inputs, { to }) {
    const x = need(inputs[0], 'BitCast input');
    checkWidths(x.dtype, to);
    const src = x.data as Exclude<typeof x.data, string[]>;
    const out = dtypeInfo(to).alloc(x.size) as Exclude<typeof x.data, string[]>;
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return [new Tensor(to, x.shape, out)];
  },
};

/** BitCast needs byte-stored dtypes of one element width (the ONNX constraint). */
function checkWidths(from: DType, to: DType): void {
  const a = dtypeInfo(from).bits, b = dtypeInfo(to).bits;
  for (const [d, bits] of [[from, a], [to, b]] as const) {
    if (d === 'str' || bits % 8 !== 0) throw new AttrError('to', `BitCast cannot reinterpret ${d} (to and the input need a whole-byte numeric or bool dtype)`);
  }
  if (a !== b) throw new AttrError('to', `BitCast to ${to} (${b} bits) from input dtype ${from} (${a} bits): element widths must be equal`);
}

export const bitwiseOps: OpDef<any>[] = [
  arithOp({
    name: 'BitwiseAnd', types: INT_TYPES,
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] & b[i]; },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] & b[i]; },
  }),
  arithOp({
    name: 'BitwiseOr', types: INT_TYPES,
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] | b[i]; },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] | b[i]; },
  }),
  arithOp({
    name: 'BitwiseXor', types: INT_TYPES,
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] ^ b[i]; },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] ^ b[i]; },
  }),
  unaryOp({
    name: 'BitwiseNot', types: INT_TYPES,
    int: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = ~x[i]; },
    big: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = ~x[i]; },
  }),
  bitShift,
  bitCast,
  classifyOp('IsNaN', () => ({}), (v) => v !== v),
  classifyOp<IsInfAttrs>('IsInf', (r) => ({
    negative: r.oneOf('detect_negative', r.int('detect_negative', 1), [0, 1]) === 1,
    positive: r.oneOf('detect_positive', r.int('detect_positive', 1), [0, 1]) === 1,
  }), (v, { negative, positive }) => (v === Infinity && positive) || (v === -Infinity && negative)),
];
