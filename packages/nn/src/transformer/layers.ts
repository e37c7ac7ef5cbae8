/** Transformer encoder and decoder layers (torch.nn.TransformerEncoderLayer / TransformerDecoderLayer). */
import { type Tensor, GhostFlowError, gelu, relu, tidy } from '@ghostflow/core';
import type { KVCache } from '../attention/kv-cache.js';
import { MultiheadAttention } from '../attention/multihead-attention.js';
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

function activationFn(a: TransformerActivation | undefined): (x: Tensor) => Tensor {
  if (a === undefined || a === 'relu') return relu;
  if (a === 'gelu') return (x) => gelu(x);
  if (typeof a === 'function') return a;
  throw new GhostFlowError(`activation should be 'relu' or 'gelu' (or a function), not ${String(a)}`);
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
 */
export class TransformerEncoderLayer extends Module {
  /** Model width. */
  readonly dModel: number;
  /** Number of heads. */
  readonly nhead: number;
  /** The options it was built with (for {@link TransformerEncoderLayer.clone}). */
  readonly options: Readonly<TransformerLayerOptions>;
  /** Whether the layer is pre-LN. */
  readonly normFirst: boolean;
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
  private readonly act: (x: Tensor) => Tensor;

  /**
   * @param dModel model width
   * @param nhead number of attention heads
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    this.dModel = dModel;
    this.nhead = nhead;
    this.options = Object.freeze({ ...options });
    const ff = options.dimFeedforward ?? 2048;
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const bias = options.bias ?? true;
    const device = options.device;
    this.normFirst = options.normFirst ?? false;
    this.act = activationFn(options.activation);
    this.selfAttn = this.registerModule(
      'self_attn',
      new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst: options.batchFirst ?? false, device }),
    );
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
        this.dropout1.forward(
          this.selfAttn.forward(x, x, x, {
            attnMask: options.srcMask ?? null,
            keyPaddingMask: options.srcKeyPaddingMask ?? null,
            needWeights: false,
            isCausal: options.isCausal ?? false,
            kvCache: options.kvCache ?? null,
          })[0],
        );
      const ff = (x: Tensor): Tensor =>
        this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
      let x = src;
      if (this.normFirst) {
        x = x.add(sa(this.norm1.forward(x)));
        x = x.add(ff(this.norm2.forward(x)));
      } else {
        x = this.norm1.forward(x.add(sa(x)));
        x = this.norm2.forward(x.add(ff(x)));
      }
      return x;
    });
  }

  /** A new layer with the same configuration and a copy of this one's parameters (PyTorch's deepcopy in TransformerEncoder). */
  clone(): TransformerEncoderLayer {
    const layer = new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.options, device: this.linear1.weight.device });
    layer.loadStateDict(this.stateDict());
    layer.train(this.training);
    return layer;
  }

  /** `dModel=.., nhead=.., normFirst=..`. */
  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.normFirst}`;
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
 */
export class TransformerDecoderLayer extends Module {
  /** Model width. */
  readonly dModel: number;
  /** Number of heads. */
  readonly nhead: number;
  /** The options it was built with (for {@link TransformerDecoderLayer.clone}). */
  readonly options: Readonly<TransformerLayerOptions>;
  /** Whether the layer is pre-LN. */
  readonly normFirst: boolean;
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
  private readonly act: (x: Tensor) => Tensor;

  /**
   * @param dModel model width
   * @param nhead number of attention heads
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    this.dModel = dModel;
    this.nhead = nhead;
    this.options = Object.freeze({ ...options });
    const ff = options.dimFeedforward ?? 2048;
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const bias = options.bias ?? true;
    const device = options.device;
    const batchFirst = options.batchFirst ?? false;
    this.normFirst = options.normFirst ?? false;
    this.act = activationFn(options.activation);
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
        this.dropout1.forward(
          this.selfAttn.forward(x, x, x, {
            attnMask: options.tgtMask ?? null,
            keyPaddingMask: options.tgtKeyPaddingMask ?? null,
            needWeights: false,
            isCausal: options.tgtIsCausal ?? false,
          })[0],
        );
      const mha = (x: Tensor): Tensor =>
        this.dropout2.forward(
          this.multiheadAttn.forward(x, memory, memory, {
            attnMask: options.memoryMask ?? null,
            keyPaddingMask: options.memoryKeyPaddingMask ?? null,
            needWeights: false,
            isCausal: options.memoryIsCausal ?? false,
          })[0],
        );
      const ff = (x: Tensor): Tensor =>
        this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
      let x = tgt;
      if (this.normFirst) {
        x = x.add(sa(this.norm1.forward(x)));
        x = x.add(mha(this.norm2.forward(x)));
        x = x.add(ff(this.norm3.forward(x)));
      } else {
        x = this.norm1.forward(x.add(sa(x)));
        x = this.norm2.forward(x.add(mha(x)));
        x = this.norm3.forward(x.add(ff(x)));
      }
      return x;
    });
  }

  /** A new layer with the same configuration and a copy of this one's parameters (PyTorch's deepcopy in TransformerDecoder). */
  clone(): TransformerDecoderLayer {
    const layer = new TransformerDecoderLayer(this.dModel, this.nhead, { ...this.options, device: this.linear1.weight.device });
    layer.loadStateDict(this.stateDict());
    layer.train(this.training);
    return layer;
  }

  /** `dModel=.., nhead=.., normFirst=..`. */
  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.normFirst}`;
  }
}
