/** RMSprop. */
import { type Tensor, GhostFlowError, zerosLike } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link RMSprop}. */
export interface RMSpropOptions extends BaseGroupOptions {
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalise by the estimated variance instead of the second moment (default false). */
  centered: boolean;
  /** Maximise instead of minimise (default false). */
  maximize: boolean;
}

/**
 * torch.optim.RMSprop, PyTorch's update: `g = grad + weightDecay * p`,
 * `sq = alpha sq + (1 - alpha) g²`; centered: `ga = alpha ga + (1 - alpha) g`,
 * `avg = sqrt(sq - ga²) + eps`, else `avg = sqrt(sq) + eps`; with momentum
 * `buf = momentum buf + g / avg`, `p = p - lr buf`, else `p = p - lr g / avg`.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (1e-2), `alpha` (0.99), `eps` (1e-8), `weightDecay` (0), `momentum` (0), `centered`, `maximize`
   */
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    const defaults: RMSpropOptions = {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...options,
    };
    if (!(defaults.lr >= 0)) throw new GhostFlowError(`RMSprop: invalid learning rate ${defaults.lr}`);
    if (!(defaults.alpha >= 0)) throw new GhostFlowError(`RMSprop: invalid alpha ${defaults.alpha}`);
    if (!(defaults.eps >= 0)) throw new GhostFlowError(`RMSprop: invalid eps ${defaults.eps}`);
    if (!(defaults.momentum >= 0)) throw new GhostFlowError(`RMSprop: invalid momentum ${defaults.momentum}`);
    if (!(defaults.weightDecay >= 0)) throw new GhostFlowError(`RMSprop: invalid weightDecay ${defaults.weightDecay}`);
    super(params, defaults);
  }

  /** One RMSprop update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<RMSpropOptions>, state: ParamState): void {
    let g = group.maximize ? grad.neg() : grad;
    if (group.weightDecay !== 0) g = g.add(param.mul(group.weightDecay));
    const sq0 = state.get('square_avg') ?? zerosLike(param);
    const sq = state.set('square_avg', sq0.mul(group.alpha).add(g.mul(g).mul(1 - group.alpha)));
    let avg: Tensor;
    if (group.centered) {
      const ga0 = state.get('grad_avg') ?? zerosLike(param);
      const ga = state.set('grad_avg', ga0.mul(group.alpha).add(g.mul(1 - group.alpha)));
      avg = sq.sub(ga.mul(ga)).sqrt().add(group.eps);
    } else {
      avg = sq.sqrt().add(group.eps);
    }
    if (group.momentum > 0) {
      const buf0 = state.get('momentum_buffer') ?? zerosLike(param);
      const buf = state.set('momentum_buffer', buf0.mul(group.momentum).add(g.div(avg)));
      param.copy_(param.add(buf.mul(-group.lr)));
    } else {
      param.copy_(param.add(g.div(avg).mul(-group.lr)));
    }
  }
}
