/**
 * The C entry points the cpu backend appends to a rendered program; its buffer layout is
 * runtime/buffer-layout.ts (shared with the webgpu backend).
 */
export { type BufferLayout as CpuLayout, SLOT_ALIGNMENT, layoutBuffers } from '../buffer-layout.ts';

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
${bufferPointers(slotCount, 'buffers')}
  kiln_run(buffers);
}
`;
}

/**
 * The C lines every entry starts with (kiln_run_at, and segments.ts's and timed.ts's entries): the
 * array `name` of buffer pointers, slot i at `base + offsets[i]`.
 */
export function bufferPointers(slotCount: number, name: string): string {
  return `  void *${name}[${slotCount + 1}];\n  for (int i = 0; i < ${slotCount}; i++) ${name}[i] = base + offsets[i];`;
}
