/**
 * Commands that show what a backend generated for one IR node: `source NODE` (the generated source of
 * the kernel that runs it; `%source NODE` in a notebook, highlighted) and `kir NODE` (that kernel's
 * kernel IR). NODE is an IR node id (`%` optional) or an ONNX node name; the step is the current one
 * (or --step K) and the backend cpu (or --backend NAME).
 *
 * Both prepare the step through the Session (`Session.artifacts(step).kernelOf`, which uses the
 * program the session keeps per step graph and backend: after `run --backend cpu` nothing compiles
 * again) and report the compile's progress. A node fused into a kernel with others shows that kernel
 * and names every node it computes; a node with no kernel (a view) or a backend that generates no
 * source says so in plain words.
 */
import { nodeId } from '../ir/graph.ts';
import { backendNames, findBackend } from '../runtime/backends.ts';
import type { NodeKernel } from '../session-artifacts.ts';
import { SourceView, TextView } from '../display/views.ts';
import type { CommandContext } from './command.ts';
import { type OptionSpec, type ParsedArgs, commandError, needSession, opt, parseStepArg, throttledProgress } from './args.ts';
import { defineCommand, type KilnCommand } from './define.ts';

/** The backend `source` and `kir` prepare on when none is named. */
export const SOURCE_BACKEND = 'cpu';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'step', type: 'int', value: 'K', min: 0, help: 'the node of step K instead of the current step' },
  { name: 'backend', type: 'string', value: 'NAME', help: `backend that compiles the step (default ${SOURCE_BACKEND})`, values: () => backendNames() },
  { name: 'arch', type: 'string', value: 'SM', help: 'build for this GPU architecture (sm_80, sm_90) without the device (a GPU backend: cuda)' },
  { name: 'tf32', type: 'flag', help: 'f32 matrix products on tf32 tensor cores (cuda)' },
];

/** `source` also takes --ptx: the PTX of the kernel instead of its CUDA (the cuda backend). */
const PTX_OPTION: OptionSpec = { name: 'ptx', type: 'flag', help: 'show the PTX nvcc made of the kernel (cuda) instead of its source' };

/** Node ids of the step a command looks at, for completion. */
function nodeNames(ctx: CommandContext): string[] {
  const s = ctx.session;
  if (!s) return [];
  return s.graph().nodes.map(nodeId);
}

/** The kernel of the node named by the command's argument (see the module header). */
async function kernelFor(command: string, usage: string, args: ParsedArgs, ctx: CommandContext): Promise<NodeKernel> {
  const s = needSession(ctx, command);
  const stepOpt = args.options.get('step');
  const step = stepOpt === undefined ? s.current : parseStepArg(command, String(stepOpt), s, usage, '--step');
  const backend = opt(args, 'backend', SOURCE_BACKEND);
  if (!findBackend(backend)) throw commandError(command, `unknown backend '${backend}'; backends: ${backendNames().join(', ')}`, usage);
  const arch = args.options.get('arch') as string | undefined;
  if (arch !== undefined && !/^sm_\d+a?$/.test(arch)) throw commandError(command, `--arch must be an architecture such as sm_80 or sm_90, got '${arch}'`, usage);
  const report = throttledProgress(ctx);
  const k = await s.artifacts(step).kernelOf(args.positionals[0], {
    backend, ...(arch ? { arch } : {}), ...(args.options.get('tf32') === true ? { tf32: true } : {}), onPrepare: (what, fraction) => report(`preparing step ${step} on ${backend}: ${what}`, fraction), signal: ctx.signal,
    onWarning: (message) => ctx.print(`note: ${message}`),
  });
  ctx.progress(`prepared step ${step} on ${backend}`, 1);
  return k;
}

/** The heading of a kernel view: node, kernel, what else it computes, provenance. */
function heading(k: NodeKernel, what: string, artifact: string): string {
  const others = k.nodes.filter((n) => n !== k.node);
  const fused = others.length ? `; the kernel also computes ${others.map((n) => `%${n}`).join(', ')}` : '';
  const onnx = k.loc.length ? ` (ONNX ${k.loc.join(', ')})` : '';
  return `${what} of %${k.node} ${k.op}${onnx} on ${k.backend}: ${artifact}${fused} — ${k.label}`;
}

const languageOf = (name: string): string => {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return ext === 'c' || ext === 'h' ? 'c' : ext === 'cu' ? 'cuda' : ext === 'wgsl' ? 'wgsl' : ext ?? 'text';
};

const source = defineCommand({
  name: 'source',
  usage: 'NODE [--step K] [--backend NAME] [--arch SM] [--tf32] [--ptx]',
  summary: 'the generated source of the kernel that runs NODE (IR node id or ONNX node name), compiled on cpu by default',
  examples: ['source /fc1/Gemm', 'source 1 --step 0', 'source 3 --backend cuda --arch sm_90 --ptx'],
  details: 'Compiles the step once per backend (the program is shared with run and timings). A fused node shows\n'
    + 'the kernel it is part of and the other nodes it computes; a view has no kernel. --arch builds a GPU\n'
    + 'backend\'s program for that architecture without the device; --ptx shows the kernel\'s PTX (cuda).',
  positionals: [1, 1],
  options: [...OPTIONS, PTX_OPTION],
  completePositional: (i, ctx) => (i === 0 ? nodeNames(ctx) : []),
  async run(args, ctx) {
    const k = await kernelFor('source', this.usage, args, ctx);
    if (!k.source) return new TextView(k.why!, `source of %${k.node} ${k.op} on ${k.backend}`);
    if (args.options.get('ptx') === true) {
      if (!k.ptx) return new TextView(`backend ${k.backend} keeps no PTX for ${k.source.name} (PTX is the cuda backend's)`, `PTX of %${k.node} ${k.op} on ${k.backend}`);
      return new SourceView(k.ptx.content, 'ptx', heading(k, 'PTX', k.ptx.name));
    }
    return new SourceView(k.source.content, languageOf(k.source.name), heading(k, 'source', k.source.name));
  },
});

const kir = defineCommand({
  name: 'kir',
  usage: 'NODE [--step K] [--backend NAME] [--arch SM] [--tf32]',
  summary: 'the kernel IR of the kernel that runs NODE (IR node id or ONNX node name), compiled on cpu by default',
  examples: ['kir 1'],
  positionals: [1, 1],
  options: OPTIONS,
  completePositional: (i, ctx) => (i === 0 ? nodeNames(ctx) : []),
  async run(args, ctx) {
    const k = await kernelFor('kir', this.usage, args, ctx);
    if (!k.source) return new TextView(k.why!, `kernel IR of %${k.node} ${k.op} on ${k.backend}`);
    if (!k.kir) return new TextView(`backend ${k.backend} keeps no kernel IR for ${k.source.name}`, `kernel IR of %${k.node} ${k.op} on ${k.backend}`);
    return new SourceView(k.kir.content, 'kir', heading(k, 'kernel IR', k.kir.name));
  },
});

/** The commands that show generated code. */
export const sourceCommands: readonly KilnCommand[] = [source, kir];
