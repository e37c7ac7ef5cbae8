/**
 * Random tensors from core's seedable generator: identical numbers on every backend.
 *
 * Values are drawn on the host from GhostFlow's Philox4x32-10 stream (`src/random/`) and
 * uploaded. The streams are GhostFlow's own, not PyTorch's: the same seed gives the same
 * numbers on every GhostFlow backend, but not the numbers `torch.manual_seed` gives.
 */
import { checkAllocation } from '../allocation.js';
import { findBackend, getBackend } from '../backend/registry.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { DType } from '../dtype.js';
import { DTypeError, GhostFlowError } from '../errors.js';
import { type Generator, defaultGenerator } from '../random/generator.js';
import { sizeOf } from '../shape.js';
import { uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { lt } from './binary.js';
import type { CreationOptions } from './creation.js';
import { castUnrecorded, isTensor } from './elementwise.js';
import { broadcastTo } from './view.js';

export { Generator } from '../random/generator.js';

/** Creation options plus an optional generator (default: the global one `manualSeed` sets). */
export interface RandomOptions extends CreationOptions {
  /** Draw from this generator instead of the global one. */
  generator?: Generator;
}

/** Reseeds the global generator (a non-negative integer below 2^53). */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}

/** A generator's position: its seed and the next unused Philox block (see {@link getRngState}). */
export interface RngState {
  /** The seed. */
  seed: number;
  /** Next unused 128-bit counter block. */
  offset: number;
}

/**
 * The global generator's state (torch.get_rng_state), to save with a checkpoint and restore
 * with {@link setRngState}, so random draws (dropout, sampling) continue where they left off.
 *
 * @example
 * ```ts
 * import { getRngState, rand, setRngState } from '@ghostflow/core';
 * const saved = getRngState();
 * const a = rand([3]);
 * setRngState(saved);
 * const b = rand([3]); // same values as a
 * ```
 */
export function getRngState(): RngState {
  return defaultGenerator.getState();
}

/** Restores the global generator's state from {@link getRngState} (torch.set_rng_state). */
export function setRngState(state: RngState): void {
  if (typeof state !== 'object' || state === null || !Number.isInteger(state.offset) || state.offset < 0 || typeof state.seed !== 'number')
    throw new GhostFlowError(`setRngState: expected { seed, offset } from getRngState(), got ${JSON.stringify(state)}`);
  defaultGenerator.setState(state);
}

function prepare(shape: readonly number[], options: RandomOptions | undefined, what: string, dtypes: readonly DType[], fallback: DType) {
  const dtype = options?.dtype ?? fallback;
  if (!dtypes.includes(dtype)) throw new DTypeError(`${what} supports dtype ${dtypes.join(' or ')}, got ${dtype}`);
  checkAllocation(what, shape, dtype);
  const backend = options?.device !== undefined ? findBackend(options.device) : getBackend();
  return { dtype, backend, generator: options?.generator ?? defaultGenerator, size: sizeOf(shape) };
}

function finish(t: Tensor, options: CreationOptions | undefined): Tensor {
  if (options?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Uniform in [0, 1), float32 with 24 random bits per value. */
export function rand(shape: readonly number[], options?: RandomOptions): Tensor {
  const { backend, generator, size } = prepare(shape, options, 'rand()', ['float32'], 'float32');
  return finish(uploadTensor(backend, generator.uniform(size), [...shape], 'float32'), options);
}

/**
 * Standard normal (Box–Muller), float32.
 *
 * @example
 * ```ts
 * import { manualSeed, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * manualSeed(42); // reproducible draws
 * const w = randn([3, 4], { requiresGrad: true });
 * ```
 */
export function randn(shape: readonly number[], options?: RandomOptions): Tensor {
  const { backend, generator, size } = prepare(shape, options, 'randn()', ['float32'], 'float32');
  return finish(uploadTensor(backend, generator.normal(size), [...shape], 'float32'), options);
}

/** Integers uniform in [low, high); int32 unless options.dtype says float32. */
export function randint(low: number, high: number, shape: readonly number[], options?: RandomOptions): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new GhostFlowError(`randint(): needs integers low < high, got low ${low} and high ${high}`);
  }
  if (low < -2147483648 || high > 2147483648) throw new GhostFlowError(`randint(): [${low}, ${high}) exceeds the int32 range`);
  const { dtype, backend, generator, size } = prepare(shape, options, 'randint()', ['int32', 'float32'], 'int32');
  const values = generator.integers(size, low, high);
  const stored = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
  return finish(uploadTensor(backend, stored, [...shape], dtype), options);
}

/**
 * 1 with probability p, else 0; float32. `p` is a number (then `shape` gives the shape,
 * default 0-d) or a float tensor of probabilities (then the output has its shape, or
 * `shape` when given, to which `p` broadcasts). Computed as `uniform < p` on the backend,
 * so a tensor `p` is never read back. Not differentiable.
 */
export function bernoulli(p: Tensor | number, shape?: readonly number[], options?: RandomOptions): Tensor {
  if (!isTensor(p)) {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new GhostFlowError(`bernoulli(): p must be in [0, 1], got ${String(p)}`);
  } else checkProbabilities(p);
  const outShape = shape ?? (isTensor(p) ? p.shape : []);
  const device = options?.device ?? (isTensor(p) ? p.device : undefined);
  return noGrad(() => {
    const u = rand(outShape, { generator: options?.generator, device });
    const probs = isTensor(p) && !sameShape(p.shape, outShape) ? broadcastTo(p, outShape) : p;
    const hit = lt(u, probs);
    const out = castUnrecorded(hit, 'float32');
    for (const t of [u, hit, ...(probs !== p && isTensor(probs) ? [probs] : [])]) t.dispose();
    return out;
  });
}

/**
 * PyTorch refuses a probability outside [0, 1] (NaN included). Checked where the backend reads
 * synchronously; elsewhere reading `p` back would stall the queue, so there it is the
 * caller's contract (as for index ranges).
 */
function checkProbabilities(p: Tensor): void {
  p.assertAlive();
  if (!p.backend.readSync || p.size === 0) return;
  const values = p.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) {
      throw new GhostFlowError(`bernoulli(): expected every probability in p to satisfy 0 <= p <= 1, got ${v} at flat index ${i}`);
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Uniform [0, 1) with `x`'s shape and device (float32). */
export function randLike(x: Tensor, options?: RandomOptions): Tensor {
  x.assertAlive();
  return rand(x.shape, { ...options, device: options?.device ?? x.device });
}

/** Standard normal with `x`'s shape and device (float32). */
export function randnLike(x: Tensor, options?: RandomOptions): Tensor {
  x.assertAlive();
  return randn(x.shape, { ...options, device: options?.device ?? x.device });
}
