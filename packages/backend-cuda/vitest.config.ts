import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['test/**/*.test.ts'],
    // The host build emulates every CUDA thread with a fiber: kernels are slow but exact.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
