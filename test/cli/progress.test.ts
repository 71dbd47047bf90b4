/**
 * The terminal progress line of long compiles (cli/progress.ts): drawn only on a TTY, redrawn in
 * place with the step and its percentage for every report a backend's prepare makes, erased at the
 * end; nothing at all when the stream is not a terminal (CI logs). Driven by a fake backend whose
 * prepare reports fixed progress, so nothing waits on a timer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { terminalProgress } from '../../cli/progress.ts';
import { fakeBackend } from '../support/fake-backend.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';

const graph = parseGraph('kiln.graph @g(%x: f32[2]) -> (%0: f32[2]) {\n  %0 = Relu(%x) : f32[2]\n  return %0\n}\n');

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, columns: 60, write: (t: string) => { writes.push(t); return true; } }, writes };
}

test('on a terminal: each report of prepare is drawn in place, then the line is erased', async () => {
  const { backend } = fakeBackend('fake-progress', { progress: [['lowering', 0], ['compiling', 0.5], ['ready', 1]] });
  const { stream, writes } = fakeStream(true);
  const p = terminalProgress(stream, 60_000)!; // the spinner's timer never fires during this test
  assert.ok(p);
  const program = await backend.prepare(graph, undefined, { onProgress: p.update });
  p.done();
  await program.dispose();
  const lines = writes.map((w) => w.replace(/^\r\x1b\[2K/, ''));
  assert.is(lines.length, 4);
  assert.match(lines[0], /^\S lowering 0%$/);
  assert.match(lines[1], /^\S compiling 50%$/);
  assert.match(lines[2], /^\S ready 100%$/);
  assert.is(writes[3], '\r\x1b[2K'); // erased
  assert.ok(writes.slice(0, 3).every((w) => w.startsWith('\r\x1b[2K')), 'each report redraws the same line');
});

test('not a terminal: no progress line at all; done before any report writes nothing', () => {
  assert.is(terminalProgress(fakeStream(false).stream), undefined);
  const { stream, writes } = fakeStream(true);
  const p = terminalProgress(stream, 60_000)!;
  p.done();
  assert.equal(writes, []);
});

test('a long step name is cut to the terminal width', () => {
  const { stream, writes } = fakeStream(true);
  const p = terminalProgress(stream, 60_000)!;
  p.update('x'.repeat(200), 0.25);
  p.done();
  assert.is(writes[0].replace(/^\r\x1b\[2K/, '').length, 59);
});

test.run();
