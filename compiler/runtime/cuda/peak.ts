/**
 * An NVIDIA GPU's theoretical arithmetic peaks from what the driver reports (multiprocessors, SM
 * clock, compute capability): the denominator of the timing tables' "% of peak" on the cuda backend.
 * Unlike the CPU backend's peak (probed with a kernel), these are the datasheet formula
 * SMs × clock × operations per SM per clock × 2 (an FMA is two FLOPs), with the per-SM rates of each
 * architecture (NVIDIA's architecture whitepapers): FP32 lanes 64 on sm_70/75/80, 128 on sm_86 and
 * later; dense f16/bf16 tensor-core FMAs 512 (sm_70/75), 1024 (sm_80), 512 (sm_86/87/89), 2048
 * (sm_90 and later, reached by wgmma; mma.sync reaches a part of it); tf32 half the f16 rate.
 */
import type { CudaDeviceInfo } from './driver.ts';

/** Peaks in GFLOP/s. */
export interface CudaPeaks {
  readonly fp32: number;
  readonly tensorF16: number;
  readonly tensorTf32: number;
}

/** FP32 lanes and f16 tensor-core FMAs per SM per clock of a compute capability. */
function perSm([major, minor]: readonly [number, number]): { fp32: number; tensor: number } {
  if (major >= 9) return { fp32: 128, tensor: 2048 };
  if (major === 8) return minor === 0 ? { fp32: 64, tensor: 1024 } : { fp32: 128, tensor: 512 };
  if (major === 7) return { fp32: 64, tensor: 512 };
  return { fp32: 128, tensor: 0 }; // Pascal and earlier: no tensor cores
}

/** The device's theoretical peaks (module header). */
export function cudaPeaks(info: Pick<CudaDeviceInfo, 'capability' | 'multiprocessors' | 'clockKHz'>): CudaPeaks {
  const rate = perSm(info.capability);
  const ghzSms = (info.clockKHz / 1e6) * info.multiprocessors;
  return { fp32: ghzSms * rate.fp32 * 2, tensorF16: ghzSms * rate.tensor * 2, tensorTf32: ghzSms * rate.tensor };
}
