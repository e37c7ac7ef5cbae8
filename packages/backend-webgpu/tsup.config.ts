import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Node's WebGPU provider is loaded at runtime only when navigator.gpu is absent.
  external: ['webgpu'],
});
