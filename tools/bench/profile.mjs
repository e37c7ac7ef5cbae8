/**
 * Where the time goes: runs one bench workload under core's `profile()` and prints the per-kernel
 * table (calls, self time, share of the step, bytes allocated), and writes a Chrome trace.
 *
 *   node tools/bench/profile.mjs [lstm-train|gru-train|wordlm-train|gru-decode|transformer-forward|transformer-forward-bench|transformer-train|lstm-forward|gru-forward|bilstm-forward|adam] [--steps N] [--trace file.json]
 *
 * Runs on the built packages (run `pnpm build` first). GHOSTFLOW_CPU_WASM=0 profiles the plain-JS
 * path. The first steps are warm-up and not profiled; the report covers the last `--steps` steps.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import '@ghostflow/backend-cpu';
import * as core from '@ghostflow/core';
import * as nn from '@ghostflow/nn';
import { WORDLM_SPEC, wordLmStep } from './wordlm-step.mjs';

const { manualSeed, noGrad, profile, randint, randn, ready, tidy } = core;
const { Adam, GRU, LSTM, Linear, TransformerEncoderLayer, crossEntropy, mseLoss } = nn;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '3' }, warmup: { type: 'string', default: '2' }, trace: { type: 'string' } },
});
const workload = positionals[0] ?? 'lstm-train';
const STEPS = Number(opts.steps);
const WARMUP = Number(opts.warmup);
await ready();
manualSeed(0);

/** Inference over a batch-first sequence at the bench's sizes (main.mjs). */
function rnnForward(Cls, s) {
  const m = new Cls(s.input, s.hidden, { numLayers: s.layers, batchFirst: true, bidirectional: s.bidirectional });
  m.eval();
  const x = randn([s.batch, s.seq, s.input]);
  return {
    what: `${Cls.name} forward b${s.batch} t${s.seq} ${s.input}->${s.hidden} x${s.layers}${s.bidirectional ? ' bidirectional' : ''}`,
    step: () => noGrad(() => tidy(() => m.forward(x)[0].dataSync()[0])),
  };
}

/** lstm-train / gru-train: a 2-layer recurrent net over T50 B32 128->256 (time-major), a linear head on the last step, cross-entropy, Adam. */
function rnnTrain(Cls) {
  const [T, B, I, H] = [50, 32, 128, 256];
  const rnn = new Cls(I, H, { numLayers: 2 });
  const head = new Linear(H, 10);
  const params = [...rnn.parameters(), ...head.parameters()];
  const opt = new Adam(params, { lr: 1e-3 });
  const x = randn([T, B, I]);
  const y = randint(0, 10, [B]);
  return {
    what: `${Cls.name} train step, T${T} B${B} ${I}->${H} x2 layers, Adam`,
    step: () =>
      tidy(() => {
        opt.zeroGrad();
        const [out] = rnn.forward(x);
        const loss = crossEntropy(head.forward(out.select(0, T - 1)), y);
        loss.backward();
        opt.step();
        return loss.dataSync()[0];
      }),
  };
}

/** Each workload: a description and a step function (sync; reads its result so the work is done). */
const WORKLOADS = {
  'lstm-train': () => rnnTrain(LSTM),
  'gru-train': () => rnnTrain(GRU),
  'lstm-forward': () => rnnForward(LSTM, { batch: 32, seq: 50, input: 128, hidden: 256, layers: 2, bidirectional: false }),
  'gru-forward': () => rnnForward(GRU, { batch: 32, seq: 50, input: 128, hidden: 256, layers: 2, bidirectional: false }),
  'bilstm-forward': () => rnnForward(LSTM, { batch: 3, seq: 25, input: 100, hidden: 256, layers: 1, bidirectional: true }),
  'wordlm-train': () => {
    const lm = wordLmStep(core, nn, WORDLM_SPEC);
    const { ntoken, emsize, nhid, bptt, batch } = WORDLM_SPEC;
    return {
      what: `word_language_model train step, ntoken ${ntoken}, emsize ${emsize}, nhid ${nhid} x2, bptt ${bptt}, batch ${batch}`,
      step: () => {
        const loss = lm.step();
        const v = loss.dataSync()[0];
        loss.dispose();
        return v;
      },
    };
  },
  'gru-decode': () => {
    const [I, H] = [256, 256];
    const gru = new GRU(I, H);
    const x = randn([1, 1, I]);
    let h = randn([1, 1, H]);
    return {
      what: `GRU decoding at batch 1, ${I}->${H}, one step`,
      step: () =>
        noGrad(() => {
          const next = tidy(() => gru.forward(x, h)[1]);
          h.dispose();
          h = next;
          return h.dataSync()[0];
        }),
    };
  },
  'transformer-forward': () => {
    const [L, B, D] = [256, 8, 256];
    const layer = new TransformerEncoderLayer(D, 8, { dimFeedforward: 1024, dropout: 0 });
    layer.eval();
    const x = randn([L, B, D]);
    return {
      what: `TransformerEncoderLayer forward, d${D} 8 heads, L${L} B${B}`,
      step: () => noGrad(() => tidy(() => layer.forward(x).sum().dataSync()[0])),
    };
  },
  'transformer-forward-bench': () => {
    // The bench's transformer-forward workload (main.mjs): batch-first b32 t64, eval, no grad.
    const [B, L, D] = [32, 64, 256];
    const layer = new TransformerEncoderLayer(D, 8, { dimFeedforward: 1024, dropout: 0, batchFirst: true });
    layer.eval();
    const x = randn([B, L, D]);
    return {
      what: `TransformerEncoderLayer forward, d${D} 8 heads, batch-first B${B} L${L} (the bench's workload)`,
      step: () => noGrad(() => tidy(() => layer.forward(x).sum().dataSync()[0])),
    };
  },
  'transformer-train': () => {
    // The bench's transformer-train workload: batch-first b32 t64, MSE loss, Adam.
    const [B, L, D] = [32, 64, 256];
    const layer = new TransformerEncoderLayer(D, 8, { dimFeedforward: 1024, dropout: 0, batchFirst: true });
    const x = randn([B, L, D]);
    const target = randn([B, L, D]);
    const opt = new Adam(layer.parameters(), { lr: 1e-3 });
    return {
      what: `TransformerEncoderLayer train step, d${D} 8 heads, b${B} t${L}, MSE, Adam`,
      step: () =>
        tidy(() => {
          opt.zeroGrad();
          const loss = mseLoss(layer.forward(x), target);
          loss.backward();
          opt.step();
          return loss.dataSync()[0];
        }),
    };
  },
  adam: () => {
    const lstm = new LSTM(256, 256, { numLayers: 2 });
    const params = lstm.parameters();
    for (const p of params) p.grad = randn(p.shape);
    const opt = new Adam(params, { lr: 1e-3 });
    return {
      what: `one Adam step on ${params.reduce((n, p) => n + p.size, 0)} parameters`,
      step: () => {
        opt.step();
        return params[0].dataSync()[0];
      },
    };
  },
};

const make = WORKLOADS[workload];
if (!make) {
  console.error(`unknown workload '${workload}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
  process.exit(1);
}
const { what, step } = make();
for (let i = 0; i < WARMUP; i++) step();
const report = await profile(() => {
  for (let i = 0; i < STEPS; i++) step();
});
console.log(`${what}: ${STEPS} profiled steps, ${(report.totalMs / STEPS).toFixed(2)} ms per step`);
console.log(report.table(25));
if (opts.trace) {
  writeFileSync(opts.trace, JSON.stringify(report.chromeTrace()));
  console.log(`Chrome trace: ${opts.trace} (open in https://ui.perfetto.dev)`);
}
