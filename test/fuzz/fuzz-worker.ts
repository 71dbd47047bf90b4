/**
 * The fuzz test's child process: runs mutants `start` .. `start + count - 1` of a seed and prints one
 * JSON line before each case (`{"i":N}`) and one after it (`{"i":N,"status":...}`), so the parent can
 * tell which case hung or blew the process up. For each mutant: import (ONNX) or parse (IR), the
 * structural and op verifiers, then a reference run on the model's own input .pb tensors when they
 * fit the graph, else on seeded random inputs. A KilnError is the expected outcome of bad input; any
 * other error, or a KilnError wrapping a TypeError/RangeError/ReferenceError or an allocation
 * failure, is an internal error.
 *
 * usage: node --import tsx test/fuzz/fuzz-worker.ts SEED START COUNT
 */
import { KilnError } from '../../compiler/errors.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { decodeTensor } from '../../compiler/import/onnx/tensor-proto.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { verifyAll } from '../../compiler/ops/verify-types.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { makeMutant, type Mutant } from './mutators.ts';

/** Messages that mean kiln ran out of a limit instead of checking first. */
const INTERNAL_MESSAGES = /Invalid typed array length|Array buffer allocation failed|Invalid array length|Maximum call stack|out of memory/i;
const INTERNAL_CAUSES = [TypeError, RangeError, ReferenceError, SyntaxError];

/** Why an error is internal (a kiln bug), or undefined when it is a proper KilnError. */
export function internalReason(e: unknown): string | undefined {
  if (!(e instanceof KilnError)) return `${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}\n${(e as Error)?.stack ?? ''}`;
  if (INTERNAL_MESSAGES.test(e.message)) return `KilnError hiding a resource failure: ${e.message}`;
  const cause = (e as { cause?: unknown }).cause;
  if (cause && INTERNAL_CAUSES.some((C) => cause instanceof C)) {
    return `KilnError wrapping ${(cause as Error).name}: ${e.message}\n${(cause as Error).stack ?? ''}`;
  }
  return undefined;
}

function inputsFor(graph: Graph, m: Mutant, seed: number): Map<string, Tensor> {
  if (m.kind === 'onnx' && m.inputs.length === graph.inputs.length) {
    try {
      const given = new Map<string, Tensor>();
      m.inputs.forEach((bytes, k) => given.set(graph.inputs[k].name, decodeTensor(bytes, `${m.file}:input_${k}.pb`).tensor));
      const fits = graph.inputs.every((i) => {
        const t = given.get(i.name)!;
        return t.dtype === i.type.dtype && t.shape.length === i.type.shape.length
          && i.type.shape.every((d, k) => typeof d !== 'number' || d === t.shape[k]);
      });
      if (fits) return given;
    } catch (e) {
      if (internalReason(e)) throw e;
    }
  }
  return randomInputs(graph, seed);
}

function runCase(m: Mutant, seed: number): void {
  const graph = m.kind === 'onnx' ? importOnnx(m.model, { file: m.file }) : parseGraph(m.text, { file: m.file, weights: m.weights });
  verifyAll(graph);
  runReference(graph, inputsFor(graph, m, seed));
}

/** Test hook for the harness's own test: `internal:N,hang:N,crash:N` misbehaves at those cases. */
const inject = new Map((process.env.KILN_FUZZ_INJECT ?? '').split(',').filter(Boolean).map((x) => {
  const [what, at] = x.split(':');
  return [Number(at), what] as const;
}));

function misbehave(what: string | undefined): void {
  if (what === 'internal') throw new TypeError('injected');
  if (what === 'hang') for (;;) { /* spin until the parent's time limit */ }
  if (what === 'crash') process.exit(134);
}

const [seed, start, count] = process.argv.slice(2).map(Number);
for (let i = start; i < start + count; i++) {
  process.stdout.write(JSON.stringify({ i }) + '\n');
  let description = '?';
  let status = 'ok', detail: string | undefined;
  try {
    misbehave(inject.get(i));
    const m = makeMutant(seed, i);
    description = m.description;
    runCase(m, seed);
  } catch (e) {
    const reason = internalReason(e);
    status = reason ? 'internal' : 'kiln';
    detail = reason ?? (e as Error).message;
  }
  process.stdout.write(JSON.stringify({ i, status, description, detail }) + '\n');
}
