/**
 * One rank of the data-parallel character Transformer (launched by mpirun; see main.mjs):
 *
 *   mpirun -np 2 node apps/ddp-char-lm/train.mjs
 *
 * The model and data are apps/char-transformer's. Every rank draws the same global batch of
 * GLOBAL_BATCH windows from a shared seeded generator and trains on its 1/worldSize share;
 * DistributedDataParallel averages the gradients, so the replicas take the same steps as one
 * process on the whole batch would. One compute thread per rank (GHOSTFLOW_CPU_THREADS=1), so
 * on a 2-core machine two ranks use the two cores. Rank 0 prints the loss; every rank reports
 * its throughput (samples/s) after the warm-up steps. With SUMMARY=<file>, rank 0 writes the
 * figures there as JSON for main.mjs.
 */
import { writeFileSync } from 'node:fs';
import { arange, manualSeed, noGrad, tensor, tidy } from '@ghostflow/core';
import { getCpuThreads, setCpuThreads } from '@ghostflow/backend-cpu';
import { DistributedDataParallel, destroyProcessGroup, initProcessGroup } from '@ghostflow/distributed';
import {
  AdamW,
  Embedding,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  TransformerEncoderLayer,
  clipGradNorm,
  crossEntropy,
  generateSquareSubsequentMask,
} from '@ghostflow/nn';
import { readFileSync } from 'node:fs';

setCpuThreads(Number(process.env.GHOSTFLOW_CPU_THREADS ?? 1));
const pg = initProcessGroup({ backend: 'mpi' });
const rank = pg.rank();
const world = pg.worldSize();

const STEPS = Number(process.env.STEPS ?? 120);
const WARMUP = 5;
const GLOBAL_BATCH = 16;
const CONTEXT = 32;
const D_MODEL = 48;
const HEADS = 4;
const LAYERS = 2;
const FF = 128;
const LR = 3e-3;
if (GLOBAL_BATCH % world !== 0) throw new Error(`GLOBAL_BATCH ${GLOBAL_BATCH} must divide by the world size ${world}`);
const LOCAL_BATCH = GLOBAL_BATCH / world;

manualSeed(rank); // different on each rank on purpose: wrap() broadcasts rank 0's weights

const text = readFileSync(new URL('./text.txt', import.meta.url), 'utf8');
const chars = [...new Set(text)].sort();
const VOCAB = chars.length;
const ids = Int32Array.from(text, (c) => chars.indexOf(c));
const split = Math.floor(ids.length * 0.9);
const trainIds = ids.subarray(0, split);
const valIds = ids.subarray(split);

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
const random = rng(1); // the same on every rank: the same global batches

function windows(source, starts) {
  const x = new Int32Array(starts.length * CONTEXT);
  const y = new Int32Array(starts.length * CONTEXT);
  starts.forEach((s, b) => {
    x.set(source.subarray(s, s + CONTEXT), b * CONTEXT);
    y.set(source.subarray(s + 1, s + CONTEXT + 1), b * CONTEXT);
  });
  return {
    x: tensor(x, { shape: [starts.length, CONTEXT], dtype: 'int32' }),
    y: tensor(y, { shape: [starts.length, CONTEXT], dtype: 'int32' }),
  };
}

class CharTransformer extends Module {
  constructor() {
    super();
    this.tok = this.registerModule('tok', new Embedding(VOCAB, D_MODEL));
    this.pos = this.registerModule('pos', new Embedding(CONTEXT, D_MODEL));
    this.layers = this.registerModule(
      'layers',
      new ModuleList(
        Array.from(
          { length: LAYERS },
          () =>
            new TransformerEncoderLayer(D_MODEL, HEADS, {
              dimFeedforward: FF,
              dropout: 0,
              batchFirst: true,
              normFirst: true,
              activation: 'gelu',
            }),
        ),
      ),
    );
    this.norm = this.registerModule('norm', new LayerNorm(D_MODEL));
    this.head = this.registerModule('head', new Linear(D_MODEL, VOCAB));
  }
  forward(x) {
    const T = x.shape[1];
    const mask = generateSquareSubsequentMask(T);
    let h = this.tok
      .forward(x)
      .mul(0.2)
      .add(this.pos.forward(arange(0, T, 1, { dtype: 'int32' })).mul(0.2));
    for (const layer of this.layers) h = layer.forward(h, { srcMask: mask, isCausal: true });
    return this.head.forward(this.norm.forward(h));
  }
}

const model = new CharTransformer();
const ddp = await DistributedDataParallel.wrap(model);
const optimizer = new AdamW(model.parameters(), { lr: LR, weightDecay: 0.01 });

async function validationLoss() {
  const starts = [];
  for (let s = 0; s + CONTEXT + 1 <= valIds.length; s += CONTEXT) starts.push(s);
  const loss = tidy(() =>
    noGrad(() => {
      const { x, y } = windows(valIds, starts);
      return crossEntropy(model.forward(x).reshape(-1, VOCAB), y.reshape(-1));
    }),
  );
  const v = await loss.item();
  loss.dispose();
  return v;
}

if (rank === 0) {
  console.log(
    `ddp-char-lm: ${world} rank(s), global batch ${GLOBAL_BATCH} (${LOCAL_BATCH} per rank), ${model.numParameters()} parameters, ${getCpuThreads()} compute thread(s) per rank, ${STEPS} steps`,
  );
}
const firstVal = await validationLoss();
let t0 = performance.now();
let running = 0;
for (let step = 1; step <= STEPS; step++) {
  if (step === WARMUP + 1) t0 = performance.now();
  const starts = Array.from({ length: GLOBAL_BATCH }, () => Math.floor(random() * (trainIds.length - CONTEXT - 1)));
  const mine = starts.slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH);
  const loss = tidy(() => {
    const { x, y } = windows(trainIds, mine);
    optimizer.zeroGrad();
    const l = crossEntropy(ddp.forward(x).reshape(-1, VOCAB), y.reshape(-1));
    l.backward();
    return l.detach();
  });
  await ddp.syncGradients();
  tidy(() => {
    clipGradNorm(model.parameters(), 1.0);
    optimizer.step();
  });
  running += await loss.item();
  loss.dispose();
  if (rank === 0 && step % 20 === 0) {
    console.log(
      `step ${String(step).padStart(4)}  rank-0 loss ${(running / 20).toFixed(3)}  (${((performance.now() - t0) / 1000).toFixed(1)}s)`,
    );
    running = 0;
  }
}
const seconds = (performance.now() - t0) / 1000;
const measured = STEPS - WARMUP;
const mySamples = (measured * LOCAL_BATCH) / seconds;
const all = new Float32Array(world);
all[rank] = mySamples;
await pg.allReduceArray(all, 'sum');
const val = await validationLoss();
if (rank === 0) {
  for (let r = 0; r < world; r++) console.log(`rank ${r}: ${all[r].toFixed(1)} samples/s`);
  const total = (measured * GLOBAL_BATCH) / seconds;
  console.log(
    `all ranks: ${total.toFixed(1)} samples/s (${((seconds / measured) * 1000).toFixed(0)} ms/step); held-out loss ${firstVal.toFixed(3)} -> ${val.toFixed(3)} nats/char`,
  );
  if (process.env.SUMMARY) {
    writeFileSync(
      process.env.SUMMARY,
      JSON.stringify({ world, perRank: Array.from(all), total, msPerStep: (seconds / measured) * 1000, firstVal, val }),
    );
  }
}
await pg.barrier();
destroyProcessGroup();
if (!(val < firstVal)) {
  console.error(`FAILED: held-out loss did not improve (${firstVal} -> ${val})`);
  process.exit(1);
}
