/**
 * Vector norms (`torch.norm` / `torch.linalg.vector_norm` for vectors and flattened
 * tensors), with PyTorch's gradient, including its subgradients where the norm or an
 * element is 0 (written with core ops, so it is differentiable again).
 */
import { recordOp } from '../autograd/record.js';
import { withGradMode } from '../autograd/grad-mode.js';
import { DTypeError, GhostFlowError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { normalizeDims } from '../shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, eq, mul, ne, pow } from './binary.js';
import { zerosLike } from './creation.js';
import { type Dims, amax, amin, sum } from './reduce.js';
import { where } from './select.js';
import { abs, cast, sign, sqrt } from './unary.js';
import { expand, reshape } from './view.js';

/** The order of a norm: `'fro'` (= 2 over the given dims), a number, or ±Infinity. */
export type NormOrder = 'fro' | number;

/**
 * The p-norm of `x` over `dim` (`torch.norm(x, p, dim, keepdim)`, vector semantics as in
 * `torch.linalg.vector_norm`): `(sum |x|^p)^(1/p)`; `Infinity` is `max |x|`, `-Infinity`
 * `min |x|`, `0` the count of non-zeros; `'fro'` is the 2-norm over the given dims (all by
 * default). Gradient as PyTorch: 0 where the norm is 0 (p >= 1), spread evenly over the
 * ties of max/min |x| for ±inf, 0 at zero elements for p < 1, none for p = 0.
 * @param x float32 input
 * @param p the order (default 'fro')
 * @param dim dims to reduce (all by default)
 * @param keepdim keep reduced dims as size 1
 */
export function norm(x: Tensor, p: NormOrder = 'fro', dim?: Dims, keepdim = false): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') throw new DTypeError(`norm(): expected a float32 input, got dtype ${x.dtype}`);
  if (p !== 'fro' && (typeof p !== 'number' || Number.isNaN(p))) {
    throw new GhostFlowError(`norm(): p must be 'fro' or a number, got ${String(p)}`);
  }
  const order = p === 'fro' ? 2 : p;
  const axes = normalizeDims(dim, x.rank);
  const keptShape = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  const out = withGradMode(false, () =>
    tidy(() => {
      // |x| only where it is used: the 2-norm (gradient clipping's) needs no extra pass.
      if (order === 0) return sum(cast(ne(x, 0), 'float32'), axes, keepdim);
      if (order === 2) return sqrt(sum(mul(x, x), axes, keepdim));
      const a = abs(x);
      if (order === Number.POSITIVE_INFINITY) return amax(a, axes, keepdim);
      if (order === Number.NEGATIVE_INFINITY) return amin(a, axes, keepdim);
      if (order === 1) return sum(a, axes, keepdim);
      return pow(sum(pow(a, order), axes, keepdim), 1 / order);
    }),
  );
  recordOp({
    name: 'norm',
    inputs: [x],
    outputs: [out],
    save: [x, out],
    backward: ([g], [xs, n]) => {
      if (order === 0) return [zerosLike(xs)];
      const gk = keepdim ? g : reshape(g, keptShape);
      const nk = keepdim ? n : reshape(n, keptShape);
      if (order === Number.POSITIVE_INFINITY || order === Number.NEGATIVE_INFINITY) {
        const mask = cast(eq(abs(xs), nk), 'float32');
        const count = sum(mask, axes, true);
        return [mul(mul(sign(xs), mask), div(gk, count))];
      }
      if (order === 1) return [mul(sign(xs), gk)];
      if (order < 1) {
        const scaled = where(eq(xs, 0), 0, mul(sign(xs), pow(abs(xs), order - 1)));
        return [mul(scaled, mul(gk, pow(nk, 1 - order)))];
      }
      const scale = where(eq(nk, 0), 0, div(gk, order === 2 ? nk : pow(nk, order - 1)));
      const scaled = order === 2 ? xs : order < 2 ? mul(sign(xs), pow(abs(xs), order - 1)) : mul(xs, pow(abs(xs), order - 2));
      return [mul(scaled, expand(scale, xs.shape))];
    },
  });
  return out;
}
