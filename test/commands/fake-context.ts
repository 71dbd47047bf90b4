/**
 * A fake CommandContext for command tests: holds the session, records every progress call and note,
 * and can carry an AbortSignal.
 */
import type { CommandContext } from '../../compiler/commands/command.ts';
import type { Session } from '../../compiler/session.ts';

/** A recording context. */
export interface FakeContext extends CommandContext {
  session: Session | undefined;
  readonly progressLog: { label: string; fraction?: number }[];
  readonly printed: string[];
  signal?: AbortSignal;
}

/** A fresh context, optionally with a session already loaded. */
export function fakeContext(session?: Session): FakeContext {
  const ctx: FakeContext = {
    session,
    progressLog: [],
    printed: [],
    setSession(s) { ctx.session = s; },
    progress(label, fraction) { ctx.progressLog.push({ label, fraction }); },
    print(text) { ctx.printed.push(text); },
  };
  return ctx;
}
