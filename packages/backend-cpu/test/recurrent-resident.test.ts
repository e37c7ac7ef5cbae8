/**
 * The wasm recurrent kernels read resident operands where they live and hand their output
 * blocks over without a copy: they must never write into an input (the tensors themselves),
 * never return an output that overlaps an input, give bit-for-bit what the copying path
 * (storage not resident) gives, and never read a packed W_hh that is stale after an in-place
 * change of the weight.
 */
import { type DataId, type RecurrentSequenceAttrs, type TensorView, recurrentWorkspaceSize } from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { symRand } from './recurrent-io.js';
import type { CpuData } from '../src/storage.js';

const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const one = createCpuBackend({ threads: 1, thresholds: zero });
const two = createCpuBackend({ threads: 2, thresholds: zero });
// The copying path: storage in plain typed arrays, every operand copied into scratch.
const copying = createCpuBackend({ threads: 1, thresholds: zero, residentStorage: false });
// The copying path with a worker (both directions of a pair at once, operands in scratch).
const copyingTwo = createCpuBackend({ threads: 2, thresholds: zero, residentStorage: false });

beforeAll(() => Promise.all([two.whenThreadsReady(), copyingTwo.whenThreadsReady()]));
afterAll(() => {
  for (const b of [one, two, copying, copyingTwo]) b.dispose();
});

const readSync = (be: CpuBackend, id: DataId, size: number): Float32Array =>
  (be.readSync as NonNullable<CpuBackend['readSync']>)(id, 'float32', size);

/**
 * A contiguous `shape` view at element offset `pad` of a larger buffer (sentinels around it),
 * or, with `transposed`, a `[r, c]` view reading a `[c, r]` buffer column by column.
 */
function place(be: CpuBackend, values: Float32Array, shape: number[], pad: number, transposed = false): TensorView {
  if (transposed) {
    const [r, c] = shape;
    const t = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = values[i * c + j];
    return { dataId: be.upload(t, 'float32'), dtype: 'float32', shape, strides: [1, r], offset: 0 };
  }
  const all = new Float32Array(pad + values.length + 7).fill(-7.5);
  all.set(values, pad);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  return { dataId: be.upload(all, 'float32'), dtype: 'float32', shape, strides, offset: pad };
}

/** Byte range of a resident buffer in the wasm memory (null when not resident). */
function range(id: DataId): [number, number] | null {
  const buf = id as CpuData;
  return buf.ptr < 0 ? null : [buf.ptr, buf.ptr + buf.bytes];
}

type Setup = { mode: RecurrentSequenceAttrs['mode']; H: number; P: number; batchSizes: number[]; reverse: boolean; stridedGi: boolean };

const SETUPS: Setup[] = [
  { mode: 'LSTM', H: 64, P: 64, batchSizes: [6, 6, 4, 1], reverse: false, stridedGi: false },
  { mode: 'LSTM', H: 45, P: 19, batchSizes: [5, 4, 4, 2], reverse: true, stridedGi: false },
  { mode: 'GRU', H: 40, P: 40, batchSizes: [7, 6, 6, 2, 1], reverse: true, stridedGi: true },
  { mode: 'RNN_TANH', H: 33, P: 33, batchSizes: [4, 3, 1], reverse: false, stridedGi: false },
];

/**
 * Forward (train) and backward on `be` with every input a view into a larger buffer (or
 * strided); checks that no input changed and no output overlaps an input, and returns every
 * output's values.
 */
function runChecked(be: CpuBackend, s: Setup): Float32Array[] {
  const G = s.mode === 'LSTM' ? 4 : s.mode === 'GRU' ? 3 : 1;
  const { H, P, batchSizes } = s;
  const N = batchSizes.reduce((a, b) => a + b, 0);
  const B = batchSizes[0];
  const k = 1 / Math.sqrt(H);
  const gi = place(be, symRand(N * G * H, 1, 1), [N, G * H], 3, s.stridedGi);
  const h0 = place(be, symRand(B * P, 0.5, 2), [B, P], 5);
  const c0 = s.mode === 'LSTM' ? place(be, symRand(B * H, 0.5, 3), [B, H], 1) : null;
  const wHh = place(be, symRand(G * H * P, k, 4), [G * H, P], 9);
  const bHh = place(be, symRand(G * H, k, 5), [G * H], 2);
  const wHr = P !== H ? place(be, symRand(P * H, k, 6), [P, H], 4) : null;
  const attrs: RecurrentSequenceAttrs = { mode: s.mode, batchSizes, hiddenSize: H, reverse: s.reverse, train: true };
  const f = be.fused as Required<CpuBackend['fused']>;
  const fwdInputs = [gi, h0, c0, wHh, bHh, wHr].filter((v): v is TensorView => v !== null);
  const size = (v: TensorView) => (v.dataId as CpuData).data?.length ?? 0;
  const before = fwdInputs.map((v) => readSync(be, v.dataId, size(v)));
  const [y, hN, cN, ws] = f.recurrentSequence(gi, h0, c0, wHh, bHh, wHr, attrs);
  const wsSize = recurrentWorkspaceSize(s.mode, N, H, P);
  const yView: TensorView = { dataId: y, dtype: 'float32', shape: [N, P], strides: [P, 1], offset: 0 };
  const wsView: TensorView = { dataId: ws as DataId, dtype: 'float32', shape: [wsSize], strides: [1], offset: 0 };
  const dY = place(be, symRand(N * P, 1, 7), [N, P], 6);
  const dHN = place(be, symRand(B * P, 1, 8), [B, P], 3);
  const dCN = c0 ? place(be, symRand(B * H, 1, 9), [B, H], 8) : null;
  const bwdInputs = [wHh, wHr, yView, wsView, dY, dHN, dCN].filter((v): v is TensorView => v !== null);
  const beforeBwd = bwdInputs.map((v) => readSync(be, v.dataId, size(v)));
  const grads = f.recurrentSequenceBackward(wHh, wHr, yView, wsView, dY, dHN, dCN, { ...attrs, hasBias: true });
  fwdInputs.forEach((v, i) => expect(readSync(be, v.dataId, size(v)), `forward input ${i} unchanged`).toEqual(before[i]));
  bwdInputs.forEach((v, i) => expect(readSync(be, v.dataId, size(v)), `backward input ${i} unchanged`).toEqual(beforeBwd[i]));
  const fwdOut = [y, hN, cN, ws].filter((id): id is DataId => id !== null);
  const bwdOut = grads.filter((id): id is DataId => id !== null);
  // Every output its own block, apart from each other and from every input of its call.
  const disjoint = (ids: DataId[], what: string) => {
    const ranges = ids.map(range);
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [a, b] = [ranges[i], ranges[j]];
        expect(ids[i], `${what}: ${i} and ${j} are distinct buffers`).not.toBe(ids[j]);
        if (a && b) expect(a[1] <= b[0] || b[1] <= a[0], `${what}: ${i} and ${j} overlap`).toBe(true);
      }
    }
  };
  disjoint([...fwdOut, ...fwdInputs.map((v) => v.dataId)], 'forward outputs and inputs');
  disjoint([...bwdOut, ...bwdInputs.map((v) => v.dataId)], 'backward outputs and inputs');
  const sizes = [N * G * H, B * P, B * H, G * H * P, G * H, P * H];
  const out = [readSync(be, y, N * P), readSync(be, hN, B * P), cN ? readSync(be, cN, B * H) : new Float32Array(0)];
  grads.forEach((g, i) => out.push(g ? readSync(be, g, sizes[i]) : new Float32Array(0)));
  for (const id of [...fwdOut, ...bwdOut]) be.disposeData(id);
  for (const v of [gi, h0, c0, wHh, bHh, wHr, dY, dHN, dCN]) if (v) be.disposeData(v.dataId);
  return out;
}

describe('recurrent kernels on resident storage', () => {
  for (const s of SETUPS) {
    it(`${s.mode} H ${s.H} P ${s.P}${s.reverse ? ' reverse' : ''}${s.stridedGi ? ', strided gi' : ''}: inputs untouched, outputs fresh, bit-identical to the copying path`, () => {
      const want = runChecked(copying, s);
      for (const be of [one, two]) {
        const got = runChecked(be, s);
        got.forEach((g, i) => expect(g, `output ${i}`).toEqual(want[i]));
      }
    });
  }

  it('a W_hh changed in place is packed again (the packed cache never serves a stale weight)', () => {
    const [H, B, T] = [32, 3, 4];
    const G = 4;
    const N = B * T;
    const attrs: RecurrentSequenceAttrs = { mode: 'LSTM', batchSizes: new Array(T).fill(B), hiddenSize: H, reverse: false, train: false };
    const run = (be: CpuBackend, w: TensorView, gi: TensorView, h0: TensorView): Float32Array => {
      const [y, hN, cN] = (be.fused as Required<CpuBackend['fused']>).recurrentSequence(gi, h0, null, w, null, null, attrs);
      const out = readSync(be, y, N * H);
      for (const id of [y, hN, cN]) if (id) be.disposeData(id);
      return out;
    };
    const w1 = symRand(G * H * H, 0.3, 11);
    const w2 = symRand(G * H * H, 0.3, 12);
    const fresh = (values: Float32Array): Float32Array => {
      const be = createCpuBackend({ threads: 1, thresholds: zero });
      try {
        return run(
          be,
          place(be, values, [G * H, H], 0),
          place(be, symRand(N * G * H, 1, 1), [N, G * H], 0),
          place(be, symRand(B * H, 0.5, 2), [B, H], 0),
        );
      } finally {
        be.dispose();
      }
    };
    const be = one;
    const w = place(be, w1, [G * H, H], 0);
    const gi = place(be, symRand(N * G * H, 1, 1), [N, G * H], 0);
    const h0 = place(be, symRand(B * H, 0.5, 2), [B, H], 0);
    const want1 = fresh(w1);
    const held = be.info.packedBytes;
    // The third call finds the weight packed from the second.
    for (let i = 0; i < 3; i++) expect(run(be, w, gi, h0)).toEqual(want1);
    expect(be.info.packedBytes).toBeGreaterThan(held);
    const src = place(be, w2, [G * H, H], 0);
    be.kernels.write(w, src);
    be.disposeData(src.dataId);
    const want2 = fresh(w2);
    expect(want2).not.toEqual(want1);
    expect(run(be, w, gi, h0)).toEqual(want2);
    for (const v of [w, gi, h0]) be.disposeData(v.dataId);
  });
});

describe('recurrentSequenceBidirectional', () => {
  const SETS: { mode: RecurrentSequenceAttrs['mode']; H: number; P: number; batchSizes: number[]; train: boolean }[] = [
    { mode: 'LSTM', H: 40, P: 40, batchSizes: [5, 5, 3, 3, 1], train: true },
    { mode: 'LSTM', H: 45, P: 19, batchSizes: [4, 4, 4], train: false },
    { mode: 'GRU', H: 33, P: 33, batchSizes: [6, 4, 4, 2], train: true },
    { mode: 'RNN_RELU', H: 20, P: 20, batchSizes: [3, 3], train: false },
  ];
  for (const s of SETS) {
    it(`${s.mode} H ${s.H} P ${s.P}${s.train ? ' train' : ''}: both directions equal two recurrentSequence calls bit for bit, inputs untouched`, () => {
      const G = s.mode === 'LSTM' ? 4 : s.mode === 'GRU' ? 3 : 1;
      const { H, P, batchSizes } = s;
      const N = batchSizes.reduce((a, b) => a + b, 0);
      const B = batchSizes[0];
      const attrs = { mode: s.mode, batchSizes, hiddenSize: H, train: s.train };
      const dir = (be: CpuBackend, seed: number) => ({
        gi: place(be, symRand(N * G * H, 1, seed), [N, G * H], 3),
        h0: place(be, symRand(B * P, 0.5, seed + 1), [B, P], 1),
        c0: s.mode === 'LSTM' ? place(be, symRand(B * H, 0.5, seed + 2), [B, H], 2) : null,
        wHh: place(be, symRand(G * H * P, 1 / Math.sqrt(H), seed + 3), [G * H, P], 0),
        bHh: place(be, symRand(G * H, 0.2, seed + 4), [G * H], 5),
        wHr: P !== H ? place(be, symRand(P * H, 1 / Math.sqrt(H), seed + 5), [P, H], 1) : null,
      });
      const sizes = [N * P, B * P, B * H, recurrentWorkspaceSize(s.mode, N, H, P)];
      const readAll = (be: CpuBackend, ids: (DataId | null)[]) =>
        ids.map((id, i) => {
          if (!id) return new Float32Array(0);
          const v = readSync(be, id, sizes[i]);
          be.disposeData(id);
          return v;
        });
      const results: Float32Array[][] = [];
      for (const be of [copying, one, two, copyingTwo]) {
        const f = dir(be, 10);
        const r = dir(be, 20);
        const views = [f, r].flatMap((d) => Object.values(d).filter((v): v is TensorView => v !== null));
        const before = views.map((v) => readSync(be, v.dataId, (v.dataId as CpuData).data?.length ?? 0));
        const fused = be.fused as Required<CpuBackend['fused']>;
        const [pf, pr] = fused.recurrentSequenceBidirectional(f, r, attrs);
        views.forEach((v, i) =>
          expect(readSync(be, v.dataId, (v.dataId as CpuData).data?.length ?? 0), `input ${i} unchanged`).toEqual(before[i]),
        );
        const got = [...readAll(be, pf), ...readAll(be, pr)];
        const one1 = fused.recurrentSequence(f.gi, f.h0, f.c0, f.wHh, f.bHh, f.wHr, { ...attrs, reverse: false });
        const one2 = fused.recurrentSequence(r.gi, r.h0, r.c0, r.wHh, r.bHh, r.wHr, { ...attrs, reverse: true });
        const want = [...readAll(be, one1), ...readAll(be, one2)];
        got.forEach((g, i) => expect(g, `output ${i}`).toEqual(want[i]));
        results.push(got);
        for (const v of views) be.disposeData(v.dataId);
      }
      // The wasm runs (one thread, and the two directions at once) equal the copying path.
      for (const got of results.slice(1)) got.forEach((g, i) => expect(g, `output ${i} vs the copying path`).toEqual(results[0][i]));
    });
  }
});
