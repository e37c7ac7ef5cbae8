/** NAdam. */
import { type Tensor, GhostFlowError, zerosLike } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link NAdam}. */
export interface NAdamOptions extends BaseGroupOptions {
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum decay ψ of the schedule `mu_t = b1 (1 - 0.96^(t ψ) / 2)` (default 4e-3). */
  momentumDecay: number;
}

/**
 * torch.optim.NAdam (Adam with Nesterov momentum, Dozat 2016; torch 1.13's
 * `_single_tensor_nadam`). The running product of the momentum schedule, `mu_product`,
 * is a float32 scalar in PyTorch; it is rounded to float32 here too, so the step sizes agree.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, NAdam } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new NAdam(model.parameters(), { lr: 2e-3 });
 * ```
 */
export class NAdam extends Optimizer<NAdamOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (2e-3), `betas` ([0.9, 0.999]), `eps` (1e-8), `weightDecay` (0), `momentumDecay` (4e-3)
   */
  constructor(params: ParamsInput<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    const d: NAdamOptions = { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, ...options };
    if (!(d.lr >= 0)) throw new GhostFlowError(`NAdam: invalid learning rate ${d.lr}`);
    if (!(d.eps >= 0)) throw new GhostFlowError(`NAdam: invalid eps ${d.eps}`);
    if (!(d.betas[0] >= 0 && d.betas[0] < 1) || !(d.betas[1] >= 0 && d.betas[1] < 1))
      throw new GhostFlowError(`NAdam: invalid betas [${d.betas.join(', ')}]`);
    if (!(d.weightDecay >= 0)) throw new GhostFlowError(`NAdam: invalid weightDecay ${d.weightDecay}`);
    if (!(d.momentumDecay >= 0)) throw new GhostFlowError(`NAdam: invalid momentumDecay ${d.momentumDecay}`);
    super(params, d);
  }

  /** One NAdam update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<NAdamOptions>, state: ParamState): void {
    const [beta1, beta2] = group.betas;
    const step = state.step;
    let g = grad;
    if (group.weightDecay !== 0) g = g.add(param.mul(group.weightDecay));
    const bias2 = 1 - beta2 ** step;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (step * group.momentumDecay));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * group.momentumDecay));
    const muProduct = Math.fround((state.getNumber('mu_product') ?? 1) * Math.fround(mu));
    state.setNumber('mu_product', muProduct);
    const muProductNext = Math.fround(Math.fround(muProduct * Math.fround(mu)) * Math.fround(muNext));
    const m0 = state.get('exp_avg') ?? zerosLike(param);
    const v0 = state.get('exp_avg_sq') ?? zerosLike(param);
    const m = state.set('exp_avg', m0.mul(beta1).add(g.mul(1 - beta1)));
    const v = state.set('exp_avg_sq', v0.mul(beta2).add(g.mul(g).mul(1 - beta2)));
    const denom = v.div(bias2).sqrt().add(group.eps);
    const p1 = param.add(g.div(denom).mul((-group.lr * (1 - mu)) / (1 - muProduct)));
    param.copy_(p1.add(m.div(denom).mul((-group.lr * muNext) / (1 - muProductNext))));
  }
}
