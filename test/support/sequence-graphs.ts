/**
 * Small graphs with sequence and optional graph outputs and inputs, as IR text (parsed with
 * compiler/ir/parse.ts) and as `.kir` files in a fresh temporary folder, for the run, session and
 * command tests (no shared conformance folder needed).
 *
 * - `SEQ_OUT_TEXT`: x f32[3,3] split into a sequence of [2,3] and [1,3] rows (SplitToSequence), its
 *   length, x wrapped in an optional, and an optional's none. With `SEQ_OUT_X` = 1..9 row-major the
 *   sequence holds [[1,2,3],[4,5,6]] and [[7,8,9]].
 * - `SEQ_IN_TEXT`: a sequence input concatenated (ConcatFromSequence) and extended by a tensor
 *   (SequenceInsert).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.ts';

export const SEQ_OUT_TEXT = `kiln.graph @seqout(%x: f32[3,3]) -> (%parts: seq<f32[S,3]>, %n: i64[], %o: opt<f32[3,3]>, %none: opt<f32[2]>) {
  %sp = const i64[2] dense<[2, 1]>
  %parts = SplitToSequence(%x, %sp) {axis=0} : seq<f32[S,3]> loc("split")
  %n = SequenceLength(%parts) : i64[] loc("len")
  %o = Optional(%x) : opt<f32[3,3]> loc("wrap")
  %none = Optional() {type="f32[2]"} : opt<f32[2]> loc("none")
  return %parts, %n, %o, %none
}
`;

/** The input x of SEQ_OUT_TEXT used by the tests: 1..9. */
export const SEQ_OUT_X = Tensor.fromNumbers('f32', [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);

export const SEQ_IN_TEXT = `kiln.graph @seqin(%xs: seq<f32[N]>, %t: f32[2]) -> (%cat: f32[M], %more: seq<f32[K]>) {
  %cat = ConcatFromSequence(%xs) {axis=0} : f32[M] loc("cat")
  %more = SequenceInsert(%xs, %t) : seq<f32[K]> loc("insert")
  return %cat, %more
}
`;

/** Writes `text` as a `.kir` file in a fresh temporary folder; returns its path. */
export function kirFileOf(text: string, name = 'model'): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-seq-')), `${name}.kir`);
  fs.writeFileSync(file, text);
  return file;
}
