/**
 * Finding a WebGPU implementation at runtime: `navigator.gpu` in browsers (and Deno, Bun),
 * otherwise the `webgpu` npm package (Dawn) in Node. The same backend code runs on both.
 */
import { BackendError } from '@ghostflow/core';

/** How to get WebGPU, appended to every "unavailable" error. */
export const HOW_TO_GET_WEBGPU =
  'In a browser, use one with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows; headless Chromium needs --enable-unsafe-webgpu). ' +
  "In Node, install the 'webgpu' package (npm install webgpu); on a machine without a GPU, Dawn can run on SwiftShader's software Vulkan: " +
  "install Debian's chromium and libvulkan1 packages and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.";

/** Keeps the Node WebGPU instance alive for the process lifetime (Dawn tears down when it is collected). */
let nodeGpu: GPU | undefined;

/** The module name, held in a variable so that bundlers do not try to resolve it for browsers. */
const NODE_WEBGPU_MODULE = 'webgpu';

interface NodeWebGPUModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Options for acquiring the GPU. */
export interface GpuSource {
  /** A `GPU` object to use instead of `navigator.gpu` / the `webgpu` package. */
  gpu?: GPU;
  /** Dawn flags passed to the `webgpu` package's `create()` in Node (e.g. `['backend=vulkan']`). */
  dawnFlags?: string[];
}

/** The `GPU` entry point: the one given, `navigator.gpu`, or the `webgpu` package in Node. */
export async function findGpu(source: GpuSource = {}): Promise<GPU> {
  if (source.gpu) return source.gpu;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (nodeGpu) return nodeGpu;
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) throw new BackendError(`WebGPU is not available: navigator.gpu is undefined. ${HOW_TO_GET_WEBGPU}`);
  let mod: NodeWebGPUModule;
  try {
    mod = (await import(/* @vite-ignore */ NODE_WEBGPU_MODULE)) as NodeWebGPUModule;
  } catch (e) {
    throw new BackendError(
      `WebGPU is not available in Node: the 'webgpu' package could not be loaded (${(e as Error).message}). ${HOW_TO_GET_WEBGPU}`,
    );
  }
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) are needed by code written for browsers.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  nodeGpu = mod.create(source.dawnFlags ?? []);
  return nodeGpu;
}

/** Requests an adapter (falling back to a software/fallback adapter) and a device with the adapter's largest buffer limits. */
export async function requestDevice(gpu: GPU, powerPreference?: GPUPowerPreference): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
    adapter ??= await gpu.requestAdapter({ forceFallbackAdapter: true });
  } catch (e) {
    throw new BackendError(`WebGPU is not available: requestAdapter() failed (${(e as Error).message}). ${HOW_TO_GET_WEBGPU}`);
  }
  if (!adapter) throw new BackendError(`WebGPU is not available: requestAdapter() found no GPU adapter. ${HOW_TO_GET_WEBGPU}`);
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  });
  return { adapter, device };
}
