/**
 * `kiln kernel install`: the kernelspec folder (kernel.json with absolute node, tsx and cli paths,
 * interrupt_mode message; logos as valid PNG/SVG), --prefix and the user folder (JUPYTER_DATA_DIR),
 * --name, and the command's usage errors (the history store is tested in history.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crc32, installKernelSpec, kernelSpec, logoPNG } from '../../kernel/install.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-install-test-'));

test('kernel.json: absolute node, --import with the absolute tsx loader, cli/main.ts, kernel -f {connection_file}', () => {
  const spec = kernelSpec() as { argv: string[]; display_name: string; language: string; interrupt_mode: string };
  assert.is(spec.argv[0], process.execPath);
  assert.ok(path.isAbsolute(spec.argv[0]));
  assert.is(spec.argv[1], '--import');
  assert.ok(path.isAbsolute(spec.argv[2]) && fs.existsSync(spec.argv[2]) && spec.argv[2].includes(`${path.sep}tsx${path.sep}`));
  assert.is(spec.argv[3], path.join(root, 'cli', 'main.ts'));
  assert.equal(spec.argv.slice(4), ['kernel', '-f', '{connection_file}']);
  assert.is(spec.display_name, 'kiln (TypeScript)');
  assert.is(spec.language, 'typescript');
  assert.is(spec.interrupt_mode, 'message');
});

test('install --prefix writes share/jupyter/kernels/NAME with kernel.json and logos', () => {
  const dir = tmp();
  try {
    const out = installKernelSpec({ prefix: dir, name: 'kiln-test' });
    assert.is(out, path.join(dir, 'share', 'jupyter', 'kernels', 'kiln-test'));
    assert.equal(fs.readdirSync(out).sort(), ['kernel.json', 'logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'kernel.json'), 'utf8')), kernelSpec());
    assert.match(fs.readFileSync(path.join(out, 'logo-svg.svg'), 'utf8'), /^<svg [^>]*viewBox="0 0 64 64"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => installKernelSpec({ prefix: '/tmp', name: '../evil' }), /may only contain/);
});

test('the logo PNG is well formed: signature, IHDR size, CRCs, RGBA pixels with the kiln colour', () => {
  const png = logoPNG(32);
  assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  const chunks: { type: string; data: Buffer }[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    assert.is(png.readUInt32BE(at + 8 + len), crc32(png.subarray(at + 4, at + 8 + len)), `CRC of ${type}`);
    chunks.push({ type, data });
    at += 12 + len;
  }
  assert.equal(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  assert.is(chunks[0].data.readUInt32BE(0), 32);
  assert.is(chunks[0].data.readUInt32BE(4), 32);
  const raw = zlib.inflateSync(chunks[1].data);
  assert.is(raw.length, 32 * (32 * 4 + 1));
  const px = (x: number, y: number) => [...raw.subarray(y * 129 + 1 + x * 4, y * 129 + 1 + x * 4 + 4)];
  assert.equal(px(0, 0), [0, 0, 0, 0]); // transparent corner
  assert.equal(px(16, 24), [0xff, 0xd1, 0x66, 255]); // the fire, low in the middle
  assert.equal(px(7, 24), [0xe8, 0x70, 0x2a, 255]); // the kiln wall
  assert.is(crc32(Buffer.from('123456789')), 0xcbf43926); // the standard check value
});

test('kiln kernel install: user folder by default (JUPYTER_DATA_DIR), usage errors exit 2', () => {
  const dir = tmp();
  try {
    const env = { ...process.env, JUPYTER_DATA_DIR: dir };
    const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'kernel', ...args], { cwd: root, env, encoding: 'utf8' });
    const ok = run(['install']);
    assert.is(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /installed kernelspec 'kiln' in /);
    assert.ok(fs.existsSync(path.join(dir, 'kernels', 'kiln', 'kernel.json')));
    const both = run(['install', '--user', '--prefix', dir]);
    assert.is(both.status, 2);
    assert.match(both.stderr, /--user and --prefix exclude each other/);
    const none = run([]);
    assert.is(none.status, 2);
    assert.match(none.stderr, /missing -f CONNECTION_FILE/);
    const missing = run(['-f', path.join(dir, 'nope.json')]);
    assert.is(missing.status, 1);
    assert.match(missing.stderr, /cannot read connection file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
