/** ConcatDataset: datasets one after the other (torch.utils.data.ConcatDataset). */
import { GhostFlowError } from '@ghostflow/core';
import { Dataset } from './dataset.js';

/**
 * The items of `datasets[0]`, then those of `datasets[1]`, ...
 * @example
 * ```ts
 * import { randint, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { ConcatDataset, TensorDataset } from '@ghostflow/nn';
 * const trainA = new TensorDataset(randn([6, 3]), randint(0, 2, [6]));
 * const trainB = new TensorDataset(randn([4, 3]), randint(0, 2, [4]));
 * const all = new ConcatDataset([trainA, trainB]); // all.length === trainA.length + trainB.length
 * ```
 */
export class ConcatDataset<T> extends Dataset<T> {
  /** The parts. */
  readonly datasets: readonly Dataset<T>[];
  /** Running totals of the parts' lengths (PyTorch's `cumulative_sizes`). */
  readonly cumulativeSizes: readonly number[];

  /** @param datasets one or more map-style datasets */
  constructor(datasets: readonly Dataset<T>[]) {
    super();
    if (datasets.length === 0) throw new GhostFlowError('ConcatDataset: datasets should not be an empty iterable');
    this.datasets = Object.freeze([...datasets]);
    const sizes: number[] = [];
    for (const d of datasets) sizes.push((sizes.length > 0 ? sizes[sizes.length - 1] : 0) + d.length);
    this.cumulativeSizes = Object.freeze(sizes);
  }

  /** Sum of the parts' lengths. */
  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  /** The item at `index` of the concatenation (negative counts from the end, as torch). */
  getItem(index: number): T | Promise<T> {
    const n = this.length;
    if (!Number.isInteger(index) || index < -n || index >= n)
      throw new GhostFlowError(`ConcatDataset: index ${index} is out of range for ${n} items`);
    const i = index < 0 ? index + n : index;
    const part = this.cumulativeSizes.findIndex((c) => i < c);
    const start = part === 0 ? 0 : this.cumulativeSizes[part - 1];
    return this.datasets[part].getItem(i - start);
  }
}
