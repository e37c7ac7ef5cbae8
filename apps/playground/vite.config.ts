import { defineConfig } from 'vite';
import { workspaceAlias } from '../../vitest.workspace-alias.js';

// Like the tests, the page imports the packages' TypeScript sources (one copy of core, so one
// backend registry), so `dev` needs no build of the packages first.
export default defineConfig({
  resolve: { alias: workspaceAlias },
  // Nothing to pre-bundle: every import is workspace source.
  optimizeDeps: { noDiscovery: true, include: [] },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
