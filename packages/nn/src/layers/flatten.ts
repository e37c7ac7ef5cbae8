/** Flatten and Unflatten (torch.nn.Flatten / torch.nn.Unflatten). */
import { GhostFlowError, ShapeError, type Tensor, flatten, formatShape, normalizeDim, reshape } from '@ghostflow/core';
import { Module } from '../module.js';

/**
 * Flattens dims `startDim..endDim` into one (torch.nn.Flatten; defaults 1 and -1, so a batch
 * `[N, C, H, W]` becomes `[N, C*H*W]`).
 *
 * @example
 * ```ts
 * import { zeros } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Flatten } from '@ghostflow/nn';
 * new Flatten().forward(zeros([2, 3, 4])).shape; // [2, 12]
 * ```
 */
export class Flatten extends Module {
  /** First dim flattened. */
  readonly startDim: number;
  /** Last dim flattened. */
  readonly endDim: number;

  /** @param startDim first dim (default 1) @param endDim last dim (default -1) */
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }

  /** The flattened view (a copy when the layout needs one). */
  forward(input: Tensor): Tensor {
    return flatten(input, this.startDim, this.endDim);
  }

  /** `startDim=.., endDim=..`. */
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Splits dim `dim` into `unflattenedSize` (torch.nn.Unflatten); one size may be -1 (inferred).
 *
 * @example
 * ```ts
 * import { zeros } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Unflatten } from '@ghostflow/nn';
 * new Unflatten(1, [3, 4]).forward(zeros([2, 12])).shape; // [2, 3, 4]
 * ```
 */
export class Unflatten extends Module {
  /** The dim split. */
  readonly dim: number;
  /** The sizes it is split into. */
  readonly unflattenedSize: readonly number[];

  /**
   * @param dim dim to split (negative counts from the end)
   * @param unflattenedSize new sizes, product equal to the dim's size (one may be -1)
   */
  constructor(dim: number, unflattenedSize: readonly number[]) {
    super();
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0 || !unflattenedSize.every((s) => Number.isInteger(s))) {
      throw new GhostFlowError(`Unflatten: unflattenedSize must be a non-empty list of integers, got ${JSON.stringify(unflattenedSize)}`);
    }
    if (unflattenedSize.filter((s) => s === -1).length > 1 || unflattenedSize.some((s) => s < -1)) {
      throw new GhostFlowError(`Unflatten: sizes must be non-negative, with at most one -1, got [${unflattenedSize.join(', ')}]`);
    }
    this.dim = dim;
    this.unflattenedSize = Object.freeze([...unflattenedSize]);
  }

  /** `input` with dim `dim` split. */
  forward(input: Tensor): Tensor {
    const d = normalizeDim(this.dim, input.rank);
    const size = input.shape[d];
    const known = this.unflattenedSize.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
    const infer = this.unflattenedSize.includes(-1);
    if (infer ? known === 0 || size % known !== 0 : known !== size) {
      throw new ShapeError(
        `unflatten: provided sizes [${this.unflattenedSize.join(', ')}] don't multiply up to the size of dim ${this.dim} (${size}) in the input tensor of shape ${formatShape(input.shape)}`,
      );
    }
    const sizes = this.unflattenedSize.map((s) => (s === -1 ? size / known : s));
    return reshape(input, [...input.shape.slice(0, d), ...sizes, ...input.shape.slice(d + 1)]);
  }

  /** `dim=.., unflattenedSize=[..]`. */
  override extraRepr(): string {
    return `dim=${this.dim}, unflattenedSize=[${this.unflattenedSize.join(', ')}]`;
  }
}
