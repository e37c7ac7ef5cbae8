/**
 * The whole-sequence recurrent kernels on the CPU backend: the default backend has them and
 * core's op runs them (one forward and one backward call per sequence, no per-step cell
 * kernel), and the wasm kernels (1 and 2 threads) equal the JavaScript reference kernels,
 * forward and backward, on packed sizes with vector tails.
 */
import {
  type RecurrentSequenceAttrs,
  getBackend,
  gradients,
  noGrad,
  recurrentSequence,
  setBackend,
  sum,
  tensor,
  tidy,
} from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import '../src/index.js';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { expectClose, forwardBackward, symRand } from './recurrent-io.js';

const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const js = createCpuBackend({ wasm: false });
const one = createCpuBackend({ threads: 1, thresholds: zero });
const two = createCpuBackend({ threads: 2, thresholds: zero });

beforeAll(() => two.whenThreadsReady());
afterAll(() => {
  for (const b of [js, one, two]) b.dispose();
});

type Setup = { mode: RecurrentSequenceAttrs['mode']; H: number; P: number; batchSizes: number[]; reverse: boolean };

/** Forward (train) then backward on `be`; every output read back. */
const runKernels = (be: CpuBackend, s: Setup): Float32Array[] => forwardBackward(be, s, 1);

const SETUPS: Setup[] = [
  { mode: 'LSTM', H: 67, P: 67, batchSizes: [9, 9, 7, 4, 4, 1], reverse: false },
  { mode: 'LSTM', H: 45, P: 19, batchSizes: [6, 5, 5, 2], reverse: true },
  { mode: 'GRU', H: 93, P: 93, batchSizes: [5, 5, 5, 3, 1], reverse: false },
  { mode: 'RNN_TANH', H: 33, P: 33, batchSizes: [4, 3, 1], reverse: true },
  { mode: 'RNN_RELU', H: 130, P: 130, batchSizes: [3, 3, 3], reverse: false },
  // Several 16-unit blocks (the threaded time loop splits them) in the reverse direction,
  // whose batch grows, and a padded last block.
  { mode: 'LSTM', H: 72, P: 72, batchSizes: [8, 8, 5, 3, 3, 1], reverse: true },
  { mode: 'GRU', H: 40, P: 40, batchSizes: [7, 6, 6, 2, 1], reverse: true },
  { mode: 'GRU', H: 64, P: 64, batchSizes: [4, 4, 4, 4], reverse: false },
];

describe('recurrentSequence kernels: wasm equals the JavaScript reference', () => {
  for (const s of SETUPS) {
    it(`${s.mode} H ${s.H} P ${s.P} batch sizes [${s.batchSizes}]${s.reverse ? ' reverse' : ''}`, () => {
      const want = runKernels(js, s);
      const names = ['y', 'hN', 'cN', 'dGi', 'dH0', 'dC0', 'dWhh', 'dBhh', 'dWhr'];
      for (const be of [one, two]) {
        const got = runKernels(be, s);
        got.forEach((g, i) => expectClose(g, want[i], 2e-5, names[i]));
      }
    });
  }
});

describe('core runs the cpu backend’s fused sequence kernels', () => {
  it('one forward and one backward call per sequence, no per-step cell kernel; no workspace without grad', () => {
    setBackend('cpu');
    const fused = getBackend().fused as Required<CpuBackend['fused']>;
    expect(typeof fused.recurrentSequence).toBe('function');
    expect(typeof fused.recurrentSequenceBackward).toBe('function');
    const fwd = vi.spyOn(fused, 'recurrentSequence');
    const bwd = vi.spyOn(fused, 'recurrentSequenceBackward');
    const cell = vi.spyOn(fused, 'lstmCell');
    try {
      tidy(() => {
        const gi = tensor(symRand(6 * 16, 1, 1), { shape: [6, 16], requiresGrad: true });
        const wHh = tensor(symRand(16 * 4, 0.5, 2), { shape: [16, 4], requiresGrad: true });
        const run = () => recurrentSequence(gi, {}, { wHh }, { mode: 'LSTM', batchSizes: [3, 2, 1] });
        const r = run();
        gradients(sum(r.output).add(sum(r.h)), [gi, wHh]);
        expect(fwd).toHaveBeenCalledTimes(1);
        expect(fwd.mock.calls[0][6].train).toBe(true);
        expect(bwd).toHaveBeenCalledTimes(1);
        noGrad(run);
        expect(fwd).toHaveBeenCalledTimes(2);
        // Inference: the kernel is told not to keep the backward's activations.
        expect(fwd.mock.calls[1][6].train).toBe(false);
        expect(fwd.mock.results[1].value[3]).toBeNull();
        expect(cell).not.toHaveBeenCalled();
      });
    } finally {
      vi.restoreAllMocks();
    }
  });
});
