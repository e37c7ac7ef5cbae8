/**
 * The Adam/AdamW parameter update as one op. A backend with the optional fused kernel
 * `adamUpdate` runs the whole step in one pass over the parameter (PyTorch's fused Adam);
 * otherwise core composes it from primitives (about fifteen elementwise kernels) and writes
 * the results back with in-place copies. Both give the same float32 values: the kernel's
 * contract spells out the composition below, operation by operation.
 */
import type { AdamUpdateAttrs } from '../backend/kernels.js';
import { noGrad } from '../autograd/grad-mode.js';
import { DTypeError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape, isContiguous, shapesEqual } from '../shape.js';
import { backendOf, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, div, maximum, mul } from './binary.js';
import { copy_ } from './inplace.js';
import { neg, sqrt } from './unary.js';

/** Hyper-parameters of {@link adamUpdate_}. */
export interface AdamUpdateOptions {
  /** Learning rate. */
  lr: number;
  /** Decay of the first moment average (torch's `betas[0]`). */
  beta1: number;
  /** Decay of the second moment average (torch's `betas[1]`). */
  beta2: number;
  /** Added to the denominator. */
  eps: number;
  /** Adam: L2 penalty added to the gradient; AdamW (`decoupled`): decay of the parameter. Default 0. */
  weightDecay?: number;
  /** AdamW's decoupled weight decay (default false: Adam's L2 penalty). */
  decoupled?: boolean;
  /** The step number (1 on the first step), for the bias corrections. */
  step: number;
  /** Ascend instead of descend (default false). */
  maximize?: boolean;
}

function checkTarget(what: string, t: Tensor, param: Tensor): void {
  t.assertAlive();
  if (t.dtype !== 'float32') throw new DTypeError(`adamUpdate_: expected ${what} to be float32, got ${t.dtype}`);
  if (!shapesEqual(t.shape, param.shape)) {
    throw new ShapeError(
      `adamUpdate_: expected ${what} of shape ${formatShape(param.shape)} (the parameter's), got ${formatShape(t.shape)}`,
    );
  }
}

/**
 * One Adam (or AdamW, `decoupled`) step, in place, with torch 1.13's semantics: updates
 * `expAvg`, `expAvgSq`, `maxExpAvgSq` (AMSGrad, or null) and then `param` from `grad`. Runs
 * without recording gradients (as `torch.optim` steps do). Uses the backend's fused
 * `adamUpdate` kernel when it has one and every target is a contiguous tensor with its own
 * buffer; otherwise composes the same arithmetic from primitives.
 * @param param the parameter (float32), updated in place
 * @param grad its gradient (same shape)
 * @param expAvg first moment average (same shape), updated in place
 * @param expAvgSq second moment average (same shape), updated in place
 * @param maxExpAvgSq running maximum of `expAvgSq` for AMSGrad (same shape), or null
 * @param options lr, betas, eps, weight decay, step number...
 * @example
 * ```ts
 * import { adamUpdate_, randn, zerosLike } from '@ghostflow/core';
 * const w = randn([4, 3], { requiresGrad: true });
 * w.square().sum().backward();
 * const m = zerosLike(w), v = zerosLike(w);
 * adamUpdate_(w, w.grad!, m, v, null, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 });
 * ```
 */
export function adamUpdate_(
  param: Tensor,
  grad: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  maxExpAvgSq: Tensor | null,
  options: AdamUpdateOptions,
): void {
  const targets = maxExpAvgSq ? [param, expAvg, expAvgSq, maxExpAvgSq] : [param, expAvg, expAvgSq];
  checkTarget('param', param, param);
  checkTarget('grad', grad, param);
  checkTarget('expAvg', expAvg, param);
  checkTarget('expAvgSq', expAvgSq, param);
  if (maxExpAvgSq) checkTarget('maxExpAvgSq', maxExpAvgSq, param);
  const backend = backendOf(param, grad, ...targets.slice(1));
  const attrs: AdamUpdateAttrs = {
    lr: options.lr,
    beta1: options.beta1,
    beta2: options.beta2,
    eps: options.eps,
    weightDecay: options.weightDecay ?? 0,
    decoupled: options.decoupled ?? false,
    step: options.step,
    maximize: options.maximize ?? false,
  };
  const fused = fusedKernel(backend, 'adamUpdate');
  const storages = new Set(targets.map((t) => t.storage));
  const fits =
    param.size > 0 &&
    storages.size === targets.length &&
    !storages.has(grad.storage) &&
    targets.every((t) => isContiguous(t.shape, t.strides));
  if (fused && fits) {
    fused(
      param.kernelInput(),
      grad.kernelInput(),
      expAvg.kernelInput(),
      expAvgSq.kernelInput(),
      maxExpAvgSq ? maxExpAvgSq.kernelInput() : null,
      attrs,
    );
    for (const t of targets) t.storage.version++;
    return;
  }
  noGrad(() => tidy(() => composed(param, grad, expAvg, expAvgSq, maxExpAvgSq, attrs)));
}

/** The update from primitives, in the order the fused kernel's contract states. */
function composed(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, maxExpAvgSq: Tensor | null, a: AdamUpdateAttrs): void {
  const { beta1, beta2, step } = a;
  let g = a.maximize ? neg(grad) : grad;
  let p = param;
  if (a.weightDecay !== 0) {
    if (a.decoupled) p = mul(param, 1 - a.lr * a.weightDecay);
    else g = add(g, mul(param, a.weightDecay));
  }
  const m = add(mul(expAvg, beta1), mul(g, 1 - beta1));
  const v = add(mul(expAvgSq, beta2), mul(mul(g, g), 1 - beta2));
  const second = maxExpAvgSq ? maximum(maxExpAvgSq, v) : v;
  const denom = add(div(sqrt(second), Math.sqrt(1 - beta2 ** step)), a.eps);
  const next = add(p, mul(div(m, denom), -(a.lr / (1 - beta1 ** step))));
  copy_(expAvg, m);
  copy_(expAvgSq, v);
  if (maxExpAvgSq) copy_(maxExpAvgSq, second);
  copy_(param, next);
}
