/**
 * How a cpu program runs, timed or not: the timed native entry points (generated here, appended to the
 * C file after layout.ts's and segments.ts's entries) and the run loop that calls them.
 *
 * Timed entries. `kiln_run_timed_at(base, offsets, ms)` calls the kernels exactly as `kiln_run` does
 * (same kernels, same order, same buffers) and, with fallback nodes, `kiln_run_segment_timed(s, base,
 * offsets, ms)` calls segment `s`'s kernels exactly as `kiln_run_segment` does. Around each kernel call
 * they read CLOCK_MONOTONIC (clock_gettime, <time.h>; POSIX, as the FP32 peak probe uses it) and
 * store the kernel's milliseconds in `ms[i]`, i being the kernel's position in the entry (the program's
 * calls for `kiln_run_timed_at`, the segment's calls for `kiln_run_segment_timed`). One clock read
 * ends a kernel and starts the next, so the kernels' times add up to the entry's time between its
 * first and last read.
 *
 * What a kernel's time is: the wall time of its call, including its OpenMP fork and join (waking the
 * team at the parallel region's start, waiting for the slowest thread at its end) and one clock read.
 * Why native: timing each kernel from JavaScript (one koffi call per kernel, `performance.now()`
 * around it) added the koffi round trip to every kernel, and between two such calls the OpenMP
 * workers went to sleep (they spin only briefly: SPIN_COUNT, native/library.ts), so every kernel also paid a
 * thread wake-up an untimed run does not pay: resnet50's kernels summed to 100-110 ms for an 85 ms run,
 * and single kernels read up to 2x. One native call per run (per native segment with fallbacks) keeps
 * the threads as hot between kernels as in an untimed run.
 *
 * The run loop (`nativeRunner`). Without `onKernel` it calls `kiln_run_at` (no fallbacks) or
 * `kiln_run_segment` per native segment with the fallback nodes in between; with `onKernel` it calls
 * the timed entries instead and then reports one KernelEvent per kernel from the ms array, in kernel
 * order, keyed to the kernel's name and IR node ids; a fallback node keeps its JavaScript timing
 * (`performance.now()` around its reference kernel, kernel `ref:ID`, `fallback: true`).
 * Cancellation (`signal`) is checked before each native call and each fallback node: a program
 * without fallback nodes is one native call, so it can be cancelled only before it starts; with
 * fallbacks, between segments and fallback nodes. An abort from inside `onKernel` (the events of a
 * native call come after the call) stops the run at the next such point.
 */
import { KilnError } from '../../errors.ts';
import type { Program as KernelProgram } from '../../codegen/kir.ts';
import type { KernelEvent, RunOptions } from '../backend.ts';
import type { NativeLibrary } from '../native/library.ts';
import { type FallbackValues, callSource } from './segments.ts';
import type { NativeSegment, ProgramStep } from '../fallback.ts';
import { bufferPointers } from './layout.ts';

/** The timed calls of a list of program calls: `ms[j]` for the j-th, one clock read between two. */
function timedCalls(program: KernelProgram, slotOf: ReadonlyMap<string, number>, calls: readonly number[], indent: string): string[] {
  if (!calls.length) return [];
  return [
    `${indent}int64_t t = kiln_clock_ns(), u;`,
    ...calls.map((i, j) => `${indent}${callSource(program, slotOf, i)} u = kiln_clock_ns(); ms[${j}] = (double)(u - t) * 1e-6; t = u;`),
  ];
}

/**
 * The C of the timed entries (module header): `kiln_run_timed_at` always, `kiln_run_segment_timed`
 * when `steps` has fallback nodes.
 */
export function timedEntrySource(program: KernelProgram, slotOf: ReadonlyMap<string, number>, slotCount: number, steps: readonly ProgramStep[]): string {
  const pointers = [bufferPointers(slotCount, 'b')];
  const lines = [
    '',
    '/* kiln cpu backend: timed entries. Each kernel call is timed with CLOCK_MONOTONIC (its OpenMP fork and',
    '   join included); ms[i] is the i-th kernel\'s milliseconds. One native call keeps the threads hot. */',
    '#include <time.h>',
    'static inline int64_t kiln_clock_ns(void) {',
    '  struct timespec ts;',
    '  clock_gettime(CLOCK_MONOTONIC, &ts);',
    '  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;',
    '}',
    'void kiln_run_timed_at(uint8_t *base, const int64_t *offsets, double *ms) {',
    ...pointers,
    ...timedCalls(program, slotOf, program.calls.map((_, i) => i), '  '),
    '}',
  ];
  const segments = steps.filter((s): s is NativeSegment => s.kind === 'native');
  if (steps.some((s) => s.kind === 'fallback')) {
    lines.push('void kiln_run_segment_timed(int s, uint8_t *base, const int64_t *offsets, double *ms) {', ...pointers, '  switch (s) {');
    for (const s of segments) lines.push(`  case ${s.segment}: {`, ...timedCalls(program, slotOf, s.calls, '    '), '    break;', '  }');
    lines.push('  default: break;', '  }', '}');
  }
  return lines.join('\n') + '\n';
}

/** What the run loop needs of a prepared cpu program. */
export interface RunnerParts {
  readonly program: KernelProgram;
  readonly steps: readonly ProgramStep[];
  /** The one buffer and the slot offsets (layout.ts). */
  readonly buffer: ArrayBuffer;
  readonly offsets: BigInt64Array;
  readonly values: FallbackValues;
}

/**
 * Binds the entry points of `lib` (layout.ts, segments.ts and here) and returns the run loop of the
 * module header: one call runs every kernel and fallback node once, reporting to `onKernel` if given.
 */
export function nativeRunner(lib: NativeLibrary, parts: RunnerParts): (ropts: RunOptions) => void {
  const { program, steps, buffer, offsets, values } = parts;
  const segmented = steps.some((s) => s.kind === 'fallback');
  const runAt = lib.func('kiln_run_at', 'void (void *base, void *offsets)');
  const runTimedAt = lib.func('kiln_run_timed_at', 'void (void *base, void *offsets, double *ms)');
  const runSegment = segmented ? lib.func('kiln_run_segment', 'void (int s, void *base, void *offsets)') : undefined;
  const runSegmentTimed = segmented ? lib.func('kiln_run_segment_timed', 'void (int s, void *base, void *offsets, double *ms)') : undefined;
  const kernelNodes = new Map(program.kernels.map((k) => [k.name, k.nodes]));
  const calls = program.calls.map((c) => ({ kernel: c.kernel, nodes: kernelNodes.get(c.kernel)! }));
  const ms = new Float64Array(Math.max(1, calls.length));
  const report = (onKernel: (e: KernelEvent) => void, which: readonly number[]) =>
    which.forEach((i, j) => onKernel({ kernel: calls[i].kernel, nodes: calls[i].nodes, ms: ms[j] }));
  const allCalls = calls.map((_, i) => i);

  return ({ onKernel, signal }) => {
    const cancelled = () => { if (signal?.aborted) throw new KilnError('the run was cancelled'); };
    if (!segmented) {
      cancelled();
      if (!onKernel) return void runAt(buffer, offsets);
      ms.fill(0);
      runTimedAt(buffer, offsets, ms);
      return report(onKernel, allCalls);
    }
    for (const s of steps) {
      cancelled();
      if (s.kind === 'native') {
        if (!onKernel) { runSegment!(s.segment, buffer, offsets); continue; }
        ms.fill(0);
        runSegmentTimed!(s.segment, buffer, offsets, ms);
        report(onKernel, s.calls);
        continue;
      }
      const t = performance.now();
      values.run(s);
      onKernel?.({ kernel: `ref:${s.id}`, nodes: [s.id], ms: performance.now() - t, fallback: true });
    }
  };
}
