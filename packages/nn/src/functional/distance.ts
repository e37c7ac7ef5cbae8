/** Normalisation and similarity of vectors: torch.nn.functional.normalize and cosine_similarity. */
import { type Tensor, DTypeError, GhostFlowError, ShapeError, broadcastShapes, formatShape, norm, tidy } from '@ghostflow/core';

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /** Norm degree (default 2). */
  p?: number;
  /** Dim to normalise over (default 1, as torch). */
  dim?: number;
  /** Lower bound of the divisor (default 1e-12). */
  eps?: number;
}

/**
 * `x / max(||x||_p, eps)` over `dim` (torch.nn.functional.normalize); the norm's gradient is
 * PyTorch's (zero where the norm is clamped).
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { normalize } from '@ghostflow/nn';
 * const unit = normalize(randn([4, 16]), { dim: -1 }); // every row has L2 norm 1
 * ```
 */
export function normalize(x: Tensor, options: NormalizeOptions = {}): Tensor {
  const p = options.p ?? 2;
  const dim = options.dim ?? 1;
  const eps = options.eps ?? 1e-12;
  if (x.dtype !== 'float32') throw new DTypeError(`normalize: expected a float32 input, got ${x.dtype}`);
  if (x.rank === 0) throw new ShapeError('normalize: expected an input with at least 1 dim, got a 0-d tensor');
  return tidy(() => x.div(norm(x, p, dim, true).clamp(eps)));
}

/** Options of {@link cosineSimilarity}. */
export interface CosineSimilarityOptions {
  /** Dim of the vectors (default 1, as torch). */
  dim?: number;
  /** Lower bound of each norm (default 1e-8). */
  eps?: number;
}

/**
 * Cosine similarity along `dim` (torch.nn.functional.cosine_similarity, PyTorch 1.13's
 * formula): `Σ (x1 / max(‖x1‖, eps)) · (x2 / max(‖x2‖, eps))`; the inputs broadcast. As in
 * torch, the clamp of each norm is not differentiated (the gradient flows as through the
 * unclamped norm).
 * @returns the broadcast shape without `dim`
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { cosineSimilarity } from '@ghostflow/nn';
 * const queries = randn([8, 64]);
 * const keys = randn([8, 64]);
 * const sim = cosineSimilarity(queries, keys, { dim: -1 }); // [N, D] and [N, D] -> [N]
 * ```
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, options: CosineSimilarityOptions = {}): Tensor {
  const dim = options.dim ?? 1;
  const eps = options.eps ?? 1e-8;
  if (x1.dtype !== 'float32' || x2.dtype !== 'float32')
    throw new DTypeError(`cosineSimilarity: expected float32 inputs, got ${x1.dtype} and ${x2.dtype}`);
  let shape: number[];
  try {
    shape = broadcastShapes(x1.shape, x2.shape);
  } catch {
    throw new ShapeError(`cosineSimilarity: the shapes ${formatShape(x1.shape)} and ${formatShape(x2.shape)} cannot be broadcast together`);
  }
  if (shape.length === 0) throw new ShapeError('cosineSimilarity: expected inputs with at least 1 dim');
  if (!(eps >= 0)) throw new GhostFlowError(`cosineSimilarity: eps must be >= 0, got ${eps}`);
  return tidy(() => {
    const a = x1.expand(shape);
    const b = x2.expand(shape);
    // torch clamps the norms in place under no_grad: the value is clamped, the gradient is the norm's.
    const unitNorm = (t: Tensor): Tensor => {
      const n = norm(t, 2, dim, true);
      return n.add(n.detach().clamp(eps).sub(n.detach()));
    };
    return a
      .div(unitNorm(a))
      .mul(b.div(unitNorm(b)))
      .sum(dim);
  });
}
