import { defineConfig } from 'tsup';

export default defineConfig({
  // One entry per subpath: '.' (platform-neutral), './node' (fs), './browser' (IndexedDB, fetch,
  // workers). Shared code goes to chunks, so the three share one copy of Module and the safetensors code.
  entry: { index: 'src/index.ts', node: 'src/node.ts', browser: 'src/browser.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  // Maps point into the repository's sources instead of embedding them (a third of every tarball).
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  clean: true,
  target: 'es2022',
});
