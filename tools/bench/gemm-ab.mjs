/**
 * In-process A/B of backend-cpu's GEMM: a baseline build of the backend against the current
 * one, both loaded in this process, calls interleaved round by round (order alternated), so
 * the fast/slow phases of a shared VM hit both alike. Reports the median GFLOP/s of each and
 * the ratio new/old per shape and thread count. Not a test: numbers only.
 *
 *   # once, before changing anything (a copy of the built backend is the baseline):
 *   mkdir -p tools/bench/.cache/gemm-baseline && cp packages/backend-cpu/dist/index.js tools/bench/.cache/gemm-baseline/
 *   # after building the current sources (pnpm exec turbo run build --filter=@ghostflow/backend-cpu):
 *   node tools/bench/gemm-ab.mjs [--only mm1024,qkv] [--threads 1,2] [--reps 15] [--fresh] [--baseline path/to/index.js]
 *
 * Shapes are those the models use: square matmul (B a persistent tensor, so from the second
 * call it comes from the packed cache, as in the bench), the LSTM input projection, the
 * Transformer QKV projection, batch-1 GRU decoding (a GEMV), attention scores (batched, K read
 * transposed) and a few odd sizes.
 */
import { contiguousStrides } from '@ghostflow/core';
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    reps: { type: 'string', default: '15' },
    // B changed before every call for every shape (as an activation or a trained weight is).
    fresh: { type: 'boolean', default: false },
    baseline: { type: 'string', default: join(HERE, '.cache', 'gemm-baseline', 'index.js') },
  },
});

const current = await import('@ghostflow/backend-cpu');
const baseline = await import(pathToFileURL(resolve(opts.baseline)).href);

/** kind: matmul (a [batch..., m, k] @ b [batch..., k, n]) or linear (x [m, k], weight [n, k], bias [n]). */
const SHAPES = [
  { id: 'mm256', kind: 'matmul', m: 256, k: 256, n: 256 },
  { id: 'mm512', kind: 'matmul', m: 512, k: 512, n: 512 },
  { id: 'mm1024', kind: 'matmul', m: 1024, k: 1024, n: 1024 },
  { id: 'mm-odd', kind: 'matmul', m: 333, k: 257, n: 191 },
  { id: 'lstm-in', kind: 'linear', m: 32 * 50, k: 128, n: 1024 },
  { id: 'qkv', kind: 'linear', m: 2048, k: 256, n: 768 },
  { id: 'gemv', kind: 'linear', m: 1, k: 256, n: 768 },
  { id: 'gemv-b8', kind: 'linear', m: 8, k: 256, n: 768 },
  { id: 'attn', kind: 'scores', batch: 32, m: 128, k: 32, n: 128 },
  // Weight gradients dW = dYᵀ @ X: A is a transposed view (packed by packA every call).
  { id: 'qkv-dW', kind: 'matmul', aT: true, m: 768, k: 2048, n: 256 },
  { id: 'lstm-dW', kind: 'matmul', aT: true, m: 1024, k: 1600, n: 128 },
  { id: 'attn-av', kind: 'matmul', batch: 32, m: 128, k: 128, n: 32 },
  // Transformer layouts as the layer makes them (b32 t64 d256, 8 heads): the QKV projection of
  // MultiheadAttention's seq-first view of a batch-first x ([L, B, d] with strides
  // [d, L·d, 1]); the feed-forward's dX = dY @ W with W broadcast over the batch; the attention
  // backward's per-head products, A column-major per head and B rows 8192 apart.
  { id: 'qkv-perm', kind: 'linear', permuted: { L: 64, B: 32 }, m: 2048, k: 256, n: 256 },
  { id: 'ffn-dX', kind: 'matmul', batch: 32, bBroadcast: true, m: 64, k: 1024, n: 256 },
  {
    id: 'attn-dW',
    kind: 'matmul',
    batch: 256,
    m: 64,
    k: 64,
    n: 32,
    aStrides: [4096, 1, 64],
    bStrides: [32, 8192, 1],
  },
  // The word language model's decoder (bench 'wordlm': 128 rows, nhid 64, 10000 words), with
  // B changed before every call (`fresh`) as in training, where the weight and the saved
  // activations are new at every step, so the packed cache never hits: the forward
  // x @ Wᵀ, dW = dYᵀ @ h (A a transposed view), dX = dY @ W as the batched call the model
  // makes ([16, 8, 10000] @ [10000, 64], W broadcast over the batch) and folded.
  { id: 'wl-dec', kind: 'linear', fresh: true, m: 128, k: 64, n: 10000 },
  { id: 'wl-dW', kind: 'matmul', fresh: true, aT: true, m: 10000, k: 128, n: 64 },
  { id: 'wl-dX', kind: 'matmul', fresh: true, batch: 16, bBroadcast: true, m: 8, k: 10000, n: 64 },
  { id: 'wl-dX-2d', kind: 'matmul', fresh: true, m: 128, k: 10000, n: 64 },
  // Its LSTM layers' input projections over the whole sequence (emsize 32 / nhid 64 in,
  // 4 x 64 gates out) and their gradients.
  { id: 'wl-ih', kind: 'linear', fresh: true, m: 128, k: 32, n: 256 },
  { id: 'wl-ih-dX', kind: 'matmul', fresh: true, m: 128, k: 256, n: 64 },
  { id: 'wl-ih-dW', kind: 'matmul', fresh: true, aT: true, m: 256, k: 128, n: 64 },
];
const only = opts.only ? new Set(opts.only.split(',')) : null;
const threadCounts = opts.threads.split(',').map(Number);
const reps = Number(opts.reps);

const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);

function view(be, values, shape, strides = contiguousStrides(shape)) {
  return { dataId: be.upload(values, 'float32'), dtype: 'float32', shape, strides, offset: 0 };
}

/** A closure that runs one product on `be` and frees its output; inputs are uploaded once. */
function prepare(be, s, data) {
  const run = prepareOp(be, s, data);
  if (!s.fresh && !opts.fresh) return run;
  // An in-place write of one element bumps B's buffer version: its packed copy goes stale.
  const one = view(be, new Float32Array([0.25]), [1]);
  return () => {
    be.kernels.write({ ...run.b, shape: [1], strides: [1] }, one);
    run();
  };
}

function prepareOp(be, s, data) {
  if (s.kind === 'linear') {
    const { L, B } = s.permuted ?? {};
    const x = s.permuted ? view(be, data.a, [L, B, s.k], [s.k, L * s.k, 1]) : view(be, data.a, [s.m, s.k]);
    const w = view(be, data.b, [s.n, s.k]);
    const bias = view(be, data.bias, [s.n]);
    return Object.assign(() => be.disposeData(be.fused.linear(x, w, bias)), { b: w });
  }
  const batch = s.batch ?? 1;
  const pre = s.batch ? [batch] : [];
  const a = s.aT
    ? view(be, data.a, [s.m, s.k], [1, s.m])
    : s.aStrides
      ? view(be, data.a, [...pre, s.m, s.k], s.aStrides)
      : view(be, data.a, [...pre, s.m, s.k]);
  // Attention scores: q @ kᵀ with k stored [batch, n, k] and read through a transposed view.
  const b =
    s.kind === 'scores'
      ? view(be, data.b, [...pre, s.k, s.n], [s.n * s.k, 1, s.k])
      : s.bStrides
        ? view(be, data.b, [...pre, s.k, s.n], s.bStrides)
        : s.bBroadcast
          ? view(be, data.b.subarray(0, s.k * s.n), [...pre, s.k, s.n], [0, s.n, 1])
          : view(be, data.b, [...pre, s.k, s.n]);
  return Object.assign(() => be.disposeData(be.kernels.matmul(a, b)), { b });
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

const rows = [];
for (const threads of threadCounts) {
  const engines = [
    ['old', baseline.createCpuBackend({ threads })],
    ['new', current.createCpuBackend({ threads })],
  ];
  for (const [, be] of engines) await be.whenThreadsReady();
  for (const s of SHAPES) {
    if (only && !only.has(s.id)) continue;
    const batch = s.batch ?? 1;
    const data = { a: rand(batch * s.m * s.k), b: rand(batch * s.k * s.n), bias: rand(s.n) };
    const ops = engines.map(([, be]) => prepare(be, s, data));
    const flops = 2 * batch * s.m * s.n * s.k;
    // At least ~20 ms of work per timed sample so timer and scheduling noise stay small.
    const inner = Math.max(1, Math.round(2e7 / flops) * 10);
    for (let w = 0; w < 5; w++) for (const op of ops) for (let i = 0; i < inner; i++) op(); // leave V8's baseline tier
    const times = engines.map(() => []);
    const cpu = engines.map(() => []);
    const user = engines.map(() => []);
    for (let r = 0; r < reps; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const e of order) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < inner; i++) ops[e]();
        times[e].push((performance.now() - t0) / inner);
        const c = process.cpuUsage(c0);
        cpu[e].push((c.user + c.system) / 1000 / inner);
        user[e].push(c.user / 1000 / inner);
      }
    }
    const g = (t) => +(flops / t / 1e6).toFixed(1);
    // Per-round ratios, then their median: robust to a phase change between rounds.
    const ratio = (a, b) => +median(a.map((t, i) => t / b[i])).toFixed(2);
    rows.push({
      shape: s.id,
      threads,
      'old GF/s med': g(median(times[0])),
      'new GF/s med': g(median(times[1])),
      'old GF/s best': g(Math.min(...times[0])),
      'new GF/s best': g(Math.min(...times[1])),
      'new/old wall': ratio(times[0], times[1]),
      // CPU time of the whole process (every thread): on a loaded machine the least noisy
      // measure of work done; with threads it also counts what the split costs.
      'new/old cpu': ratio(cpu[0], cpu[1]),
      'old GF/cpu-s': g(median(cpu[0])),
      'new GF/cpu-s': g(median(cpu[1])),
      // User time alone leaves out the kernel's share (page faults of fresh output arrays).
      'new/old user': ratio(user[0], user[1]),
      'old GF/user-s': g(median(user[0])),
      'new GF/user-s': g(median(user[1])),
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  for (const [, be] of engines) be.dispose();
}
console.table(rows);
