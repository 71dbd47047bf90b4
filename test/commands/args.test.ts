/**
 * Argument parsing and completion of the command table: word splitting with quotes, options in both
 * spellings, flags and --no-flags, number checks, error wording (command, argument, usage); completion
 * of command names, options, option values, pass names in pipeline text, zoo refs, model files in the
 * typed directory, and step numbers; the ranges `completeLine` reports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allCommands, findCommand } from '../../compiler/commands/all.ts';
import { parseArgs, splitArgs } from '../../compiler/commands/args.ts';
import { completeLine } from '../../compiler/commands/line.ts';
import { lastWord, modelPaths } from '../../compiler/commands/complete.ts';
import { Session } from '../../compiler/session.ts';
import { fakeContext } from './fake-context.ts';

const spec = {
  command: 'run', usage: '[--repeat N] [--seed S]', positionals: [0, 1] as const,
  options: [
    { name: 'repeat', type: 'int' as const, min: 1, help: '' },
    { name: 'rate', type: 'number' as const, help: '' },
    { name: 'name', type: 'string' as const, help: '' },
    { name: 'check', type: 'flag' as const, help: '' },
  ],
};

const message = (f: () => unknown) => {
  try { f(); } catch (e) { return (e as Error).message; }
  return 'no error';
};

test('splitArgs: whitespace, quotes, backslashes', () => {
  assert.equal(splitArgs('  a  b\tc '), ['a', 'b', 'c']);
  assert.equal(splitArgs(`"a b" 'c d' e\\ f ""`), ['a b', 'c d', 'e f', '']);
  assert.equal(splitArgs('x="1 2"'), ['x=1 2']);
  assert.is(message(() => splitArgs('"open', 'load')), "load: unclosed double quote in '\"open'");
});

test('parseArgs: both option spellings, flags, numbers, positionals', () => {
  const a = parseArgs('--repeat 3 --rate=0.5 --name "a b" file --no-check', spec);
  assert.equal(a.positionals, ['file']);
  assert.equal([...a.options], [['repeat', 3], ['rate', 0.5], ['name', 'a b'], ['check', false]]);
  assert.equal(parseArgs('--check -- --repeat', spec).positionals, ['--repeat']);
  assert.equal(parseArgs('-5', spec).positionals, ['-5'], 'a single dash is a positional');
});

test('parseArgs: a repeatable option collects every value in order', () => {
  const rep = { ...spec, options: [...spec.options, { name: 'shape', type: 'string' as const, repeatable: true, help: '' }] };
  assert.equal(parseArgs('--shape x=1x3 --name a --shape=y=2', rep).options.get('shape'), ['x=1x3', 'y=2']);
  assert.equal(parseArgs('--name a --name b', rep).options.get('name'), 'b', 'a plain option keeps its last value');
  assert.is(parseArgs('', rep).options.get('shape'), undefined);
});

test('parseArgs: errors name the command, the argument and the usage', () => {
  assert.is(message(() => parseArgs('--repeat', spec)), 'run: option --repeat needs a value (usage: run [--repeat N] [--seed S])');
  assert.is(message(() => parseArgs('--repeat 2.5', spec)), "run: option --repeat needs a whole number, got '2.5' (usage: run [--repeat N] [--seed S])");
  assert.is(message(() => parseArgs('--repeat 0', spec)), 'run: option --repeat must be at least 1, got 0 (usage: run [--repeat N] [--seed S])');
  assert.is(message(() => parseArgs('--rate x', spec)), "run: option --rate needs a number, got 'x' (usage: run [--repeat N] [--seed S])");
  assert.is(message(() => parseArgs('--check=1', spec)), "run: option --check takes no value (got '--check=1') (usage: run [--repeat N] [--seed S])");
  assert.is(message(() => parseArgs('--sede 1', spec)), "run: unknown option '--sede'; options: --repeat, --rate, --name, --check (usage: run [--repeat N] [--seed S])");
  assert.is(message(() => parseArgs('a b', spec)), "run: unexpected argument 'b' (usage: run [--repeat N] [--seed S])");
  assert.is(message(() => parseArgs('a', { command: 'runall', usage: '' })), "runall: takes no arguments, got 'a' (usage: runall)");
  assert.is(message(() => parseArgs('', { command: 'goto', usage: 'N', positionals: [1, 1] })), 'goto: missing argument (N) (usage: goto N)');
});

test('load refuses a bad target and batch, and a missing model names the file', async () => {
  const ctx = fakeContext();
  const load = findCommand('load')!;
  const err = async (args: string) => { try { await load.run(args, ctx); return 'no error'; } catch (e) { return (e as Error).message; } };
  assert.match(await err('zoo:mlp --target tpu'), /^load: unknown target 'tpu'; targets: ref, cpu, cuda, webgpu/);
  assert.match(await err('zoo:mlp --batch 0'), /^load: --batch must be a size >= 1 or a symbol like N, got '0'/);
  assert.match(await err('/nonexistent/m.kir'), /^load: \/nonexistent\/m\.kir: cannot read model: no such file/);
  assert.match(await err('zoo:nope'), /unknown zoo model 'nope'; available: resnet50/);
  assert.match(await err(''), /^load: missing argument/);
  assert.is(ctx.session, undefined, 'nothing loaded after errors');
  const s = (await load.run('zoo:mlp --batch N --target ref --pipeline dce', ctx)) as Session;
  assert.equal([s.target, s.pipelineText, s.graph().inputs[0].type.shape], ['ref', 'dce', ['N', 784]]);
});

test('lastWord', () => {
  assert.is(lastWord('a b'), 'b');
  assert.is(lastWord('a '), '');
  assert.is(lastWord(''), '');
});

const ctx = fakeContext(Session.load('zoo:mlp'));
const complete = (line: string) => completeLine(line, ctx);

test('completeLine: command names, with or without %', () => {
  assert.equal(complete('ste'), { start: 0, end: 3, candidates: ['step', 'stepto'] });
  assert.equal(complete('%ti'), { start: 1, end: 3, candidates: ['timings'] });
  assert.equal(complete('  he'), { start: 2, end: 4, candidates: ['help'] });
  assert.equal(complete('nothing-like-it').candidates, []);
  assert.is(complete('').candidates.length, allCommands().length);
});

test('completeLine: options and option values', () => {
  assert.equal(complete('run --r'), { start: 4, end: 7, candidates: ['--repeat'] });
  assert.equal(complete('load zoo:mlp --ta').candidates, ['--target']);
  assert.equal(complete('load zoo:mlp --target c').candidates, ['cpu', 'cuda']);
  assert.equal(complete('load zoo:mlp --target=w').candidates, ['--target=webgpu']);
  assert.equal(complete('load x --no-').candidates, ['--no-check']);
  assert.equal(complete('mem --order ').candidates, ['memory', 'graph']);
  assert.equal(complete('mem 3 --planner greedy').candidates, ['greedy-size', 'greedy-breadth']);
});

test('completeLine: zoo refs, pass names, pipeline text, steps, tables, help', () => {
  assert.equal(complete('load zoo:m'), { start: 5, end: 10, candidates: ['zoo:mobilenetv2', 'zoo:mlp'] });
  assert.equal(complete('load zo').candidates.slice(0, 5), ['zoo:resnet50', 'zoo:mobilenetv2', 'zoo:bert', 'zoo:bert-decomposed', 'zoo:mlp']);
  assert.equal(complete('passes fu').candidates, ['fuse-conv-act', 'fuse-elementwise']);
  assert.equal(complete('stepto fuse').candidates, ['fuse-conv-act', 'fuse-elementwise']);
  assert.equal(complete('pipeline de').candidates, ['default']);
  assert.equal(complete('pipeline shape-infer,d'), { start: 9, end: 22, candidates: ['shape-infer,dce'] });
  assert.equal(complete('pipeline shape-infer,fold-constants{max-elements=4},c').candidates, ['shape-infer,fold-constants{max-elements=4},cse']);
  assert.equal(complete('goto ').candidates, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  assert.equal(complete('diff 1 ').candidates.length, 11);
  assert.equal(complete('diff 1 2 ').candidates, [], 'no third step');
  assert.equal(complete('tables f').candidates, ['fusions']);
  assert.equal(complete('help st').candidates, ['step', 'stepto']);
  assert.equal(complete('run ').candidates, []);
});

test('model paths: .onnx/.kir files and folders in the typed directory', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-complete-'));
  try {
    fs.mkdirSync(path.join(dir, 'models'));
    fs.mkdirSync(path.join(dir, '.hidden'));
    for (const f of ['models/resnet.onnx', 'models/resnet.kir', 'models/readme.txt', 'models/RES.ONNX', 'top.onnx', 'notes.md']) fs.writeFileSync(path.join(dir, f), '');
    assert.equal(modelPaths('', dir), ['models/', 'top.onnx']);
    assert.equal(modelPaths('models/', dir), ['models/RES.ONNX', 'models/resnet.kir', 'models/resnet.onnx']);
    assert.equal(modelPaths('models/re', dir), ['models/resnet.kir', 'models/resnet.onnx']);
    assert.equal(modelPaths('.', dir), ['.hidden/']);
    assert.equal(modelPaths('nope/x', dir), []);
    const abs = path.join(dir, 'models') + '/res';
    assert.equal(complete(`load ${abs}`).candidates, [`${abs}net.kir`, `${abs}net.onnx`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
