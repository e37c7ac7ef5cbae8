/**
 * DistributedSampler: which dataset indices this rank trains on. Every rank shuffles the same
 * way (same seed + epoch), then takes every worldSize-th index starting at its rank, so the
 * ranks see disjoint shares of equal length (PyTorch's DistributedSampler).
 */
import { DistributedError } from './errors.js';
import { getProcessGroup, isInitialized } from './process-group.js';

/** Options of {@link DistributedSampler}. */
export interface DistributedSamplerOptions {
  /** Number of shares. Default: the process group's world size (1 without a group). */
  numReplicas?: number;
  /** This share. Default: the process group's rank (0 without a group). */
  rank?: number;
  /** Shuffle each epoch. Default true. */
  shuffle?: boolean;
  /** Base seed, the same on every rank. Default 0. */
  seed?: number;
  /**
   * Drop the tail so every share has `floor(n / numReplicas)` indices. Default false: pad by
   * repeating indices from the start so every share has `ceil(n / numReplicas)`.
   */
  dropLast?: boolean;
}

/**
 * Indices of a dataset of `datasetLength` items for one rank. Call `setEpoch(e)` at the start
 * of each epoch so the shuffle changes from epoch to epoch (identically on every rank). The
 * permutation comes from GhostFlow's own seeded generator, so it is not PyTorch's sequence.
 */
export class DistributedSampler implements Iterable<number> {
  /** Number of shares. */
  readonly numReplicas: number;
  /** This rank's share. */
  readonly rank: number;
  /** Indices per share. */
  readonly numSamples: number;
  /** numSamples × numReplicas. */
  readonly totalSize: number;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private epoch = 0;

  constructor(
    /** Number of items in the dataset. */
    readonly datasetLength: number,
    options: DistributedSamplerOptions = {},
  ) {
    if (!Number.isInteger(datasetLength) || datasetLength < 0) {
      throw new DistributedError(`DistributedSampler: datasetLength must be a non-negative integer, got ${datasetLength}`);
    }
    const pg = isInitialized() ? getProcessGroup() : null;
    this.numReplicas = options.numReplicas ?? pg?.worldSize() ?? 1;
    this.rank = options.rank ?? pg?.rank() ?? 0;
    if (!Number.isInteger(this.numReplicas) || this.numReplicas < 1) {
      throw new DistributedError(`DistributedSampler: numReplicas must be a positive integer, got ${this.numReplicas}`);
    }
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas) {
      throw new DistributedError(`DistributedSampler: rank must be in [0, ${this.numReplicas - 1}], got ${this.rank}`);
    }
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    const n = datasetLength;
    const r = this.numReplicas;
    this.numSamples = this.dropLast && n % r !== 0 ? Math.floor(n / r) : Math.ceil(n / r);
    this.totalSize = this.numSamples * r;
  }

  /** Sets the epoch, which changes the shuffle (the same way on every rank). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** Number of indices this rank gets per epoch. */
  get length(): number {
    return this.numSamples;
  }

  /** This rank's indices for the current epoch. */
  indices(): number[] {
    const n = this.datasetLength;
    const order = Array.from({ length: n }, (_, i) => i);
    if (this.shuffle) {
      const random = mulberry32(hashSeed(this.seed, this.epoch));
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    let all: number[];
    if (this.dropLast) all = order.slice(0, this.totalSize);
    else {
      all = order;
      while (all.length < this.totalSize && n > 0) all = all.concat(order.slice(0, this.totalSize - all.length));
    }
    const mine: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) mine.push(all[i]);
    return mine;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}

function hashSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch | 0, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
