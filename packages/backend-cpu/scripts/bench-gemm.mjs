// GEMM throughput of the built package (run `pnpm build` first): float32 matmul n x n x n
// on the JS kernels, the wasm kernels on one thread, and on every thread, interleaved in
// one process (this kind of VM drifts between fast and slow phases; separate runs are not
// comparable), warm-up first, median of the timed runs. Not a test: numbers only.
//   node scripts/bench-gemm.mjs [sizes...]     e.g. node scripts/bench-gemm.mjs 256 512 1024
import { contiguousStrides } from '@ghostflow/core';
import { createCpuBackend, getCpuThreads } from '../dist/index.js';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(256, 512, 1024);
const threads = getCpuThreads();
const engines = [
  ['js', createCpuBackend({ wasm: false })],
  ['wasm 1 thread', createCpuBackend({ threads: 1 })],
  ['wasm simd (no relaxed) 1 thread', createCpuBackend({ threads: 1, relaxedSimd: false })],
  [`wasm ${threads} threads`, createCpuBackend({ threads })],
];
await engines[3][1].whenThreadsReady();

function view(be, values, n) {
  return { dataId: be.upload(values, 'float32'), dtype: 'float32', shape: [n, n], strides: contiguousStrides([n, n]), offset: 0 };
}

const rows = [];
for (const n of sizes) {
  const A = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
  const B = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
  const ops = engines.map(([, be]) => {
    const a = view(be, A, n);
    const b = view(be, B, n);
    return () => be.disposeData(be.kernels.matmul(a, b));
  });
  const reps = n >= 1024 ? 5 : n >= 512 ? 9 : 21;
  const times = engines.map(() => []);
  for (let w = 0; w < 3; w++) for (const op of ops) op(); // warm-up: leave V8's baseline tier
  for (let r = 0; r < reps; r++) {
    engines.forEach((e, i) => {
      // The JS kernel at 1024 takes seconds: fewer runs for it.
      if (i === 0 && n >= 1024 && r >= 2) return;
      const t0 = performance.now();
      ops[i]();
      times[i].push(performance.now() - t0);
    });
  }
  const flops = 2 * n ** 3;
  const row = { n };
  engines.forEach(([name], i) => {
    const t = times[i].sort((x, y) => x - y)[Math.floor(times[i].length / 2)];
    row[name] = +(flops / t / 1e6).toFixed(1);
  });
  rows.push(row);
}
console.log(
  `GFLOP/s, float32 matmul, median (threads = ${threads}; paths: ${engines.map(([n, be]) => `${n}=${be.info.path}`).join(', ')})`,
);
console.table(rows);
for (const [, be] of engines) be.dispose();
