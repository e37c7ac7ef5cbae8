/** Root-mean-square layer normalisation (torch.nn.RMSNorm, PyTorch 2.4). */
import { type Tensor, GhostFlowError, ShapeError, formatShape, ones, tidy } from '@ghostflow/core';
import { Module } from '../module.js';

/** float32's machine epsilon (`torch.finfo(torch.float32).eps`), RMSNorm's default eps. */
const FLOAT32_EPS = 2 ** -23;

function checkTrailing(input: Tensor, normalizedShape: readonly number[], fn: string): void {
  const n = normalizedShape.length;
  const tail = input.shape.slice(input.rank - n);
  if (input.rank < n || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new ShapeError(
      `${fn}: expected input with shape [*, ${normalizedShape.join(', ')}], but got input of size ${formatShape(input.shape)}`,
    );
  }
}

/**
 * RMS normalisation (torch.nn.functional.rms_norm, PyTorch 2.4):
 * `x · rsqrt(mean(x², over the last normalizedShape.length dims) + eps) · weight`, composed
 * from core ops (gradients by autograd).
 * @param normalizedShape the trailing dims to normalise over
 * @param weight `normalizedShape`, or null for none
 * @param eps added to the mean of squares; `null`/omitted = float32's machine epsilon (torch's default)
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { rmsNorm } from '@ghostflow/nn';
 * const y = rmsNorm(randn([2, 5, 8]), [8]); // each row of 8 has root mean square ≈ 1
 * ```
 */
export function rmsNorm(
  input: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  eps: number | null = null,
): Tensor {
  checkTrailing(input, normalizedShape, 'rmsNorm');
  if (weight && (weight.rank !== normalizedShape.length || weight.shape.some((d, i) => d !== normalizedShape[i]))) {
    throw new ShapeError(`rmsNorm: weight must have shape ${formatShape(normalizedShape)}, got ${formatShape(weight.shape)}`);
  }
  const e = eps ?? FLOAT32_EPS;
  if (!(e >= 0)) throw new GhostFlowError(`rmsNorm: eps must be >= 0, got ${e}`);
  const dims = normalizedShape.map((_, i) => i - normalizedShape.length);
  return tidy(() => {
    const y = input.mul(input.square().mean(dims, true).add(e).rsqrt());
    return weight ? y.mul(weight) : y;
  });
}

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions {
  /** Added to the mean of squares (default `null`: float32's machine epsilon, as torch's `eps=None`). */
  eps?: number | null;
  /** Learn a per-element `weight` (ones) (default true). */
  elementwiseAffine?: boolean;
  /** Backend for the weight (default the active one). */
  device?: string;
}

/**
 * RMS layer normalisation (torch.nn.RMSNorm, PyTorch 2.4 semantics): normalises over the last
 * `normalizedShape.length` dims by the root mean square, `x / sqrt(mean(x²) + eps) · weight`
 * (no mean subtraction, no bias). See {@link rmsNorm}.
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { RMSNorm } from '@ghostflow/nn';
 * const norm = new RMSNorm(512); // eps = 2^-23, weight = ones([512])
 * const y = norm.forward(randn([4, 10, 512]));
 * ```
 */
export class RMSNorm extends Module {
  /** The trailing shape normalised over. */
  readonly normalizedShape: readonly number[];
  /** The eps given (null: float32's machine epsilon at run time, like torch). */
  readonly eps: number | null;
  /** Whether `weight` exists. */
  readonly elementwiseAffine: boolean;
  /** `normalizedShape`, ones; null without `elementwiseAffine`. */
  readonly weight: Tensor | null;

  /** @param normalizedShape the trailing dims to normalise over (a number means one dim) */
  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = Object.freeze(typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape]);
    this.eps = options.eps ?? null;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine
      ? this.registerParameter('weight', ones(this.normalizedShape, { device: options.device }))
      : this.registerParameter('weight', null);
  }

  /** `input` `[..., *normalizedShape]` → same shape. */
  forward(input: Tensor): Tensor {
    return rmsNorm(input, this.normalizedShape, this.weight, this.eps);
  }

  /** `[shape], eps=.., elementwiseAffine=..`. */
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
