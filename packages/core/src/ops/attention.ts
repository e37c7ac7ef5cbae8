/**
 * Scaled dot-product attention over a flattened batch: `softmax(q kᵀ · scale + mask) v`,
 * returning the output and the attention weights. With the backend's fused `attention`
 * kernel the op is one node; without it the op is composed from primitives (matmul, add,
 * softmax, where) with the same semantics and autograd differentiates that. Either way a
 * row whose every score is -inf gets zero weights and a zero output (not NaN), with zero
 * gradients flowing through it.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { recordOp } from '../autograd/record.js';
import type { TensorView } from '../backend/kernels.js';
import { DTypeError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, eq, mul, sub } from './binary.js';
import { full } from './creation.js';
import { matmul } from './matmul.js';
import { all, sum } from './reduce.js';
import { maskedFill, where } from './select.js';
import { softmax } from './softmax.js';
import { triu } from './triangular.js';
import { sumToShape, transpose } from './view.js';

/** Options of {@link attention}. */
export interface AttentionOptions {
  /** Additive float32 mask broadcastable to `[B, L, S]` (`-Infinity` masks a key out), or null. */
  mask?: Tensor | null;
  /** Score scale (default `1 / sqrt(E)`). */
  scale?: number | null;
  /**
   * Mask out keys `j > i + (S - L)` for query `i`: the L queries are the last L of the S key
   * positions (the KV-cache convention; with `S = L` the usual lower triangle). Default false.
   */
  causal?: boolean;
}

/** `view` broadcast to `shape` (right-aligned; size-1 and missing dims get stride 0). */
function broadcastView(view: TensorView, shape: readonly number[]): TensorView {
  const lead = shape.length - view.shape.length;
  return {
    ...view,
    shape,
    strides: shape.map((s, i) => (i >= lead && view.shape[i - lead] === s ? view.strides[i - lead] : 0)),
  };
}

/** The composed forward, differentiated by autograd. */
function composed(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, scale: number, causal: boolean): [Tensor, Tensor] {
  const L = q.shape[1];
  const S = k.shape[1];
  return tidy(() => {
    let scores = matmul(mul(q, scale), transpose(k, 1, 2));
    if (mask) scores = add(scores, mask);
    if (causal) {
      const above = triu(full([L, S], true, { dtype: 'bool', device: q.device }), S - L + 1);
      scores = maskedFill(scores, above, Number.NEGATIVE_INFINITY);
    }
    let weights: Tensor;
    if (mask || causal) {
      // A row with every score -inf: softmax would give 0/0 = NaN. Feed it zeros (a finite,
      // uniform softmax) and zero the result, so values and gradients stay finite.
      const dead = noGrad(() => all(eq(scores, Number.NEGATIVE_INFINITY), -1, true));
      weights = where(dead, 0, softmax(where(dead, 0, scores), -1));
    } else {
      weights = softmax(scores, -1);
    }
    return [matmul(weights, v), weights] as [Tensor, Tensor];
  });
}

/**
 * Scaled dot-product attention on 3-D inputs whose batch dim B is batch * heads flattened:
 * `scores = q kᵀ · scale + mask` (and, with `causal`, -inf where key `j > i + (S - L)`),
 * `weights = softmax(scores, -1)` except that a row of all -inf scores gets zero weights (not
 * NaN), `out = weights v`. Returns `[out [B, L, Ev], weights [B, L, S]]`. Uses the backend's
 * fused `attention` kernel when present.
 *
 * Gradients (q, k, v and a float mask), from the saved weights W: `dV = Wᵀ dOut`,
 * `dW = dOut Vᵀ (+ the weights' own gradient)`, `dScores = W (dW - sum(dW W, -1))`,
 * `dQ = dScores K · scale`, `dK = dScoresᵀ Q · scale`, `dMask = dScores` summed to the mask's
 * shape. The rule is written with core ops, so it is itself differentiable (`createGraph`).
 * @param q queries `[B, L, E]`
 * @param k keys `[B, S, E]`
 * @param v values `[B, S, Ev]`
 * @param options `mask` (float32, broadcastable to `[B, L, S]`), `scale`, `causal`
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): [Tensor, Tensor] {
  const mask = options.mask ?? null;
  backendOf(q, k, v, ...(mask ? [mask] : []));
  for (const [what, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
    ['mask', mask],
  ] as const) {
    if (t && t.dtype !== 'float32') throw new DTypeError(`attention: expected a float32 ${what}, got ${t.dtype}`);
  }
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) {
    throw new ShapeError(
      `attention: expected 3-D q [B, L, E], k [B, S, E], v [B, S, Ev], got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  }
  const [B, L, E] = q.shape;
  const S = k.shape[1];
  const Ev = v.shape[2];
  if (k.shape[0] !== B || v.shape[0] !== B || k.shape[2] !== E || v.shape[1] !== S) {
    throw new ShapeError(
      `attention: q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)} do not fit q [B, L, E], k [B, S, E], v [B, S, Ev]`,
    );
  }
  const scoreShape = [B, L, S];
  if (mask) {
    const lead = 3 - mask.rank;
    if (lead < 0 || mask.shape.some((s, i) => s !== 1 && s !== scoreShape[i + lead])) {
      throw new ShapeError(`attention: mask ${formatShape(mask.shape)} does not broadcast to the scores' shape ${formatShape(scoreShape)}`);
    }
  }
  const scale = options.scale ?? 1 / Math.sqrt(E);
  const causal = options.causal ?? false;
  const fused = fusedKernel(q.backend, 'attention');
  if (!fused) return composed(q, k, v, mask, scale, causal);

  const backend = q.backend;
  const [outId, wId] = fused(
    q.kernelInput(),
    k.kernelInput(),
    v.kernelInput(),
    mask ? broadcastView(mask.kernelInput(), scoreShape) : null,
    { scale, causal },
  );
  const out = fromDataId(backend, outId, [B, L, Ev], 'float32');
  const weights = fromDataId(backend, wId, scoreShape, 'float32');
  const needs = [q.requiresGrad, k.requiresGrad, v.requiresGrad, mask?.requiresGrad ?? false];
  const maskShape = mask?.shape ?? [];
  recordOp({
    name: 'attention',
    inputs: mask ? [q, k, v, mask] : [q, k, v],
    outputs: [out, weights],
    save: [q, k, v, weights],
    backward: ([gOut, gW], [qs, ks, vs, w]) => {
      const dV = needs[2] ? matmul(transpose(w, 1, 2), gOut) : null;
      if (!needs[0] && !needs[1] && !needs[3]) return [null, null, dV, null];
      const dW = add(matmul(gOut, transpose(vs, 1, 2)), gW);
      // Softmax's Jacobian; rows with zero weights (fully masked) get zero gradient.
      const dS = mul(w, sub(dW, sum(mul(dW, w), -1, true)));
      return [
        needs[0] ? mul(matmul(dS, ks), scale) : null,
        needs[1] ? mul(matmul(transpose(dS, 1, 2), qs), scale) : null,
        dV,
        needs[3] ? sumToShape(dS, maskShape) : null,
      ];
    },
  });
  return [out, weights];
}
