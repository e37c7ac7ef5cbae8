/**
 * Operands in and results out of the recurrent kernels, shared by the recurrent tests
 * (recurrent-sequence, recurrent-rows, recurrent-rows-backward, recurrent-resident): seeded
 * symmetric inputs, contiguous float32 views uploaded to a backend, reads that free the
 * result, and the two comparisons they make (close to the JS reference, identical to one
 * thread).
 */
import { type DataId, type RecurrentSequenceAttrs, type TensorView, contiguousStrides } from '@ghostflow/core';
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
