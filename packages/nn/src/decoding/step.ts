/**
 * The one interface every decoder is driven through: a step function that takes the newest
 * tokens and the model's state and returns the next-token logits and the new state. A
 * Transformer keeps its {@link KVCache}s in the state, an RNN its hidden state, so
 * {@link generate} and {@link beamSearch} drive either.
 */
import { Tensor } from '@ghostflow/core';

/** What one decoding step returns. */
export interface StepOutput<S> {
  /** Next-token logits after the last fed token of each row: float32 `[B, V]`. */
  logits: Tensor;
  /** The state after the fed tokens (the next step receives it). */
  state: S;
}

/**
 * One decoding step: `tokens` is int32 `[B, T]` (the whole prompt on the first call, `[B, 1]`
 * after), `state` what the previous step returned (or the initial state). Runs under
 * `noGrad` inside a `tidy`: tensors it makes are freed unless they are in its result.
 */
export type DecodeStep<S> = (tokens: Tensor, state: S) => StepOutput<S>;

/**
 * Reorders a batched state along its batch dim for beam search: row `i` of the result is row
 * `indices[i]` (int32 `[B']`, B' may differ from B) of `state`. Tensor states use
 * `indexSelect(t, batchDim, indices)`; {@link KVCache}s `reorderBatch(indices, heads)`.
 */
export type ReorderState<S> = (state: S, indices: Tensor) => S;

/** The tensors of a state: found through arrays and plain objects, as `tidy` finds results. */
function tensorsOf(value: unknown, into: Set<Tensor>, seen: Set<unknown> = new Set()): Set<Tensor> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return into;
  seen.add(value);
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) tensorsOf(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) tensorsOf(v, into, seen);
  return into;
}

/**
 * Frees the tensors of `previous` that neither `next` nor `owned` (the caller's initial
 * state) holds: the decoding loops own every state a step returns, never the caller's.
 */
export function releaseState(previous: unknown, next: unknown, owned: unknown): void {
  const keepSet = tensorsOf(owned, tensorsOf(next, new Set()));
  for (const t of tensorsOf(previous, new Set())) if (!keepSet.has(t) && !t.isDisposed) t.dispose();
}
