/**
 * One test per class of bug the fuzz test found (seed and case in each title), so each stays fixed
 * without rerunning the fuzzer. The STRING-attribute-without-bytes case lives in
 * test/import/onnx-sizes.test.ts beside the importer's other checks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { runReference } from '../../compiler/runtime/reference.ts';

test('seed 2024 case 2209: MaxPool/AveragePool with a kernel far wider than X (SAME padding) costs no more than X, and is right', () => {
  const x = Tensor.fromNumbers('f32', [1, 1, 5, 5], Array.from({ length: 25 }, (_, i) => (i * 7) % 25));
  for (const [op, attrs, want] of [
    ['MaxPool', 'auto_pad = "SAME_UPPER", kernel_shape = [4294967296, 4294967296]', 24],
    ['MaxPool', 'auto_pad = "SAME_LOWER", kernel_shape = [3, 4294967296], strides = [2, 2]', undefined],
    ['AveragePool', 'auto_pad = "SAME_UPPER", kernel_shape = [4294967296, 4294967296]', 12],
  ] as const) {
    const g = parseGraph(`kiln.graph @g(%x: f32[1,1,5,5]) -> (%y: f32[A,B,C,D]) {\n  %y = ${op}(%x) {${attrs}} : f32[A,B,C,D]\n  return %y\n}\n`);
    const y = readNumbers(runReference(inferTypes(g), { x })[0]);
    if (want !== undefined) assert.ok(y.every((v) => Math.abs(v - want) < 1e-5), `${op} ${attrs}: ${Array.from(y)}`);
    else {
      // each output row sees every column: the row-wise max of the 3 rows under it
      const rows = [[0, 1], [1, 2, 3], [3, 4]].map((rs) => Math.max(...rs.flatMap((r) => Array.from({ length: 5 }, (_, c) => (r * 5 + c) * 7 % 25))));
      assert.equal(Array.from(y), rows.flatMap((m) => [m, m, m]));
    }
  }
});

test('seed 77 case 1541: a shape operand of 2^31 entries is a rank error, not an exhausted heap', () => {
  const g = parseGraph('kiln.graph @g(%x: f32[2,3], %s: i64[2147483647]) -> (%y: f32[A]) {\n  %y = Reshape(%x, %s) : f32[A]\n  return %y\n}\n');
  assert.throws(() => inferTypes(g), (e: Error) => e instanceof KilnError
    && /node 'y', op Reshape: type inference failed: shape has 2147483647 entries; kiln supports ranks up to 1024/.test(e.message));
});

test.run();
