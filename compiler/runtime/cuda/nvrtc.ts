/**
 * NVRTC through koffi: CUDA source → cubin and PTX in this process, for machines with the NVIDIA
 * driver and a libnvrtc but no nvcc (PyTorch's pip wheels ship one). The generated source includes no
 * header (lang/cuda.ts), so no include path is needed.
 *
 * libnvrtc is found as `$KILN_NVRTC`, else `libnvrtc.so` on the loader's path, else in
 * `$CUDA_HOME/lib64`, `/usr/local/cuda/lib64`, or Python's site-packages (`nvidia/cuda_nvrtc/lib`,
 * `torch/lib`: the newest `libnvrtc*.so*` there). Options: `--gpu-architecture=sm_NN` (a cubin for
 * that architecture), `-O3` device code and `--ptxas-options=-v`, whose per-kernel figures land in the
 * program log (read by nvcc.ts's parsePtxasInfo).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import koffi from 'koffi';
import { KilnError } from '../../errors.ts';

/** The C prototypes of the NVRTC calls used (koffi syntax). */
export const NVRTC_SIGNATURES = {
  nvrtcVersion: 'int nvrtcVersion(_Out_ int *major, _Out_ int *minor)',
  nvrtcCreateProgram: 'int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, const char **headers, const char **includeNames)',
  nvrtcCompileProgram: 'int nvrtcCompileProgram(void *prog, int numOptions, const char **options)',
  nvrtcGetProgramLogSize: 'int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)',
  nvrtcGetProgramLog: 'int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)',
  nvrtcGetCUBINSize: 'int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)',
  nvrtcGetCUBIN: 'int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)',
  nvrtcGetPTXSize: 'int nvrtcGetPTXSize(void *prog, _Out_ size_t *size)',
  nvrtcGetPTX: 'int nvrtcGetPTX(void *prog, _Out_ uint8_t *ptx)',
  nvrtcDestroyProgram: 'int nvrtcDestroyProgram(_Inout_ void **prog)',
  nvrtcGetErrorString: 'const char *nvrtcGetErrorString(int result)',
} as const;

/** A loaded NVRTC. */
export interface Nvrtc {
  readonly path: string;
  /** `12.4`. */
  readonly version: string;
  /** Compiles `source`; the cubin, the PTX and the program log (with ptxas's figures). */
  compile(source: string, name: string, arch: string): { cubin: Uint8Array; ptx: string; log: string };
}

let found: Nvrtc | undefined | null = null;

/** The NVRTC library (see the module header), or undefined; looked up once per process. */
export function findNvrtc(env: NodeJS.ProcessEnv = process.env): Nvrtc | undefined {
  if (found === null) found = load(env);
  return found;
}

function candidates(env: NodeJS.ProcessEnv): string[] {
  const out = [env.KILN_NVRTC, 'libnvrtc.so'].filter((c): c is string => !!c);
  const dirs = [env.CUDA_HOME && path.join(env.CUDA_HOME, 'lib64'), '/usr/local/cuda/lib64'].filter((d): d is string => !!d);
  try {
    const sites = execFileSync('python3', ['-c', 'import site; print("\\n".join(site.getsitepackages() + [site.getusersitepackages()]))'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const s of sites.split('\n').filter(Boolean)) dirs.push(path.join(s, 'nvidia', 'cuda_nvrtc', 'lib'), path.join(s, 'torch', 'lib'));
  } catch { /* no python3 */ }
  for (const d of dirs) {
    let files: string[] = [];
    try { files = fs.readdirSync(d); } catch { continue; }
    // libnvrtc.so.12 (not libnvrtc-builtins), newest version first
    out.push(...files.filter((f) => /^libnvrtc(-[0-9a-f]+)?\.so(\.\d+)*$/.test(f)).sort().reverse().map((f) => path.join(d, f)));
  }
  return out;
}

function load(env: NodeJS.ProcessEnv): Nvrtc | undefined {
  for (const file of candidates(env)) {
    let lib: ReturnType<typeof koffi.load>;
    try { lib = koffi.load(file); } catch { continue; }
    const api = Object.fromEntries(Object.entries(NVRTC_SIGNATURES).map(([k, sig]) => [k, lib.func(sig)])) as unknown as Record<keyof typeof NVRTC_SIGNATURES, (...args: unknown[]) => unknown>;
    const major = [0], minor = [0];
    if (api.nvrtcVersion(major, minor) !== 0) continue;
    const check = (code: unknown, call: string) => {
      if (code !== 0) throw new KilnError(`NVRTC ${call} failed: ${api.nvrtcGetErrorString(code) as string}`, { rule: 'cuda-compile' });
    };
    return {
      path: file, version: `${major[0]}.${minor[0]}`,
      compile(source, name, arch) {
        const prog: unknown[] = [null];
        check(api.nvrtcCreateProgram(prog, source, `${name}.cu`, 0, null, null), 'nvrtcCreateProgram');
        try {
          const options = [`--gpu-architecture=${arch}`, '-default-device', '--ptxas-options=-v'];
          const result = api.nvrtcCompileProgram(prog[0], options.length, options);
          const size = [0];
          check(api.nvrtcGetProgramLogSize(prog[0], size), 'nvrtcGetProgramLogSize');
          const logBytes = new Uint8Array(Number(size[0]));
          check(api.nvrtcGetProgramLog(prog[0], logBytes), 'nvrtcGetProgramLog');
          const log = new TextDecoder().decode(logBytes).replace(/\0+$/, '');
          if (result !== 0) throw new KilnError(`NVRTC could not compile ${name}.cu for ${arch}: ${api.nvrtcGetErrorString(result) as string}\n${log.split('\n').slice(0, 20).join('\n')}`, { rule: 'cuda-compile' });
          check(api.nvrtcGetCUBINSize(prog[0], size), 'nvrtcGetCUBINSize');
          const cubin = new Uint8Array(Number(size[0]));
          check(api.nvrtcGetCUBIN(prog[0], cubin), 'nvrtcGetCUBIN');
          check(api.nvrtcGetPTXSize(prog[0], size), 'nvrtcGetPTXSize');
          const ptx = new Uint8Array(Number(size[0]));
          check(api.nvrtcGetPTX(prog[0], ptx), 'nvrtcGetPTX');
          return { cubin, ptx: new TextDecoder().decode(ptx).replace(/\0+$/, ''), log };
        } finally {
          api.nvrtcDestroyProgram(prog);
        }
      },
    };
  }
  return undefined;
}
