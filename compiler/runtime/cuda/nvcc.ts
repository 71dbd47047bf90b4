/**
 * CUDA source → cubin and PTX for one architecture with nvcc (a subprocess; without nvcc, NVRTC in
 * this process: nvrtc.ts), through a content-addressed
 * cache on disk, with the per-kernel resource figures `ptxas -v` prints.
 *
 * nvcc is found as `$KILN_NVCC`, else `nvcc` on PATH, else `$CUDA_HOME/bin/nvcc`, else
 * `/usr/local/cuda/bin/nvcc`. The key is the SHA-256 of the source, the architecture, the flags and
 * nvcc's `--version`; an entry `<cache>/cuda/<key>/` holds `<name>.cu`, `<name>.<arch>.cubin`,
 * `<name>.<arch>.ptx`, `command.txt` (the exact commands, which work when pasted), `build.log` (nvcc's
 * and ptxas's output) and `build.json`, written last: an entry is a hit only when build.json exists.
 * A failed compile keeps the source and the log and throws a KilnError that names the first
 * errors and the command that reproduces them.
 *
 * `ptxas -v` gives, per kernel: registers per thread, spill stores and loads (bytes), static shared
 * memory (bytes) and stack frame (bytes). Those figures are what the generated-code checks test
 * (no spills in template kernels, shared memory within the architecture's limit).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ensureFolder, writeFileAtomic } from '../../files.ts';
import { KilnError } from '../../errors.ts';
import { firstErrors, shellQuote } from '../native/c-compiler.ts';
import { cacheDir } from '../native/object-cache.ts';
import { type Nvrtc, findNvrtc } from './nvrtc.ts';

/** A found nvcc. */
export interface Nvcc {
  readonly path: string;
  /** The last line of `nvcc --version` (`Build cuda_13.0...`) and the release (`13.0`). */
  readonly version: string;
  readonly release: string;
}

/** The resources ptxas reports for one kernel. */
export interface KernelResources {
  readonly kernel: string;
  readonly registers: number;
  readonly spillStores: number;
  readonly spillLoads: number;
  readonly sharedBytes: number;
  readonly stackBytes: number;
}

/** One compiled module. */
export interface CudaBinary {
  readonly key: string;
  readonly hit: boolean;
  readonly arch: string;
  readonly sourcePath: string;
  readonly cubinPath: string;
  /** The PTX (not written when compiled with `ptx: false`, as the generated-code checks do). */
  readonly ptxPath: string;
  readonly logPath: string;
  readonly command: string;
  readonly resources: readonly KernelResources[];
  /** Milliseconds nvcc ran in this call (0 on a hit). */
  readonly compileMs: number;
}

/** Finds nvcc (see the module header), or undefined. */
export function findNvcc(env: NodeJS.ProcessEnv = process.env): Nvcc | undefined {
  const candidates = [env.KILN_NVCC, 'nvcc', env.CUDA_HOME && path.join(env.CUDA_HOME, 'bin', 'nvcc'), '/usr/local/cuda/bin/nvcc'].filter((c): c is string => !!c);
  for (const c of candidates) {
    try {
      const out = execFileSync(c, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const release = /release (\d+\.\d+)/.exec(out)?.[1] ?? 'unknown';
      return { path: c, version: out.trim().split('\n').at(-1) ?? '', release };
    } catch { /* next */ }
  }
  return undefined;
}

/** Flags of every build: optimised device code, resource usage printed, no host code. */
const FLAGS = ['-O3', '-Xptxas', '-v', '--extra-device-vectorization'];

/** Parses `ptxas -v` output into per-kernel figures. */
export function parsePtxasInfo(log: string): KernelResources[] {
  const out: KernelResources[] = [];
  let current: { kernel: string; stack: number; spillStores: number; spillLoads: number } | undefined;
  for (const line of log.split('\n')) {
    const fn = /Function properties for (\S+)/.exec(line);
    if (fn) { current = { kernel: fn[1], stack: 0, spillStores: 0, spillLoads: 0 }; continue; }
    const frame = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (frame && current) { current.stack = +frame[1]; current.spillStores = +frame[2]; current.spillLoads = +frame[3]; continue; }
    const used = /Used (\d+) registers(?:.*?(\d+) bytes smem)?/.exec(line);
    if (used && current) {
      out.push({ kernel: current.kernel, registers: +used[1], sharedBytes: used[2] ? +used[2] : 0, stackBytes: current.stack, spillStores: current.spillStores, spillLoads: current.spillLoads });
      current = undefined;
    }
  }
  return out;
}

/** Compiles `source` for `arch` (`sm_80`, `sm_90`) through the cache (module header). */
export function compileCuda(source: string, arch: string, opts: { nvcc?: Nvcc; name?: string; cacheDir?: string; ptx?: boolean } = {}): CudaBinary {
  const nvcc = opts.nvcc ?? findNvcc();
  if (!nvcc) {
    const nvrtc = findNvrtc();
    if (nvrtc) return compileWithNvrtc(nvrtc, source, arch, opts);
    throw new KilnError('no CUDA compiler found: neither nvcc (KILN_NVCC, PATH, CUDA_HOME, /usr/local/cuda) nor libnvrtc (KILN_NVRTC, CUDA_HOME/lib64, Python\'s nvidia/cuda_nvrtc or torch/lib): install the CUDA toolkit or the nvidia-cuda-nvrtc wheel');
  }
  if (!/^sm_\d+a?$/.test(arch)) throw new KilnError(`CUDA architecture '${arch}' is not sm_NN (sm_80, sm_90)`);
  const name = opts.name ?? 'kernels';
  const ptx = opts.ptx ?? true;
  const key = createHash('sha256').update(JSON.stringify([source, arch, FLAGS, nvcc.version, ptx])).digest('hex').slice(0, 32);
  const dir = path.join(opts.cacheDir ?? cacheDir(), 'cuda', key);
  const sourcePath = path.join(dir, `${name}.cu`), cubinPath = path.join(dir, `${name}.${arch}.cubin`), ptxPath = path.join(dir, `${name}.${arch}.ptx`);
  const logPath = path.join(dir, 'build.log'), recordPath = path.join(dir, 'build.json');
  const commands = [
    [nvcc.path, ...FLAGS, `-arch=${arch}`, '-cubin', '-o', cubinPath, sourcePath],
    ...(ptx ? [[nvcc.path, '-O3', `-arch=${arch}`, '-ptx', '-o', ptxPath, sourcePath]] : []),
  ];
  const command = commands.map((c) => c.map(shellQuote).join(' ')).join(' && ');
  if (fs.existsSync(recordPath) && fs.existsSync(cubinPath)) {
    const log = fs.readFileSync(logPath, 'utf8');
    return { key, hit: true, arch, sourcePath, cubinPath, ptxPath, logPath, command, resources: parsePtxasInfo(log), compileMs: 0 };
  }
  ensureFolder(dir, { what: 'the CUDA binary cache', makeParents: true });
  writeFileAtomic(sourcePath, source);
  writeFileAtomic(path.join(dir, 'command.txt'), command + '\n');
  const t0 = performance.now();
  let log = '';
  for (const c of commands) {
    const r = spawnSync(c[0], c.slice(1), { encoding: 'utf8' });
    log += `$ ${c.map(shellQuote).join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.status !== 0) {
      writeFileAtomic(logPath, log);
      throw new KilnError(`nvcc failed for ${arch} (${sourcePath}):\n${firstErrors(log)}\nreproduce: ${command}`, { file: sourcePath, rule: 'cuda-compile' });
    }
  }
  const compileMs = performance.now() - t0;
  writeFileAtomic(logPath, log);
  writeFileAtomic(recordPath, JSON.stringify({ key, arch, nvcc: nvcc.version, flags: FLAGS, command, compileMs }, null, 2) + '\n');
  return { key, hit: false, arch, sourcePath, cubinPath, ptxPath, logPath, command, resources: parsePtxasInfo(log), compileMs };
}

/** compileCuda through NVRTC (nvrtc.ts), into the same cache layout; the command names the equivalent nvcc call. */
function compileWithNvrtc(nvrtc: Nvrtc, source: string, arch: string, opts: { name?: string; cacheDir?: string }): CudaBinary {
  const name = opts.name ?? 'kernels';
  const key = createHash('sha256').update(JSON.stringify([source, arch, 'nvrtc', nvrtc.version])).digest('hex').slice(0, 32);
  const dir = path.join(opts.cacheDir ?? cacheDir(), 'cuda', key);
  const sourcePath = path.join(dir, `${name}.cu`), cubinPath = path.join(dir, `${name}.${arch}.cubin`), ptxPath = path.join(dir, `${name}.${arch}.ptx`);
  const logPath = path.join(dir, 'build.log'), recordPath = path.join(dir, 'build.json');
  const command = `NVRTC ${nvrtc.version} (${nvrtc.path}) --gpu-architecture=${arch} -default-device --ptxas-options=-v ${sourcePath}; with the toolkit: nvcc -arch=${arch} -cubin -Xptxas -v ${shellQuote(sourcePath)}`;
  if (fs.existsSync(recordPath) && fs.existsSync(cubinPath)) {
    return { key, hit: true, arch, sourcePath, cubinPath, ptxPath, logPath, command, resources: parsePtxasInfo(fs.readFileSync(logPath, 'utf8')), compileMs: 0 };
  }
  ensureFolder(dir, { what: 'the CUDA binary cache', makeParents: true });
  writeFileAtomic(sourcePath, source);
  writeFileAtomic(path.join(dir, 'command.txt'), command + '\n');
  const t0 = performance.now();
  let built;
  try {
    built = nvrtc.compile(source, name, arch);
  } catch (e) {
    writeFileAtomic(logPath, (e as Error).message);
    throw new KilnError(`${(e as Error).message}\nsource: ${sourcePath}`, { file: sourcePath, rule: 'cuda-compile' });
  }
  const compileMs = performance.now() - t0;
  writeFileAtomic(cubinPath, built.cubin);
  writeFileAtomic(ptxPath, built.ptx);
  writeFileAtomic(logPath, built.log);
  writeFileAtomic(recordPath, JSON.stringify({ key, arch, nvrtc: nvrtc.version, path: nvrtc.path, command, compileMs }, null, 2) + '\n');
  return { key, hit: false, arch, sourcePath, cubinPath, ptxPath, logPath, command, resources: parsePtxasInfo(built.log), compileMs };
}

/**
 * The PTX of each kernel of a module: `.version`/`.target`/`.address_size` and the kernel's own
 * `// .globl NAME` section (its `.entry` and body), by kernel name.
 */
export function ptxEntries(ptx: string): Map<string, string> {
  const head = ptx.split('\n').filter((l) => /^\.(version|target|address_size)\b/.test(l)).join('\n');
  const out = new Map<string, string>();
  const parts = ptx.split(/^(?=\s*\/\/ \.globl\s)/m).slice(1);
  for (const part of parts) {
    const name = /\/\/ \.globl\s+(\S+)/.exec(part)?.[1];
    if (name) out.set(name, `${head}\n\n${part.replace(/^\/\/ _Z\w+ has been demoted\n/gm, '').trimEnd()}\n`);
  }
  return out;
}
