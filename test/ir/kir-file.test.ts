/**
 * `.kir` files with their safetensors sidecar (compiler/ir/kir-file.ts): the `kiln.weights` link line
 * (printed, parsed, ignored by a plain parse, malformed ones refused), `kirFiles` for several graphs
 * sharing one deduplicated sidecar (links relative to each .kir's folder), tensors safetensors cannot
 * hold printed inline, and every read error naming both files: missing sidecar, hash mismatch, a
 * corrupt sidecar, a tensor the text names but the sidecar lacks, a dtype/shape disagreement, an
 * absolute link. `Session.load` of a .kir steps through the pipeline with its weights. A .kir without
 * a link still loads, and running it names the value without data.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../compiler/errors.ts';
import { writeFilesAtomic } from '../../compiler/files.ts';
import { graphDiff } from '../../compiler/ir/equal.ts';
import { kirFiles, readKirFile, writeKir } from '../../compiler/ir/kir-file.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph, printWeightsLink } from '../../compiler/ir/print.ts';
import { encodeSafetensors } from '../../compiler/ir/safetensors.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { hashOf } from '../../compiler/ir/weights.ts';
import { loadModel } from '../../compiler/load.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { Session } from '../../compiler/session.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-kir-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const list = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(', ');

/** A graph with a large f32 constant, a large tensor attribute, and large str/i4/fnuz tensors. */
const ODD = `kiln.graph @odd(%x: f32[20]) -> (%y: f32[20]) {
  %w = const f32[20] dense<[${list(20, (i) => `${i}.5`)}]>
  %s = const str[17] dense<[${list(17, (i) => `"s${i}"`)}]>
  %q = const i4[18] dense<[${list(18, (i) => String((i % 16) - 8))}]>
  %y = Add(%x, %w) {t=dense<f8e4m3fnuz[20] [${list(20, () => '1.0')}]>, u=dense<f32[2,10] [${list(20, (i) => `${i}.25`)}]>} : f32[20]
  return %y
}
`;

/** Expects `f` to throw a KilnError whose message matches every pattern. */
function throwsKiln(f: () => unknown, ...patterns: RegExp[]): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, KilnError, String(e));
    for (const p of patterns) assert.match((e as Error).message, p);
    return;
  }
  assert.unreachable(`expected an error matching ${patterns.join(', ')}`);
}

test('the kiln.weights link prints, parses, and is ignored by a plain parse', () => {
  const h = 'ab'.repeat(32);
  assert.is(printWeightsLink({ path: 'w dir/m.safetensors', sha256: h }), `kiln.weights "w dir/m.safetensors" sha256 #${h}\n`);
  const text = printWeightsLink({ path: 'm.safetensors', sha256: h }) + ODD;
  assert.is(printGraph(parseGraph(text)), printGraph(parseGraph(ODD)), 'the link is a file header, not part of the graph');
  let seen: unknown;
  parseGraph(text, { linkWeights: (link) => { seen = link; return new Map([[hashOf(Tensor.zeros('f32', [1])), Tensor.zeros('f32', [1])]]); } });
  assert.equal(seen, { path: 'm.safetensors', sha256: h });
  for (const [bad, msg] of [
    [`kiln.weights m.safetensors sha256 #${h}\n`, /1:14: expected a string in weights link/],
    [`kiln.weights "m.safetensors" #${h}\n`, /expected 'sha256' in weights link/],
    [`kiln.weights "m.safetensors" sha256 #abc\n`, /expected the sidecar's sha256 '#' \+ 64 hex digits in weights link/],
    [`kiln.weights "m.safetensors" sha256 #${h}\nkiln.weights "m.safetensors" sha256 #${h}\n`, /2:1: expected 'kiln.graph' in graph header/],
  ] as const) throwsKiln(() => parseGraph(bad + ODD, { file: 'f.kir' }), /^f\.kir:/, msg);
});

test('kirFiles: several graphs share one deduplicated sidecar; odd dtypes print inline; each reloads', () => {
  const mlp = zooModel('mlp');
  const odd = parseGraph(ODD);
  const files = kirFiles([{ path: 'mlp.kir', graph: mlp }, { path: 'ir/000_odd.kir', graph: odd }, { path: 'ir/001_mlp.kir', graph: mlp }], 'weights.safetensors');
  assert.equal(files.map(([n]) => n), ['mlp.kir', 'ir/000_odd.kir', 'ir/001_mlp.kir', 'weights.safetensors']);
  const side = files[3][1] as Uint8Array;
  const texts = files.slice(0, 3).map(([, d]) => d as string);
  assert.match(texts[0], new RegExp(`^kiln\\.weights "weights\\.safetensors" sha256 #${sha(side)}\\n`));
  assert.match(texts[1], new RegExp(`^kiln\\.weights "\\.\\./weights\\.safetensors" sha256 #${sha(side)}\\n`));
  // the canonical text follows the link line, unchanged, for a graph without odd dtypes
  assert.is(texts[0].slice(texts[0].indexOf('\n') + 1), printGraph(mlp));
  // str, i4 and fnuz tensors stay inline; the f32 constant and attribute go to the sidecar
  assert.match(texts[1], /%s = const str\[17\] dense<\["s0", /);
  assert.match(texts[1], /%q = const i4\[18\] dense<\[-8, /);
  assert.match(texts[1], /t=dense<f8e4m3fnuz\[20\] \[1\.0, /);
  assert.match(texts[1], /%w = const f32\[20\] #[0-9a-f]{16}\n/);
  assert.match(texts[1], /u=dense<f32\[2,10\] #[0-9a-f]{16}>/);
  const dir = path.join(tmp, 'set');
  writeFilesAtomic(dir, files);
  const header = JSON.parse(Buffer.from(side.subarray(8, 8 + Number(new DataView(side.buffer, side.byteOffset).getBigUint64(0, true)))).toString());
  assert.is(Object.keys(header).filter((k) => k !== '__metadata__').length, 5 + 2, "mlp's 5 tensors once, odd's 2");
  for (const [rel, g] of [['mlp.kir', mlp], ['ir/000_odd.kir', odd], ['ir/001_mlp.kir', mlp]] as const) {
    const back = readKirFile(path.join(dir, rel));
    assert.is(printGraph(back), printGraph(g), rel);
    assert.is(graphDiff(g, back), undefined, rel);
  }
});

test('read errors name the .kir and its sidecar', () => {
  const dir = path.join(tmp, 'errors');
  fs.mkdirSync(dir);
  const kir = path.join(dir, 'm.kir');
  const odd = parseGraph(ODD);
  writeKir(kir, odd);
  const text = fs.readFileSync(kir, 'utf8');
  const good = fs.readFileSync(path.join(dir, 'm.safetensors'));
  /** Rewrites the sidecar as `bytes` and the .kir's link to name it with its true hash. */
  const relink = (bytes: Uint8Array, body = text) => {
    fs.writeFileSync(path.join(dir, 'm.safetensors'), bytes);
    fs.writeFileSync(kir, body.replace(/#[0-9a-f]{64}/, `#${sha(bytes)}`));
  };

  fs.rmSync(path.join(dir, 'm.safetensors'));
  throwsKiln(() => readKirFile(kir), /m\.safetensors: cannot read weights file: no such file/, /the weights of .*m\.kir/,
    /written by `kiln ir MODEL --out FILE\.kir`; copy it next to the \.kir/);

  fs.mkdirSync(path.join(dir, 'm.safetensors'));
  throwsKiln(() => readKirFile(kir), /m\.safetensors: cannot read weights file: it is a folder, not a regular file \(the weights of .*m\.kir, named by its kiln\.weights line\)$/);
  fs.rmdirSync(path.join(dir, 'm.safetensors'));

  const changed = Buffer.from(good);
  changed[changed.length - 1] ^= 1;
  fs.writeFileSync(path.join(dir, 'm.safetensors'), changed);
  throwsKiln(() => readKirFile(kir), /m\.safetensors: weights file does not match .*m\.kir/,
    new RegExp(`its sha256 is ${sha(changed)} but the \\.kir expects ${sha(good)}`));

  relink(good.subarray(0, good.length - 3));
  throwsKiln(() => readKirFile(kir), /m\.safetensors: weights of .*m\.kir: safetensors: tensor '[0-9a-f]{64}': data_offsets .* run past the end/);

  const w = odd.constants.find((c) => c.name === 'w')!;
  const u = Object.values(odd.nodes[0].attrs).find((a) => a.kind === 'tensor' && a.value.dtype === 'f32')!.value as Tensor;
  relink(encodeSafetensors(new Map([[hashOf(u), u]])));
  throwsKiln(() => readKirFile(kir), /m\.kir:\d+:\d+: '%w' names tensor #[0-9a-f]{16}, which the weights file 'm\.safetensors' does not hold/);
  relink(encodeSafetensors(new Map([[w.hash, w.data!]])));
  throwsKiln(() => readKirFile(kir), /m\.kir:\d+:\d+: tensor attribute #[0-9a-f]{16} is not in the weights file 'm\.safetensors'/);
  relink(encodeSafetensors(new Map([[w.hash, w.data!.reshape([4, 5])], [hashOf(u), u]])));
  throwsKiln(() => readKirFile(kir), /m\.kir:\d+:\d+: tensor #[0-9a-f]{16} of the weights file 'm\.safetensors' is f32\[4,5\] but the text declares f32\[20\]/);

  relink(good, text.replace('"m.safetensors"', JSON.stringify(path.join(dir, 'm.safetensors'))));
  throwsKiln(() => readKirFile(kir), /m\.kir: its weights file '.*' \(kiln\.weights\) must be a path relative to the \.kir's folder/);
  relink(good);
  assert.is(printGraph(readKirFile(kir)), printGraph(odd), 'the untouched pair reads back');
});

test('Session.load of a .kir with its sidecar runs the default pipeline and passes the numeric check', async () => {
  const kir = path.join(tmp, 'session', 'mlp.kir');
  writeKir(kir, zooModel('mlp'));
  const s = Session.load(kir);
  s.run();
  assert.ok(s.at().index > 0);
  assert.is(s.ir(0), printGraph(zooModel('mlp')));
  assert.is(s.check().withinTolerance, true);
  await s.close();
});

test('a .kir without a link loads; running it names the constant that has no data', () => {
  const file = path.join(tmp, 'bare.kir');
  fs.writeFileSync(file, printGraph(zooModel('mlp')));
  const g = loadModel(file);
  assert.is(g.constants.find((c) => c.name === 'fc1.weight')!.data, undefined);
  throwsKiln(() => runReference(g, { input: Tensor.zeros('f32', [1, 784]) }), /constant '%fc1\.weight' has no data/);
  throwsKiln(() => kirFiles([{ path: 'bare.kir', graph: g }], 'w.safetensors'), /^bare\.kir: constant '%fc1\.weight' has no data/);
});

test('writeKir: default sidecar next to the .kir, --weights elsewhere, never the .kir itself', () => {
  const g = zooModel('mlp');
  const a = writeKir(path.join(tmp, 'w1', 'm.kir'), g);
  assert.is(a.sidecarPath, path.join(tmp, 'w1', 'm.safetensors'));
  assert.is(a.tensors, 5);
  assert.is(a.sidecarBytes, fs.statSync(a.sidecarPath).size);
  fs.mkdirSync(path.join(tmp, 'w2'));
  writeKir(path.join(tmp, 'w2', 'sub', 'm.kir'), g, path.join(tmp, 'w2', 'weights', 'all.safetensors'));
  assert.match(fs.readFileSync(path.join(tmp, 'w2', 'sub', 'm.kir'), 'utf8'), /^kiln\.weights "\.\.\/weights\/all\.safetensors" /);
  assert.is(printGraph(loadModel(path.join(tmp, 'w2', 'sub', 'm.kir'))), printGraph(g));
  throwsKiln(() => writeKir(path.join(tmp, 'm.kir'), g, path.join(tmp, 'm.kir')), /the weights file and the \.kir are the same file/);
});

test.run();
