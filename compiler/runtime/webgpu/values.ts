/**
 * Where a webgpu program's values live, for its inputs, outputs and host fallback nodes:
 * - a value with a device form (transfer.ts) and a slot of the layout is **resident**: its bytes are
 *   a range of the one device buffer (a graph-level view such as Reshape is its root's range). Writes
 *   go through `queue.writeBuffer` (ordered before later submits); reads copy the range into a staging
 *   buffer and map it.
 * - a constant is its own data (uploaded too when a kernel reads it).
 * - any other value (a dtype with no device form: f64, strings, bf16...) is held on the host, written
 *   by the caller or by fallback nodes and read by them and the outputs; no kernel touches it.
 */
import type { Graph, TensorType } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { DType, TensorData } from '../../ir/dtype.ts';
import type { BufferLayout } from '../buffer-layout.ts';
import { type FallbackStep, ProgramValues, hostReads, runReferenceNode } from '../fallback.ts';
import type { Value } from '../../ir/value.ts';
import { deviceBytes, fromDevice, onDevice, toDevice } from './transfer.ts';

const G = () => globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
const count = (t: TensorType) => (t.shape as number[]).reduce((a, b) => a * b, 1);
const up4 = (n: number) => Math.ceil(n / 4) * 4;

/** The values of one webgpu program (module header). */
export class DeviceValues extends ProgramValues {
  private staging: GPUBuffer | undefined;

  constructor(graph: Graph, layout: BufferLayout, private readonly device: GPUDevice, private readonly buffer: GPUBuffer) {
    super(graph, layout);
  }

  /** True when `value`'s bytes are in the device buffer. */
  resident(value: string): boolean {
    const root = this.root(value);
    return !this.isContainer(value) && (this.layout.slotOf.get(root) ?? -1) >= 0 && onDevice((this.types.get(value) ?? this.layout.buffers.get(value)!).dtype);
  }

  private offset(value: string): number {
    return this.layout.slots[this.layout.slotOf.get(this.root(value))!].offset;
  }

  /** Writes host data of `value`'s dtype into its slot. */
  upload(value: string, data: TensorData): void {
    this.uploadRaw(value, this.type(value).dtype, data);
  }

  /** Writes host data of `dtype` into the slot of program buffer `value` (packed constants). */
  uploadRaw(value: string, dtype: DType, data: TensorData): void {
    const bytes = toDevice(data, dtype);
    const padded = bytes.byteLength % 4 ? (() => { const p = new Uint8Array(up4(bytes.byteLength)); p.set(bytes); return p; })() : bytes;
    this.device.queue.writeBuffer(this.buffer, this.offset(value), padded.buffer, padded.byteOffset, padded.byteLength);
  }

  /** Stores a graph input (or a fallback node's output). */
  write(value: string, v: Value): void {
    if (this.resident(value)) this.upload(value, (v as Tensor).data); // resident values are tensors
    else this.held.set(this.root(value), v);
  }

  /** Reads values: resident ones through one staging copy, the rest from the host. */
  async read(values: readonly string[]): Promise<Value[]> {
    const resident = values.filter((v) => this.resident(v) && !this.constants.has(this.root(v)));
    const at = new Map<string, number>();
    let total = 0;
    for (const v of resident) {
      if (at.has(v)) continue;
      at.set(v, total);
      total += up4(this.deviceBytes(v));
    }
    let mapped: Uint8Array | undefined;
    if (total > 0) {
      const usage = G().GPUBufferUsage;
      if (!this.staging || this.staging.size < total) {
        this.staging?.destroy();
        this.staging = this.device.createBuffer({ size: total, usage: usage.MAP_READ | usage.COPY_DST });
      }
      const enc = this.device.createCommandEncoder();
      for (const [v, off] of at) enc.copyBufferToBuffer(this.buffer, this.offset(v), this.staging, off, up4(this.deviceBytes(v)));
      this.device.queue.submit([enc.finish()]);
      await this.staging.mapAsync(G().GPUMapMode.READ, 0, total);
      mapped = new Uint8Array(this.staging.getMappedRange(0, total).slice(0));
      this.staging.unmap();
    }
    return values.map((v) => {
      const t = this.type(v), shape = t.shape as number[], root = this.root(v);
      const c = this.constants.get(root);
      if (c) return root === v ? c : new Tensor(t.dtype, shape, c.data);
      const off = at.get(v);
      if (off !== undefined) return new Tensor(t.dtype, shape, fromDevice(mapped ? mapped.subarray(off) : new Uint8Array(0), t.dtype, count(t)));
      return this.heldValue(v);
    });
  }

  private deviceBytes(value: string): number {
    const t = this.type(value);
    return deviceBytes(t.dtype, count(t));
  }

  /** Graph outputs, in order. */
  async readOutputs(names: readonly string[]): Promise<Tensor[]> {
    return (await this.read(names)) as Tensor[]; // graph outputs are tensors (fallback.ts containerBoundary)
  }

  /** Runs a fallback node on the host: its inputs read back, its outputs written to the device. */
  async runFallback(step: FallbackStep): Promise<void> {
    const names = hostReads(step.node); // inputs and the values its regions capture
    const got = new Map((await this.read(names)).map((t, i) => [names[i], t]));
    runReferenceNode(step, this.types, (name) => got.get(name)!, (o, t) => this.write(o, t));
  }

  dispose(): void {
    this.staging?.destroy();
    this.staging = undefined;
    this.held.clear();
  }
}
