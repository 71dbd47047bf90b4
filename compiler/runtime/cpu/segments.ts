/**
 * Reference fallback inside one cpu program: the nodes that do not lower to kernels run on their ops'
 * reference kernels (OpDef.run, as reference.ts and arena.ts call them), in the execution order,
 * between the native kernels, on the program's one ArrayBuffer.
 *
 * The steps (native segments and fallback steps) are runtime/fallback.ts's `planSteps`. The fast
 * path makes one native call per segment: `kiln_run_segment(s, base, offsets)` (generated here,
 * appended to the C file) calls the kernels of segment `s` in turn; with `onKernel`,
 * `kiln_run_segment_timed` (timed.ts) calls them the same way and times each kernel natively.
 *
 * Where a fallback node's values live (`FallbackValues`):
 * - a value whose dtype is byte-addressable (its storage array has exactly the element width the
 *   layout gives it: every numeric type, bool, f16/bf16 as bits, float8 codes, sub-byte integers one
 *   per byte) is a typed-array view of its slot
 *   (layout.ts: one 64-byte aligned slot per value, so every view is aligned and no two values share
 *   bytes; a graph-level view such as Reshape reads its root's slot with its own shape). Reads build no
 *   copy; a kernel's result is copied into the slot, so native kernels after it read it.
 * - a constant is its own data (the program copies it into a slot too when a native kernel reads it).
 * - a value of another dtype (str) cannot be in a slot and no native kernel
 *   can read or write it (the C target has no type for it), so it lives in a map on the TypeScript
 *   side, written by the caller (inputs) or by fallback nodes and read by them and the outputs.
 *
 * - a sequence or optional (no fixed bytes), or a tensor whose size is known only at run time (no
 *   buffer: codegen/lower), is held on the TypeScript side too; only fallback nodes (sequence ops,
 *   control flow, and every node reading or writing a run-time-sized tensor) make and read them.
 *
 * The fallback node itself runs through runtime/fallback.ts `runReferenceNode` (a control-flow node's
 * regions on the reference executor, reading the values they capture through `read`).
 */
import type { Graph, TensorType } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import { type Value, describeValue } from '../../ir/value.ts';
import { type DType, type TensorData, dtypeInfo, storageBytes } from '../../ir/dtype.ts';
import type { Program as KernelProgram } from '../../codegen/kir.ts';
import { type CompiledRegion, type FallbackStep, type NativeSegment, ProgramValues, type ProgramStep, runReferenceNode } from '../fallback.ts';
import { type CpuLayout, bufferPointers } from './layout.ts';

/** The C statement of the program's call `i`, its buffers read from `b[slot]` (as the entries build `b`). */
export function callSource(program: KernelProgram, slotOf: ReadonlyMap<string, number>, i: number): string {
  const c = program.calls[i];
  return `${c.kernel}(${c.args.map((a) => `b[${slotOf.get(a)}]`).join(', ')});`;
}

/**
 * The C of `kiln_run_segment(s, base, offsets)`: the buffer pointers from one base and the slot
 * offsets (as `kiln_run_at` builds them), then the kernels of segment `s` in order. The kernels take
 * typed pointers; C converts the `void *` slots implicitly.
 */
export function segmentEntrySource(program: KernelProgram, slotOf: ReadonlyMap<string, number>, slotCount: number, steps: readonly ProgramStep[]): string {
  const cases = steps.filter((s): s is NativeSegment => s.kind === 'native').map((s) => {
    const calls = s.calls.map((i) => `    ${callSource(program, slotOf, i)}`);
    return [`  case ${s.segment}:`, ...calls, '    break;'].join('\n');
  });
  return `
/* kiln cpu backend: one entry per native segment between reference fallback nodes */
void kiln_run_segment(int s, uint8_t *base, const int64_t *offsets) {
${bufferPointers(slotCount, 'b')}
  switch (s) {
${cases.join('\n')}
  default: break;
  }
}
`;
}

/** True when `dtype`'s storage array has the element width the layout gives it (a slot can be viewed as it). */
export function byteAddressable(dtype: DType): boolean {
  const probe = dtypeInfo(dtype).alloc(0) as { BYTES_PER_ELEMENT?: number };
  return probe.BYTES_PER_ELEMENT !== undefined && probe.BYTES_PER_ELEMENT === storageBytes(dtype, 1);
}

/** A typed array of `dtype` with `n` elements over `buffer` at byte `at`. */
function viewOf(buffer: ArrayBuffer, at: number, dtype: DType, n: number): TensorData {
  const ctor = (dtypeInfo(dtype).alloc(0) as unknown as { constructor: new (b: ArrayBuffer, o: number, n: number) => TensorData }).constructor;
  return new ctor(buffer, at, n);
}

const elements = (t: TensorType) => (t.shape as number[]).reduce((a, b) => a * b, 1);

/** Every value of a cpu program as fallback nodes, inputs and outputs see it (module header). */
export class FallbackValues extends ProgramValues {
  /** Slot views, built once per value. */
  private readonly views = new Map<string, Tensor>();

  constructor(graph: Graph, layout: CpuLayout, private readonly buffer: ArrayBuffer) {
    super(graph, layout);
  }

  /** Whether `value` lives in a slot of the buffer (else: a constant's data or the TypeScript side). */
  inSlot(value: string): boolean {
    const root = this.root(value);
    return !this.constants.has(root) && !this.isContainer(value) && byteAddressable(this.type(value).dtype) && (this.layout.slotOf.get(root) ?? -1) >= 0;
  }

  /**
   * The value (a tensor is a view of its slot: copy it before keeping it past the next run; a
   * sequence or optional is held on the TypeScript side).
   */
  read(value: string): Value {
    const t = this.type(value), root = this.root(value), shape = t.shape as number[];
    const c = this.constants.get(root);
    if (c) return root === value ? c : new Tensor(t.dtype, shape, c.data);
    if (this.inSlot(value)) {
      let v = this.views.get(value);
      if (!v) {
        const slot = this.layout.slots[this.layout.slotOf.get(root)!];
        this.views.set(value, (v = new Tensor(t.dtype, shape, viewOf(this.buffer, slot.offset, t.dtype, elements(t)))));
      }
      return v;
    }
    return this.heldValue(value);
  }

  /** Stores `v` as `value` (its type checked by the caller). */
  write(value: string, v: Value): void {
    if (this.inSlot(value)) {
      if (!(v instanceof Tensor)) throw new Error(`${describeValue(v)} where a tensor is stored`);
      const view = (this.read(value) as Tensor).data as Uint8Array;
      if (v.data.constructor !== view.constructor) throw new Error(`storage ${v.data.constructor.name}, expected ${view.constructor.name}`);
      view.set(v.data as Uint8Array);
    } else {
      this.held.set(this.root(value), v);
    }
  }

  /** Region bodies compiled as programs of their own (cpu/index.ts), by region. */
  readonly compiledRegions = new Map<Graph, CompiledRegion>();

  /**
   * Runs one fallback node on its reference kernel, reading and writing its values here (a control-flow
   * node's bodies compiled where `compiledRegions` has them).
   */
  run(step: FallbackStep): void {
    runReferenceNode(step, this.types, (name) => this.read(name), (o, t) => this.write(o, t), this.compiledRegions);
  }
}
