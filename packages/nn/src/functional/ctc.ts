/**
 * Connectionist temporal classification loss (torch.nn.functional.ctc_loss): the alpha (and,
 * for the gradient, beta) recursion of Graves et al. in log space, one step per frame, with
 * core ops on the input's backend; recorded as one op whose gradient is PyTorch's.
 */
import {
  type Tensor,
  DTypeError,
  GhostFlowError,
  ShapeError,
  cat,
  exp,
  formatShape,
  full,
  isfinite,
  maximum,
  noGrad,
  recordOp,
  scatterAdd,
  tensor,
  tidy,
  where,
  zeros,
} from '@ghostflow/core';
import { type HostInts, hostInts } from '../recurrent/packing.js';
import type { Reduction } from './loss.js';

/** Options of {@link ctcLoss}. */
export interface CTCLossOptions {
  /** The blank class (default 0). */
  blank?: number;
  /**
   * `'none'` (per-sample losses `[N]`), `'mean'` (default: each loss divided by its target
   * length, then the batch mean) or `'sum'`.
   */
  reduction?: Reduction;
  /** Replace infinite losses (no alignment possible) and their gradients by 0 (default false). */
  zeroInfinity?: boolean;
}

const NEG_INF = Number.NEGATIVE_INFINITY;

/** Reads an int tensor or array (any rank) on the host, with the message of hostInts. */
function hostValues(v: HostInts, what: string): number[] {
  if (Array.isArray(v)) return [...(v as readonly number[])];
  const t = v as Tensor;
  if (t.rank === 1) return hostInts(t, what);
  const flat = t.reshape(-1);
  try {
    return hostInts(flat, what);
  } finally {
    flat.dispose();
  }
}

/** Host-side layout of a batch: extended labels (blanks around and between labels) and masks. */
interface Layout {
  /** `[N, S']` extended labels, S' = 2 · maxTargetLength + 1 (padding positions hold blank). */
  ext: Int32Array;
  /** `[N, S']`: position s may be reached from s - 2 (a label differing from the one before it). */
  skip: Uint8Array;
  /** `[N, S']`: s is one of the two final positions (2L, 2L - 1). */
  final: Uint8Array;
  sExt: number;
  inputLengths: number[];
  targetLengths: number[];
}

function layout(
  targets: HostInts,
  targetShape: readonly number[] | null,
  inputLengths: number[],
  targetLengths: number[],
  blank: number,
  C: number,
): Layout {
  const N = inputLengths.length;
  const flat = hostValues(targets, 'targets');
  const padded = targetShape !== null && targetShape.length === 2;
  const maxLen = Math.max(0, ...targetLengths);
  const sExt = 2 * maxLen + 1;
  const ext = new Int32Array(N * sExt).fill(blank);
  const skip = new Uint8Array(N * sExt);
  const final = new Uint8Array(N * sExt);
  let offset = 0;
  for (let n = 0; n < N; n++) {
    const L = targetLengths[n];
    const base = padded ? n * (targetShape as readonly number[])[1] : offset;
    for (let i = 0; i < L; i++) {
      const label = flat[base + i];
      if (!Number.isInteger(label) || label < 0 || label >= C || label === blank) {
        throw new GhostFlowError(
          `ctcLoss: target ${label} (sample ${n}, position ${i}) must be a class in [0, ${C}) other than the blank ${blank}`,
        );
      }
      ext[n * sExt + 2 * i + 1] = label;
      if (i > 0 && flat[base + i - 1] !== label) skip[n * sExt + 2 * i + 1] = 1;
    }
    final[n * sExt + 2 * L] = 1;
    if (L > 0) final[n * sExt + 2 * L - 1] = 1;
    offset += L;
  }
  return { ext, skip, final, sExt, inputLengths, targetLengths };
}

/** `log(exp(a) + exp(b) + exp(c))`, -inf when all three are -inf (never NaN). */
function logAddExp3(a: Tensor, b: Tensor, c: Tensor): Tensor {
  const m = maximum(maximum(a, b), c);
  const ms = where(isfinite(m), m, 0);
  return exp(a.sub(ms))
    .add(exp(b.sub(ms)))
    .add(exp(c.sub(ms)))
    .log()
    .add(ms);
}

/** Shifts `[N, S']` right by `k` along the last dim, filling with -inf. */
function shiftRight(x: Tensor, k: number): Tensor {
  const [N, S] = x.shape;
  if (k >= S) return full([N, S], NEG_INF, { device: x.device });
  return cat([full([N, k], NEG_INF, { device: x.device }), x.narrow(1, 0, S - k)], 1);
}

/** Shifts `[N, S']` left by `k`, filling with -inf. */
function shiftLeft(x: Tensor, k: number): Tensor {
  const [N, S] = x.shape;
  if (k >= S) return full([N, S], NEG_INF, { device: x.device });
  return cat([x.narrow(1, k, S - k), full([N, k], NEG_INF, { device: x.device })], 1);
}

/**
 * Device tensors of a layout for `lp` `[T, N, C]`: `lpExt` `[T, N, S']` (log-probability of
 * each extended label), the skip and final masks, and per-sample input lengths `[N, 1]`.
 */
function deviceLayout(lp: Tensor, l: Layout) {
  const [T, N] = lp.shape;
  const device = lp.device;
  const ext = tensor(l.ext, { shape: [N, l.sExt], dtype: 'int32', device });
  const lpExt = lp.gather(2, ext.unsqueeze(0).expand([T, N, l.sExt]));
  const skip = tensor(l.skip, { shape: [N, l.sExt], dtype: 'bool', device });
  const final = tensor(l.final, { shape: [N, l.sExt], dtype: 'bool', device });
  const lens = tensor(Int32Array.from(l.inputLengths), { shape: [N, 1], dtype: 'int32', device });
  return { ext, lpExt, skip, final, lens };
}

/** Log-space forward variables `[T, N, S']` (frames past a sample's length repeat its last). */
function alphas(lpExt: Tensor, skip: Tensor, lens: Tensor): Tensor[] {
  const [T, N, S] = lpExt.shape;
  const device = lpExt.device;
  const out: Tensor[] = [];
  let alpha = tidy(() => {
    const first = full([N, S], NEG_INF, { device });
    const init = lpExt.select(0, 0);
    const pos = tensor(
      Uint8Array.from({ length: S }, (_, s) => (s < 2 ? 1 : 0)),
      { shape: [1, S], dtype: 'bool', device },
    );
    return where(pos.expand([N, S]), init, first);
  });
  out.push(alpha);
  for (let t = 1; t < T; t++) {
    alpha = tidy(() => {
      const prev = out[t - 1];
      const two = where(skip, shiftRight(prev, 2), NEG_INF);
      const next = logAddExp3(prev, shiftRight(prev, 1), two).add(lpExt.select(0, t));
      return where(lens.gt(t), next, prev);
    });
    out.push(alpha);
  }
  return out;
}

/** Log-space backward variables `[T, N, S']` (-inf at frames past a sample's length). */
function betas(lpExt: Tensor, skip: Tensor, final: Tensor, lens: Tensor): Tensor[] {
  const [T, N, S] = lpExt.shape;
  const device = lpExt.device;
  const out: Tensor[] = new Array(T);
  // skip[s + 2]: the transition s -> s + 2 is allowed.
  const skipAhead = cat([skip.narrow(1, 2, S - 2), zeros([N, 2], { dtype: 'bool', device })], 1);
  let beta = full([N, S], NEG_INF, { device });
  for (let t = T - 1; t >= 0; t--) {
    const prev = beta;
    beta = tidy(() => {
      const lpt = lpExt.select(0, t);
      const init = where(final, lpt, NEG_INF);
      const two = where(skipAhead, shiftLeft(prev, 2), NEG_INF);
      const rec = logAddExp3(prev, shiftLeft(prev, 1), two).add(lpt);
      return where(lens.eq(t + 1), init, where(lens.gt(t + 1), rec, NEG_INF));
    });
    if (t < T - 1) out[t + 1] = prev;
    else prev.dispose();
  }
  out[0] = beta;
  return out;
}

/** Per-sample negative log-likelihoods `[N]` from the last alpha. */
function nllFromAlpha(alphaLast: Tensor, final: Tensor): Tensor {
  const masked = where(final, alphaLast, NEG_INF);
  const m = masked.amax(1, true);
  const ms = where(isfinite(m), m, 0);
  return exp(masked.sub(ms)).sum(1).log().add(ms.squeeze(1)).neg();
}

/**
 * Connectionist temporal classification loss (torch.nn.functional.ctc_loss), PyTorch 1.13's
 * values and gradients.
 *
 * The gradient is PyTorch's: `exp(logProbs) - posterior occupancy` per frame (zero past each
 * input length), i.e. it assumes `logProbs` come from `logSoftmax` and is exact for the logits
 * before it (which is how CTC is used: pass `logSoftmax(logits, -1)`). Lengths and targets are
 * read on the host (pass `number[]` on a backend without synchronous reads).
 * @param logProbs `[T, N, C]` log-probabilities (or unbatched `[T, C]`)
 * @param targets padded `[N, S]` (a tensor or `number[][]`), or all targets concatenated
 * `[sum(targetLengths)]` (unbatched: `[S]`); no blank in them
 * @param inputLengths `[N]` frames per sample (each ≤ T); unbatched: a number
 * @param targetLengths `[N]` labels per sample; unbatched: a number
 * @returns `[N]` with `reduction: 'none'` (`[]` unbatched), else a scalar
 * @example
 * ```ts
 * import { logSoftmax, randint, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { ctcLoss } from '@ghostflow/nn';
 * const logProbs = logSoftmax(randn([50, 16, 20]), -1); // T=50 frames, batch 16, 20 classes (0 = blank)
 * const targets = randint(1, 20, [16, 30]);
 * const loss = ctcLoss(logProbs, targets, new Array(16).fill(50), new Array(16).fill(30));
 * ```
 */
export function ctcLoss(
  logProbs: Tensor,
  targets: HostInts | readonly (readonly number[])[],
  inputLengths: HostInts | number,
  targetLengths: HostInts | number,
  options: CTCLossOptions = {},
): Tensor {
  const blank = options.blank ?? 0;
  const reduction = options.reduction ?? 'mean';
  if (!['none', 'mean', 'sum'].includes(reduction))
    throw new GhostFlowError(`ctcLoss: reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  if (logProbs.dtype !== 'float32') throw new DTypeError(`ctcLoss: logProbs must be float32, got ${logProbs.dtype}`);
  const unbatched = logProbs.rank === 2;
  if (logProbs.rank !== 3 && !unbatched)
    throw new ShapeError(`ctcLoss: logProbs must be [T, N, C] or [T, C], got ${formatShape(logProbs.shape)}`);
  const [T, N, C] = unbatched ? [logProbs.shape[0], 1, logProbs.shape[1]] : logProbs.shape;
  if (!Number.isInteger(blank) || blank < 0 || blank >= C) throw new GhostFlowError(`ctcLoss: blank must be in [0, ${C}), got ${blank}`);
  const inLens = typeof inputLengths === 'number' ? [inputLengths] : hostValues(inputLengths, 'inputLengths');
  const tgLens = typeof targetLengths === 'number' ? [targetLengths] : hostValues(targetLengths, 'targetLengths');
  if (inLens.length !== N || tgLens.length !== N) {
    throw new ShapeError(`ctcLoss: expected ${N} input and target lengths (batch ${N}), got ${inLens.length} and ${tgLens.length}`);
  }
  for (let n = 0; n < N; n++) {
    if (!Number.isInteger(inLens[n]) || inLens[n] < 1 || inLens[n] > T)
      throw new GhostFlowError(`ctcLoss: input length ${inLens[n]} of sample ${n} must be in [1, ${T}]`);
    if (!Number.isInteger(tgLens[n]) || tgLens[n] < 0)
      throw new GhostFlowError(`ctcLoss: target length ${tgLens[n]} of sample ${n} must be >= 0`);
  }
  let targetShape: readonly number[] | null = Array.isArray(targets) ? null : (targets as Tensor).shape;
  let flatTargets = targets as HostInts;
  if (Array.isArray(targets) && targets.length > 0 && Array.isArray(targets[0])) {
    const rowsIn = targets as readonly (readonly number[])[];
    const width = Math.max(0, ...rowsIn.map((r) => r.length));
    targetShape = [rowsIn.length, width];
    flatTargets = rowsIn.flatMap((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
  }
  if (targetShape && targetShape.length === 2 && (targetShape[0] !== N || targetShape[1] < Math.max(0, ...tgLens))) {
    throw new ShapeError(`ctcLoss: padded targets must be [${N}, >= ${Math.max(0, ...tgLens)}], got ${formatShape(targetShape)}`);
  }
  const padded = targetShape !== null && targetShape.length === 2;
  const total = tgLens.reduce((a, b) => a + b, 0);
  const flatCount = Array.isArray(flatTargets) ? flatTargets.length : (flatTargets as Tensor).size;
  if (!padded && flatCount < total)
    throw new ShapeError(`ctcLoss: concatenated targets need ${total} labels (sum of targetLengths), got ${flatCount}`);
  const l = layout(flatTargets, targetShape, inLens, tgLens, blank, C);

  return tidy(() => {
    const lp = unbatched ? logProbs.unsqueeze(1) : logProbs;
    const nll = noGrad(() =>
      tidy(() => {
        const d = deviceLayout(lp, l);
        const as = alphas(d.lpExt, d.skip, d.lens);
        return nllFromAlpha(as[T - 1], d.final);
      }),
    );
    recordOp({
      name: 'ctcLoss',
      inputs: [lp],
      outputs: [nll],
      save: [lp, nll],
      backward: ([g], [lps, nlls]) => {
        const d = deviceLayout(lps, l);
        const as = alphas(d.lpExt, d.skip, d.lens);
        const bs = betas(d.lpExt, d.skip, d.final, d.lens);
        const finite = isfinite(nlls).reshape([1, N, 1]);
        const nllSafe = where(finite, nlls.reshape([1, N, 1]), 0);
        // Occupancy of each extended position: exp(alpha + beta - lp + nll) (lp is counted in both).
        const logOcc = cat(
          as.map((a, t) => a.add(bs[t]).unsqueeze(0)),
          0,
        )
          .sub(d.lpExt)
          .add(nllSafe);
        const occ = where(isfinite(logOcc), exp(logOcc), 0);
        const byClass = scatterAdd(zeros([T, N, C], { device: lps.device }), 2, d.ext.unsqueeze(0).expand([T, N, l.sExt]), occ);
        const frames = tensor(
          Uint8Array.from({ length: T * N }, (_, i) => (Math.floor(i / N) < inLens[i % N] ? 1 : 0)),
          { shape: [T, N, 1], dtype: 'bool', device: lps.device },
        );
        const grad = exp(lps)
          .sub(byClass)
          .mul(g.reshape([1, N, 1]));
        return [where(frames.logicalAnd(finite), grad, 0)];
      },
    });
    let losses = nll;
    if (options.zeroInfinity) losses = where(isfinite(losses), losses, 0);
    let out: Tensor;
    if (reduction === 'none') out = unbatched ? losses.squeeze(0) : losses;
    else if (reduction === 'sum') out = losses.sum();
    else {
      const lens = tensor(
        Float32Array.from(tgLens, (v) => Math.max(v, 1)),
        { device: lp.device },
      );
      out = losses.div(lens).mean();
    }
    return out;
  });
}
