/**
 * Cumulative sums (`torch.cumsum`, on the `cumsum` kernel, with a flip-based gradient),
 * products (`torch.cumprod`) and log-sum-exps (`torch.logcumsumexp`), the latter two as
 * doubling scans of core ops.
 */
import { recordOp } from '../autograd/record.js';
import { normalizeDim } from '../shape.js';
import { backendOf, fromDataId, uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { indexSelect } from './indexing.js';
import { DTypeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { add, maximum, mul, ne, sub } from './binary.js';
import { full } from './creation.js';
import { cat } from './join.js';
import { where } from './select.js';
import { abs, cast as castTo, exp, log1p, neg } from './unary.js';
import { clone, narrow, reshape } from './view.js';

/** `x` reversed along `d` (an index select with a reversed range; differentiable). */
function flip(x: Tensor, d: number): Tensor {
  const n = x.shape[d];
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = n - 1 - i;
  const index = uploadTensor(x.backend, idx, [n], 'int32');
  const out = indexSelect(x, d, index);
  index.dispose();
  return out;
}

/**
 * Inclusive cumulative sum along `dim` (`torch.cumsum`): `out[i] = x[0] + ... + x[i]`.
 * float32 stays float32; int32 and bool inputs give int32 (PyTorch gives int64, which
 * GhostFlow does not have). A 0-d input is returned as a copy (dim 0 or -1).
 * Gradient: the reversed cumulative sum of the output gradient.
 * @param x the input
 * @param dim the dim to accumulate along (may be negative)
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  const backend = backendOf(x);
  const d = normalizeDim(dim, x.rank);
  if (x.rank === 0) {
    // The kernel works on rank >= 1: run on a [1] view and reshape back.
    const flat = reshape(x, [1]);
    const r = cumsum(flat, 0);
    const out = reshape(r, []);
    flat.dispose();
    r.dispose();
    return out;
  }
  const dtype = x.dtype === 'float32' ? 'float32' : 'int32';
  // bool has no sum kernel of its own: convert to int32 first (never differentiable).
  const src = x.dtype === 'bool' ? fromDataId(backend, backend.kernels.cast(x.kernelInput(), { dtype: 'int32' }), x.shape, 'int32') : x;
  const dataId =
    x.size === 0 ? backend.kernels.fill({ shape: x.shape, dtype, value: 0 }) : backend.kernels.cumsum(src.kernelInput(), { axis: d });
  if (src !== x) src.dispose();
  const out = fromDataId(backend, dataId, x.shape, dtype);
  recordOp({
    name: 'cumsum',
    inputs: [x],
    outputs: [out],
    backward: ([g]) => {
      // d(out_j)/d(x_i) = 1 for j >= i, so grad_i = sum_{j >= i} g_j: a cumsum from the end.
      const rev = flip(g, d);
      const acc = cumsum(rev, d);
      return [flip(acc, d)];
    },
  });
  return out;
}

/**
 * An inclusive scan along `d` by doubling (Hillis–Steele): after the step with offset s,
 * element i combines elements i-2s+1 .. i. ceil(log2 n) steps of `combine` on shifted
 * copies, each O(n), all differentiable core ops (so the gradient is exact, zeros
 * included, and differentiable again).
 */
function scan(x: Tensor, d: number, identity: number, combine: (acc: Tensor, shifted: Tensor) => Tensor): Tensor {
  return tidy(() => {
    const n = x.shape[d];
    if (n <= 1) return clone(x);
    let acc: Tensor = x;
    for (let s = 1; s < n; s *= 2) {
      const padShape = x.shape.map((v, i) => (i === d ? s : v));
      const shifted = cat([full(padShape, identity, { dtype: acc.dtype, device: x.device }), narrow(acc, d, 0, n - s)], d);
      acc = combine(acc, shifted);
    }
    return acc;
  });
}

/** Runs `fn` on the `[1]` view of a 0-d tensor (dim 0) and reshapes the result back. */
function scan0d(x: Tensor, dim: number, fn: (t: Tensor, d: number) => Tensor): Tensor {
  if (x.rank > 0) return fn(x, normalizeDim(dim, x.rank));
  normalizeDim(dim, 0);
  return tidy(() => reshape(fn(reshape(x, [1]), 0), []));
}

/**
 * Cumulative product along `dim` (`torch.cumprod`): `out[i] = x[0] * ... * x[i]`. float32
 * stays float32, int32 and bool give int32. Computed as a doubling scan of products (no
 * division), so the gradient is exact with zeros in the input, like PyTorch's.
 * @param x the input
 * @param dim the dim to accumulate along (may be negative)
 */
export function cumprod(x: Tensor, dim: number): Tensor {
  x.assertAlive();
  return scan0d(x, dim, (t, d) => {
    const src = t.dtype === 'bool' ? castTo(t, 'int32') : t;
    const out = scan(src, d, 1, (acc, shifted) => mul(acc, shifted));
    if (src !== t) src.dispose();
    return out;
  });
}

/**
 * `log(cumsum(exp(x)))` along `dim` (`torch.logcumsumexp`), computed stably as a doubling
 * scan of `logaddexp(a, b) = max + log1p(exp(-|a - b|))`: no overflow for large values and
 * no underflow to -inf for very negative ones. float32 only. Differentiable.
 * @param x float32 input
 * @param dim the dim to accumulate along (may be negative)
 */
export function logcumsumexp(x: Tensor, dim: number): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') throw new DTypeError(`logcumsumexp(): expected a float32 input, got dtype ${x.dtype}`);
  return scan0d(x, dim, (t, d) => scan(t, d, Number.NEGATIVE_INFINITY, logAddExp));
}

/** `log(exp(a) + exp(b))` without overflow; equal infinities (where a - b is NaN) give max. */
function logAddExp(a: Tensor, b: Tensor): Tensor {
  const m = maximum(a, b);
  const diff = abs(sub(a, b));
  // a - b is NaN for equal infinities (and NaN inputs): log1p(exp(-inf)) = 0 leaves m.
  const safe = where(ne(diff, diff), Number.POSITIVE_INFINITY, diff);
  return add(m, log1p(exp(neg(safe))));
}
