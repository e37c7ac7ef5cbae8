/** The index suites on an asynchronous cpu that reports index faults; run by test/kit-runs.test.ts. */
import { runConformance } from '@ghostflow/backend-conformance';
import { registerBackend } from '@ghostflow/core';
import { asyncCpuBackend } from './backends.js';

registerBackend('cpu-async-reports', () => asyncCpuBackend('cpu-async-reports', 'reports'), { priority: 0 });
runConformance({ backend: 'cpu-async-reports', only: ['ops-indexing', 'ops-misc', 'errors'] });
