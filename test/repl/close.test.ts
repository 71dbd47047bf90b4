/**
 * The plain REPL closes its session when the input ends (repl/index.ts): every program the session
 * compiled is disposed (Session.close), counted with a fake backend. (The worker-backed REPL and the
 * kernel send their worker a `close` message on exit; test/repl/worker.test.ts and
 * test/kernel/server.test.ts cover that they still shut down.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Readable } from 'node:stream';
import { startRepl } from '../../repl/index.ts';
import type { ReplDeps } from '../../repl/shell.ts';
import { allCommands, findCommand } from '../../compiler/commands/all.ts';
import { toTerminal } from '../../compiler/display/index.ts';
import { registerBackend } from '../../compiler/runtime/backends.ts';
import { fakeBackend } from '../support/fake-backend.ts';

/** kiln's command table without the TypeScript evaluator (which would install process globals other tests read). */
const commandsOnly: ReplDeps = { findCommand, allCommands, render: (obj, opts) => toTerminal(obj, opts) };

test('the plain REPL disposes what its session compiled when the input ends', async () => {
  const f = fakeBackend('fake-repl-close');
  const unregister = registerBackend(f.backend);
  try {
    const out = new PassThrough(), err = new PassThrough();
    let text = '';
    out.on('data', (d) => { text += d; });
    err.on('data', (d) => { text += d; });
    const code = await startRepl({
      model: 'zoo:mlp', plain: true, deps: commandsOnly,
      stdin: Readable.from(['run --backend fake-repl-close\n', 'timings --backend fake-repl-close\n']) as unknown as NodeJS.ReadStream,
      stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream,
    });
    assert.is(code, 0, text);
    assert.equal([f.calls.prepared, f.calls.runs > 0, f.calls.disposed], [1, true, 1]);
  } finally {
    unregister();
  }
});

test.run();
