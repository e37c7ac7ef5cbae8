import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['test/**/*.test.ts'],
    // CI runs every package's tests at once on 2 cores: vitest's 5 s default fails slow-but-correct
    // tests there. The timeout only catches hangs; speed is the benchmarks' business.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The wasm kernels are compiled into a generated module; make sure it exists first.
    globalSetup: ['test/global-setup.ts'],
    // `gc()` for the memory tests: the no-tidy README loop and the conformance leak census
    // check what the GC safety net frees (they run without it too, with exact counts only).
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
