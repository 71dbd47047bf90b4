/**
 * Test helper: asserts that parsing a node's attributes fails with a KilnError naming the node
 * ('n0'), the op and the attribute, both in its place fields and in its message.
 */
import * as assert from 'uvu/assert';
import type { Attrs } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { type OpDef, parseNodeAttrs } from '../../compiler/ops/registry.ts';

export function nodeAttrError(def: OpDef<any>, attrs: Attrs, attribute: string, re: RegExp): void {
  try {
    parseNodeAttrs(def, attrs, 'n0');
  } catch (e) {
    assert.instance(e, KilnError);
    const k = e as KilnError;
    assert.equal([k.place.node, k.place.op, k.place.attribute], ['n0', def.name, attribute]);
    assert.match(k.message, `node 'n0'`);
    assert.match(k.message, `op ${def.name}`);
    assert.match(k.message, `attribute '${attribute}'`);
    assert.match(k.message, re);
    return;
  }
  assert.unreachable(`expected an error for attribute '${attribute}'`);
}
