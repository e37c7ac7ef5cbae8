/** Datasets (torch.utils.data.Dataset / IterableDataset): what a DataLoader reads from. */

/**
 * A map-style dataset: `length` items, read by index (torch.utils.data.Dataset's `__len__` and
 * `__getitem__`). `getItem` may return a promise (for data read asynchronously).
 *
 * **Ownership:** the tensors an item holds belong to whoever asked for it: a {@link DataLoader}
 * disposes them after collating. A dataset that keeps its data in tensors must return fresh
 * tensors or views (`select`, `narrow`, `view`: disposing a view never frees the data it
 * looks at), never the tensor it keeps.
 * @example
 * ```ts
 * import { type Tensor, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Dataset } from '@ghostflow/nn';
 * class Squares extends Dataset<[Tensor, number]> {
 *   get length() { return 100; }
 *   getItem(i: number): [Tensor, number] { return [tensor([i]), i * i]; }
 * }
 * ```
 */
export abstract class Dataset<T> {
  /** Number of items. */
  abstract get length(): number;
  /** Item `index` (`0 <= index < length`). */
  abstract getItem(index: number): T | Promise<T>;
}

/**
 * A stream of items (torch.utils.data.IterableDataset): no length, no random access; a
 * {@link DataLoader} batches items in the order `iterate()` gives them (no shuffling, no
 * sampler). The same ownership rule as {@link Dataset} applies.
 * @example
 * ```ts
 * import { IterableDataset } from '@ghostflow/nn';
 * declare function readLines(path: string): AsyncIterable<string>; // your reader
 * class Lines extends IterableDataset<string> {
 *   async *iterate() { for await (const line of readLines('corpus.txt')) yield line; }
 * }
 * ```
 */
export abstract class IterableDataset<T> {
  /** The items (torch's `__iter__`): an iterable or an async iterable, e.g. a generator. */
  abstract iterate(): Iterable<T> | AsyncIterable<T>;
}
