/**
 * The WebGPU device of this process, through the npm `webgpu` package (Google's Dawn as a Node
 * addon): one adapter and one device, requested once and shared by every webgpu program and test.
 *
 * Dawn crashes when the object its `create()` returns is garbage-collected while devices live, so the
 * module keeps it (`instance`) for the life of the process. The adapter is asked for its own limits
 * (more storage buffers per stage and larger bindings than WebGPU's defaults) and for the features
 * kiln uses where offered: `shader-f16` (f16 tensors stay f16 on the device) and `timestamp-query`
 * (per-kernel device times).
 *
 * Without an adapter (no Vulkan loader, no Vulkan driver) `webgpuDevice()` gives a reason that names
 * what to install: on Debian, `libvulkan1` and `mesa-vulkan-drivers` from bookworm-backports (Mesa's
 * software Vulkan, lavapipe, runs every kernel on the CPU; bookworm's own Mesa 22 is refused by Dawn).
 */
import { createRequire } from 'node:module';

/** What to install when no adapter is found (the message of every skip and refusal). */
export const INSTALL_HINT =
  'no WebGPU adapter: install a Vulkan driver (on Debian bookworm: apt-get install -t bookworm-backports libvulkan1 mesa-vulkan-drivers, Mesa\'s software Vulkan; bookworm\'s own Mesa 22 is refused by Dawn)';

/** The adapter kiln runs on, for a run's metadata and the timing table. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for a CPU implementation (lavapipe / SwiftShader): kernels run on the host's cores. */
  readonly software: boolean;
  readonly features: readonly string[];
  /** The device's limits kiln relies on (the adapter's own, requested in full). */
  readonly limits: Readonly<Record<string, number>>;
}

/** An open device with what kiln asked of it. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly info: AdapterInfo;
  /** `shader-f16` is enabled: f16 buffers and arithmetic exist in WGSL. */
  readonly f16: boolean;
  /** `timestamp-query` is enabled: compute passes can write device timestamps. */
  readonly timestamps: boolean;
}

/** The result of opening the device: the context, or why there is none. */
export type DeviceResult = { readonly ok: true; readonly gpu: GpuContext } | { readonly ok: false; readonly reason: string };

// Dawn's instance: kept for the life of the process (collecting it while a device lives crashes Dawn)
let instance: { requestAdapter(o?: GPURequestAdapterOptions): Promise<GPUAdapter | null> } | undefined;
let opened: Promise<DeviceResult> | undefined;

const LIMITS = [
  'maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment', 'maxBindingsPerBindGroup',
] as const;

async function open(): Promise<DeviceResult> {
  let mod: { create(flags: string[]): typeof instance; globals: Record<string, unknown> };
  try {
    mod = createRequire(import.meta.url)('webgpu') as typeof mod;
  } catch (e) {
    // the package is ESM; fall back to a dynamic import
    try {
      mod = await import('webgpu') as unknown as typeof mod;
    } catch {
      return { ok: false, reason: `the npm package 'webgpu' (Dawn) cannot be loaded: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  // GPUBufferUsage, GPUMapMode, GPUShaderStage... as the browser has them
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  instance = mod.create([]);
  const adapter = await instance!.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, reason: INSTALL_HINT };
  const want = ['shader-f16', 'timestamp-query'].filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) requiredLimits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  const device = await adapter.requestDevice({ requiredFeatures: want, requiredLimits });
  const i = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of LIMITS) limits[k] = (device.limits as unknown as Record<string, number>)[k];
  const software = /llvmpipe|lavapipe|swiftshader|software/i.test(`${i.architecture} ${i.device} ${i.description}`);
  return {
    ok: true,
    gpu: {
      device, f16: want.includes('shader-f16'), timestamps: want.includes('timestamp-query'),
      info: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, software, features: [...device.features].sort(), limits },
    },
  };
}

/**
 * The process's WebGPU device (opened on first use, then shared), or why there is none. Never throws:
 * a missing package, loader or driver is a reason.
 */
export function webgpuDevice(): Promise<DeviceResult> {
  opened ??= open().catch((e: unknown): DeviceResult => ({ ok: false, reason: `WebGPU failed to start: ${(e as Error).message}` }));
  return opened;
}

/** One line naming the adapter (`llvmpipe (LLVM 15.0.6, 256 bits), software, Mesa 25.0.7`). */
export function adapterLine(info: AdapterInfo): string {
  return `${info.description || info.device || info.vendor}${info.software ? ' (software: runs on the CPU)' : ''}`;
}
