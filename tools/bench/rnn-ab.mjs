/**
 * In-process A/B of backend-cpu's recurrent path on the bench's RNN workloads: a baseline
 * build of the backend against the current one, both registered in this process under their
 * own names ('cpu-old', 'cpu-new'), the same model (same seed) on each, steps interleaved
 * round by round (order alternated) so a shared VM's fast and slow phases hit both alike.
 * Reports per-round medians and the median of the per-round ratios new/old. Not a test.
 *
 *   # once, before changing anything (a copy of the built backend is the baseline):
 *   mkdir -p tools/bench/.cache/rnn-baseline && cp packages/backend-cpu/dist/index.js tools/bench/.cache/rnn-baseline/
 *   # after building the current sources (pnpm exec turbo run build --filter=@ghostflow/backend-cpu):
 *   node tools/bench/rnn-ab.mjs [--only gru-forward,lstm-forward,bilstm-forward,lstm-train,gru-train,lstm-seq-bwd,gru-seq-bwd] [--reps 15] [--threads 2 | --threads 2,1 (old, new)]
 */
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  contiguousStrides,
  getBackend,
  manualSeed,
  noGrad,
  randint,
  randn,
  recurrentWorkspaceSize,
  registerBackend,
  setBackend,
  tidy,
} from '@ghostflow/core';
import { Adam, GRU, LSTM, Linear, crossEntropy } from '@ghostflow/nn';
import { abRounds } from './ab-rounds.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    reps: { type: 'string', default: '15' },
    threads: { type: 'string', default: '2' },
    baseline: { type: 'string', default: join(HERE, '.cache', 'rnn-baseline', 'index.js') },
  },
});
const threads = Number(opts.threads);
// `--threads 2,1`: the baseline with 2 threads against the current build with 1.
const [oldThreads, newThreads] = opts.threads.includes(',') ? opts.threads.split(',').map(Number) : [threads, threads];
const current = await import('@ghostflow/backend-cpu');
const baseline = await import(pathToFileURL(resolve(opts.baseline)).href);
const engines = [
  ['cpu-old', baseline],
  ['cpu-new', current],
];
for (const [name, mod] of engines) {
  registerBackend(name, () => mod.createCpuBackend({ threads: name === 'cpu-old' ? oldThreads : newThreads, name }), { priority: 0 });
  const be = await setBackend(name);
  await be.whenThreadsReady?.();
}

function rnnForward(Cls, s) {
  const m = new Cls(s.input, s.hidden, { numLayers: s.layers, batchFirst: true, bidirectional: s.bidirectional });
  m.eval();
  const x = randn([s.batch, s.seq, s.input]);
  // `full`: the whole output (the bit-identity check), else one value (reading it waits for the work).
  return (full) => noGrad(() => tidy(() => (full ? m.forward(x)[0].dataSync() : m.forward(x)[0].dataSync()[0])));
}

/**
 * The fused kernel alone on the active backend: the forward (inference), or with `backward`
 * the backward of a training forward; `s` as in the bench's workloads.
 */
function sequenceKernel(mode, s, backward = false) {
  const be = getBackend();
  const G = mode === 'LSTM' ? 4 : 3;
  const { batch: B, seq: T, hidden: H } = s;
  const N = B * T;
  // Seeded, so both engines get the same values.
  let seed = 1;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const up = (n, shape, scale) => ({
    dataId: be.upload(
      Float32Array.from({ length: n }, () => scale * next()),
      'float32',
    ),
    dtype: 'float32',
    shape,
    strides: contiguousStrides(shape),
    offset: 0,
  });
  const gi = up(N * G * H, [N, G * H], 1);
  const h0 = up(B * H, [B, H], 1);
  const c0 = mode === 'LSTM' ? up(B * H, [B, H], 1) : null;
  const wHh = up(G * H * H, [G * H, H], 2 / Math.sqrt(H));
  const bHh = up(G * H, [G * H], 0.1);
  const attrs = { mode, batchSizes: new Array(T).fill(B), hiddenSize: H, reverse: false, train: false };
  if (backward) {
    // One training forward, then the backward alone is timed (its workspace and y reused).
    const [y, hN, cN, ws] = be.fused.recurrentSequence(gi, h0, c0, wHh, bHh, null, { ...attrs, train: true });
    const wsSize = recurrentWorkspaceSize(mode, N, H, H);
    const yView = { dataId: y, dtype: 'float32', shape: [N, H], strides: [H, 1], offset: 0 };
    const wsView = { dataId: ws, dtype: 'float32', shape: [wsSize], strides: [1], offset: 0 };
    const dY = up(N * H, [N, H], 1);
    const dHN = up(B * H, [B, H], 1);
    const dCN = mode === 'LSTM' ? up(B * H, [B, H], 1) : null;
    for (const id of [hN, cN]) if (id) be.disposeData(id);
    const battrs = { ...attrs, train: true, hasBias: true };
    return (full) => {
      const ids = be.fused.recurrentSequenceBackward(wHh, null, yView, wsView, dY, dHN, dCN, battrs);
      const dW = be.readSync(ids[3], 'float32', full ? G * H * H : 1);
      for (const id of ids) if (id) be.disposeData(id);
      return full ? dW : dW[0];
    };
  }
  return (full) => {
    const ids = be.fused.recurrentSequence(gi, h0, c0, wHh, bHh, null, attrs);
    const y = be.readSync(ids[0], 'float32', full ? N * H : 1);
    for (const id of ids) if (id) be.disposeData(id);
    return full ? y : y[0];
  };
}

/** One training step (forward, loss, backward, Adam) of a 2-layer RNN at the bench's sizes. */
function rnnTrain(Cls) {
  const [T, B, I, H] = [50, 32, 128, 256];
  const rnn = new Cls(I, H, { numLayers: 2 });
  const head = new Linear(H, 10);
  const opt = new Adam([...rnn.parameters(), ...head.parameters()], { lr: 1e-3 });
  const x = randn([T, B, I]);
  const y = randint(0, 10, [B]);
  return (full) =>
    tidy(() => {
      opt.zeroGrad();
      const [out] = rnn.forward(x);
      const loss = crossEntropy(head.forward(out.select(0, T - 1)), y);
      loss.backward();
      opt.step();
      return full ? Float32Array.from([loss.itemSync(), ...rnn.parameters()[0].dataSync()]) : loss.dataSync()[0];
    });
}

const WORKLOADS = {
  // The time loop alone (one layer): what the workloads' recurrentSequence calls do.
  'gru-seq': () => sequenceKernel('GRU', { batch: 32, seq: 50, hidden: 256 }),
  'lstm-seq': () => sequenceKernel('LSTM', { batch: 32, seq: 50, hidden: 256 }),
  'bilstm-seq': () => sequenceKernel('LSTM', { batch: 3, seq: 25, hidden: 256 }),
  // The backward time loop and weight gradients alone (one layer).
  'gru-seq-bwd': () => sequenceKernel('GRU', { batch: 32, seq: 50, hidden: 256 }, true),
  'lstm-seq-bwd': () => sequenceKernel('LSTM', { batch: 32, seq: 50, hidden: 256 }, true),
  'gru-forward': () => rnnForward(GRU, { batch: 32, seq: 50, input: 128, hidden: 256, layers: 2, bidirectional: false }),
  'lstm-forward': () => rnnForward(LSTM, { batch: 32, seq: 50, input: 128, hidden: 256, layers: 2, bidirectional: false }),
  'bilstm-forward': () => rnnForward(LSTM, { batch: 3, seq: 25, input: 100, hidden: 256, layers: 1, bidirectional: true }),
  'lstm-train': () => rnnTrain(LSTM),
  'gru-train': () => rnnTrain(GRU),
};

const only = opts.only ? new Set(opts.only.split(',')) : null;
const reps = Number(opts.reps);
const rows = [];
for (const [id, make] of Object.entries(WORKLOADS)) {
  if (only && !only.has(id)) continue;
  const steps = [];
  const firsts = [];
  for (const [name] of engines) {
    await setBackend(name);
    manualSeed(0);
    const step = make();
    firsts.push(step(true));
    steps.push(step);
  }
  const row = {
    ...(await abRounds(
      id,
      engines.map(([name]) => name),
      steps,
      reps,
      2,
    )),
    // Bit-identical first step (forward: the whole output; train: the loss and one updated weight).
    identical: firsts[0].length === firsts[1].length && firsts[0].every((v, i) => Object.is(v, firsts[1][i])),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.table(rows);
process.exit(0);
