/** Choosing between values elementwise: where, clamp, maskedFill. */
import { withGradMode } from '../autograd/grad-mode.js';
import { DTypeError, GhostFlowError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ge, gt, le, logicalAnd, logicalOr, lt, maximum, minimum } from './binary.js';
import { type TensorLike, isTensor, recordElementwise, resultType, runElementwise } from './elementwise.js';

function requireBoolMask(name: string, what: string, t: Tensor): void {
  if (t.dtype !== 'bool') {
    throw new DTypeError(`${name} expects ${what} of dtype bool, got ${t.dtype}; compare (e.g. x.gt(0)) or cast with .bool() first`);
  }
}

/**
 * `cond ? a : b` elementwise, broadcasting all three. `cond` must be bool; `a` and `b`
 * (tensors or scalars) are promoted to a common dtype. Gradients flow to `a` where `cond`
 * holds and to `b` elsewhere.
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!isTensor(cond)) throw new DTypeError(`where expects the condition to be a bool tensor, got ${typeof cond}`);
  requireBoolMask('where', 'the condition', cond);
  const dtype = resultType([a, b]);
  const out = runElementwise([cond, a, b], ['bool', dtype, dtype], dtype, (backend, [c, x, y]) => backend.kernels.where(c, x, y));
  recordElementwise('where', [cond, a, b], out, { inputs: true }, (g, [c], _out, needs) => {
    const mask = c as Tensor;
    return [null, needs[1] ? where(mask, g, 0) : null, needs[2] ? where(mask, 0, g) : null];
  });
  return out;
}

/**
 * Limits values to `[min, max]`; either bound may be omitted (null/undefined), and each may
 * be a number or a tensor (broadcasting). The result dtype is promoted over all operands
 * (an int32 tensor clamped by 0.5 becomes float32). NaN propagates; when `min > max` every
 * element becomes `max`, like PyTorch. Gradient (PyTorch's clamp_backward): to `x` where
 * `min <= x <= max`; to a tensor bound where it was the one chosen.
 */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  const hasMin = min !== undefined && min !== null;
  const hasMax = max !== undefined && max !== null;
  if (!hasMin && !hasMax) throw new GhostFlowError("clamp: at least one of 'min' or 'max' must be given");
  x.assertAlive();
  const operands: TensorLike[] = [x];
  if (hasMin) operands.push(min);
  if (hasMax) operands.push(max);
  // Computed without recording (maximum/minimum would record their tie-splitting rule),
  // then recorded as one op with clamp's own rule.
  const out = withGradMode(false, () =>
    tidy(() => {
      const low = hasMin ? maximum(x, min) : x;
      return hasMax ? minimum(low, max) : low;
    }),
  );
  recordElementwise('clamp', operands, out, { inputs: true }, (g, saved, _out, needs) => {
    const xs = saved[0] as Tensor;
    const lo = hasMin ? (saved[1] as TensorLike) : null;
    const hi = hasMax ? (saved[hasMin ? 2 : 1] as TensorLike) : null;
    const grads: (Tensor | null)[] = [];
    if (lo !== null && hi !== null) {
      grads.push(needs[0] ? where(logicalAnd(ge(xs, lo), le(xs, hi)), g, 0) : null);
      grads.push(needs[1] ? where(logicalAnd(lt(xs, lo), lt(lo, hi)), g, 0) : null);
      // When min > max the output is max everywhere, so max gets the whole gradient there.
      grads.push(needs[2] ? where(logicalOr(gt(xs, hi), lt(hi, lo)), g, 0) : null);
    } else if (lo !== null) {
      grads.push(needs[0] ? where(ge(xs, lo), g, 0) : null, needs[1] ? where(lt(xs, lo), g, 0) : null);
    } else if (hi !== null) {
      grads.push(needs[0] ? where(le(xs, hi), g, 0) : null, needs[1] ? where(gt(xs, hi), g, 0) : null);
    }
    return grads;
  });
  return out;
}

/**
 * `value` where `mask` is true, else `x` (PyTorch's out-of-place `masked_fill`). `mask` is
 * bool and broadcasts with `x`; `value` is a number or a 0-d tensor, converted to `x`'s
 * dtype (a fractional value into int32 truncates, as in PyTorch). Gradient: to `x` where
 * not masked, to a tensor `value` the sum over masked positions.
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number | Tensor): Tensor {
  x.assertAlive();
  if (!isTensor(mask)) throw new DTypeError(`maskedFill expects the mask to be a bool tensor, got ${typeof mask}`);
  requireBoolMask('maskedFill', 'the mask', mask);
  if (isTensor(value) && value.rank !== 0) {
    throw new ShapeError(
      `maskedFill only supports a 0-d value tensor, got one of shape [${value.shape.join(', ')}]; use where(mask, value, x) to broadcast a tensor`,
    );
  }
  const out = runElementwise([mask, value, x], ['bool', x.dtype, x.dtype], x.dtype, (backend, [m, v, y]) => backend.kernels.where(m, v, y));
  recordElementwise('maskedFill', [mask, value, x], out, { inputs: true }, (g, [m], _out, needs) => {
    const maskT = m as Tensor;
    return [null, needs[1] ? where(maskT, g, 0) : null, needs[2] ? where(maskT, 0, g) : null];
  });
  return out;
}
