/**
 * Scaled dot-product attention (functional), with PyTorch 2's mask convention (bool true =
 * takes part) and safe handling of fully masked rows; the internal body shared with
 * MultiheadAttention takes MultiheadAttention's convention (bool true = masked out).
 */
import {
  type Tensor,
  GhostFlowError,
  ShapeError,
  attention,
  broadcastShapes,
  formatShape,
  full,
  shapesEqual,
  sizeOf,
  tidy,
  triu,
  zeros,
} from '@ghostflow/core';
import { dropout } from '../functional/activation.js';

/**
 * Options of {@link scaledDotProductAttention} and {@link scaledDotProductAttentionWithWeights}.
 *
 * **Mask convention (BREAKING since 0.x: it was the opposite).** These options follow PyTorch 2's
 * `torch.nn.functional.scaled_dot_product_attention` exactly: a *boolean* `attnMask` uses
 * `true` = **takes part** (this query MAY attend to this key), `false` = masked out; a *float*
 * mask is added to the scores (use `-Infinity` to mask out). `nn.MultiheadAttention`, the
 * Transformer layers, {@link causalMask} and {@link mergeMasks} keep the OPPOSITE convention
 * (`true` = masked out), as in PyTorch; convert with `mask.logicalNot()` when passing one here.
 */
export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to `[..., L, S]`. bool: `true` = takes part (PyTorch 2 SDPA's convention,
   * opposite to MultiheadAttention's); float: added to the scores.
   */
  attnMask?: Tensor | null;
  /** Dropout probability on the attention weights (default 0; applied whenever > 0, like torch). */
  dropoutP?: number;
  /**
   * Apply a causal mask: query `i` sees keys `j <= i + offset`, where `offset` is
   * `causalOffset` (default 0: top-left aligned like torch's `is_causal`). Cannot be combined
   * with `attnMask`.
   */
  isCausal?: boolean;
  /** GhostFlow extension: positions of the queries relative to the keys for `isCausal` (default 0). */
  causalOffset?: number;
  /** Score scale (default `1 / sqrt(E)`, `E` the query's last dim). */
  scale?: number | null;
  /**
   * Grouped-query attention (torch's `enable_gqa`): query `[..., Hq, L, E]` with key and value
   * `[..., H, S, E]`, `Hq` a multiple of `H`; each key/value head serves `Hq / H` consecutive
   * query heads (key and value are repeat-interleaved along dim -3). Default false.
   */
  enableGqa?: boolean;
}

/** Result of {@link scaledDotProductAttentionWithWeights}. */
export interface AttentionResult {
  /** `[..., L, Ev]`. */
  output: Tensor;
  /** The attention probabilities `[..., L, S]` (after dropout). */
  weights: Tensor;
}

/**
 * A bool `[L, S]` mask, `true` (masked out) where key `j > i + offset` (query `i`), in
 * MultiheadAttention's convention (true = masked out). For {@link scaledDotProductAttention}
 * (true = takes part) use `isCausal`, or pass `causalMask(L, S).logicalNot()`.
 * @param L number of queries
 * @param S number of keys
 * @param offset absolute position of query 0 minus that of key 0
 */
export function causalMask(L: number, S: number, offset = 0, options: { device?: string } = {}): Tensor {
  return tidy(() => triu(full([L, S], true, { dtype: 'bool', device: options.device }), offset + 1));
}

/**
 * Combines two attention masks of MultiheadAttention's convention (bool true = masked out, float
 * additive) into one: bool+bool → logical or; otherwise a float additive mask.
 * `null` operands are ignored.
 */
export function mergeMasks(a: Tensor | null | undefined, b: Tensor | null | undefined): Tensor | null {
  if (!a) return b ?? null;
  if (!b) return a;
  if (a.dtype === 'bool' && b.dtype === 'bool') return a.logicalOr(b);
  if (a.dtype === 'bool') return b.maskedFill(a, Number.NEGATIVE_INFINITY);
  if (b.dtype === 'bool') return a.maskedFill(b, Number.NEGATIVE_INFINITY);
  return a.add(b);
}

/**
 * {@link scaledDotProductAttention} that also returns the attention weights; same options and
 * the same mask convention (PyTorch 2 SDPA's: bool `true` = takes part). Rows whose every key is masked out give zero weights
 * and a zero output (PyTorch gives NaN there, pytorch/pytorch#24816, #64525), with finite
 * (zero) gradients flowing through them.
 * @param query `[..., L, E]`
 * @param key `[..., S, E]`
 * @param value `[..., S, Ev]`
 * @param options masks, dropout, causal flag, scale; `training` (default true) gates dropout
 */
export function scaledDotProductAttentionWithWeights(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions & { training?: boolean } = {},
): AttentionResult {
  if (query.rank < 2 || key.rank < 2 || value.rank < 2) {
    throw new ShapeError(
      `scaledDotProductAttention expects query, key and value with at least 2 dims, got ${formatShape(query.shape)}, ${formatShape(key.shape)}, ${formatShape(value.shape)}`,
    );
  }
  const E = query.shape[query.rank - 1];
  if (key.shape[key.rank - 1] !== E) {
    throw new ShapeError(`scaledDotProductAttention: query's last dim ${E} must equal key's, got key ${formatShape(key.shape)}`);
  }
  const S = key.shape[key.rank - 2];
  if (value.shape[value.rank - 2] !== S) {
    throw new ShapeError(
      `scaledDotProductAttention: key and value need the same sequence length, got key ${formatShape(key.shape)} and value ${formatShape(value.shape)}`,
    );
  }
  const L = query.shape[query.rank - 2];
  const p = options.dropoutP ?? 0;
  if (!(p >= 0 && p <= 1)) throw new GhostFlowError(`dropout probability has to be between 0 and 1, but got ${p}`);
  if (options.isCausal && options.attnMask) {
    throw new GhostFlowError('scaledDotProductAttention: pass either attnMask or isCausal, not both');
  }
  const scale = options.scale ?? 1 / Math.sqrt(E);
  const causalOffset = options.isCausal ? (options.causalOffset ?? 0) : null;
  return tidy(() => {
    // PyTorch 2's bool mask says who takes part; the shared body takes MultiheadAttention's
    // convention (true = masked out), so invert here, once, at the public boundary.
    let mask = options.attnMask ?? null;
    if (mask?.dtype === 'bool') mask = mask.logicalNot();
    let k = key;
    let v = value;
    if (options.enableGqa) [k, v] = repeatKvHeads(query, key, value);
    return attentionWithWeights(query, k, v, mask, causalOffset, scale, p, options.training ?? true);
  });
}

/**
 * Grouped-query attention: key and value `[..., H, S, *]` repeat-interleaved to the query's
 * `Hq` heads along dim -3 (torch's `repeat_interleave(Hq // H, dim=-3)`).
 */
function repeatKvHeads(query: Tensor, key: Tensor, value: Tensor): [Tensor, Tensor] {
  if (query.rank < 3 || key.rank < 3 || value.rank < 3) {
    throw new ShapeError(
      `scaledDotProductAttention with enableGqa expects [..., heads, L, E] inputs, got query ${formatShape(query.shape)}, key ${formatShape(key.shape)}, value ${formatShape(value.shape)}`,
    );
  }
  const hq = query.shape[query.rank - 3];
  const hk = key.shape[key.rank - 3];
  if (value.shape[value.rank - 3] !== hk || hq % hk !== 0) {
    throw new ShapeError(
      `scaledDotProductAttention with enableGqa needs the query heads (${hq}) to be a multiple of the key/value heads, got key ${formatShape(key.shape)} and value ${formatShape(value.shape)}`,
    );
  }
  const g = hq / hk;
  if (g === 1) return [key, value];
  const rep = (t: Tensor): Tensor => {
    const lead = t.shape.slice(0, -3);
    const tail = t.shape.slice(-2);
    return t
      .unsqueeze(-3)
      .expand([...lead, hk, g, ...tail])
      .reshape([...lead, hk * g, ...tail]);
  };
  return [rep(key), rep(value)];
}

/**
 * The shared body (validated inputs; **MultiheadAttention's mask convention: bool true = masked
 * out**): flattens the broadcast batch dims into one, turns a
 * bool mask into an additive float one (-inf where true) and runs core's `attention` op (the
 * backend's fused kernel when it has one). A causal mask with `causalOffset = S - L` is the
 * op's own `causal` flag; another offset becomes an explicit mask, merged with `mask`. With
 * dropout (`p > 0` while training) the op's weights are dropped out and the output is
 * recomputed from them. Internal: `MultiheadAttention` passes a mask and a causal offset
 * together.
 */
export function attentionWithWeights(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  attnMask: Tensor | null,
  causalOffset: number | null,
  scale: number,
  p: number,
  training: boolean,
): AttentionResult {
  if (attnMask && attnMask.dtype !== 'bool' && attnMask.dtype !== 'float32') {
    throw new GhostFlowError(`attention mask must be bool or float32, got ${attnMask.dtype}`);
  }
  const L = query.shape[query.rank - 2];
  const S = key.shape[key.rank - 2];
  const Ev = value.shape[value.rank - 1];
  return tidy(() => {
    let mask = attnMask;
    let causal = false;
    if (causalOffset !== null) {
      if (causalOffset === S - L) causal = true;
      else mask = mergeMasks(mask, causalMask(L, S, causalOffset, { device: query.device }));
    }
    if (mask?.dtype === 'bool') mask = zeros(mask.shape, { device: query.device }).maskedFill(mask, Number.NEGATIVE_INFINITY);
    const lead = (t: Tensor) => t.shape.slice(0, -2);
    const maskLead = mask && mask.rank > 2 ? lead(mask) : [];
    let batch: number[];
    try {
      batch = broadcastShapes(lead(query), lead(key), lead(value), maskLead);
    } catch {
      throw new ShapeError(
        `scaledDotProductAttention: the batch dims of query ${formatShape(query.shape)}, key ${formatShape(key.shape)}, value ${formatShape(value.shape)}${mask ? ` and mask ${formatShape(mask.shape)}` : ''} cannot be broadcast together`,
      );
    }
    const B = sizeOf(batch);
    const to3 = (t: Tensor): Tensor => {
      const shape = [...batch, ...t.shape.slice(-2)];
      const x = shapesEqual(t.shape, shape) ? t : t.expand(shape);
      return batch.length === 1 ? x : x.reshape(B, shape[shape.length - 2], shape[shape.length - 1]);
    };
    let m3: Tensor | null = null;
    if (mask) {
      // A mask shared by the whole batch stays 2-D (the op broadcasts it without a copy).
      m3 = maskLead.every((d) => d === 1) ? (mask.rank > 2 ? mask.reshape(mask.shape.slice(-2)) : mask) : to3(mask);
    }
    const v3 = to3(value);
    let [output, weights] = attention(to3(query), to3(key), v3, { mask: m3, scale, causal });
    if (p > 0 && training) {
      weights = dropout(weights, p, true);
      output = weights.matmul(v3);
    }
    return { output: output.reshape([...batch, L, Ev]), weights: weights.reshape([...batch, L, S]) };
  });
}

/**
 * `softmax(q kᵀ · scale + mask) v`, exactly PyTorch 2's
 * `torch.nn.functional.scaled_dot_product_attention`, batched over any leading dims (broadcast).
 *
 * **BREAKING (mask polarity): a boolean `attnMask` now means `true` = takes part (may attend)**,
 * as in PyTorch 2. Earlier GhostFlow releases read `true` as masked out (MultiheadAttention's
 * convention, which `MultiheadAttention`, the Transformer layers and {@link causalMask} keep);
 * code written for those releases must now pass `mask.logicalNot()`. Float masks are added to
 * the scores, as before. `isCausal` (top-left aligned), `scale`, `dropoutP` and `enableGqa`
 * are torch's.
 *
 * One deliberate difference: rows whose every key is masked out give zeros (not NaN), and
 * gradients there are finite.
 * @param query `[..., L, E]` (`[..., Hq, L, E]` with `enableGqa`)
 * @param key `[..., S, E]`
 * @param value `[..., S, Ev]`
 * @returns `[..., L, Ev]`
 * @example
 * ```ts
 * import { randn, tensor } from '@ghostflow/core';
 * import { scaledDotProductAttention } from '@ghostflow/nn';
 * const q = randn([2, 4, 5, 8]); // [batch, heads, L, E]
 * const k = randn([2, 4, 6, 8]);
 * const v = randn([2, 4, 6, 8]);
 * const keep = tensor([[true, true, true, false, false, false]]); // [1, S]: the last 3 keys are padding
 * const out = scaledDotProductAttention(q, k, v, { attnMask: keep }); // [2, 4, 5, 8]
 * ```
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  return tidy(() => scaledDotProductAttentionWithWeights(query, key, value, options).output);
}
