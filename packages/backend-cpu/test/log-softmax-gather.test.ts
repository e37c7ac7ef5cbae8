/**
 * The fused cross-entropy kernels (`logSoftmaxGather` and its backward) against the kernels
 * they replace on each path: to the bit against the same backend's `logSoftmax` + `gather`
 * and `softmax` + `neg` + `mul` + `scatter` (JS, wasm on one and two threads, plain SIMD),
 * and close to the float64 JS kernels across paths. Then core's op on the default backend
 * (wasm, default thresholds, two threads) at the word LM's size, against the composition.
 */
import {
  type DataId,
  type FusedKernels,
  type TensorView,
  contiguousStrides,
  gradients,
  logSoftmax,
  logSoftmaxGather,
  mul,
  neg,
  noGrad,
  registerBackend,
  scatterAdd,
  setBackend,
  softmax,
  tensor,
  tidy,
} from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { expectIdentical, read, symRand } from './recurrent-io.js';

/** Within `tol * (1 + |want|)` everywhere; NaN where `want` is NaN, infinities exact. */
function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i], want[i]];
    const ok = Number.isNaN(b) ? Number.isNaN(a) : Number.isFinite(b) ? Math.abs(a - b) <= tol * (1 + Math.abs(b)) : a === b;
    if (!ok) expect.fail(`${what}[${i}]: got ${a}, expected ${b}`);
  }
}

// Zero thresholds: every size runs in wasm, and `two` splits every call over both threads.
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0, threadMinElements: 0 };
const backends: [string, CpuBackend][] = [
  ['js', createCpuBackend({ wasm: false })],
  ['wasm, one thread', createCpuBackend({ threads: 1, thresholds: zero })],
  ['wasm, two threads', createCpuBackend({ threads: 2, thresholds: zero })],
  ['wasm, plain SIMD', createCpuBackend({ threads: 1, relaxedSimd: false, thresholds: zero })],
];
const js = backends[0][1];
/** The fused kernels of `be` (the CPU backend has every one). */
const fusedOf = (be: { fused: Partial<FusedKernels> }): FusedKernels => be.fused as FusedKernels;
registerBackend('xent-default', () => createCpuBackend({ threads: 2, name: 'xent-default' }), { priority: -10 });

beforeAll(async () => {
  for (const [, be] of backends) await be.whenThreadsReady?.();
});
afterAll(() => {
  for (const [, be] of backends) be.dispose();
});

/** `values` uploaded to `be` as a view of `shape` (row-major unless strides are given). */
function upload(be: CpuBackend, values: Float32Array | Int32Array, shape: number[], strides = contiguousStrides(shape)): TensorView {
  const dtype = values instanceof Int32Array ? 'int32' : 'float32';
  return { dataId: be.upload(values, dtype), dtype, shape, strides, offset: 0 };
}

/** One problem: logits `[N, C]` (with special rows), indices, and the picks' gradient. */
interface Problem {
  name: string;
  N: number;
  C: number;
  x: Float32Array;
  index: Int32Array;
  g: Float32Array;
  /** Uploads x transposed (a `[C, N]` buffer viewed as `[N, C]`). */
  transposed?: boolean;
  /** Uploads g as one value broadcast to `[N, 1]` (stride 0), as a mean's gradient arrives. */
  broadcastG?: boolean;
}

function problem(name: string, N: number, C: number, seed: number, edit?: (x: Float32Array, index: Int32Array) => void): Problem {
  const x = symRand(N * C, 8, seed);
  const u = symRand(N, 1, seed + 1);
  // Both ends of the class range, then spread over it.
  const index = Int32Array.from(u, (v, r) => (r === 0 ? 0 : r === 1 ? C - 1 : Math.min(C - 1, Math.floor(((v + 1) / 2) * C))));
  edit?.(x, index);
  return { name, N, C, x, index, g: symRand(N, 2, seed + 2) };
}

const PROBLEMS: Problem[] = [
  problem('N=1, C=1', 1, 1, 1),
  problem('C=1, several rows', 5, 1, 2),
  problem('N=1, odd C', 1, 37, 3),
  problem('odd C (not a multiple of 4 or 16)', 7, 1003, 4),
  problem('C a multiple of 8 plus 4 (one 4-vector tail)', 6, 1028, 5),
  problem('C = 3 (scalar row)', 9, 3, 6),
  problem('special rows: -inf, NaN, huge, all -inf but the target', 6, 259, 7, (x, index) => {
    const C = 259;
    x[0 * C + 5] = Number.NEGATIVE_INFINITY;
    x[1 * C + 17] = Number.NaN;
    for (let j = 0; j < C; j++) x[2 * C + j] *= 3e37;
    x[3 * C + 1] = 1e30;
    x[3 * C + 2] = -1e30;
    for (let j = 0; j < C; j++) if (j !== index[4]) x[4 * C + j] = Number.NEGATIVE_INFINITY;
    x[5 * C + index[5]] = Number.NEGATIVE_INFINITY;
  }),
  problem('a row of all -inf (NaN, as the composition)', 3, 40, 8, (x) => x.fill(Number.NEGATIVE_INFINITY, 40, 80)),
  { ...problem('transposed logits', 11, 301, 9), transposed: true },
  { ...problem('broadcast gradient', 12, 517, 10), broadcastG: true },
];

function operands(be: CpuBackend, p: Problem): { x: TensorView; index: TensorView; g: TensorView } {
  let x: TensorView;
  if (p.transposed) {
    const t = new Float32Array(p.N * p.C);
    for (let r = 0; r < p.N; r++) for (let c = 0; c < p.C; c++) t[c * p.N + r] = p.x[r * p.C + c];
    x = upload(be, t, [p.N, p.C], [1, p.N]);
  } else x = upload(be, p.x, [p.N, p.C]);
  const g = p.broadcastG ? upload(be, p.g.subarray(0, 1), [p.N, 1], [0, 0]) : upload(be, p.g, [p.N, 1]);
  return { x, index: upload(be, p.index, [p.N, 1]), g };
}

/** The fused kernels' picks, stats and gradient (the backward from the forward's stats). */
function fused(be: CpuBackend, p: Problem): { picked: Float32Array; stats: Float32Array; dx: Float32Array } {
  const { x, index, g } = operands(be, p);
  const f = fusedOf(be);
  const [pid, sid] = f.logSoftmaxGather(x, index);
  const stats = upload(be, read(be, sid, 2 * p.N).slice(), [p.N, 2]);
  const dx = read(be, f.logSoftmaxGatherBackward(x, stats, index, g), p.N * p.C);
  const out = {
    picked: read(be, pid, p.N),
    stats: (be.readSync as NonNullable<CpuBackend['readSync']>)(stats.dataId, 'float32', 2 * p.N),
    dx,
  };
  for (const v of [x, index, g, stats]) be.disposeData(v.dataId);
  return out;
}

/** What core composes without the fused kernels, kernel by kernel, on the same backend. */
function composed(be: CpuBackend, p: Problem): { picked: Float32Array; dx: Float32Array } {
  const { x, index, g } = operands(be, p);
  const k = be.kernels;
  const dense = (id: DataId, shape: number[], strides = contiguousStrides(shape)): TensorView => ({
    dataId: id,
    dtype: 'float32',
    shape,
    strides,
    offset: 0,
  });
  const lsm = fusedOf(be).logSoftmax(x, { axis: 1 });
  const picked = read(be, k.gather(dense(lsm, [p.N, p.C]), index, { axis: 1 }), p.N);
  const sm = fusedOf(be).softmax(x, { axis: 1 });
  const ng = k.unary(g, { op: 'neg' });
  const prod = k.binary(dense(sm, [p.N, p.C]), dense(ng, [p.N, p.C], [1, 0]), { op: 'mul' });
  const dx = read(be, k.scatter(dense(prod, [p.N, p.C]), index, g, { axis: 1, reduce: 'add' }), p.N * p.C);
  for (const id of [lsm, sm, ng, prod, x.dataId, index.dataId, g.dataId]) be.disposeData(id);
  return { picked, dx };
}

describe('fused logSoftmaxGather kernels', () => {
  for (const [path, be] of backends) {
    describe(path, () => {
      for (const p of PROBLEMS) {
        it(`equal logSoftmax + gather and softmax * -g + scatterAdd to the bit: ${p.name}`, () => {
          const f = fused(be, p);
          const c = composed(be, p);
          expectIdentical(f.picked, c.picked, 'picked');
          expectIdentical(f.dx, c.dx, 'dx');
        });
      }
    });
  }

  for (const p of PROBLEMS) {
    it(`wasm and JS agree within float32 rounding: ${p.name}`, () => {
      const want = fused(js, p);
      for (const [path, be] of backends.slice(1)) {
        const got = fused(be, p);
        // The wasm exp is within a few ulp of the float64 one; a log-probability near 0
        // carries the absolute error of the log of a sum near 1.
        expectClose(got.picked, want.picked, 2e-6, `${path} picked`);
        expectClose(got.stats, want.stats, 2e-6, `${path} stats`);
        expectClose(got.dx, want.dx, 2e-6, `${path} dx`);
      }
    });
  }

  it('wasm split over two threads equals one thread to the bit', () => {
    const p = problem('wide', 33, 4099, 11);
    const a = fused(backends[1][1], p);
    const b = fused(backends[2][1], p);
    expectIdentical(b.picked, a.picked, 'picked');
    expectIdentical(b.stats, a.stats, 'stats');
    expectIdentical(b.dx, a.dx, 'dx');
  });

  it('a backward given the other path’s stats stays within rounding (stats mean the same on both)', () => {
    const p = problem('cross', 4, 515, 12);
    const fromJs = fused(js, p);
    const be = backends[1][1];
    const { x, index, g } = operands(be, p);
    const stats = upload(be, fromJs.stats, [p.N, 2]);
    const dx = read(be, fusedOf(be).logSoftmaxGatherBackward(x, stats, index, g), p.N * p.C);
    expectClose(dx, fromJs.dx, 2e-6, 'dx');
    for (const v of [x, index, g, stats]) be.disposeData(v.dataId);
  });

  it('core op on the default backend at the word LM size: picks and gradient equal the composition to the bit', async () => {
    const be = await setBackend('xent-default');
    const forward = vi.spyOn(fusedOf(be), 'logSoftmaxGather');
    const backward = vi.spyOn(fusedOf(be), 'logSoftmaxGatherBackward');
    const [N, C] = [128, 10000];
    const p = problem('wordlm', N, C, 13);
    tidy(() => {
      const x = tensor(p.x, { shape: [N, C], requiresGrad: true });
      const index = tensor(p.index, { shape: [N, 1], dtype: 'int32' });
      const g = tensor(p.g, { shape: [N, 1] });
      const picked = logSoftmaxGather(x, index);
      const [dx] = gradients([picked], [x], [g]);
      const want = noGrad(() => logSoftmax(x, 1).gather(1, index));
      const wantDx = noGrad(() => scatterAdd(mul(softmax(x, 1), neg(g)), 1, index, g));
      expectIdentical(picked.dataSync() as Float32Array, want.dataSync() as Float32Array, 'picked');
      expectIdentical(dx?.dataSync() as Float32Array, wantDx.dataSync() as Float32Array, 'dx');
    });
    // The fused kernels ran (the comparison is not composed against itself).
    expect([forward.mock.calls.length, backward.mock.calls.length]).toEqual([1, 1]);
  });
});
