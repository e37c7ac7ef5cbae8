/**
 * Softmax and log-softmax along one dim. A backend's fused kernel is used when it has one;
 * otherwise the ops are composed from primitives (max shift, exp, sum, div). Either way the
 * op is recorded as one node whose gradient rule is written here, once, with core ops.
 */
import { withGradMode } from '../autograd/grad-mode.js';
import { recordOp } from '../autograd/record.js';
import { DTypeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { normalizeDim, reducedShape } from '../shape.js';
import { fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, mul, sub } from './binary.js';
import { sum } from './reduce.js';
import { exp, log } from './unary.js';
import { reshape } from './view.js';

type Kind = 'softmax' | 'logSoftmax';

/**
 * The max along `axis` with the dim kept, as a constant (not recorded). Straight from the
 * kernel: it gives -inf for an empty dim where `amax` would throw.
 */
function rowMax(x: Tensor, axis: number): Tensor {
  const backend = x.backend;
  const dataId = backend.kernels.reduce(x.kernelInput(), { op: 'max', axes: [axis] });
  return fromDataId(backend, dataId, reducedShape(x.shape, [axis], true), x.dtype);
}

/**
 * The composed forward. Shifting by the max keeps exp from overflowing; like PyTorch, a
 * slice that is all -inf gives NaN (softmax) since nothing in it is finite.
 */
function composed(kind: Kind, x: Tensor, axis: number): Tensor {
  return withGradMode(false, () =>
    tidy(() => {
      const shifted = sub(x, rowMax(x, axis));
      if (kind === 'softmax') {
        const e = exp(shifted);
        return div(e, sum(e, axis, true));
      }
      return sub(shifted, log(sum(exp(shifted), axis, true)));
    }),
  );
}

function run(kind: Kind, x: Tensor, dim: number): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') {
    throw new DTypeError(`${kind}(): expected a float32 input, got ${x.dtype}; cast with .float() first`);
  }
  // A 0-d tensor is a single-element row (PyTorch accepts dim 0 / -1 for it).
  if (x.rank === 0) {
    normalizeDim(dim, 0);
    return tidy(() => reshape(run(kind, reshape(x, [1]), 0), []));
  }
  const axis = normalizeDim(dim, x.rank);
  const backend = x.backend;
  const fused = fusedKernel(backend, kind);
  const out = fused ? fromDataId(backend, fused(x.kernelInput(), { axis }), x.shape, 'float32') : composed(kind, x, axis);
  recordOp({
    name: kind,
    inputs: [x],
    outputs: [out],
    save: [out],
    backward: ([g], [y]) =>
      kind === 'softmax'
        ? // dx = y * (g - sum(g * y)): the Jacobian diag(y) - y y^T applied to g.
          [mul(y, sub(g, sum(mul(g, y), axis, true)))]
        : // dx = g - softmax * sum(g), with softmax = exp(log-softmax output).
          [sub(g, mul(exp(y), sum(g, axis, true)))],
  });
  return out;
}

/**
 * `exp(x) / sum(exp(x))` along `dim` (`torch.softmax`), float32. Uses the backend's fused
 * `softmax` kernel when present. Gradient: `y * (g - sum(g * y, dim))`.
 * @param x the input (float32)
 * @param dim the dim normalised over (may be negative)
 *
 * @example
 * ```ts
 * import { softmax, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const logits = tensor([[1, 2, 3]]);
 * const p = softmax(logits, -1); // each row sums to 1
 * console.log(p.sum(-1).itemSync()); // 1
 * ```
 */
export function softmax(x: Tensor, dim: number): Tensor {
  return run('softmax', x, dim);
}

/**
 * `log(softmax(x))` along `dim`, computed stably as `x - max - log(sum(exp(x - max)))`
 * (`torch.log_softmax`). Uses the backend's fused `logSoftmax` kernel when present.
 * Gradient: `g - exp(y) * sum(g, dim)`.
 * @param x the input (float32)
 * @param dim the dim normalised over (may be negative)
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return run('logSoftmax', x, dim);
}
