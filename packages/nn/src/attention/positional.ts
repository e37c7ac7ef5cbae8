/** Positional encodings: sinusoidal (Vaswani et al.) and rotary (RoPE). */
import { type Tensor, GhostFlowError, ShapeError, cat, formatShape, stack, tensor, tidy } from '@ghostflow/core';
import { dropout } from '../functional/activation.js';
import { Module } from '../module.js';

// SLEEF's single-precision exp (expf_u10), which PyTorch's x86 CPU build uses for float32
// `torch.exp`: the tutorial's `div_term` is computed with it, and a one-ulp difference there
// moves far positions' angles by up to ~2.4e-4 (d_model 512, position 5000).
const R_LN2F = Math.fround(Math.LOG2E);
const L2UF = Math.fround(0.693145751953125);
const L2LF = Math.fround(1.428606765330187e-6);
const EXPF_POLY = [0.00019852761761285365, 0.0013930435525253415, 0.008333360776305199, 0.041666485369205475, 0.1666666716337204, 0.5].map(
  Math.fround,
);

/** Fused multiply-add rounded once to float32 (float32 products are exact in float64). */
function fmaf(x: number, y: number, z: number): number {
  return Math.fround(x * y + z);
}

/** Round half to even (`rint`). */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** SLEEF's `xexpf` (1-ulp float32 exp, FMA build) for a float32 argument. */
function expf(d: number): number {
  const q = rint(Math.fround(d * R_LN2F));
  let s = fmaf(q, -L2UF, d);
  s = fmaf(q, -L2LF, s);
  let u = EXPF_POLY[0];
  for (let i = 1; i < EXPF_POLY.length; i++) u = fmaf(u, s, EXPF_POLY[i]);
  u = Math.fround(1 + fmaf(Math.fround(s * s), u, s));
  if (d < -104) return 0;
  if (d > 100) return Number.POSITIVE_INFINITY;
  return Math.fround(u * 2 ** q);
}

/**
 * The `[length, dModel]` sinusoidal table of "Attention Is All You Need", rows for positions
 * `offset .. offset + length - 1`: `pe[p, 2i] = sin(p · div[i])`, `pe[p, 2i+1] = cos(p · div[i])`,
 * computed in float32 exactly as the PyTorch tutorial's `PositionalEncoding` does
 * (`div_term = exp(arange(0, d, 2) * (-log(base) / d))`, then `position * div_term`): the
 * same `div_term` and angle bits as PyTorch's x86 CPU build, sin/cos within one float32 ulp.
 * @example
 * ```ts
 * import { sinusoidalTable } from '@ghostflow/nn';
 * const pe = sinusoidalTable(100, 64); // [100, 64]
 * ```
 */
export function sinusoidalTable(length: number, dModel: number, options: { offset?: number; base?: number; device?: string } = {}): Tensor {
  const offset = options.offset ?? 0;
  const base = options.base ?? 10000;
  const c = Math.fround(-Math.log(base) / dModel);
  const div = Array.from({ length: Math.ceil(dModel / 2) }, (_, i) => expf(Math.fround(2 * i * c)));
  const data = new Float32Array(length * dModel);
  for (let p = 0; p < length; p++) {
    const pos = Math.fround(p + offset);
    for (let j = 0; j < dModel; j++) {
      const angle = Math.fround(pos * div[j >> 1]);
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
  /**
   * Keep `pe` in the state dict (default true, as the PyTorch tutorial's `register_buffer('pe', pe)`,
   * so its state dicts load strictly). `false` leaves it out, as GhostFlow did before: use it
   * to load older GhostFlow state dicts strictly (or load those with `{ strict: false }`).
   */
  persistent?: boolean;
}

/**
 * Adds the fixed sinusoidal position encoding ({@link sinusoidalTable}) to its input, then
 * applies dropout: the PyTorch tutorial's `PositionalEncoding`, with the same table bits and
 * the same persistent buffer `pe` of shape `[maxLen, 1, dModel]`, so a PyTorch state dict
 * holding `pe` loads strictly.
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import { SinusoidalPositionalEncoding } from '@ghostflow/nn';
 * const pos = new SinusoidalPositionalEncoding(512, { dropout: 0.1 });
 * const y = pos.forward(randn([35, 20, 512])); // [seq, batch, dModel]
 * ```
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
  /** `[maxLen, 1, dModel]` (the tutorial's shape). */
  readonly pe: Tensor;

  /** @param dModel model width */
  constructor(dModel: number, options: SinusoidalPositionalEncodingOptions = {}) {
    super();
    this.dModel = dModel;
    this.maxLen = options.maxLen ?? 5000;
    this.p = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    const table = sinusoidalTable(this.maxLen, dModel, { base: options.base, device: options.device });
    this.pe = this.registerBuffer('pe', table.unsqueeze(1), options.persistent ?? true) as Tensor;
    table.dispose();
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
      let pe = this.pe.narrow(0, offset, L); // [L, 1, dModel]
      if (x.rank !== 3) pe = pe.squeeze(1);
      else if (this.batchFirst) pe = pe.transpose(0, 1);
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
