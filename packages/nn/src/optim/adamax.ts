/** Adamax. */
import { type Tensor, GhostFlowError, zerosLike } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link Adamax}. */
export interface AdamaxOptions extends BaseGroupOptions {
  /** Decay rates of the first moment and of the infinity norm (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to |g| in the infinity norm (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Maximise instead of minimise (default false). */
  maximize: boolean;
}

/**
 * torch.optim.Adamax (Adam with the infinity norm; torch 1.13's `_single_tensor_adamax`):
 * `m = b1 m + (1 - b1) g`, `u = max(b2 u, |g| + eps)`, `p = p - lr / (1 - b1^t) m / u`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Adamax, Linear } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new Adamax(model.parameters(), { lr: 2e-3 });
 * ```
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (2e-3), `betas` ([0.9, 0.999]), `eps` (1e-8), `weightDecay` (0), `maximize`
   */
  constructor(params: ParamsInput<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    const d: AdamaxOptions = { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, ...options };
    if (!(d.lr >= 0)) throw new GhostFlowError(`Adamax: invalid learning rate ${d.lr}`);
    if (!(d.eps >= 0)) throw new GhostFlowError(`Adamax: invalid eps ${d.eps}`);
    if (!(d.betas[0] >= 0 && d.betas[0] < 1) || !(d.betas[1] >= 0 && d.betas[1] < 1))
      throw new GhostFlowError(`Adamax: invalid betas [${d.betas.join(', ')}]`);
    if (!(d.weightDecay >= 0)) throw new GhostFlowError(`Adamax: invalid weightDecay ${d.weightDecay}`);
    super(params, d);
  }

  /** One Adamax update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<AdamaxOptions>, state: ParamState): void {
    const [beta1, beta2] = group.betas;
    let g = group.maximize ? grad.neg() : grad;
    if (group.weightDecay !== 0) g = g.add(param.mul(group.weightDecay));
    const m0 = state.get('exp_avg') ?? zerosLike(param);
    const u0 = state.get('exp_inf') ?? zerosLike(param);
    const m = state.set('exp_avg', m0.mul(beta1).add(g.mul(1 - beta1)));
    const u = state.set('exp_inf', u0.mul(beta2).maximum(g.abs().add(group.eps)));
    const clr = group.lr / (1 - beta1 ** state.step);
    param.copy_(param.add(m.div(u).mul(-clr)));
  }
}
