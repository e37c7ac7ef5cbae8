/** Transformer stacks and the full encoder-decoder model (torch.nn.TransformerEncoder / TransformerDecoder / Transformer). */
import { type Tensor, GhostFlowError, ShapeError, formatShape, full, noGrad, tidy, triu } from '@ghostflow/core';
import type { KVCache } from '../attention/kv-cache.js';
import { ModuleList } from '../containers.js';
import { xavierUniform_ } from '../init.js';
import { LayerNorm } from '../layers/layer-norm.js';
import { Module } from '../module.js';
import {
  type TransformerActivation,
  TransformerDecoderLayer,
  type TransformerDecoderLayerForwardOptions,
  TransformerEncoderLayer,
  type TransformerEncoderLayerForwardOptions,
} from './layers.js';

/**
 * The `[sz, sz]` float mask of torch's `Transformer.generate_square_subsequent_mask`:
 * `-Infinity` above the diagonal (future positions), 0 elsewhere. Additive, so it can be
 * passed as `tgtMask`.
 */
export function generateSquareSubsequentMask(sz: number, options: { device?: string } = {}): Tensor {
  return tidy(() => triu(full([sz, sz], Number.NEGATIVE_INFINITY, { device: options.device }), 1));
}

/** Options of {@link TransformerEncoder.forward}. */
export interface TransformerEncoderForwardOptions {
  /** Self-attention mask for every layer (bool `true` = masked out, or float additive). */
  mask?: Tensor | null;
  /** `[N, S]`; bool `true` = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention in every layer. */
  isCausal?: boolean;
  /** One {@link KVCache} per layer, for incremental causal decoding (decoder-only models). */
  kvCaches?: readonly KVCache[] | null;
}

/**
 * A stack of `numLayers` copies of an encoder layer (torch.nn.TransformerEncoder; state dict
 * `layers.0. ...`, then `norm.` when a final norm is given). Like torch's deepcopy, every copy
 * starts with the given layer's parameters.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { TransformerEncoder, TransformerEncoderLayer, generateSquareSubsequentMask } from '@ghostflow/nn';
 * const encoder = new TransformerEncoder(new TransformerEncoderLayer(32, 4, { dimFeedforward: 64, batchFirst: true }), 2);
 * const y = encoder.forward(randn([2, 10, 32]), { mask: generateSquareSubsequentMask(10) }); // [2, 10, 32]
 * ```
 */
export class TransformerEncoder extends Module {
  /** The layers. */
  readonly layers: ModuleList<TransformerEncoderLayer>;
  /** Final norm, or null. */
  readonly norm: LayerNorm | null;
  /** Number of layers. */
  readonly numLayers: number;

  /**
   * @param encoderLayer the layer to copy (not itself registered)
   * @param numLayers number of copies
   * @param norm optional final LayerNorm (registered as `norm`)
   */
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, norm: LayerNorm | null = null) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new GhostFlowError(`numLayers must be a positive integer, got ${numLayers}`);
    this.numLayers = numLayers;
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.clone())));
    this.norm = this.registerModule('norm', norm);
  }

  /**
   * @param src `[S, N, E]` (`[N, S, E]` with batchFirst layers) or `[S, E]`
   * @returns same shape as `src`
   */
  forward(src: Tensor, options: TransformerEncoderForwardOptions = {}): Tensor {
    const caches = options.kvCaches ?? null;
    if (caches && caches.length !== this.numLayers)
      throw new GhostFlowError(`TransformerEncoder: need ${this.numLayers} KV caches (one per layer), got ${caches.length}`);
    return tidy(() => {
      let x = src;
      let i = 0;
      for (const layer of this.layers) {
        const layerOptions: TransformerEncoderLayerForwardOptions = {
          srcMask: options.mask ?? null,
          srcKeyPaddingMask: options.srcKeyPaddingMask ?? null,
          isCausal: options.isCausal ?? false,
          kvCache: caches ? caches[i] : null,
        };
        x = layer.forward(x, layerOptions);
        i++;
      }
      return this.norm ? this.norm.forward(x) : x;
    });
  }
}

/** Options of {@link TransformerDecoder.forward}. */
export type TransformerDecoderForwardOptions = TransformerDecoderLayerForwardOptions;

/**
 * A stack of `numLayers` copies of a decoder layer (torch.nn.TransformerDecoder; state dict
 * `layers.0. ...`, then `norm.` when a final norm is given).
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { TransformerDecoder, TransformerDecoderLayer, generateSquareSubsequentMask } from '@ghostflow/nn';
 * const decoder = new TransformerDecoder(new TransformerDecoderLayer(32, 4, { batchFirst: true }), 2);
 * const memory = randn([2, 10, 32]);
 * const y = decoder.forward(randn([2, 6, 32]), memory, { tgtMask: generateSquareSubsequentMask(6) }); // [2, 6, 32]
 * ```
 */
export class TransformerDecoder extends Module {
  /** The layers. */
  readonly layers: ModuleList<TransformerDecoderLayer>;
  /** Final norm, or null. */
  readonly norm: LayerNorm | null;
  /** Number of layers. */
  readonly numLayers: number;

  /**
   * @param decoderLayer the layer to copy (not itself registered)
   * @param numLayers number of copies
   * @param norm optional final LayerNorm (registered as `norm`)
   */
  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, norm: LayerNorm | null = null) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new GhostFlowError(`numLayers must be a positive integer, got ${numLayers}`);
    this.numLayers = numLayers;
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.clone())));
    this.norm = this.registerModule('norm', norm);
  }

  /**
   * @param tgt `[T, N, E]` (`[N, T, E]` with batchFirst layers) or `[T, E]`
   * @param memory the encoder output `[S, N, E]` (`[N, S, E]`) or `[S, E]`
   * @returns same shape as `tgt`
   */
  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderForwardOptions = {}): Tensor {
    return tidy(() => {
      let x = tgt;
      for (const layer of this.layers) x = layer.forward(x, memory, options);
      return this.norm ? this.norm.forward(x) : x;
    });
  }
}

/** Options of {@link Transformer} (PyTorch's defaults). */
export interface TransformerOptions {
  /** Model width (default 512). */
  dModel?: number;
  /** Heads (default 8). */
  nhead?: number;
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
  /** Feed-forward width (default 2048). */
  dimFeedforward?: number;
  /** Dropout (default 0.1). */
  dropout?: number;
  /** Feed-forward activation (default 'relu'). */
  activation?: TransformerActivation;
  /** Use this encoder instead of building one. */
  customEncoder?: TransformerEncoder | null;
  /** Use this decoder instead of building one. */
  customDecoder?: TransformerDecoder | null;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** `[batch, seq, feature]` inputs (default false). */
  batchFirst?: boolean;
  /** Pre-LN layers (default false). */
  normFirst?: boolean;
  /** Biases in linear and norm layers (default true). */
  bias?: boolean;
  /** Backend for the parameters (default the active one). */
  device?: string;
}

/** Options of {@link Transformer.forward}. */
export interface TransformerForwardOptions {
  /** Encoder self-attention mask `[S, S]`. */
  srcMask?: Tensor | null;
  /** Decoder self-attention mask `[T, T]` (e.g. {@link generateSquareSubsequentMask}). */
  tgtMask?: Tensor | null;
  /** Cross-attention mask `[T, S]`. */
  memoryMask?: Tensor | null;
  /** `[N, S]`; bool `true` = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** `[N, T]`; bool `true` = padding. */
  tgtKeyPaddingMask?: Tensor | null;
  /** `[N, S]`; bool `true` = padding. */
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal encoder self-attention. */
  srcIsCausal?: boolean;
  /** Causal decoder self-attention. */
  tgtIsCausal?: boolean;
  /** Causal cross-attention. */
  memoryIsCausal?: boolean;
}

/**
 * The encoder-decoder Transformer (torch.nn.Transformer): `encoder` (with final `encoder.norm`)
 * and `decoder` (with `decoder.norm`), state dict names as torch. Every parameter with more
 * than one dim is re-initialised xavier-uniform, as torch's `_reset_parameters`.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Transformer, generateSquareSubsequentMask } from '@ghostflow/nn';
 * const model = new Transformer({ dModel: 32, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 64, batchFirst: true });
 * const src = randn([2, 10, 32]);
 * const tgt = randn([2, 6, 32]);
 * const out = model.forward(src, tgt, { tgtMask: generateSquareSubsequentMask(6) }); // [2, 6, 32]
 * ```
 */
export class Transformer extends Module {
  /** Model width. */
  readonly dModel: number;
  /** Heads. */
  readonly nhead: number;
  /** Whether inputs are batch-first. */
  readonly batchFirst: boolean;
  /** The encoder. */
  readonly encoder: TransformerEncoder;
  /** The decoder. */
  readonly decoder: TransformerDecoder;

  /** @param options sizes and flags (PyTorch's defaults) */
  constructor(options: TransformerOptions = {}) {
    super();
    this.dModel = options.dModel ?? 512;
    this.nhead = options.nhead ?? 8;
    this.batchFirst = options.batchFirst ?? false;
    const layerOptions = {
      dimFeedforward: options.dimFeedforward,
      dropout: options.dropout,
      activation: options.activation,
      layerNormEps: options.layerNormEps,
      batchFirst: this.batchFirst,
      normFirst: options.normFirst,
      bias: options.bias,
      device: options.device,
    };
    const eps = options.layerNormEps ?? 1e-5;
    const normOptions = { eps, bias: options.bias ?? true, device: options.device };
    if (options.customEncoder) {
      this.encoder = this.registerModule('encoder', options.customEncoder);
    } else {
      const proto = new TransformerEncoderLayer(this.dModel, this.nhead, layerOptions);
      this.encoder = this.registerModule(
        'encoder',
        new TransformerEncoder(proto, options.numEncoderLayers ?? 6, new LayerNorm(this.dModel, normOptions)),
      );
      proto.dispose();
    }
    if (options.customDecoder) {
      this.decoder = this.registerModule('decoder', options.customDecoder);
    } else {
      const proto = new TransformerDecoderLayer(this.dModel, this.nhead, layerOptions);
      this.decoder = this.registerModule(
        'decoder',
        new TransformerDecoder(proto, options.numDecoderLayers ?? 6, new LayerNorm(this.dModel, normOptions)),
      );
      proto.dispose();
    }
    for (const p of this.parameters()) if (p.rank > 1) xavierUniform_(p);
  }

  /**
   * @param src `[S, N, E]` (`[N, S, E]` with batchFirst) or `[S, E]`
   * @param tgt `[T, N, E]` (`[N, T, E]` with batchFirst) or `[T, E]`
   * @returns `[T, N, E]` (`[N, T, E]`) or `[T, E]`
   */
  forward(src: Tensor, tgt: Tensor, options: TransformerForwardOptions = {}): Tensor {
    const batched = src.rank === 3;
    if (batched !== (tgt.rank === 3))
      throw new ShapeError(
        `Transformer: src and tgt must both be batched (3-D) or unbatched (2-D), got ${formatShape(src.shape)} and ${formatShape(tgt.shape)}`,
      );
    if (batched) {
      const bd = this.batchFirst ? 0 : 1;
      if (src.shape[bd] !== tgt.shape[bd])
        throw new ShapeError(
          `Transformer: the batch number of src and tgt must be equal, got ${formatShape(src.shape)} and ${formatShape(tgt.shape)}`,
        );
    }
    if (src.shape[src.rank - 1] !== this.dModel || tgt.shape[tgt.rank - 1] !== this.dModel) {
      throw new ShapeError(
        `Transformer: the feature number of src and tgt must be equal to dModel=${this.dModel}, got ${formatShape(src.shape)} and ${formatShape(tgt.shape)}`,
      );
    }
    return tidy(() => {
      const memory = this.encoder.forward(src, {
        mask: options.srcMask,
        srcKeyPaddingMask: options.srcKeyPaddingMask,
        isCausal: options.srcIsCausal,
      });
      return this.decoder.forward(tgt, memory, {
        tgtMask: options.tgtMask,
        memoryMask: options.memoryMask,
        tgtKeyPaddingMask: options.tgtKeyPaddingMask,
        memoryKeyPaddingMask: options.memoryKeyPaddingMask,
        tgtIsCausal: options.tgtIsCausal,
        memoryIsCausal: options.memoryIsCausal,
      });
    });
  }

  /** torch's static `Transformer.generate_square_subsequent_mask`: see {@link generateSquareSubsequentMask}. */
  static generateSquareSubsequentMask(sz: number, options: { device?: string } = {}): Tensor {
    return generateSquareSubsequentMask(sz, options);
  }

  /** `dModel=.., nhead=..`. */
  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, batchFirst=${this.batchFirst}`;
  }
}
