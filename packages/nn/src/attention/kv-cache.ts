/** Key/value cache for incremental (token-by-token) decoding with causal self-attention. */
import { type Tensor, GhostFlowError, arange, cat, indexSelect, keep, tidy } from '@ghostflow/core';

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

  /**
   * Reorders the cached sequences for beam search: sequence `i` afterwards is sequence
   * `batchIndices[i]` before (rows are stored batch-major, `heads` rows per sequence, as
   * `MultiheadAttention` appends them). The batch may grow (one prompt fanned out to the
   * beams) or shrink. No-op on an empty cache.
   * @example
   * ```ts
   * import { randn, tensor } from '@ghostflow/core';
   * import { KVCache } from '@ghostflow/nn';
   * const nhead = 4;
   * const caches = [new KVCache(), new KVCache()]; // one per attention layer
   * for (const cache of caches) cache.append(randn([2 * nhead, 5, 16]), randn([2 * nhead, 5, 16])); // 2 sequences
   * for (const cache of caches) cache.reorderBatch(tensor([0, 0, 1], { dtype: 'int32' }), nhead);
   * ```
   * @param batchIndices int32 `[B']`, each in `[0, B)`
   * @param heads attention heads of the layer this cache belongs to
   */
  reorderBatch(batchIndices: Tensor, heads: number): void {
    if (!this.k || !this.v) return;
    const rows = this.k.shape[0];
    if (batchIndices.rank !== 1 || batchIndices.dtype !== 'int32') {
      throw new GhostFlowError(
        `KVCache.reorderBatch: batchIndices must be int32 [B'], got ${batchIndices.dtype} [${batchIndices.shape.join(', ')}]`,
      );
    }
    if (!(Number.isInteger(heads) && heads >= 1 && rows % heads === 0)) {
      throw new GhostFlowError(
        `KVCache.reorderBatch: heads must be a positive divisor of the cached rows (${rows} = batch * heads), got ${heads}`,
      );
    }
    const [k, v] = tidy(() => {
      const index = batchIndices
        .reshape(-1, 1)
        .mul(heads)
        .add(arange(heads, { dtype: 'int32', device: batchIndices.device }))
        .reshape(-1);
      return [indexSelect(this.k as Tensor, 0, index), indexSelect(this.v as Tensor, 0, index)];
    });
    this.replace(keep(k), keep(v));
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
