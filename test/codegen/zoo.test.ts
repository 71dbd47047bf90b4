/**
 * Every zoo model, after the default `cpu` pipeline, lowers completely to kernel IR (one kernel per
 * node that is not a view; the program passes the verifier) and its rendered C compiles with
 * `cc -c` (skipped without a compiler). Running the C is the CPU backend's test (issue 10 part B).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/passes/all.ts';
import { loadModel } from '../../compiler/load.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { defaultPipeline } from '../../compiler/passes/all.ts';
import { zooNames } from '../../compiler/zoo/index.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import { programIssues } from '../../compiler/codegen/verify.ts';
import { renderProgram } from '../../compiler/codegen/render.ts';
import { C } from '../../compiler/codegen/lang/c.ts';
import { compileC } from './cc.ts';

for (const name of zooNames({ controlFlow: false })) {
  test(`zoo:${name} lowers completely and its C compiles`, () => {
    const input = loadModel(`zoo:${name}`);
    const steps = new PassManager({ target: 'cpu', numericCheck: false }).run(input, defaultPipeline('cpu'));
    const graph = steps.length ? steps[steps.length - 1].graph : input;
    const { program, unsupported } = lowerGraph(graph);
    assert.equal(unsupported, [], `zoo:${name} has nodes that do not lower`);
    assert.equal(programIssues(program), []);
    const views = program.buffers.filter((b) => b.aliasOf !== undefined).length;
    assert.is(program.kernels.length + views, graph.nodes.length, 'one kernel per node, except views');
    assert.is(program.calls.length, program.kernels.length);
    for (const o of graph.outputs) assert.ok(program.buffers.some((b) => b.value === o && (b.kind === 'output' || b.aliasOf !== undefined)), `output ${o} has a buffer`);
    const cc = compileC(renderProgram(C, program), name);
    if (cc) assert.ok(cc.ok, cc.log.slice(0, 4000));
  });
}

test.run();
