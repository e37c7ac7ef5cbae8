/**
 * A/B of backend-cpu's fused attention kernel against core's composition of primitives (the
 * same backend with `fused.attention` removed), interleaved in one process: the attention op
 * alone and a whole TransformerEncoderLayer forward. Runs on the built packages.
 *
 *   node tools/bench/ab-attention.mjs [--reps 15]
 */
import { parseArgs } from 'node:util';
import '@ghostflow/backend-cpu';
import { attention, findBackend, manualSeed, noGrad, randn, ready, registerBackend, tidy } from '@ghostflow/core';
import { TransformerEncoderLayer } from '@ghostflow/nn';

const { values: opts } = parseArgs({ options: { reps: { type: 'string', default: '15' } } });
const REPS = Number(opts.reps);
await ready();
manualSeed(0);
const base = findBackend('cpu');
await base.whenThreadsReady?.();
const { attention: _drop, ...rest } = base.fused;
registerBackend('cpu-composed', () => Object.assign(Object.create(base), { name: 'cpu-composed', fused: rest }));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function ab(title, make) {
  const runs = { fused: make('cpu'), composed: make('cpu-composed') };
  for (const f of Object.values(runs)) f();
  const times = { fused: [], composed: [] };
  for (let r = 0; r < REPS; r++) {
    for (const [name, f] of Object.entries(runs)) {
      const t0 = performance.now();
      f();
      times[name].push(performance.now() - t0);
    }
  }
  const mf = median(times.fused);
  const mc = median(times.composed);
  console.log(`${title}: fused ${mf.toFixed(1)} ms, composed ${mc.toFixed(1)} ms, fused/composed ${(mf / mc).toFixed(2)}`);
}

for (const [B, L, E] of [
  [32 * 8, 64, 32],
  [8 * 8, 256, 32],
]) {
  ab(`attention op B${B} L${L} E${E}`, (device) => {
    const q = randn([B, L, E], { device });
    const k = randn([B, L, E], { device });
    const v = randn([B, L, E], { device });
    return () => noGrad(() => tidy(() => attention(q, k, v)[0].dataSync()[0]));
  });
  ab(`attention op causal B${B} L${L} E${E}`, (device) => {
    const q = randn([B, L, E], { device });
    const k = randn([B, L, E], { device });
    const v = randn([B, L, E], { device });
    return () => noGrad(() => tidy(() => attention(q, k, v, { causal: true })[0].dataSync()[0]));
  });
}
for (const [batch, seq] of [
  [32, 64],
  [8, 256],
]) {
  ab(`encoder layer forward b${batch} L${seq} d256 h8`, (device) => {
    const layer = new TransformerEncoderLayer(256, 8, { dimFeedforward: 1024, dropout: 0, batchFirst: true, device });
    layer.eval();
    const x = randn([batch, seq, 256], { device });
    return () => noGrad(() => tidy(() => layer.forward(x).dataSync()[0]));
  });
}
