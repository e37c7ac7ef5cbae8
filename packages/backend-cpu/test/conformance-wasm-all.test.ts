/**
 * The conformance suite with every wasm kernel taking every case it accepts, however small
 * (thresholds 0), and GEMM split over two threads whenever it has two panels: the default
 * thresholds would leave the suite's small tensors on the JS kernels and so not test the
 * wasm ones at all.
 */
import '@ghostflow/backend-cpu';
import { runConformance } from '@ghostflow/backend-conformance';
import { registerBackend } from '@ghostflow/core';
import { createCpuBackend } from '../src/cpu-backend.js';

registerBackend(
  'cpu-wasm-all',
  () =>
    createCpuBackend({
      name: 'cpu-wasm-all',
      threads: 2,
      thresholds: { minElements: 0, minMacs: 0, threadMinMacs: 0, threadMinElements: 0 },
    }),
  { priority: 0 },
);

runConformance({ backend: 'cpu-wasm-all' });
