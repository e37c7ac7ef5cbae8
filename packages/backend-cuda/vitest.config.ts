import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['test/**/*.test.ts'],
    // The host build emulates every CUDA thread with a fiber: kernels are slow but exact.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // `gc()` for the kit's leak census (as backend-cpu and backend-webgpu): without it, garbage
    // earlier suites left to the GC net is freed in the middle of a census case.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
