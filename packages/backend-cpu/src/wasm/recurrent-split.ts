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
 * multiply-adds by default; a backend built with `threadMinMacs: 0`, as the tests do, always
 * splits). Measured on a 2-core VM, one thread against two on the same build in interleaved
 * rounds (medians of the two-thread/one-thread ratios), quiet and with one competing busy
 * process ("loaded"); the kernel alone (LSTM and GRU, batch 1-32, hidden 32-1024, T 16-50)
 * and through nn (2-layer models, inference and training steps):
 *
 * - rows, forward (the loop's recurrent multiply-adds, B·G·H·P·T). Kernel alone, quiet:
 *   1.26 below 2Mi, 1.07 at 2-4Mi, 0.84 at 4-8Mi, 0.66 from 16Mi; loaded: 1.27, 1.10,
 *   1.07, 1.02. The word LM layer (LSTM batch 8, H 64, T 16: 2Mi) took 1.86x quiet. Through
 *   nn at 2Mi: inference 1.12-1.33 quiet, 1.25-1.52 loaded; at 4-8Mi inference 0.76-0.90
 *   quiet, 1.06-1.30 loaded, a training step 0.96-1.06 quiet, 0.95-1.21 loaded. 4x: the
 *   quiet crossover (loaded, two threads pay nowhere below about 16Mi, but above 4Mi they
 *   cost little).
 * - rows, backward (same count; its weight-gradient GEMMs are threaded on their own, so the
 *   loop is about half the call). Kernel alone, quiet: 1.07 at 2-4Mi, 1.05 at 4-8Mi, 1.00
 *   at 8-16Mi; loaded 1.06, 1.07, 1.03. Through nn, a training step at 4-6Mi: 1.10-1.16
 *   quiet, 1.05-1.16 loaded; at 16-24Mi: 0.91-0.96 quiet, 1.00-1.03 loaded. 16x.
 * - units, forward (one step's multiply-adds, B·G·H·P; the threads meet every step). Quiet
 *   it paid from about 0.75Mi a step (0.65-0.85 at H 256-512); loaded it lost at every size
 *   measured below 8Mi a step (1.13-1.76 at H 512; up to 30x for small steps: a descheduled
 *   thread stalls every step). 2x, the rule it had (an earlier A/B: 0.82 at 8Mi a step).
 * - units, backward (same count; two meetings a step): 0.85-1.25 quiet, 1.15-1.31 loaded
 *   at 0.75-8Mi a step (H 512); about even at 16-64Mi (H 1024). 16x.
 */
const MIN_MULTIPLE: Readonly<Record<RecurrentSplit, Readonly<Record<RecurrentLoop, number>>>> = {
  rows: { forward: 4, backward: 16 },
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
