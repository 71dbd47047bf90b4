/**
 * Cell transformation: TypeScript cells become scripts whose declarations persist across cells, with
 * top-level await, hoisted functions, imports, the last expression as value and positions mapped back
 * to the cell; plus the tokenizer, cell splitting and is_complete.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import vm from 'node:vm';
import { compileCell, splitCell, topLevelStatements, markLastExpression, CellSyntaxError } from '../../kernel/transform.ts';
import { tokenize } from '../../kernel/tokens.ts';
import { isComplete } from '../../kernel/introspect.ts';

/** A fresh context running cells like the kernel does (but isolated from the test process). */
function makeContext() {
  const imported: string[] = [];
  const ctx = vm.createContext({
    __kiln: {
      import: (spec: string) => { imported.push(spec); return import(spec); },
      defaultOf: (ns: { default?: unknown }) => (ns && 'default' in ns ? ns.default : ns),
      value: (v: unknown) => v,
      meta: { url: 'file:///tmp/<cell>' },
    },
    setTimeout,
  });
  let n = 0;
  const run = async (code: string) => {
    const c = await compileCell(code, { filename: `t-cell-${++n}` });
    return await vm.runInContext(c.script, ctx, { filename: c.filename });
  };
  /** A value made in the context, as JSON (its objects have the context's prototypes). */
  const json = async (code: string) => JSON.parse(JSON.stringify(await run(code)));
  return { ctx, run, json, imported };
}

test('const/let/var declared in one cell are visible in the next; the last expression is the value', async () => {
  const { run } = makeContext();
  assert.is(await run('const x: number = 40;\nlet y = 2;\nvar z = 1;'), undefined);
  assert.is(await run('x + y'), 42);
  assert.is(await run('z += 1; z * 10'), 20);
});

test('top-level await works and its result can be declared', async () => {
  const { run } = makeContext();
  assert.is(await run('const v = await new Promise<number>((r) => setTimeout(() => r(7), 5));\nv * 6'), 42);
  assert.is(await run('v'), 7);
});

test('re-running a declaring cell is allowed (no redeclaration error)', async () => {
  const { run } = makeContext();
  await run('const a = 1');
  await run('const a = 2');
  assert.is(await run('a'), 2);
});

test('functions are hoisted within the cell and callable later; closures share the global binding', async () => {
  const { run } = makeContext();
  assert.is(await run('const r = twice(4);\nfunction twice(n: number): number { return 2 * n }\nr'), 8);
  await run('let count = 0;\nfunction inc() { count++; return count }');
  await run('inc(); inc()');
  assert.is(await run('count'), 2);
  assert.is(await run('count = 10; inc()'), 11);
});

test('classes, enums, namespaces and destructuring persist', async () => {
  const { run, json } = makeContext();
  await run('class P<T> { constructor(public v: T) {} get twice() { return [this.v, this.v] } }');
  assert.equal(await json('new P(3).twice'), [3, 3]);
  await run('enum Color { Red, Green = 5 }');
  assert.is(await run('Color.Green + Color.Red'), 5);
  assert.is(await run('Color[5]'), 'Green');
  await run('namespace NS { export const q = 9 }');
  assert.is(await run('NS.q'), 9);
  await run('const { a, b: [c, d = 4] } = { a: 1, b: [3] }; let u, w = 2;');
  assert.equal(await json('[a, c, d, u === undefined, w]'), [1, 3, 4, true, 2]);
});

test('imports become awaited __kiln.import calls with default, named and namespace bindings', async () => {
  const { run, imported } = makeContext();
  await run("import path, { join as j, sep } from 'node:path';\nimport * as ns from 'node:util';");
  assert.is(await run("j('a', 'b')"), `a${await run('sep')}b`);
  assert.is(await run('typeof path.resolve'), 'function');
  assert.is(await run('typeof ns.inspect'), 'function');
  assert.is(await run("const m = await import('node:os'); typeof m.cpus"), 'function');
  assert.equal(imported, ['node:path', 'node:util', 'node:os']);
});

test('type-only code vanishes and exports are plain declarations', async () => {
  const { run } = makeContext();
  await run('interface Shape { w: number }\ntype N = number;\nexport const area = (s: Shape): N => s.w * s.w;');
  assert.is(await run('area({ w: 3 })'), 9);
});

test('a cell ending in a statement or a block has no value; an object literal in parens has one', async () => {
  const { run, json } = makeContext();
  assert.is(await run('if (true) { 5 }'), undefined);
  assert.is(await run('for (let i = 0; i < 2; i++) {}'), undefined);
  assert.equal(await json('({ k: 1 })'), { k: 1 });
  assert.is(await run('// only a comment'), undefined);
});

test('constant expressions esbuild would drop still give the value; ASI decides the last statement', async () => {
  const { run } = makeContext();
  assert.is(await run("'kiln' + 'ln'"), 'kilnln');
  assert.is(await run('const q = 1\n!0'), true);
  assert.is(await run('const r = 2\nr + 1'), 3);
  assert.is(await run('const t = [1, 2]\nt\n  .map((v) => v * 10)\n  .join("-")'), '10-20');
  assert.is(await run('let n = 1\nn\n++n'), 2);
  assert.is(await run('if (true) {\n  1\n}'), undefined);
});

test('markLastExpression wraps only an expression statement, at its position', () => {
  assert.equal(markLastExpression('a;\n  b + c;'), { code: 'a;\n  __kiln.value(b + c);', at: { line: 1, column: 2 } });
  assert.equal(markLastExpression('x = 1\ny'), { code: 'x = 1\n__kiln.value(y)', at: { line: 1, column: 0 } });
  assert.is(markLastExpression('const a = 1'), undefined);
  assert.is(markLastExpression('function f() {}'), undefined);
  assert.is(markLastExpression('type T = number'), undefined);
  assert.is(markLastExpression('label: x'), undefined);
  assert.is(markLastExpression('f(('), undefined);
  assert.equal(markLastExpression('await import("m")')?.code, '__kiln.value(await import("m"))');
});

test('positions map from the script back to the cell line and column', async () => {
  const code = 'const a = 1;\n\nfunction f() {\n  throw new Error("boom");\n}\nf();';
  const c = await compileCell(code, { filename: 'pos-cell' });
  let stack = '';
  try {
    const ctx = vm.createContext({ __kiln: { value: (v: unknown) => v } });
    await vm.runInContext(c.script, ctx, { filename: 'pos-cell' });
  } catch (e) {
    stack = (e as Error).stack ?? '';
  }
  const frames = [...stack.matchAll(/pos-cell:(\d+):(\d+)/g)].map((m) => c.position(Number(m[1]), Number(m[2])));
  assert.equal(frames[0], { line: 4, column: 9 }); // `new Error` in f
  assert.ok(frames.some((p) => p?.line === 6 && p.column === 1)); // the call f()
});

test('lineOffset shifts positions for code after magic lines', async () => {
  const c = await compileCell('null.x', { filename: 'off', lineOffset: 2 });
  let stack = '';
  try { await vm.runInContext(c.script, vm.createContext({ __kiln: { value: (v: unknown) => v } }), { filename: 'off' }); } catch (e) { stack = (e as Error).stack ?? ''; }
  const m = /off:(\d+):(\d+)/.exec(stack)!;
  assert.equal(c.position(Number(m[1]), Number(m[2])), { line: 3, column: 6 });
});

test('a column after the value mark maps back to the unmarked source', async () => {
  const c = await compileCell('const o = 1;\n  null.x', { filename: 'mark' });
  let stack = '';
  try { await vm.runInContext(c.script, vm.createContext({ __kiln: { value: (v: unknown) => v } }), { filename: 'mark' }); } catch (e) { stack = (e as Error).stack ?? ''; }
  const m = /mark:(\d+):(\d+)/.exec(stack)!;
  assert.equal(c.position(Number(m[1]), Number(m[2])), { line: 2, column: 8 });
});

test('syntax errors are CellSyntaxErrors at the cell line and column', async () => {
  try {
    await compileCell('const a = 1;\nconst = 2;', { filename: 'bad' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CellSyntaxError);
    const s = e as CellSyntaxError;
    assert.is(s.line, 2);
    assert.is(s.column, 7);
    assert.is(s.lineText, 'const = 2;');
  }
});

test('top-level statements split at ; and at a block end followed by a line break', () => {
  const js = 'if (a) {\n  b();\n} else c();\nfunction f() {\n  return 1;\n}\nfoo({\n  x: 1\n});\nconst t = `x${{ a: 1 }.a}y`;\n';
  const st = topLevelStatements(js).map((s) => js.slice(s.start, s.end));
  assert.equal(st, ['if (a) {\n  b();\n} else c()', 'function f() {\n  return 1;\n}', 'foo({\n  x: 1\n})', 'const t = `x${{ a: 1 }.a}y`']);
});

test('the tokenizer handles regex vs division, templates and comments', () => {
  const kinds = (s: string) => tokenize(s).tokens.map((t) => `${t.kind}:${t.value}`);
  assert.equal(kinds('a / b / c'), ['ident:a', 'punct:/', 'ident:b', 'punct:/', 'ident:c']);
  assert.equal(kinds('x = /a+b/g.test(s)').slice(2, 3), ['regex:/a+b/g']);
  assert.equal(kinds('`a${b}c`'), ['templateOpen:`a${', 'ident:b', 'templateClose:}c`']);
  assert.equal(kinds('a /* c */ b // d'), ['ident:a', 'ident:b']);
  assert.equal(tokenize('f(a, [1, {').unclosed, ['(', '[', '{']);
  assert.equal(tokenize('"abc').unclosed, ['"']);
  assert.equal(tokenize('`abc ${x').unclosed, ['`']);
  assert.match(tokenize('(]').error!.message, /does not match/);
  assert.match(tokenize('"ab\nc"').error!.message, /unterminated string/);
});

test('splitCell separates magic lines from TypeScript runs with their lines', () => {
  assert.equal(splitCell('%load zoo:mlp\n%step 2\nconst a = 1\na'), [
    { kind: 'magic', name: 'load', args: 'zoo:mlp', line: 1 },
    { kind: 'magic', name: 'step', args: '2', line: 2 },
    { kind: 'code', code: 'const a = 1\na', line: 3 },
  ]);
  assert.equal(splitCell('x = 1\n  %ir\n\n'), [{ kind: 'code', code: 'x = 1', line: 1 }, { kind: 'magic', name: 'ir', args: '', line: 2 }]);
  assert.equal(splitCell('a % b'), [{ kind: 'code', code: 'a % b', line: 1 }]);
});

test('is_complete: complete, incomplete (open brackets, strings, trailing operator) and invalid', async () => {
  assert.equal(await isComplete('const a = 1'), { status: 'complete' });
  assert.equal(await isComplete('%step 3'), { status: 'complete' });
  assert.equal(await isComplete('function f() {'), { status: 'incomplete', indent: '  ' });
  assert.equal(await isComplete('foo(1, [2,'), { status: 'incomplete', indent: '    ' });
  assert.is((await isComplete('const s = `abc')).status, 'incomplete');
  assert.is((await isComplete('/* comment')).status, 'incomplete');
  assert.is((await isComplete('1 +')).status, 'incomplete');
  assert.is((await isComplete('foo(]')).status, 'invalid');
  assert.is((await isComplete(')')).status, 'invalid');
  assert.is((await isComplete('const = 5;')).status, 'invalid');
});

test.run();
