/**
 * When a whole-sequence recurrent kernel (assembly/recurrent.ts, dispatched by
 * recurrent-kernels.ts) is worth a second thread at all. Below the rule's thresholds the
 * time loop runs entirely on the calling thread: no worker is posted, no Atomics wait or
 * notify. Either way the values are the same bit for bit (each row and each unit is computed
 * by the same code whichever thread runs it), so the rule only moves time.
 */

/** How a time loop shares out: whole row groups (no meeting per step) or each step by hidden units. */
export type RecurrentSplit = 'rows' | 'units';

/** The time loop a decision is for: a forward sequence (or fused layer) or a sequence's backward. */
export type RecurrentLoop = 'forward' | 'backward';

/**
 * Thresholds, in multiples of the backend's GEMM thread threshold (`threadMinMacs`, 1Mi
 * multiply-adds by default, so a backend built with `threadMinMacs: 0`, as the tests do,
 * always splits). Measured on a 2-core VM (one thread vs two on the same build, kernel
 * alone, LSTM and GRU, batch 1-32, hidden 32-512, T 16-50, interleaved rounds), quiet
 * and with one competing busy process:
 *
 * - rows, forward (the loop's recurrent multiply-adds, B·G·H·P·T): below 4Mi two threads
 *   lost in every run, 1.1-1.9x the one-thread time quiet (the bench's word LM layer,
 *   LSTM B 8, H 64, T 16, 2Mi: 1.86x quiet, 1.2x loaded), up to 3x loaded; from 8Mi they
 *   paid quiet (0.56-0.95x) and were about even loaded (0.8-1.1x). 8x.
 * - rows, backward (same count): the loop is half of the call (its weight-gradient GEMMs
 *   are threaded on their own), the split saved less: about even quiet up to 16Mi, losing
 *   (1.1-1.6x) loaded below 8Mi, even to 0.7-0.9x from 16Mi. 16x.
 * - units, forward (one step's multiply-adds, B·G·H·P: threads meet every step): quiet
 *   it paid from about 0.75Mi a step (0.65-0.85x), loaded it lost at every size measured
 *   up to 8Mi a step (1.1-2.3x: a descheduled worker stalls every step). 2x, the rule it
 *   had, which an earlier A/B found 0.82x at 8Mi a step (the bench's LSTM forward).
 * - units, backward (same count; two meetings a step): never paid up to 8Mi a step
 *   (0.85-1.25x quiet, 1.15-1.3x loaded). 16x.
 */
const MIN_MULTIPLE: Readonly<Record<RecurrentSplit, Readonly<Record<RecurrentLoop, number>>>> = {
  rows: { forward: 8, backward: 16 },
  units: { forward: 2, backward: 16 },
};

/**
 * Whether a time loop is worth a second thread, split as `split`: `macs` are the recurrent
 * GEMM's multiply-adds of the whole loop for `rows` (each thread's share runs alone to the
 * end: one wake-up and one join per call), of one step for `units` (the threads meet every
 * step); `threadMinMacs` is the backend's GEMM thread threshold the rule scales with.
 */
export function recurrentSplitPays(split: RecurrentSplit, loop: RecurrentLoop, macs: number, threadMinMacs: number): boolean {
  return macs >= MIN_MULTIPLE[split][loop] * threadMinMacs;
}
