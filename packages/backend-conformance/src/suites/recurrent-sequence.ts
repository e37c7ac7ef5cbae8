/**
 * The whole-sequence recurrent op (`recurrentSequence`): the backend's fused
 * `recurrentSequence` / `recurrentSequenceBackward` kernels against the composed per-step path
 * (values and gradients of every input), for LSTM (with and without projection), GRU and RNN
 * tanh/relu, padded and packed batch sizes, both directions, given and absent initial states,
 * a single step, and sizes with vector tails, more than 256 gate columns and more outputs per
 * step than one block of threads; and `recurrentSequenceBidirectional` (the fused pair kernel,
 * when the backend has it) against two `recurrentSequence` calls; and `recurrentLayer` (the fused
 * inference layer, when the backend has it: input projection, one or both directions,
 * batch-first / time-major / packed rows) against its composition. Part of the `ops-norm` suite.
 */
import {
  type RecurrentMode,
  type Tensor,
  gradients,
  loadBackend,
  noGrad,
  recurrentLayer,
  recurrentSequence,
  recurrentSequenceBidirectional,
  tensor,
  tidy,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { weightedLoss } from '../cases.js';
import {
  expectFusedMatchesComposed,
  expectFusedMatchesComposedNoGrad,
  expectFusedMatchesComposedSecondOrder,
  seededHostInputs,
  useBackendWithout,
  useCountingBackend,
  useUnfusedBackend,
} from '../checks.js';
import type { SuiteContext } from '../context.js';

/** One configuration of the op. */
interface SeqCase {
  name: string;
  mode: RecurrentMode;
  hidden: number;
  /** Projection size (LSTM), 0 = none. */
  proj?: number;
  batchSizes: number[];
  reverse?: boolean;
  /** Pass h0 (and c0). */
  states?: boolean;
  bias?: boolean;
}

const GATES: Record<RecurrentMode, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 };

/** Host inputs of a case, in the order gi, wHh, [bHh], [wHr], [h0, [c0]]. */
function inputsOf(c: SeqCase, seed: number): { data: number[]; shape: number[] }[] {
  const G = GATES[c.mode];
  const H = c.hidden;
  const P = c.proj || H;
  const N = c.batchSizes.reduce((a, b) => a + b, 0);
  const B = c.batchSizes[0];
  const shapes: number[][] = [
    [N, G * H],
    [G * H, P],
  ];
  if (c.bias !== false) shapes.push([G * H]);
  if (c.proj) shapes.push([P, H]);
  if (c.states) {
    shapes.push([B, P]);
    if (c.mode === 'LSTM') shapes.push([B, H]);
  }
  // Weights at the scale nn's init uses, so a long sequence neither saturates nor explodes.
  return seededHostInputs(shapes, seed, 1).map((x, i) => (i === 0 ? x : { ...x, data: x.data.map((v) => v / Math.sqrt(Math.max(H, P))) }));
}

/** Runs the op of case `c` on tensors laid out as {@link inputsOf}. */
function runCase(c: SeqCase, xs: Tensor[]): Tensor[] {
  let k = 0;
  const gi = xs[k++];
  const wHh = xs[k++];
  const bHh = c.bias !== false ? xs[k++] : null;
  const wHr = c.proj ? xs[k++] : null;
  const h0 = c.states ? xs[k++] : null;
  const c0 = c.states && c.mode === 'LSTM' ? xs[k++] : null;
  const r = recurrentSequence(gi, { h0, c0 }, { wHh, bHh, wHr }, { mode: c.mode, batchSizes: c.batchSizes, reverse: c.reverse });
  return r.c ? [r.output, r.h, r.c] : [r.output, r.h];
}

const CASES: SeqCase[] = [
  { name: 'LSTM, padded, h0/c0 given', mode: 'LSTM', hidden: 5, batchSizes: [3, 3, 3, 3], states: true },
  { name: 'LSTM, packed, no states', mode: 'LSTM', hidden: 6, batchSizes: [4, 3, 3, 1] },
  { name: 'LSTM, packed, reverse, h0/c0 given', mode: 'LSTM', hidden: 6, batchSizes: [4, 3, 3, 1], reverse: true, states: true },
  { name: 'LSTM with projSize, packed', mode: 'LSTM', hidden: 7, proj: 3, batchSizes: [3, 2, 2, 1], states: true },
  { name: 'LSTM with projSize, reverse, no bias', mode: 'LSTM', hidden: 7, proj: 3, batchSizes: [3, 3, 2], reverse: true, bias: false },
  { name: 'GRU, padded, h0 given', mode: 'GRU', hidden: 5, batchSizes: [2, 2, 2, 2, 2], states: true },
  { name: 'GRU, packed, reverse, no states', mode: 'GRU', hidden: 6, batchSizes: [4, 4, 2, 1], reverse: true },
  { name: 'GRU, no bias', mode: 'GRU', hidden: 4, batchSizes: [3, 2, 1], bias: false, states: true },
  { name: 'RNN tanh, packed, reverse', mode: 'RNN_TANH', hidden: 5, batchSizes: [3, 2, 2, 1], reverse: true, states: true },
  { name: 'RNN relu, padded', mode: 'RNN_RELU', hidden: 6, batchSizes: [2, 2, 2] },
  // 4H = 268 gate columns: the GEMMs' k blocking (256) and 16-wide panel edges, vector tails.
  { name: 'LSTM, large with tails, packed', mode: 'LSTM', hidden: 67, batchSizes: [5, 5, 4, 4, 2, 1, 1], states: true },
  { name: 'GRU, large with tails, reverse', mode: 'GRU', hidden: 93, batchSizes: [6, 5, 5, 3], reverse: true, states: true },
  {
    name: 'RNN relu, packed, reverse, no bias',
    mode: 'RNN_RELU',
    hidden: 9,
    batchSizes: [5, 3, 3, 2],
    reverse: true,
    bias: false,
    states: true,
  },
  { name: 'LSTM, one step', mode: 'LSTM', hidden: 3, batchSizes: [2], states: true },
  // B*P = 222 projected outputs per step: more than one block of threads; reverse + packed:
  // rows that start late take their state gradient from steps that ran without them.
  {
    name: 'LSTM with projSize, large with tails, packed, reverse',
    mode: 'LSTM',
    hidden: 41,
    proj: 37,
    batchSizes: [6, 6, 4, 1],
    reverse: true,
    states: true,
  },
];

/** One configuration of `recurrentLayer`. */
interface LayerCase {
  name: string;
  mode: RecurrentMode;
  input: number;
  hidden: number;
  proj?: number;
  directions: 1 | 2;
  /** Batch-first `[B, T, I]`, time-major `[T, B, I]`, or packed rows with these batch sizes. */
  layout: 'batchFirst' | 'timeMajor' | number[];
  batch: number;
  steps: number;
  states?: boolean;
  bias?: boolean;
}

const LAYER_CASES: LayerCase[] = [
  { name: 'bidirectional LSTM, batch-first', mode: 'LSTM', input: 5, hidden: 6, directions: 2, layout: 'batchFirst', batch: 3, steps: 4 },
  {
    name: 'LSTM with projSize, batch-first, states',
    mode: 'LSTM',
    input: 4,
    hidden: 7,
    proj: 3,
    directions: 1,
    layout: 'batchFirst',
    batch: 2,
    steps: 3,
    states: true,
  },
  {
    name: 'bidirectional GRU, packed, states',
    mode: 'GRU',
    input: 3,
    hidden: 5,
    directions: 2,
    layout: [3, 2, 2, 1],
    batch: 3,
    steps: 4,
    states: true,
  },
  {
    name: 'RNN tanh, time-major, no bias',
    mode: 'RNN_TANH',
    input: 4,
    hidden: 6,
    directions: 2,
    layout: 'timeMajor',
    batch: 2,
    steps: 3,
    bias: false,
  },
  // 4H = 268 gate columns: panel edges and vector tails.
  {
    name: 'LSTM, large with tails, batch-first',
    mode: 'LSTM',
    input: 9,
    hidden: 67,
    directions: 2,
    layout: 'batchFirst',
    batch: 5,
    steps: 3,
    states: true,
  },
];

/** Host inputs of a layer case: x, then per direction wIh, [bIh], wHh, [bHh], [wHr], then [h0, [c0]]. */
function layerInputsOf(c: LayerCase, seed: number): { data: number[]; shape: number[] }[] {
  const G = GATES[c.mode] * c.hidden;
  const P = c.proj || c.hidden;
  const N = Array.isArray(c.layout) ? c.layout.reduce((a, b) => a + b, 0) : c.batch * c.steps;
  const shapes: number[][] = [
    Array.isArray(c.layout) ? [N, c.input] : c.layout === 'batchFirst' ? [c.batch, c.steps, c.input] : [c.steps, c.batch, c.input],
  ];
  for (let d = 0; d < c.directions; d++) {
    shapes.push([G, c.input]);
    if (c.bias !== false) shapes.push([G]);
    shapes.push([G, P]);
    if (c.bias !== false) shapes.push([G]);
    if (c.proj) shapes.push([P, c.hidden]);
  }
  if (c.states) {
    shapes.push([c.directions, c.batch, P]);
    if (c.mode === 'LSTM') shapes.push([c.directions, c.batch, c.hidden]);
  }
  return seededHostInputs(shapes, seed, 1).map((x, i) => (i === 0 ? x : { ...x, data: x.data.map((v) => v / Math.sqrt(c.hidden)) }));
}

/** Runs `recurrentLayer` of case `c` on tensors laid out as {@link layerInputsOf}. */
function runLayer(c: LayerCase, xs: Tensor[]): Tensor[] {
  let k = 0;
  const x = xs[k++];
  const dirs = Array.from({ length: c.directions }, () => ({
    wIh: xs[k++],
    bIh: c.bias !== false ? xs[k++] : null,
    wHh: xs[k++],
    bHh: c.bias !== false ? xs[k++] : null,
    wHr: c.proj ? xs[k++] : null,
  }));
  const h0 = c.states ? xs[k++] : null;
  const c0 = c.states && c.mode === 'LSTM' ? xs[k++] : null;
  const packed = Array.isArray(c.layout) ? c.layout : undefined;
  const r = recurrentLayer(x, dirs, { h0, c0 }, { mode: c.mode, batchSizes: packed, batchFirst: c.layout === 'batchFirst' });
  return r.c ? [r.output, r.h, r.c] : [r.output, r.h];
}

/** Runs both directions of case `c` (its `reverse` ignored) on two input sets laid out as {@link inputsOf}. */
function runBidirectional(c: SeqCase, xs: Tensor[]): Tensor[] {
  const half = xs.length / 2;
  const dir = (ys: Tensor[]) => {
    let k = 0;
    const gi = ys[k++];
    const wHh = ys[k++];
    const bHh = c.bias !== false ? ys[k++] : null;
    const wHr = c.proj ? ys[k++] : null;
    const h0 = c.states ? ys[k++] : null;
    const c0 = c.states && c.mode === 'LSTM' ? ys[k++] : null;
    return { gi, state: { h0, c0 }, weights: { wHh, bHh, wHr } };
  };
  const rs = recurrentSequenceBidirectional(dir(xs.slice(0, half)), dir(xs.slice(half)), { mode: c.mode, batchSizes: c.batchSizes });
  return rs.flatMap((r) => (r.c ? [r.output, r.h, r.c] : [r.output, r.h]));
}

/** Cases of the bidirectional op (each direction as the case without `reverse`). */
const BIDIRECTIONAL = [CASES[0], CASES[1], CASES[3], CASES[6], CASES[8], CASES[10], CASES[13]];

/** Registers the whole-sequence recurrent tests. */
export function recurrentSequenceTests(ctx: SuiteContext): void {
  describe('recurrentSequence: fused kernels and the per-step path agree', () => {
    const unfused = useUnfusedBackend(ctx);
    CASES.forEach((c, i) => {
      it(`${c.name} (values and gradients)`, () =>
        expectFusedMatchesComposed(ctx, unfused, inputsOf(c, 31 + i), (...xs) => runCase(c, xs), 2e-5));
    });
    it('inference (no grad): the same values', () =>
      expectFusedMatchesComposedNoGrad(ctx, unfused, inputsOf(CASES[3], 7), (...xs) => runCase(CASES[3], xs), 2e-5));
    const tiny: SeqCase = { name: 'tiny GRU', mode: 'GRU', hidden: 2, batchSizes: [2, 1], states: true };
    it('second derivatives (createGraph recomputes with the per-step path)', () =>
      expectFusedMatchesComposedSecondOrder(ctx, unfused, inputsOf(tiny, 9), (...xs) => runCase(tiny, xs)));
  });

  describe('recurrentSequenceBidirectional: the fused pair kernel equals two recurrentSequence calls', () => {
    const single = useBackendWithout(ctx, ['recurrentSequenceBidirectional']);
    BIDIRECTIONAL.forEach((c, i) => {
      it(`${c.name}, both directions (values and gradients)`, () =>
        expectFusedMatchesComposed(
          ctx,
          single,
          [...inputsOf(c, 61 + i), ...inputsOf(c, 81 + i)],
          (...xs) => runBidirectional(c, xs),
          1e-6,
        ));
    });
    it('inference (no grad): the same values', () =>
      expectFusedMatchesComposedNoGrad(
        ctx,
        single,
        [...inputsOf(CASES[5], 5), ...inputsOf(CASES[5], 6)],
        (...xs) => runBidirectional(CASES[5], xs),
        1e-6,
      ));
  });

  describe('recurrentLayer: the fused inference layer equals its composition', () => {
    const composedLayer = useBackendWithout(ctx, ['recurrentLayer']);
    LAYER_CASES.forEach((c, i) => {
      it(`${c.name}: values (inference)`, () =>
        expectFusedMatchesComposedNoGrad(ctx, composedLayer, layerInputsOf(c, 101 + i), (...xs) => runLayer(c, xs), 1e-6));
    });
    it('with gradients: the composition (values and gradients)', () =>
      expectFusedMatchesComposed(ctx, composedLayer, layerInputsOf(LAYER_CASES[2], 7), (...xs) => runLayer(LAYER_CASES[2], xs), 1e-6));
  });

  describe('recurrentSequence kernels', () => {
    const counting = useCountingBackend(ctx);
    const run = (createGraph: boolean) =>
      tidy(() => {
        const c = CASES[1];
        const xs = inputsOf(c, 3).map((x) =>
          tensor(Float32Array.from(x.data), { shape: x.shape, device: counting.name, requiresGrad: true }),
        );
        gradients(weightedLoss(runCase(c, xs)), xs, null, { createGraph, allowUnused: true });
      });
    it('run once per sequence (forward and backward) when the backend has them, the backward not while recorded', async () => {
      const base = await loadBackend(ctx.device);
      const has = (k: string) => typeof (base.fused as Record<string, unknown>)[k] === 'function';
      counting.calls.clear();
      run(false);
      expect(counting.calls.get('recurrentSequence') ?? 0).toBe(has('recurrentSequence') ? 1 : 0);
      expect(counting.calls.get('recurrentSequenceBackward') ?? 0).toBe(
        has('recurrentSequence') && has('recurrentSequenceBackward') ? 1 : 0,
      );
      // The fused sequence never falls back to per-step cell kernels.
      if (has('recurrentSequence')) expect(counting.calls.get('lstmCell') ?? 0).toBe(0);
      counting.calls.clear();
      run(true);
      expect(counting.calls.get('recurrentSequenceBackward') ?? 0).toBe(0);
    });
    it('a bidirectional layer is one pair call when the backend has it (else two sequence calls), and two backward calls', async () => {
      const base = await loadBackend(ctx.device);
      const has = (k: string) => typeof (base.fused as Record<string, unknown>)[k] === 'function';
      const c = CASES[0];
      counting.calls.clear();
      tidy(() => {
        const xs = [...inputsOf(c, 3), ...inputsOf(c, 4)].map((x) =>
          tensor(Float32Array.from(x.data), { shape: x.shape, device: counting.name, requiresGrad: true }),
        );
        gradients(weightedLoss(runBidirectional(c, xs)), xs, null, { allowUnused: true });
      });
      const pair = has('recurrentSequenceBidirectional') && has('recurrentSequence');
      expect(counting.calls.get('recurrentSequenceBidirectional') ?? 0).toBe(pair ? 1 : 0);
      expect(counting.calls.get('recurrentSequence') ?? 0).toBe(pair || !has('recurrentSequence') ? 0 : 2);
      expect(counting.calls.get('recurrentSequenceBackward') ?? 0).toBe(
        has('recurrentSequence') && has('recurrentSequenceBackward') ? 2 : 0,
      );
    });
    it('a layer in inference is one recurrentLayer call when the backend has it (and none under autograd)', async () => {
      const base = await loadBackend(ctx.device);
      const has = typeof (base.fused as Record<string, unknown>).recurrentLayer === 'function';
      const c = LAYER_CASES[0];
      const inputs = layerInputsOf(c, 5);
      const run = (requiresGrad: boolean) =>
        tidy(() => {
          const xs = inputs.map((x) => tensor(Float32Array.from(x.data), { shape: x.shape, device: counting.name, requiresGrad }));
          return requiresGrad ? runLayer(c, xs) : noGrad(() => runLayer(c, xs));
        });
      counting.calls.clear();
      for (const t of run(false)) t.dispose();
      expect(counting.calls.get('recurrentLayer') ?? 0).toBe(has ? 1 : 0);
      // The fused layer projects the input itself: no linear call of its own.
      if (has) expect(counting.calls.get('linear') ?? 0).toBe(0);
      counting.calls.clear();
      for (const t of run(true)) t.dispose();
      expect(counting.calls.get('recurrentLayer') ?? 0).toBe(0);
    });
  });
}
