/**
 * The measurement shared by the in-process A/B scripts (rnn-ab.mjs, loss-ab.mjs): two step
 * functions, one per backend ('old' first, 'new' second), timed in interleaved rounds whose
 * order alternates, each sample ~60 ms of repeated steps. Ratios are taken per round, so a
 * slow phase of the machine hits both sides of a ratio alike.
 */
import { setBackend } from '@ghostflow/core';

/** The median of a list of numbers. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The first and third quartiles of a list of numbers, as `q1..q3`. */
export const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor((s.length - 1) / 4)].toFixed(3)}..${s[Math.ceil((3 * (s.length - 1)) / 4)].toFixed(3)}`;
};

/**
 * Times `steps[0]` (old, on backend `names[0]`) against `steps[1]` (new, on `names[1]`) over
 * `reps` interleaved rounds, and returns the report row of workload `id`: the median times
 * (`digits` decimals), the median and quartiles of the per-round ratios new/old, and the same
 * ratio in process CPU time.
 */
export async function abRounds(id, names, steps, reps, digits = 3) {
  // Aim for ~60 ms per timed sample.
  let t0 = performance.now();
  for (let w = 0; w < 3; w++) for (let e = 0; e < 2; e++) steps[e]();
  const inner = Math.max(1, Math.round(60 / ((performance.now() - t0) / 6)));
  const times = [[], []];
  const cpu = [[], []];
  for (let r = 0; r < reps; r++) {
    for (const e of r % 2 === 0 ? [0, 1] : [1, 0]) {
      await setBackend(names[e]);
      const c0 = process.cpuUsage();
      t0 = performance.now();
      for (let i = 0; i < inner; i++) steps[e]();
      times[e].push((performance.now() - t0) / inner);
      const c = process.cpuUsage(c0);
      cpu[e].push((c.user + c.system) / 1000 / inner);
    }
  }
  const ratios = times[0].map((t, i) => times[1][i] / t);
  return {
    workload: id,
    'old ms': +median(times[0]).toFixed(digits),
    'new ms': +median(times[1]).toFixed(digits),
    'new/old': +median(ratios).toFixed(3),
    // The spread of the per-round ratios: their first and third quartiles.
    'q1..q3': quartiles(ratios),
    // CPU time of the whole process (every thread): on a loaded machine the least noisy measure
    // of the work done (with threads it also counts the spinning of a split).
    'new/old cpu': +median(cpu[0].map((t, i) => cpu[1][i] / t)).toFixed(3),
  };
}
