/** Multi-head attention (torch.nn.MultiheadAttention). */
import { type Tensor, GhostFlowError, ShapeError, cat, formatShape, full, linear, noGrad, tidy, zeros } from '@ghostflow/core';
import { constant_, fanInOut, normal, xavierUniform } from '../init.js';
import { Linear } from '../layers/linear.js';
import { Module } from '../module.js';
import type { KVCache } from './kv-cache.js';
import { attentionWithWeights, mergeMasks } from './sdpa.js';
import type { Parameter } from '../parameter.js';

/** Options of {@link MultiheadAttention}. */
export interface MultiheadAttentionOptions {
  /** Dropout probability on the attention weights during training (default 0). */
  dropout?: number;
  /** Learn `in_proj_bias` and `out_proj.bias` (default true). */
  bias?: boolean;
  /** Learn `bias_k`/`bias_v` `[1, 1, embedDim]`, appended to the keys/values as one extra position (default false). */
  addBiasKv?: boolean;
  /** Append a zero key/value position after the projections (default false). */
  addZeroAttn?: boolean;
  /** Features of `key` (default `embedDim`). */
  kdim?: number | null;
  /** Features of `value` (default `embedDim`). */
  vdim?: number | null;
  /** Inputs/outputs are `[batch, seq, feature]` instead of `[seq, batch, feature]` (default false). */
  batchFirst?: boolean;
  /** Backend for the parameters (default the active one). */
  device?: string;
}

/** Options of {@link MultiheadAttention.forward}. */
export interface MultiheadAttentionForwardOptions {
  /**
   * `[N, S]` (or `[S]` unbatched): bool `true` = this key is padding (ignored), or float
   * additive.
   */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights (default true); false gives `null`. */
  needWeights?: boolean;
  /**
   * `[L, S]` or `[N * numHeads, L, S]` (`[numHeads, L, S]` unbatched): bool `true` = masked
   * out (torch.nn.MultiheadAttention's convention), or float additive.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (default true): `[N, L, S]`, else `[N, numHeads, L, S]`. */
  averageAttnWeights?: boolean;
  /**
   * Causal self-attention. Without `attnMask`, a causal mask is built (query `i` sees keys
   * `j <= i + past`, `past` being the number of positions already in `kvCache`); with one,
   * it is only a hint (as in torch) and `attnMask` is used as given.
   */
  isCausal?: boolean;
  /**
   * Incremental decoding: the projected keys/values of this call are appended to the cache,
   * and the queries attend over every cached position. See {@link KVCache}.
   */
  kvCache?: KVCache | null;
}

/**
 * Multi-head attention with PyTorch's parameters and numbers (torch.nn.MultiheadAttention):
 * `in_proj_weight` `[3E, E]` (or `q_proj_weight` `[E, E]`, `k_proj_weight` `[E, kdim]`,
 * `v_proj_weight` `[E, vdim]` when `kdim`/`vdim` differ from `embedDim`), `in_proj_bias` `[3E]`,
 * optional `bias_k`/`bias_v`, and `out_proj` (a Linear `E → E`). Initialised like torch:
 * xavier-uniform projection weights, zero biases, xavier-normal `bias_k`/`bias_v`.
 *
 * Boolean masks use `true` = masked out. A query whose every key is masked gets a zero output
 * and zero weights (PyTorch returns NaN there).
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { MultiheadAttention, causalMask } from '@ghostflow/nn';
 * const mha = new MultiheadAttention(16, 4, { batchFirst: true });
 * const x = randn([2, 5, 16]); // [batch, seq, embed]
 * const [y, weights] = mha.forward(x, x, x, { attnMask: causalMask(5, 5) }); // self-attention, no peeking ahead
 * console.log(y.shape, weights?.shape); // [2, 5, 16] [2, 5, 5] (weights averaged over heads)
 * ```
 */
export class MultiheadAttention extends Module {
  /** Model width E. */
  readonly embedDim: number;
  /** Key features. */
  readonly kdim: number;
  /** Value features. */
  readonly vdim: number;
  /** Number of heads. */
  readonly numHeads: number;
  /** `embedDim / numHeads`. */
  readonly headDim: number;
  /** Attention-weight dropout probability. */
  readonly dropout: number;
  /** Whether inputs are `[batch, seq, feature]`. */
  readonly batchFirst: boolean;
  /** Whether a zero key/value position is appended. */
  readonly addZeroAttn: boolean;
  /** `[3E, E]` when kdim = vdim = E, else null. */
  inProjWeight: Parameter | null;
  /** `[E, E]` when kdim/vdim differ from E, else null. */
  qProjWeight: Parameter | null;
  /** `[E, kdim]` when kdim/vdim differ from E, else null. */
  kProjWeight: Parameter | null;
  /** `[E, vdim]` when kdim/vdim differ from E, else null. */
  vProjWeight: Parameter | null;
  /** `[3E]`, or null with `bias: false`. */
  inProjBias: Parameter | null;
  /** `[1, 1, E]` with `addBiasKv`, else null. */
  biasK: Parameter | null;
  /** `[1, 1, E]` with `addBiasKv`, else null. */
  biasV: Parameter | null;
  /** Output projection. */
  readonly outProj: Linear;

  /**
   * @param embedDim model width E
   * @param numHeads number of heads (must divide E)
   */
  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    if (!(embedDim > 0 && numHeads > 0) || !Number.isInteger(embedDim) || !Number.isInteger(numHeads)) {
      throw new GhostFlowError(`embedDim and numHeads must be positive integers, got embedDim=${embedDim} and numHeads=${numHeads}`);
    }
    if (embedDim % numHeads !== 0)
      throw new GhostFlowError(`embedDim must be divisible by numHeads, got embedDim=${embedDim} and numHeads=${numHeads}`);
    const device = options.device;
    this.embedDim = embedDim;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1))
      throw new GhostFlowError(`dropout probability has to be between 0 and 1, but got ${this.dropout}`);
    this.batchFirst = options.batchFirst ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    const bias = options.bias ?? true;
    if (this.kdim === embedDim && this.vdim === embedDim) {
      this.inProjWeight = this.registerParameter('in_proj_weight', xavierUniform([3 * embedDim, embedDim], 1, { device }));
      this.qProjWeight = this.kProjWeight = this.vProjWeight = null;
    } else {
      this.qProjWeight = this.registerParameter('q_proj_weight', xavierUniform([embedDim, embedDim], 1, { device }));
      this.kProjWeight = this.registerParameter('k_proj_weight', xavierUniform([embedDim, this.kdim], 1, { device }));
      this.vProjWeight = this.registerParameter('v_proj_weight', xavierUniform([embedDim, this.vdim], 1, { device }));
      this.inProjWeight = null;
    }
    this.inProjBias = bias ? this.registerParameter('in_proj_bias', zeros([3 * embedDim], { device })) : null;
    if (options.addBiasKv) {
      const { fanIn, fanOut } = fanInOut([1, 1, embedDim]);
      const std = Math.sqrt(2 / (fanIn + fanOut));
      this.biasK = this.registerParameter('bias_k', normal([1, 1, embedDim], 0, std, { device }));
      this.biasV = this.registerParameter('bias_v', normal([1, 1, embedDim], 0, std, { device }));
    } else {
      this.biasK = this.biasV = null;
    }
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, device }));
    if (this.outProj.bias) constant_(this.outProj.bias, 0);
  }

  /**
   * Attends `query` over `key`/`value`.
   * @param query `[L, N, E]` (`[N, L, E]` with batchFirst) or `[L, E]` unbatched
   * @param key `[S, N, kdim]` (`[N, S, kdim]` with batchFirst) or `[S, kdim]`
   * @param value `[S, N, vdim]` (`[N, S, vdim]` with batchFirst) or `[S, vdim]`
   * @returns `[attnOutput, attnWeights]`: the output has the query's layout; the weights are
   * `[N, L, S]` (averaged) or `[N, numHeads, L, S]`, without N when unbatched, or null when
   * `needWeights` is false
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const batched = query.rank === 3;
    if (!(query.rank === 3 || query.rank === 2) || key.rank !== query.rank || value.rank !== query.rank) {
      throw new ShapeError(
        `MultiheadAttention expects query, key and value all 3-D (batched) or all 2-D (unbatched), got ${formatShape(query.shape)}, ${formatShape(key.shape)}, ${formatShape(value.shape)}`,
      );
    }
    const needWeights = options.needWeights ?? true;
    const average = options.averageAttnWeights ?? true;
    const H = this.numHeads;
    const hd = this.headDim;
    const E = this.embedDim;
    const device = query.device;
    return tidy((): [Tensor, Tensor | null] => {
      let q = query;
      let k = key;
      let v = value;
      let kpm = options.keyPaddingMask ?? null;
      if (!batched) {
        q = q.unsqueeze(1);
        k = k.unsqueeze(1);
        v = v.unsqueeze(1);
        if (kpm) {
          if (kpm.rank !== 1) throw new ShapeError(`unbatched keyPaddingMask must be 1-D [S], got ${formatShape(kpm.shape)}`);
          kpm = kpm.unsqueeze(0);
        }
      } else if (this.batchFirst) {
        // The projections read [L, N, E] rows: one contiguous transposed copy per distinct
        // input (self-attention passes one tensor three times) costs less than each
        // projection gathering the strided view on its own.
        q = q.transpose(0, 1).contiguous();
        k = key === query ? q : k.transpose(0, 1).contiguous();
        v = value === query ? q : value === key ? k : v.transpose(0, 1).contiguous();
      }
      const [L, N, qE] = q.shape;
      let S = k.shape[0];
      if (qE !== E)
        throw new ShapeError(`MultiheadAttention: query's last dim must be embedDim=${E}, got query ${formatShape(query.shape)}`);
      if (k.shape[2] !== this.kdim)
        throw new ShapeError(`MultiheadAttention: key's last dim must be kdim=${this.kdim}, got key ${formatShape(key.shape)}`);
      if (v.shape[2] !== this.vdim)
        throw new ShapeError(`MultiheadAttention: value's last dim must be vdim=${this.vdim}, got value ${formatShape(value.shape)}`);
      if (k.shape[1] !== N || v.shape[1] !== N)
        throw new ShapeError(
          `MultiheadAttention: query, key and value need the same batch size, got ${formatShape(query.shape)}, ${formatShape(key.shape)}, ${formatShape(value.shape)}`,
        );
      if (v.shape[0] !== S)
        throw new ShapeError(
          `MultiheadAttention: key and value need the same sequence length, got ${formatShape(key.shape)} and ${formatShape(value.shape)}`,
        );

      // Input projections.
      const b = this.inProjBias;
      const bq = b ? b.narrow(0, 0, E) : null;
      const bk = b ? b.narrow(0, E, E) : null;
      const bv = b ? b.narrow(0, 2 * E, E) : null;
      let wq: Tensor;
      let wk: Tensor;
      let wv: Tensor;
      if (this.inProjWeight) {
        wq = this.inProjWeight.narrow(0, 0, E);
        wk = this.inProjWeight.narrow(0, E, E);
        wv = this.inProjWeight.narrow(0, 2 * E, E);
      } else {
        wq = this.qProjWeight as Tensor;
        wk = this.kProjWeight as Tensor;
        wv = this.vProjWeight as Tensor;
      }
      const qp = linear(q, wq, bq);
      let kp = linear(k, wk, bk);
      let vp = linear(v, wv, bv);

      const cache = options.kvCache ?? null;
      if (cache && (this.biasK || this.addZeroAttn))
        throw new GhostFlowError('MultiheadAttention: kvCache cannot be combined with addBiasKv or addZeroAttn');
      const past = cache ? cache.length : 0;
      const total = S + past;
      let attnMask = options.attnMask ?? null;
      if (attnMask) {
        if (attnMask.dtype !== 'bool' && attnMask.dtype !== 'float32')
          throw new GhostFlowError(`attnMask must be bool or float32, got ${attnMask.dtype}`);
        if (attnMask.rank === 2) {
          if (attnMask.shape[0] !== L || attnMask.shape[1] !== total)
            throw new ShapeError(`2-D attnMask must be [${L}, ${total}], got ${formatShape(attnMask.shape)}`);
          attnMask = attnMask.unsqueeze(0);
        } else if (attnMask.rank === 3) {
          if (attnMask.shape[0] !== N * H || attnMask.shape[1] !== L || attnMask.shape[2] !== total) {
            throw new ShapeError(
              `3-D attnMask must be [${N * H}, ${L}, ${total}] (batch * numHeads, L, S), got ${formatShape(attnMask.shape)}`,
            );
          }
        } else {
          throw new ShapeError(`attnMask must be 2-D or 3-D, got ${formatShape(attnMask.shape)}`);
        }
      }
      if (kpm) {
        if (kpm.dtype !== 'bool' && kpm.dtype !== 'float32')
          throw new GhostFlowError(`keyPaddingMask must be bool or float32, got ${kpm.dtype}`);
        if (kpm.rank !== 2 || kpm.shape[0] !== N) throw new ShapeError(`keyPaddingMask must be [${N}, S], got ${formatShape(kpm.shape)}`);
      }
      const padMask = (m: Tensor | null): Tensor | null => {
        if (!m) return null;
        const shape = [...m.shape.slice(0, -1), 1];
        return cat([m, m.dtype === 'bool' ? full(shape, false, { dtype: 'bool', device }) : zeros(shape, { device })], -1);
      };

      if (this.biasK && this.biasV) {
        kp = cat([kp, this.biasK.expand(1, N, E)], 0);
        vp = cat([vp, this.biasV.expand(1, N, E)], 0);
        attnMask = padMask(attnMask);
        kpm = padMask(kpm);
        S += 1;
      }

      // Split heads: [T, N, E] -> [N * H, T, hd].
      const qh = qp.reshape(L, N * H, hd).transpose(0, 1);
      let kh = kp.reshape(S, N * H, hd).transpose(0, 1);
      let vh = vp.reshape(S, N * H, hd).transpose(0, 1);
      if (this.addZeroAttn) {
        kh = cat([kh, zeros([N * H, 1, hd], { device })], 1);
        vh = cat([vh, zeros([N * H, 1, hd], { device })], 1);
        attnMask = padMask(attnMask);
        kpm = padMask(kpm);
        S += 1;
      }
      if (cache) {
        [kh, vh] = cache.append(kh, vh);
        S = kh.shape[1];
      }
      if (kpm && kpm.shape[1] !== S)
        throw new ShapeError(`keyPaddingMask must be [${N}, ${S}]${cache ? ' (cached + new keys)' : ''}, got ${formatShape(kpm.shape)}`);

      let mask = attnMask;
      if (kpm)
        mask = mergeMasks(
          mask,
          kpm
            .reshape(N, 1, 1, S)
            .expand(N, H, 1, S)
            .reshape(N * H, 1, S),
        );
      // Causal: key j is masked out for query i when j > i + past (the op's own causal flag
      // when past = S - L, an explicit mask otherwise).
      const causalOffset = options.isCausal && !attnMask ? past : null;
      const p = this.training ? this.dropout : 0;
      if (!(p >= 0 && p <= 1)) throw new GhostFlowError(`dropout probability has to be between 0 and 1, but got ${p}`);
      const { output, weights } = attentionWithWeights(qh, kh, vh, mask, causalOffset, Math.sqrt(1 / hd), p, this.training);
      let out = this.outProj.forward(output.transpose(0, 1).reshape(L * N, E)).reshape(L, N, E);
      let w: Tensor | null = null;
      if (needWeights) {
        w = weights.reshape(N, H, L, S);
        if (average) w = w.mean(1);
      }
      if (!batched) {
        out = out.squeeze(1);
        if (w) w = w.squeeze(0);
      } else if (this.batchFirst) {
        out = out.transpose(0, 1);
      }
      return [out, w];
    });
  }

  /** `embedDim=.., numHeads=.., ...`. */
  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, kdim=${this.kdim}, vdim=${this.vdim}, dropout=${this.dropout}, batchFirst=${this.batchFirst}`;
  }
}
