/**
 * Tests run against the packages' TypeScript sources, not their builds: one copy of core
 * (one registry) however a test imports it, and no build needed before `vitest`.
 */
import { fileURLToPath } from 'node:url';

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export const workspaceAlias = {
  // Subpaths first: an alias key also matches as a prefix ('@ghostflow/nn' would catch '@ghostflow/nn/node').
  '@ghostflow/nn/node': fileURLToPath(new URL('./packages/nn/src/node.ts', import.meta.url)),
  '@ghostflow/nn/browser': fileURLToPath(new URL('./packages/nn/src/browser.ts', import.meta.url)),
  '@ghostflow/core': pkg('core'),
  '@ghostflow/backend-cpu': pkg('backend-cpu'),
  '@ghostflow/backend-conformance': pkg('backend-conformance'),
  '@ghostflow/nn': pkg('nn'),
  '@ghostflow/backend-webgpu': pkg('backend-webgpu'),
  '@ghostflow/backend-cuda': pkg('backend-cuda'),
};
