/**
 * One whole layer of an RNN / LSTM / GRU (one or both directions), input projection
 * included, as PyTorch's `_VF.lstm` runs per layer. In inference (no gradient needed) on a
 * backend with the fused `recurrentLayer` kernel it is that one call: the backend projects
 * the input, runs the time loops, and writes both directions straight into the layer's
 * output layout (batch-first when the input is), the final states stacked, so no transpose,
 * concatenation, stack or zero state is left as an op of its own. Otherwise it is the
 * composition it must equal (and that gradients go through): `linear` per direction,
 * {@link recurrentSequence} / {@link recurrentSequenceBidirectional}, `cat` and `stack`.
 */
import { needsGrad } from '../autograd/record.js';
import type { DataId, RecurrentLayerDirection, RecurrentMode, TensorView } from '../backend/kernels.js';
import { GhostFlowError, ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { cat, stack } from './join.js';
import { linear } from './matmul.js';
import { contiguous } from './view.js';
import {
  type RecurrentSequenceResult,
  type RecurrentWeights,
  recurrentSequence,
  recurrentSequenceBidirectional,
} from './recurrent-sequence.js';
import { gateCount, nonIncreasingBatchSizes } from './recurrent-checks.js';

/** One direction's parameters of {@link recurrentLayer} (PyTorch's `weight_ih_l*`, ...). */
export interface RecurrentLayerWeights extends RecurrentWeights {
  /** `[G*H, I]` input weight. */
  wIh: Tensor;
  /** `[G*H]` input bias, or null/absent. */
  bIh?: Tensor | null;
}

/** Options of {@link recurrentLayer}. */
export interface RecurrentLayerOptions {
  /** The recurrence. */
  mode: RecurrentMode;
  /**
   * Packed input: `x` is 2-D `[N, I]` with `batchSizes[t]` rows at step t (as
   * `PackedSequence.batchSizes`). Absent: `x` is a padded 3-D sequence.
   */
  batchSizes?: readonly number[];
  /** A padded `x` is `[B, T, I]` (and the output `[B, T, D*P]`) instead of `[T, B, I]`. Default false. */
  batchFirst?: boolean;
}

/** What {@link recurrentLayer} returns. */
export interface RecurrentLayerResult {
  /** The layer's output, `[T, B, D*P]` (`[B, T, D*P]` batch-first, `[N, D*P]` packed): direction d in columns `[d*P, (d+1)*P)`. */
  output: Tensor;
  /** `[D, B, P]`: each direction's state after each entry's last step. */
  h: Tensor;
  /** `[D, B, H]`: the LSTM cell states likewise; null for GRU/RNN. */
  c: Tensor | null;
}

/**
 * Runs one layer of a recurrent network over a whole sequence, one direction or both (the
 * second runs from the last step to the first), input projection included:
 * `output[..., d*P:(d+1)*P]` is `recurrentSequence(linear(x, wIh_d, bIh_d), ...)` of
 * direction d. Values and gradients are those of that composition; in inference a backend
 * may run the whole layer as one fused kernel.
 * @param x `[T, B, I]`, `[B, T, I]` with `batchFirst`, or packed `[N, I]` with `batchSizes`
 * @param directions one or two directions' weights (the second is the reverse direction)
 * @param state initial `h0` `[D, B, P]` and (LSTM) `c0` `[D, B, H]`; null/absent means zeros
 * @param options mode, `batchSizes` (packed input), `batchFirst`
 * @example
 * ```ts
 * import { randn, recurrentLayer } from '@ghostflow/core';
 * // A bidirectional GRU layer over a batch-first [B=2, T=5, I=3] sequence, hidden size 8.
 * const x = randn([2, 5, 3]);
 * const dir = () => ({ wIh: randn([24, 3]), bIh: randn([24]), wHh: randn([24, 8]), bHh: randn([24]) });
 * const { output, h } = recurrentLayer(x, [dir(), dir()], {}, { mode: 'GRU', batchFirst: true });
 * console.log(output.shape, h.shape); // [2, 5, 16] [2, 2, 8]
 * ```
 */
export function recurrentLayer(
  x: Tensor,
  directions: readonly RecurrentLayerWeights[],
  state: { h0?: Tensor | null; c0?: Tensor | null },
  options: RecurrentLayerOptions,
): RecurrentLayerResult {
  const name = 'recurrentLayer';
  const { mode } = options;
  const G = gateCount(mode, name);
  const D = directions.length;
  if (D !== 1 && D !== 2) throw new GhostFlowError(`${name}: expected one or two directions, got ${D}`);
  const packed = options.batchSizes !== undefined;
  const batchFirst = !packed && (options.batchFirst ?? false);
  if (packed ? x.rank !== 2 : x.rank !== 3)
    throw new ShapeError(
      `${name}: expected x ${packed ? '2-D [N, inputSize] with batchSizes' : `3-D ${batchFirst ? '[B, T, inputSize]' : '[T, B, inputSize]'}`}, got shape ${formatShape(x.shape)}`,
    );
  const I = x.shape[x.rank - 1];
  const T = packed ? (options.batchSizes as readonly number[]).length : x.shape[batchFirst ? 1 : 0];
  const B = packed ? ((options.batchSizes as readonly number[])[0] ?? 0) : x.shape[batchFirst ? 0 : 1];
  const batchSizes = packed ? [...(options.batchSizes as readonly number[])] : new Array<number>(T).fill(B);
  for (const w of directions) {
    if (w.wIh.rank !== 2 || w.wIh.shape[1] !== I || w.wIh.shape[0] !== w.wHh.shape[0] || w.wIh.shape[0] % G !== 0)
      throw new ShapeError(
        `${name}: wIh must be [${w.wHh.shape[0]}, ${I}] (the gate rows of wHh, the input's features), got ${formatShape(w.wIh.shape)}`,
      );
    if (w.bIh && (w.bIh.rank !== 1 || w.bIh.shape[0] !== w.wIh.shape[0]))
      throw new ShapeError(`${name}: bIh must be [${w.wIh.shape[0]}], got ${formatShape(w.bIh.shape)}`);
  }
  const H = directions[0].wHh.shape[0] / G;
  const P = directions[0].wHh.shape[1];
  for (const [what, t, size] of [
    ['h0', state.h0, P],
    ['c0', state.c0, H],
  ] as const) {
    if (t && (t.rank !== 3 || t.shape[0] !== D || t.shape[1] !== B || t.shape[2] !== size))
      throw new ShapeError(`${name}: ${what} must be [${D}, ${B}, ${size}], got ${formatShape(t.shape)}`);
  }
  const ws = directions.flatMap((w) => [w.wIh, w.bIh, w.wHh, w.bHh, w.wHr]).filter((t): t is Tensor => !!t);
  const all = [x, ...ws, ...(state.h0 ? [state.h0] : []), ...(state.c0 ? [state.c0] : [])];
  backendOf(...all);
  const fused = fusedKernel(x.backend, 'recurrentLayer');
  const sameShapes = directions.every((w) => w.wHh.shape[0] === G * H && w.wHh.shape[1] === P && !w.wHr === !directions[0].wHr);
  const N = batchSizes.reduce((a, n) => a + n, 0);
  // The fused layer is inference only (its gradient is the composition's) and wants what
  // the composition would check: let the composition validate anything unusual and throw.
  if (
    !fused ||
    needsGrad(all) ||
    !sameShapes ||
    N === 0 ||
    B === 0 ||
    all.some((t) => t.dtype !== 'float32') ||
    batchSizes.length === 0 ||
    !nonIncreasingBatchSizes(batchSizes)
  )
    return composedLayer(x, directions, state, mode, batchSizes, packed, batchFirst);
  // Every input contiguous (the states' per-direction views may be offset).
  const temps: Tensor[] = [];
  const operand = (t: Tensor | null | undefined): Tensor | null => {
    if (!t) return null;
    const c = contiguous(t);
    if (c !== t) temps.push(c);
    return c;
  };
  const flat = operand(x) as Tensor;
  const rows = flat.reshape([N, I]);
  temps.push(rows);
  const input = (t: Tensor | null | undefined) => operand(t)?.kernelInput() ?? null;
  const stateOf = (t: Tensor | null | undefined, d: number) => {
    if (!t) return null;
    const s = t.select(0, d);
    temps.push(s);
    return input(s);
  };
  const dirs: RecurrentLayerDirection[] = directions.map((w, d) => ({
    wIh: input(w.wIh) as TensorView,
    bIh: input(w.bIh),
    wHh: input(w.wHh) as TensorView,
    bHh: input(w.bHh),
    wHr: input(w.wHr),
    h0: stateOf(state.h0, d),
    c0: mode === 'LSTM' ? stateOf(state.c0, d) : null,
  }));
  let ids: [DataId, DataId, DataId | null];
  try {
    ids = fused(rows.kernelInput(), dirs, { mode, batchSizes, hiddenSize: H, batchFirst });
  } finally {
    for (const t of temps) t.dispose();
  }
  const [yId, hId, cId] = ids;
  const shape = packed ? [N, D * P] : batchFirst ? [B, T, D * P] : [T, B, D * P];
  return {
    output: fromDataId(x.backend, yId, shape, 'float32'),
    h: fromDataId(x.backend, hId, [D, B, P], 'float32'),
    c: cId ? fromDataId(x.backend, cId, [D, B, H], 'float32') : null,
  };
}

/** The layer as ops: per direction `linear` and the sequence op, then `cat` / `stack` (records its graph). */
function composedLayer(
  x: Tensor,
  directions: readonly RecurrentLayerWeights[],
  state: { h0?: Tensor | null; c0?: Tensor | null },
  mode: RecurrentMode,
  batchSizes: number[],
  packed: boolean,
  batchFirst: boolean,
): RecurrentLayerResult {
  const D = directions.length;
  const I = x.shape[x.rank - 1];
  const tm = batchFirst ? x.transpose(0, 1) : x;
  const N = batchSizes.reduce((a, n) => a + n, 0);
  const rows = packed ? x : tm.reshape([N, I]);
  const temps: Tensor[] = [];
  const keepTemp = <T extends Tensor | null>(t: T): T => {
    if (t) temps.push(t);
    return t;
  };
  if (rows !== x) keepTemp(rows);
  if (tm !== x) keepTemp(tm);
  const dirs = directions.map((w, d) => ({
    gi: keepTemp(linear(rows, w.wIh, w.bIh ?? null)),
    state: { h0: keepTemp(state.h0?.select(0, d) ?? null), c0: keepTemp(mode === 'LSTM' ? (state.c0?.select(0, d) ?? null) : null) },
    weights: { wHh: w.wHh, bHh: w.bHh ?? null, wHr: w.wHr ?? null },
  }));
  let results: RecurrentSequenceResult[];
  try {
    results =
      D === 1
        ? [recurrentSequence(dirs[0].gi, dirs[0].state, dirs[0].weights, { mode, batchSizes })]
        : recurrentSequenceBidirectional(dirs[0], dirs[1], { mode, batchSizes });
  } finally {
    for (const t of temps) t.dispose();
  }
  const outs = results.map((r) => r.output);
  const out = D === 1 ? outs[0] : cat(outs, 1);
  let output = out;
  if (!packed) {
    const B = batchSizes[0];
    const seq = out.reshape([batchSizes.length, B, out.shape[1]]);
    output = batchFirst ? seq.transpose(0, 1) : seq;
    if (output !== seq) seq.dispose();
  }
  const h = stack(
    results.map((r) => r.h),
    0,
  );
  const c =
    mode === 'LSTM'
      ? stack(
          results.map((r) => r.c as Tensor),
          0,
        )
      : null;
  for (const r of results) {
    r.h.dispose();
    r.c?.dispose();
  }
  if (D > 1) for (const o of outs) o.dispose();
  if (output !== out) out.dispose();
  return { output, h, c };
}
