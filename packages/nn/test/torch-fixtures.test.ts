/**
 * Every PyTorch golden case, through the conformance kit's one fixture runner (the
 * `torch-fixtures` suite of @ghostflow/backend-conformance; the builders live there too), on
 * backend-cpu and on the same CPU kernels with no fused kernel at all, so core's composed
 * paths (linear, softmax, layerNorm, lstmCell/gruCell steps) stay covered.
 *
 * The unfused backend is never made active: every tensor of its runs must land on it through
 * the layers' own `device` handling (the suite creates each tensor on `ctx.device` and checks
 * each output's device).
 */
import '@ghostflow/backend-cpu';
import { SUITES, type SuiteContext, makeContext } from '@ghostflow/backend-conformance';
import { createCpuBackend } from '@ghostflow/backend-cpu';
import { type Backend, registerBackend, setBackend } from '@ghostflow/core';
import { describe } from 'vitest';

const suite = SUITES.find((s) => s.name === 'torch-fixtures');
if (!suite) throw new Error("the conformance kit has no 'torch-fixtures' suite");

registerBackend('cpu-unfused', () => {
  const base = createCpuBackend();
  return Object.assign(Object.create(base) as Backend, { name: 'cpu-unfused', fused: {} });
});

describe('PyTorch fixtures on cpu', () => {
  suite.register(makeContext('cpu'));
});

describe('PyTorch fixtures on cpu-unfused (composed paths; never the active backend)', () => {
  // makeContext's defaults (census steps), but 'cpu' stays the active backend.
  const ctx: SuiteContext = {
    ...makeContext('cpu-unfused'),
    activate: async () => {
      await setBackend('cpu');
    },
  };
  suite.register(ctx);
});
