/** Stochastic gradient descent. */
import { type Tensor, GhostFlowError } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link SGD}. */
export interface SGDOptions extends BaseGroupOptions {
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Maximise instead of minimise (default false). */
  maximize: boolean;
}

/**
 * torch.optim.SGD, PyTorch's exact update: `g = grad + weightDecay * p`; with momentum,
 * `buf = g` on the first step, then `buf = momentum * buf + (1 - dampening) * g`, and
 * `g = g + momentum * buf` (nesterov) or `g = buf`; finally `p = p - lr * g`.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Linear, SGD, mseLoss } from '@ghostflow/nn';
 * const model = new Linear(3, 1);
 * const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const x = randn([16, 3]);
 * const y = randn([16, 1]);
 * for (let step = 0; step < 10; step++) {
 *   optimizer.zeroGrad();
 *   const loss = mseLoss(model.forward(x), y);
 *   loss.backward();
 *   optimizer.step();
 *   loss.dispose();
 * }
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (default 1e-3, PyTorch 2's), `momentum`, `dampening`, `weightDecay`, `nesterov`, `maximize`
   */
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    const defaults: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options };
    if (!(defaults.lr >= 0)) throw new GhostFlowError(`SGD: invalid learning rate ${defaults.lr}`);
    if (!(defaults.momentum >= 0)) throw new GhostFlowError(`SGD: invalid momentum ${defaults.momentum}`);
    if (!(defaults.weightDecay >= 0)) throw new GhostFlowError(`SGD: invalid weightDecay ${defaults.weightDecay}`);
    if (defaults.nesterov && (defaults.momentum <= 0 || defaults.dampening !== 0))
      throw new GhostFlowError('SGD: nesterov momentum requires a momentum and zero dampening');
    super(params, defaults);
  }

  /** One SGD update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<SGDOptions>, state: ParamState): void {
    let d = group.maximize ? grad.neg() : grad;
    if (group.weightDecay !== 0) d = d.add(param.mul(group.weightDecay));
    if (group.momentum !== 0) {
      const prev = state.get('momentum_buffer');
      const buf = state.set('momentum_buffer', prev ? prev.mul(group.momentum).add(d.mul(1 - group.dampening)) : d.clone());
      d = group.nesterov ? d.add(buf.mul(group.momentum)) : buf;
    }
    param.copy_(param.add(d.mul(-group.lr)));
  }
}
