/**
 * The test that matters: 20 steps of a small LSTM (Adam) and a small Transformer (SGD +
 * momentum, two micro-batches per step, the first under noSync) on 2 ranks with
 * DistributedDataParallel, each rank on half of every batch, give the same losses and final
 * weights as 1 rank on the whole batch, within float32 rounding.
 *
 * Tolerance: |a − b| ≤ 1e-5 + 1e-5·|a| for every loss and every weight. Measured (2026-12,
 * Open MPI 4.1.4, backend-cpu): losses differ by ≤ 2.4e-7, weights by ≤ 1.2e-6 (LSTM) and
 * ≤ 1.2e-7 (Transformer). The replicas on the two ranks are bit-identical.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type MpiRun, mpiReady, mpirun } from './mpirun.js';

const ready = mpiReady();
const ATOL = 1e-5;
const RTOL = 1e-5;

interface Trained {
  losses: number[];
  weights: Record<string, number[]>;
  buckets: number;
  /** ddp.launchedBuckets right after each backward(). */
  launched: number[];
}

function trained(run: MpiRun, rank: number, model: 'lstm' | 'transformer'): Trained {
  const res = run.results.get(rank);
  if (!res) throw new Error(`rank ${rank} printed no result:\n${run.stdout}\n${run.stderr}`);
  return res[model] as Trained;
}

/** Largest |a − b| over two number lists, failing when one exceeds atol + rtol·|a|. */
function maxDiff(a: number[], b: number[], what: string): number {
  expect(b.length, what).toBe(a.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= ATOL + RTOL * Math.abs(a[i]))) expect.fail(`${what}[${i}]: ${b[i]} vs ${a[i]} (diff ${d})`);
    worst = Math.max(worst, d);
  }
  return worst;
}

describe.skipIf(!ready.ok)('DistributedDataParallel equivalence: 2 ranks on half batches = 1 rank on the whole batch', () => {
  let single: MpiRun;
  beforeAll(async () => {
    single = await mpirun(1, 'equivalence.mjs', { limitMs: 120_000 });
    expect(single.code, single.stderr).toBe(0);
  }, 150_000);

  for (const tcp of [false, true]) {
    it(`LSTM and Transformer, 20 steps${tcp ? ', TCP forced' : ''}`, async () => {
      const run = await mpirun(2, 'equivalence.mjs', { tcp, limitMs: 120_000 });
      expect(run.timedOut, run.stderr).toBe(false);
      expect(run.code, run.stderr).toBe(0);
      for (const model of ['lstm', 'transformer'] as const) {
        const one = trained(single, 0, model);
        const two = trained(run, 0, model);
        expect(one.losses).toHaveLength(20);
        // it trained: the loss went down
        expect(one.losses[19]).toBeLessThan(one.losses[0]);
        const lossDiff = maxDiff(one.losses, two.losses, `${model} losses`);
        let weightDiff = 0;
        for (const [name, w] of Object.entries(one.weights)) {
          weightDiff = Math.max(weightDiff, maxDiff(w, two.weights[name], `${model} ${name}`));
        }
        // the two replicas are the same model, bit for bit
        expect(trained(run, 1, model).weights).toEqual(two.weights);
        console.log(
          `${model}${tcp ? ' (tcp)' : ''}: max |loss diff| ${lossDiff.toExponential(2)}, max |weight diff| ${weightDiff.toExponential(2)}`,
        );
      }
      // tiny LSTM buckets: several collectives per backward, all started by the gradient hooks
      // before backward() returned (overlap), not by syncGradients()
      const lstm = trained(run, 0, 'lstm');
      expect(lstm.buckets).toBeGreaterThan(1);
      expect(lstm.launched).toEqual(new Array(20).fill(lstm.buckets));
      // transformer: nothing launched after the noSync micro-batch, everything after the second
      const tf = trained(run, 0, 'transformer');
      expect(tf.launched).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0 : tf.buckets)));
    }, 150_000);
  }
});
