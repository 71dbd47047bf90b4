/**
 * Where the cpu backend keeps a compiled program's buffers: one ArrayBuffer with every non-view
 * program buffer (kernel IR `Program.buffers`, slot order of lang/c.ts `bufferSlots`) at its own
 * 64-byte aligned offset, laid out one after another — no reuse between values.
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
  const slots: SlotLayout[] = [];
  let at = 0;
  for (const b of program.buffers) {
    if (b.aliasOf !== undefined) continue;
    const bytes = storageBytes(b.dtype, b.count); // sub-byte types hold one element per byte
    slots.push({ slot: slotOf.get(b.value)!, offset: at, bytes });
    at += Math.ceil(Math.max(bytes, 1) / SLOT_ALIGNMENT) * SLOT_ALIGNMENT;
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
 * the calling thread (the one that runs every kernel and opens every parallel region).
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
