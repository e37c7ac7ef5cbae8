/**
 * Activation functions (`torch.nn.functional` names in camelCase). Those core already has
 * (relu, gelu, silu, softplus, sigmoid, tanh, softmax, logSoftmax) are forwarded; the others
 * are composed from core ops, so their gradients come from autograd and match PyTorch's
 * hand-written backward formulas.
 */
import {
  type Tensor,
  bernoulli,
  clamp,
  GhostFlowError,
  gt,
  logSoftmax as coreLogSoftmax,
  softmax as coreSoftmax,
  tidy,
  where,
} from '@ghostflow/core';

/** `max(x, 0)` (torch.nn.functional.relu). */
export function relu(input: Tensor): Tensor {
  return input.relu();
}

/**
 * `x` where `x > 0`, else `negativeSlope * x` (torch.nn.functional.leaky_relu). The gradient
 * at 0 is `negativeSlope`, as PyTorch's.
 * @param negativeSlope slope for negative inputs (default 0.01)
 */
export function leakyRelu(input: Tensor, negativeSlope = 0.01): Tensor {
  return tidy(() => where(gt(input, 0), input, input.mul(negativeSlope)));
}

/**
 * Gaussian error linear unit (torch.nn.functional.gelu): `x Φ(x)`, or PyTorch's tanh
 * approximation with `approximate: 'tanh'`.
 */
export function gelu(input: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  return input.gelu({ approximate: options.approximate ?? 'none' });
}

/** `x * sigmoid(x)` (torch.nn.functional.silu). */
export function silu(input: Tensor): Tensor {
  return input.silu();
}

/** Alias of {@link silu} (Swish with beta = 1). */
export const swish = silu;

/**
 * `x * tanh(softplus(x))` (torch.nn.functional.mish). The gradient is autograd's, equal to
 * PyTorch's `tanh(sp) + x * sigmoid(x) * (1 - tanh(sp)^2)`.
 */
export function mish(input: Tensor): Tensor {
  return tidy(() => input.mul(input.softplus().tanh()));
}

/**
 * Exponential linear unit (torch.nn.functional.elu): `x` where `x > 0`, else
 * `alpha * (exp(x) - 1)`. The exponential only sees `min(x, 0)`, so large inputs never
 * produce `inf * 0` in the gradient.
 * @param alpha scale of the negative part (default 1)
 */
export function elu(input: Tensor, alpha = 1): Tensor {
  return tidy(() => where(gt(input, 0), input, clamp(input, null, 0).expm1().mul(alpha)));
}

/** SELU's alpha, as PyTorch's constant. */
export const SELU_ALPHA = 1.6732632423543772;
/** SELU's scale, as PyTorch's constant. */
export const SELU_SCALE = 1.0507009873554805;

/** Scaled ELU (torch.nn.functional.selu): `scale * elu(x, alpha)` with PyTorch's constants. */
export function selu(input: Tensor): Tensor {
  return tidy(() =>
    where(
      gt(input, 0),
      input.mul(SELU_SCALE),
      clamp(input, null, 0)
        .expm1()
        .mul(SELU_ALPHA * SELU_SCALE),
    ),
  );
}

/** Hyperbolic tangent. */
export function tanh(input: Tensor): Tensor {
  return input.tanh();
}

/** Logistic sigmoid. */
export function sigmoid(input: Tensor): Tensor {
  return input.sigmoid();
}

/**
 * `log(1 + exp(beta x)) / beta`, linear (`x`) where `beta x > threshold`
 * (torch.nn.functional.softplus).
 * @param beta default 1
 * @param threshold default 20
 */
export function softplus(input: Tensor, beta = 1, threshold = 20): Tensor {
  return input.softplus({ beta, threshold });
}

/**
 * PyTorch's legacy implicit softmax dim (`_get_softmax_dim`), used when `dim` is omitted:
 * 0 for 0-, 1- and 3-dimensional inputs, else 1. Prefer passing `dim`.
 */
export function implicitSoftmaxDim(ndim: number): number {
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

/**
 * Softmax along `dim` (torch.nn.functional.softmax). Without `dim`, PyTorch's legacy implicit
 * choice ({@link implicitSoftmaxDim}).
 */
export function softmax(input: Tensor, dim?: number): Tensor {
  return coreSoftmax(input, dim ?? implicitSoftmaxDim(input.ndim));
}

/** Log-softmax along `dim` (torch.nn.functional.log_softmax); same `dim` default as {@link softmax}. */
export function logSoftmax(input: Tensor, dim?: number): Tensor {
  return coreLogSoftmax(input, dim ?? implicitSoftmaxDim(input.ndim));
}

/**
 * Dropout (torch.nn.functional.dropout): in training, zeroes each element with probability
 * `p` (Bernoulli mask from core's seedable generator) and scales the rest by `1 / (1 - p)`;
 * with `training` false (or `p` = 0) it returns `input` itself. `p` = 1 gives zeros.
 * @param p probability of zeroing an element (default 0.5)
 * @param training whether to apply dropout (default true, like PyTorch's functional form)
 */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new GhostFlowError(`dropout probability has to be between 0 and 1, but got ${p}`);
  if (!training || p === 0) return input;
  return tidy(() => {
    if (p === 1) return input.mul(0);
    const mask = bernoulli(1 - p, input.shape, { device: input.device });
    return input.mul(mask.div(1 - p));
  });
}
