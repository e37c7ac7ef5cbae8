/** The conformance kit on WebGPU (on SwiftShader when there is no GPU: see setup-icd.ts). */
import { webgpuUnavailable } from './availability.js';
import '@ghostflow/backend-webgpu';
import { runConformance } from '@ghostflow/backend-conformance';
import { describe, it } from 'vitest';

if (webgpuUnavailable) {
  describe.skip(`conformance: webgpu (skipped: ${webgpuUnavailable})`, () => {
    it('needs a WebGPU adapter', () => {});
  });
} else {
  runConformance({ backend: 'webgpu' });
}
