/**
 * When the whole-sequence recurrent kernels take a second thread (src/wasm/recurrent-split.ts):
 * the rule's decisions at and around its thresholds, for rows and units, forward and backward,
 * scaled by the backend's GEMM thread threshold; on sizes on both sides of each threshold the
 * backend at the default thread threshold (the rule choosing one thread or two) gives the
 * values of the loop forced onto two threads and of one thread, bit for bit (forward outputs,
 * backward gradients, fused layers); and below the thresholds no recurrent part reaches a
 * worker (a worker that exits as it claims one stays alive), while the forced split does
 * reach it.
 */
import os from 'node:os';
import type { RecurrentSequenceAttrs } from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { DEFAULT_THRESHOLDS } from '../src/wasm/kernels.js';
import { type RecurrentLoop, type RecurrentSplit, recurrentSplitPays } from '../src/wasm/recurrent-split.js';
import { expectIdentical, forwardBackward, fusedLayer, type LayerShape, type RecurrentShape } from './recurrent-io.js';
import { injectWorkerFaults } from './worker-injection.js';

const faults = injectWorkerFaults();
const Mi = 1 << 20;
// Wasm for every size (the JavaScript kernels accumulate in float64), threads as the rule says...
const ruled = { minElements: 0, minMacs: 0 };
// ...or every split forced.
const zero = { ...ruled, threadMinMacs: 0 };
const one = createCpuBackend({ threads: 1, thresholds: zero });
const rule = createCpuBackend({ threads: 2, thresholds: ruled });
const forced = createCpuBackend({ threads: 2, thresholds: zero });

beforeAll(() => Promise.all([rule.whenThreadsReady(), forced.whenThreadsReady()]));
afterAll(() => {
  for (const b of [one, rule, forced]) b.dispose();
});

describe('recurrentSplitPays: thresholds in multiples of the GEMM thread threshold', () => {
  const cases: [RecurrentSplit, RecurrentLoop, number][] = [
    ['rows', 'forward', 4],
    ['rows', 'backward', 16],
    ['units', 'forward', 2],
    ['units', 'backward', 16],
  ];
  for (const [split, loop, multiple] of cases) {
    it(`${split}, ${loop}: from ${multiple}x`, () => {
      const at = multiple * Mi;
      expect(recurrentSplitPays(split, loop, at - 1, Mi)).toBe(false);
      expect(recurrentSplitPays(split, loop, at, Mi)).toBe(true);
      expect(recurrentSplitPays(split, loop, at + 1, Mi)).toBe(true);
      expect(recurrentSplitPays(split, loop, 0, Mi)).toBe(false);
      // Scaled with the backend's threshold; a zero threshold always splits (as tests force it).
      expect(recurrentSplitPays(split, loop, multiple * 1000 - 1, 1000)).toBe(false);
      expect(recurrentSplitPays(split, loop, multiple * 1000, 1000)).toBe(true);
      expect(recurrentSplitPays(split, loop, 1, 0)).toBe(true);
    });
  }

  it('the default threshold: the word LM layer (LSTM batch 8, H 64, 16 steps) stays on one thread, the bench’s big layers split', () => {
    const th = DEFAULT_THRESHOLDS.threadMinMacs;
    expect(th).toBe(Mi);
    const wordLm = 8 * 4 * 64 * 64 * 16;
    expect(recurrentSplitPays('rows', 'forward', wordLm, th)).toBe(false);
    expect(recurrentSplitPays('rows', 'backward', wordLm, th)).toBe(false);
    // lstm-forward / lstm-train: batch 32, H 256, 50 steps.
    const big = 32 * 4 * 256 * 256 * 50;
    expect(recurrentSplitPays('rows', 'forward', big, th)).toBe(true);
    expect(recurrentSplitPays('rows', 'backward', big, th)).toBe(true);
  });
});

/** A sequence case and the rule's decisions on it at the default threshold (checked below). */
type SequenceCase = RecurrentShape & { reverse: boolean; split: RecurrentSplit; forward: boolean; backward: boolean };

const G = (mode: RecurrentSequenceAttrs['mode']) => (mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1);
/** The macs the rule judges: the whole loop's for rows, the first step's for units. */
const judged = (c: SequenceCase): number => {
  const step = c.batchSizes[0] * G(c.mode) * c.H * c.P;
  return c.split === 'rows' ? step * c.batchSizes.length : step;
};

const SEQUENCES: SequenceCase[] = [
  // Row groups (8 rows and more): the word LM's layer (2Mi) on one thread both ways.
  { mode: 'LSTM', H: 64, P: 64, batchSizes: new Array(16).fill(8), reverse: false, split: 'rows', forward: false, backward: false },
  { mode: 'GRU', H: 45, P: 45, batchSizes: [12, 12, 9, 4, 1], reverse: true, split: 'rows', forward: false, backward: false },
  // Just below the forward's threshold (3.75Mi), then at it (4Mi): the backward stays on one thread.
  { mode: 'LSTM', H: 64, P: 64, batchSizes: new Array(15).fill(16), reverse: true, split: 'rows', forward: false, backward: false },
  { mode: 'LSTM', H: 128, P: 128, batchSizes: new Array(4).fill(16), reverse: false, split: 'rows', forward: true, backward: false },
  // 16Mi: both split.
  { mode: 'LSTM', H: 128, P: 128, batchSizes: new Array(16).fill(16), reverse: true, split: 'rows', forward: true, backward: true },
  // Units (fewer than 8 rows): small steps on one thread.
  { mode: 'GRU', H: 48, P: 48, batchSizes: [4, 4, 3, 1], reverse: false, split: 'units', forward: false, backward: false },
  { mode: 'LSTM', H: 72, P: 72, batchSizes: [6, 6, 5, 3, 3, 1], reverse: true, split: 'units', forward: false, backward: false },
  // 2Mi a step (its packed weight, 4 MiB, too large for row groups): the forward splits by units.
  { mode: 'LSTM', H: 512, P: 512, batchSizes: [2, 2, 2], reverse: false, split: 'units', forward: true, backward: false },
  // 16Mi a step: both split by units.
  { mode: 'LSTM', H: 1024, P: 1024, batchSizes: [4, 4], reverse: false, split: 'units', forward: true, backward: true },
];

const NAMES = ['y', 'hN', 'cN', 'dGi', 'dH0', 'dC0', 'dWhh', 'dBhh', 'dWhr'];

describe('sequences: the rule’s choice, the forced two-thread split and one thread agree bit for bit', () => {
  for (const c of SEQUENCES) {
    const B = c.batchSizes[0];
    const what = `${c.mode} H ${c.H} batch ${B} x ${c.batchSizes.length} steps (${c.split}: forward ${c.forward ? 'split' : 'one thread'}, backward ${c.backward ? 'split' : 'one thread'})`;
    it(what, { timeout: 60_000 }, () => {
      const th = DEFAULT_THRESHOLDS.threadMinMacs;
      expect(recurrentSplitPays(c.split, 'forward', judged(c), th), 'forward decision').toBe(c.forward);
      expect(recurrentSplitPays(c.split, 'backward', judged(c), th), 'backward decision').toBe(c.backward);
      const want = forwardBackward(one, c, 31);
      for (const be of [rule, forced]) forwardBackward(be, c, 31).forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
    });
  }
});

/** A fused layer case and whether the rule splits it at the default threshold (checked below). */
type LayerCase = LayerShape & { splits: boolean };

const LAYERS: LayerCase[] = [
  // Below the rule's threshold: one thread (one direction), no pairing (two).
  { mode: 'LSTM', B: 8, T: 16, I: 32, H: 64, dirs: 1, batchFirst: false, splits: false },
  { mode: 'GRU', B: 3, T: 7, I: 9, H: 40, dirs: 2, batchFirst: true, splits: false },
  { mode: 'LSTM', B: 16, T: 15, I: 24, H: 64, dirs: 2, batchFirst: false, splits: false },
  // 4Mi a direction: row groups (one direction), paired directions (two).
  { mode: 'LSTM', B: 16, T: 4, I: 24, H: 128, dirs: 1, batchFirst: true, splits: true },
  { mode: 'LSTM', B: 16, T: 4, I: 24, H: 128, dirs: 2, batchFirst: false, splits: true },
];

describe('fused layers: the rule’s choice, the forced split and one thread agree bit for bit', () => {
  for (const c of LAYERS) {
    it(`${c.mode} batch ${c.B} x ${c.T} steps H ${c.H}, ${c.dirs} direction(s) (${c.splits ? 'split' : 'one thread'})`, () => {
      const loop = c.B * G(c.mode) * c.H * c.H * c.T;
      expect(recurrentSplitPays('rows', 'forward', loop, DEFAULT_THRESHOLDS.threadMinMacs), 'decision').toBe(c.splits);
      const want = fusedLayer(one, c);
      for (const be of [rule, forced]) fusedLayer(be, c).forEach((g, i) => expectIdentical(g, want[i], ['y', 'hN', 'cN'][i]));
    });
  }
});

/** Resolves after `ms` (the pool learns that a worker exited from an event). */
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(os.availableParallelism() < 2)('below the thresholds no recurrent part reaches a worker', { timeout: 60_000 }, () => {
  /** A worker that exits as it claims a recurrent part (a time loop or a paired direction). */
  const exitOnRecurrent = (code: string) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'process.exit(1);');
  const small = SEQUENCES.filter((c) => !c.forward && !c.backward);
  const smallLayers = LAYERS.filter((c) => !c.splits);

  it('at the default thread threshold: the worker stays alive, the values are one thread’s', async () => {
    faults.inject = exitOnRecurrent;
    const be = createCpuBackend({ threads: 2, thresholds: ruled });
    await be.whenThreadsReady();
    for (const c of small) {
      const want = forwardBackward(one, c, 31);
      forwardBackward(be, c, 31).forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
    }
    for (const c of smallLayers) {
      const want = fusedLayer(one, c);
      fusedLayer(be, c).forEach((g, i) => expectIdentical(g, want[i], ['y', 'hN', 'cN'][i]));
    }
    await settle(200);
    expect(be.info).toMatchObject({ threads: 2, readyWorkers: 1 });
    be.dispose();
  });

  it('the same sizes with the split forced: the worker claims a part and exits (the caller finishes it)', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    faults.inject = exitOnRecurrent;
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    const c = small[0];
    const want = forwardBackward(one, c, 31);
    // Under load the caller may take a part back before the worker claims it: try a few times.
    for (let k = 0; k < 5 && be.info.threads === 2; k++) {
      forwardBackward(be, c, 31).forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
      await settle(50);
    }
    expect(be.info.threads).toBe(1);
    be.dispose();
  });
});
