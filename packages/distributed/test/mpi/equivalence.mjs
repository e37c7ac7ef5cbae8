/**
 * Run under mpirun on 1 or 2 ranks: trains a small LSTM and a small Transformer for 20 steps
 * with DistributedDataParallel, each rank on its 1/worldSize share of every global batch, and
 * prints the per-step global loss (the ranks' mean) and the final weights. With 1 rank this is
 * ordinary training on the whole batch, so the test can compare the two.
 * - Rank 1 initializes its model from another seed: only the broadcast at wrap makes it equal.
 * - The LSTM uses tiny buckets (many collectives, launched during backward in bucket order).
 * - The Transformer accumulates two micro-batches per step (the first under noSync).
 * - The LSTM trains with Adam, the Transformer with SGD + momentum.
 */
import { manualSeed, tensor, tidy } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { DistributedDataParallel, destroyProcessGroup, initProcessGroup } from '@ghostflow/distributed';
import { Adam, Embedding, LSTM, Linear, Module, SGD, TransformerEncoderLayer, crossEntropy, mseLoss } from '@ghostflow/nn';
import { report } from './report.mjs';

const pg = initProcessGroup({ backend: 'mpi', timeoutMs: 60_000 });
const me = pg.rank();
const n = pg.worldSize();
const STEPS = 20;
const B = 8;
const share = B / n;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class LstmRegressor extends Module {
  constructor() {
    super();
    this.lstm = this.registerModule('lstm', new LSTM(5, 8, { batchFirst: true, numLayers: 2 }));
    this.head = this.registerModule('head', new Linear(8, 3));
  }
  forward(x) {
    const [out] = this.lstm.forward(x);
    return this.head.forward(out.select(1, out.shape[1] - 1));
  }
}

class TinyLM extends Module {
  constructor() {
    super();
    this.emb = this.registerModule('emb', new Embedding(11, 16));
    this.layer = this.registerModule('layer', new TransformerEncoderLayer(16, 2, { dimFeedforward: 32, dropout: 0, batchFirst: true }));
    this.head = this.registerModule('head', new Linear(16, 11));
  }
  forward(x) {
    return this.head.forward(this.layer.forward(this.emb.forward(x)));
  }
}

async function weights(module) {
  const out = {};
  for (const [name, p] of module.namedParameters()) out[name] = Array.from(await p.data());
  return out;
}

/** Global loss: the mean of the ranks' losses (equal shares). */
async function globalLoss(local) {
  const a = new Float32Array([local]);
  await pg.allReduceArray(a, 'avg');
  return a[0];
}

async function trainLstm() {
  manualSeed(me === 0 ? 0 : 1234);
  const model = new LstmRegressor();
  const ddp = await DistributedDataParallel.wrap(model, { bucketCapMB: 0.004 });
  const opt = new Adam(model.parameters(), { lr: 1e-2 });
  const random = rng(7);
  const losses = [];
  const launched = [];
  for (let step = 0; step < STEPS; step++) {
    const x = Float32Array.from({ length: B * 6 * 5 }, () => random() * 2 - 1);
    const y = Float32Array.from({ length: B * 3 }, () => random() * 2 - 1);
    const mine = [me * share, (me + 1) * share];
    const loss = tidy(() => {
      opt.zeroGrad();
      const xs = tensor(x.subarray(mine[0] * 30, mine[1] * 30), { shape: [share, 6, 5] });
      const ys = tensor(y.subarray(mine[0] * 3, mine[1] * 3), { shape: [share, 3] });
      const l = mseLoss(ddp.forward(xs), ys);
      l.backward();
      launched.push(ddp.launchedBuckets); // launched by the gradient hooks, during backward
      return l.detach();
    });
    await ddp.syncGradients();
    opt.step();
    losses.push(await globalLoss(await loss.item()));
    loss.dispose();
  }
  return { losses, weights: await weights(model), buckets: ddp.bucketLayout().length, launched };
}

async function trainTransformer() {
  manualSeed(me === 0 ? 0 : 4321);
  const model = new TinyLM();
  const ddp = await DistributedDataParallel.wrap(model);
  // SGD, not Adam: the key-projection bias has a gradient that is exactly zero in real
  // arithmetic (softmax ignores a per-query constant), and Adam would turn its float32 rounding
  // noise (~1e-9, different on 1 and 2 ranks) into steps of size lr.
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const random = rng(11);
  const losses = [];
  const launched = [];
  const T = 8;
  for (let step = 0; step < STEPS; step++) {
    const ids = Int32Array.from({ length: B * (T + 1) }, () => Math.floor(random() * 11));
    opt.zeroGrad();
    let local = 0;
    // Two micro-batches per step; the first accumulates locally (noSync).
    const micro = share / 2;
    for (let k = 0; k < 2; k++) {
      const rows = [me * share + k * micro, me * share + (k + 1) * micro];
      const run = () =>
        tidy(() => {
          const block = ids.subarray(rows[0] * (T + 1), rows[1] * (T + 1));
          const x = new Int32Array(micro * T);
          const y = new Int32Array(micro * T);
          for (let b = 0; b < micro; b++) {
            x.set(block.subarray(b * (T + 1), b * (T + 1) + T), b * T);
            y.set(block.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
          }
          const logits = ddp.forward(tensor(x, { shape: [micro, T], dtype: 'int32' }));
          const l = crossEntropy(logits.reshape([-1, 11]), tensor(y, { dtype: 'int32' })).mul(0.5);
          l.backward();
          launched.push(ddp.launchedBuckets); // 0 after the noSync micro-batch
          return l.detach();
        });
      const l = k === 0 ? ddp.noSync(run) : run();
      local += await l.item();
      l.dispose();
    }
    await ddp.syncGradients();
    opt.step();
    losses.push(await globalLoss(local));
  }
  return { losses, weights: await weights(model), buckets: ddp.bucketLayout().length, launched };
}

const lstm = await trainLstm();
const transformer = await trainTransformer();
await pg.barrier();
destroyProcessGroup();
report(me, { rank: me, worldSize: n, lstm, transformer });
