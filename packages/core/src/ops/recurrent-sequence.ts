/**
 * One layer-direction of an RNN / LSTM / GRU over a whole sequence, padded or packed. With
 * the backend's fused `recurrentSequence` kernel the sequence is one graph node (the time loop
 * runs inside the kernel); its backward rule runs the fused `recurrentSequenceBackward` kernel
 * when the backend has one and the backward pass is not itself recorded, and otherwise
 * recomputes the sequence with the composed per-step path and differentiates that (so
 * `createGraph` and backends with only the forward kernel stay exact). Without the forward
 * kernel the op is that per-step path: per step `h W_hh^T + b_hh` (`linear`), the pointwise
 * cell (`lstmCellStep` / `gruCellStep`, or tanh / relu), the LSTM projection; packed batches
 * shrink step by step as in PyTorch (only the rows still running are computed).
 */
import { gradients } from '../autograd/backward.js';
import { enableGrad, isGradEnabled } from '../autograd/grad-mode.js';
import { needsGrad, recordOp } from '../autograd/record.js';
import { type DataId, type RecurrentMode, type RecurrentSequenceAttrs, recurrentWorkspaceSize } from '../backend/kernels.js';
import { DTypeError, GhostFlowError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add } from './binary.js';
import { zeros } from './creation.js';
import { cat } from './join.js';
import { linear } from './matmul.js';
import { gruCellStep, lstmCellStep } from './recurrent-cells.js';
import { relu, tanh } from './unary.js';
import { detach, narrow } from './view.js';
import { gateCount, nonIncreasingBatchSizes } from './recurrent-checks.js';

/** Weights of one layer-direction (PyTorch's `weight_hh_l*`, `bias_hh_l*`, `weight_hr_l*`). */
export interface RecurrentWeights {
  /** `[G*H, P]`: G = 4 (LSTM), 3 (GRU), 1 (RNN); P = projSize or H. */
  wHh: Tensor;
  /** `[G*H]`, or null/absent for no bias. */
  bHh?: Tensor | null;
  /** LSTM projection `[P, H]`, or null/absent. */
  wHr?: Tensor | null;
}

/** Options of {@link recurrentSequence}. */
export interface RecurrentSequenceOptions {
  /** The recurrence. */
  mode: RecurrentMode;
  /**
   * Rows per time step (non-increasing, as `PackedSequence.batchSizes`); default: every step
   * has all `B = h0.shape[0]` rows (a padded `[T, B]` sequence flattened to `[T*B, ...]`).
   */
  batchSizes?: readonly number[];
  /** Run from the last step to the first (the reverse direction). Default false. */
  reverse?: boolean;
}

/** What {@link recurrentSequence} returns. */
export interface RecurrentSequenceResult {
  /** `[N, P]`: the hidden state written at each row (time-major, packed like `gi`). */
  output: Tensor;
  /** `[B, P]`: each batch entry's state after its last step. */
  h: Tensor;
  /** `[B, H]`: the LSTM cell state after each entry's last step; null for GRU/RNN. */
  c: Tensor | null;
}

interface Plan {
  mode: RecurrentMode;
  batchSizes: number[];
  hidden: number;
  out: number;
  batch: number;
  reverse: boolean;
}

function check(
  gi: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
  w: RecurrentWeights,
  options: RecurrentSequenceOptions,
): Plan & { rows: number } {
  const name = 'recurrentSequence';
  const { mode } = options;
  const G = gateCount(mode, name);
  const all: [string, Tensor | null | undefined][] = [
    ['gi', gi],
    ['h0', h0],
    ['c0', c0],
    ['wHh', w.wHh],
    ['bHh', w.bHh],
    ['wHr', w.wHr],
  ];
  backendOf(...all.flatMap(([, t]) => (t ? [t] : [])));
  for (const [what, t] of all) {
    if (t && t.dtype !== 'float32') throw new DTypeError(`${name}: expected a float32 ${what}, got ${t.dtype}`);
  }
  if (w.wHh.rank !== 2 || w.wHh.shape[0] % G !== 0)
    throw new ShapeError(`${name}: wHh must be 2-D [${G}*hiddenSize, P] for ${mode}, got ${formatShape(w.wHh.shape)}`);
  const H = w.wHh.shape[0] / G;
  const P = w.wHh.shape[1];
  if (w.wHr) {
    if (mode !== 'LSTM') throw new GhostFlowError(`${name}: a projection (wHr) is only defined for LSTM, got mode ${mode}`);
    if (w.wHr.rank !== 2 || w.wHr.shape[0] !== P || w.wHr.shape[1] !== H)
      throw new ShapeError(`${name}: wHr must be [${P}, ${H}], got ${formatShape(w.wHr.shape)}`);
  } else if (P !== H) {
    throw new ShapeError(`${name}: wHh must be [${G * H}, ${H}] without a projection, got ${formatShape(w.wHh.shape)}`);
  }
  if (w.bHh && (w.bHh.rank !== 1 || w.bHh.shape[0] !== G * H))
    throw new ShapeError(`${name}: bHh must be [${G * H}], got ${formatShape(w.bHh.shape)}`);
  if (gi.rank !== 2 || gi.shape[1] !== G * H)
    throw new ShapeError(`${name}: gi must be 2-D [rows, ${G * H}], got ${formatShape(gi.shape)}`);
  const N = gi.shape[0];
  let B: number;
  let batchSizes: number[];
  if (options.batchSizes) {
    batchSizes = [...options.batchSizes];
    B = batchSizes[0] ?? 0;
    if (!nonIncreasingBatchSizes(batchSizes))
      throw new ShapeError(`${name}: batchSizes must be positive and non-increasing, got [${batchSizes.join(', ')}]`);
    const total = batchSizes.reduce((a, n) => a + n, 0);
    if (total !== N) throw new ShapeError(`${name}: batchSizes sum to ${total} but gi has ${N} rows`);
  } else {
    if (!h0) throw new GhostFlowError(`${name}: without batchSizes, h0 is needed to know the batch size`);
    B = h0.shape[0];
    if (B === 0 || N % B !== 0) throw new ShapeError(`${name}: gi's ${N} rows are not whole steps of batch ${B}`);
    batchSizes = new Array<number>(N / B).fill(B);
  }
  if (batchSizes.length === 0) throw new ShapeError(`${name}: expected at least one time step, got gi of shape ${formatShape(gi.shape)}`);
  const states: [string, Tensor | null, number][] = [
    ['h0', h0, P],
    ['c0', c0, H],
  ];
  for (const [what, t, size] of states) {
    if (t && (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== size))
      throw new ShapeError(`${name}: ${what} must be [${B}, ${size}], got ${formatShape(t.shape)}`);
  }
  if (c0 && mode !== 'LSTM') throw new GhostFlowError(`${name}: c0 is only defined for LSTM, got mode ${mode}`);
  return { mode, batchSizes, hidden: H, out: P, batch: B, reverse: options.reverse ?? false, rows: N };
}

/**
 * The per-step path: one `linear` on the running rows' state, the pointwise cell, the
 * projection. The state stays `[B, *]`; rows past the step's batch size keep their value.
 */
function composed(gi: Tensor, h0: Tensor, c0: Tensor | null, w: RecurrentWeights, plan: Plan): [Tensor, Tensor, Tensor | null] {
  const { mode, batchSizes, batch: B } = plan;
  const T = batchSizes.length;
  const offsets: number[] = [];
  for (let t = 0, o = 0; t < T; o += batchSizes[t], t++) offsets.push(o);
  let h = h0;
  let c = c0;
  const outs = new Array<Tensor>(T);
  for (let k = 0; k < T; k++) {
    const t = plan.reverse ? T - 1 - k : k;
    const n = batchSizes[t];
    const rows = narrow(gi, 0, offsets[t], n);
    const hp = n === B ? h : narrow(h, 0, 0, n);
    const gh = linear(hp, w.wHh, w.bHh ?? null);
    let hNew: Tensor;
    let cNew: Tensor | null = null;
    if (mode === 'GRU') hNew = gruCellStep(rows, gh, hp);
    else if (mode === 'LSTM') {
      const cp = n === B ? (c as Tensor) : narrow(c as Tensor, 0, 0, n);
      const [hr, cn] = lstmCellStep(rows, gh, cp);
      cNew = cn;
      hNew = w.wHr ? linear(hr, w.wHr, null) : hr;
    } else {
      const pre = add(rows, gh);
      hNew = mode === 'RNN_TANH' ? tanh(pre) : relu(pre);
    }
    outs[t] = hNew;
    h = n === B ? hNew : cat([hNew, narrow(h, 0, n, B - n)], 0);
    if (cNew) c = n === B ? cNew : cat([cNew, narrow(c as Tensor, 0, n, B - n)], 0);
  }
  // One step: the output and the final state are the same values; a view keeps them two tensors.
  return [T === 1 ? outs[0].view(outs[0].shape) : cat(outs, 0), h, c];
}

/**
 * Runs one layer-direction of an RNN (`RNN_TANH`, `RNN_RELU`), LSTM or GRU over a whole
 * sequence, as PyTorch's `_VF.lstm` / `gru` / `rnn_*` do per layer and direction. `gi` holds
 * the input projections `x W_ih^T + b_ih` of every row (`[N, G*H]`, time-major; packed rows
 * with `batchSizes`), so the caller computes them with one `linear` over all steps.
 * Gradients for `gi`, the states and the weights.
 * @param gi `[N, G*H]` input gate sums, G = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n), 1 (RNN)
 * @param state initial `h0` `[B, P]` and (LSTM) `c0` `[B, H]`; null/absent means zeros
 * @param weights `wHh`, `bHh`, `wHr` of this layer-direction
 * @param options mode, packed `batchSizes`, `reverse`
 * @example
 * ```ts
 * import { linear, randn, recurrentSequence } from '@ghostflow/core';
 * // A padded [T=5, B=2] LSTM sequence with hidden size 8 and input size 3.
 * const x = randn([5, 2, 3]);
 * const wIh = randn([32, 3]), bIh = randn([32]), wHh = randn([32, 8]), bHh = randn([32]);
 * const gi = linear(x.reshape([10, 3]), wIh, bIh);             // [10, 32]
 * const { output, h, c } = recurrentSequence(gi, {}, { wHh, bHh }, { mode: 'LSTM', batchSizes: [2, 2, 2, 2, 2] });
 * // output [10, 8] (reshape to [5, 2, 8]), h [2, 8], c [2, 8]
 * ```
 */
export function recurrentSequence(
  gi: Tensor,
  state: { h0?: Tensor | null; c0?: Tensor | null },
  weights: RecurrentWeights,
  options: RecurrentSequenceOptions,
): RecurrentSequenceResult {
  const call = prepare(gi, state, weights, options);
  const fused = fusedKernel(gi.backend, 'recurrentSequence');
  if (!fused) return composedResult(call);
  const { h0, c0, wHh, bHh, wHr } = call;
  const ids = fused(
    gi.kernelInput(),
    h0.kernelInput(),
    c0?.kernelInput() ?? null,
    wHh.kernelInput(),
    bHh?.kernelInput() ?? null,
    wHr?.kernelInput() ?? null,
    call.attrs,
  );
  return record(call, ids);
}

/** One direction of {@link recurrentSequenceBidirectional}: its input sums, states and weights. */
export interface RecurrentDirection {
  /** `[N, G*H]` input gate sums of this direction (as `gi` of {@link recurrentSequence}). */
  gi: Tensor;
  /** Initial `h0` `[B, P]` and (LSTM) `c0` `[B, H]`; null/absent means zeros. */
  state?: { h0?: Tensor | null; c0?: Tensor | null };
  /** This direction's `wHh`, `bHh`, `wHr`. */
  weights: RecurrentWeights;
}

/**
 * Both directions of a bidirectional RNN / LSTM / GRU layer: the same as
 * `recurrentSequence(forward...)` and `recurrentSequence(reverse..., { reverse: true })`, values
 * and gradients, but handed to the backend in one call when it has the fused
 * `recurrentSequenceBidirectional` kernel, so that it can run the two independent time loops at
 * the same time (the cpu backend runs them on two threads). Each direction keeps its own graph
 * node and backward rule, exactly as with two calls.
 * @param forward the forward direction's `gi`, initial states and weights
 * @param reverse the reverse direction's, over the same rows
 * @param options mode and packed `batchSizes` (shared; `reverse` is implied per direction)
 * @returns the forward then the reverse direction's result
 * @example
 * ```ts
 * import { linear, randn, recurrentSequenceBidirectional } from '@ghostflow/core';
 * // A padded [T=5, B=2] bidirectional GRU layer, input size 3, hidden size 8.
 * const x = randn([10, 3]);
 * const dir = () => ({ wIh: randn([24, 3]), wHh: randn([24, 8]) });
 * const [f, r] = [dir(), dir()];
 * const [fwd, rev] = recurrentSequenceBidirectional(
 *   { gi: linear(x, f.wIh), weights: { wHh: f.wHh } },
 *   { gi: linear(x, r.wIh), weights: { wHh: r.wHh } },
 *   { mode: 'GRU', batchSizes: [2, 2, 2, 2, 2] },
 * );
 * // fwd.output and rev.output are [10, 8] each; fwd.h, rev.h [2, 8]
 * ```
 */
export function recurrentSequenceBidirectional(
  forward: RecurrentDirection,
  reverse: RecurrentDirection,
  options: Omit<RecurrentSequenceOptions, 'reverse'>,
): [RecurrentSequenceResult, RecurrentSequenceResult] {
  const backend = forward.gi.backend;
  const pair = fusedKernel(backend, 'recurrentSequenceBidirectional');
  const single = fusedKernel(backend, 'recurrentSequence');
  const f = prepare(forward.gi, forward.state ?? {}, forward.weights, { ...options, reverse: false });
  let r: Prepared;
  try {
    r = prepare(reverse.gi, reverse.state ?? {}, reverse.weights, { ...options, reverse: true });
  } catch (e) {
    release(f);
    throw e;
  }
  backendOf(forward.gi, reverse.gi);
  const same =
    f.plan.batch === r.plan.batch &&
    f.plan.hidden === r.plan.hidden &&
    f.plan.batchSizes.length === r.plan.batchSizes.length &&
    f.plan.batchSizes.every((n, t) => n === r.plan.batchSizes[t]) &&
    f.attrs.train === r.attrs.train;
  if (!pair || !single || !same) {
    // Two calls, as a backend without the pair kernel (or directions it cannot pair) gets.
    const run = (c: Prepared) => {
      if (!single) return composedResult(c);
      const ids = single(
        c.gi.kernelInput(),
        c.h0.kernelInput(),
        c.c0?.kernelInput() ?? null,
        c.wHh.kernelInput(),
        c.bHh?.kernelInput() ?? null,
        c.wHr?.kernelInput() ?? null,
        c.attrs,
      );
      return record(c, ids);
    };
    const a = run(f);
    return [a, run(r)];
  }
  const operands = (c: Prepared) => ({
    gi: c.gi.kernelInput(),
    h0: c.h0.kernelInput(),
    c0: c.c0?.kernelInput() ?? null,
    wHh: c.wHh.kernelInput(),
    bHh: c.bHh?.kernelInput() ?? null,
    wHr: c.wHr?.kernelInput() ?? null,
  });
  const { mode, batchSizes, hiddenSize, train } = f.attrs;
  const [idsF, idsR] = pair(operands(f), operands(r), { mode, batchSizes, hiddenSize, train });
  return [record(f, idsF), record(r, idsR)];
}

/** A checked call of the op: its plan, the tensors the kernel gets, and the kernel attrs. */
interface Prepared {
  plan: Plan & { rows: number };
  gi: Tensor;
  state: { h0?: Tensor | null; c0?: Tensor | null };
  weights: RecurrentWeights;
  h0: Tensor;
  c0: Tensor | null;
  wHh: Tensor;
  bHh: Tensor | null;
  wHr: Tensor | null;
  attrs: RecurrentSequenceAttrs;
}

/** Validates a call and makes the zero states it lacks (freed by {@link record} / {@link release}). */
function prepare(
  gi: Tensor,
  state: { h0?: Tensor | null; c0?: Tensor | null },
  weights: RecurrentWeights,
  options: RecurrentSequenceOptions,
): Prepared {
  const plan = check(gi, state.h0 ?? null, state.c0 ?? null, weights, options);
  const { mode, hidden: H, out: P, batch: B } = plan;
  const isLSTM = mode === 'LSTM';
  const h0 = state.h0 ?? zeros([B, P], { device: gi.device });
  const c0 = isLSTM ? (state.c0 ?? zeros([B, H], { device: gi.device })) : null;
  const wHh = weights.wHh;
  const bHh = weights.bHh ?? null;
  const wHr = weights.wHr ?? null;
  const present = [gi, h0, c0, wHh, bHh, wHr].filter((t): t is Tensor => t !== null);
  const attrs: RecurrentSequenceAttrs = {
    mode,
    batchSizes: plan.batchSizes,
    hiddenSize: H,
    reverse: plan.reverse,
    // Without a backward kernel the rule recomputes from the inputs: nothing extra to keep.
    train: needsGrad(present) && fusedKernel(gi.backend, 'recurrentSequenceBackward') !== undefined,
  };
  return { plan, gi, state, weights, h0, c0, wHh, bHh, wHr, attrs };
}

/** Frees the zero states {@link prepare} made. */
function release(c: Prepared): void {
  if (!c.state.h0) c.h0.dispose();
  if (c.c0 && !c.state.c0) c.c0.dispose();
}

/** The op without the fused kernel: the per-step path (which records its own graph). */
function composedResult(c: Prepared): RecurrentSequenceResult {
  const [output, h, c1] = tidy(() => composed(c.gi, c.h0, c.c0, c.weights, c.plan));
  release(c);
  return { output, h, c: c1 };
}

/** Wraps the fused kernel's outputs of call `call` as tensors and records the op's graph node. */
function record(call: Prepared, ids: [DataId, DataId, DataId | null, DataId | null]): RecurrentSequenceResult {
  const { plan, gi, h0, c0, wHh, bHh, wHr, attrs } = call;
  const { mode, hidden: H, out: P, batch: B, rows: N } = plan;
  const isLSTM = mode === 'LSTM';
  const backend = gi.backend;
  const inputs = [gi, h0, c0, wHh, bHh, wHr];
  const present = inputs.filter((t): t is Tensor => t !== null);
  const fusedBackward = fusedKernel(backend, 'recurrentSequenceBackward');
  const [yId, hId, cId, wsId] = ids;
  const output = fromDataId(backend, yId, [N, P], 'float32');
  const h = fromDataId(backend, hId, [B, P], 'float32');
  const c = isLSTM ? fromDataId(backend, cId as object, [B, H], 'float32') : null;
  const workspace = wsId ? fromDataId(backend, wsId, [recurrentWorkspaceSize(mode, N, H, P)], 'float32') : null;
  const outputs = c ? [output, h, c] : [output, h];
  recordOp({
    name: 'recurrentSequence',
    inputs: present,
    outputs,
    save: [...present, output, ...(workspace ? [workspace] : [])],
    backward: (grads, saved) => {
      const [gY, gH, gC] = grads;
      const ins = saved.slice(0, present.length);
      const y = saved[present.length];
      const ws = saved[present.length + 1];
      // Saved inputs in the positions of `inputs` (null where absent).
      let next = 0;
      const full = inputs.map((t) => (t === null ? null : ins[next++]));
      const [sGi, sH0, sC0, sWhh, sBhh, sWhr] = full;
      if (fusedBackward && ws && !needsGrad([...grads, ...ins])) {
        const ids = fusedBackward(
          (sWhh as Tensor).kernelInput(),
          sWhr?.kernelInput() ?? null,
          y.kernelInput(),
          ws.kernelInput(),
          gY.kernelInput(),
          gH.kernelInput(),
          gC?.kernelInput() ?? null,
          { ...attrs, hasBias: sBhh !== null },
        );
        const shapes = [sGi, sH0, sC0, sWhh, sBhh, sWhr].map((t) => t?.shape ?? null);
        return ids
          .map((id, i) => (id === null || shapes[i] === null || inputs[i] === null ? null : fromDataId(backend, id, shapes[i], 'float32')))
          .filter((_, i) => inputs[i] !== null);
      }
      // Recompute with the per-step path and differentiate it. Under createGraph the saved
      // tensors carry their history, so the result is itself differentiable.
      const createGraph = isGradEnabled();
      const leaves = createGraph ? ins : ins.map((t) => detach(t).requiresGrad_(true));
      let k = 0;
      const l = inputs.map((t) => (t === null ? null : leaves[k++]));
      const outs = enableGrad(() => composed(l[0] as Tensor, l[1] as Tensor, l[2], { wHh: l[3] as Tensor, bHh: l[4], wHr: l[5] }, plan));
      const outList = outs.filter((t): t is Tensor => t !== null);
      const gs = gC ? [gY, gH, gC] : [gY, gH];
      // Only inputs that take part in the graph (a zero h0 made here does not).
      const wanted = leaves.filter((t) => t.requiresGrad);
      const got = gradients(outList, wanted, gs, { allowUnused: true, createGraph });
      return leaves.map((t) => (t.requiresGrad ? got[wanted.indexOf(t)] : null));
    },
  });
  if (workspace) workspace.dispose();
  release(call);
  return { output, h, c };
}
