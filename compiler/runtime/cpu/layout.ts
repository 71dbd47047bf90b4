/**
 * Where the cpu backend keeps a compiled program's buffers: one ArrayBuffer with every non-view
 * program buffer (kernel IR `Program.buffers`, slot order of lang/c.ts `bufferSlots`) at its own
 * 64-byte aligned offset, laid out one after another — no reuse between values, except kernel scratch:
 * all kernels' scratch buffers share one region (each kernel's own side by side).
 *
 * Why not the memory plan's offsets (yet): the plan may place an output in place over an input the
 * same kernel reads, and the generated C declares every parameter `restrict`, so compiled kernels must
 * never see two params share bytes. One slot per value is always correct; reusing the plan's layout for
 * values whose lifetimes do not meet (without its in-place decisions) is a later memory optimisation.
 * A view (Reshape...) has no slot of its own: it is its root's bytes (`aliasOf`).
 */
import { storageBytes } from '../../ir/dtype.ts';
import { KilnError } from '../../errors.ts';
import type { Program as KernelProgram, ProgramBuffer } from '../../codegen/kir.ts';
import { bufferSlots } from '../../codegen/lang/c.ts';

/** Byte alignment of every slot (a cache line; enough for any SIMD load). */
export const SLOT_ALIGNMENT = 64;

/** One slot: a value's bytes in the program buffer. */
export interface SlotLayout {
  readonly slot: number;
  /** Byte offset in the buffer. */
  readonly offset: number;
  readonly bytes: number;
}

/** The buffer layout of a kernel program. */
export interface CpuLayout {
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
export function layoutBuffers(program: KernelProgram): CpuLayout {
  const slotOf = bufferSlots(program);
  const buffers = new Map(program.buffers.map((b) => [b.value, b]));
  const aligned = (bytes: number) => Math.ceil(Math.max(bytes, 1) / SLOT_ALIGNMENT) * SLOT_ALIGNMENT;
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
  const offsets = new Map<string, number>();
  let at = 0;
  for (const b of program.buffers) {
    if (b.aliasOf !== undefined || scratchAt.has(b.value)) continue;
    offsets.set(b.value, at);
    at += aligned(storageBytes(b.dtype, b.count)); // sub-byte types hold one element per byte
  }
  for (const [value, off] of scratchAt) offsets.set(value, at + off);
  at += region;
  const slots: SlotLayout[] = [];
  for (const b of program.buffers) {
    if (b.aliasOf !== undefined) continue;
    slots.push({ slot: slotOf.get(b.value)!, offset: offsets.get(b.value)!, bytes: storageBytes(b.dtype, b.count) });
  }
  for (const [value, slot] of slotOf) {
    if (slot < 0) throw new KilnError(`value '%${value}' is a view of '%${buffers.get(value)?.aliasOf}', which has no program buffer`, { node: value });
  }
  return { totalBytes: Math.max(at, SLOT_ALIGNMENT), slots, slotOf, buffers };
}

/**
 * The C this backend appends to the rendered program (the renderer's entry takes an array of
 * pointers, which koffi would build afresh per call): `kiln_run_at(base, offsets)` builds that array
 * from one base pointer and the slot offsets, and `kiln_set_threads(n)` sets OpenMP's thread count for
 * the calling thread (the one that runs every kernel and opens every parallel region). The timed
 * entries (per-kernel timings) are timed.ts's.
 */
export function entrySource(slotCount: number): string {
  return `
/* kiln cpu backend entry points */
#include <omp.h>
void kiln_set_threads(int n) { omp_set_num_threads(n); }
void kiln_run_at(uint8_t *base, const int64_t *offsets) {
  void *buffers[${slotCount + 1}];
  for (int i = 0; i < ${slotCount}; i++) buffers[i] = base + offsets[i];
  kiln_run(buffers);
}
`;
}
