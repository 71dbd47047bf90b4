/**
 * Every example `help` gives is run: each example of each command of the shared table (help lists
 * them, `help NAME` shows them), in a fresh REPL shell with kiln's real command table and evaluator on
 * zoo:mlp, from a folder of its own (examples that write files write there; `models/net.onnx` is
 * exported there from the zoo), must succeed; and the TypeScript examples of the REPL's own help
 * notes give what the notes say they give.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplShell, CODE_EXAMPLES } from '../../repl/shell.ts';
import { kilnDeps } from '../../repl/deps.ts';
import { allCommands } from '../../compiler/commands/command.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';

const opts = { color: false, width: 100 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-help-examples-'));
const cwd = process.cwd();
// made when this file's tests start: the evaluator's preloaded globals (`session`...) belong to the
// runtime made last in a thread, and uvu imports every test file before running any
let deps: ReturnType<typeof kilnDeps>;

test.before(() => {
  deps = kilnDeps();
  fs.mkdirSync(path.join(tmp, 'models'));
  fs.writeFileSync(path.join(tmp, 'models', 'net.onnx'), exportOnnx(zooModel('mlp')));
  process.chdir(tmp);
});
test.after(() => {
  process.chdir(cwd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A shell on zoo:mlp at step 4 (examples like `back 2`, `check 4` and `diff 3 4` need steps behind). */
async function shellAtStep4(): Promise<ReplShell> {
  const sh = new ReplShell(deps);
  for (const line of ['load zoo:mlp', 'stepto 4']) {
    const r = await sh.execute(line, opts);
    assert.ok(r.ok, `${line}: ${JSON.stringify(r.output)}`);
  }
  return sh;
}

const examples = allCommands().flatMap((c) => (c.examples ?? []).map((e) => ({ command: c.name, example: e })));

test('the table has examples for every command', () => {
  const without = allCommands().filter((c) => !c.examples?.length).map((c) => c.name);
  assert.equal(without, [], 'commands without an example');
  assert.ok(examples.length > 30, `${examples.length} examples`);
});

for (const { command, example } of examples) {
  test(`help example of ${command}: ${example}`, async () => {
    const sh = await shellAtStep4();
    const r = await sh.execute(example, opts);
    assert.is(r.parsed.kind, 'command', `${example} is read as a command`);
    assert.ok(r.ok, `${example}: ${JSON.stringify(r.output)}`);
    assert.ok(r.output.every((o) => o.kind !== 'error'), JSON.stringify(r.output));
  });
}

test('the TypeScript examples of the REPL help give what the help says', async () => {
  const sh = await shellAtStep4();
  const results = new Map<string, string>();
  for (const { code } of CODE_EXAMPLES) {
    const r = await sh.execute(code, opts);
    assert.ok(r.ok, `${code}: ${JSON.stringify(r.output)}`);
    results.set(code, r.output.map((o) => o.text).join('\n'));
  }
  assert.match(results.get('session.graph()')!, /kiln\.graph @mlp\(/, `the graph prints as IR: ${results.get('session.graph()')!.slice(0, 300)}`);
  assert.is(results.get('session.current'), '4', 'the step number');
  assert.match(results.get('session.nodesTable()')!, /\bop\b/, 'a table with an op column');
  const help = await sh.execute('help', opts);
  for (const { code, gives } of CODE_EXAMPLES) assert.match(help.output.map((o) => o.text).join(' ').replace(/\s+/g, ' '), `${code} (${gives})`);
});

test.run();
