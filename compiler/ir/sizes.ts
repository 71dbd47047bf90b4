/**
 * Sizes, dims and the memory budget: the one place that decides whether a dim is valid and whether a
 * tensor may be allocated.
 *
 * Dims. A static dim is an integer 0 <= d <= 2^53 - 1 (`Number.MAX_SAFE_INTEGER`, the largest integer
 * a double holds exactly). `dimProblem` says why a value is not one; the ONNX importer, the IR parser,
 * the verifier and type inference all use it, so `f32[7,-1]` is refused where it enters.
 *
 * Budget. kiln refuses to allocate any one tensor larger than the memory budget, in bytes. The default
 * is half of the machine's memory (`os.totalmem() / 2`, or half a smaller container limit), so a model that declares an absurd tensor
 * stops with an error instead of driving the machine into swap or the OOM killer. `--max-memory SIZE`
 * (every CLI command), the KILN_MAX_MEMORY environment variable and `setMemoryBudget` (the API)
 * change it; sizes are written as plain bytes or with a binary unit (`512M`, `8G`, `8GiB`, `1.5T`; K, M, G, T, P with or
 * without `iB`/`B` all mean powers of 1024).
 *
 * `checkTensorSize` is the check itself: given what is being made (value, node, op when known), its
 * dtype and shape, it throws ONE KilnError naming the value, its type (`f32[100000,100000,100]`) and
 * its size against the budget, BEFORE anything is allocated. The budget bounds each tensor, and, where
 * the caller says what it already holds (the reference executor's live tensors), their sum. It also catches element counts that
 * overflow (past 2^53, where the product of dims stops being exact) or that exceed what a JS typed
 * array can hold (2^32 elements on Node 20). Every place a size comes from a model or data calls it:
 * random inputs, constant folding, the reference executor before each node, the kernels whose output
 * size depends on data (Tile, Expand, Pad, Resize, ConstantOfShape, Range, ...), and the TensorProto
 * decoder; dtype storage allocation calls it too, as a backstop for any kernel that forgets.
 */
import os from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { KilnError, type ErrorPlace } from '../errors.ts';
import { type DType, byteSize } from './dtype.ts';
import type { Dim } from './graph.ts';

/** The largest static dim (and element count): 2^53 - 1. */
export const MAX_DIM = Number.MAX_SAFE_INTEGER;

/**
 * The largest rank a shape operand may ask for (Reshape's `shape`, Expand's, ConstantOfShape's,
 * Unsqueeze's `axes`...): its length becomes the output rank, which is built as a list of dims.
 * NumPy stops at 64 dims; 1024 leaves room while keeping an absurd length from exhausting memory.
 */
export const MAX_RANK = 1024;

/** Why `d` is not a valid static dim (an integer 0..2^53-1), or undefined when it is. */
export function dimProblem(d: number): string | undefined {
  if (!Number.isFinite(d) || !Number.isInteger(d)) return `dim ${d} is not an integer`;
  if (d < 0) return `dim ${d} is negative`;
  if (d > MAX_DIM) return `dim ${d} is larger than 2^53-1`;
  return undefined;
}

/** Why a shape has an invalid static dim (naming its position), or undefined. Symbols are fine. */
export function shapeProblem(shape: readonly Dim[]): string | undefined {
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number') continue;
    const p = dimProblem(d);
    if (p) return `${p} (dim ${i} of [${shape.join(',')}])`;
  }
  return undefined;
}

/**
 * The default budget: half of the machine's memory, where the machine is what this process may use:
 * `os.totalmem()`, or the container's (cgroup) limit when `process.constrainedMemory()` reports a
 * smaller one.
 */
export function defaultMemoryBudget(): number {
  const limit = process.constrainedMemory?.();
  const total = limit && limit > 0 ? Math.min(limit, os.totalmem()) : os.totalmem();
  return Math.floor(total / 2);
}

let budget: number | undefined;
let defaultBudget: number | undefined;

/**
 * The memory budget in bytes (the largest tensor kiln allocates): the value set by `setMemoryBudget`,
 * else the environment variable KILN_MAX_MEMORY (a size as `parseMemorySize` reads it; worker threads
 * and child processes inherit it), else `defaultMemoryBudget()`.
 */
export function memoryBudget(): number {
  return budget ?? (defaultBudget ??= budgetFromEnv() ?? defaultMemoryBudget());
}

function budgetFromEnv(): number | undefined {
  const text = process.env.KILN_MAX_MEMORY;
  if (text === undefined || text === '') return undefined;
  const bytes = parseMemorySize(text);
  if (bytes === undefined) throw new KilnError(`KILN_MAX_MEMORY='${text}' is not a size (write e.g. 512M, 8G, 8GiB or a number of bytes)`);
  return bytes;
}

/** Sets the memory budget in bytes; undefined restores the default. Returns the previous setting. */
export function setMemoryBudget(bytes: number | undefined): number | undefined {
  if (bytes !== undefined && !(Number.isSafeInteger(bytes) && bytes > 0)) {
    throw new KilnError(`memory budget must be a positive whole number of bytes, got ${bytes}`);
  }
  const prev = budget;
  budget = bytes;
  return prev;
}

const UNIT_POWERS: Readonly<Record<string, number>> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * Parses a size such as `512M`, `8G`, `8GiB`, `1.5T` or `1048576` (bytes) into bytes; units are
 * powers of 1024. Returns undefined for anything else (empty, negative, zero, unknown unit, too large).
 */
export function parseMemorySize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  if (m[3] && !m[2] && m[3].toLowerCase() === 'ib') return undefined; // "5iB"
  const bytes = Math.floor(Number(m[1]) * 1024 ** UNIT_POWERS[m[2].toLowerCase()]);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Bytes in binary units with 3 significant digits: `512 B`, `1.50 KiB`, `98.0 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  let u = 0, v = Math.abs(n);
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  const sign = n < 0 ? '-' : '';
  if (u === 0) return `${sign}${v} B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${UNITS[u]}`;
}

/** What is being made, for the error: the value's name when known, plus the usual error place. */
export interface SizeSubject extends ErrorPlace {
  /** The value (tensor) being made, e.g. a graph input, a constant or a node output name. */
  value?: string;
  /** Short description when there is no value name, e.g. "output 0" or "sparse initializer". */
  what?: string;
  /** Bytes already held by the same computation (a run's live tensors), counted against the budget too. */
  held?: number;
}

/** The error of a refused size: a KilnError that callers can tell apart (fold-constants skips the fold). */
export class SizeError extends KilnError {}

/** Largest element count one storage array can hold (JS arrays for `str` stop at 2^32 - 1). */
function maxElements(dtype: DType): number {
  return dtype === 'str' ? 2 ** 32 - 1 : Math.min(bufferConstants.MAX_LENGTH, MAX_DIM);
}

/**
 * Checks that a tensor of `dtype` and `shape` may be allocated: valid dims, an element count that
 * neither overflows nor exceeds a storage array's limit, and a byte size within the memory budget.
 * Returns the element count; throws one KilnError naming the value, its type and its size otherwise.
 */
export function checkTensorSize(subject: SizeSubject, dtype: DType, shape: readonly number[]): number {
  const { value, what, held = 0, ...place } = subject;
  const type = `${dtype}[${shape.join(',')}]`;
  const name = value !== undefined ? `'${value}' (${type})` : what ? `${what} ${type}` : `tensor ${type}`;
  const bad = shapeProblem(shape);
  if (bad) throw new SizeError(`${name}: ${bad}`, place);
  let n = 1;
  for (const d of shape) n *= d;
  if (n > MAX_DIM) {
    throw new SizeError(`${name} has more than 2^53 elements (the element count overflows); kiln cannot allocate it`, place);
  }
  const bytes = byteSize(dtype, n);
  const limit = memoryBudget();
  if (bytes > limit) {
    throw new SizeError(`${name} needs ${formatBytes(bytes)} (${bytes} bytes), more than the memory budget of ${formatBytes(limit)}` +
      ' (set it with --max-memory SIZE)', place);
  }
  if (bytes + held > limit) {
    throw new SizeError(`${name} needs ${formatBytes(bytes)} (${bytes} bytes); with the ${formatBytes(held)} already held that is more than ` +
      `the memory budget of ${formatBytes(limit)} (set it with --max-memory SIZE)`, place);
  }
  if (n > maxElements(dtype)) {
    throw new SizeError(`${name} has ${n} elements, more than one array can hold (${maxElements(dtype)})`, place);
  }
  return n;
}
