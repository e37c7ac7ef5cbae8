/**
 * In-process A/B of the word-language-model step's loss and update part: a baseline build of
 * backend-cpu (and of nn, for the loss and clipping code) against the current one, both
 * backends registered in this process ('cpu-old', 'cpu-new'), the same inputs on each, runs
 * interleaved round by round (order alternated). Reports per-round medians and the median
 * of the per-round ratios new/old. Not a test.
 *
 *   # once, before changing anything (copies of the built packages are the baseline):
 *   mkdir -p tools/bench/.cache/loss-base/cpu && cp packages/backend-cpu/dist/index.js tools/bench/.cache/loss-base/cpu/
 *   cp -r packages/nn/dist tools/bench/.cache/loss-base/nn
 *   # after building the current sources:
 *   node tools/bench/loss-ab.mjs [--only softmax,logSoftmax,sum0,sumAll,square,scale,rowScale,ce,update,wordlm] [--reps 15] [--base tools/bench/.cache/loss-base]
 *
 * Checks of the harness itself: LOSS_AB_SAME=1 runs the current backend module on both sides
 * (the ratios should be ~1), LOSS_AB_SWAP=1 registers the backends in the other order.
 */
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as core from '@ghostflow/core';
import * as nnNew from '@ghostflow/nn';
import { abRounds } from './ab-rounds.mjs';
import { WORDLM_SPEC, wordLmStep } from './wordlm-step.mjs';

const { contiguousStrides, getBackend, manualSeed, noGrad, randint, randn, registerBackend, setBackend, tidy } = core;

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    reps: { type: 'string', default: '15' },
    base: { type: 'string', default: join(HERE, '.cache', 'loss-base') },
  },
});
const cpuNew = await import('@ghostflow/backend-cpu');
const cpuOld = process.env.LOSS_AB_SAME ? cpuNew : await import(pathToFileURL(resolve(opts.base, 'cpu', 'index.js')).href);
const nnOld = await import(pathToFileURL(resolve(opts.base, 'nn', 'index.js')).href);
const engines = [
  ['cpu-old', cpuOld, nnOld],
  ['cpu-new', cpuNew, nnNew],
];
for (const [name, mod] of process.env.LOSS_AB_SWAP ? [...engines].reverse() : engines) {
  registerBackend(name, () => mod.createCpuBackend({ threads: 2, name }), { priority: 0 });
  const be = await setBackend(name);
  await be.whenThreadsReady?.();
}

/** A kernel alone on the active backend: `fn(be, view)` returns a DataId, read (one float) and disposed. */
function kernel(shape, fn) {
  const be = getBackend();
  const n = shape.reduce((a, b) => a * b, 1);
  let seed = 1;
  const values = Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return (seed / 2 ** 32 - 0.5) * 8;
  });
  const x = { dataId: be.upload(values, 'float32'), dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 };
  return () => {
    const id = fn(be, x);
    const v = be.readSync(id, 'float32', 1)[0];
    be.disposeData(id);
    return v;
  };
}

/** crossEntropy forward + backward on the word LM's logits. */
function ce(nn) {
  const x = randn([128, 10000]).requiresGrad_();
  const t = randint(0, 10000, [128], { dtype: 'int32' });
  return (full) =>
    tidy(() => {
      x.grad = null;
      const l = nn.crossEntropy(x, t);
      l.backward();
      return full ? Float32Array.from([l.itemSync(), ...x.grad.dataSync()]) : x.grad.dataSync()[0];
    });
}

/** clipGradNorm + `p.sub_(p.grad, { alpha })` on the word LM's parameter shapes. */
function update(nn) {
  const shapes = [[10000, 32], [256, 32], [256, 64], [256], [256], [256, 64], [256, 64], [256], [256], [10000, 64], [10000]];
  const params = shapes.map((s) => randn(s).requiresGrad_());
  const grads = shapes.map((s) => randn(s).mul(1e-3));
  return (full) =>
    tidy(() => {
      params.forEach((p, i) => {
        p.grad = grads[i].clone();
      });
      nn.clipGradNorm(params, 0.25);
      noGrad(() => {
        for (const p of params) p.sub_(p.grad, { alpha: 20 });
      });
      return full ? params[0].dataSync().slice() : params[0].dataSync()[0];
    });
}

/** The bench's wordlm-train step (dropout 0.2: same seed on both, so same masks). */
function wordlm(nn) {
  const { step, params } = wordLmStep(core, nn, WORDLM_SPEC);
  return (full) => {
    const loss = step();
    const v = loss.dataSync()[0];
    loss.dispose();
    return full ? Float32Array.from([v, ...params[params.length - 2].dataSync()]) : v;
  };
}

const WORKLOADS = {
  softmax: () => kernel([128, 10000], (be, x) => be.fused.softmax(x, { axis: 1 })),
  logSoftmax: () => kernel([128, 10000], (be, x) => be.fused.logSoftmax(x, { axis: 1 })),
  sum0: () => kernel([128, 10000], (be, x) => be.kernels.reduce(x, { op: 'sum', axes: [0] })),
  // clipGradNorm's sum of the squares of the decoder weight's gradient (one row of 640000).
  sumAll: () => kernel([10000, 64], (be, x) => be.kernels.reduce(x, { op: 'sum', axes: [0, 1] })),
  // clipGradNorm's square of the decoder weight's gradient; the sub of an update.
  square: () => kernel([10000, 64], (be, x) => be.kernels.binary(x, x, { op: 'mul' })),
  // A gradient times a scalar (stride 0), as clipGradNorm's coefficient and sub_'s alpha.
  scale: () => kernel([10000, 64], (be, x) => be.kernels.binary(x, { ...x, shape: x.shape, strides: [0, 0] }, { op: 'mul' })),
  // The loss gradient's softmax times -g per row ([128, 1] broadcast along the classes).
  rowScale: () => kernel([128, 10000], (be, x) => be.kernels.binary(x, { ...x, strides: [10000, 0] }, { op: 'mul' })),
  ce: (nn) => ce(nn),
  update: (nn) => update(nn),
  wordlm: (nn) => wordlm(nn),
};

const only = opts.only ? new Set(opts.only.split(',')) : null;
const reps = Number(opts.reps);
const rows = [];
for (const [id, make] of Object.entries(WORKLOADS)) {
  if (only && !only.has(id)) continue;
  const steps = [];
  for (const [name, , nn] of engines) {
    await setBackend(name);
    manualSeed(0);
    steps.push(make(nn));
  }
  const row = await abRounds(
    id,
    engines.map(([name]) => name),
    steps,
    reps,
  );
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.table(rows);
process.exit(0);
