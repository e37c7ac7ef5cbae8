/**
 * Loss functions (`torch.nn.functional` names in camelCase), composed from core ops so
 * every backend gets values and gradients. Each takes `reduction`: `'none'` (per-element
 * losses), `'mean'` (default) or `'sum'`.
 */
import {
  type Tensor,
  DTypeError,
  eq,
  GhostFlowError,
  IndexError,
  logSoftmaxGather,
  ShapeError,
  formatShape,
  ne,
  noGrad,
  recordOp,
  sigmoid,
  tidy,
  where,
} from '@ghostflow/core';

/** How a loss combines its per-element values. */
export type Reduction = 'none' | 'mean' | 'sum';

/** The `reduction` option every loss takes. */
export interface ReductionOptions {
  /** `'none'`, `'mean'` (default) or `'sum'`. */
  reduction?: Reduction;
}

function reduce(loss: Tensor, reduction: Reduction | undefined): Tensor {
  switch (reduction ?? 'mean') {
    case 'none':
      return loss;
    case 'mean':
      return loss.mean();
    case 'sum':
      return loss.sum();
    default:
      throw new GhostFlowError(`reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  }
}

function sameShape(a: Tensor, b: Tensor, fn: string, what = 'target'): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${fn}: ${what} must have the input's shape ${formatShape(a.shape)}, got ${formatShape(b.shape)}`);
  }
}

function floatTarget(t: Tensor): Tensor {
  return t.dtype === 'float32' ? t : t.float();
}

/**
 * Mean squared error `(input - target)^2` (torch.nn.functional.mse_loss).
 *
 * @example
 * ```ts
 * import { tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { mseLoss } from '@ghostflow/nn';
 * const loss = mseLoss(tensor([1, 2, 3]), tensor([1, 2, 5])); // mean of squared errors
 * console.log(loss.itemSync()); // 1.3333
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  sameShape(input, target, 'mseLoss');
  return tidy(() => reduce(input.sub(target).square(), options.reduction));
}

/** Mean absolute error `|input - target|` (torch.nn.functional.l1_loss). */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  sameShape(input, target, 'l1Loss');
  return tidy(() => reduce(input.sub(target).abs(), options.reduction));
}

/** Options of {@link huberLoss}. */
export interface HuberLossOptions extends ReductionOptions {
  /** Where the loss switches from quadratic to linear (default 1). */
  delta?: number;
}

/**
 * Huber loss (torch.nn.functional.huber_loss): with `d = |input - target|`,
 * `0.5 d^2` where `d < delta`, else `delta (d - 0.5 delta)`.
 */
export function huberLoss(input: Tensor, target: Tensor, options: HuberLossOptions = {}): Tensor {
  sameShape(input, target, 'huberLoss');
  const delta = options.delta ?? 1;
  if (!(delta > 0)) throw new GhostFlowError(`huberLoss: delta must be positive, got ${delta}`);
  return tidy(() => {
    const diff = input.sub(target);
    const d = diff.abs();
    const small = d.lt(delta);
    // Square only the differences on the quadratic side: squaring an infinite one would put
    // 0 * inf = NaN into the gradient of the branch `where` does not take (PyTorch: +-delta).
    const quadratic = where(small, diff, 0).square().mul(0.5);
    return reduce(where(small, quadratic, d.sub(0.5 * delta).mul(delta)), options.reduction);
  });
}

/** Options of {@link smoothL1Loss}. */
export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss switches from quadratic to linear (default 1; 0 gives the L1 loss). */
  beta?: number;
}

/**
 * Smooth L1 loss (torch.nn.functional.smooth_l1_loss): with `d = |input - target|`,
 * `0.5 d^2 / beta` where `d < beta`, else `d - 0.5 beta`.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1LossOptions = {}): Tensor {
  sameShape(input, target, 'smoothL1Loss');
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) throw new GhostFlowError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  if (beta === 0) return l1Loss(input, target, options);
  return tidy(() => {
    const diff = input.sub(target);
    const d = diff.abs();
    const small = d.lt(beta);
    // As in huberLoss: keep infinite differences out of the square, whose gradient would be NaN.
    const quadratic = where(small, diff, 0)
      .square()
      .mul(0.5 / beta);
    return reduce(where(small, quadratic, d.sub(0.5 * beta)), options.reduction);
  });
}

/** Options of {@link binaryCrossEntropy}. */
export interface BinaryCrossEntropyOptions extends ReductionOptions {
  /** Rescaling weight per element (broadcast to the input). */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy on probabilities (torch.nn.functional.binary_cross_entropy):
 * `-w (t log(x) + (1 - t) log(1 - x))`, each log clamped to >= -100 as PyTorch does.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BinaryCrossEntropyOptions = {}): Tensor {
  sameShape(input, target, 'binaryCrossEntropy');
  return tidy(() => {
    let loss = bceElements(input, floatTarget(target));
    if (options.weight) loss = loss.mul(options.weight);
    return reduce(loss, options.reduction);
  });
}

/**
 * Unweighted per-element BCE with PyTorch's own gradient rule. Differentiating the clamped
 * logs would give 0 * inf = NaN at a probability of exactly 0 or 1; PyTorch instead uses
 * `(x - t) / max(x (1 - x), 1e-12)` for the input and `log(1 - x) - log(x)` for the target.
 */
function bceElements(x: Tensor, t: Tensor): Tensor {
  const out = noGrad(() => {
    const logX = x.log().clamp(-100);
    const log1mX = x.neg().log1p().clamp(-100);
    return t.mul(logX).add(t.neg().add(1).mul(log1mX)).neg();
  });
  recordOp({
    name: 'binaryCrossEntropy',
    inputs: [x, t],
    outputs: [out],
    save: [x, t],
    backward: ([g], [xs, ts]) => [g.mul(xs.sub(ts)).div(xs.mul(xs.neg().add(1)).clamp(BCE_EPS)), g.mul(xs.neg().log1p().sub(xs.log()))],
  });
  return out;
}

/** PyTorch's floor on `x (1 - x)` in the BCE gradient. */
const BCE_EPS = 1e-12;

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BinaryCrossEntropyWithLogitsOptions extends ReductionOptions {
  /** Rescaling weight per element (broadcast to the input). */
  weight?: Tensor | null;
  /** Weight of positive examples, broadcast along the last (class) dim. */
  posWeight?: Tensor | null;
}

/**
 * Sigmoid + binary cross-entropy in one stable expression
 * (torch.nn.functional.binary_cross_entropy_with_logits):
 * `(1 - t) x + lw * softplus(-x)` with `lw = 1 + (posWeight - 1) t` (1 without posWeight),
 * times `weight`. Gradients: `(lw sigmoid(x) - posWeight t)` for the input, as PyTorch's.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BinaryCrossEntropyWithLogitsOptions = {}): Tensor {
  sameShape(input, target, 'binaryCrossEntropyWithLogits');
  return tidy(() => {
    const t = floatTarget(target);
    const sp = input.neg().softplus();
    const oneMinusT = t.neg().add(1);
    let loss: Tensor;
    if (options.posWeight) {
      const logWeight = options.posWeight.sub(1).mul(t).add(1);
      loss = oneMinusT.mul(input).add(logWeight.mul(sp));
    } else {
      loss = oneMinusT.mul(input).add(sp);
    }
    if (options.weight) loss = loss.mul(options.weight);
    return reduce(loss, options.reduction);
  });
}

/** Options of {@link nllLoss} and {@link crossEntropy}. */
export interface NLLLossOptions extends ReductionOptions {
  /** Weight per class, shape `[C]`. */
  weight?: Tensor | null;
  /** Target value that contributes nothing, not even to the mean's denominator (default -100). */
  ignoreIndex?: number;
}

/** Input `[N, C, ...]` and target `[N, ...]` (unbatched `[C]` and `[]` get a batch dim of 1). */
function classShapes(input: Tensor, target: Tensor, fn: string): { input: Tensor; target: Tensor; unbatched: boolean } {
  if (target.dtype !== 'int32') throw new DTypeError(`${fn}: class-index targets must be int32, got ${target.dtype}`);
  if (input.ndim === 0) throw new ShapeError(`${fn}: input must have at least 1 dim (classes), got a 0-d tensor`);
  const unbatched = input.ndim === 1;
  const x = unbatched ? input.unsqueeze(0) : input;
  const t = unbatched ? target.unsqueeze(0) : target;
  const want = [x.shape[0], ...x.shape.slice(2)];
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      `${fn}: target must have shape ${formatShape(unbatched ? [] : want)} for input ${formatShape(input.shape)}, got ${formatShape(target.shape)}`,
    );
  }
  return { input: x, target: t, unbatched };
}

/**
 * Weighted negative log-likelihood pieces on `[N, C, ...]` log-probabilities: per-element
 * `-w[t] logp[t]` (0 where ignored) and the per-element weight `w[t]` (0 where ignored).
 */
function nllParts(
  logp: Tensor,
  target: Tensor,
  weight: Tensor | null | undefined,
  ignoreIndex: number,
  pick: (logp: Tensor, index: Tensor) => Tensor = (lp, index) => lp.gather(1, index),
): { losses: Tensor; weights: Tensor; keepMask: Tensor } {
  const keepMask = ne(target, ignoreIndex);
  const safe = where(keepMask, target, 0);
  const picked = pick(logp, safe.unsqueeze(1)).squeeze(1);
  let weights = keepMask.float();
  if (weight) weights = weights.mul(weight.indexSelect(0, safe.flatten()).reshape(safe.shape));
  return { losses: picked.mul(weights).neg(), weights, keepMask };
}

/**
 * Negative log-likelihood on log-probabilities (torch.nn.functional.nll_loss): input
 * `[N, C]` or `[N, C, d1, ...]` (or unbatched `[C]`), int32 class-index target `[N, d1, ...]`.
 * `'mean'` divides by the summed weights of the non-ignored targets, as PyTorch does.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NLLLossOptions = {}): Tensor {
  const { input: x, target: t, unbatched } = classShapes(input, target, 'nllLoss');
  checkClassWeight(options.weight, x.shape[1], 'nllLoss');
  checkTargets(t, x.shape[1], options.ignoreIndex ?? -100, 'nllLoss');
  return tidy(() => {
    const { losses, weights } = nllParts(x, t, options.weight, options.ignoreIndex ?? -100);
    return reduceNll(losses, weights, options.reduction, unbatched);
  });
}

/**
 * PyTorch's "Target 7 is out of bounds." for a class index outside [0, classes) that is not
 * `ignoreIndex`, instead of the message of the gather it would reach. Only where the backend
 * reads synchronously: elsewhere a read would stall the device queue. Returns whether some
 * target equals `ignoreIndex`, or null when the targets were not read.
 */
function checkTargets(target: Tensor, classes: number, ignoreIndex: number, fn: string): boolean | null {
  target.assertAlive();
  if (!target.backend.readSync) return null;
  if (target.size === 0) return false;
  const values = target.dataSync();
  let ignored = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === ignoreIndex) ignored = true;
    else if (v < 0 || v >= classes) {
      throw new IndexError(
        `${fn}: Target ${v} is out of bounds (expected a class index in [0, ${classes}) or ignoreIndex ${ignoreIndex}, at flat index ${i})`,
      );
    }
  }
  return ignored;
}

function checkClassWeight(weight: Tensor | null | undefined, classes: number, fn: string): void {
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== classes)) {
    throw new ShapeError(`${fn}: weight must have shape [${classes}] (one per class), got ${formatShape(weight.shape)}`);
  }
}

function reduceNll(losses: Tensor, weights: Tensor, reduction: Reduction | undefined, unbatched: boolean): Tensor {
  const r = reduction ?? 'mean';
  if (r === 'none') return unbatched ? losses.squeeze(0) : losses;
  if (r === 'sum') return losses.sum();
  if (r === 'mean') return losses.sum().div(weights.sum());
  throw new GhostFlowError(`reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends NLLLossOptions {
  /** Amount of uniform label smoothing in [0, 1] (default 0). */
  labelSmoothing?: number;
}

/**
 * Cross-entropy on unnormalised logits (torch.nn.functional.cross_entropy), input `[N, C]`,
 * `[N, C, d1, ...]` or unbatched `[C]`; log-softmax over dim 1.
 *
 * - **Class-index target** (int32, `[N, d1, ...]`): PyTorch's exact formula,
 *   `(1 - ε) nll + (ε / C) smooth` where `nll` is {@link nllLoss} (weighted, `ignoreIndex`
 *   skipped) and `smooth = -Σ_c w_c logp_c` per element (0 where ignored). For `'mean'`, the
 *   smooth part is divided by the summed weights `w[target]` of the non-ignored targets with
 *   `weight`, else by their count.
 * - **Probability target** (float32, the input's shape): `-Σ_c w_c t'_c logp_c` with
 *   `t' = (1 - ε) t + ε / C`; `'mean'` divides by N·d1·... (weights do not normalise).
 *
 * @example
 * ```ts
 * import { tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { crossEntropy } from '@ghostflow/nn';
 * const logits = tensor([
 *   [2, 0.5, -1],
 *   [0, 0, 3],
 * ]); // [batch, classes], unnormalised
 * const target = tensor([0, 2], { dtype: 'int32' }); // class indices
 * const loss = crossEntropy(logits, target);
 * console.log(loss.itemSync());
 * ```
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new GhostFlowError(`crossEntropy: labelSmoothing must be between 0 and 1, got ${eps}`);
  if (target.dtype === 'float32') return crossEntropyProbs(input, target, options, eps);
  const { input: x, target: t, unbatched } = classShapes(input, target, 'crossEntropy');
  const classes = x.shape[1];
  checkClassWeight(options.weight, classes, 'crossEntropy');
  const ignored = checkTargets(t, classes, options.ignoreIndex ?? -100, 'crossEntropy');
  return tidy(() => {
    if (eps === 0 && !options.weight && ignored === false) {
      // Every target counts with weight 1: the general path's mask, weights and their sum
      // are constants (ones, N), so only the picked log-probabilities are reduced. Same
      // values to the bit: negating before or after the sum rounds alike, and times 1 is exact.
      const picked = logSoftmaxGather(x, t.unsqueeze(1)).squeeze(1);
      const r = options.reduction ?? 'mean';
      if (r === 'none') return unbatched ? picked.squeeze(0).neg() : picked.neg();
      if (r === 'sum') return picked.sum().neg();
      if (r === 'mean') return picked.sum().neg().div(picked.size);
      throw new GhostFlowError(`reduction must be 'none', 'mean' or 'sum', got '${String(options.reduction)}'`);
    }
    if (eps === 0) {
      // Only the picked log-probabilities flow on: one node for log-softmax and the pick.
      const { losses, weights } = nllParts(x, t, options.weight, options.ignoreIndex ?? -100, logSoftmaxGather);
      return reduceNll(losses, weights, options.reduction, unbatched);
    }
    const logp = x.logSoftmax(1);
    const { losses, weights, keepMask } = nllParts(logp, t, options.weight, options.ignoreIndex ?? -100);
    const nll = reduceNll(losses, weights, options.reduction, unbatched);
    let weighted = logp;
    if (options.weight) weighted = logp.mul(options.weight.reshape([1, classes, ...x.shape.slice(2).map(() => 1)]));
    const smoothEl = where(keepMask, weighted.sum(1).neg(), 0);
    const r = options.reduction ?? 'mean';
    let smooth: Tensor;
    if (r === 'none') smooth = unbatched ? smoothEl.squeeze(0) : smoothEl;
    else if (r === 'sum') smooth = smoothEl.sum();
    else smooth = smoothEl.sum().div(options.weight ? weights.sum() : keepMask.float().sum());
    return nll.mul(1 - eps).add(smooth.mul(eps / classes));
  });
}

function crossEntropyProbs(input: Tensor, target: Tensor, options: CrossEntropyOptions, eps: number): Tensor {
  sameShape(input, target, 'crossEntropy', 'a probability target');
  if (options.ignoreIndex !== undefined && options.ignoreIndex !== -100) {
    throw new GhostFlowError('crossEntropy: ignoreIndex is only supported with class-index (int32) targets');
  }
  const unbatched = input.ndim === 1;
  const x = unbatched ? input.unsqueeze(0) : input;
  const classes = x.shape[1];
  checkClassWeight(options.weight, classes, 'crossEntropy');
  return tidy(() => {
    let t = unbatched ? target.unsqueeze(0) : target;
    if (eps > 0) t = t.mul(1 - eps).add(eps / classes);
    let prod = x.logSoftmax(1).mul(t);
    if (options.weight) prod = prod.mul(options.weight.reshape([1, classes, ...x.shape.slice(2).map(() => 1)]));
    const per = prod.sum(1).neg();
    const r = options.reduction ?? 'mean';
    if (r === 'none') return unbatched ? per.squeeze(0) : per;
    return reduce(per, r);
  });
}

/** Options of {@link sigmoidFocalLoss}. */
export interface SigmoidFocalLossOptions {
  /** Weight of positives in (0, 1), negatives get `1 - alpha`; a negative value disables it (default 0.25). */
  alpha?: number;
  /** Focusing exponent on `1 - p_t` (default 2). */
  gamma?: number;
  /** `'none'` (default, as torchvision), `'mean'` or `'sum'`. */
  reduction?: Reduction;
}

/**
 * torchvision's `sigmoid_focal_loss` (Lin et al., RetinaNet): with `p = sigmoid(x)`,
 * `ce = bceWithLogits(x, t)`, `p_t = p t + (1 - p)(1 - t)`, the loss is
 * `alpha_t * ce * (1 - p_t)^gamma` with `alpha_t = alpha t + (1 - alpha)(1 - t)` (no alpha
 * factor when `alpha < 0`). Default reduction `'none'`, as torchvision's.
 */
export function sigmoidFocalLoss(input: Tensor, target: Tensor, options: SigmoidFocalLossOptions = {}): Tensor {
  sameShape(input, target, 'sigmoidFocalLoss');
  const alpha = options.alpha ?? 0.25;
  const gamma = options.gamma ?? 2;
  return tidy(() => {
    const t = floatTarget(target);
    const p = sigmoid(input);
    const ce = binaryCrossEntropyWithLogits(input, t, { reduction: 'none' });
    const oneMinusT = t.neg().add(1);
    const pt = p.mul(t).add(p.neg().add(1).mul(oneMinusT));
    let loss = ce.mul(pt.neg().add(1).pow(gamma));
    if (alpha >= 0)
      loss = t
        .mul(alpha)
        .add(oneMinusT.mul(1 - alpha))
        .mul(loss);
    return reduce(loss, options.reduction ?? 'none');
  });
}

/**
 * torch.nn.functional.pairwise_distance: `||x1 - x2 + eps||_p` over the last dim.
 * @param p norm degree (default 2; `Infinity` for the max norm)
 * @param eps added to the difference to avoid a zero norm (default 1e-6)
 */
export function pairwiseDistance(x1: Tensor, x2: Tensor, p = 2, eps = 1e-6, keepdim = false): Tensor {
  return tidy(() => vectorNorm(x1.sub(x2).add(eps), p, -1, keepdim));
}

/** `(Σ |x|^p)^(1/p)` over `dim` (max |x| for p = Infinity), composed so autograd gives PyTorch's gradient where the norm is non-zero. */
function vectorNorm(x: Tensor, p: number, dim: number, keepdim: boolean): Tensor {
  if (p === 2) return x.square().sum(dim, keepdim).sqrt();
  if (p === 1) return x.abs().sum(dim, keepdim);
  if (p === Number.POSITIVE_INFINITY) return x.abs().amax(dim, keepdim);
  if (!(p > 0)) throw new GhostFlowError(`norm degree p must be positive, got ${p}`);
  return x
    .abs()
    .pow(p)
    .sum(dim, keepdim)
    .pow(1 / p);
}

/** Options of {@link tripletMarginLoss}. */
export interface TripletMarginLossOptions extends ReductionOptions {
  /** Required gap between the negative and positive distances (default 1). */
  margin?: number;
  /** Norm degree of the distance (default 2). */
  p?: number;
  /** Added to differences, as pairwise_distance (default 1e-6). */
  eps?: number;
  /** Use `min(d(a, n), d(p, n))` as the negative distance (default false). */
  swap?: boolean;
}

/**
 * Triplet margin loss (torch.nn.functional.triplet_margin_loss):
 * `max(d(a, p) - d(a, n) + margin, 0)` with `d` = {@link pairwiseDistance}; inputs `[N, D]`
 * (or unbatched `[D]`).
 */
export function tripletMarginLoss(anchor: Tensor, positive: Tensor, negative: Tensor, options: TripletMarginLossOptions = {}): Tensor {
  sameShape(anchor, positive, 'tripletMarginLoss', 'positive');
  sameShape(anchor, negative, 'tripletMarginLoss', 'negative');
  const margin = options.margin ?? 1;
  const p = options.p ?? 2;
  const eps = options.eps ?? 1e-6;
  if (!(margin > 0)) throw new GhostFlowError(`tripletMarginLoss: margin must be greater than 0, got ${margin}`);
  return tidy(() => {
    const dPos = pairwiseDistance(anchor, positive, p, eps);
    let dNeg = pairwiseDistance(anchor, negative, p, eps);
    if (options.swap) dNeg = dNeg.minimum(pairwiseDistance(positive, negative, p, eps));
    return reduce(dPos.sub(dNeg).add(margin).clamp(0), options.reduction);
  });
}

/** Options of {@link cosineEmbeddingLoss}. */
export interface CosineEmbeddingLossOptions extends ReductionOptions {
  /** Margin for dissimilar pairs, in [-1, 1] (default 0). */
  margin?: number;
}

/**
 * Cosine embedding loss (torch.nn.functional.cosine_embedding_loss): with
 * `cos = Σ x1 x2 / sqrt((Σ x1² + 1e-12)(Σ x2² + 1e-12))` over the last dim, the loss is
 * `1 - cos` where `target == 1`, `max(0, cos - margin)` where `target == -1`, else 0.
 * Inputs `[N, D]` with target `[N]` (int32 or float, values 1 / -1), or unbatched `[D]` with `[]`.
 */
export function cosineEmbeddingLoss(input1: Tensor, input2: Tensor, target: Tensor, options: CosineEmbeddingLossOptions = {}): Tensor {
  sameShape(input1, input2, 'cosineEmbeddingLoss', 'input2');
  if (input1.ndim !== 1 && input1.ndim !== 2)
    throw new ShapeError(`cosineEmbeddingLoss: inputs must be [N, D] or [D], got ${formatShape(input1.shape)}`);
  if (target.ndim !== input1.ndim - 1 || (input1.ndim === 2 && target.shape[0] !== input1.shape[0])) {
    throw new ShapeError(
      `cosineEmbeddingLoss: target must have shape ${formatShape(input1.shape.slice(0, -1))}, got ${formatShape(target.shape)}`,
    );
  }
  const margin = options.margin ?? 0;
  return tidy(() => {
    const dim = input1.ndim - 1;
    const prod = input1.mul(input2).sum(dim);
    const mag1 = input1.square().sum(dim).add(1e-12);
    const mag2 = input2.square().sum(dim).add(1e-12);
    const cos = prod.div(mag1.mul(mag2).sqrt());
    const pos = where(eq(target, 1), cos.neg().add(1), 0);
    const neg = where(eq(target, -1), cos.sub(margin).clamp(0), 0);
    return reduce(pos.add(neg), options.reduction);
  });
}

/** Options of {@link contrastiveLoss}. */
export interface ContrastiveLossOptions extends ReductionOptions {
  /** Distance beyond which dissimilar pairs cost nothing (default 1). */
  margin?: number;
  /** Added to differences before the Euclidean distance, as pairwise_distance (default 1e-6). */
  eps?: number;
}

/**
 * Contrastive loss of Hadsell, Chopra & LeCun (2006), "Dimensionality Reduction by Learning
 * an Invariant Mapping". With `d = ||x1 - x2 + eps||_2` over the last dim and
 * `target` 1 for a similar pair, 0 for a dissimilar one (the paper's `Y = 1 - target`):
 * `0.5 * target * d² + 0.5 * (1 - target) * max(0, margin - d)²`.
 * Inputs `[N, D]` with target `[N]` (int32, bool or float), or unbatched `[D]` with `[]`.
 * Not in PyTorch; this is the documented classic form.
 */
export function contrastiveLoss(input1: Tensor, input2: Tensor, target: Tensor, options: ContrastiveLossOptions = {}): Tensor {
  sameShape(input1, input2, 'contrastiveLoss', 'input2');
  if (target.ndim !== input1.ndim - 1) {
    throw new ShapeError(
      `contrastiveLoss: target must have shape ${formatShape(input1.shape.slice(0, -1))}, got ${formatShape(target.shape)}`,
    );
  }
  const margin = options.margin ?? 1;
  const eps = options.eps ?? 1e-6;
  return tidy(() => {
    const t = floatTarget(target);
    const diff = input1.sub(input2).add(eps);
    const dSq = diff.square().sum(-1);
    const d = dSq.sqrt();
    const similar = t.mul(dSq);
    const dissimilar = t.neg().add(1).mul(d.neg().add(margin).clamp(0).square());
    return reduce(similar.add(dissimilar).mul(0.5), options.reduction);
  });
}

/** Options of {@link klDiv}. */
export interface KLDivOptions {
  /**
   * `'none'`, `'mean'` (default, as torch: the mean over every element), `'sum'`, or
   * `'batchmean'` (the sum divided by the batch size `input.shape[0]`: the KL divergence's
   * definition; what you usually want).
   */
  reduction?: Reduction | 'batchmean';
  /** `target` holds log-probabilities (default false: probabilities). */
  logTarget?: boolean;
}

/**
 * Kullback-Leibler divergence loss (torch.nn.functional.kl_div): `input` holds
 * log-probabilities; pointwise `target · (log target - input)` (`0` where `target = 0`), or
 * `exp(target) · (target - input)` with `logTarget`.
 * @example
 * ```ts
 * import { logSoftmax, randn, softmax } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { klDiv } from '@ghostflow/nn';
 * const student = randn([4, 10]); // logits [batch, classes]
 * const teacher = randn([4, 10]);
 * const loss = klDiv(logSoftmax(student, -1), softmax(teacher, -1), { reduction: 'batchmean' });
 * ```
 */
export function klDiv(input: Tensor, target: Tensor, options: KLDivOptions = {}): Tensor {
  sameShape(input, target, 'klDiv');
  const reduction = options.reduction ?? 'mean';
  if (!['none', 'mean', 'sum', 'batchmean'].includes(reduction))
    throw new GhostFlowError(`klDiv: reduction must be 'none', 'mean', 'sum' or 'batchmean', got '${String(reduction)}'`);
  return tidy(() => {
    const t = floatTarget(target);
    let pointwise: Tensor;
    if (options.logTarget) {
      pointwise = t.exp().mul(t.sub(input));
    } else {
      // xlogy(t, t): 0 where t = 0 (log of a safe 1 there keeps the gradient finite).
      const zero = eq(t, 0);
      const safe = where(zero, 1, t);
      pointwise = t.mul(safe.log()).sub(t.mul(input));
    }
    if (reduction === 'batchmean') return input.rank === 0 ? pointwise.sum() : pointwise.sum().div(input.shape[0]);
    return reduce(pointwise, reduction);
  });
}
