/**
 * The picked log-probabilities of a classification loss, `logSoftmax(x, 1).gather(1, index)`,
 * as one graph node. Cross-entropy over many classes needs only one log-probability per row,
 * and its gradient `g * (onehot(index) - softmax(x))` only the row's softmax: a backend's
 * fused kernels compute both without writing the `[N, C]` log-probabilities; without them
 * core composes the same ops the loss used before.
 */
import { needsGrad, recordOp } from '../autograd/record.js';
import { withGradMode } from '../autograd/grad-mode.js';
import { DTypeError, IndexError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { mul } from './binary.js';
import { gather, scatterAdd } from './indexing.js';
import { logSoftmax, softmax } from './softmax.js';
import { neg } from './unary.js';

function check(x: Tensor, index: Tensor): void {
  backendOf(x, index);
  if (x.dtype !== 'float32') throw new DTypeError(`logSoftmaxGather: expected float32 logits, got ${x.dtype}; cast with .float() first`);
  if (index.dtype !== 'int32') throw new DTypeError(`logSoftmaxGather: expected an int32 index, got ${index.dtype}`);
  if (x.rank < 2) throw new ShapeError(`logSoftmaxGather: expected logits [N, C, ...] (classes on dim 1), got ${formatShape(x.shape)}`);
  const want = [x.shape[0], 1, ...x.shape.slice(2)];
  if (index.rank !== x.rank || index.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      `logSoftmaxGather: index must be ${formatShape(want)} for logits ${formatShape(x.shape)}, got ${formatShape(index.shape)}`,
    );
  }
}

/**
 * PyTorch's "Target 7 is out of bounds." before any kernel reads the index: only where the
 * backend reads synchronously (elsewhere a read would stall its queue, and the composed
 * gather records the fault instead).
 */
function checkRange(index: Tensor, classes: number): boolean {
  if (!index.backend.readSync) return false;
  const values = index.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v >= classes) {
      throw new IndexError(`logSoftmaxGather: index ${v} is out of bounds for ${classes} classes (dim 1), at flat index ${i}`);
    }
  }
  return true;
}

/**
 * `logSoftmax(x, 1).gather(1, index)`: for logits `x` `[N, C, d1, ...]` (classes on dim 1,
 * float32) and class indices `index` `[N, 1, d1, ...]` (int32), the log-probability of each
 * row's class, shape `[N, 1, d1, ...]`. One node, gradient `g * (onehot(index) - softmax(x, 1))`.
 * On `[N, C]` logits a backend's fused `logSoftmaxGather` / `logSoftmaxGatherBackward`
 * kernels compute it without the `[N, C]` log-probabilities (the backward writes the
 * gradient in one pass); otherwise, and for more dims, the ops are composed. Under
 * `createGraph` the gradient is built from recorded ops (twice differentiable).
 * @param x the logits (float32, classes on dim 1)
 * @param index the class of each row (int32, `x`'s shape with 1 on dim 1), in `[0, C)`
 *
 * @example
 * ```ts
 * import { logSoftmaxGather, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const logits = tensor([
 *   [2, 0.5, -1],
 *   [0, 0, 3],
 * ]).requiresGrad_();
 * const target = tensor([[0], [2]], { dtype: 'int32' });
 * const loss = logSoftmaxGather(logits, target).mean().neg(); // cross-entropy
 * loss.backward();
 * console.log(loss.itemSync(), logits.grad?.shape); // 0.1681..., [2, 3]
 * ```
 */
export function logSoftmaxGather(x: Tensor, index: Tensor): Tensor {
  check(x, index);
  const classes = x.shape[1];
  const checked = checkRange(index, classes);
  const backend = x.backend;
  // The fused kernels take [N, C] with indices core has checked (they cannot raise a fault).
  const fused = checked && x.rank === 2 && x.size > 0 ? fusedKernel(backend, 'logSoftmaxGather') : undefined;
  let picked: Tensor;
  let stats: Tensor | null = null;
  if (fused) {
    const [pickedId, statsId] = fused(x.kernelInput(), index.kernelInput());
    picked = fromDataId(backend, pickedId, index.shape, 'float32');
    stats = fromDataId(backend, statsId, [x.shape[0], 2], 'float32');
  } else {
    picked = withGradMode(false, () => tidy(() => gather(logSoftmax(x, 1), 1, index)));
  }
  recordOp({
    name: 'logSoftmaxGather',
    inputs: [x],
    outputs: [picked],
    save: stats ? [x, index, stats] : [x, index],
    backward: ([g], [xs, i, st]) => {
      const fusedBackward = fusedKernel(backend, 'logSoftmaxGatherBackward');
      if (st && fusedBackward && !needsGrad([g, xs])) {
        return [
          fromDataId(backend, fusedBackward(xs.kernelInput(), st.kernelInput(), i.kernelInput(), g.kernelInput()), xs.shape, 'float32'),
        ];
      }
      // logSoftmax's rule `g' - softmax * sum(g')` for the `g'` gather's rule would build
      // (`g` at the index, zero elsewhere), written without building `g'`. From the saved
      // logits, so that under createGraph the softmax is itself recorded.
      return [scatterAdd(mul(softmax(xs, 1), neg(g)), 1, i, g)];
    },
  });
  stats?.dispose();
  return picked;
}
