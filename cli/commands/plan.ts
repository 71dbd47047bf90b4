/**
 * `kiln plan MODEL [--pipeline P|none] [--planner NAME] [--json] [--arrow FILE] [--svg FILE]
 *  [--target T] [--order memory|graph] [--alignment N] [--no-inplace] [--bars]`
 *
 * Plans the activation memory of a model after a pass pipeline and shows the plan. The model is
 * loaded, the pipeline (default: the target's default pipeline, target `cpu`; `none` plans the
 * imported graph as it is) runs through the PassManager with the verifier on and the numeric check
 * off, and compiler/schedule `planMemory` orders the final graph, computes liveness and assigns arena
 * offsets with the chosen planner (default `best`).
 *
 * Output: without --json, the summary (peak, lower bound, naive, weights) and a text chart of the
 * arena (or, with --bars, one bar per step of live bytes against the high-water mark), sized to the
 * terminal and coloured by op when stdout is a terminal and NO_COLOR is unset. With --json, one JSON
 * object on stdout: peakBytes, lowerBoundBytes, naiveBytes, weightsBytes, inputBytes, planner (and
 * the strategy `best` chose), ms, steps, tensors, aliases, the ratios, the model and pipeline.
 * --arrow FILE writes the timeline table (one row per tensor) as an Arrow IPC file, --svg FILE the
 * SVG chart; both are written atomically through compiler/files.ts (missing folders are created; a
 * device, folder or FIFO in the way is an error and is never replaced). Every plan goes through
 * the independent validator (compiler/schedule/validate.ts; `valid` in the JSON); a plan it rejects is
 * a planner bug, reported on stderr with exit status 1. An unknown planner or a
 * malformed option is a usage error (exit 2, listing the planners); a bad model or pipeline exits 1.
 */
import { SHAPE_OPTIONS, type NumberSpec, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { writeFileAtomic } from '../../compiler/files.ts';
import { loadModel } from '../../compiler/load.ts';
import { requireStaticShapes } from '../../compiler/ops/bind-shapes.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';
import { planMemory, plannerNames, validatePlan } from '../../compiler/schedule/index.ts';
import { formatBytes, memorySummary, memoryTimelineTable } from '../../compiler/results/memory.ts';
import { memorySvg } from '../../compiler/display/memory-svg.ts';
import { memoryText } from '../../compiler/display/memory-text.ts';

/** Arena alignment in bytes: 1 (packed) up to a 64 KiB page. */
const ALIGNMENT: NumberSpec = { integer: true, min: 1, max: 65_536 };

export async function planCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    pipeline: { type: 'string' },
    planner: { type: 'string' },
    json: { type: 'boolean', default: false },
    arrow: { type: 'string' },
    svg: { type: 'string' },
    target: { type: 'string' },
    order: { type: 'string' },
    alignment: { type: 'string' },
    'no-inplace': { type: 'boolean', default: false },
    bars: { type: 'boolean', default: false },
    ...SHAPE_OPTIONS,
  }, [1, 1], ['MODEL']);
  const planner = choiceOption(values.planner, 'planner', plannerNames(), 'best');
  const target = choiceOption(values.target, 'target', TARGETS, 'cpu');
  const order = choiceOption(values.order, 'order', ['memory', 'graph'] as const, 'memory');
  const alignment = numberOption(values.alignment, 'alignment', 64, ALIGNMENT);
  for (const flag of ['arrow', 'svg'] as const) {
    if (values[flag] === '') throw new UsageError(`--${flag} needs a file name`);
  }
  const pipelineText = values.pipeline === 'none' ? '' : values.pipeline ?? defaultPipeline(target);
  const pipeline = pipelineOption(pipelineText);

  // `kiln plan ... | head`: a closed pipe ends the output quietly rather than with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const model = positionals[0];
  const input = loadModel(model, await shapeBindings(values));
  const results = pipeline.entries.length ? new PassManager({ target }).run(input, pipeline) : [];
  const graph = results.length ? results[results.length - 1].graph : input;
  requireStaticShapes(graph, 'kiln plan'); // bound by --shape/--dim (or by the pipeline's shape-infer{bind=...})
  const plan = planMemory(graph, { planner, order, alignment, inplace: !values['no-inplace'] });
  const s = memorySummary(plan);
  const problems = validatePlan(graph, plan);
  const after = pipeline.entries.length ? `after ${values.pipeline === undefined ? `the default ${target} pipeline` : 'the pipeline'}` : 'as imported';

  const notes: string[] = [];
  if (values.arrow) {
    memoryTimelineTable(plan, `memory timeline of ${model} ${after} (${plan.planner})`).writeIPC(values.arrow);
    notes.push(`wrote the timeline table (${plan.tensors.length} rows) to ${values.arrow}`);
  }
  if (values.svg) {
    writeFileAtomic(values.svg, memorySvg(plan, {
      graph,
      title: `${model} ${after}: peak ${formatBytes(s.peakBytes)}, lower bound ${formatBytes(s.lowerBoundBytes)}, naive ${formatBytes(s.naiveBytes)} (${plan.planner})`,
    }), { what: 'SVG file', makeParents: true });
    notes.push(`wrote the SVG chart to ${values.svg}`);
  }

  if (values.json) {
    console.log(JSON.stringify({
      model, pipeline: pipelineText, target, nodes: graph.nodes.length,
      peakBytes: s.peakBytes, lowerBoundBytes: s.lowerBoundBytes, naiveBytes: s.naiveBytes,
      weightsBytes: s.weightsBytes, inputBytes: s.inputBytes, planner: s.planner,
      ...(plan.chosen !== undefined ? { chosen: plan.chosen } : {}),
      ...(plan.orderKind !== undefined ? { order: plan.orderKind } : {}),
      alignment: plan.alignment ?? alignment, ms: s.ms, steps: s.steps, tensors: s.tensors, aliases: s.aliases,
      peakOverLowerBound: s.peakOverLowerBound, reductionVsNaive: s.reductionVsNaive, valid: problems.length === 0,
    }, null, 2));
    for (const n of notes) console.error(n);
    return invalid(problems);
  }
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  console.log(`${model} ${after}: ${graph.nodes.length} nodes${pipelineText ? `; pipeline ${pipelineText}` : ''}`
    + `${plan.chosen ? `; best placement: ${plan.chosen}` : ''}${plan.orderKind ? `, ${plan.orderKind} order` : ''}`);
  process.stdout.write(memoryText(plan, { graph, color, mode: values.bars ? 'bars' : 'chart', width: process.stdout.columns ?? 100 }));
  for (const n of notes) console.log(n);
  if (!problems.length) console.log('validator: no two live buffers share bytes; every view and in-place result uses a live buffer');
  return invalid(problems);
}

/** Reports a plan the validator rejected (a planner bug) on stderr; the exit status. */
function invalid(problems: readonly string[]): number {
  if (!problems.length) return 0;
  console.error(`error: the memory plan failed validation (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
  for (const p of problems) console.error(`  ${p}`);
  return 1;
}
