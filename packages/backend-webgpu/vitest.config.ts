import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['test/**/*.test.ts'],
    // Software Vulkan (SwiftShader) is slow; a kernel test may take seconds on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // `gc()` for the conformance leak census (exact without it too; see its suite).
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
