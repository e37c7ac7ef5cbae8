/** RAdam. */
import { type Tensor, GhostFlowError, zerosLike } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link RAdam}. */
export interface RAdamOptions extends BaseGroupOptions {
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * torch.optim.RAdam (rectified Adam, Liu et al. 2019; torch 1.13's `_single_tensor_radam`):
 * while the variance estimate is unreliable (`rho_t <= 5`) the step is plain bias-corrected
 * momentum `p = p - lr m̂`; afterwards it is Adam's step scaled by the rectification term.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, RAdam } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new RAdam(model.parameters(), { lr: 1e-3 });
 * ```
 */
export class RAdam extends Optimizer<RAdamOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (1e-3), `betas` ([0.9, 0.999]), `eps` (1e-8), `weightDecay` (0)
   */
  constructor(params: ParamsInput<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    const d: RAdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options };
    if (!(d.lr >= 0)) throw new GhostFlowError(`RAdam: invalid learning rate ${d.lr}`);
    if (!(d.eps >= 0)) throw new GhostFlowError(`RAdam: invalid eps ${d.eps}`);
    if (!(d.betas[0] >= 0 && d.betas[0] < 1) || !(d.betas[1] >= 0 && d.betas[1] < 1))
      throw new GhostFlowError(`RAdam: invalid betas [${d.betas.join(', ')}]`);
    if (!(d.weightDecay >= 0)) throw new GhostFlowError(`RAdam: invalid weightDecay ${d.weightDecay}`);
    super(params, d);
  }

  /** One RAdam update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<RAdamOptions>, state: ParamState): void {
    const [beta1, beta2] = group.betas;
    const step = state.step;
    let g = grad;
    if (group.weightDecay !== 0) g = g.add(param.mul(group.weightDecay));
    const bias1 = 1 - beta1 ** step;
    const bias2 = 1 - beta2 ** step;
    const m0 = state.get('exp_avg') ?? zerosLike(param);
    const v0 = state.get('exp_avg_sq') ?? zerosLike(param);
    const m = state.set('exp_avg', m0.mul(beta1).add(g.mul(1 - beta1)));
    const v = state.set('exp_avg_sq', v0.mul(beta2).add(g.mul(g).mul(1 - beta2)));
    const mHat = m.div(bias1);
    const rhoInf = 2 / (1 - beta2) - 1;
    const rhoT = rhoInf - (2 * step * beta2 ** step) / bias2;
    if (rhoT > 5) {
      const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      const adaptive = v.sqrt().add(group.eps).reciprocal().mul(Math.sqrt(bias2));
      param.copy_(param.sub(mHat.mul(group.lr).mul(adaptive).mul(rect)));
    } else {
      param.copy_(param.sub(mHat.mul(group.lr)));
    }
  }
}
