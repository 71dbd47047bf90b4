/**
 * The `kiln` command line. Each command lives in cli/commands/ and is loaded on demand, so start-up
 * stays fast. Contract (scripts and notebooks depend on it): usage errors print usage and exit 2;
 * bad files and models print `error: <what and where>` and exit 1, with no stack trace unless
 * KILN_DEBUG is set.
 */
import { KilnError } from '../compiler/errors.ts';
import { SHAPE_USAGE, UsageError } from './args.ts';
import { packageVersion } from '../compiler/version.ts';
import { nearest } from '../compiler/passes/pipeline.ts';
import { parseMemorySize, setMemoryBudget } from '../compiler/ir/sizes.ts';

/** One CLI command. */
interface Command {
  usage: string;
  summary: string;
  load: () => Promise<(argv: string[]) => Promise<number>>;
}

const COMMANDS: Record<string, Command> = {
  run: {
    usage: `kiln run MODEL [--backend NAME] [--pipeline P [--target T]] [--inputs DIR] [--outputs DIR] [--seed N] [--repeat N] [--rtol R] [--atol A] [--no-fallback] [--tuning measure|cached|off] [--threads N] [--check] [--json] [--quiet] ${SHAPE_USAGE}`,
    summary: 'run a model on seeded random or given inputs, with timings',
    load: async () => (await import('./commands/run.ts')).runCommand,
  },
  ir: {
    usage: `kiln ir MODEL | FILE.kir [--out FILE.kir [--weights FILE.safetensors]] ${SHAPE_USAGE}`,
    summary: 'print the IR text of a model (a .kir file is parsed, verified and re-printed); --out writes it with its weights sidecar',
    load: async () => (await import('./commands/ir.ts')).irCommand,
  },
  conformance: {
    usage: 'kiln conformance DIR [--backend NAME] [--filter REGEX] [--rtol 1e-3] [--atol 1e-5] [--no-fallback] [--verbose] [--json]',
    summary: "run ONNX backend node test cases and compare with their expected outputs",
    load: async () => (await import('./commands/conformance.ts')).conformanceCommand,
  },
  zoo: {
    usage: 'kiln zoo list | kiln zoo export NAME FILE.onnx [--seed N]',
    summary: 'list the built-in models or export one as an ONNX file',
    load: async () => (await import('./commands/zoo.ts')).zooCommand,
  },
  opt: {
    usage: `kiln opt MODEL [--pipeline P] [--target T] [--emit graph|plan|kernel|source] [--print-ir-after-all | --print-ir-after-change] [--dump-dir DIR] [--check] [--no-verify] [--stats] [--seed N] [--rtol R] [--atol A] ${SHAPE_USAGE}`,
    summary: 'run a pass pipeline on a model and print the resulting IR (the mlir-opt of kiln)',
    load: async () => (await import('./commands/opt.ts')).optCommand,
  },
  build: {
    usage: `kiln build MODEL --out DIR [--backend NAME] [--pipeline P] [--target T] [--threads N] [--quiet] ${SHAPE_USAGE}`,
    summary: "write every stage's artifacts (IR after each pass, plan, kernel IR, sources, binary, manifest) without running",
    load: async () => (await import('./commands/build.ts')).buildCommand,
  },
  report: {
    usage: `kiln report MODEL --out DIR [--pipeline P] [--target T] [--backend NAME]... [--repeat N] [--warmup N] [--seed N] [--threads N] [--tuning measure|cached|off] [--quiet] ${SHAPE_USAGE}\n       kiln report --replay DIR [--out DIR2] [--quiet]`,
    summary: 'write an optimization report folder: report.html (passes, diffs, memory, timings, sources), Arrow tables, IR per step, manifest; --replay reruns one and compares',
    load: async () => (await import('./commands/report.ts')).reportCommand,
  },
  passes: {
    usage: 'kiln passes [--json]',
    summary: 'list the passes with their options and statistics, and the default pipelines',
    load: async () => (await import('./commands/passes.ts')).passesCommand,
  },
  repl: {
    usage: `kiln repl [MODEL] [--plain] [--width N] ${SHAPE_USAGE}`,
    summary: 'interactive REPL on MODEL (default zoo:resnet50); reads commands line by line when piped',
    load: async () => (await import('./commands/repl.ts')).replCommand,
  },
  plan: {
    usage: `kiln plan MODEL [--pipeline P|none] [--planner NAME] [--json] [--arrow FILE] [--svg FILE] [--target T] [--order memory|graph] [--alignment BYTES] [--no-inplace] [--bars] ${SHAPE_USAGE}`,
    summary: 'plan activation memory after a pipeline: peak, lower bound, naive, chart and tables',
    load: async () => (await import('./commands/plan.ts')).planCommand,
  },
  kernel: {
    usage: 'kiln kernel -f CONNECTION_FILE | kiln kernel install [--user | --prefix DIR] [--name NAME]',
    summary: 'run the Jupyter kernel on a connection file, or install its kernelspec',
    load: async () => (await import('./commands/kernel.ts')).kernelCommand,
  },
  summary: {
    usage: `kiln summary MODEL [--json] ${SHAPE_USAGE}`,
    summary: 'op counts, parameters and FLOPs of a model',
    load: async () => (await import('./commands/summary.ts')).summaryCommand,
  },
};

/** MODEL is an .onnx file, a .kir file, or zoo:NAME (zoo:resnet50, zoo:mobilenetv2, zoo:bert, zoo:bert-decomposed, zoo:mlp, zoo:decoder). */
function usage(): string {
  const lines = ['kiln — a deep-learning model compiler you can step through', '', 'usage:'];
  for (const c of Object.values(COMMANDS)) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  lines.push('', 'MODEL is a path to an .onnx or .kir file, or zoo:NAME (see `kiln zoo list`). `kiln --version` prints the version.',
    'Symbolic input dims are bound with --shape INPUT=1x3x640x640 (a whole input) or --dim NAME=8 (one symbol), both repeatable.');
  lines.push('Every command takes --max-memory SIZE (512M, 8G, 8GiB or bytes): the largest tensor kiln will',
    'allocate (default: half of this machine\'s memory); a larger one is refused before it is allocated.');
  return lines.join('\n');
}

/**
 * Takes the global `--max-memory SIZE` (or `--max-memory=SIZE`) out of argv and sets the memory
 * budget (compiler/ir/sizes.ts) for this process and, through KILN_MAX_MEMORY, for its workers.
 * Throws a UsageError for a missing or bad size.
 */
function takeMaxMemory(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { rest.push(...argv.slice(i)); break; }
    if (a !== '--max-memory' && !a.startsWith('--max-memory=')) { rest.push(a); continue; }
    const text = a === '--max-memory' ? argv[++i] : a.slice('--max-memory='.length);
    if (text === undefined) throw new UsageError("option '--max-memory' needs a size (e.g. 512M, 8G, 8GiB or bytes)");
    const bytes = parseMemorySize(text);
    if (bytes === undefined) throw new UsageError(`--max-memory '${text}' is not a size (write e.g. 512M, 8G, 8GiB or a number of bytes)`);
    setMemoryBudget(bytes);
    process.env.KILN_MAX_MEMORY = String(bytes);
  }
  return rest;
}

async function main(argv: string[]): Promise<number> {
  try {
    argv = takeMaxMemory(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`kiln: ${e.message}\n\n${usage()}`);
    return 2;
  }
  const [name, ...rest] = argv;
  if (name === undefined) {
    return (await COMMANDS.repl.load())([]);
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(`kiln ${packageVersion()}`);
    return 0;
  }
  const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    const near = nearest(name, Object.keys(COMMANDS));
    const what = name.startsWith('-') ? 'option' : 'command';
    console.error(`kiln: unknown ${what} '${name}'${near ? ` (did you mean '${near}'?)` : ''}\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}`);
    return 0;
  }
  try {
    return await (await cmd.load())(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`kiln ${name}: ${e.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    if (e instanceof KilnError) {
      console.error(`error: ${e.message}`);
      if (process.env.KILN_DEBUG) console.error(e.stack);
      return 1;
    }
    console.error(`internal error: ${(e as Error)?.message ?? e}`);
    console.error((e as Error)?.stack ?? '');
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
