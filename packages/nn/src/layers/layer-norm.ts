/** Layer normalisation. */
import { type Tensor, layerNorm, ones, zeros } from '@ghostflow/core';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-element `weight` (ones) and `bias` (zeros) (default true). */
  elementwiseAffine?: boolean;
  /** With `elementwiseAffine`, also learn the bias (default true). */
  bias?: boolean;
  /** Backend for the parameters (default the active one). */
  device?: string;
}

/**
 * Normalises over the last `normalizedShape.length` dims (torch.nn.LayerNorm):
 * `(x - mean) / sqrt(var + eps) * weight + bias`, biased variance, through core's `layerNorm`
 * op (a fused kernel when the backend has one).
 */
export class LayerNorm extends Module {
  /** The trailing shape normalised over. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance. */
  readonly eps: number;
  /** Whether `weight`/`bias` exist. */
  readonly elementwiseAffine: boolean;
  /** `normalizedShape`, ones; null without `elementwiseAffine`. */
  weight: Parameter | null;
  /** `normalizedShape`, zeros; null without `elementwiseAffine` or with `bias: false`. */
  bias: Parameter | null;

  /** @param normalizedShape the trailing dims to normalise over (a number means one dim) */
  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = Object.freeze(typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape]);
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const device = options.device;
    if (this.elementwiseAffine) {
      this.weight = this.registerParameter('weight', ones(this.normalizedShape, { device }));
      this.bias =
        (options.bias ?? true)
          ? this.registerParameter('bias', zeros(this.normalizedShape, { device }))
          : this.registerParameter('bias', null);
    } else {
      this.weight = this.registerParameter('weight', null);
      this.bias = this.registerParameter('bias', null);
    }
  }

  /** `input` `[..., *normalizedShape]` → same shape. */
  forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  /** `[shape], eps=.., elementwiseAffine=..`. */
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
