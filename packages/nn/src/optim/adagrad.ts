/** Adagrad. */
import { type Tensor, GhostFlowError, fullLike } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link Adagrad}. */
export interface AdagradOptions extends BaseGroupOptions {
  /** Learning-rate decay: step t uses `lr / (1 + (t - 1) lrDecay)` (default 0). */
  lrDecay: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Starting value of the squared-gradient sum (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator (default 1e-10). */
  eps: number;
  /** Maximise instead of minimise (default false). */
  maximize: boolean;
}

/**
 * torch.optim.Adagrad (torch 1.13's `_single_tensor_adagrad`): `g = grad + weightDecay p`,
 * `clr = lr / (1 + (t - 1) lrDecay)`, `sum = sum + g²`, `p = p - clr g / (sqrt(sum) + eps)`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Adagrad, Linear } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new Adagrad(model.parameters(), { lr: 0.1 });
 * ```
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (1e-2), `lrDecay` (0), `weightDecay` (0), `initialAccumulatorValue` (0), `eps` (1e-10), `maximize`
   */
  constructor(params: ParamsInput<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    const d: AdagradOptions = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, ...options };
    if (!(d.lr >= 0)) throw new GhostFlowError(`Adagrad: invalid learning rate ${d.lr}`);
    if (!(d.lrDecay >= 0)) throw new GhostFlowError(`Adagrad: invalid lrDecay ${d.lrDecay}`);
    if (!(d.weightDecay >= 0)) throw new GhostFlowError(`Adagrad: invalid weightDecay ${d.weightDecay}`);
    if (!(d.initialAccumulatorValue >= 0))
      throw new GhostFlowError(`Adagrad: invalid initialAccumulatorValue ${d.initialAccumulatorValue}`);
    if (!(d.eps >= 0)) throw new GhostFlowError(`Adagrad: invalid eps ${d.eps}`);
    super(params, d);
  }

  /** One Adagrad update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<AdagradOptions>, state: ParamState): void {
    let g = group.maximize ? grad.neg() : grad;
    if (group.weightDecay !== 0) g = g.add(param.mul(group.weightDecay));
    const clr = group.lr / (1 + (state.step - 1) * group.lrDecay);
    const sum0 = state.get('sum') ?? fullLike(param, group.initialAccumulatorValue);
    const sum = state.set('sum', sum0.add(g.mul(g)));
    param.copy_(param.add(g.div(sum.sqrt().add(group.eps)).mul(-clr)));
  }
}
