/**
 * Checks shared by the recurrent ops (recurrentSequence and recurrentLayer); internal, not
 * exported from the package.
 */
import type { RecurrentMode } from '../backend/kernels.js';
import { GhostFlowError } from '../errors.js';

const GATES: Record<RecurrentMode, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 };

/** The gate blocks per step of `mode` (rows of W_ih / W_hh per hidden unit); throws, naming `op`, for an unknown mode. */
export function gateCount(mode: RecurrentMode, op: string): number {
  if (!(mode in GATES)) throw new GhostFlowError(`${op}: unknown mode '${String(mode)}', expected LSTM, GRU, RNN_TANH or RNN_RELU`);
  return GATES[mode];
}

/** Whether every step's batch size is a positive integer no larger than the step before (a packed sequence's). */
export function nonIncreasingBatchSizes(batchSizes: readonly number[]): boolean {
  return batchSizes.every((n, t) => Number.isInteger(n) && n > 0 && (t === 0 || n <= batchSizes[t - 1]));
}
