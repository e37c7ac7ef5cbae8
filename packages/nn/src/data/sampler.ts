/**
 * Samplers (torch.utils.data.Sampler family): the order in which a DataLoader reads a
 * map-style dataset, and how indices are grouped into batches.
 */
import { Generator, GhostFlowError } from '@ghostflow/core';

/** An epoch's indices (torch.utils.data.Sampler): iterated once per epoch. */
export interface Sampler extends Iterable<number> {
  /** Indices per epoch. */
  readonly length: number;
}

/** An epoch's batches of indices (what `batchSampler` gives a DataLoader). */
export interface BatchIndexSampler extends Iterable<number[]> {
  /** Batches per epoch. */
  readonly length: number;
}

/**
 * A uniformly random permutation of `0 .. n-1` drawn on the host from `generator`
 * (Fisher-Yates with 53-bit draws, the algorithm of core's `randperm`: the same permutation
 * for the same generator state).
 */
export function permutation(n: number, generator: Generator): number[] {
  const perm = Array.from({ length: n }, (_, i) => i);
  const bits = generator.nextUint32(2 * n);
  for (let i = n - 1; i > 0; i--) {
    const u = ((bits[2 * i] >>> 11) * 4294967296 + bits[2 * i + 1]) / 2 ** 53;
    const j = Math.floor(u * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/**
 * `0, 1, ..., length-1` (torch.utils.data.SequentialSampler).
 * @example
 * ```ts
 * import { SequentialSampler } from '@ghostflow/nn';
 * [...new SequentialSampler(3)]; // [0, 1, 2]
 * ```
 */
export class SequentialSampler implements Sampler {
  /** @param length the dataset's length */
  constructor(readonly length: number) {}

  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.length; i++) yield i;
  }
}

/** Options of {@link RandomSampler}. */
export interface RandomSamplerOptions {
  /**
   * The random stream (core's `Generator`). Default: a generator of the sampler's own, seeded
   * with 0. Unlike PyTorch, the global `manualSeed` does not reach it: pass a generator to
   * choose the stream.
   */
  generator?: Generator;
}

/**
 * A new random permutation each epoch (torch.utils.data.RandomSampler without replacement).
 * The order is GhostFlow's own (Philox stream, Fisher-Yates): the same seed does NOT give
 * PyTorch's order, but always gives the same order here, on every backend.
 * @example
 * ```ts
 * import { Generator } from '@ghostflow/core';
 * import { RandomSampler } from '@ghostflow/nn';
 * const s = new RandomSampler(10, { generator: new Generator(42) });
 * const epoch1 = [...s]; // a permutation of 0..9; the next epoch draws another
 * ```
 */
export class RandomSampler implements Sampler {
  /** The stream the permutations are drawn from. */
  readonly generator: Generator;

  /** @param length the dataset's length */
  constructor(
    readonly length: number,
    options: RandomSamplerOptions = {},
  ) {
    this.generator = options.generator ?? new Generator(0);
  }

  *[Symbol.iterator](): Iterator<number> {
    yield* permutation(this.length, this.generator);
  }
}

/**
 * Groups a sampler's indices into lists of `batchSize` (torch.utils.data.BatchSampler); the
 * last, smaller batch is dropped with `dropLast`.
 * @example
 * ```ts
 * import { BatchSampler, SequentialSampler } from '@ghostflow/nn';
 * [...new BatchSampler(new SequentialSampler(5), 2, false)]; // [[0, 1], [2, 3], [4]]
 * ```
 */
export class BatchSampler implements BatchIndexSampler {
  /**
   * @param sampler the indices
   * @param batchSize indices per batch (positive integer)
   * @param dropLast drop the last batch when it is smaller
   */
  constructor(
    readonly sampler: Sampler,
    readonly batchSize: number,
    readonly dropLast: boolean,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new GhostFlowError(`batchSize should be a positive integer value, but got batchSize=${batchSize}`);
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.sampler.length / this.batchSize) : Math.ceil(this.sampler.length / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}
