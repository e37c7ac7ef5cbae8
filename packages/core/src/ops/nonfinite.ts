/**
 * Tests for and replacement of non-finite values (`torch.isnan`, `isinf`, `isfinite`,
 * `nan_to_num`), composed from comparisons and `where`.
 */
import { DTypeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { eq, logicalOr, ne } from './binary.js';
import { fullLike } from './creation.js';
import { where } from './select.js';
import { abs, logicalNot } from './unary.js';
import { clone } from './view.js';

/** The largest finite float32, PyTorch's default replacement for +inf. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Where `x` is NaN (`torch.isnan`), as bool. Integer and bool tensors have no NaN.
 * @param x the input
 */
export function isnan(x: Tensor): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') return fullLike(x, false, { dtype: 'bool' });
  return ne(x, x);
}

/**
 * Where `x` is +inf or -inf (`torch.isinf`), as bool.
 * @param x the input
 */
export function isinf(x: Tensor): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') return fullLike(x, false, { dtype: 'bool' });
  return tidy(() => eq(abs(x), Number.POSITIVE_INFINITY));
}

/**
 * Where `x` is neither NaN nor infinite (`torch.isfinite`), as bool.
 * @param x the input
 */
export function isfinite(x: Tensor): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') return fullLike(x, true, { dtype: 'bool' });
  return tidy(() => logicalNot(logicalOr(ne(x, x), eq(abs(x), Number.POSITIVE_INFINITY))));
}

/** Replacement values of {@link nanToNum}. */
export interface NanToNumOptions {
  /** Replaces NaN (default 0). */
  nan?: number;
  /** Replaces +inf (default the largest finite float32). */
  posinf?: number;
  /** Replaces -inf (default the lowest finite float32). */
  neginf?: number;
}

/**
 * `x` with NaN, +inf and -inf replaced (`torch.nan_to_num`). Integer and bool inputs are
 * returned as copies. Differentiable: the gradient passes where `x` is finite and is 0
 * at replaced elements, as in PyTorch.
 * @param x the input
 * @param options `nan` (0), `posinf` (float32 max), `neginf` (float32 lowest)
 */
export function nanToNum(x: Tensor, options: NanToNumOptions = {}): Tensor {
  x.assertAlive();
  if (x.dtype === 'bool' || x.dtype === 'int32') return clone(x);
  if (x.dtype !== 'float32') throw new DTypeError(`nanToNum(): unsupported dtype ${x.dtype}`);
  const nan = options.nan ?? 0;
  const posinf = options.posinf ?? FLOAT32_MAX;
  const neginf = options.neginf ?? -FLOAT32_MAX;
  return tidy(() => {
    const a = where(ne(x, x), nan, x);
    const b = where(eq(x, Number.POSITIVE_INFINITY), posinf, a);
    return where(eq(x, Number.NEGATIVE_INFINITY), neginf, b);
  });
}
