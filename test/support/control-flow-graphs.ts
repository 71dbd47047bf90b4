/**
 * Small graphs with regions for the schedule, runtime and session tests, as IR text (parsed with
 * compiler/ir/parse.ts) and as ONNX files written from it (compiler/import/onnx/export.ts), so no test
 * depends on the shared conformance folder.
 *
 * - `LOOP_TEXT`: a Loop with a constant trip count (3) whose body reads a value of the outer graph
 *   (`%w`, captured) and carries `f32[2]` state: out = -(relu^3 over s + w, from x·w).
 *   With x = [1, -2], w = [0.5, 1]: a = [0.5, -2] → [1, 0] → [1.5, 1] → [2, 2]; out = [-2, -2].
 * - `IF_TEXT`: an If on a graph input whose branches read outer values (`%a` and `%b`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import '../../compiler/ops/all.ts';

export const LOOP_TEXT = `kiln.graph @loopy(%x: f32[2], %w: f32[2]) -> (%out: f32[2]) {
  %m = const i64[] dense<3>
  %c = const bool[] dense<true>
  %a = Mul(%x, %w) : f32[2] loc("mul")
  %y = Loop(%m, %c, %a) : f32[2] loc("loop") {
    body @body(%i: i64[], %cin: bool[], %s: f32[2]) -> (%cout: bool[], %s2: f32[2]) {
      %cout = Identity(%cin) : bool[] loc("id")
      %t = Add(%s, %w) : f32[2] loc("add")
      %s2 = Relu(%t) : f32[2] loc("relu")
      return %cout, %s2
    }
  }
  %out = Neg(%y) : f32[2] loc("neg")
  return %out
}
`;

/** Inputs of LOOP_TEXT and its expected output. */
export const LOOP_INPUTS = { x: Tensor.fromNumbers('f32', [2], [1, -2]), w: Tensor.fromNumbers('f32', [2], [0.5, 1]) };
export const LOOP_EXPECTED = [-2, -2];

export const IF_TEXT = `kiln.graph @branchy(%p: bool[], %x: f32[4]) -> (%out: f32[4]) {
  %a = Exp(%x) : f32[4] loc("exp")
  %b = Neg(%x) : f32[4] loc("neg")
  %r = If(%p) : f32[4] loc("if") {
    else_branch @no() -> (%e: f32[4]) {
      %e = Abs(%b) : f32[4] loc("abs")
      return %e
    }
    then_branch @yes() -> (%th: f32[4]) {
      %t1 = Add(%a, %b) : f32[4] loc("add")
      %th = Mul(%t1, %t1) : f32[4] loc("sq")
      return %th
    }
  }
  %out = Sqrt(%r) : f32[4] loc("sqrt")
  return %out
}
`;

/** The graph of an IR text. */
export const graphOf = (text: string): Graph => parseGraph(text);

/** Writes the graph of `text` as an ONNX file in a fresh temporary folder; returns its path. */
export function onnxFileOf(text: string, name = 'model'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cf-'));
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, exportOnnx(graphOf(text)));
  return file;
}
