import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  // Maps point into the repository's sources instead of embedding them (a third of every tarball).
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  clean: true,
  target: 'es2022',
  // import.meta.url (how the kit finds its shipped cases and fixtures) in the CJS build too.
  shims: true,
});
