/**
 * Loss modules (torch.nn.*Loss): each holds its options (class weights as buffers, as
 * PyTorch's `_WeightedLoss`) and calls the function of the same name in `functional`.
 */
import type { Tensor } from '@ghostflow/core';
import { Module } from '../module.js';
import * as F from '../functional/loss.js';
import { type CTCLossOptions, ctcLoss } from '../functional/ctc.js';
import type { HostInts } from '../recurrent/packing.js';

/** Base of the loss modules: stores `reduction`. */
export abstract class Loss extends Module {
  /** `'none'`, `'mean'` or `'sum'`. */
  readonly reduction: F.Reduction;

  /** @param reduction default `'mean'` */
  constructor(reduction: F.Reduction = 'mean') {
    super();
    this.reduction = reduction;
  }

  /** `reduction=..`. */
  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

/**
 * Mean squared error (torch.nn.MSELoss); see {@link F.mseLoss}.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { MSELoss } from '@ghostflow/nn';
 * const criterion = new MSELoss({ reduction: 'sum' });
 * const loss = criterion.forward(randn([4, 1]), randn([4, 1]));
 * ```
 */
export class MSELoss extends Loss {
  /** @param options `reduction` */
  constructor(options: F.ReductionOptions = {}) {
    super(options.reduction);
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/** Mean absolute error (torch.nn.L1Loss); see {@link F.l1Loss}. */
export class L1Loss extends Loss {
  /** @param options `reduction` */
  constructor(options: F.ReductionOptions = {}) {
    super(options.reduction);
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/** Huber loss (torch.nn.HuberLoss); see {@link F.huberLoss}. */
export class HuberLoss extends Loss {
  /** Quadratic-to-linear switch point. */
  readonly delta: number;

  /** @param options `delta` (1), `reduction` */
  constructor(options: F.HuberLossOptions = {}) {
    super(options.reduction);
    this.delta = options.delta ?? 1;
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/** Smooth L1 loss (torch.nn.SmoothL1Loss); see {@link F.smoothL1Loss}. */
export class SmoothL1Loss extends Loss {
  /** Quadratic-to-linear switch point. */
  readonly beta: number;

  /** @param options `beta` (1), `reduction` */
  constructor(options: F.SmoothL1LossOptions = {}) {
    super(options.reduction);
    this.beta = options.beta ?? 1;
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** Binary cross-entropy on probabilities (torch.nn.BCELoss); see {@link F.binaryCrossEntropy}. */
export class BCELoss extends Loss {
  /** @param options `weight` (a buffer), `reduction` */
  constructor(options: F.BinaryCrossEntropyOptions = {}) {
    super(options.reduction);
    this.registerBuffer('weight', options.weight ?? null);
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    const bufs = Object.fromEntries(this.namedBuffers('', false));
    return F.binaryCrossEntropy(input, target, { reduction: this.reduction, weight: bufs.weight ?? null });
  }
}

/** Sigmoid + binary cross-entropy (torch.nn.BCEWithLogitsLoss); see {@link F.binaryCrossEntropyWithLogits}. */
export class BCEWithLogitsLoss extends Loss {
  /** @param options `weight`, `posWeight` (buffers `weight`, `pos_weight`), `reduction` */
  constructor(options: F.BinaryCrossEntropyWithLogitsOptions = {}) {
    super(options.reduction);
    this.registerBuffer('weight', options.weight ?? null);
    this.registerBuffer('pos_weight', options.posWeight ?? null);
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    const bufs = Object.fromEntries(this.namedBuffers('', false));
    return F.binaryCrossEntropyWithLogits(input, target, {
      reduction: this.reduction,
      weight: bufs.weight ?? null,
      posWeight: bufs.pos_weight ?? null,
    });
  }
}

/** Negative log-likelihood (torch.nn.NLLLoss); see {@link F.nllLoss}. */
export class NLLLoss extends Loss {
  /** Ignored target value. */
  readonly ignoreIndex: number;

  /** @param options `weight` (a buffer), `ignoreIndex` (-100), `reduction` */
  constructor(options: F.NLLLossOptions = {}) {
    super(options.reduction);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.registerBuffer('weight', options.weight ?? null);
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    const bufs = Object.fromEntries(this.namedBuffers('', false));
    return F.nllLoss(input, target, { reduction: this.reduction, weight: bufs.weight ?? null, ignoreIndex: this.ignoreIndex });
  }
}

/**
 * Cross-entropy on logits (torch.nn.CrossEntropyLoss); see {@link F.crossEntropy}.
 *
 * @example
 * ```ts
 * import { randn, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { CrossEntropyLoss } from '@ghostflow/nn';
 * const criterion = new CrossEntropyLoss({ ignoreIndex: -100 });
 * const logits = randn([3, 5], { requiresGrad: true });
 * const loss = criterion.forward(logits, tensor([1, 0, -100], { dtype: 'int32' })); // the third row is ignored
 * loss.backward();
 * ```
 */
export class CrossEntropyLoss extends Loss {
  /** Ignored target value. */
  readonly ignoreIndex: number;
  /** Label smoothing amount. */
  readonly labelSmoothing: number;

  /** @param options `weight` (a buffer), `ignoreIndex` (-100), `labelSmoothing` (0), `reduction` */
  constructor(options: F.CrossEntropyOptions = {}) {
    super(options.reduction);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.registerBuffer('weight', options.weight ?? null);
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    const bufs = Object.fromEntries(this.namedBuffers('', false));
    return F.crossEntropy(input, target, {
      reduction: this.reduction,
      weight: bufs.weight ?? null,
      ignoreIndex: this.ignoreIndex,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/** torchvision's sigmoid focal loss as a module; see {@link F.sigmoidFocalLoss}. */
export class SigmoidFocalLoss extends Loss {
  /** Positive-class weight (negative disables). */
  readonly alpha: number;
  /** Focusing exponent. */
  readonly gamma: number;

  /** @param options `alpha` (0.25), `gamma` (2), `reduction` (`'none'`, as torchvision) */
  constructor(options: F.SigmoidFocalLossOptions = {}) {
    super(options.reduction ?? 'none');
    this.alpha = options.alpha ?? 0.25;
    this.gamma = options.gamma ?? 2;
  }

  /** The loss. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.sigmoidFocalLoss(input, target, { reduction: this.reduction, alpha: this.alpha, gamma: this.gamma });
  }
}

/** Triplet margin loss (torch.nn.TripletMarginLoss); see {@link F.tripletMarginLoss}. */
export class TripletMarginLoss extends Loss {
  /** The options (margin 1, p 2, eps 1e-6, swap false). */
  readonly options: Readonly<Required<Omit<F.TripletMarginLossOptions, 'reduction'>>>;

  /** @param options `margin`, `p`, `eps`, `swap`, `reduction` */
  constructor(options: F.TripletMarginLossOptions = {}) {
    super(options.reduction);
    this.options = { margin: options.margin ?? 1, p: options.p ?? 2, eps: options.eps ?? 1e-6, swap: options.swap ?? false };
  }

  /** The loss. */
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    return F.tripletMarginLoss(anchor, positive, negative, { ...this.options, reduction: this.reduction });
  }
}

/** Cosine embedding loss (torch.nn.CosineEmbeddingLoss); see {@link F.cosineEmbeddingLoss}. */
export class CosineEmbeddingLoss extends Loss {
  /** Margin for dissimilar pairs. */
  readonly margin: number;

  /** @param options `margin` (0), `reduction` */
  constructor(options: F.CosineEmbeddingLossOptions = {}) {
    super(options.reduction);
    this.margin = options.margin ?? 0;
  }

  /** The loss. */
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return F.cosineEmbeddingLoss(input1, input2, target, { reduction: this.reduction, margin: this.margin });
  }
}

/** Hadsell et al.'s contrastive loss as a module; see {@link F.contrastiveLoss}. */
export class ContrastiveLoss extends Loss {
  /** Margin for dissimilar pairs. */
  readonly margin: number;
  /** Added to differences before the distance. */
  readonly eps: number;

  /** @param options `margin` (1), `eps` (1e-6), `reduction` */
  constructor(options: F.ContrastiveLossOptions = {}) {
    super(options.reduction);
    this.margin = options.margin ?? 1;
    this.eps = options.eps ?? 1e-6;
  }

  /** The loss. */
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return F.contrastiveLoss(input1, input2, target, { reduction: this.reduction, margin: this.margin, eps: this.eps });
  }
}

/**
 * Kullback-Leibler divergence loss (torch.nn.KLDivLoss); see {@link F.klDiv}.
 * @example
 * ```ts
 * import { logSoftmax, randn, softmax } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { KLDivLoss } from '@ghostflow/nn';
 * const logits = randn([4, 10]);
 * const targetProbs = softmax(randn([4, 10]), -1);
 * const kl = new KLDivLoss({ reduction: 'batchmean' });
 * const loss = kl.forward(logSoftmax(logits, -1), targetProbs);
 * ```
 */
export class KLDivLoss extends Module {
  /** `'none'`, `'mean'`, `'sum'` or `'batchmean'`. */
  readonly reduction: F.Reduction | 'batchmean';
  /** Whether the target holds log-probabilities. */
  readonly logTarget: boolean;

  /** @param options `reduction` ('mean'), `logTarget` (false) */
  constructor(options: F.KLDivOptions = {}) {
    super();
    this.reduction = options.reduction ?? 'mean';
    this.logTarget = options.logTarget ?? false;
  }

  /** The loss; `input` holds log-probabilities. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }

  /** `reduction=.., logTarget=..`. */
  override extraRepr(): string {
    return `reduction='${this.reduction}', logTarget=${this.logTarget}`;
  }
}

/**
 * Connectionist temporal classification loss (torch.nn.CTCLoss); see {@link ctcLoss}.
 * @example
 * ```ts
 * import { logSoftmax, randint, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { CTCLoss } from '@ghostflow/nn';
 * const logits = randn([50, 4, 20]); // [T, N, C], class 0 = blank
 * const targets = randint(1, 20, [4, 10]); // padded [N, S]
 * const inputLengths = [50, 50, 40, 30];
 * const targetLengths = [10, 8, 6, 5];
 * const ctc = new CTCLoss({ blank: 0, zeroInfinity: true });
 * const loss = ctc.forward(logSoftmax(logits, -1), targets, inputLengths, targetLengths);
 * ```
 */
export class CTCLoss extends Loss {
  /** The blank class. */
  readonly blank: number;
  /** Whether infinite losses (and their gradients) become 0. */
  readonly zeroInfinity: boolean;

  /** @param options `blank` (0), `reduction` ('mean'), `zeroInfinity` (false) */
  constructor(options: CTCLossOptions = {}) {
    super(options.reduction);
    this.blank = options.blank ?? 0;
    this.zeroInfinity = options.zeroInfinity ?? false;
  }

  /** The loss; see {@link ctcLoss} for the shapes. */
  forward(
    logProbs: Tensor,
    targets: HostInts | readonly (readonly number[])[],
    inputLengths: HostInts | number,
    targetLengths: HostInts | number,
  ): Tensor {
    return ctcLoss(logProbs, targets, inputLengths, targetLengths, {
      blank: this.blank,
      reduction: this.reduction,
      zeroInfinity: this.zeroInfinity,
    });
  }

  /** `blank=.., reduction=.., zeroInfinity=..`. */
  override extraRepr(): string {
    return `blank=${this.blank}, reduction='${this.reduction}', zeroInfinity=${this.zeroInfinity}`;
  }
}
