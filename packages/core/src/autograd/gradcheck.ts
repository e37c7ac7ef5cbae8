/** Finite-difference checking of gradient rules, for tests and backend authors. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from '../ops/pending.js';

/** Options for {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step. Default 1e-2 (float32 needs a large one). */
  eps?: number;
  /** Absolute tolerance. Default 1e-2. */
  atol?: number;
  /** Relative tolerance. Default 1e-2. */
  rtol?: number;
}

/** One input whose analytic and numeric gradients disagree. */
export interface GradcheckMismatch {
  /** Which input. */
  input: number;
  /** Flat element index. */
  index: number;
  /** Gradient from autograd. */
  analytic: number;
  /** Central-difference estimate. */
  numeric: number;
}

/** Result of a gradcheck. */
export interface GradcheckResult {
  /** True when every element agreed within tolerance. */
  ok: boolean;
  /** The elements that did not (empty when ok). */
  mismatches: GradcheckMismatch[];
}

/**
 * Compares autograd's gradient of `sum(fn(...inputs) * w)` (w a fixed random weight) with
 * central finite differences, element by element, for every float32 input.
 */
export async function gradcheck(fn: (...inputs: Tensor[]) => Tensor | Tensor[], inputs: readonly Tensor[], options?: GradcheckOptions): Promise<GradcheckResult> {
  return notImplemented('gradcheck');
}
