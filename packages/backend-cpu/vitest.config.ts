import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  // The wasm kernels are compiled into a generated module; make sure it exists first.
  test: { include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
});
