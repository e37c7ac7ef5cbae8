/**
 * Sampling indices (`torch.multinomial`, `torch.randperm`) from GhostFlow's seeded
 * generator. The random numbers are drawn on the host (so a seed gives the same samples on
 * every backend); the probabilities never leave the device except for PyTorch's argument
 * checks on backends that can read synchronously (see {@link multinomial}).
 * Streams are GhostFlow's own, not PyTorch's.
 */
import { findBackend, getBackend } from '../backend/registry.js';
import { noGrad } from '../autograd/grad-mode.js';
import { DTypeError, GhostFlowError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { type Generator, defaultGenerator } from '../random/generator.js';
import { formatShape } from '../shape.js';
import { uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, le } from './binary.js';
import type { CreationOptions } from './creation.js';
import { cumsum } from './cumulative.js';
import { cat } from './join.js';
import { argmax, sum } from './reduce.js';
import { topk } from './sort.js';
import { cast } from './unary.js';
import { narrow, reshape, unsqueeze } from './view.js';

/** Options of {@link multinomial}. */
export interface MultinomialOptions {
  /** Draw with replacement (default false: each row's samples are distinct categories). */
  replacement?: boolean;
  /** Draw from this generator instead of the global one. */
  generator?: Generator;
}

/** Largest number of comparison cells one with-replacement chunk materialises. */
const SAMPLE_BLOCK_ELEMENTS = 1 << 22;

/** PyTorch's value checks, on the host, only where reading is synchronous (free). */
function checkProbabilities(probs: Tensor, rows: number, n: number): void {
  if (!probs.backend.readSync) return;
  const v = probs.dataSync() as Float32Array;
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const p = v[r * n + i];
      if (!(p >= 0) || p === Number.POSITIVE_INFINITY) {
        throw new GhostFlowError('multinomial(): probability tensor contains either `inf`, `nan` or element < 0');
      }
      total += p;
    }
    if (!(total > 0)) throw new GhostFlowError('multinomial(): invalid multinomial distribution (sum of probabilities <= 0)');
  }
}

/**
 * Draws `numSamples` category indices per row of `probs` (`torch.multinomial`). `probs` is
 * 1-D `[n]` or 2-D `[rows, n]` of non-negative weights (need not sum to 1); the result is
 * int32 `[numSamples]` or `[rows, numSamples]`.
 * - With replacement: inverse-CDF sampling, one uniform per sample against the row's
 *   normalised cumulative sum (a zero weight is never drawn).
 * - Without replacement: the exponential-race trick PyTorch 1.13 uses (the top `numSamples`
 *   of `p / E` with `E ~ Exp(1)`), i.e. successive draws without putting back.
 * Errors as PyTorch: rank not 1 or 2, `numSamples <= 0`, `numSamples > n` without
 * replacement, more than 2^24 categories; negative, inf or NaN weights and rows summing to
 * 0 are detected on backends with synchronous reads (cpu); on asynchronous ones checking
 * would stall the queue, so such input gives unspecified samples (as CUDA PyTorch's
 * device-side assert, minus the assert).
 * @param probs float32 weights
 * @param numSamples samples per row
 * @param options `replacement` (default false), `generator`
 */
export function multinomial(probs: Tensor, numSamples: number, options: MultinomialOptions = {}): Tensor {
  probs.assertAlive();
  if (probs.dtype !== 'float32') throw new DTypeError(`multinomial(): expected a float32 probability tensor, got dtype ${probs.dtype}`);
  if (probs.rank !== 1 && probs.rank !== 2)
    throw new ShapeError(`multinomial(): prob_dist must be 1 or 2 dim, got ${formatShape(probs.shape)}`);
  if (!Number.isInteger(numSamples) || numSamples <= 0) {
    throw new GhostFlowError(`multinomial(): cannot sample n_sample <= 0 samples (got ${numSamples})`);
  }
  const n = probs.shape[probs.rank - 1];
  const rows = probs.rank === 2 ? probs.shape[0] : 1;
  const replacement = options.replacement ?? false;
  if (!replacement && numSamples > n) {
    throw new GhostFlowError(
      `multinomial(): cannot sample n_sample > prob_dist.size(-1) samples without replacement (n_sample = ${numSamples}, categories = ${n})`,
    );
  }
  if (n > 2 ** 24) throw new GhostFlowError(`multinomial(): number of categories cannot exceed 2^24, got ${n}`);
  if (n === 0) throw new GhostFlowError('multinomial(): invalid multinomial distribution (sum of probabilities <= 0)');
  checkProbabilities(probs, rows, n);
  const generator = options.generator ?? defaultGenerator;
  return noGrad(() =>
    tidy(() => {
      const p = reshape(probs, [rows, n]);
      let out: Tensor;
      if (replacement) {
        const cdf = cumsum(p, 1);
        // Dividing by the row total makes the last entry exactly 1, so u < 1 always lands.
        const normalised = unsqueeze(div(cdf, narrow(cdf, 1, n - 1, 1)), 1); // [rows, 1, n]
        const block = Math.max(1, Math.floor(SAMPLE_BLOCK_ELEMENTS / Math.max(1, rows * n)));
        const u = uploadTensor(probs.backend, generator.uniform(rows * numSamples), [rows, numSamples, 1], 'float32');
        const parts: Tensor[] = [];
        for (let s = 0; s < numSamples; s += block) {
          const len = Math.min(block, numSamples - s);
          // The drawn category is the number of cumulative weights <= u.
          parts.push(sum(cast(le(normalised, narrow(u, 1, s, len)), 'int32'), 2));
        }
        out = parts.length === 1 ? parts[0] : cat(parts, 1);
      } else {
        const uniforms = generator.uniform(rows * n);
        // Shifted half a grid step, u is in (0, 1): E = -log u is finite and positive.
        const e = new Float32Array(rows * n);
        for (let i = 0; i < e.length; i++) e[i] = -Math.log(uniforms[i] + 2 ** -25);
        const race = div(p, uploadTensor(probs.backend, e, [rows, n], 'float32'));
        out = numSamples === 1 ? argmax(race, 1, true) : topk(race, numSamples, 1).indices;
      }
      return probs.rank === 1 ? reshape(out, [numSamples]) : out;
    }),
  );
}

/** Options of {@link randperm}. */
export interface RandpermOptions extends Omit<CreationOptions, 'requiresGrad'> {
  /** Draw from this generator instead of the global one. */
  generator?: Generator;
}

/**
 * A random permutation of `0 .. n-1` (`torch.randperm`), int32 by default (PyTorch: int64)
 * or float32. A Fisher–Yates shuffle on the host with 53-bit uniform draws from the seeded
 * generator, then one upload.
 * @param n the length (non-negative integer below 2^31)
 * @param options `generator`, `dtype` ('int32' or 'float32'), `device`
 */
export function randperm(n: number, options: RandpermOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0 || n > 2147483647) throw new GhostFlowError(`randperm(): n must be a non-negative integer, got ${n}`);
  const dtype = options.dtype ?? 'int32';
  if (dtype !== 'int32' && dtype !== 'float32') throw new DTypeError(`randperm(): dtype must be int32 or float32, got ${dtype}`);
  if (dtype === 'float32' && n > 2 ** 24) throw new GhostFlowError(`randperm(): n = ${n} is not exactly representable in float32`);
  const backend = options.device !== undefined ? findBackend(options.device) : getBackend();
  const generator = options.generator ?? defaultGenerator;
  const perm = new Float64Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const bits = generator.nextUint32(2 * n);
  for (let i = n - 1; i > 0; i--) {
    const u = ((bits[2 * i] >>> 11) * 4294967296 + bits[2 * i + 1]) / 2 ** 53;
    const j = Math.floor(u * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const values = dtype === 'int32' ? Int32Array.from(perm) : Float32Array.from(perm);
  return uploadTensor(backend, values, [n], dtype);
}
