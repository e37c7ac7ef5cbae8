/** Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). */
import { type Tensor, GhostFlowError, keep, noGrad, scalar, stack, tidy } from '@ghostflow/core';

function gradsOf(params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = isTensorLike(params) ? [params] : [...params];
  return list.filter((p) => p.grad !== null);
}

function isTensorLike(v: Iterable<Tensor> | Tensor): v is Tensor {
  return typeof (v as Tensor).dispose === 'function' && 'shape' in (v as object) && !(Symbol.iterator in (v as object));
}

function norm(x: Tensor, normType: number): Tensor {
  if (normType === Number.POSITIVE_INFINITY) return x.abs().amax();
  if (normType === 2) return x.square().sum().sqrt();
  if (normType === 1) return x.abs().sum();
  return x
    .abs()
    .pow(normType)
    .sum()
    .pow(1 / normType);
}

/**
 * Rescales gradients in place so their joint norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_: `total = ||(||g_1||, ..., ||g_k||)||_normType`, every gradient
 * is multiplied by `min(maxNorm / (total + 1e-6), 1)`. Parameters without a gradient are
 * skipped. Returns the total norm before clipping (a 0-d tensor the caller owns; read it with
 * `item()`), so no value is read back to the host here.
 * @param normType p of the p-norm (default 2; `Infinity` for the max norm)
 */
export function clipGradNorm(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2): Tensor {
  if (!(normType > 0)) throw new GhostFlowError(`clipGradNorm: normType must be positive, got ${normType}`);
  const withGrad = gradsOf(params);
  if (withGrad.length === 0) return scalar(0);
  return noGrad(() => {
    const total = tidy(() => norm(stack(withGrad.map((p) => norm(p.grad as Tensor, normType))), normType));
    // One coefficient for every gradient (computed once, not once per parameter).
    const coef = tidy(() => total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1));
    try {
      for (const p of withGrad) p.grad = keep(tidy(() => (p.grad as Tensor).mul(coef)));
    } finally {
      coef.dispose();
    }
    return total;
  });
}

/**
 * Clamps every gradient to `[-clipValue, clipValue]` in place (torch.nn.utils.clip_grad_value_).
 */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (!(clipValue >= 0)) throw new GhostFlowError(`clipGradValue: clipValue must be non-negative, got ${clipValue}`);
  noGrad(() => {
    for (const p of gradsOf(params)) {
      const g = p.grad as Tensor;
      p.grad = keep(tidy(() => g.clamp(-clipValue, clipValue)));
    }
  });
}
