/** Linear (fully connected) layer. */
import { type Tensor, linear } from '@ghostflow/core';
import { Module } from '../module.js';
import { kaimingUniform, uniform } from '../init.js';
import type { Parameter } from '../parameter.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Backend for the parameters (default the active one). */
  device?: string;
}

/**
 * `y = x W^T + b` over the last dim (torch.nn.Linear), through core's `linear` op (a fused
 * kernel when the backend has one). Parameters `weight` `[outFeatures, inFeatures]` and
 * `bias` `[outFeatures]`, initialised as PyTorch: kaiming-uniform with `a = sqrt(5)` for the
 * weight (U(-1/sqrt(inFeatures), 1/sqrt(inFeatures))) and U(-1/sqrt(fanIn), 1/sqrt(fanIn))
 * for the bias.
 */
export class Linear extends Module {
  /** Size of each input sample. */
  readonly inFeatures: number;
  /** Size of each output sample. */
  readonly outFeatures: number;
  /** `[outFeatures, inFeatures]`. */
  weight: Parameter;
  /** `[outFeatures]`, or null with `bias: false`. */
  bias: Parameter | null;

  /**
   * @param inFeatures size of each input sample
   * @param outFeatures size of each output sample
   */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const device = options.device;
    this.weight = this.registerParameter('weight', kaimingUniform([outFeatures, inFeatures], Math.sqrt(5), { device }));
    if (options.bias ?? true) {
      const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
      this.bias = this.registerParameter('bias', uniform([outFeatures], -bound, bound, { device }));
    } else {
      this.bias = this.registerParameter('bias', null);
    }
  }

  /** `input` `[..., inFeatures]` → `[..., outFeatures]`. */
  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  /** `inFeatures=.., outFeatures=.., bias=..`. */
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
