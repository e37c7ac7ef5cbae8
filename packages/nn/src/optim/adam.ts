/** Adam and AdamW. */
import { type Tensor, GhostFlowError, adamUpdate_, zerosLike } from '@ghostflow/core';
import { type BaseGroupOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

/** Hyper-parameters of {@link Adam} and {@link AdamW}. */
export interface AdamOptions extends BaseGroupOptions {
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay: number;
  /** Use the running maximum of the second moment (AMSGrad; default false). */
  amsgrad: boolean;
  /** Maximise instead of minimise (default false). */
  maximize: boolean;
}

function check(name: string, o: AdamOptions): void {
  if (!(o.lr >= 0)) throw new GhostFlowError(`${name}: invalid learning rate ${o.lr}`);
  if (!(o.eps >= 0)) throw new GhostFlowError(`${name}: invalid eps ${o.eps}`);
  if (!(o.betas[0] >= 0 && o.betas[0] < 1) || !(o.betas[1] >= 0 && o.betas[1] < 1))
    throw new GhostFlowError(`${name}: invalid betas [${o.betas.join(', ')}]`);
  if (!(o.weightDecay >= 0)) throw new GhostFlowError(`${name}: invalid weightDecay ${o.weightDecay}`);
}

/**
 * The update shared by Adam and AdamW (torch 1.13's `_single_tensor_adam`), as core's
 * in-place `adamUpdate_`: one fused kernel where the backend has it, the composed
 * primitives otherwise. The moment buffers are created on the first step and then updated
 * in place.
 */
function adamUpdate(param: Tensor, grad: Tensor, group: ParamGroup<AdamOptions>, state: ParamState, decoupled: boolean): void {
  const [beta1, beta2] = group.betas;
  const m = state.get('exp_avg') ?? state.set('exp_avg', zerosLike(param));
  const v = state.get('exp_avg_sq') ?? state.set('exp_avg_sq', zerosLike(param));
  const vmax = group.amsgrad ? (state.get('max_exp_avg_sq') ?? state.set('max_exp_avg_sq', zerosLike(param))) : null;
  adamUpdate_(param, grad, m, v, vmax, {
    lr: group.lr,
    beta1,
    beta2,
    eps: group.eps,
    weightDecay: group.weightDecay,
    decoupled,
    step: state.step,
    maximize: group.maximize,
  });
}

/**
 * torch.optim.Adam (torch 1.13 semantics): `g = grad + weightDecay * p` (L2 penalty), then
 * the bias-corrected moment update, with optional AMSGrad.
 *
 * @example
 * ```ts
 * import { randn, tidy } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Adam, LSTM, Linear, clipGradNorm, mseLoss } from '@ghostflow/nn';
 * const lstm = new LSTM(1, 16, { batchFirst: true });
 * const head = new Linear(16, 1);
 * const params = [...lstm.parameters(), ...head.parameters()];
 * const optimizer = new Adam(params, { lr: 1e-3 });
 * const x = randn([8, 20, 1]);
 * const y = randn([8, 1]);
 * for (let step = 0; step < 5; step++) {
 *   const loss = tidy(() => {
 *     optimizer.zeroGrad();
 *     const [, [hN]] = lstm.forward(x);
 *     const loss = mseLoss(head.forward(hN.select(0, 0)), y);
 *     loss.backward();
 *     clipGradNorm(params, 1.0);
 *     optimizer.step();
 *     return loss.detach();
 *   });
 *   console.log(step, loss.itemSync());
 *   loss.dispose();
 * }
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (1e-3), `betas` ([0.9, 0.999]), `eps` (1e-8), `weightDecay` (0), `amsgrad`, `maximize`
   */
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    const defaults: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options };
    check('Adam', defaults);
    super(params, defaults);
  }

  /** One Adam update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<AdamOptions>, state: ParamState): void {
    adamUpdate(param, grad, group, state, false);
  }
}

/**
 * torch.optim.AdamW (decoupled weight decay, Loshchilov & Hutter): `p = p (1 - lr * weightDecay)`
 * first, then Adam's moment update on the raw gradient.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { AdamW, Linear } from '@ghostflow/nn';
 * const model = new Linear(64, 64);
 * // Decoupled weight decay on the weights only: one parameter group each.
 * const optimizer = new AdamW(
 *   [
 *     { params: [model.weight], weightDecay: 0.01 },
 *     { params: [model.bias as NonNullable<typeof model.bias>], weightDecay: 0 },
 *   ],
 *   { lr: 3e-4 },
 * );
 * ```
 */
export class AdamW extends Optimizer<AdamOptions> {
  /**
   * @param params parameters or groups
   * @param options `lr` (1e-3), `betas` ([0.9, 0.999]), `eps` (1e-8), `weightDecay` (1e-2), `amsgrad`, `maximize`
   */
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    const defaults: AdamOptions = {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
      amsgrad: false,
      maximize: false,
      ...options,
    };
    check('AdamW', defaults);
    super(params, defaults);
  }

  /** One AdamW update of `param`. */
  protected updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<AdamOptions>, state: ParamState): void {
    adamUpdate(param, grad, group, state, true);
  }
}
