/**
 * Where a cuda program's values live, for its inputs, outputs and host fallback nodes: a value whose
 * dtype the CUDA descriptor stores (lang/cuda.ts: f32, f64, f16, the integers and bool, each in its
 * host bytes) and that has a slot of the layout is **resident** in the one device arena (a view is its
 * root's range); a constant is its own data (uploaded once when a kernel reads it); any other value
 * (bf16, float8, strings) is held on the host, written and read only by fallback nodes and outputs.
 */
import type { Graph, TensorType } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import { type DType, type TensorData, dtypeInfo } from '../../ir/dtype.ts';
import type { BufferLayout } from '../buffer-layout.ts';
import { type FallbackStep, ProgramValues, hostReads, runReferenceNode } from '../fallback.ts';
import type { Value } from '../../ir/value.ts';
import { cuda } from '../../codegen/lang/cuda.ts';
import type { CudaDriver } from './driver.ts';

const count = (t: TensorType) => (t.shape as number[]).reduce((a, b) => a * b, 1);

/** True when the CUDA kernels hold `dtype` in device memory (its host bytes). */
export function onCudaDevice(dtype: DType): boolean {
  try { cuda().type(dtype); return dtype !== 'str'; } catch { return false; }
}

/** Bytes of `n` elements of `dtype` in device memory. */
export const cudaBytes = (dtype: DType, n: number): number => (onCudaDevice(dtype) ? Math.ceil((dtypeInfo(dtype).bits * n) / 8) : 0);

/** The values of one cuda program (module header). */
export class CudaValues extends ProgramValues {
  constructor(graph: Graph, layout: BufferLayout, private readonly driver: CudaDriver, private readonly base: bigint) {
    super(graph, layout);
  }

  /** True when `value`'s bytes are in the device arena. */
  resident(value: string): boolean {
    const root = this.root(value);
    return !this.isContainer(value) && (this.layout.slotOf.get(root) ?? -1) >= 0 && onCudaDevice((this.types.get(value) ?? this.layout.buffers.get(value)!).dtype);
  }

  /** The device address of `value`'s bytes. */
  address(value: string): bigint {
    return this.base + BigInt(this.layout.slots[this.layout.slotOf.get(this.root(value))!].offset);
  }

  /** Writes host data (its bytes as they are) into the slot of `value`. */
  upload(value: string, data: TensorData): void {
    const v = data as Uint8Array;
    this.driver.upload(this.address(value), new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }

  /** Stores a graph input (or a fallback node's output). */
  write(value: string, v: Value): void {
    if (this.resident(value)) this.upload(value, (v as Tensor).data); // resident values are tensors
    else this.held.set(this.root(value), v);
  }

  /** Reads values back (device ones copied to the host after the work before them finished). */
  read(values: readonly string[]): Value[] {
    return values.map((v) => {
      const t = this.type(v), shape = t.shape as number[], root = this.root(v);
      const c = this.constants.get(root);
      if (c) return root === v ? c : new Tensor(t.dtype, shape, c.data);
      if (this.resident(v)) {
        const bytes = this.driver.download(this.address(v), cudaBytes(t.dtype, count(t)));
        return new Tensor(t.dtype, shape, fromBytes(bytes, t.dtype, count(t)));
      }
      return this.heldValue(v);
    });
  }

  /**
   * Runs a fallback node on the host: its inputs (and the values its regions capture) read back, its
   * outputs written to the device.
   */
  runFallback(step: FallbackStep): void {
    const names = hostReads(step.node);
    const got = new Map(this.read(names).map((t, i) => [names[i], t]));
    runReferenceNode(step, this.types, (name) => got.get(name)!, (o, t) => this.write(o, t));
  }
}

/** Host tensor data of `dtype` over downloaded bytes. */
function fromBytes(bytes: Uint8Array, dtype: DType, n: number): TensorData {
  const b = bytes.buffer as ArrayBuffer;
  switch (dtype) {
    case 'f32': return new Float32Array(b, 0, n);
    case 'f64': return new Float64Array(b, 0, n);
    case 'f16': case 'u16': return new Uint16Array(b, 0, n);
    case 'i16': return new Int16Array(b, 0, n);
    case 'i32': return new Int32Array(b, 0, n);
    case 'u32': return new Uint32Array(b, 0, n);
    case 'i64': return new BigInt64Array(b, 0, n);
    case 'u64': return new BigUint64Array(b, 0, n);
    case 'i8': return new Int8Array(b, 0, n);
    default: return new Uint8Array(b, 0, n); // u8, bool
  }
}
