/**
 * Where a compiled backend keeps a program's buffers: one allocation (the cpu backend's ArrayBuffer,
 * the webgpu backend's device buffer) with every non-view program buffer (kernel IR
 * `Program.buffers`, slot order of lang/c.ts `bufferSlots`) at an aligned offset (64 bytes on the cpu,
 * a cache line; the device's storage offset alignment on a GPU), each element as wide as the backend
 * stores it (`bytes`; the cpu: the host's storage width, WGSL: 32-bit words for bool and
 * 8/16-bit integers). Graph inputs, outputs and constants each have their own bytes. Kernel scratch: all
 * kernels' scratch buffers share one region (each kernel's own side by side). Intermediates (with
 * `reuse`): a value lives from the call that writes it to the last call that reads it (itself or a
 * view of it), and values whose lifetimes do not meet share bytes, placed by the memory planner's
 * greedy-by-size placement: a run then writes into memory an earlier kernel just used, still in
 * cache, instead of a fresh slot per value (resnet50's 45.3 MB of intermediates, more than this
 * machine's 32 MiB L3, take 7.3 MB; mobilenetv2 26.7 -> 6.0 MB, bert 11.8 -> 0.9 MB, lowered for
 * 256-bit vectors). Without `reuse` (a program with reference fallback nodes, whose
 * reads and writes between native segments are not calls) every value has its own bytes.
 *
 * Why not the memory plan's offsets: the plan may place an output in place over an input the same
 * kernel reads, and the generated C declares every parameter `restrict` (and WebGPU refuses a
 * dispatch whose writable binding overlaps another of its bindings), so compiled kernels must never
 * see two params share bytes. Lifetimes here are closed intervals of calls, so a kernel's
 * inputs and outputs never share bytes.
 * A view (Reshape...) has no slot of its own: it is its root's bytes (`aliasOf`).
 */
import { type DType, storageBytes as hostBytes } from '../ir/dtype.ts';
import { KilnError } from '../errors.ts';
import type { Program as KernelProgram, ProgramBuffer } from '../codegen/kir.ts';
import { bufferSlots } from '../codegen/lang/c.ts';
import { type Block, arenaSize, placeBySize } from '../schedule/placement.ts';

/** Byte alignment of every slot by default (a cache line; enough for any SIMD load). */
export const SLOT_ALIGNMENT = 64;

/** Options of layoutBuffers. */
export interface LayoutOptions {
  /** Intermediates share bytes by lifetime (see the module header). */
  readonly reuse?: boolean;
  /** Byte alignment of every slot (default SLOT_ALIGNMENT). */
  readonly alignment?: number;
  /** Bytes of `count` elements of `dtype` in this backend's storage (default: the host's, storageBytes). */
  readonly bytes?: (dtype: DType, count: number) => number;
}

/** One slot: a value's bytes in the program buffer. */
export interface SlotLayout {
  readonly slot: number;
  /** Byte offset in the buffer. */
  readonly offset: number;
  readonly bytes: number;
}

/** The buffer layout of a kernel program. */
export interface BufferLayout {
  /** Total bytes of the one ArrayBuffer. */
  readonly totalBytes: number;
  /** Slots in slot order (index = slot number). */
  readonly slots: readonly SlotLayout[];
  /** Every program buffer's value name → its slot (views → their root's). */
  readonly slotOf: ReadonlyMap<string, number>;
  /** Program buffers by value name. */
  readonly buffers: ReadonlyMap<string, ProgramBuffer>;
}

/** Lays out `program`'s buffers; a KilnError when a view's root has no buffer (a lowering gap). */
export function layoutBuffers(program: KernelProgram, opts: LayoutOptions = {}): BufferLayout {
  const slotOf = bufferSlots(program);
  const buffers = new Map(program.buffers.map((b) => [b.value, b]));
  const alignment = opts.alignment ?? SLOT_ALIGNMENT;
  const storageBytes = opts.bytes ?? hostBytes;
  const aligned = (bytes: number) => Math.ceil(Math.max(bytes, 1) / alignment) * alignment;
  // kernel scratch (im2col columns, packed panels) is dead between calls and kernels run one at a
  // time: every kernel's scratch shares one region, its own buffers side by side (they are distinct
  // restrict params), so a model needs the largest kernel's scratch, not the sum, and reuses it warm
  const scratchAt = new Map<string, number>();
  let region = 0;
  for (const c of program.calls) {
    let off = 0;
    for (const a of c.args) {
      const b = buffers.get(a);
      if (b?.kind !== 'scratch' || b.aliasOf !== undefined || scratchAt.has(a)) continue;
      scratchAt.set(a, off);
      off += aligned(storageBytes(b.dtype, b.count));
    }
    region = Math.max(region, off);
  }
  const shared = opts.reuse ? shareIntermediates(program, buffers, aligned, storageBytes, alignment) : { at: new Map<string, number>(), bytes: 0 };
  const offsets = new Map<string, number>();
  let at = 0;
  for (const b of program.buffers) {
    if (b.aliasOf !== undefined || scratchAt.has(b.value) || shared.at.has(b.value)) continue;
    offsets.set(b.value, at);
    at += aligned(storageBytes(b.dtype, b.count)); // sub-byte types hold one element per byte
  }
  for (const [value, off] of scratchAt) offsets.set(value, at + off);
  at += region;
  for (const [value, off] of shared.at) offsets.set(value, at + off);
  at += shared.bytes;
  const slots: SlotLayout[] = [];
  for (const b of program.buffers) {
    if (b.aliasOf !== undefined) continue;
    slots.push({ slot: slotOf.get(b.value)!, offset: offsets.get(b.value)!, bytes: storageBytes(b.dtype, b.count) });
  }
  for (const [value, slot] of slotOf) {
    if (slot < 0) throw new KilnError(`value '%${value}' is a view of '%${buffers.get(value)?.aliasOf}', which has no program buffer`, { node: value });
  }
  return { totalBytes: Math.max(at, alignment), slots, slotOf, buffers };
}

/**
 * Offsets of the intermediates inside one shared region (see the module header): lifetimes as call
 * intervals [first write, last read], placed by the memory planner's greedy-by-size placement
 * (schedule/placement.ts: largest first, each in the best-fitting gap clear of every placed value
 * whose interval meets its own).
 */
function shareIntermediates(program: KernelProgram, buffers: ReadonlyMap<string, ProgramBuffer>, aligned: (bytes: number) => number,
  storageBytes: (dtype: DType, count: number) => number, alignment: number) {
  const rootOf = (v: string): string => {
    let b = buffers.get(v);
    let name = v;
    while (b?.aliasOf !== undefined) { name = b.aliasOf; b = buffers.get(name); }
    return name;
  };
  const life = new Map<string, { first: number; last: number }>();
  program.calls.forEach((c, i) => {
    for (const a of c.args) {
      const root = rootOf(a);
      if (buffers.get(root)?.kind !== 'intermediate') continue;
      const l = life.get(root);
      if (l) l.last = i; else life.set(root, { first: i, last: i });
    }
  });
  // a graph output that is a view of an intermediate (Reshape as the last node) is read after the
  // run: its root lives to the end
  for (const b of program.buffers) {
    if (b.aliasOf === undefined || b.kind === 'intermediate') continue;
    const l = life.get(rootOf(b.value));
    if (l) l.last = program.calls.length;
  }
  // the memory planner's placement (TFLite's greedy by size), on call intervals instead of plan steps
  const values = [...life.keys()];
  const blocks: Block[] = values.map((v) => ({ size: aligned(storageBytes(buffers.get(v)!.dtype, buffers.get(v)!.count)), ...life.get(v)! }));
  const offsets = placeBySize(blocks, alignment);
  return { at: new Map(values.map((v, i) => [v, offsets[i]])), bytes: arenaSize(blocks, offsets) };
}

