/** Distance and similarity modules: torch.nn.CosineSimilarity and torch.nn.PairwiseDistance. */
import type { Tensor } from '@ghostflow/core';
import { type CosineSimilarityOptions, cosineSimilarity } from '../functional/distance.js';
import { pairwiseDistance } from '../functional/loss.js';
import { Module } from '../module.js';

/**
 * Cosine similarity along `dim` (torch.nn.CosineSimilarity); see {@link cosineSimilarity}.
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { CosineSimilarity } from '@ghostflow/nn';
 * const a = randn([8, 64]);
 * const b = randn([8, 64]);
 * const cos = new CosineSimilarity({ dim: -1 });
 * const sim = cos.forward(a, b); // [N, D], [N, D] -> [N]
 * ```
 */
export class CosineSimilarity extends Module {
  /** Dim of the vectors. */
  readonly dim: number;
  /** Lower bound of each norm. */
  readonly eps: number;

  /** @param options `dim` (1), `eps` (1e-8) */
  constructor(options: CosineSimilarityOptions = {}) {
    super();
    this.dim = options.dim ?? 1;
    this.eps = options.eps ?? 1e-8;
  }

  /** Similarity of `x1` and `x2` (broadcast) along `dim`. */
  forward(x1: Tensor, x2: Tensor): Tensor {
    return cosineSimilarity(x1, x2, { dim: this.dim, eps: this.eps });
  }

  /** `dim=.., eps=..`. */
  override extraRepr(): string {
    return `dim=${this.dim}, eps=${this.eps}`;
  }
}

/** Options of {@link PairwiseDistance}. */
export interface PairwiseDistanceOptions {
  /** Norm degree (default 2). */
  p?: number;
  /** Added to the difference (default 1e-6). */
  eps?: number;
  /** Keep the reduced last dim (default false). */
  keepdim?: boolean;
}

/**
 * `||x1 - x2 + eps||_p` over the last dim (torch.nn.PairwiseDistance); see {@link pairwiseDistance}.
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { PairwiseDistance } from '@ghostflow/nn';
 * const a = randn([8, 64]);
 * const b = randn([8, 64]);
 * const d = new PairwiseDistance().forward(a, b); // [N, D], [N, D] -> [N]
 * ```
 */
export class PairwiseDistance extends Module {
  /** Norm degree. */
  readonly p: number;
  /** Added to the difference. */
  readonly eps: number;
  /** Whether the last dim is kept. */
  readonly keepdim: boolean;

  /** @param options `p` (2), `eps` (1e-6), `keepdim` (false) */
  constructor(options: PairwiseDistanceOptions = {}) {
    super();
    this.p = options.p ?? 2;
    this.eps = options.eps ?? 1e-6;
    this.keepdim = options.keepdim ?? false;
  }

  /** The distances. */
  forward(x1: Tensor, x2: Tensor): Tensor {
    return pairwiseDistance(x1, x2, this.p, this.eps, this.keepdim);
  }

  /** `p=.., eps=.., keepdim=..`. */
  override extraRepr(): string {
    return `p=${this.p}, eps=${this.eps}, keepdim=${this.keepdim}`;
  }
}
