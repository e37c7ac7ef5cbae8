/**
 * The wasm kernels on the layouts that used to leave wasm for the JS kernels: scalar and
 * broadcast (stride-0) operands, transposed and offset views, and the ops built on them
 * (contiguous copies, sums, softmax, layer norm of strided inputs), against the JS
 * reference; the fused Adam update against the reference kernel; and the packed-weight
 * cache, which must never serve a weight that was written in place.
 */
import { type AdamUpdateAttrs, type BinaryOp, type DataId, type TensorView, contiguousStrides, sizeOf } from '@ghostflow/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, cpuBackendInfo, createCpuBackend } from '../src/cpu-backend.js';
import { rand } from './random.js';

const info = cpuBackendInfo();
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const js = createCpuBackend({ wasm: false });
const wasm = createCpuBackend({ threads: 1, thresholds: zero });
afterAll(() => {
  js.dispose();
  wasm.dispose();
});

function view(
  be: CpuBackend,
  values: Float32Array | Int32Array,
  shape: number[],
  strides = contiguousStrides(shape),
  offset = 0,
): TensorView {
  const dtype = values instanceof Int32Array ? 'int32' : 'float32';
  return { dataId: be.upload(values, dtype), dtype, shape, strides, offset };
}

function read(be: CpuBackend, id: DataId, size: number, dtype: 'float32' | 'int32' = 'float32'): Float32Array | Int32Array {
  const out = (be.readSync as NonNullable<CpuBackend['readSync']>)(id, dtype, size);
  be.disposeData(id);
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    const ok = Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) ? a === b : Math.abs(a - b) <= atol + rtol * Math.abs(b);
    if (!ok) expect.fail(`element ${i}: got ${a}, expected ${b}`);
  }
}

/** [shape, a (strides, offset, buffer size), b (strides, offset, buffer size)] */
type Layout = [string, number[], [number[], number, number], [number[], number, number]];
const LAYOUTS: Layout[] = [
  ['contiguous + scalar', [3001], [[1], 0, 3001], [[0], 0, 1]],
  // 1007 = 125 * 8 + 7: the two-vector loop, then a seven-float tail.
  ['contiguous + contiguous', [1007], [[1], 3, 1010], [[1], 0, 1007]],
  ['contiguous + scalar, seven-float tail', [1007], [[1], 0, 1007], [[0], 0, 1]],
  ['scalar + contiguous', [3001], [[0], 5, 9], [[1], 0, 3001]],
  ['matrix + row (bias)', [37, 65], [[65, 1], 0, 37 * 65], [[0, 1], 3, 70]],
  ['matrix + column', [37, 65], [[65, 1], 0, 37 * 65], [[1, 0], 0, 37]],
  ['transposed + contiguous', [40, 51], [[1, 40], 0, 40 * 51], [[51, 1], 0, 40 * 51]],
  ['4-d permuted + offset', [3, 5, 7, 9], [[5, 1, 135, 15], 2, 3 * 5 * 7 * 9 + 2], [[315, 63, 9, 1], 0, 945]],
  ['sparse (every 7th)', [900], [[7], 1, 6400], [[1], 0, 900]],
  ['scalar + scalar over a shape', [12, 11], [[0, 0], 0, 1], [[0, 0], 0, 1]],
];

describe.skipIf(info.path === 'js')(`wasm strided elementwise (${info.path}) vs JS`, () => {
  for (const [name, shape, [as, ao, an], [bs, bo, bn]] of LAYOUTS) {
    it(`binary on ${name} is bit-exact for every wasm op`, () => {
      const A = rand(an, -5, 5, 3);
      const B = rand(bn, -5, 5, 7);
      B[bo] = 0.5;
      const size = sizeOf(shape);
      for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as BinaryOp[]) {
        const [want, got] = [js, wasm].map((be) =>
          read(be, be.kernels.binary(view(be, A, shape, as, ao), view(be, B, shape, bs, bo), { op }), size),
        );
        expect(Array.from(got), `${op}`).toEqual(Array.from(want));
      }
    });

    it(`unary and contiguous copies on ${name}`, () => {
      const A = rand(an, -5, 5, 11);
      const size = sizeOf(shape);
      for (const op of ['identity', 'neg', 'exp', 'relu'] as const) {
        const [want, got] = [js, wasm].map((be) => read(be, be.kernels.unary(view(be, A, shape, as, ao), { op }), size));
        expectClose(got, want, 0, op === 'exp' ? 1e-6 : 0);
      }
      const I = Int32Array.from(A, (x) => Math.round(x * 1e6));
      const [want, got] = [js, wasm].map((be) => read(be, be.kernels.unary(view(be, I, shape, as, ao), { op: 'identity' }), size, 'int32'));
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  }

  it('sum, softmax, logSoftmax and layerNorm of a transposed view', () => {
    const [r, c] = [67, 129];
    const X = rand(r * c, -8, 8, 13);
    const t = (be: CpuBackend) => view(be, X, [c, r], [1, c]); // X^T
    const sums = [js, wasm].map((be) => read(be, be.kernels.reduce(t(be), { op: 'sum', axes: [1] }), c));
    expectClose(sums[1], sums[0], 1e-6, 1e-6);
    for (const kind of ['softmax', 'logSoftmax'] as const) {
      const [want, got] = [js, wasm].map((be) =>
        read(be, (be.fused[kind] as NonNullable<CpuBackend['fused']['softmax']>)(t(be), { axis: 1 }), r * c),
      );
      expectClose(got, want, 1e-7, 1e-5);
    }
    const [want, got] = [js, wasm].map((be) => {
      const [o, m, s] = (be.fused.layerNorm as NonNullable<CpuBackend['fused']['layerNorm']>)(t(be), null, null, {
        normalizedSize: r,
        eps: 1e-5,
      });
      return [read(be, o, r * c), read(be, m, c), read(be, s, c)];
    });
    for (let i = 0; i < 3; i++) expectClose(got[i], want[i], 1e-5, 1e-5);
  });

  const ADAM: [string, Partial<AdamUpdateAttrs>, boolean][] = [
    ['Adam', {}, false],
    ['Adam, L2 weight decay, maximize', { weightDecay: 0.1, maximize: true }, false],
    ['AdamW, AMSGrad', { weightDecay: 0.01, decoupled: true }, true],
  ];
  for (const [name, extra, amsgrad] of ADAM) {
    it(`adamUpdate (${name}) equals the reference kernel bit for bit, strided gradient included`, () => {
      const n = 4099;
      const P = rand(n + 3, -1, 1, 17);
      const G = rand(2 * n, -1, 1, 19); // read with stride 2
      const M = rand(n, -0.1, 0.1, 23);
      const V = rand(n, 0, 0.01, 29);
      const X = rand(n, 0, 0.02, 31);
      const attrs: AdamUpdateAttrs = {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        decoupled: false,
        step: 3,
        maximize: false,
        ...extra,
      };
      const [want, got] = [js, wasm].map((be) => {
        const p = view(be, P, [n], [1], 3);
        const m = view(be, M, [n]);
        const v = view(be, V, [n]);
        const x = amsgrad ? view(be, X, [n]) : null;
        const g = view(be, G, [n], [2]);
        (be.fused.adamUpdate as NonNullable<CpuBackend['fused']['adamUpdate']>)(p, g, m, v, x, attrs);
        be.disposeData(g.dataId);
        return [read(be, p.dataId, n + 3), read(be, m.dataId, n), read(be, v.dataId, n), ...(x ? [read(be, x.dataId, n)] : [])];
      });
      for (let i = 0; i < want.length; i++) expect(Array.from(got[i])).toEqual(Array.from(want[i]));
      expect(Array.from(got[0].subarray(0, 3))).toEqual(Array.from(P.subarray(0, 3))); // before the offset: untouched
    });
  }

  it('the packed-weight cache keeps a weight packed, and a write to it is never served stale', () => {
    const be = createCpuBackend({ threads: 1, thresholds: zero });
    const [m, k, n] = [8, 96, 80];
    const X = rand(m * k, -1, 1, 37);
    const W1 = rand(n * k, -1, 1, 41);
    const W2 = rand(n * k, -1, 1, 43);
    const x = view(be, X, [m, k]);
    const w = view(be, W1, [n, k]);
    const ref = (W: Float32Array) => read(js, js.fused.linear?.(view(js, X, [m, k]), view(js, W, [n, k]), null) as DataId, m * n);
    const lin = () => read(be, be.fused.linear?.(x, w, null) as DataId, m * n);
    expectClose(lin(), ref(W1), 1e-5, 1e-5);
    expect(be.info.packedBytes).toBe(0); // seen once: not cached (activations never are)
    expectClose(lin(), ref(W1), 1e-5, 1e-5);
    expect(be.info.packedBytes).toBeGreaterThanOrEqual(n * k * 4);
    expectClose(lin(), ref(W1), 1e-5, 1e-5);
    // An in-place write of the weight (what optimizers and copy_ do) must invalidate it.
    const src = view(be, W2, [n, k]);
    be.kernels.write(w, src);
    expectClose(lin(), ref(W2), 1e-5, 1e-5);
    expectClose(lin(), ref(W2), 1e-5, 1e-5);
    // So must a fused Adam step on it.
    const zeros = () => view(be, new Float32Array(n * k), [n, k]);
    const attrs: AdamUpdateAttrs = {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupled: false,
      step: 1,
      maximize: false,
    };
    (be.fused.adamUpdate as NonNullable<CpuBackend['fused']['adamUpdate']>)(w, view(be, W1, [n, k]), zeros(), zeros(), null, attrs);
    const W3 = (be.readSync as NonNullable<CpuBackend['readSync']>)(w.dataId, 'float32', n * k) as Float32Array;
    expect(Array.from(W3)).not.toEqual(Array.from(W2));
    expectClose(lin(), ref(W3), 1e-5, 1e-5);
    expectClose(lin(), ref(W3), 1e-5, 1e-5);
    // Freeing the weight frees its packed panels.
    const held = be.info.packedBytes;
    expect(held).toBeGreaterThan(0);
    be.disposeData(w.dataId);
    expect(be.info.packedBytes).toBeLessThan(held);
    be.disposeData(x.dataId);
    be.dispose();
  });
});
