/**
 * `npm run gpu:bundle [-- --out DIR]`: writes the GPU bundle (default dist/gpu-bundle), a folder of at
 * most 60 MiB that runs kiln's CUDA tests and GPU bench on a Linux x64 machine with the NVIDIA driver
 * but no Node.js: this Node's binary (xz-compressed), the CUDA tests and the kiln side of the bench as
 * self-contained ES modules (esbuild; koffi and its linux-x64 binary beside them), the ONNX
 * conformance cases (tar.xz), the PyTorch side of the bench (torch_bench.py) and `run.sh`, which
 * unpacks what it needs and writes every result under `results/`. Prints the bundle's size; a bundle
 * over the limit is an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const LIMIT = 60 * 1024 * 1024;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argOut = process.argv.indexOf('--out');
const out = path.resolve(argOut > 0 ? process.argv[argOut + 1] : path.join(root, 'dist', 'gpu-bundle'));
const conformance = process.env.KILN_CONFORMANCE_DIR ?? path.resolve(root, '..', 'shared', 'onnx-conformance', 'node');
if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the GPU bundle carries this Node binary: build it on linux-x64 (this is ${process.platform}-${process.arch})`);
if (!fs.existsSync(conformance)) throw new Error(`ONNX conformance cases not found at ${conformance} (set KILN_CONFORMANCE_DIR)`);

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'tests'), { recursive: true });
const common = {
  bundle: true, platform: 'node' as const, format: 'esm' as const, target: 'node20', external: ['koffi', 'webgpu'], logLevel: 'warning' as const,
  // bundled CommonJS dependencies call require(): give the ES module one
  banner: { js: "import { createRequire as kilnRequire } from 'node:module'; const require = kilnRequire(import.meta.url);" },
};
await build({ ...common, entryPoints: [path.join(root, 'bench/gpu/kiln-bench.ts')], outfile: path.join(out, 'kiln-bench.mjs') });
for (const t of ['test/runtime/cuda.test.ts', 'test/codegen/cuda-compile.test.ts', 'test/codegen/cuda-compile-f16.test.ts', 'test/codegen/cuda-compile-conformance.test.ts']) {
  await build({ ...common, entryPoints: [path.join(root, t)], outfile: path.join(out, 'tests', path.basename(t).replace(/\.ts$/, '.mjs')) });
}
for (const pkg of ['koffi', '@koromix/koffi-linux-x64']) {
  fs.cpSync(path.join(root, 'node_modules', pkg), path.join(out, 'node_modules', pkg), { recursive: true, filter: (src) => !/musl_x64|\/vendor\/|\/doc\//.test(src) });
}
execFileSync('sh', ['-c', `xz -6 -T0 -c "${process.execPath}" > "${path.join(out, 'node.xz')}"`]);
execFileSync('tar', ['-C', path.dirname(conformance), '-cJf', path.join(out, 'conformance.tar.xz'), path.basename(conformance)]);
fs.copyFileSync(path.join(root, 'bench/gpu/run.sh'), path.join(out, 'run.sh'));
fs.chmodSync(path.join(out, 'run.sh'), 0o755);
fs.copyFileSync(path.join(root, 'bench/gpu/torch_bench.py'), path.join(out, 'torch_bench.py'));
let commit = 'unknown';
try { commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
fs.writeFileSync(path.join(out, 'VERSION'), `${commit} node ${process.version}\n`);
const size = (p: string): number => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0) : fs.statSync(p).size);
const bytes = size(out);
console.log(`GPU bundle: ${out}, ${(bytes / 2 ** 20).toFixed(1)} MiB (limit 60 MiB); run it with: bash ${path.join(out, 'run.sh')}`);
if (bytes > LIMIT) throw new Error(`the GPU bundle is ${bytes} bytes, over the 60 MiB limit`);
