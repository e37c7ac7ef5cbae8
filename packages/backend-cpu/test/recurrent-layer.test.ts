/**
 * The fused recurrent layer (`recurrentLayer`, inference): core's op runs it in one kernel
 * call when no gradient is needed and composes `linear` + `recurrentSequence` (or the
 * bidirectional pair) + `cat` + `stack` otherwise. On every cpu configuration (JavaScript
 * reference, wasm on one thread, wasm on two threads with every split forced, wasm at the
 * default thresholds) the fused layer must give the composition's values bit for bit:
 * batch-first and time-major and packed rows, one and two directions, LSTM with and without
 * a projection, GRU and both RNNs, odd sizes (vector tails), given and zero initial states,
 * no biases. With both directions paired on two threads (each projecting its own input), a
 * worker that dies or hangs while it owns the reverse direction never blocks the call: the
 * caller projects and runs it, and the values stay the one-thread ones bit for bit.
 */
import os from 'node:os';
import {
  type RecurrentLayerWeights,
  type RecurrentMode,
  type Tensor,
  getBackend,
  noGrad,
  recurrentLayer,
  registerBackend,
  removeBackend,
  setBackend,
  tensor,
  tidy,
} from '@ghostflow/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { expectIdentical, fusedLayer, symRand } from './recurrent-io.js';
import { injectWorkerFaults } from './worker-injection.js';

const faults = injectWorkerFaults();

const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const DEVICES = ['layer-js', 'layer-one', 'layer-two', 'layer-default'] as const;
registerBackend('layer-js', () => createCpuBackend({ wasm: false, name: 'layer-js' }), { priority: -10 });
registerBackend('layer-one', () => createCpuBackend({ threads: 1, thresholds: zero, name: 'layer-one' }), { priority: -10 });
registerBackend('layer-two', () => createCpuBackend({ threads: 2, thresholds: zero, name: 'layer-two' }), { priority: -10 });
registerBackend('layer-default', () => createCpuBackend({ threads: 2, name: 'layer-default' }), { priority: -10 });

afterAll(() => {
  for (const d of DEVICES) removeBackend(d);
});

interface Case {
  name: string;
  mode: RecurrentMode;
  I: number;
  H: number;
  /** projSize (LSTM), 0 for none. */
  P: number;
  D: 1 | 2;
  /** 'bf' batch-first [B, T, I], 'tm' time-major [T, B, I], or packed rows with these batch sizes. */
  layout: 'bf' | 'tm' | number[];
  B: number;
  T: number;
  states: boolean;
  bias: boolean;
}

const CASES: Case[] = [
  {
    name: 'BiLSTM batch-first (the bench layer, small)',
    mode: 'LSTM',
    I: 10,
    H: 32,
    P: 0,
    D: 2,
    layout: 'bf',
    B: 3,
    T: 5,
    states: false,
    bias: true,
  },
  {
    name: 'LSTM batch-first, odd sizes, states',
    mode: 'LSTM',
    I: 7,
    H: 19,
    P: 0,
    D: 1,
    layout: 'bf',
    B: 9,
    T: 4,
    states: true,
    bias: true,
  },
  {
    name: 'BiLSTM projection, time-major, states',
    mode: 'LSTM',
    I: 6,
    H: 21,
    P: 5,
    D: 2,
    layout: 'tm',
    B: 4,
    T: 3,
    states: true,
    bias: true,
  },
  { name: 'LSTM projection, batch-first', mode: 'LSTM', I: 6, H: 35, P: 17, D: 1, layout: 'bf', B: 10, T: 3, states: false, bias: true },
  { name: 'BiGRU batch-first, no bias', mode: 'GRU', I: 5, H: 18, P: 0, D: 2, layout: 'bf', B: 2, T: 6, states: true, bias: false },
  {
    name: 'GRU batch-first, batch 12 (row groups)',
    mode: 'GRU',
    I: 8,
    H: 33,
    P: 0,
    D: 1,
    layout: 'bf',
    B: 12,
    T: 5,
    states: false,
    bias: true,
  },
  { name: 'BiGRU packed', mode: 'GRU', I: 4, H: 13, P: 0, D: 2, layout: [4, 3, 3, 1], B: 4, T: 4, states: true, bias: true },
  {
    name: 'BiLSTM packed, projection',
    mode: 'LSTM',
    I: 4,
    H: 22,
    P: 6,
    D: 2,
    layout: [9, 8, 4, 4, 2],
    B: 9,
    T: 5,
    states: true,
    bias: true,
  },
  { name: 'RNN tanh batch-first', mode: 'RNN_TANH', I: 3, H: 20, P: 0, D: 2, layout: 'bf', B: 3, T: 7, states: true, bias: true },
  { name: 'RNN relu time-major, one step', mode: 'RNN_RELU', I: 3, H: 9, P: 0, D: 1, layout: 'tm', B: 5, T: 1, states: false, bias: true },
];

const GATES: Record<RecurrentMode, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 };

/** The case's operands on the active backend (seeded: the same values on every device). */
function operands(c: Case, requiresGrad: boolean) {
  let seed = 7;
  const t = (shape: number[], scale = 0.5) =>
    tensor(
      symRand(
        shape.reduce((a, b) => a * b, 1),
        scale,
        seed++,
      ),
      { shape, requiresGrad },
    );
  const G = GATES[c.mode] * c.H;
  const P = c.P || c.H;
  const packed = Array.isArray(c.layout);
  const N = packed ? (c.layout as number[]).reduce((a, b) => a + b, 0) : c.B * c.T;
  const x = packed ? t([N, c.I], 1) : t(c.layout === 'bf' ? [c.B, c.T, c.I] : [c.T, c.B, c.I], 1);
  const dirs: RecurrentLayerWeights[] = Array.from({ length: c.D }, () => ({
    wIh: t([G, c.I]),
    bIh: c.bias ? t([G]) : null,
    wHh: t([G, P]),
    bHh: c.bias ? t([G]) : null,
    wHr: c.P ? t([c.P, c.H]) : null,
  }));
  const h0 = c.states ? t([c.D, c.B, P]) : null;
  const c0 = c.states && c.mode === 'LSTM' ? t([c.D, c.B, c.H]) : null;
  return { x, dirs, h0, c0, packed };
}

/** output, h, c of the case, as arrays; `fused`: in inference (no gradient). */
function run(c: Case, fused: boolean): Float32Array[] {
  return tidy(() => {
    const { x, dirs, h0, c0, packed } = operands(c, !fused);
    const call = () =>
      recurrentLayer(
        x,
        dirs,
        { h0, c0 },
        { mode: c.mode, batchSizes: packed ? (c.layout as number[]) : undefined, batchFirst: c.layout === 'bf' },
      );
    const r = fused ? noGrad(call) : call();
    // The composed result carries a graph (proof it took the composed path); the fused one none.
    expect(r.output.requiresGrad).toBe(!fused);
    return [r.output, r.h, r.c].filter((v): v is Tensor => v !== null).map((v) => v.dataSync() as Float32Array);
  });
}

describe('recurrentLayer: the fused inference kernel equals the composition bit for bit', () => {
  for (const device of DEVICES) {
    describe(device, () => {
      for (const c of CASES) {
        it(c.name, async () => {
          const be = await setBackend(device);
          // Workers running: two directions take the paired path (each projects on its own thread).
          await (be as { whenThreadsReady?: () => Promise<void> }).whenThreadsReady?.();
          expect(getBackend().name).toBe(device);
          const kernel = vi.spyOn(getBackend().fused as { recurrentLayer: () => unknown }, 'recurrentLayer');
          const want = run(c, false);
          expect(kernel).not.toHaveBeenCalled();
          const got = run(c, true);
          expect(kernel).toHaveBeenCalledTimes(1);
          kernel.mockRestore();
          const P = c.P || c.H;
          const N = Array.isArray(c.layout) ? c.layout.reduce((a, b) => a + b, 0) : c.B * c.T;
          expect(got.map((a) => a.length)).toEqual([N * c.D * P, c.D * c.B * P, ...(c.mode === 'LSTM' ? [c.D * c.B * c.H] : [])]);
          got.forEach((g, k) => {
            for (let i = 0; i < g.length; i++) {
              if (!Object.is(g[i], want[k][i])) expect.fail(`${['output', 'h', 'c'][k]}[${i}]: fused ${g[i]}, composed ${want[k][i]}`);
            }
          });
        });
      }
    });
  }
});

/**
 * The fused layer's two directions on two threads, straight through the kernel: each
 * direction's input projection and time loop on its own thread. Operands: a batch-first
 * bidirectional LSTM (H 72: a padded tail block; G*H 288 with a bias: panel-padded b_ih).
 */
function pairedLayer(be: CpuBackend): Float32Array[] {
  return fusedLayer(be, { mode: 'LSTM', B: 5, T: 6, I: 9, H: 72, dirs: 2, batchFirst: true });
}

const same = (got: Float32Array[], want: Float32Array[]) => got.forEach((g, i) => expectIdentical(g, want[i], ['y', 'hN', 'cN'][i]));

describe.skipIf(os.availableParallelism() < 2)('the paired layer with a dead worker', { timeout: 60_000 }, () => {
  const healthy = createCpuBackend({ threads: 1, thresholds: zero });
  const want = pairedLayer(healthy);
  afterAll(() => healthy.dispose());

  async function withFault(injected: (code: string) => string): Promise<void> {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    faults.inject = injected;
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    // Under load the caller may take the reverse direction back before the worker claims it (exact too).
    for (let k = 0; k < 5 && be.info.threads === 2; k++) same(pairedLayer(be), want);
    expect(be.info.threads).toBe(1);
    same(pairedLayer(be), want);
    be.dispose();
  }

  it('a worker that exits as it claims the reverse direction: the caller projects and runs it', () =>
    withFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'process.exit(1);')));

  it('a worker that never returns: stopped after a stall, the reverse direction (projection included) redone', () =>
    withFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'for (;;) {}')));

  it('with a live worker: the one-thread values bit for bit', async () => {
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    for (let k = 0; k < 3; k++) same(pairedLayer(be), want);
    be.dispose();
  });
});
