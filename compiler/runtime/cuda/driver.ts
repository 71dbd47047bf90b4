/**
 * The CUDA driver API through koffi: what the cuda backend needs to run cubins (no CUDA runtime
 * library, no toolkit at run time). `openCuda()` loads `libcuda.so.1` once per process, calls cuInit,
 * takes device 0's primary context and describes the device; a machine without the NVIDIA driver, or
 * with no device, gets `{ ok: false, reason }` naming what is missing (the backend's `available`).
 * `listCudaDevices()` only names the devices and the driver version (cuInit and queries, no context):
 * the machine description of reports (runtime/machine.ts).
 *
 * Every call's CUresult is checked: a failure is a KilnError naming the call, the error's name and
 * description from cuGetErrorName/cuGetErrorString, and what kiln was doing (the kernel and IR node for
 * a launch). Device pointers are 64-bit integers (bigint). A launch passes its arguments as
 * `kernelParams`: an array of pointers, each to one 8-byte cell holding a device pointer.
 * Work goes to one stream the driver creates (a blocking stream: it orders with the synchronous
 * copies of the legacy default stream), so a sequence of launches can be captured as a CUDA graph
 * (cuStreamBeginCapture/EndCapture, instantiated once) and replayed with one cuGraphLaunch: what
 * PyTorch calls CUDA graphs and torch.compile's reduce-overhead mode.
 */
import koffi from 'koffi';
import { KilnError } from '../../errors.ts';

/** What the runtime needs to know about the device. */
export interface CudaDeviceInfo {
  readonly name: string;
  /** Compute capability, e.g. [9, 0]. */
  readonly capability: readonly [number, number];
  /** `sm_90`: the architecture cubins are built for. */
  readonly arch: string;
  readonly multiprocessors: number;
  readonly totalBytes: number;
  /** Driver version as CUDA spells it (12040 = 12.4). */
  readonly driverVersion: number;
  /** The SM clock's peak in kHz (CU_DEVICE_ATTRIBUTE_CLOCK_RATE). */
  readonly clockKHz: number;
}

/** An opened device: its context made current, with the calls the backend uses. */
export interface CudaDriver {
  readonly info: CudaDeviceInfo;
  alloc(bytes: number): bigint;
  free(ptr: bigint): void;
  upload(dst: bigint, src: Uint8Array): void;
  download(src: bigint, bytes: number): Uint8Array;
  /** Loads a cubin (or PTX text, NUL-terminated) and returns a function handle per kernel name. */
  loadModule(image: Uint8Array, kernels: readonly string[]): { module: unknown; functions: Map<string, unknown> };
  unloadModule(module: unknown): void;
  /** Launches `fn` on the driver's stream; `what` names the kernel and its nodes for errors. */
  launch(fn: unknown, grid: readonly number[], block: readonly number[], args: readonly bigint[], what: string): void;
  /**
   * Captures what `launches` enqueues on the stream (nothing runs) as a CUDA graph and instantiates
   * it; the executable graph replays those launches with one graphLaunch.
   */
  captureGraph(launches: () => void, what: string): unknown;
  graphLaunch(exec: unknown, what: string): void;
  graphDestroy(exec: unknown): void;
  synchronize(what: string): void;
  eventCreate(): unknown;
  eventRecord(e: unknown): void;
  /** Milliseconds between two recorded events (synchronizes on `end`). */
  eventElapsed(start: unknown, end: unknown): number;
  eventDestroy(e: unknown): void;
}

// CUdevice_attribute values
const ATTR_MULTIPROCESSORS = 16, ATTR_CLOCK_RATE = 13, ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76;
/** CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: other threads' unsafe calls do not end this capture. */
const CAPTURE_THREAD_LOCAL = 1;
const LIBRARIES = ['libcuda.so.1', 'libcuda.so', '/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1', '/usr/lib/wsl/lib/libcuda.so.1'];

/** The C prototypes of every driver call the runtime makes (koffi syntax; `_Out_` marks out-parameters). */
export const DRIVER_SIGNATURES = {
  cuInit: 'int cuInit(unsigned int)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *v)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *n)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *dev, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *v, int attr, int dev)',
  cuDeviceTotalMem: 'int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int dev)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuCtxSynchronize: 'int cuCtxSynchronize()',
  cuMemAlloc: 'int cuMemAlloc_v2(_Out_ uint64_t *ptr, size_t bytes)',
  cuMemFree: 'int cuMemFree_v2(uint64_t ptr)',
  cuMemcpyHtoD: 'int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)',
  cuMemcpyDtoH: 'int cuMemcpyDtoH_v2(_Out_ void *dst, uint64_t src, size_t bytes)',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const void *image)',
  cuModuleUnload: 'int cuModuleUnload(void *module)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
  cuLaunchKernel: 'int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared, void *stream, void **params, void **extra)',
  cuEventCreate: 'int cuEventCreate(_Out_ void **event, unsigned int flags)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventSynchronize: 'int cuEventSynchronize(void *event)',
  cuEventElapsedTime: 'int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)',
  cuEventDestroy: 'int cuEventDestroy_v2(void *event)',
  cuStreamCreate: 'int cuStreamCreate(_Out_ void **stream, unsigned int flags)',
  cuStreamBeginCapture: 'int cuStreamBeginCapture_v2(void *stream, int mode)',
  cuStreamEndCapture: 'int cuStreamEndCapture(void *stream, _Out_ void **graph)',
  cuGraphInstantiate: 'int cuGraphInstantiateWithFlags(_Out_ void **exec, void *graph, uint64_t flags)',
  cuGraphLaunch: 'int cuGraphLaunch(void *exec, void *stream)',
  cuGraphExecDestroy: 'int cuGraphExecDestroy(void *exec)',
  cuGraphDestroy: 'int cuGraphDestroy(void *graph)',
  cuGetErrorName: 'int cuGetErrorName(int err, _Out_ const char **name)',
  cuGetErrorString: 'int cuGetErrorString(int err, _Out_ const char **text)',
} as const;

let opened: { ok: true; cuda: CudaDriver } | { ok: false; reason: string } | undefined;

/** Opens the driver and device 0 once per process (see the module header). */
export function openCuda(): { ok: true; cuda: CudaDriver } | { ok: false; reason: string } {
  if (!opened) opened = open();
  return opened;
}

let libcuda: { ok: true; lib: ReturnType<typeof koffi.load> } | { ok: false; reason: string } | undefined;

/** libcuda loaded once per process (the first of LIBRARIES that loads), or why it is not there. */
function loadLibcuda(): { ok: true; lib: ReturnType<typeof koffi.load> } | { ok: false; reason: string } {
  if (process.env.KILN_CUDA === 'off') return { ok: false, reason: 'KILN_CUDA=off' };
  if (!libcuda) {
    for (const name of LIBRARIES) {
      try { libcuda = { ok: true, lib: koffi.load(name) }; break; } catch { /* the next name */ }
    }
    libcuda ??= { ok: false, reason: `no NVIDIA driver: libcuda.so.1 not found (install the NVIDIA driver; tried ${LIBRARIES.slice(0, 2).join(', ')})` };
  }
  return libcuda;
}

/** A CUDA device as the driver names it, for a machine description. */
export interface CudaDeviceSummary {
  readonly index: number;
  readonly name: string;
  /** `sm_90`. */
  readonly arch: string;
  readonly totalBytes: number;
}

/**
 * Every CUDA device's name, architecture and memory, and the driver's version (12040 = 12.4), asked of
 * the driver without creating a context or touching device memory; `{ ok: false, reason }` without
 * the driver or a device. Never throws.
 */
export function listCudaDevices(): { ok: true; driverVersion: number; devices: CudaDeviceSummary[] } | { ok: false; reason: string } {
  const loaded = loadLibcuda();
  if (!loaded.ok) return loaded;
  try {
    const call = (name: keyof typeof DRIVER_SIGNATURES) => loaded.lib.func(DRIVER_SIGNATURES[name]);
    const init = call('cuInit')(0) as number;
    if (init !== 0) return { ok: false, reason: `the NVIDIA driver did not initialise (CUresult ${init})` };
    const count = [0], version = [0];
    if (call('cuDeviceGetCount')(count) !== 0 || call('cuDriverGetVersion')(version) !== 0) return { ok: false, reason: 'the NVIDIA driver did not answer' };
    const devices: CudaDeviceSummary[] = [];
    for (let index = 0; index < count[0]; index++) {
      const dev = [0], nameBuf = new Uint8Array(256), total = [0], major = [0], minor = [0];
      if (call('cuDeviceGet')(dev, index) !== 0 || call('cuDeviceGetName')(nameBuf, 256, dev[0]) !== 0) continue;
      call('cuDeviceTotalMem')(total, dev[0]);
      call('cuDeviceGetAttribute')(major, ATTR_CC_MAJOR, dev[0]);
      call('cuDeviceGetAttribute')(minor, ATTR_CC_MINOR, dev[0]);
      devices.push({ index, name: new TextDecoder().decode(nameBuf.subarray(0, nameBuf.indexOf(0))), arch: `sm_${major[0]}${minor[0]}`, totalBytes: Number(total[0]) });
    }
    return { ok: true, driverVersion: version[0], devices };
  } catch (e) {
    return { ok: false, reason: `the NVIDIA driver failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

function open(): { ok: true; cuda: CudaDriver } | { ok: false; reason: string } {
  const loaded = loadLibcuda();
  if (!loaded.ok) return loaded;
  const lib = loaded.lib;
  const api = Object.fromEntries(Object.entries(DRIVER_SIGNATURES).map(([k, sig]) => [k, lib!.func(sig)])) as unknown as Record<keyof typeof DRIVER_SIGNATURES, (...args: unknown[]) => unknown>;

  const describe = (code: number): string => {
    const name: (string | null)[] = [null], text: (string | null)[] = [null];
    api.cuGetErrorName(code, name); api.cuGetErrorString(code, text);
    return `${name[0] ?? `CUDA error ${code}`}${text[0] ? ` (${text[0]})` : ''}`;
  };
  const check = (code: number, call: string, what = ''): void => {
    if (code !== 0) throw new KilnError(`CUDA ${call} failed: ${describe(code)}${what ? ` — ${what}` : ''}`, { rule: 'cuda' });
  };

  const init = api.cuInit(0) as number;
  if (init !== 0) return { ok: false, reason: `the NVIDIA driver did not initialise: ${describe(init)}` };
  const count = [0];
  check(api.cuDeviceGetCount(count) as number, 'cuDeviceGetCount');
  if (count[0] < 1) return { ok: false, reason: 'the NVIDIA driver found no CUDA device' };
  const dev = [0];
  check(api.cuDeviceGet(dev, 0) as number, 'cuDeviceGet');
  const attr = (a: number) => { const v = [0]; check(api.cuDeviceGetAttribute(v, a, dev[0]) as number, 'cuDeviceGetAttribute'); return v[0]; };
  const nameBuf = new Uint8Array(256);
  check(api.cuDeviceGetName(nameBuf, 256, dev[0]) as number, 'cuDeviceGetName');
  const total = [0], version = [0];
  check(api.cuDeviceTotalMem(total, dev[0]) as number, 'cuDeviceTotalMem');
  check(api.cuDriverGetVersion(version) as number, 'cuDriverGetVersion');
  const ctx: unknown[] = [null];
  check(api.cuDevicePrimaryCtxRetain(ctx, dev[0]) as number, 'cuDevicePrimaryCtxRetain');
  check(api.cuCtxSetCurrent(ctx[0]) as number, 'cuCtxSetCurrent');
  const major = attr(ATTR_CC_MAJOR), minor = attr(ATTR_CC_MINOR);
  const info: CudaDeviceInfo = {
    name: new TextDecoder().decode(nameBuf.subarray(0, nameBuf.indexOf(0))),
    capability: [major, minor], arch: `sm_${major}${minor}`, multiprocessors: attr(ATTR_MULTIPROCESSORS),
    totalBytes: Number(total[0]), driverVersion: version[0], clockKHz: attr(ATTR_CLOCK_RATE),
  };
  const streamOut: unknown[] = [null];
  check(api.cuStreamCreate(streamOut, 0) as number, 'cuStreamCreate');
  const stream = streamOut[0];

  const cuda: CudaDriver = {
    info,
    alloc(bytes) {
      const p = [0n];
      check(api.cuMemAlloc(p, Math.max(bytes, 256)) as number, 'cuMemAlloc', `${bytes} bytes (the device has ${info.totalBytes}): out of device memory?`);
      return BigInt(p[0]);
    },
    free(ptr) { check(api.cuMemFree(ptr) as number, 'cuMemFree'); },
    upload(dst, src) { if (src.byteLength) check(api.cuMemcpyHtoD(dst, src, src.byteLength) as number, 'cuMemcpyHtoD'); },
    download(src, bytes) {
      const out = new Uint8Array(bytes);
      if (bytes) check(api.cuMemcpyDtoH(out, src, bytes) as number, 'cuMemcpyDtoH');
      return out;
    },
    loadModule(image, kernels) {
      const mod: unknown[] = [null];
      check(api.cuModuleLoadData(mod, image) as number, 'cuModuleLoadData', `a ${info.arch} module for ${info.name}`);
      const functions = new Map<string, unknown>();
      for (const k of kernels) {
        const fn: unknown[] = [null];
        check(api.cuModuleGetFunction(fn, mod[0], k) as number, 'cuModuleGetFunction', `kernel ${k}`);
        functions.set(k, fn[0]);
      }
      return { module: mod[0], functions };
    },
    unloadModule(module) { check(api.cuModuleUnload(module) as number, 'cuModuleUnload'); },
    launch(fn, grid, block, args, what) {
      const cells = args.map((a) => BigUint64Array.of(a));
      check(api.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, stream, cells, null) as number, 'cuLaunchKernel', what);
    },
    captureGraph(launches, what) {
      check(api.cuStreamBeginCapture(stream, CAPTURE_THREAD_LOCAL) as number, 'cuStreamBeginCapture', what);
      const graph: unknown[] = [null];
      try {
        launches();
      } finally {
        // end the capture even when a launch failed, so the stream is usable again
        const ended = api.cuStreamEndCapture(stream, graph) as number;
        if (ended !== 0 && graph[0] === null) check(ended, 'cuStreamEndCapture', what);
      }
      const exec: unknown[] = [null];
      try {
        check(api.cuGraphInstantiate(exec, graph[0], 0n) as number, 'cuGraphInstantiate', what);
      } finally {
        check(api.cuGraphDestroy(graph[0]) as number, 'cuGraphDestroy');
      }
      return exec[0];
    },
    graphLaunch(exec, what) { check(api.cuGraphLaunch(exec, stream) as number, 'cuGraphLaunch', what); },
    graphDestroy(exec) { check(api.cuGraphExecDestroy(exec) as number, 'cuGraphExecDestroy'); },
    synchronize(what) { check(api.cuCtxSynchronize() as number, 'cuCtxSynchronize', what); },
    eventCreate() { const e: unknown[] = [null]; check(api.cuEventCreate(e, 0) as number, 'cuEventCreate'); return e[0]; },
    eventRecord(e) { check(api.cuEventRecord(e, stream) as number, 'cuEventRecord'); },
    eventElapsed(start, end) {
      check(api.cuEventSynchronize(end) as number, 'cuEventSynchronize');
      const ms = [0];
      check(api.cuEventElapsedTime(ms, start, end) as number, 'cuEventElapsedTime');
      return ms[0];
    },
    eventDestroy(e) { check(api.cuEventDestroy(e) as number, 'cuEventDestroy'); },
  };
  return { ok: true, cuda };
}
