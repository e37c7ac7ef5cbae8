import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

// One test file at a time: each launches mpirun jobs of 1-3 ranks, and running several at once
// on a 2-core CI machine would make the timing assertions of the fault tests meaningless.
export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: { include: ['test/**/*.test.ts'], fileParallelism: false },
});
