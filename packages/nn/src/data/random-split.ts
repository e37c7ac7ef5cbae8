/** randomSplit: disjoint random subsets of a dataset (torch.utils.data.random_split). */
import { Generator, GhostFlowError } from '@ghostflow/core';
import type { Dataset } from './dataset.js';
import { permutation } from './sampler.js';
import { Subset } from './subset.js';

/** Options of {@link randomSplit}. */
export interface RandomSplitOptions {
  /** The random stream (default a generator seeded with 0; see RandomSampler about PyTorch's order). */
  generator?: Generator;
}

/**
 * Splits `dataset` into non-overlapping random {@link Subset}s of the given lengths, or of the
 * given fractions (summing to 1: each gets `floor(fraction · n)`, and the remainder is dealt
 * one by one to the first parts, as torch does). Which items go where is GhostFlow's own
 * (seeded, reproducible) draw, not PyTorch's.
 * @example
 * ```ts
 * import { Generator, randint, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { TensorDataset, randomSplit } from '@ghostflow/nn';
 * const ds = new TensorDataset(randn([100, 4]), randint(0, 2, [100]));
 * const [train, val] = randomSplit(ds, [0.9, 0.1], { generator: new Generator(42) });
 * ```
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], options: RandomSplitOptions = {}): Subset<T>[] {
  const n = dataset.length;
  let sizes = [...lengths];
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.some((v) => !(v >= 0))) throw new GhostFlowError(`randomSplit: lengths must be non-negative, got [${lengths.join(', ')}]`);
  if (Math.abs(total - 1) <= 1e-6 && total !== n) {
    sizes = sizes.map((f) => Math.floor(n * f));
    let rest = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % sizes.length, rest--) sizes[i] += 1;
  } else if (sizes.some((v) => !Number.isInteger(v)) || total !== n) {
    throw new GhostFlowError(
      `randomSplit: sum of input lengths (${total}) does not equal the length of the input dataset (${n}), and the lengths are not fractions summing to 1: [${lengths.join(', ')}]`,
    );
  }
  const perm = permutation(n, options.generator ?? new Generator(0));
  const out: Subset<T>[] = [];
  let start = 0;
  for (const size of sizes) {
    out.push(new Subset(dataset, perm.slice(start, start + size)));
    start += size;
  }
  return out;
}
