/** Subset: a dataset restricted to some indices (torch.utils.data.Subset). */
import { GhostFlowError } from '@ghostflow/core';
import { Dataset } from './dataset.js';

/**
 * Item `i` is `dataset.getItem(indices[i])`.
 * @example
 * ```ts
 * import { randint, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Subset, TensorDataset } from '@ghostflow/nn';
 * const ds = new TensorDataset(randn([500, 4]), randint(0, 2, [500]));
 * const firstHundred = new Subset(ds, Array.from({ length: 100 }, (_, i) => i));
 * ```
 */
export class Subset<T> extends Dataset<T> {
  /** The indices into `dataset`. */
  readonly indices: readonly number[];

  /**
   * @param dataset the full dataset
   * @param indices which of its items, in order
   */
  constructor(
    readonly dataset: Dataset<T>,
    indices: readonly number[],
  ) {
    super();
    this.indices = Object.freeze([...indices]);
  }

  /** Number of indices. */
  get length(): number {
    return this.indices.length;
  }

  /** `dataset.getItem(indices[index])`. */
  getItem(index: number): T | Promise<T> {
    if (!Number.isInteger(index) || index < 0 || index >= this.indices.length)
      throw new GhostFlowError(`Subset: index ${index} is out of range for ${this.indices.length} items`);
    return this.dataset.getItem(this.indices[index]);
  }
}
