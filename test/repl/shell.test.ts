/**
 * The REPL engine without a screen: how lines are classified (commands, `%` magics, REPL words,
 * TypeScript), what executing them returns (rendered results, `error: ...` for KilnErrors and bugs,
 * suggestions for unknown `%` commands), the session shared with the evaluator, completion of command
 * names and arguments (the last-word contract), and interrupting a running command.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReplShell, looksLikeCode } from '../../repl/shell.ts';
import { fakeDeps, waitFor } from './fakes.ts';

const opts = { color: false, width: 100 };

test('lines are commands, % magics, REPL words, TypeScript or nothing', () => {
  const sh = new ReplShell(fakeDeps());
  assert.equal(sh.parse('step'), { kind: 'command', name: 'step', args: '' });
  assert.equal(sh.parse('  %pipeline  dce,cse  '), { kind: 'command', name: 'pipeline', args: 'dce,cse' });
  assert.equal(sh.parse('exit'), { kind: 'repl', name: 'exit', args: '' });
  assert.equal(sh.parse('%nosuch 1'), { kind: 'unknown', name: 'nosuch' });
  assert.equal(sh.parse('session.current + 1'), { kind: 'code', code: 'session.current + 1' });
  assert.equal(sh.parse('step.length'), { kind: 'code', code: 'step.length' }, 'a name followed by "." is code');
  assert.equal(sh.parse('load("zoo:mlp")'), { kind: 'code', code: 'load("zoo:mlp")' });
  assert.equal(sh.parse('   '), { kind: 'empty' });
  assert.equal(sh.parse('# a comment'), { kind: 'empty' });
});

test('commands run on the shared session; TypeScript sees the same session', async () => {
  const sh = new ReplShell(fakeDeps());
  const load = await sh.execute('load zoo:mlp', opts);
  assert.ok(load.ok);
  assert.equal(load.output, [{ kind: 'result', text: 'loaded zoo:mlp' }]);
  assert.is(sh.session?.source, 'zoo:mlp');
  const s1 = await sh.execute('%step', opts);
  assert.ok(s1.ok);
  assert.match(s1.output[0].text, /^step 1: shape-infer/);
  const s2 = await sh.execute('step', opts);
  assert.match(s2.output[0].text, /step 2: fuse-conv-act\n--- a\/mlp\n\+\+\+ b\/mlp/);
  assert.match(s2.output[0].text, /\n\+  %1 = kiln\.gemm\(/);
  assert.not.match(s2.output[0].text, /\x1b\[/, 'no colour when not asked');
  const colour = await sh.execute('back', opts);
  assert.equal(colour.output[0].text, 'at step 1');
  const code = await sh.execute('session.current * 10 + session.length', opts);
  assert.equal(code, { ok: true, parsed: { kind: 'code', code: 'session.current * 10 + session.length' }, output: [{ kind: 'result', text: '13' }] });
});

test('failures come back as error output, and the shell goes on', async () => {
  const sh = new ReplShell(fakeDeps());
  const noModel = await sh.execute('step', opts);
  assert.is(noModel.ok, false);
  assert.equal(noModel.output, [{ kind: 'error', text: 'error: no model loaded: load MODEL' }]);
  const crash = await sh.execute('crash', opts);
  assert.equal(crash.output, [{ kind: 'error', text: 'error: TypeError: x is not a function' }]);
  const unknown = await sh.execute('%stpe', opts);
  assert.is(unknown.ok, false);
  assert.match(unknown.output[0].text, "unknown command 'stpe' (did you mean step?)");
  const badCode = await sh.execute('nosuchvar + 1', opts);
  assert.is(badCode.ok, false);
  assert.match(badCode.output[0].text, /^error: ReferenceError: nosuchvar is not defined/);
  const frob = await sh.execute('frob 3', opts);
  assert.match(frob.output[0].text, /^error: 'frob' is not a command nor valid TypeScript \(SyntaxError: .+\); type help for the commands$/);
  const stpe3 = await sh.execute('stpe 3', opts);
  assert.match(stpe3.output[0].text, "error: 'stpe' is not a command (did you mean step?) nor valid TypeScript (SyntaxError:");
  const stpe = await sh.execute('stpe', opts);
  assert.equal(stpe.output[0].text, "error: 'stpe' is not a command (did you mean step?) nor defined in TypeScript; type help for the commands");
  const noEval = await new ReplShell(fakeDeps(false)).execute('1 + 1', opts);
  assert.match(noEval.output[0].text, "'1' is not a command and TypeScript evaluation is not available");
  assert.ok((await sh.execute('load zoo:mlp', opts)).ok, 'still usable');
});

test('help gets the REPL notes; exit and quit are REPL words', async () => {
  const sh = new ReplShell(fakeDeps());
  const help = await sh.execute('help', opts);
  assert.is(help.output[0].text, 'commands: load pipeline step back ir help');
  const notes = help.output[1].text;
  assert.match(notes.replace(/\s+/g, ' '), 'Tab completes commands');
  assert.match(notes.replace(/\s+/g, ' '), 'exit, quit or Ctrl-D leave');
  assert.ok(notes.split('\n').every((l) => l.length <= opts.width), 'wrapped to the width');
  const narrow = await sh.execute('help', { color: false, width: 40 });
  assert.ok(narrow.output[1].text.split('\n').every((l) => l.length <= 40), narrow.output[1].text);
  assert.is((await sh.execute('quit', opts)).exit, true);
  assert.is((await sh.execute('', opts)).output.length, 0);
});

test('Object.prototype names are code, not REPL words', async () => {
  const sh = new ReplShell(fakeDeps());
  for (const word of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    assert.equal(sh.parse(word), { kind: 'code', code: word }, word);
    assert.not.ok((await sh.execute(word, opts)).exit, `${word} does not leave`);
  }
  assert.equal(sh.parse('%constructor'), { kind: 'unknown', name: 'constructor' });
  assert.equal(sh.parse('%step 3'), { kind: 'command', name: 'step', args: '3' });
  assert.equal(sh.parse('  %exit'), { kind: 'repl', name: 'exit', args: '' });
});

test('clear and more are REPL words that ask the screen to act', async () => {
  const sh = new ReplShell(fakeDeps());
  assert.is((await sh.execute('clear', opts)).screen, 'clear');
  assert.is((await sh.execute('more', opts)).screen, 'more');
  assert.is((await sh.execute('more all', opts)).screen, 'more all');
  const bad = await sh.execute('more please', opts);
  assert.is(bad.ok, false);
  assert.equal(bad.output, [{ kind: 'error', text: "error: more: expected nothing or 'all', got 'please' (usage: more [all])" }]);
  assert.ok(sh.complete('cl').candidates.includes('clear'));
});

test('looksLikeCode: a keyword, an operator or a bracket after the first word is code; a word and arguments are not', () => {
  for (const code of ['let y = ; 1', 'a +', 'foo(', 'x in y', 'new Foo 3', 'frob.x 3', 'f "a"']) assert.ok(looksLikeCode(code), code);
  for (const code of ['frob 3', 'stpe all', 'frob --x', 'stpe -n 2']) assert.not.ok(looksLikeCode(code), code);
});

test('completion: command names, then the command\'s candidates for the last word', () => {
  const sh = new ReplShell(fakeDeps());
  assert.equal(sh.complete('st'), { start: 0, candidates: ['step'] });
  assert.equal(sh.complete('  %pi'), { start: 3, candidates: ['pipeline'] });
  assert.equal(sh.complete('e'), { start: 0, candidates: ['exit'] });
  const all = sh.complete('').candidates;
  assert.ok(all.includes('step') && all.includes('exit') && all.includes('load'), all.join(' '));
  assert.equal(sh.complete('pipeline shape-infer fu'), { start: 21, candidates: ['fuse-conv-act', 'fuse-elementwise'] });
  assert.equal(sh.complete('load zoo:'), { start: 5, candidates: ['zoo:mlp', 'zoo:resnet50'] });
  assert.equal(sh.complete('step 1'), { start: 6, candidates: [] }, 'a command without complete()');
  assert.equal(sh.complete('session.cu').candidates, [], 'code is not completed');
});

test('completion of TypeScript through the evaluator\'s completer (no space added)', async () => {
  const deps = fakeDeps();
  const names = ['session', 'structuredClone', 'setTimeout'];
  deps.completeCode = (code) => {
    const m = /[A-Za-z_$][\w$]*$/.exec(code);
    const word = m ? m[0] : '';
    return { start: code.length - word.length, candidates: names.filter((n) => n.startsWith(word)) };
  };
  const sh = new ReplShell(deps);
  assert.equal(sh.complete('sess'), { start: 0, candidates: ['session'], code: true });
  assert.equal(sh.complete('st'), { start: 0, candidates: ['step', 'structuredClone'] }, 'commands and globals together');
  assert.equal(sh.complete('%st'), { start: 1, candidates: ['step'] }, 'a % line is a command');
  assert.equal(sh.complete('1 + sess'), { start: 4, candidates: ['session'], code: true });
  assert.equal(sh.complete('(sess'), { start: 1, candidates: ['session'], code: true }, 'a first word that is not a name');
  assert.equal(sh.complete('step se').candidates, [], 'arguments of a command are not code');
  deps.isComplete = async (code) => (/[({[]$/.test(code) ? 'incomplete' : 'complete');
  assert.is(await sh.needsMore('f('), true);
  assert.is(await sh.needsMore('f(1)'), false);
  assert.is(await sh.needsMore('step ('), false, 'commands never continue');
});

test('interrupt aborts the running command through its signal', async () => {
  const sh = new ReplShell(fakeDeps());
  assert.is(sh.interrupt(), false, 'nothing running');
  const running = sh.execute('wait', opts);
  await waitFor(() => sh.signal !== undefined, () => 'the command to start');
  assert.ok(sh.signal && !sh.signal.aborted);
  assert.is(sh.interrupt(), true);
  const r = await running;
  assert.equal(r.output, [{ kind: 'error', text: 'error: interrupted' }]);
  assert.is(sh.signal, undefined);
});

test.run();
