/** Helpers of the arena executor tests. */
import type { Tensor } from '../../compiler/ir/tensor.ts';

/** Bytes of a tensor's storage (numbers only; `str` tensors have none). */
export function bytesOf(t: Tensor): Uint8Array {
  const d = t.data as Uint8Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** True when both tensors have the same dtype, shape and storage bits (NaN payloads included). */
export function sameBits(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  if (a.dtype === 'str') return (a.data as string[]).every((s, i) => s === (b.data as string[])[i]);
  return Buffer.compare(bytesOf(a), bytesOf(b)) === 0;
}
