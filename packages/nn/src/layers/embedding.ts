/** Embedding lookup table. */
import { type Tensor, arange, DTypeError, eq, GhostFlowError, noGrad, tidy, where } from '@ghostflow/core';
import { Module } from '../module.js';
import { normal } from '../init.js';
import type { Parameter } from '../parameter.js';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /**
   * Index whose row is initialised to zeros and never receives a gradient (negative counts
   * from the end). Default none.
   */
  paddingIdx?: number | null;
  /** Backend for the weight (default the active one). */
  device?: string;
}

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim` (torch.nn.Embedding).
 * `weight` starts N(0, 1) with the `paddingIdx` row zeroed. Forward takes int32 indices of
 * any shape and returns `[...indices.shape, embeddingDim]`; positions holding `paddingIdx`
 * read the row's value but pass no gradient to it, as PyTorch's.
 */
export class Embedding extends Module {
  /** Number of rows. */
  readonly numEmbeddings: number;
  /** Size of each row. */
  readonly embeddingDim: number;
  /** The padding row (non-negative), or null. */
  readonly paddingIdx: number | null;
  /** `[numEmbeddings, embeddingDim]`. */
  weight: Parameter;

  /**
   * @param numEmbeddings number of rows
   * @param embeddingDim size of each row
   */
  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = options.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new GhostFlowError(`Embedding: paddingIdx must be an integer within [-${numEmbeddings}, ${numEmbeddings}), got ${pad}`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    const w = normal([numEmbeddings, embeddingDim], 0, 1, { device: options.device });
    this.weight = this.registerParameter('weight', w);
    if (pad !== null) {
      // PyTorch: `self.weight[padding_idx].fill_(0)` under no_grad.
      const row = w.select(0, pad);
      noGrad(() => row.fill_(0));
      row.dispose();
    }
  }

  /** int32 `indices` of any shape → `[...indices.shape, embeddingDim]`. */
  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx);
  }

  /** `numEmbeddings, embeddingDim[, paddingIdx]`. */
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ''}`;
  }
}

/**
 * torch.nn.functional.embedding: rows of `weight` picked by int32 `indices` (any shape).
 * Positions equal to `paddingIdx` (when given, non-negative) get no gradient.
 */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  if (indices.dtype !== 'int32') throw new DTypeError(`embedding: indices must be int32, got ${indices.dtype}`);
  if (weight.ndim !== 2)
    throw new GhostFlowError(`embedding: weight must be 2-D [numEmbeddings, embeddingDim], got [${weight.shape.join(', ')}]`);
  return tidy(() => {
    const flat = indices.reshape([-1]);
    let rows = weight.indexSelect(0, flat);
    if (paddingIdx !== null) {
      const pad = paddingIdx < 0 ? paddingIdx + weight.shape[0] : paddingIdx;
      rows = where(eq(flat, pad).unsqueeze(1), rows.detach(), rows);
    }
    return rows.reshape([...indices.shape, weight.shape[1]]);
  });
}
