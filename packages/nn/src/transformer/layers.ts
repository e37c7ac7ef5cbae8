/** Transformer encoder and decoder layers (torch.nn.TransformerEncoderLayer / TransformerDecoderLayer). */
import { type LinearActivation, type Tensor, GhostFlowError, gelu, linear, relu, tidy } from '@ghostflow/core';
import type { KVCache } from '../attention/kv-cache.js';
import { MultiheadAttention, type MultiheadAttentionForwardOptions } from '../attention/multihead-attention.js';
import { Dropout } from '../layers/dropout.js';
import { LayerNorm } from '../layers/layer-norm.js';
import { Linear } from '../layers/linear.js';
import { Module } from '../module.js';

/** Feed-forward activation of a Transformer layer: a name, or any elementwise function. */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

/** Options shared by {@link TransformerEncoderLayer} and {@link TransformerDecoderLayer} (PyTorch's defaults). */
export interface TransformerLayerOptions {
  /** Hidden width of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability everywhere (attention weights, residual branches, feed-forward) (default 0.1). */
  dropout?: number;
  /** Feed-forward activation (default 'relu'; 'gelu' is the exact erf GELU, as torch). */
  activation?: TransformerActivation;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** `[batch, seq, feature]` inputs (default false: `[seq, batch, feature]`). */
  batchFirst?: boolean;
  /** Pre-LN: normalise before each sub-block instead of after the residual add (default false). */
  normFirst?: boolean;
  /** Learn biases in the linear and norm layers (default true). */
  bias?: boolean;
  /** Backend for the parameters (default the active one). */
  device?: string;
}

/**
 * The feed-forward block's first half, `act(linear1(x))`. For a named activation it is one
 * `linear` call with that activation, which the backend's fused linear kernel applies in its
 * GEMM epilogue (exactly `act(linear1.forward(x))`, saving a pass over the hidden tensor).
 */
function feedForwardIn(linear1: Linear, act: (x: Tensor) => Tensor, name: LinearActivation | null, x: Tensor): Tensor {
  return name ? linear(x, linear1.weight, linear1.bias, { activation: name }) : act(linear1.forward(x));
}

/** The {@link LinearActivation} of a named Transformer activation; null for a function. */
function activationName(a: TransformerActivation | undefined): LinearActivation | null {
  if (a === undefined || a === 'relu') return 'relu';
  return a === 'gelu' ? 'gelu' : null;
}

function activationFn(a: TransformerActivation | undefined): (x: Tensor) => Tensor {
  if (a === undefined || a === 'relu') return relu;
  if (a === 'gelu') return (x) => gelu(x);
  if (typeof a === 'function') return a;
  throw new GhostFlowError(`activation should be 'relu' or 'gelu' (or a function), not ${String(a)}`);
}

/** The sizes and settings both layers build their children with (PyTorch's defaults). */
function layerSettings(options: TransformerLayerOptions) {
  return {
    ff: options.dimFeedforward ?? 2048,
    p: options.dropout ?? 0.1,
    eps: options.layerNormEps ?? 1e-5,
    bias: options.bias ?? true,
    device: options.device,
    batchFirst: options.batchFirst ?? false,
  };
}

/** An attention branch: `out(attn(query, kv, kv)[0])`, without the weights. */
function attentionBranch(
  attn: MultiheadAttention,
  out: Dropout,
  query: Tensor,
  kv: Tensor,
  options: Omit<MultiheadAttentionForwardOptions, 'needWeights'>,
): Tensor {
  return out.forward(attn.forward(query, kv, kv, { ...options, needWeights: false })[0]);
}

/**
 * What {@link TransformerEncoderLayer} and {@link TransformerDecoderLayer} share: the
 * configuration, the feed-forward block, the residual wiring (post-LN or pre-LN) and the repr.
 * The layers register their children themselves, in PyTorch's order.
 */
export abstract class TransformerLayerBase extends Module {
  /** Model width. */
  readonly dModel: number;
  /** Number of heads. */
  readonly nhead: number;
  /** The options it was built with (for the layer's `clone`). */
  readonly options: Readonly<TransformerLayerOptions>;
  /** Whether the layer is pre-LN. */
  readonly normFirst: boolean;
  /** `dModel → dimFeedforward`. */
  abstract readonly linear1: Linear;
  /** Dropout inside the feed-forward block. */
  abstract readonly dropout: Dropout;
  /** `dimFeedforward → dModel`. */
  abstract readonly linear2: Linear;
  private readonly act: (x: Tensor) => Tensor;
  private readonly actName: LinearActivation | null;

  /**
   * @param dModel model width
   * @param nhead number of attention heads
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions) {
    super();
    this.dModel = dModel;
    this.nhead = nhead;
    this.options = Object.freeze({ ...options });
    this.normFirst = options.normFirst ?? false;
    this.act = activationFn(options.activation);
    this.actName = activationName(options.activation);
  }

  /** The feed-forward branch `out(linear2(dropout(act(linear1(x)))))`, `out` being its residual dropout. */
  protected feedForward(out: Dropout, x: Tensor): Tensor {
    return out.forward(this.linear2.forward(this.dropout.forward(feedForwardIn(this.linear1, this.act, this.actName, x))));
  }

  /** One residual sub-block: `x + block(norm(x))` when pre-LN, `norm(x + block(x))` otherwise. */
  protected residual(x: Tensor, norm: LayerNorm, block: (x: Tensor) => Tensor): Tensor {
    return this.normFirst ? x.add(block(norm.forward(x))) : norm.forward(x.add(block(x)));
  }

  /** `dModel=.., nhead=.., normFirst=..`. */
  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.normFirst}`;
  }
}

/** Options of {@link TransformerEncoderLayer.forward}. */
export interface TransformerEncoderLayerForwardOptions {
  /** `[S, S]` or `[N * nhead, S, S]`; bool `true` = masked out, or float additive. */
  srcMask?: Tensor | null;
  /** `[N, S]`; bool `true` = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (a hint when `srcMask` is given; builds the mask otherwise). */
  isCausal?: boolean;
  /** Incremental decoding cache of this layer's self-attention (use with `isCausal`). */
  kvCache?: KVCache | null;
}

/**
 * One Transformer encoder block (torch.nn.TransformerEncoderLayer): self-attention then a
 * feed-forward network, each with a residual connection and LayerNorm (post-LN by default,
 * pre-LN with `normFirst`). Children: `self_attn`, `linear1`, `dropout`, `linear2`, `norm1`,
 * `norm2`, `dropout1`, `dropout2`, so PyTorch state dicts load key for key.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { TransformerEncoderLayer, generateSquareSubsequentMask } from '@ghostflow/nn';
 * const layer = new TransformerEncoderLayer(32, 4, { dimFeedforward: 64, batchFirst: true, normFirst: true });
 * const y = layer.forward(randn([2, 10, 32]), { srcMask: generateSquareSubsequentMask(10) }); // [2, 10, 32]
 * ```
 */
export class TransformerEncoderLayer extends TransformerLayerBase {
  /** Self-attention. */
  readonly selfAttn: MultiheadAttention;
  /** `dModel → dimFeedforward`. */
  readonly linear1: Linear;
  /** Dropout inside the feed-forward block. */
  readonly dropout: Dropout;
  /** `dimFeedforward → dModel`. */
  readonly linear2: Linear;
  /** Norm of the attention block. */
  readonly norm1: LayerNorm;
  /** Norm of the feed-forward block. */
  readonly norm2: LayerNorm;
  /** Dropout on the attention branch. */
  readonly dropout1: Dropout;
  /** Dropout on the feed-forward branch. */
  readonly dropout2: Dropout;

  /**
   * @param dModel model width
   * @param nhead number of attention heads
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super(dModel, nhead, options);
    const { ff, p, eps, bias, device, batchFirst } = layerSettings(options);
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst, device }));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { bias, device }));
    this.dropout = this.registerModule('dropout', new Dropout(p));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { bias, device }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps, bias, device }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps, bias, device }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p));
  }

  /**
   * @param src `[S, N, E]` (`[N, S, E]` with batchFirst) or `[S, E]`
   * @returns same shape as `src`
   */
  forward(src: Tensor, options: TransformerEncoderLayerForwardOptions = {}): Tensor {
    return tidy(() => {
      const sa = (x: Tensor): Tensor =>
        attentionBranch(this.selfAttn, this.dropout1, x, x, {
          attnMask: options.srcMask ?? null,
          keyPaddingMask: options.srcKeyPaddingMask ?? null,
          isCausal: options.isCausal ?? false,
          kvCache: options.kvCache ?? null,
        });
      const x = this.residual(src, this.norm1, sa);
      return this.residual(x, this.norm2, (h) => this.feedForward(this.dropout2, h));
    });
  }

  /** A new layer with the same configuration and a copy of this one's parameters (PyTorch's deepcopy in TransformerEncoder). */
  clone(): TransformerEncoderLayer {
    const layer = new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.options, device: this.linear1.weight.device });
    layer.loadStateDict(this.stateDict());
    layer.train(this.training);
    return layer;
  }
}

/** Options of {@link TransformerDecoderLayer.forward}. */
export interface TransformerDecoderLayerForwardOptions {
  /** `[T, T]` or `[N * nhead, T, T]` self-attention mask; bool `true` = masked out, or float additive. */
  tgtMask?: Tensor | null;
  /** `[T, S]` or `[N * nhead, T, S]` cross-attention mask. */
  memoryMask?: Tensor | null;
  /** `[N, T]`; bool `true` = padding. */
  tgtKeyPaddingMask?: Tensor | null;
  /** `[N, S]`; bool `true` = padding. */
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (a hint when `tgtMask` is given; builds the mask otherwise). */
  tgtIsCausal?: boolean;
  /** Causal cross-attention (a hint when `memoryMask` is given). */
  memoryIsCausal?: boolean;
}

/**
 * One Transformer decoder block (torch.nn.TransformerDecoderLayer): self-attention,
 * cross-attention over `memory`, feed-forward; residuals and LayerNorm (post-LN by default,
 * pre-LN with `normFirst`). Children: `self_attn`, `multihead_attn`, `linear1`, `dropout`,
 * `linear2`, `norm1`, `norm2`, `norm3`, `dropout1`, `dropout2`, `dropout3`.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { TransformerDecoderLayer, generateSquareSubsequentMask } from '@ghostflow/nn';
 * const layer = new TransformerDecoderLayer(32, 4, { dimFeedforward: 64, batchFirst: true });
 * const memory = randn([2, 10, 32]); // the encoder's output
 * const y = layer.forward(randn([2, 6, 32]), memory, { tgtMask: generateSquareSubsequentMask(6) }); // [2, 6, 32]
 * ```
 */
export class TransformerDecoderLayer extends TransformerLayerBase {
  /** Self-attention. */
  readonly selfAttn: MultiheadAttention;
  /** Cross-attention over the memory. */
  readonly multiheadAttn: MultiheadAttention;
  /** `dModel → dimFeedforward`. */
  readonly linear1: Linear;
  /** Dropout inside the feed-forward block. */
  readonly dropout: Dropout;
  /** `dimFeedforward → dModel`. */
  readonly linear2: Linear;
  /** Norm of the self-attention block. */
  readonly norm1: LayerNorm;
  /** Norm of the cross-attention block. */
  readonly norm2: LayerNorm;
  /** Norm of the feed-forward block. */
  readonly norm3: LayerNorm;
  /** Dropout on the self-attention branch. */
  readonly dropout1: Dropout;
  /** Dropout on the cross-attention branch. */
  readonly dropout2: Dropout;
  /** Dropout on the feed-forward branch. */
  readonly dropout3: Dropout;

  /**
   * @param dModel model width
   * @param nhead number of attention heads
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super(dModel, nhead, options);
    const { ff, p, eps, bias, device, batchFirst } = layerSettings(options);
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst, device }));
    this.multiheadAttn = this.registerModule(
      'multihead_attn',
      new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst, device }),
    );
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { bias, device }));
    this.dropout = this.registerModule('dropout', new Dropout(p));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { bias, device }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps, bias, device }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps, bias, device }));
    this.norm3 = this.registerModule('norm3', new LayerNorm(dModel, { eps, bias, device }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p));
    this.dropout3 = this.registerModule('dropout3', new Dropout(p));
  }

  /**
   * @param tgt `[T, N, E]` (`[N, T, E]` with batchFirst) or `[T, E]`
   * @param memory `[S, N, E]` (`[N, S, E]` with batchFirst) or `[S, E]`
   * @returns same shape as `tgt`
   */
  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderLayerForwardOptions = {}): Tensor {
    return tidy(() => {
      const sa = (x: Tensor): Tensor =>
        attentionBranch(this.selfAttn, this.dropout1, x, x, {
          attnMask: options.tgtMask ?? null,
          keyPaddingMask: options.tgtKeyPaddingMask ?? null,
          isCausal: options.tgtIsCausal ?? false,
        });
      const mha = (x: Tensor): Tensor =>
        attentionBranch(this.multiheadAttn, this.dropout2, x, memory, {
          attnMask: options.memoryMask ?? null,
          keyPaddingMask: options.memoryKeyPaddingMask ?? null,
          isCausal: options.memoryIsCausal ?? false,
        });
      let x = this.residual(tgt, this.norm1, sa);
      x = this.residual(x, this.norm2, mha);
      return this.residual(x, this.norm3, (h) => this.feedForward(this.dropout3, h));
    });
  }

  /** A new layer with the same configuration and a copy of this one's parameters (PyTorch's deepcopy in TransformerDecoder). */
  clone(): TransformerDecoderLayer {
    const layer = new TransformerDecoderLayer(this.dModel, this.nhead, { ...this.options, device: this.linear1.weight.device });
    layer.loadStateDict(this.stateDict());
    layer.train(this.training);
    return layer;
  }
}
