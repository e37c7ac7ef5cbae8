/**
 * Operands in and results out of the recurrent kernels, shared by the recurrent tests
 * (recurrent-sequence, recurrent-rows, recurrent-rows-backward, recurrent-resident,
 * recurrent-layer, recurrent-split): seeded symmetric inputs, contiguous float32 views
 * uploaded to a backend, reads that free the result, the two comparisons they make (close to
 * the JS reference, identical to one thread), and whole calls (a training forward and its
 * backward; a fused layer) read back.
 */
import {
  type DataId,
  type RecurrentLayerDirection,
  type RecurrentSequenceAttrs,
  type TensorView,
  contiguousStrides,
  recurrentWorkspaceSize,
} from '@ghostflow/core';
import { expect } from 'vitest';
import type { CpuBackend } from '../src/cpu-backend.js';
import { lcg } from './random.js';

/** `n` float32 values uniform in [-scale, scale) from `seed` (the {@link lcg} sequence). */
export function symRand(n: number, scale: number, seed: number): Float32Array {
  const next = lcg(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * (2 * next() - 1);
  return out;
}

/** `values` uploaded to `be` as a contiguous float32 view of `shape`. */
export function view(be: CpuBackend, values: Float32Array, shape: number[]): TensorView {
  return { dataId: be.upload(values, 'float32'), dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 };
}

/** The first `size` floats of `id` (freed after the read); empty for a null result. */
export function read(be: CpuBackend, id: DataId | null, size: number): Float32Array {
  if (!id) return new Float32Array(0);
  const out = (be.readSync as NonNullable<CpuBackend['readSync']>)(id, 'float32', size);
  be.disposeData(id);
  return out;
}

/** Every element within `tol * (1 + |want|)` of `want`; the first miss names `what[i]`. */
export function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) expect.fail(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

/** Every element the same float as the one-thread result (`Object.is`: -0 and NaN count). */
export function expectIdentical(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect.fail(`${what}[${i}]: got ${got[i]}, one thread gave ${want[i]}`);
}

/** A recurrent layer-direction's sizes: `P` = projection size (`H` without one). */
export interface RecurrentShape {
  mode: RecurrentSequenceAttrs['mode'];
  H: number;
  P: number;
  batchSizes: number[];
}

/** The operands of a `recurrentSequence` call, uploaded, and the sizes they imply. */
export interface RecurrentOperands {
  gi: TensorView;
  h0: TensorView;
  /** LSTM only. */
  c0: TensorView | null;
  wHh: TensorView;
  bHh: TensorView;
  /** With a projection only. */
  wHr: TensorView | null;
  /** Gates, packed rows, first step's batch. */
  G: number;
  N: number;
  B: number;
}

/**
 * Seeded operands for `s` on `be` (seeds `seed` to `seed + 5`, one per operand): gate inputs
 * in [-giScale, giScale), states in [-0.5, 0.5), weights and bias in [-1/sqrt(H), 1/sqrt(H))
 * as torch initialises them.
 */
export function recurrentOperands(be: CpuBackend, s: RecurrentShape, seed: number, giScale = 1): RecurrentOperands {
  const G = s.mode === 'LSTM' ? 4 : s.mode === 'GRU' ? 3 : 1;
  const { H, P, batchSizes } = s;
  const N = batchSizes.reduce((a, b) => a + b, 0);
  const B = batchSizes[0];
  const k = 1 / Math.sqrt(H);
  return {
    gi: view(be, symRand(N * G * H, giScale, seed), [N, G * H]),
    h0: view(be, symRand(B * P, 0.5, seed + 1), [B, P]),
    c0: s.mode === 'LSTM' ? view(be, symRand(B * H, 0.5, seed + 2), [B, H]) : null,
    wHh: view(be, symRand(G * H * P, k, seed + 3), [G * H, P]),
    bHh: view(be, symRand(G * H, k, seed + 4), [G * H]),
    wHr: P !== H ? view(be, symRand(P * H, k, seed + 5), [P, H]) : null,
    G,
    N,
    B,
  };
}

/**
 * A training forward then its backward on `be`, for operands from `seed` (gradients from
 * `seed + 6` to `seed + 8`; an LSTM's dCN unless `dcN` is false): y, hN, cN, then dGi,
 * dH0, dC0, dW_hh, db_hh, dW_hr, read back.
 */
export function forwardBackward(be: CpuBackend, s: RecurrentShape & { reverse: boolean; dcN?: boolean }, seed: number): Float32Array[] {
  const { H, P, batchSizes } = s;
  const { gi, h0, c0, wHh, bHh, wHr, G, N, B } = recurrentOperands(be, s, seed);
  const attrs: RecurrentSequenceAttrs = { mode: s.mode, batchSizes, hiddenSize: H, reverse: s.reverse, train: true };
  const f = be.fused as Required<CpuBackend['fused']>;
  const [y, hN, cN, ws] = f.recurrentSequence(gi, h0, c0, wHh, bHh, wHr, attrs);
  const yView: TensorView = { dataId: y, dtype: 'float32', shape: [N, P], strides: [P, 1], offset: 0 };
  const wsSize = recurrentWorkspaceSize(s.mode, N, H, P);
  const wsView: TensorView = { dataId: ws as DataId, dtype: 'float32', shape: [wsSize], strides: [1], offset: 0 };
  const dY = view(be, symRand(N * P, 1, seed + 6), [N, P]);
  const dHN = view(be, symRand(B * P, 1, seed + 7), [B, P]);
  const dCN = c0 && s.dcN !== false ? view(be, symRand(B * H, 1, seed + 8), [B, H]) : null;
  const grads = f.recurrentSequenceBackward(wHh, wHr, yView, wsView, dY, dHN, dCN, { ...attrs, hasBias: true });
  const sizes = [N * G * H, B * P, B * H, G * H * P, G * H, P * H];
  const out = [read(be, y, N * P), read(be, hN, B * P), read(be, cN, B * H), ...grads.map((g, i) => read(be, g, sizes[i]))];
  be.disposeData(ws as DataId);
  for (const v of [gi, h0, c0, wHh, bHh, wHr, dY, dHN, dCN]) if (v) be.disposeData(v.dataId);
  return out;
}

/** A fused layer's sizes: `dirs` directions, every step `B` rows, input size `I`. */
export interface LayerShape {
  mode: RecurrentSequenceAttrs['mode'];
  B: number;
  T: number;
  I: number;
  H: number;
  dirs: 1 | 2;
  batchFirst: boolean;
}

/**
 * One `recurrentLayer` call on `be` (seeded operands, h0 given, c0 zeros, both biases): y,
 * hN and cN (empty without one) read back.
 */
export function fusedLayer(be: CpuBackend, c: LayerShape): Float32Array[] {
  const { B, T, I, H } = c;
  const GH = (c.mode === 'LSTM' ? 4 : c.mode === 'GRU' ? 3 : 1) * H;
  const up = (n: number, shape: number[], seed: number, scale = 0.3) => view(be, symRand(n, scale, seed), shape);
  const dir = (s: number): RecurrentLayerDirection => ({
    wIh: up(GH * I, [GH, I], s),
    bIh: up(GH, [GH], s + 1),
    wHh: up(GH * H, [GH, H], s + 2, 0.1),
    bHh: up(GH, [GH], s + 3),
    wHr: null,
    h0: up(B * H, [B, H], s + 4),
    c0: null,
  });
  const x = up(B * T * I, [B * T, I], 3, 1);
  const dirs = [dir(10), dir(20)].slice(0, c.dirs);
  const [y, hN, cN] = (be.fused as Required<CpuBackend['fused']>).recurrentLayer(x, dirs, {
    mode: c.mode,
    batchSizes: new Array<number>(T).fill(B),
    hiddenSize: H,
    batchFirst: c.batchFirst,
  });
  const D = dirs.length;
  const out = [read(be, y, B * T * D * H), read(be, hN, D * B * H), read(be, cN, D * B * H)];
  for (const v of [x, ...dirs.flatMap((d) => [d.wIh, d.bIh, d.wHh, d.bHh, d.h0])]) if (v) be.disposeData(v.dataId);
  return out;
}
