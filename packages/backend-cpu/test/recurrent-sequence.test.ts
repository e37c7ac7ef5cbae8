/**
 * The whole-sequence recurrent kernels on the CPU backend: the default backend has them and
 * core's op runs them (one forward and one backward call per sequence, no per-step cell
 * kernel), and the wasm kernels (1 and 2 threads) equal the JavaScript reference kernels,
 * forward and backward, on packed sizes with vector tails.
 */
import {
  type DataId,
  type RecurrentSequenceAttrs,
  type TensorView,
  contiguousStrides,
  getBackend,
  gradients,
  noGrad,
  recurrentSequence,
  recurrentWorkspaceSize,
  setBackend,
  sum,
  tensor,
  tidy,
} from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import '../src/index.js';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';

const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const js = createCpuBackend({ wasm: false });
const one = createCpuBackend({ threads: 1, thresholds: zero });
const two = createCpuBackend({ threads: 2, thresholds: zero });

beforeAll(() => two.whenThreadsReady());
afterAll(() => {
  for (const b of [js, one, two]) b.dispose();
});

function rand(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = scale * (2 * (s / 2 ** 32) - 1);
  }
  return out;
}

function view(be: CpuBackend, values: Float32Array, shape: number[]): TensorView {
  return { dataId: be.upload(values, 'float32'), dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 };
}

function read(be: CpuBackend, id: DataId | null, size: number): Float32Array {
  if (!id) return new Float32Array(0);
  const out = (be.readSync as NonNullable<CpuBackend['readSync']>)(id, 'float32', size);
  be.disposeData(id);
  return out;
}

function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) expect.fail(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

type Setup = { mode: RecurrentSequenceAttrs['mode']; H: number; P: number; batchSizes: number[]; reverse: boolean };

/** Forward (train) then backward on `be`; every output read back. */
function runKernels(be: CpuBackend, s: Setup): Float32Array[] {
  const G = s.mode === 'LSTM' ? 4 : s.mode === 'GRU' ? 3 : 1;
  const { H, P, batchSizes } = s;
  const N = batchSizes.reduce((a, b) => a + b, 0);
  const B = batchSizes[0];
  const k = 1 / Math.sqrt(H);
  const gi = view(be, rand(N * G * H, 1, 1), [N, G * H]);
  const h0 = view(be, rand(B * P, 0.5, 2), [B, P]);
  const c0 = s.mode === 'LSTM' ? view(be, rand(B * H, 0.5, 3), [B, H]) : null;
  const wHh = view(be, rand(G * H * P, k, 4), [G * H, P]);
  const bHh = view(be, rand(G * H, k, 5), [G * H]);
  const wHr = P !== H ? view(be, rand(P * H, k, 6), [P, H]) : null;
  const attrs: RecurrentSequenceAttrs = { mode: s.mode, batchSizes, hiddenSize: H, reverse: s.reverse, train: true };
  const f = be.fused as Required<CpuBackend['fused']>;
  const [y, hN, cN, ws] = f.recurrentSequence(gi, h0, c0, wHh, bHh, wHr, attrs);
  const yView: TensorView = { dataId: y, dtype: 'float32', shape: [N, P], strides: [P, 1], offset: 0 };
  const wsSize = recurrentWorkspaceSize(s.mode, N, H, P);
  const wsView: TensorView = { dataId: ws as DataId, dtype: 'float32', shape: [wsSize], strides: [1], offset: 0 };
  const dY = view(be, rand(N * P, 1, 7), [N, P]);
  const dHN = view(be, rand(B * P, 1, 8), [B, P]);
  const dCN = c0 ? view(be, rand(B * H, 1, 9), [B, H]) : null;
  const grads = f.recurrentSequenceBackward(wHh, wHr, yView, wsView, dY, dHN, dCN, { ...attrs, hasBias: true });
  const sizes = [N * G * H, B * P, B * H, G * H * P, G * H, P * H];
  const out = [read(be, y, N * P), read(be, hN, B * P), read(be, cN, B * H), ...grads.map((g, i) => read(be, g, sizes[i]))];
  be.disposeData(ws as DataId);
  for (const v of [gi, h0, c0, wHh, bHh, wHr, dY, dHN, dCN]) if (v) be.disposeData(v.dataId);
  return out;
}

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
        const gi = tensor(rand(6 * 16, 1, 1), { shape: [6, 16], requiresGrad: true });
        const wHh = tensor(rand(16 * 4, 0.5, 2), { shape: [16, 4], requiresGrad: true });
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
