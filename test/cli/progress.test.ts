/**
 * The terminal progress line of long compiles (cli/progress.ts): drawn only on a TTY,  nothing at all when the stream is not a terminal (CI logs). Driven by a fake backend whose
 * prepare reports fixed progress, so nothing waits on a timer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { terminalProgress } from '../../cli/progress.ts';
import { fakeBackend } from '../support/fake-backend.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';

const graph = parseGraph('kiln.graph @g(%x: f32[2]) -> (%0: f32[2]) {\n  %0 = Relu(%x) : f32[2]\n  return %0\n}\n');

/**
 * A terminal stream as ora drives it: text writes plus the cursor and line-clearing calls of Node's
 * tty.WriteStream, recorded in order as `clear` events.
 */
function fakeStream(isTTY: boolean, columns = 60) {
  const events: string[] = [];
  const stream = {
    isTTY, columns, rows: 40,
    write: (t: string) => { if (t) events.push(t); return true; },
    cursorTo: () => true, moveCursor: () => true,
    clearLine: () => { events.push('<clear>'); return true; },
    on: () => stream, once: () => stream, removeListener: () => stream, off: () => stream,
  };
  return { stream, events };
}

/** The texts drawn (spinner frame stripped), in order. */
const drawn = (events: readonly string[]) => events
  .map((e) => e.replace(/\x1b\[\?2026[hl]/g, '')) // synchronized-output brackets around a frame
  .filter((e) => e && e !== '<clear>').map((e) => e.replace(/^\S+ /, '').trim());

test('on a terminal: each report of prepare is drawn with ora, then the line is cleared', async () => {
  const { backend } = fakeBackend('fake-progress', { progress: [['lowering', 0], ['compiling', 0.5], ['ready', 1]] });
  const { stream, events } = fakeStream(true);
  const p = terminalProgress(stream, 60_000)!; // the spinner's timer never fires during this test
  assert.ok(p);
  const program = await backend.prepare(graph, undefined, { onProgress: p.update });
  p.done();
  await program.dispose();
  assert.equal(drawn(events), ['lowering 0%', 'compiling 50%', 'ready 100%']);
  assert.is(events[events.length - 1], '<clear>', 'done clears the line');
  // every redraw clears the previous frame first
  assert.ok(events.filter((e) => e === '<clear>').length >= 3, events.join('|'));
});

test('not a terminal: no progress line at all; done before any report writes nothing', () => {
  assert.is(terminalProgress(fakeStream(false).stream), undefined);
  assert.is(terminalProgress(fakeStream(true, 0).stream), undefined, 'a terminal of unknown width gets no spinner');
  const { stream, events } = fakeStream(true);
  const p = terminalProgress(stream, 60_000)!;
  p.done();
  assert.equal(events, []);
});

test('a step name wider than the terminal wraps, and done clears every line it took', () => {
  const { stream, events } = fakeStream(true, 60);
  const p = terminalProgress(stream, 60_000)!;
  p.update('x'.repeat(200), 0.25);
  const before = events.length;
  p.done();
  assert.equal(drawn(events), [`${'x'.repeat(200)} 25%`]);
  // 200 + frame + ' 25%' characters on 60 columns is 4 lines
  assert.is(events.slice(before).filter((e) => e === '<clear>').length, 4);
});

test.run();
