/** Key/value cache for incremental (token-by-token) decoding with causal self-attention. */
import { type Tensor, GhostFlowError, cat, keep } from '@ghostflow/core';

/**
 * Holds the keys and values one attention layer has already seen, so that decoding step `t`
 * only projects the new token(s) and attends over the cached past plus the new ones. Pass one
 * cache per attention layer (`MultiheadAttention.forward(x, x, x, { kvCache, isCausal: true })`,
 * `TransformerEncoderLayer.forward(x, { kvCache, isCausal: true })`).
 *
 * Keys/values are stored as `[batch * heads, S, headDim]` and grow along dim -2. Cached
 * tensors are kept out of `tidy` scopes; call {@link KVCache.reset} (or `dispose`) to free them.
 * The previous tensors are freed at each append (the autograd graph keeps what a backward
 * pass through them needs), so a tensor returned by `append` is valid until the next `append`
 * or `reset`.
 */
export class KVCache {
  private k: Tensor | null = null;
  private v: Tensor | null = null;

  /** Cached keys `[..., S, headDim]`, or null when empty. */
  get key(): Tensor | null {
    return this.k;
  }

  /** Cached values `[..., S, headDim]`, or null when empty. */
  get value(): Tensor | null {
    return this.v;
  }

  /** Number of cached positions (0 when empty). */
  get length(): number {
    return this.k ? this.k.shape[this.k.rank - 2] : 0;
  }

  /**
   * Appends `key`/`value` (`[..., T, d]`) after the cached positions along dim -2 and returns
   * the full `[keys, values]`.
   */
  append(key: Tensor, value: Tensor): [Tensor, Tensor] {
    if (this.k && this.v) {
      const batchK = this.k.shape.slice(0, -2);
      const newBatch = key.shape.slice(0, -2);
      if (
        batchK.length !== newBatch.length ||
        batchK.some((d, i) => d !== newBatch[i]) ||
        this.k.shape[this.k.rank - 1] !== key.shape[key.rank - 1]
      ) {
        throw new GhostFlowError(`KVCache.append: cached keys [${this.k.shape.join(', ')}] do not fit new keys [${key.shape.join(', ')}]`);
      }
      const nk = keep(cat([this.k, key], -2));
      const nv = keep(cat([this.v, value], -2));
      this.replace(nk, nv);
    } else {
      this.replace(keep(key.add(0)), keep(value.add(0)));
    }
    return [this.k as Tensor, this.v as Tensor];
  }

  /** Empties the cache and frees its tensors. */
  reset(): void {
    this.replace(null, null);
  }

  /** Empties the cache and frees its tensors. */
  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = null;
    this.v = null;
  }

  private replace(k: Tensor | null, v: Tensor | null): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = k;
    this.v = v;
  }
}
