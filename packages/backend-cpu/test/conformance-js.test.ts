/**
 * The conformance suite on the JavaScript kernels alone (`wasm: false`), so both paths of
 * the CPU backend are held to it: test/conformance.test.ts runs the default (wasm) path.
 */
import '@ghostflow/backend-cpu';
import { runConformance } from '@ghostflow/backend-conformance';
import { registerBackend } from '@ghostflow/core';
import { createCpuBackend } from '../src/cpu-backend.js';

registerBackend('cpu-js', () => createCpuBackend({ wasm: false, name: 'cpu-js' }), { priority: 0 });

runConformance({ backend: 'cpu-js' });
