/**
 * The whole conformance kit on a real GPU ('cuda'). Runs only when asked
 * (GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1, as scripts/gpu-check.sh does) and a device is there.
 */
import '@ghostflow/backend-cuda';
import { createCudaBackend } from '@ghostflow/backend-cuda';
import { runConformance } from '@ghostflow/backend-conformance';
import { describe, it } from 'vitest';

function unavailable(): string | null {
  if (process.env.GHOSTFLOW_CUDA_DEVICE_CONFORMANCE !== '1') return 'set GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 (scripts/gpu-check.sh)';
  try {
    createCudaBackend();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const reason = unavailable();
if (reason) {
  describe.skip(`conformance: cuda on the device (skipped: ${reason})`, () => {
    it('needs an NVIDIA GPU', () => {});
  });
} else {
  runConformance({ backend: 'cuda' });
}
