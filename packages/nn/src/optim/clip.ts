/** Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). */
import { type Tensor, GhostFlowError, cat, div, keep, noGrad, scalar, stack, tidy } from '@ghostflow/core';

function gradsOf(params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = isTensorLike(params) ? [params] : [...params];
  return list.filter((p) => p.grad !== null);
}

function isTensorLike(v: Iterable<Tensor> | Tensor): v is Tensor {
  return typeof (v as Tensor).dispose === 'function' && 'shape' in (v as object) && !(Symbol.iterator in (v as object));
}

/**
 * Gradients below this many elements are concatenated (flattened) and reduced together: one
 * kernel for all of them instead of one per parameter (an RNN has many small ones), while a
 * large gradient is reduced where it is (concatenating it would copy it).
 */
const JOINT_NORM_MAX = 1 << 16;

/**
 * `sum |x|^p` over all of `x` (`max |x|` for p = Infinity): the part of the p-norm that adds
 * up over any split of the elements, so the gradients' joint norm is one `root` of the sum
 * of these pieces.
 */
function normPiece(x: Tensor, normType: number): Tensor {
  if (normType === Number.POSITIVE_INFINITY) return x.abs().amax();
  if (normType === 2) return x.square().sum();
  if (normType === 1) return x.abs().sum();
  return x.abs().pow(normType).sum();
}

/**
 * `||(g_1, ..., g_k)||_p` for the gradients `grads`, which is PyTorch's norm of the
 * per-gradient norms (`(sum_i ||g_i||_p^p)^(1/p)`, the max for p = Infinity) computed from
 * the pieces of {@link normPiece} without taking and re-raising a root per gradient.
 */
function totalNorm(grads: readonly Tensor[], normType: number): Tensor {
  const small = grads.filter((g) => g.size < JOINT_NORM_MAX);
  const pieces = grads.filter((g) => g.size >= JOINT_NORM_MAX).map((g) => normPiece(g, normType));
  if (small.length > 0) pieces.push(normPiece(small.length === 1 ? small[0] : cat(small.map((g) => g.reshape([-1]))), normType));
  if (normType === Number.POSITIVE_INFINITY) return pieces.length === 1 ? pieces[0] : stack(pieces).amax();
  const sum = pieces.length === 1 ? pieces[0] : stack(pieces).sum();
  if (normType === 2) return sum.sqrt();
  if (normType === 1) return sum;
  return sum.pow(1 / normType);
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
    const total = tidy(() =>
      totalNorm(
        withGrad.map((p) => p.grad as Tensor),
        normType,
      ),
    );
    // One coefficient for every gradient (computed once, not once per parameter), rounded
    // as PyTorch's `max_norm / (total_norm + 1e-6)`.
    const coef = tidy(() => div(maxNorm, total.add(1e-6)).clamp(null, 1));
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
