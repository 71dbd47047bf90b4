/**
 * Host tensors ↔ device bytes for the webgpu backend. A value's device bytes follow the WGSL storage
 * model of codegen/lang/wgsl.ts (`wgslStorage`): f32, i32, u32, f16 (with shader-f16), i64 and u64
 * (two 32-bit words, little endian) have the host's bytes exactly and are copied as they are; bool and
 * the 8- and 16-bit integers are widened to one 32-bit word per element on the way in (i8, i16
 * sign-extended into i32; u8, u16, bool zero-extended into u32) and narrowed on the way out (every
 * device value of those types already lies in its type's range: the kernels wrap). Other dtypes have
 * no device form and stay on the host.
 */
import { type DType, type TensorData, dtypeInfo } from '../../ir/dtype.ts';
import { wgslStorage } from '../../codegen/lang/wgsl.ts';

/** Bytes of `count` elements of `dtype` on the device (0 when the dtype has no device form). */
export function deviceBytes(dtype: DType, count: number): number {
  const s = wgslStorage(dtype);
  return s ? s.bytes * count : 0;
}

/** True when `dtype` has a device form. */
export const onDevice = (dtype: DType): boolean => wgslStorage(dtype) !== undefined;

/** True when the device bytes of `dtype` are the host's (no conversion). */
function sameBytes(dtype: DType): boolean {
  const s = wgslStorage(dtype)!;
  return s.bytes === dtypeInfo(dtype).bits / 8;
}

/** The device bytes of host data of `dtype` (a view when no conversion is needed). */
export function toDevice(data: TensorData, dtype: DType): Uint8Array {
  if (sameBytes(dtype)) {
    const v = data as Uint8Array;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  const n = (data as ArrayLike<number>).length;
  const signed = dtype === 'i8' || dtype === 'i16';
  const words = signed ? new Int32Array(n) : new Uint32Array(n);
  const src = data as ArrayLike<number>;
  for (let i = 0; i < n; i++) words[i] = Number(src[i]);
  return new Uint8Array(words.buffer);
}

/** Host data of `dtype` and `count` elements from its device bytes (copied). */
export function fromDevice(bytes: Uint8Array, dtype: DType, count: number): TensorData {
  const out = dtypeInfo(dtype).alloc(count) as TensorData;
  if (sameBytes(dtype)) {
    const dst = out as Uint8Array;
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(bytes.subarray(0, dst.byteLength));
    return out;
  }
  const signed = dtype === 'i8' || dtype === 'i16';
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const words = signed ? new Int32Array(aligned.buffer, aligned.byteOffset, count) : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
  const dst = out as unknown as { [i: number]: number };
  for (let i = 0; i < count; i++) dst[i] = dtype === 'bool' ? (words[i] ? 1 : 0) : words[i];
  return out;
}
