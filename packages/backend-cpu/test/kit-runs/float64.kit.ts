/** The kernels suite on a float64 cpu (see backends.ts); run by test/kit-runs.test.ts. */
import { runConformance } from '@ghostflow/backend-conformance';
import { registerBackend } from '@ghostflow/core';
import { float64CpuBackend } from './backends.js';

registerBackend('cpu-float64', () => float64CpuBackend('cpu-float64'), { priority: 0 });
runConformance({ backend: 'cpu-float64', only: ['kernels'] });
