/** Positional encodings: sinusoidal (Vaswani et al.) and rotary (RoPE). */
import { type Tensor, GhostFlowError, ShapeError, cat, formatShape, stack, tensor, tidy } from '@ghostflow/core';
import { dropout } from '../functional/activation.js';
import { Module } from '../module.js';

/**
 * The `[length, dModel]` sinusoidal table of "Attention Is All You Need", rows for positions
 * `offset .. offset + length - 1`: `pe[p, 2i] = sin(p / base^(2i/dModel))`,
 * `pe[p, 2i+1] = cos(p / base^(2i/dModel))` (computed in float64, stored as float32).
 */
export function sinusoidalTable(length: number, dModel: number, options: { offset?: number; base?: number; device?: string } = {}): Tensor {
  const offset = options.offset ?? 0;
  const base = options.base ?? 10000;
  const data = new Float32Array(length * dModel);
  for (let p = 0; p < length; p++) {
    for (let j = 0; j < dModel; j++) {
      const i2 = j - (j % 2);
      const angle = (p + offset) / base ** (i2 / dModel);
      data[p * dModel + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tensor(data, { shape: [length, dModel], device: options.device });
}

/** Options of {@link SinusoidalPositionalEncoding}. */
export interface SinusoidalPositionalEncodingOptions {
  /** Longest sequence (plus offset) supported (default 5000). */
  maxLen?: number;
  /** Dropout after adding the encoding, in training (default 0). */
  dropout?: number;
  /** Inputs are `[batch, seq, dModel]` (default false: `[seq, batch, dModel]`, like nn.Transformer). */
  batchFirst?: boolean;
  /** Frequency base (default 10000). */
  base?: number;
  /** Backend for the table (default the active one). */
  device?: string;
}

/**
 * Adds the fixed sinusoidal position encoding ({@link sinusoidalTable}) to its input, then
 * applies dropout (the PyTorch tutorial's `PositionalEncoding`). The table is a
 * non-persistent buffer `pe` (not in the state dict: it is recomputed from the options).
 */
export class SinusoidalPositionalEncoding extends Module {
  /** Model width. */
  readonly dModel: number;
  /** Rows in the table. */
  readonly maxLen: number;
  /** Dropout probability. */
  readonly p: number;
  /** Whether inputs are batch-first. */
  readonly batchFirst: boolean;
  /** `[maxLen, dModel]`. */
  readonly pe: Tensor;

  /** @param dModel model width */
  constructor(dModel: number, options: SinusoidalPositionalEncodingOptions = {}) {
    super();
    this.dModel = dModel;
    this.maxLen = options.maxLen ?? 5000;
    this.p = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    this.pe = this.registerBuffer(
      'pe',
      sinusoidalTable(this.maxLen, dModel, { base: options.base, device: options.device }),
      false,
    ) as Tensor;
  }

  /**
   * @param x `[seq, batch, dModel]` (`[batch, seq, dModel]` with batchFirst), or `[seq, dModel]`
   * @param offset position of the first element (for incremental decoding; default 0)
   */
  forward(x: Tensor, offset = 0): Tensor {
    const seqDim = x.rank === 3 && this.batchFirst ? 1 : 0;
    const L = x.shape[seqDim];
    if (x.shape[x.rank - 1] !== this.dModel)
      throw new ShapeError(`SinusoidalPositionalEncoding: last dim must be ${this.dModel}, got ${formatShape(x.shape)}`);
    if (offset + L > this.maxLen)
      throw new GhostFlowError(`SinusoidalPositionalEncoding: positions up to ${offset + L} exceed maxLen=${this.maxLen}`);
    return tidy(() => {
      let pe = this.pe.narrow(0, offset, L);
      if (x.rank === 3) pe = this.batchFirst ? pe.unsqueeze(0) : pe.unsqueeze(1);
      return dropout(x.add(pe), this.p, this.training);
    });
  }

  /** `dModel=.., maxLen=..`. */
  override extraRepr(): string {
    return `dModel=${this.dModel}, maxLen=${this.maxLen}, dropout=${this.p}`;
  }
}

/** Options of {@link applyRotaryEmbedding} and {@link RotaryEmbedding}. */
export interface RotaryEmbeddingOptions {
  /** Frequency base θ (default 10000): pair `i` rotates by `pos · base^(-2i/dim)`. */
  base?: number;
  /**
   * Pair layout. `false` (default, "rotate-half", GPT-NeoX/LLaMA): element `i` pairs with
   * `i + dim/2`. `true` ("interleaved", GPT-J/RoFormer): elements `2i` and `2i+1` pair.
   */
  interleaved?: boolean;
}

/** Cos and sin tables `[length, dim/2]` for positions `offset ..`. */
function rotaryTables(length: number, dim: number, offset: number, base: number, device: string): [Tensor, Tensor] {
  const half = dim / 2;
  const c = new Float32Array(length * half);
  const s = new Float32Array(length * half);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (p + offset) * base ** ((-2 * i) / dim);
      c[p * half + i] = Math.cos(angle);
      s[p * half + i] = Math.sin(angle);
    }
  }
  return [tensor(c, { shape: [length, half], device }), tensor(s, { shape: [length, half], device })];
}

/**
 * Rotary position embedding (RoPE, Su et al.) of `x` `[..., seq, dim]` (positions along dim
 * -2, e.g. `[batch, heads, seq, headDim]`): each feature pair `(a, b)` at position
 * `p = offset + t` becomes `(a cos θ - b sin θ, b cos θ + a sin θ)` with
 * `θ = p · base^(-2i/dim)`. Pairs follow `options.interleaved` (rotate-half by default).
 * Differentiable in `x`.
 * @param x `[..., seq, dim]`, `dim` even
 * @param offset position of the first row (default 0; the cache length when decoding)
 */
export function applyRotaryEmbedding(x: Tensor, offset = 0, options: RotaryEmbeddingOptions = {}): Tensor {
  if (x.rank < 2) throw new ShapeError(`applyRotaryEmbedding expects [..., seq, dim], got ${formatShape(x.shape)}`);
  const dim = x.shape[x.rank - 1];
  if (dim % 2 !== 0) throw new ShapeError(`applyRotaryEmbedding needs an even last dim, got ${formatShape(x.shape)}`);
  const L = x.shape[x.rank - 2];
  const half = dim / 2;
  return tidy(() => {
    const [cos, sin] = rotaryTables(L, dim, offset, options.base ?? 10000, x.device);
    if (options.interleaved) {
      const pairs = x.reshape([...x.shape.slice(0, -1), half, 2]);
      const a = pairs.select(-1, 0);
      const b = pairs.select(-1, 1);
      const ra = a.mul(cos).sub(b.mul(sin));
      const rb = b.mul(cos).add(a.mul(sin));
      return stack([ra, rb], -1).reshape(x.shape);
    }
    const a = x.narrow(-1, 0, half);
    const b = x.narrow(-1, half, half);
    return cat([a.mul(cos).sub(b.mul(sin)), b.mul(cos).add(a.mul(sin))], -1);
  });
}

/**
 * Module form of {@link applyRotaryEmbedding} for a fixed `dim` (no parameters).
 * Apply it to queries and keys (after splitting heads), with the same `offset`.
 */
export class RotaryEmbedding extends Module {
  /** Feature dim rotated (even). */
  readonly dim: number;
  /** Frequency base. */
  readonly base: number;
  /** Pair layout. */
  readonly interleaved: boolean;

  /** @param dim the (even) last dim of the inputs */
  constructor(dim: number, options: RotaryEmbeddingOptions = {}) {
    super();
    if (!Number.isInteger(dim) || dim <= 0 || dim % 2 !== 0)
      throw new GhostFlowError(`RotaryEmbedding needs a positive even dim, got ${dim}`);
    this.dim = dim;
    this.base = options.base ?? 10000;
    this.interleaved = options.interleaved ?? false;
  }

  /**
   * @param x `[..., seq, dim]`
   * @param offset position of the first row (default 0)
   */
  forward(x: Tensor, offset = 0): Tensor {
    if (x.shape[x.rank - 1] !== this.dim) throw new ShapeError(`RotaryEmbedding(${this.dim}) got input ${formatShape(x.shape)}`);
    return applyRotaryEmbedding(x, offset, { base: this.base, interleaved: this.interleaved });
  }

  /** `dim=.., base=.., interleaved=..`. */
  override extraRepr(): string {
    return `dim=${this.dim}, base=${this.base}, interleaved=${this.interleaved}`;
  }
}
