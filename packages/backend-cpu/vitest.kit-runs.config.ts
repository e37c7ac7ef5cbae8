import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

/**
 * Config of the child runs of test/kit-runs.test.ts: only the `*.kit.ts` files of
 * test/kit-runs (the conformance kit on deliberately flawed backends, expected to fail).
 */
export default defineConfig({
  root: fileURLToPath(new URL('./test/kit-runs', import.meta.url)),
  resolve: { alias: workspaceAlias },
  test: { include: ['*.kit.ts'], testTimeout: 60_000, hookTimeout: 120_000 },
});
