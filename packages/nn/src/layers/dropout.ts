/** Dropout. */
import { type Tensor, GhostFlowError } from '@ghostflow/core';
import { Module } from '../module.js';
import { dropout } from '../functional/activation.js';

/**
 * Zeroes each element with probability `p` during training and scales the kept ones by
 * `1 / (1 - p)` (torch.nn.Dropout); the identity in eval mode (it returns its input).
 */
export class Dropout extends Module {
  /** Probability of zeroing an element. */
  readonly p: number;

  /** @param p probability of zeroing an element (default 0.5) */
  constructor(p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new GhostFlowError(`dropout probability has to be between 0 and 1, but got ${p}`);
    this.p = p;
  }

  /** Applies dropout when `training`. */
  forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training);
  }

  /** `p=..`. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
