import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['test/**/*.test.ts'],
    // The wasm kernels are compiled into a generated module; make sure it exists first.
    globalSetup: ['test/global-setup.ts'],
    // `gc()` for the memory tests: the no-tidy README loop and the conformance leak census
    // check what the GC safety net frees (they run without it too, with exact counts only).
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
