/**
 * Whether this machine can run WebGPU at all. Off CI, a machine with neither a GPU nor
 * SwiftShader (Debian's chromium + libvulkan1) skips the WebGPU tests with the reason printed;
 * on CI (`CI` set) they never skip, so a missing adapter fails the run.
 */
import './setup-icd.js';
import { createWebGPUBackend } from '../src/index.js';

async function probe(): Promise<string | null> {
  if (process.env.CI) return null;
  try {
    const backend = await createWebGPUBackend();
    backend.dispose();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Why WebGPU cannot run here, or null when it can (always null on CI). */
export const webgpuUnavailable: string | null = await probe();

if (webgpuUnavailable) {
  console.warn(
    `@ghostflow/backend-webgpu: tests SKIPPED, no WebGPU adapter (${webgpuUnavailable}). Install Debian's chromium and libvulkan1 for SwiftShader, or use a GPU machine; CI installs them and never skips.`,
  );
}
