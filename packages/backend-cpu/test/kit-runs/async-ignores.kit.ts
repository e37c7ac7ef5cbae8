/** The index suites on an asynchronous cpu that ignores index faults; run by test/kit-runs.test.ts. */
import { runConformance } from '@ghostflow/backend-conformance';
import { registerBackend } from '@ghostflow/core';
import { asyncCpuBackend } from './backends.js';

registerBackend('cpu-async-ignores', () => asyncCpuBackend('cpu-async-ignores', 'ignores'), { priority: 0 });
runConformance({ backend: 'cpu-async-ignores', only: ['ops-indexing', 'ops-misc', 'errors'] });
