/**
 * GhostFlow's random number generator. Numbers are drawn on the host from a Philox4x32-10
 * stream and uploaded, so every backend sees the same values for the same seed.
 *
 * The streams are GhostFlow's own: `manualSeed(0)` does not reproduce PyTorch's numbers
 * (PyTorch uses mt19937 on CPU and a different Philox layout on CUDA). What is guaranteed
 * is that a seed gives the same sequence on every backend and platform.
 */
import { GhostFlowError } from '../errors.js';
import { sharedSlot } from '../global-state.js';
import { philoxFill } from './philox.js';

const TWO_POW_32 = 4294967296;
/** The seed a fresh generator starts from, so runs are reproducible without `manualSeed`. */
export const DEFAULT_SEED = 0x1badf00d;

/** A seedable stream of random numbers (Philox4x32-10 keyed by the seed). */
export class Generator {
  private key0 = 0;
  private key1 = 0;
  /** Next unused 128-bit counter block, as a double (exact up to 2^53 blocks). */
  private offset = 0;
  private seedValue = 0;

  /** A generator seeded with `seed` (default `DEFAULT_SEED`, 0x1badf00d). */
  constructor(seed: number = DEFAULT_SEED) {
    this.manualSeed(seed);
  }

  /** The seed last set. */
  get initialSeed(): number {
    return this.seedValue;
  }

  /**
   * Restarts the stream from `seed` (a non-negative integer below 2^53; the low and high
   * 32-bit halves form the Philox key).
   */
  manualSeed(seed: number): this {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new GhostFlowError(`manualSeed expects a non-negative integer below 2^53, got ${String(seed)}`);
    }
    this.seedValue = seed;
    this.key0 = (seed % TWO_POW_32) >>> 0;
    this.key1 = Math.floor(seed / TWO_POW_32) >>> 0;
    this.offset = 0;
    return this;
  }

  /** The state needed to replay the stream from here (see {@link setState}). */
  getState(): { seed: number; offset: number } {
    return { seed: this.seedValue, offset: this.offset };
  }

  /** Restores a state from {@link getState}. */
  setState(state: { seed: number; offset: number }): this {
    this.manualSeed(state.seed);
    this.offset = state.offset;
    return this;
  }

  /**
   * The next `n` raw uint32 values. Consumes whole 4-word blocks, so a call's values do not
   * depend on how earlier calls were split beyond their block counts.
   */
  nextUint32(n: number): Uint32Array {
    const out = new Uint32Array(n);
    philoxFill(out, n, this.offset, this.key0, this.key1);
    this.offset += Math.ceil(n / 4);
    return out;
  }

  /** `n` uniform floats in [0, 1) on the float32 grid (24 random bits each, never rounds up to 1). */
  uniform(n: number): Float32Array {
    const bits = this.nextUint32(n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (bits[i] >>> 8) * 2 ** -24;
    return out;
  }

  /** `n` standard normal values (Box–Muller on pairs of 32-bit uniforms in (0, 1)). */
  normal(n: number): Float32Array {
    const pairs = Math.ceil(n / 2);
    const bits = this.nextUint32(pairs * 2);
    const out = new Float32Array(n);
    for (let p = 0; p < pairs; p++) {
      // +0.5 keeps u1 strictly inside (0, 1), so log(u1) is finite.
      const u1 = (bits[2 * p] + 0.5) / TWO_POW_32;
      const u2 = (bits[2 * p + 1] + 0.5) / TWO_POW_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      out[2 * p] = r * Math.cos(theta);
      if (2 * p + 1 < n) out[2 * p + 1] = r * Math.sin(theta);
    }
    return out;
  }

  /** `n` integers uniform in [low, high) (53 random bits per draw, so the bias is negligible). */
  integers(n: number, low: number, high: number): Float64Array {
    const bits = this.nextUint32(n * 2);
    const span = high - low;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = ((bits[2 * i] >>> 11) * TWO_POW_32 + bits[2 * i + 1]) / 2 ** 53;
      out[i] = low + Math.min(Math.floor(u * span), span - 1);
    }
    return out;
  }
}

/** The global generator behind `rand`, `randn`, ... (reseed it with `manualSeed`): one per process (see global-state.ts). */
export const defaultGenerator: Generator = sharedSlot('defaultGenerator', () => new Generator());
