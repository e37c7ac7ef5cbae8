/** Activation modules: each wraps the function of the same name in `functional`. */
import type { Tensor } from '@ghostflow/core';
import { Module } from '../module.js';
import * as F from '../functional/activation.js';

/** `max(x, 0)` (torch.nn.ReLU). */
export class ReLU extends Module {
  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.relu(input);
  }
}

/** `x` for `x > 0`, else `negativeSlope * x` (torch.nn.LeakyReLU). */
export class LeakyReLU extends Module {
  /** @param negativeSlope slope for negative inputs (default 0.01) */
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.leakyRelu(input, this.negativeSlope);
  }

  /** `negativeSlope=..`. */
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** Gaussian error linear unit (torch.nn.GELU), exact or tanh-approximated. */
export class GELU extends Module {
  /** `'none'` (exact, default) or `'tanh'`. */
  readonly approximate: 'none' | 'tanh';

  /** @param options `approximate`: `'none'` (default) or `'tanh'` */
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }

  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.gelu(input, { approximate: this.approximate });
  }

  /** `approximate=..`. */
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** `x * sigmoid(x)` (torch.nn.SiLU). */
export class SiLU extends Module {
  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.silu(input);
  }
}

/** Alias of {@link SiLU}. */
export const Swish = SiLU;

/** `x * tanh(softplus(x))` (torch.nn.Mish). */
export class Mish extends Module {
  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.mish(input);
  }
}

/** `x` for `x > 0`, else `alpha (exp(x) - 1)` (torch.nn.ELU). */
export class ELU extends Module {
  /** @param alpha scale of the negative part (default 1) */
  constructor(readonly alpha = 1) {
    super();
  }

  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.elu(input, this.alpha);
  }

  /** `alpha=..`. */
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** Scaled ELU with PyTorch's constants (torch.nn.SELU). */
export class SELU extends Module {
  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.selu(input);
  }
}

/** Hyperbolic tangent (torch.nn.Tanh). */
export class Tanh extends Module {
  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.tanh(input);
  }
}

/** Logistic sigmoid (torch.nn.Sigmoid). */
export class Sigmoid extends Module {
  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

/** `log(1 + exp(beta x)) / beta`, linear above `threshold` (torch.nn.Softplus). */
export class Softplus extends Module {
  /**
   * @param beta default 1
   * @param threshold `beta x` above which the output is `x` (default 20)
   */
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }

  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.softplus(input, this.beta, this.threshold);
  }

  /** `beta=.., threshold=..`. */
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** Softmax along `dim` (torch.nn.Softmax). */
export class Softmax extends Module {
  /** @param dim the dim summing to 1; omitted: PyTorch's legacy implicit dim ({@link F.implicitSoftmaxDim}) */
  constructor(readonly dim?: number) {
    super();
  }

  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.softmax(input, this.dim);
  }

  /** `dim=..`. */
  override extraRepr(): string {
    return `dim=${this.dim ?? 'implicit'}`;
  }
}

/** Log-softmax along `dim` (torch.nn.LogSoftmax). */
export class LogSoftmax extends Module {
  /** @param dim the normalised dim; omitted: PyTorch's legacy implicit dim */
  constructor(readonly dim?: number) {
    super();
  }

  /** Applies the activation. */
  forward(input: Tensor): Tensor {
    return F.logSoftmax(input, this.dim);
  }

  /** `dim=..`. */
  override extraRepr(): string {
    return `dim=${this.dim ?? 'implicit'}`;
  }
}
