/**
 * Documentation the kernel shows for inspect_request (Shift-Tab in a notebook): the names the cell
 * runtime preloads and the Session's methods, one short paragraph each. Commands document themselves
 * (usage and summary in the shared command table).
 */

/** Documentation of the preloaded global names. */
export const API_DOCS: Readonly<Record<string, string>> = {
  load: 'load(model: string, opts?: SessionOptions): Session\n\nLoads zoo:NAME, an .onnx or a .kir file into a new Session and makes it the current `session` (the one the % magics act on). Options: target, pipeline, numericCheck, rtol, atol, seed.',
  session: 'session: Session | undefined\n\nThe current session: set by load(...) and %load; assign a Session to switch (e.g. `session = session.branch("fuse-elementwise")`).',
  Session: 'class Session\n\nSteps through the compiler one pass at a time. Session.load(model, opts) → Session; then step(), stepTo(pass | n), run(), back(n), goto(n), branch(pipeline), ir(), diff(a, b), graph(), check(), nodesTable(), passesTable(), diffTable(), decisionsTable(), fusionsTable(), summary().',
  zoo: 'zoo: { names(), list(), model(name, opts) }\n\nThe built-in models (resnet50, mobilenetv2, bert, bert-decomposed, mlp, decoder) with seeded weights; load them as load("zoo:NAME").',
  display: 'display(obj, opts?: { id?: string; update?: boolean; raw?: boolean }): { id, update(obj) }\n\nShows obj now (as rich output: tables, IR, SVG charts). With the same id and update: true, or through the returned handle\'s update(), it replaces that output in place; a cell ending in display(...) shows the display only, the handle is not echoed. raw: obj is a MIME bundle ({ "text/html": ..., "text/plain": ... }) sent as is.',
  clearOutput: 'clearOutput(wait = false): void\n\nClears the cell\'s output; with wait, only when new output arrives.',
  input: 'input(prompt?: string, opts?: { password?: boolean }): Promise<string>\n\nAsks the user for a line of text (needs a frontend that allows stdin). Use with await.',
  commands: 'commands(): { name, usage, summary }[]\n\nThe commands available as % magics (and in the terminal REPL).',
  run: 'run(line: string): Promise<unknown>\n\nRuns a command line from code, e.g. await run("%step 3") — the same as the magic.',
  KilnError: 'class KilnError extends Error\n\nThe error kiln throws for anything a user can cause; its message names what is wrong and where.',
  buildTable: 'buildTable(title, columns: { name, type: "i32"|"f64"|"bool"|"utf8"|"list<utf8>", values }[]): ResultTable\n\nBuilds an Arrow result table; it displays as an HTML table and carries the Arrow IPC stream.',
  ResultTable: 'class ResultTable\n\nA titled Apache Arrow table: toText(), toHTML(), toIPC(), writeIPC(path), numRows, columns.',
  nodesTable: 'nodesTable(graph | session, step?): ResultTable\n\nOne row per node: id, op, inputs, output types, provenance.',
  passesTable: 'passesTable(history): ResultTable\n\nOne row per step: pass, options, time, changes, numeric check.',
  diffTable: 'diffTable(diff): ResultTable\n\nThe nodes a step added, removed or changed.',
  decisionsTable: 'decisionsTable(steps): ResultTable\n\nThe fusion decisions passes made (fused or rejected, with the reason).',
  fusionsTable: 'fusionsTable(graph): ResultTable\n\nEach fused node with the original nodes it replaced.',
};

/** Documentation of Session methods and properties. */
export const SESSION_DOCS: Readonly<Record<string, string>> = {
  load: 'Session.load(model, opts?) → Session: loads zoo:NAME, an .onnx or .kir file (or takes a Graph) and sets the pipeline.',
  step: 'step() → Step: runs (or reuses) the next pipeline entry and moves there.',
  stepTo: 'stepTo(pass | n) → Step: runs forward through the next occurrence of a pass, or to step index n.',
  run: 'run() → Step: runs the rest of the pipeline.',
  back: 'back(n = 1) → Step: moves the cursor back n steps; nothing is recomputed.',
  goto: 'goto(n) → Step: moves to step n, running forward when needed.',
  branch: 'branch(pipeline?) → Session: a new session sharing the steps up to the current one.',
  pipeline: 'pipeline(text) → this: sets the pipeline; unchanged leading steps are kept.',
  ir: 'ir(step = current) → string: the printed IR.',
  diff: 'diff(a = current - 1, b = current) → GraphDiff: what changed between two steps.',
  graph: 'graph(step = current) → Graph: the IR graph at a step.',
  check: 'check(step = current) → NumericResult: compares a step\'s outputs with step 0 on seeded inputs.',
  compare: 'compare(other: Session) → Comparison: this session\'s current graph against another\'s.',
  history: 'history: Step[]: every computed step.',
  current: 'current: number: the index of the current step (0 = the loaded model).',
  length: 'length: number: the number of pipeline entries (the last step index).',
  at: 'at(step = current) → Step: the step record (pass, options, graph, statistics, decisions, time).',
  nodesTable: 'nodesTable(step = current) → ResultTable: the nodes of a step.',
  passesTable: 'passesTable(all = false) → ResultTable: one row per step.',
  diffTable: 'diffTable(a?, b?) → ResultTable: the diff as a table.',
  decisionsTable: 'decisionsTable() → ResultTable: every fusion decision so far.',
  fusionsTable: 'fusionsTable(step = current) → ResultTable: fused nodes and what they replaced.',
  summary: 'summary() → string: model, target, pipeline position and sizes.',
  setTolerance: 'setTolerance(rtol, atol?) → this: tolerances of the numeric check.',
  numericCheck: 'numericCheck: boolean: whether new steps are checked numerically against step 0.',
  pipelineText: 'pipelineText: string: the pipeline as canonical text.',
  decisions: 'decisions(step = current): the fusion decisions of a step.',
  memory: 'memory(step = current, opts?): the memory plan of a step (where each tensor lives, peak bytes).',
};
