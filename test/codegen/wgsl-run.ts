/**
 * Test support for the WGSL descriptor: compiles a module on the process's WebGPU device (Dawn), fails
 * with the compiler's messages (and the offending lines) on an error, and runs one entry point over
 * storage buffers given in binding order (an explicit layout of every binding the module declares),
 * returning every buffer's bytes after the dispatch. KILN_TIMES=1 prints compile times.
 */
import { webgpuDevice } from '../../compiler/runtime/webgpu/device.ts';
import type { GpuContext } from '../../compiler/runtime/webgpu/device.ts';

/** The device, or undefined after printing why a test skips. */
export async function testGpu(what: string): Promise<GpuContext | undefined> {
  const r = await webgpuDevice();
  if (!r.ok) { console.log(`  (${what} skipped: ${r.reason})`); return undefined; }
  return r.gpu;
}

/** Compiles `code`; throws with the error messages and their source lines. */
export async function compileWgsl(device: GPUDevice, code: string): Promise<GPUShaderModule> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const scoped = await device.popErrorScope();
  const lines = code.split('\n');
  const errors = info.messages.filter((m) => m.type === 'error')
    .map((m) => `${m.lineNum}:${m.linePos} ${m.message}\n    ${lines[m.lineNum - 1]?.trim().slice(0, 300) ?? ''}`);
  if (errors.length || scoped) throw new Error(`WGSL does not compile:\n${errors.join('\n') || scoped?.message}`);
  return module;
}

/** Bytes rounded up to a multiple of 4 (at least 4), as storage buffers need. */
const padded = (n: number) => Math.max(4, Math.ceil(n / 4) * 4);

/**
 * Runs entry point `entry` of `code` with `buffers` bound at bindings 0, 1, ... (their bytes uploaded),
 * dispatching `workgroups`; resolves to every buffer's contents afterwards.
 */
export async function runWgsl(device: GPUDevice, code: string, entry: string, buffers: readonly ArrayBufferView[],
  workgroups: readonly [number, number, number] = [1, 1, 1]): Promise<ArrayBuffer[]> {
  const t0 = performance.now();
  const module = await compileWgsl(device, code);
  const t1 = performance.now();
  device.pushErrorScope('validation');
  // an explicit layout from the module's bindings: 'auto' would drop the bindings a kernel never reads
  const bindings = [...code.matchAll(/@binding\((\d+)\) var<storage, (read|read_write)>/g)];
  const bindGroupLayout = device.createBindGroupLayout({
    entries: bindings.map((m) => ({ binding: Number(m[1]), visibility: GPUShaderStage.COMPUTE, buffer: { type: m[2] === 'read' ? 'read-only-storage' as const : 'storage' as const } })),
  });
  const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] });
  const pipeline = await device.createComputePipelineAsync({ layout, compute: { module, entryPoint: entry } });
  if (process.env.KILN_TIMES) console.log(`  compile ${(t1 - t0).toFixed(0)} ms, pipeline ${(performance.now() - t1).toFixed(0)} ms`);
  const gpuBuffers = buffers.map((b) => {
    const buf = device.createBuffer({ size: padded(b.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const bytes = new Uint8Array(padded(b.byteLength));
    bytes.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    device.queue.writeBuffer(buf, 0, bytes);
    return buf;
  });
  const reads = gpuBuffers.map((b) => device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  const group = device.createBindGroup({
    layout: bindGroupLayout,
    entries: gpuBuffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(...workgroups);
  pass.end();
  gpuBuffers.forEach((b, i) => enc.copyBufferToBuffer(b, 0, reads[i], 0, b.size));
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  const out: ArrayBuffer[] = [];
  for (let i = 0; i < reads.length; i++) {
    await reads[i].mapAsync(GPUMapMode.READ);
    out.push(reads[i].getMappedRange().slice(0, buffers[i].byteLength));
    reads[i].unmap();
    reads[i].destroy();
    gpuBuffers[i].destroy();
  }
  return out;
}
