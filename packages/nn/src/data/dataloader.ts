/** DataLoader: batches of a dataset, shuffled, collated and prefetched (torch.utils.data.DataLoader). */
import { type Generator as RandomGenerator, GhostFlowError, heldTensors, tidy } from '@ghostflow/core';
import { type CollateFn, defaultCollate } from './collate.js';
import { Dataset, IterableDataset } from './dataset.js';
import { BatchSampler, type BatchIndexSampler, RandomSampler, type Sampler, SequentialSampler } from './sampler.js';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). `null`: no batching, each item is yielded as it is (not collated). */
  batchSize?: number | null;
  /** A new random order each epoch (default false); not with `sampler`/`batchSampler`. */
  shuffle?: boolean;
  /**
   * The stream `shuffle` draws from (core's `Generator`; default: the loader's own, seeded with
   * 0). The order is GhostFlow's own: a seed does not reproduce PyTorch's order.
   */
  generator?: RandomGenerator;
  /** The order of indices (default sequential, or random with `shuffle`). */
  sampler?: Sampler;
  /** Batches of indices; replaces `batchSize`, `shuffle`, `sampler` and `dropLast`. */
  batchSampler?: BatchIndexSampler;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Items → batch (default {@link defaultCollate}; see also padCollate, packCollate). */
  collateFn?: CollateFn<T, B>;
  /**
   * Prepare the next batch while the current one is used (default true; async iteration only).
   * It overlaps with an asynchronous `getItem` (files, network); synchronous work still runs
   * on the one JavaScript thread.
   */
  prefetch?: boolean;
  /**
   * Hand each batch's tensors to the consumer (default false: the loader disposes a batch when
   * the loop moves to the next one, or ends, or breaks, so epochs do not leak; `keep()` or
   * `clone()` what must outlive its step).
   */
  keepBatches?: boolean;
}

/** Every tensor (or PackedSequence) in a nested structure of arrays, plain objects and maps. */
function resources(value: unknown, into: Set<{ dispose(): void }>, seen = new Set<unknown>()): Set<{ dispose(): void }> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return into;
  seen.add(value);
  if (typeof (value as { [heldTensors]?: unknown })[heldTensors] === 'function') {
    into.add(value as { dispose(): void });
    return into;
  }
  if (typeof (value as { dispose?: unknown }).dispose === 'function' && 'isDisposed' in value) {
    into.add(value as unknown as { dispose(): void });
    return into;
  }
  if (Array.isArray(value)) for (const v of value) resources(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) resources(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) resources(v, into, seen);
  return into;
}

/** Disposes every tensor (and PackedSequence) in `value`, except those in `except`. */
function disposeAll(value: unknown, except: unknown = null): void {
  const keepSet = resources(except, new Set());
  for (const r of resources(value, new Set())) if (!keepSet.has(r)) r.dispose();
}

/**
 * Iterates a dataset in batches (torch.utils.data.DataLoader): indices from a sampler (in
 * order, or a new random order each epoch with `shuffle`), grouped by `batchSize` (the last
 * batch dropped with `dropLast`), items collated by `collateFn`. Iterate it with `for await`
 * (prefetches the next batch; works with async `getItem` and async iterable datasets) or with
 * a plain `for` (synchronous datasets only). Each pass is one epoch.
 *
 * Memory: the loader disposes the items once collated, and each batch when the loop moves on
 * (unless `keepBatches`), so a training loop leaks nothing across epochs.
 * @example
 * ```ts
 * import { Generator, randint, randn, tidy } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { DataLoader, Linear, SGD, TensorDataset, crossEntropy } from '@ghostflow/nn';
 * const x = randn([256, 10]);
 * const y = randint(0, 3, [256]);
 * const model = new Linear(10, 3);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 32, shuffle: true, generator: new Generator(0) });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const [xb, yb] of loader) {
 *     const loss = tidy(() => crossEntropy(model.forward(xb), yb));
 *     loss.backward(); opt.step(); opt.zeroGrad(); loss.dispose();
 *   }
 * }
 * ```
 */
export class DataLoader<T, B = ReturnType<typeof defaultCollate<T>>> implements AsyncIterable<B>, Iterable<B> {
  /** Items per batch (`null`: unbatched). */
  readonly batchSize: number | null;
  /** Whether the last smaller batch is dropped. */
  readonly dropLast: boolean;
  /** The index order (null for an IterableDataset or with a batchSampler). */
  readonly sampler: Sampler | null;
  /** The batches of indices (null for an IterableDataset or when unbatched). */
  readonly batchSampler: BatchIndexSampler | null;
  private readonly collate: CollateFn<T, B>;
  private readonly prefetch: boolean;
  private readonly keepBatches: boolean;

  /**
   * @param dataset a map-style {@link Dataset} or an {@link IterableDataset}
   * @param options batching, order, collation
   */
  constructor(
    readonly dataset: Dataset<T> | IterableDataset<T>,
    options: DataLoaderOptions<T, B> = {},
  ) {
    const batchSize = options.batchSize === undefined ? 1 : options.batchSize;
    this.dropLast = options.dropLast ?? false;
    this.collate = options.collateFn ?? (defaultCollate as unknown as CollateFn<T, B>);
    this.prefetch = options.prefetch ?? true;
    this.keepBatches = options.keepBatches ?? false;
    if (batchSize !== null && (!Number.isInteger(batchSize) || batchSize < 1))
      throw new GhostFlowError(`DataLoader: batchSize should be a positive integer value or null, but got batchSize=${batchSize}`);
    if (dataset instanceof IterableDataset) {
      if (options.shuffle || options.sampler || options.batchSampler)
        throw new GhostFlowError('DataLoader with IterableDataset: expected unspecified shuffle, sampler and batchSampler options');
      this.batchSize = batchSize;
      this.sampler = null;
      this.batchSampler = null;
      return;
    }
    if (!(dataset instanceof Dataset) && typeof (dataset as Partial<Dataset<T>>).getItem !== 'function')
      throw new GhostFlowError('DataLoader: dataset must be a Dataset (length + getItem) or an IterableDataset (iterate)');
    if (options.sampler && options.shuffle) throw new GhostFlowError('DataLoader: sampler option is mutually exclusive with shuffle');
    if (options.batchSampler) {
      if (options.batchSize !== undefined || options.shuffle || options.sampler || options.dropLast)
        throw new GhostFlowError('DataLoader: batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast');
      this.batchSize = null;
      this.sampler = null;
      this.batchSampler = options.batchSampler;
      return;
    }
    this.batchSize = batchSize;
    const ds = dataset as Dataset<T>;
    this.sampler =
      options.sampler ??
      (options.shuffle ? new RandomSampler(ds.length, { generator: options.generator }) : new SequentialSampler(ds.length));
    this.batchSampler = batchSize === null ? null : new BatchSampler(this.sampler, batchSize, this.dropLast);
  }

  /** Batches per epoch (torch's `len(loader)`); throws for an IterableDataset. */
  get length(): number {
    if (this.batchSampler) return this.batchSampler.length;
    if (this.sampler) return this.sampler.length;
    throw new GhostFlowError('DataLoader over an IterableDataset has no length');
  }

  /** The batches of index lists (each unbatched index as a list of one). */
  private *indexBatches(): Generator<number[] | number> {
    if (this.batchSampler) yield* this.batchSampler;
    else for (const i of this.sampler as Sampler) yield i;
  }

  /** Collates loaded items (in a tidy, so a collate's temporaries go) and frees the items. */
  private finish(items: T[] | T, unbatched: boolean): B {
    if (unbatched) return items as unknown as B;
    const batch = tidy(() => this.collate(items as T[]));
    disposeAll(items, batch);
    return batch;
  }

  /** Groups an iterable dataset's items. */
  private async *streamBatches(): AsyncGenerator<B> {
    const source = (this.dataset as IterableDataset<T>).iterate();
    let pending: T[] = [];
    for await (const item of source as AsyncIterable<T>) {
      if (this.batchSize === null) {
        yield item as unknown as B;
        continue;
      }
      pending.push(item);
      if (pending.length === this.batchSize) {
        const items = pending;
        pending = [];
        yield this.finish(items, false);
      }
    }
    if (pending.length > 0 && !this.dropLast) yield this.finish(pending, false);
    else disposeAll(pending);
  }

  /** One epoch, asynchronously, with the next batch prepared while this one is used. */
  async *[Symbol.asyncIterator](): AsyncGenerator<B> {
    if (this.dataset instanceof IterableDataset) {
      let previous: B | null = null;
      try {
        for await (const batch of this.streamBatches()) {
          if (previous !== null && !this.keepBatches) disposeAll(previous);
          previous = batch;
          yield batch;
        }
      } finally {
        if (previous !== null && !this.keepBatches) disposeAll(previous);
      }
      return;
    }
    const ds = this.dataset as Dataset<T>;
    const unbatched = this.batchSampler === null;
    const load = async (idx: number[] | number): Promise<B> => {
      const items = Array.isArray(idx) ? await Promise.all(idx.map((i) => ds.getItem(i))) : await ds.getItem(idx);
      return this.finish(items as T[] | T, unbatched);
    };
    const order = this.indexBatches();
    let next: Promise<B> | null = null;
    let current: B | null = null;
    const start = (): Promise<B> | null => {
      const r = order.next();
      if (r.done) return null;
      const p = load(r.value);
      p.catch(() => {}); // observed when awaited; avoids an unhandled rejection while prefetched
      return p;
    };
    try {
      next = start();
      while (next !== null) {
        const ready: B = await next;
        next = null;
        if (current !== null && !this.keepBatches) disposeAll(current);
        current = ready;
        if (this.prefetch) next = start();
        yield ready;
        if (!this.prefetch) next = start();
      }
    } finally {
      if (current !== null && !this.keepBatches) disposeAll(current);
      // A batch prefetched for a loop that stopped early.
      if (next !== null) {
        const orphan = await next.catch(() => null);
        if (orphan !== null && !this.keepBatches) disposeAll(orphan);
      }
    }
  }

  /** One epoch, synchronously (a map-style dataset whose `getItem` returns items, not promises). */
  *[Symbol.iterator](): Iterator<B> {
    let source: Iterable<T> | null = null;
    if (this.dataset instanceof IterableDataset) {
      const src = this.dataset.iterate();
      if (typeof (src as Partial<Iterable<T>>)[Symbol.iterator] !== 'function')
        throw new GhostFlowError('DataLoader: this IterableDataset is asynchronous: iterate the loader with for await');
      source = src as Iterable<T>;
    }
    const ds = this.dataset;
    const unbatched = this.batchSize === null && this.batchSampler === null;
    let current: B | null = null;
    const itemOf = (i: number): T => {
      const item = (ds as Dataset<T>).getItem(i);
      if (item instanceof Promise) throw new GhostFlowError('DataLoader: getItem returned a promise: iterate the loader with for await');
      return item;
    };
    try {
      if (source !== null) {
        let pending: T[] = [];
        for (const item of source) {
          if (this.batchSize === null) {
            if (current !== null && !this.keepBatches) disposeAll(current);
            current = item as unknown as B;
            yield current;
            continue;
          }
          pending.push(item);
          if (pending.length === this.batchSize) {
            if (current !== null && !this.keepBatches) disposeAll(current);
            current = this.finish(pending, false);
            pending = [];
            yield current;
          }
        }
        if (pending.length > 0 && !this.dropLast) {
          if (current !== null && !this.keepBatches) disposeAll(current);
          current = this.finish(pending, false);
          yield current;
        } else disposeAll(pending);
        return;
      }
      for (const idx of this.indexBatches()) {
        const items = Array.isArray(idx) ? idx.map(itemOf) : itemOf(idx);
        const batch = this.finish(items, unbatched);
        if (current !== null && !this.keepBatches) disposeAll(current);
        current = batch;
        yield batch;
      }
    } finally {
      if (current !== null && !this.keepBatches) disposeAll(current);
    }
  }
}
