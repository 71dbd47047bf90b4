/**
 * The cell runtime: runs notebook cells — TypeScript and `%` line magics — in one persistent context
 * with the kiln API preloaded. The kernel runs it inside a worker thread (kernel/worker.ts), so the
 * worker's own global scope is the context: kiln objects and user values share one realm (no
 * cross-realm `instanceof` surprises) and the kernel's sockets stay responsive while a cell computes.
 * It has no protocol knowledge; the host gives it a `RuntimeHost` for output and input, and the REPL
 * can run one in-thread the same way (`evaluate`).
 *
 * A cell is split (kernel/transform.ts `splitCell`) into magic lines and TypeScript runs, executed in
 * order. A magic `%name args` calls `findCommand(name).run(args, ctx)` from the shared command table;
 * a TypeScript run is compiled by `compileCell` (cached by its text: re-running a cell skips esbuild)
 * and evaluated with `vm.runInThisContext` under a filename registered for error mapping
 * (kernel/traceback.ts). Every part's value except the last is
 * shown with `host.display`; the last one is the cell's value (the kernel's execute_result). A
 * `DisplayHandle` (what `display()` returns) is no value: the display already showed the output.
 *
 * Globals installed: `load(model, opts)` (loads a Session and makes it current), `session` (the current
 * Session; assigning it switches), `Session`, `zoo` (`names()`, `list()`, `model(name)`), `display(obj,
 * {id, update, raw})` (raw: obj is already a MIME bundle), `clearOutput(wait)`, `input(prompt, {password})`, the result-table helpers
 * (`buildTable`, `nodesTable`, `passesTable`, `diffTable`, ...), `commands()` and `run(line)` (a
 * magic from code). `__kiln` (not enumerable) holds what compiled cells need: `import` (resolving
 * against the working directory), `defaultOf`, `value` (marks the last expression), `meta`.
 */
import vm from 'node:vm';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Session } from '../compiler/session.ts';
import { KilnError } from '../compiler/errors.ts';
import { zooModel, zooNames, zooDescription } from '../compiler/zoo/index.ts';
import * as results from '../compiler/results/index.ts';
import { findCommand, allCommands, type CommandContext } from '../compiler/commands/command.ts';
import { compileCell, splitCell, type CellPart, type CompiledCell, type TsTransform } from './transform.ts';
import { CellRegistry, type CellError } from './traceback.ts';

/** What the runtime needs from its host (the worker, the REPL, a test). */
export interface RuntimeHost {
  /** Text written by console.log / console.error / process.stdout. */
  stream(name: 'stdout' | 'stderr', text: string): void;
  /** Shows an object now; with `update`, replaces the display named `id`; `raw`: obj is a MIME bundle. */
  display(obj: unknown, opts: { id: string; update: boolean; raw?: boolean }): void;
  /** Clears the cell's output (`wait`: when the next output arrives). */
  clear(wait: boolean): void;
  /** Progress of long work (a command's `ctx.progress`). */
  progress(label: string, fraction: number | undefined): void;
  /** Reads a line from the user; rejects when the frontend cannot answer. */
  input(prompt: string, password: boolean): Promise<string>;
}

/** The result of one cell. */
export type CellOutcome = { ok: true; value: unknown } | { ok: false; error: CellError };

/** Options of a CellRuntime. */
export interface RuntimeOptions {
  /** Replace `console` with one writing to `host.stream` (default true). */
  captureConsole?: boolean;
  /** Directory relative imports resolve against (default: process.cwd()). */
  cwd?: string;
  /** How TypeScript is turned into JavaScript (default: esbuild in this thread; see kernel/transform.ts). */
  transform?: TsTransform;
}

/**
 * What `display(obj)` returns: the display's id and `update(next)` to replace it in place. A cell (or
 * REPL line) whose value is a handle shows nothing more — the display was the output.
 */
export class DisplayHandle {
  constructor(readonly id: string, private readonly replace: (next: unknown) => void) {}

  /** Replaces the display with `next`. */
  update(next: unknown): void {
    this.replace(next);
  }
}

let displayCounter = 0;
const COMPILE_CACHE_SIZE = 256;

/** Runs cells in this thread's global context; one per kernel (or REPL). */
export class CellRuntime implements CommandContext {
  private current: Session | undefined;
  private scriptCounter = 0;
  /** Compiled parts by line and code, least recently used first. */
  private readonly compiled = new Map<string, CompiledCell>();
  private controller = new AbortController();
  readonly registry = new CellRegistry();
  private readonly cwd: string;
  private readonly transform: TsTransform | undefined;

  constructor(readonly host: RuntimeHost, opts: RuntimeOptions = {}) {
    this.cwd = opts.cwd ?? process.cwd();
    this.transform = opts.transform;
    this.installGlobals(opts.captureConsole ?? true);
  }

  // CommandContext ------------------------------------------------------------------------------
  get session(): Session | undefined {
    return this.current;
  }
  setSession(session: Session): void {
    this.current = session;
  }
  progress(label: string, fraction?: number): void {
    this.host.progress(label, fraction);
  }
  print(text: string): void {
    this.host.stream('stdout', text.endsWith('\n') ? text : text + '\n');
  }
  /** Aborted by `interrupt()`; long commands check it between steps. A fresh one per cell. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Interrupts the running cell cooperatively: aborts `signal` (code stuck in a loop needs more; see kernel/worker-client.ts). */
  interrupt(): void {
    this.controller.abort(new KilnError('interrupted'));
  }

  /** Runs a cell; `label` names it in tracebacks (`In [3]`). Never throws. A display handle as value counts as no value. */
  async run(code: string, label: string): Promise<CellOutcome> {
    if (this.controller.signal.aborted) this.controller = new AbortController();
    const parts = splitCell(code);
    let value: unknown;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      try {
        value = await this.runPart(part, code, label);
        if (value instanceof DisplayHandle) value = undefined;
      } catch (e) {
        return { ok: false, error: this.registry.format(e, { label, source: code, line: part.line }) };
      }
      if (i < parts.length - 1 && value !== undefined) this.host.display(value, { id: `kiln-${++displayCounter}`, update: false });
    }
    return { ok: true, value };
  }

  /** Evaluates TypeScript and returns its value (throws what the code throws): the REPL's evaluator. */
  async evaluate(code: string, label = '<repl>'): Promise<unknown> {
    const out = await this.run(code, label);
    if (!out.ok) throw Object.assign(new Error(out.error.evalue), { name: out.error.ename, cellError: out.error });
    return out.value;
  }

  private async runPart(part: CellPart, source: string, label: string): Promise<unknown> {
    if (part.kind === 'magic') return this.runMagic(part.name, part.args);
    // re-running a cell reuses its compiled script (and filename; the registry gets the new label)
    const key = `${part.line}\n${part.code}`;
    let compiled = this.compiled.get(key);
    if (compiled) this.compiled.delete(key);
    else compiled = await compileCell(part.code, { filename: `kiln-cell-${++this.scriptCounter}`, lineOffset: part.line - 1, transform: this.transform });
    this.compiled.set(key, compiled);
    this.signal.throwIfAborted(); // interrupted while compiling: the code must not start afterwards
    if (this.compiled.size > COMPILE_CACHE_SIZE) this.compiled.delete(this.compiled.keys().next().value!);
    this.registry.add(compiled.filename, label, source, compiled);
    if (this.controller.signal.aborted) throw new KilnError('interrupted'); // while compiling: never start it
    return await vm.runInThisContext(compiled.script, { filename: compiled.filename });
  }

  /** Runs the command `name` from the shared table. */
  async runMagic(name: string, args: string): Promise<unknown> {
    const cmd = findCommand(name);
    if (!cmd) {
      const names = allCommands().map((c) => `%${c.name}`);
      throw new KilnError(`unknown magic %${name}${names.length ? `; available: ${names.join(' ')}` : ' (no commands are registered)'}`);
    }
    return cmd.run(args, this);
  }

  private installGlobals(captureConsole: boolean): void {
    const g = globalThis as Record<string, unknown>;
    const runtime = this;
    const requireFrom = createRequire(path.join(this.cwd, 'noop.js'));
    const kiln = {
      import: (spec: string, options?: ImportCallOptions) => import(resolveSpecifier(spec, this.cwd, requireFrom), options),
      defaultOf: (ns: { default?: unknown }) => (ns && 'default' in ns ? ns.default : ns),
      value: <T>(v: T): T => v,
      meta: { url: pathToFileURL(path.join(this.cwd, '<cell>')).href, dirname: this.cwd, filename: path.join(this.cwd, '<cell>') },
    };
    Object.defineProperty(g, '__kiln', { value: kiln, enumerable: false, configurable: true, writable: false });
    Object.defineProperty(g, 'session', {
      configurable: true, enumerable: true,
      get: () => runtime.current,
      set: (s: unknown) => {
        if (!(s instanceof Session)) throw new TypeError('session must be a Session (use load(...) or Session.load(...))');
        runtime.current = s;
      },
    });
    const api: Record<string, unknown> = {
      Session,
      KilnError,
      load: (model: string, opts?: Parameters<typeof Session.load>[1]) => {
        const s = Session.load(model, opts);
        const replaced = runtime.current;
        runtime.current = s;
        // as the `load` command: the replaced session's programs are released (disposal never throws)
        if (replaced && replaced !== s) void replaced.releasePrograms();
        return s;
      },
      zoo: Object.freeze({
        names: () => zooNames(),
        list: () => zooNames().map((name) => ({ name, description: zooDescription(name) })),
        model: (name: string, opts?: Parameters<typeof zooModel>[1]) => zooModel(name, opts),
      }),
      display: (obj: unknown, opts: { id?: string; update?: boolean; raw?: boolean } = {}) => {
        const id = opts.id ?? `kiln-${++displayCounter}`;
        const raw = opts.raw ?? false;
        if (raw && !isMimeBundle(obj)) throw new TypeError('display(obj, { raw: true }) needs a MIME bundle: an object of MIME type → string');
        runtime.host.display(obj, { id, update: opts.update ?? false, raw });
        return new DisplayHandle(id, (next) => runtime.host.display(next, { id, update: true, raw }));
      },
      clearOutput: (wait = false): void => { runtime.host.clear(wait); },
      input: (prompt = '', opts: { password?: boolean } = {}) => runtime.host.input(String(prompt), opts.password ?? false),
      commands: () => allCommands().map((c) => ({ name: c.name, usage: c.usage, summary: c.summary })),
      run: (line: string) => {
        const m = /^\s*%?([A-Za-z_][\w-]*)\s*(.*)$/s.exec(line);
        if (!m) throw new KilnError(`not a command line: '${line}'`);
        return runtime.runMagic(m[1], m[2].trim());
      },
      ...results,
    };
    for (const [k, v] of Object.entries(api)) g[k] = v;
    if (captureConsole) {
      const stream = (name: 'stdout' | 'stderr') => new Writable({
        write(chunk: Buffer | string, _enc, cb) { runtime.host.stream(name, chunk.toString()); cb(); },
      });
      g.console = new Console({ stdout: stream('stdout'), stderr: stream('stderr'), colorMode: false });
    }
  }
}

/** Whether `x` looks like a MIME bundle: a non-empty object whose keys are MIME types. */
function isMimeBundle(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length > 0
    && Object.keys(x).every((k) => /^[\w.+-]+\/[\w.+-]+$/.test(k));
}

/** The names the runtime puts into the global scope (for completion and docs). */
export const API_NAMES = ['Session', 'KilnError', 'load', 'session', 'zoo', 'display', 'clearOutput', 'input', 'commands', 'run', ...Object.keys(results)];

/** A module specifier as `import()` should see it: relative paths and bare packages resolved from `cwd`. */
function resolveSpecifier(spec: string, cwd: string, req: NodeJS.Require): string {
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') return pathToFileURL(path.resolve(cwd, spec)).href;
  if (path.isAbsolute(spec)) return pathToFileURL(spec).href;
  if (/^[a-z]+:/i.test(spec)) return spec; // node:, file:, data:
  try {
    return pathToFileURL(req.resolve(spec)).href;
  } catch {
    return spec; // let import() resolve it (ESM-only packages) or report it
  }
}
