/**
 * Top-k and top-p (nucleus) filtering of next-token logits, with the semantics of Hugging Face
 * transformers' `top_k_top_p_filtering` (the warpers `generate()` applies): removed tokens get
 * `-inf`, so a softmax afterwards gives them probability 0.
 */
import { type Tensor, GhostFlowError, cat, cumsum, full, gt, lt, narrow, scatter, softmax, sort, tidy, topk, where } from '@ghostflow/core';

/** Options of {@link filterLogits}. */
export interface FilterLogitsOptions {
  /** Keep the `topK` largest logits of each row (ties with the k-th value kept too); 0 or absent: no top-k filtering. */
  topK?: number;
  /**
   * Keep the smallest set of tokens whose cumulative probability reaches `topP` (the token
   * that crosses the threshold is kept; the most probable token always is); 1 or absent: no
   * top-p filtering.
   */
  topP?: number;
}

/** Validates the filtering options, naming what was expected and what came. */
export function checkFilterOptions(op: string, options: FilterLogitsOptions): void {
  const { topK, topP } = options;
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) {
    throw new GhostFlowError(`${op}: topK must be a non-negative integer (0 = off), got ${topK}`);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new GhostFlowError(`${op}: topP must be in (0, 1], got ${topP}`);
}

/**
 * Masks the logits that top-k and then top-p filtering remove with `-inf` (along the last
 * dim; any leading dims are rows). Order and tie rules are Hugging Face's: top-k keeps every
 * logit `>=` the k-th largest; top-p sorts descending (stable), takes the softmax's cumulative
 * sum, removes a token when the cumulative probability of the tokens before it already
 * exceeds `topP`, and never removes the first. A new tensor; no gradient is meant to flow.
 * @example
 * ```ts
 * import { tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { filterLogits } from '@ghostflow/nn';
 * const kept = filterLogits(tensor([[1, 2, 3, 4]]), { topK: 3, topP: 0.9 }); // [[-inf, -inf, 3, 4]]
 * ```
 * @param logits float32 `[..., V]`
 * @param options `topK`, `topP`
 */
export function filterLogits(logits: Tensor, options: FilterLogitsOptions = {}): Tensor {
  checkFilterOptions('filterLogits()', options);
  if (logits.dtype !== 'float32') throw new GhostFlowError(`filterLogits(): expected float32 logits, got ${logits.dtype}`);
  if (logits.rank < 1) throw new GhostFlowError('filterLogits(): expected logits of rank >= 1 ([..., vocab]), got a 0-d tensor');
  const vocab = logits.shape[logits.rank - 1];
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  return tidy(() => {
    let out = logits.add(0);
    if (topK > 0 && topK < vocab) {
      const kth = narrow(topk(out, topK, -1).values, -1, topK - 1, 1);
      out = where(lt(out, kth), Number.NEGATIVE_INFINITY, out);
    }
    if (topP < 1) {
      const sorted = sort(out, -1, { descending: true, stable: true });
      const beyond = gt(cumsum(softmax(sorted.values, -1), -1), topP);
      // Shift right by one: a token is removed when the tokens before it already exceed topP.
      const firstKept = full([...beyond.shape.slice(0, -1), 1], false, { dtype: 'bool', device: logits.device });
      const removeSorted = vocab > 1 ? cat([firstKept, narrow(beyond, -1, 0, vocab - 1)], -1) : firstKept;
      const remove = scatter(full(out.shape, false, { dtype: 'bool', device: logits.device }), -1, sorted.indices, removeSorted);
      out = where(remove, Number.NEGATIVE_INFINITY, out);
    }
    return out;
  });
}
