/**
 * Pipeline text: parsing with defaults filled, typed option values, canonical printing (print∘parse is
 * the identity on canonical text), and errors that point at the character and list the alternatives.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePipeline, printPipeline, resolveOptions } from '../../compiler/passes/pipeline.ts';
import { findPass } from '../../compiler/passes/pass.ts';
import { KilnError } from '../../compiler/errors.ts';
import { registerTestPasses } from './test-passes.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';

registerTestPasses();

const DEFAULTS = { 'max-ops': 8, tol: 0.5, aggressive: false, mode: 'fast', allow: [] };

function error(text: string): string {
  try {
    parsePipeline(text);
  } catch (e) {
    assert.instance(e, KilnError);
    return (e as Error).message;
  }
  assert.unreachable(`'${text}' parsed`);
  return '';
}

test('parses passes and fills every default', () => {
  const p = parsePipeline('test-noop, test-opts ,test-noop');
  assert.equal(p.entries.map((e) => e.pass), ['test-noop', 'test-opts', 'test-noop']);
  assert.equal(p.entries[0].options, {});
  assert.equal(p.entries[1].options, DEFAULTS);
  assert.equal(parsePipeline('').entries, []);
  assert.equal(parsePipeline('  ').entries, []);
});

test('typed option values', () => {
  const o = parsePipeline('test-opts{max-ops=-3, tol=1e-4, aggressive=true, mode="a b", allow=[Add, "Mul x", kiln.conv]}').entries[0].options;
  assert.equal(o, { 'max-ops': -3, tol: 1e-4, aggressive: true, mode: 'a b', allow: ['Add', 'Mul x', 'kiln.conv'] });
  assert.is(parsePipeline('test-opts{aggressive}').entries[0].options.aggressive, true, 'a bare bool option means true');
  assert.equal(parsePipeline('test-opts{allow=Add}').entries[0].options.allow, ['Add'], 'one word for a list');
  assert.equal(parsePipeline('test-opts{allow=[]}').entries[0].options.allow, []);
  assert.is(parsePipeline('test-opts{tol=3}').entries[0].options.tol, 3, 'an int is a valid float');
  assert.is(parsePipeline('test-opts{tol=-inf}').entries[0].options.tol, -Infinity);
  assert.is(parsePipeline('test-opts{mode=x/y:z}').entries[0].options.mode, 'x/y:z');
});

test('canonical printing: non-default options sorted, print(parse(t)) === t', () => {
  const p = parsePipeline('test-noop,test-opts{mode=slow,allow=[Add,Mul],max-ops=8}');
  assert.is(printPipeline(p), 'test-noop,test-opts{allow=[Add,Mul],mode=slow}');
  assert.is(printPipeline(p, { defaults: true }), 'test-noop,test-opts{aggressive=false,allow=[Add,Mul],max-ops=8,mode=slow,tol=0.5}');
  for (const t of [
    '', 'test-noop', 'test-opts', 'test-opts{aggressive=true,max-ops=-1,tol=0.0001}', 'test-opts{allow=[x],max-ops=0}',
    'test-opts{mode=""}', 'test-opts{mode="a,b"}', 'test-opts{mode="true"}', 'test-opts{allow=["x y","{"],tol=inf}',
    'test-opts{tol=1e+21}', 'test-noop,test-noop',
  ]) {
    assert.is(printPipeline(parsePipeline(t)), t);
    const all = printPipeline(parsePipeline(t), { defaults: true });
    assert.is(printPipeline(parsePipeline(all), { defaults: true }), all);
    assert.equal(parsePipeline(all), parsePipeline(t));
  }
  assert.is(printPipeline(parsePipeline(' test-opts { tol = 1e-4 , allow = [ b , a ] } ')), 'test-opts{allow=[b,a],tol=0.0001}');
});

test('errors point at the character and list the alternatives', () => {
  let m = error('test-noop,test-opst');
  assert.match(m, "pipeline position 11: unknown pass 'test-opst' (did you mean 'test-opts'?)");
  assert.match(m, 'known passes: ');
  assert.match(m, 'test-noop');
  assert.match(m, '\n  test-noop,test-opst\n            ^');
  m = error('test-opts{max-opps=3}');
  assert.match(m, "pipeline position 11: unknown option 'max-opps' of pass 'test-opts' (did you mean 'max-ops'?); its options: max-ops, tol, aggressive, mode, allow");
  assert.match(error('test-noop{x=1}'), "pass 'test-noop' has no options (got 'x')");
  assert.match(error('test-opts{max-ops=2.5}'), "pipeline position 19: option 'max-ops' of pass 'test-opts' expects an integer, got '2.5'");
  assert.match(error('test-opts{tol=abc}'), "expects a number, got 'abc'");
  assert.match(error('test-opts{aggressive=yes}'), 'expects true or false');
  assert.match(error('test-opts{mode=[a]}'), 'expects a string');
  assert.match(error('test-opts{max-ops}'), "expected '=' and a value after option 'max-ops'");
  assert.match(error('test-opts{max-ops=1,max-ops=2}'), "option 'max-ops' is given twice");
  assert.match(error('test-opts{max-ops=1'), "expected ',' or '}' in the options of 'test-opts', found end of pipeline");
  assert.match(error('test-noop test-noop'), "pipeline position 11: expected ',' between passes");
  assert.match(error('test-noop,'), 'pipeline position 11: expected a pass name, found end of pipeline');
  assert.match(error('test-opts{mode="abc}'), 'unterminated string');
  assert.match(error('test-opts{allow=[a b]}'), "expected ',' or ']' in a list");
});

test('resolveOptions checks names and types of programmatic options', () => {
  const pass = findPass('test-opts')!;
  assert.equal(resolveOptions(pass, { tol: 2 }), { ...DEFAULTS, tol: 2 });
  assert.throws(() => resolveOptions(pass, { nope: 1 }), /unknown option 'nope'/);
  assert.throws(() => resolveOptions(pass, { 'max-ops': 'x' }), /pass 'test-opts'.*option 'max-ops' expects an integer/);
  assert.throws(() => resolveOptions(pass, { allow: 'Add' }), /expects a list/);
});

test('default pipelines: registered passes only, canonical text, fusion only for compiled targets', () => {
  for (const t of TARGETS) {
    const text = defaultPipeline(t);
    const names = parsePipeline(text).entries.map((e) => e.pass);
    assert.is(printPipeline(parsePipeline(text)), text, t);
    assert.is(names[0], 'shape-infer');
    assert.is(names[names.length - 1], 'dce');
    for (const n of names) assert.ok(findPass(n), n);
    assert.is(names.includes('mixed-precision'), (t === 'cuda' || t === 'webgpu') && !!findPass('mixed-precision'), t);
    assert.is(names.includes('fuse-elementwise'), t !== 'ref' && !!findPass('fuse-elementwise'), t);
    assert.is(names.includes('fold-conv-bn'), !!findPass('fold-conv-bn'));
    if (findPass('fold-conv-bn')) assert.is(names[names.indexOf('fold-conv-bn') + 1], 'fold-constants');
  }
});

test.run();
