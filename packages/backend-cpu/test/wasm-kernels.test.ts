/**
 * The WebAssembly kernels against the JavaScript reference kernels on large random inputs
 * (the conformance suite's tensors are small), with threads off and on. Tolerances follow
 * float32 accumulation: the wasm GEMM sums k products in float32 (the JS one in float64),
 * so its error grows with k; the vector exp/tanh are within a few ulp.
 */
import { type BinaryOp, type DataId, type TensorView, type UnaryOp, contiguousStrides, sizeOf } from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CpuBackend, cpuBackendInfo, createCpuBackend } from '../src/cpu-backend.js';
import { rand } from './random.js';

const info = cpuBackendInfo();
// threadMinElements 0: `two` splits every row and elementwise kernel over both threads.
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0, threadMinElements: 0 };
const js = createCpuBackend({ wasm: false });
const one = createCpuBackend({ threads: 1, thresholds: zero });
const two = createCpuBackend({ threads: 2, thresholds: zero });
const plain = createCpuBackend({ threads: 1, relaxedSimd: false, thresholds: zero });

beforeAll(() => two.whenThreadsReady());
afterAll(() => {
  for (const b of [js, one, two, plain]) b.dispose();
});

/** A view onto `values` uploaded to `be`: row-major unless strides/offset are given. */
function view(be: CpuBackend, values: Float32Array, shape: number[], strides = contiguousStrides(shape), offset = 0): TensorView {
  return { dataId: be.upload(values, 'float32'), dtype: 'float32', shape, strides, offset };
}

function read(be: CpuBackend, id: DataId, size: number): Float32Array {
  const out = (be.readSync as NonNullable<CpuBackend['readSync']>)(id, 'float32', size);
  be.disposeData(id);
  return out;
}

/** `|got - want| <= atol + rtol |want|` everywhere, NaN matching NaN and infinities exact. */
function expectClose(got: Float32Array, want: Float32Array, atol: number, rtol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    const ok = Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) ? a === b : Math.abs(a - b) <= atol + rtol * Math.abs(b);
    if (!ok) expect.fail(`element ${i}: got ${a}, expected ${b} (atol ${atol}, rtol ${rtol})`);
  }
}

type MatmulCase = { name: string; a: [number[], number[]?, number?]; b: [number[], number[]?, number?]; size: number; out: number };

/** [shape, strides, offset] of each operand, and the buffer sizes behind them. */
const MATMUL_CASES: MatmulCase[] = [
  { name: '1x1 @ 1x1', a: [[1, 1]], b: [[1, 1]], size: 1, out: 1 },
  { name: '3x5 @ 5x7 (all edges)', a: [[3, 5]], b: [[5, 7]], size: 35, out: 21 },
  { name: '17x33 @ 33x31', a: [[17, 33]], b: [[33, 31]], size: 33 * 33, out: 17 * 31 },
  { name: '64x64 @ 64x64', a: [[64, 64]], b: [[64, 64]], size: 64 * 64, out: 64 * 64 },
  { name: '130x257 @ 257x100', a: [[130, 257]], b: [[257, 100]], size: 257 * 130, out: 130 * 100 },
  { name: 'batched [4,37,29] @ [4,29,45]', a: [[4, 37, 29]], b: [[4, 29, 45]], size: 4 * 45 * 37, out: 4 * 37 * 45 },
  {
    name: 'broadcast b (batch stride 0)',
    a: [[3, 40, 24]],
    b: [
      [3, 24, 50],
      [0, 50, 1],
    ],
    size: 3 * 40 * 50,
    out: 3 * 40 * 50,
  },
  {
    name: 'transposed a and b',
    a: [
      [48, 70],
      [1, 48],
    ],
    b: [
      [70, 33],
      [1, 70],
    ],
    size: 70 * 70,
    out: 48 * 33,
  },
  { name: 'offset, padded rows', a: [[20, 30], [40, 1], 7], b: [[30, 18], [20, 1], 3], size: 40 * 30, out: 20 * 18 },
  // Column-major operands take the 4x4-transpose packing paths: rows, columns and depth
  // that are not multiples of 4 (or of 16 rows, one source line) end in scalar tails.
  {
    name: 'transposed a with 37 rows and k 19, transposed b with 45 columns',
    a: [
      [37, 19],
      [1, 37],
    ],
    b: [
      [19, 45],
      [1, 19],
    ],
    size: 855,
    out: 37 * 45,
  },
  {
    name: 'k = 1 (an outer product), both column-major',
    a: [
      [33, 1],
      [1, 33],
    ],
    b: [
      [1, 37],
      [1, 1],
    ],
    size: 37,
    out: 33 * 37,
  },
  // A column-major A is transposed inside the GEMM one 64-row x 256-deep block at a time:
  // more rows than a block (an odd tail), k past one block, and per-batch slices.
  {
    name: 'transposed a past one GEMM block (151 rows, k 300)',
    a: [
      [151, 300],
      [1, 151],
    ],
    b: [[300, 40]],
    size: 151 * 300,
    out: 151 * 40,
  },
  {
    name: 'batched transposed a [2, 70, 260] (weight-gradient layout per batch)',
    a: [
      [2, 70, 260],
      [70 * 260, 1, 70],
    ],
    b: [[2, 260, 33]],
    size: 2 * 70 * 260,
    out: 2 * 70 * 33,
  },
  { name: 'k = 0 (all zeros)', a: [[3, 0]], b: [[0, 4]], size: 1, out: 12 },
  // Past one 256-deep GEMM block, B is packed slice by slice inside the tasks (the first
  // time a B is seen): edge panels, odd rows, column-major and per-batch B.
  { name: 'deep b (k 600, 70 columns: an edge panel) and 37 rows', a: [[37, 600]], b: [[600, 70]], size: 600 * 70, out: 37 * 70 },
  {
    name: 'deep transposed b (k 600, 45 columns)',
    a: [[21, 600]],
    b: [
      [600, 45],
      [1, 600],
    ],
    size: 600 * 45,
    out: 21 * 45,
  },
  {
    name: 'batched deep b per batch [3, 21, 300] @ [3, 300, 40]',
    a: [[3, 21, 300]],
    b: [[3, 300, 40]],
    size: 3 * 300 * 40,
    out: 3 * 21 * 40,
  },
  // B broadcast over the batch and A's batch entries stacked on its rows: one GEMM of
  // batch x rows (a decoder's dY @ W); a padded batch stride cannot be folded.
  {
    name: 'broadcast b folded into rows: [16, 7, 300] @ [300, 64]',
    a: [[16, 7, 300]],
    b: [
      [16, 300, 64],
      [0, 64, 1],
    ],
    size: 16 * 7 * 300,
    out: 16 * 7 * 64,
  },
  {
    name: 'broadcast b, a batch stride past its rows (not folded): [4, 6, 20] strides [200, 20, 1]',
    a: [
      [4, 6, 20],
      [200, 20, 1],
    ],
    b: [
      [4, 20, 33],
      [0, 33, 1],
    ],
    size: 4 * 200,
    out: 4 * 6 * 33,
  },
  {
    name: 'batched q @ kᵀ (b a transposed view per batch)',
    a: [[4, 20, 12]],
    b: [
      [4, 12, 21],
      [252, 1, 12],
    ],
    size: 1008,
    out: 4 * 20 * 21,
  },
  {
    name: 'broadcast transposed a (batch stride 0)',
    a: [
      [3, 18, 10],
      [0, 1, 18],
    ],
    b: [[3, 10, 22]],
    size: 660,
    out: 3 * 18 * 22,
  },
  {
    name: 'strided a (column step 2) and b',
    a: [
      [9, 10],
      [30, 2],
    ],
    b: [
      [10, 17],
      [34, 2],
    ],
    size: 340,
    out: 9 * 17,
  },
  {
    name: 'sparse b (every 3rd column)',
    a: [[16, 16]],
    b: [
      [16, 40],
      [400, 3],
    ],
    size: 16 * 400 + 200,
    out: 16 * 40,
  },
];

describe.skipIf(info.path === 'js')(`wasm kernels (${info.path}) vs JS`, () => {
  it('reports the path and threads', () => {
    expect(['relaxed-simd', 'simd']).toContain(one.info.path);
    expect(plain.info.path).toBe('simd');
    expect(js.info).toEqual({ path: 'js', threads: 1, readyWorkers: 0, packedBytes: 0 });
    expect(one.info.threads).toBe(1);
    expect(two.info.threads).toBe(2);
    expect(two.info.readyWorkers).toBe(1);
    expect(cpuBackendInfo({ wasm: false }).path).toBe('js');
  });

  for (const c of MATMUL_CASES) {
    it(`matmul ${c.name}`, () => {
      const A = rand(c.size, -1, 1, 3);
      const B = rand(c.size, -1, 1, 5);
      const k = c.a[0][c.a[0].length - 1];
      const results = [js, one, two, plain].map((be) => {
        const a = view(be, A, c.a[0], c.a[1], c.a[2]);
        const b = view(be, B, c.b[0], c.b[1], c.b[2]);
        // Three calls on an unchanged B: packed by the tasks, packed whole into the packed
        // cache, read from the cache. The same sums in the same order: identical bits.
        const runs = [0, 1, 2].map(() => read(be, be.kernels.matmul(a, b), c.out));
        for (const r of runs.slice(1)) expect(Array.from(r)).toEqual(Array.from(runs[0]));
        be.disposeData(a.dataId);
        be.disposeData(b.dataId);
        return runs[0];
      });
      for (const r of results.slice(1)) expectClose(r, results[0], 2e-6 * k, 1e-5);
      // Threads split whole output tiles, never one element's sum: identical bits.
      expect(Array.from(results[2])).toEqual(Array.from(results[1]));
    });
  }

  it('matmul propagates inf and NaN like the JS kernel', () => {
    const A = rand(8 * 8, -1, 1, 7);
    A[3] = Number.POSITIVE_INFINITY;
    A[20] = Number.NaN;
    const B = rand(8 * 8, -1, 1, 9);
    B[5] = 0;
    const [want, got] = [js, two].map((be) => read(be, be.kernels.matmul(view(be, A, [8, 8]), view(be, B, [8, 8])), 64));
    expectClose(got, want, 1e-5, 1e-5);
  });

  it('linear with bias and a non-contiguous weight', () => {
    const [rows, k, n] = [70, 96, 53];
    const X = rand(rows * k, -1, 1, 11);
    const W = rand(n * k * 2, -1, 1, 13); // weight [n, k] read with row stride 2k
    const bias = rand(n, -1, 1, 17);
    const results = [js, one, two].map((be) => {
      const out = be.fused.linear?.(view(be, X, [2, 35, k]), view(be, W, [n, k], [2 * k, 1]), view(be, bias, [n])) as DataId;
      return read(be, out, rows * n);
    });
    expectClose(results[1], results[0], 2e-6 * k, 1e-5);
    expect(Array.from(results[2])).toEqual(Array.from(results[1]));
  });

  it('linear with a weight deeper than one GEMM block (k 300) and an edge panel: bias seeds only the first depth slice', () => {
    const [rows, k, n] = [33, 300, 70];
    const X = rand(rows * k, -1, 1, 41);
    const W = rand(n * k, -1, 1, 43);
    const bias = rand(n, -1, 1, 47);
    const results = [js, one, two, plain].map((be) => {
      const [x, w, b] = [view(be, X, [rows, k]), view(be, W, [n, k]), view(be, bias, [n])];
      const runs = [0, 1, 2].map(() => read(be, be.fused.linear?.(x, w, b) as DataId, rows * n));
      for (const r of runs.slice(1)) expect(Array.from(r)).toEqual(Array.from(runs[0]));
      return runs[0];
    });
    for (const r of results.slice(1)) expectClose(r, results[0], 2e-6 * k, 1e-5);
    expect(Array.from(results[2])).toEqual(Array.from(results[1]));
  });

  it('linear on a permuted x (a seq-first view of a batch-first tensor, read in place as a batch of row blocks) with relu', () => {
    // x [L 40, B 7, k 96] viewing a [B, L, k] buffer; a size-1 dim in between must not stop the merge.
    const [B, L, k, n] = [7, 40, 96, 53];
    const X = rand(B * L * k, -1, 1, 19);
    const W = rand(n * k, -1, 1, 23);
    const bias = rand(n, -1, 1, 29);
    const results = [js, one, two, plain].map((be) => {
      const x = view(be, X, [L, 1, B, k], [k, 0, L * k, 1]);
      const out = be.fused.linear?.(x, view(be, W, [n, k]), view(be, bias, [n]), { activation: 'relu' }) as DataId;
      return read(be, out, L * B * n);
    });
    for (const r of results.slice(1)) expectClose(r, results[0], 2e-6 * k, 1e-5);
    expect(Array.from(results[2])).toEqual(Array.from(results[1]));
  });

  it('batched matmul of sparse operands (attention backward layouts: rows 8192 apart, A column-major per batch)', () => {
    // a [16, 64, 40] with strides [4096, 1, 64] (each slice column-major), b [16, 40, 24] whose
    // rows are 1000 floats apart inside a larger buffer: neither is compact, both are read in place.
    const [batch, m, k, n] = [16, 64, 40, 24];
    const A = rand(batch * 4096, -1, 1, 31);
    const Bv = rand(batch * 24 + 39 * 1000 + 24, -1, 1, 37);
    const results = [js, one, two, plain].map((be) => {
      const a = view(be, A, [batch, m, k], [4096, 1, 64]);
      const b = view(be, Bv, [batch, k, n], [24, 1000, 1], 5);
      return read(be, be.kernels.matmul(a, b), batch * m * n);
    });
    for (const r of results.slice(1)) expectClose(r, results[0], 2e-6 * k, 1e-5);
    expect(Array.from(results[2])).toEqual(Array.from(results[1]));
  });

  const specials = Float32Array.of(
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1e-30,
    -1e-30,
    88.7,
    89,
    -87,
    -104,
    1e-4,
    -3e-4,
    7.9,
    20,
  );
  const unaryInput = (lo: number, hi: number): Float32Array => {
    const x = rand(20_003, lo, hi, 19);
    x.set(specials);
    return x;
  };

  const UNARY: [UnaryOp, number, number, number][] = [
    ['exp', -100, 90, 1e-6],
    ['tanh', -10, 10, 1e-6],
    ['sigmoid', -100, 100, 1e-6],
    ['silu', -100, 100, 1e-6],
    ['relu', -5, 5, 0],
    ['neg', -5, 5, 0],
    ['abs', -5, 5, 0],
    ['sqrt', 0, 1000, 0],
  ];
  for (const [op, lo, hi, rtol] of UNARY) {
    it(`unary ${op}`, () => {
      const X = unaryInput(lo, hi);
      const [want, got, split] = [js, one, two].map((be) => read(be, be.kernels.unary(view(be, X, [X.length]), { op }), X.length));
      // atol 1e-30: silu and sigmoid underflow to 0 a little earlier than the float64 reference.
      expectClose(got, want, rtol === 0 ? 0 : 1e-30, rtol);
      // Split over two threads: each element is computed by the same code, so bit-exact.
      expect(split).toEqual(got);
    });
  }

  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as BinaryOp[]) {
    it(`binary ${op} is bit-exact`, () => {
      const A = rand(10_001, -50, 50, 23);
      const B = rand(10_001, -50, 50, 29);
      A.set(specials);
      B.set(specials.slice().reverse());
      const [want, got, split] = [js, one, two].map((be) =>
        read(be, be.kernels.binary(view(be, A, [10_001]), view(be, B, [10_001]), { op }), 10_001),
      );
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(Array.from(split)).toEqual(Array.from(want));
    });
  }

  it('binary split over threads along the outer dim: row broadcast, scalar, transposed operand', () => {
    const [R, C] = [37, 301];
    const A = rand(R * C, -5, 5, 53);
    const row = rand(C, -5, 5, 59);
    const cases: [string, (be: CpuBackend) => [TensorView, TensorView]][] = [
      ['row broadcast', (be) => [view(be, A, [R, C]), view(be, row, [R, C], [0, 1])]],
      ['scalar', (be) => [view(be, A, [R, C]), view(be, row, [R, C], [0, 0], 7)]],
      ['transposed', (be) => [view(be, A, [R, C]), view(be, A, [R, C], [1, R])]],
      ['offset rows', (be) => [view(be, A, [R - 1, C], [C, 1], C), view(be, A, [R - 1, C])]],
    ];
    for (const [name, make] of cases) {
      const [want, got] = [js, two].map((be) => {
        const [a, b] = make(be);
        return read(be, be.kernels.binary(a, b, { op: 'sub' }), sizeOf(a.shape));
      });
      expect(Array.from(got), name).toEqual(Array.from(want));
    }
  });

  it('sum over the last axes', () => {
    const X = rand(60 * 7 * 131, -1, 1, 31);
    for (const axes of [[2], [1, 2], [0, 1, 2]]) {
      const outSize = sizeOf([60, 7, 131].filter((_, d) => !axes.includes(d)));
      const [want, got, split] = [js, one, two].map((be) =>
        read(be, be.kernels.reduce(view(be, X, [60, 7, 131]), { op: 'sum', axes }), outSize),
      );
      expectClose(got, want, 1e-6, 1e-6);
      expect(split).toEqual(got);
    }
  });

  it('sum over the leading axes (bias gradients): contiguous and transposed inputs, columns split over threads', () => {
    const X = rand(60 * 7 * 131, -1, 1, 33);
    for (let i = 0; i < 131; i++) X[i] += 1e4; // a large first row: float64 accumulators keep the small ones
    for (const axes of [[0], [0, 1]]) {
      const outSize = sizeOf([60, 7, 131].filter((_, d) => !axes.includes(d)));
      const [want, got, split] = [js, one, two].map((be) =>
        read(be, be.kernels.reduce(view(be, X, [60, 7, 131]), { op: 'sum', axes }), outSize),
      );
      expectClose(got, want, 1e-6, 1e-6);
      expect(split).toEqual(got);
    }
    // A transposed [131, 420] view of the [420, 131] block, summed over its rows.
    const [want, got] = [js, two].map((be) =>
      read(be, be.kernels.reduce(view(be, X, [131, 420], [1, 131]), { op: 'sum', axes: [0] }), 420),
    );
    expectClose(got, want, 1e-6, 1e-6);
  });

  it('softmax and logSoftmax along the last axis, large magnitudes included', () => {
    const X = rand(64 * 1001, -30, 30, 37);
    for (let i = 0; i < 1001; i++) X[i] += 1000; // a row of huge logits
    X[1001 * 3 + 5] = Number.NEGATIVE_INFINITY;
    for (const kind of ['softmax', 'logSoftmax'] as const) {
      const [want, got, split] = [js, one, two].map((be) =>
        read(be, (be.fused[kind] as NonNullable<CpuBackend['fused']['softmax']>)(view(be, X, [64, 1001]), { axis: 1 }), X.length),
      );
      expectClose(got, want, kind === 'softmax' ? 1e-9 : 1e-5, 1e-5);
      expect(split).toEqual(got);
    }
  });

  it('softmax and logSoftmax: exact zeros past exp underflow, a NaN row, a row of -inf', () => {
    const n = 37;
    const X = rand(4 * n, -1, 1, 41);
    for (let j = 1; j < n; j += 2) X[j] -= 200; // row 0: every other logit 200 below -> exp underflows to 0
    X[n + 7] = Number.NaN; // row 1: one NaN -> a NaN row
    for (let j = 0; j < n; j++) X[2 * n + j] = Number.NEGATIVE_INFINITY; // row 2: all -inf -> NaN (as torch)
    X[3 * n + 4] = Number.NEGATIVE_INFINITY; // row 3: one -inf -> exactly 0 (softmax), -inf (logSoftmax)
    for (const kind of ['softmax', 'logSoftmax'] as const) {
      const [want, ...gots] = [js, one, two].map((be) =>
        read(be, (be.fused[kind] as NonNullable<CpuBackend['fused']['softmax']>)(view(be, X, [4, n]), { axis: 1 }), X.length),
      );
      for (const got of gots) {
        for (let i = 0; i < X.length; i++) {
          if (Number.isNaN(want[i]) || !Number.isFinite(want[i])) expect(Object.is(got[i], want[i]), `${kind}[${i}]`).toBe(true);
          else expect(Math.abs(got[i] - want[i]), `${kind}[${i}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[i])));
        }
        if (kind === 'softmax') {
          for (let j = 1; j < n; j += 2) expect(got[j]).toBe(0);
          expect(got[3 * n + 4]).toBe(0);
        }
        expect(got.subarray(n, 2 * n).every(Number.isNaN)).toBe(true);
        expect(got.subarray(2 * n, 3 * n).every(Number.isNaN)).toBe(true);
      }
    }
  });

  it('layerNorm with weight and bias, rows with a large mean', () => {
    const [rows, n] = [96, 513];
    const X = rand(rows * n, -1, 1, 41);
    for (let i = 0; i < n; i++) X[i] = 1000 + X[i] * 1e-3;
    const w = rand(n, 0.5, 1.5, 43);
    const b = rand(n, -1, 1, 47);
    const [want, got, split] = [js, one, two].map((be) => {
      const [o, m, r] = (be.fused.layerNorm as NonNullable<CpuBackend['fused']['layerNorm']>)(
        view(be, X, [rows, n]),
        view(be, w, [n]),
        view(be, b, [n]),
        {
          normalizedSize: n,
          eps: 1e-5,
        },
      );
      return [read(be, o, rows * n), read(be, m, rows), read(be, r, rows)];
    });
    for (let i = 0; i < 3; i++) expectClose(got[i], want[i], 1e-5, 1e-5);
    for (let i = 0; i < 3; i++) expect(split[i]).toEqual(got[i]);
  });

  it('lstmCell and gruCell', () => {
    const [batch, h] = [32, 257];
    const gates = rand(batch * 4 * h, -6, 6, 53);
    const gatesH = rand(batch * 4 * h, -2, 2, 61);
    const c = rand(batch * h, -2, 2, 59);
    const [want, got] = [js, one].map((be) => {
      const [ho, co] = (be.fused.lstmCell as NonNullable<CpuBackend['fused']['lstmCell']>)(
        view(be, gates, [batch, 4 * h]),
        view(be, gatesH, [batch, 4 * h]),
        view(be, c, [batch, h]),
      );
      return [read(be, ho, batch * h), read(be, co, batch * h)];
    });
    expectClose(got[0], want[0], 1e-6, 1e-5);
    expectClose(got[1], want[1], 1e-6, 1e-5);
    const gi = rand(batch * 3 * h, -6, 6, 61);
    const gh = rand(batch * 3 * h, -6, 6, 67);
    const [w2, g2] = [js, one].map((be) =>
      read(
        be,
        (be.fused.gruCell as NonNullable<CpuBackend['fused']['gruCell']>)(
          view(be, gi, [batch, 3 * h]),
          view(be, gh, [batch, 3 * h]),
          view(be, c, [batch, h]),
        ),
        batch * h,
      ),
    );
    expectClose(g2, w2, 1e-6, 1e-5);
  });

  it('attention (GEMMs in wasm): broadcast mask with a fully masked row, causal, strided k', () => {
    const [B, L, S, E, Ev] = [6, 33, 70, 40, 24];
    const q = rand(B * L * E, -1, 1, 71);
    const k = rand(S * B * E, -1, 1, 73); // stored [S, B, E], read as [B, S, E]
    const v = rand(B * S * Ev, -1, 1, 79);
    const mask = rand(L * S, -2, 2, 83);
    for (let j = 0; j < S; j++) mask[5 * S + j] = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < S; j += 3) mask[7 * S + j] = Number.NEGATIVE_INFINITY;
    for (const causal of [false, true]) {
      const [want, got1, got2] = [js, one, two].map((be) => {
        const [o, w] = (be.fused.attention as NonNullable<CpuBackend['fused']['attention']>)(
          view(be, q, [B, L, E]),
          view(be, k, [B, S, E], [E, B * E, 1]),
          view(be, v, [B, S, Ev]),
          view(be, mask, [B, L, S], [0, S, 1]),
          { scale: 0.2, causal },
        );
        return [read(be, o, B * L * Ev), read(be, w, B * L * S)];
      });
      for (const got of [got1, got2]) {
        expectClose(got[0], want[0], 1e-5, 1e-4);
        expectClose(got[1], want[1], 1e-6, 1e-4);
        for (let b = 0; b < B; b++) expect(got[1].subarray((b * L + 5) * S, (b * L + 6) * S).every((x) => x === 0)).toBe(true);
      }
    }
  });

  it('attention at odd sizes: per-batch strided mask, E and S past one GEMM depth block, threads', () => {
    // S = 300 and E = 260 exceed the GEMM's 256-deep k block (partial sums reloaded from C);
    // the mask differs per batch entry and is read transposed (element stride L).
    const cases: [number, number, number, number, number][] = [
      [5, 7, 300, 260, 19],
      [3, 300, 9, 5, 33],
      [7, 1, 1, 3, 1],
    ];
    for (const [B, L, S, E, Ev] of cases) {
      const q = rand(B * L * E, -1, 1, 101);
      const k = rand(B * S * E, -1, 1, 103);
      const v = rand(B * S * Ev, -1, 1, 107);
      const mask = rand(B * S * L, -3, 3, 109); // stored [B, S, L]
      if (L > 1) for (let j = 0; j < S; j++) mask[1 * S * L + j * L + 1] = Number.NEGATIVE_INFINITY; // batch 1, query 1
      for (const causal of [false, true]) {
        for (const withMask of [false, true]) {
          const [want, got1, got2] = [js, one, two].map((be) => {
            const [o, w] = (be.fused.attention as NonNullable<CpuBackend['fused']['attention']>)(
              view(be, q, [B, L, E]),
              view(be, k, [B, S, E]),
              view(be, v, [B, S, Ev]),
              withMask ? view(be, mask, [B, L, S], [S * L, 1, L]) : null,
              { scale: 1 / Math.sqrt(E), causal },
            );
            return [read(be, o, B * L * Ev), read(be, w, B * L * S)];
          });
          for (const got of [got1, got2]) {
            expectClose(got[0], want[0], 1e-5, 1e-4);
            expectClose(got[1], want[1], 1e-6, 1e-4);
          }
          // The split runs the same code per batch entry: bit-exact against one thread.
          expect(got2[0]).toEqual(got1[0]);
          expect(got2[1]).toEqual(got1[1]);
          if (withMask && L > 1 && B > 1 && !causal) expect(got1[1].subarray((L + 1) * S, (L + 2) * S).every((x) => x === 0)).toBe(true);
        }
      }
    }
  });

  it('attention reads strided operands in place: head views of one projection, strided features, causal with L > S', () => {
    // MultiheadAttention's layout: q, k, v are heads of one [L, N, 3, H, hd] projection,
    // viewed [N * H, L, hd] (batch stride hd, row stride N * 3 * H * hd), never contiguous.
    const [N, H, L, hd] = [3, 4, 70, 8];
    const B = N * H;
    const proj = rand(L * N * 3 * H * hd, -2, 2, 131);
    const row = N * 3 * H * hd;
    const headView = (be: CpuBackend, part: number): TensorView => view(be, proj, [B, L, hd], [hd, row, 1], part * H * hd);
    // q with a strided feature dim ([B, L, E] stored [B, E, L]), and a k stored [E, S, B].
    const [S, E] = [45, 6];
    const qT = rand(B * E * L, -3, 3, 137);
    const kT = rand(E * S * B, -3, 3, 139);
    const v2 = rand(B * S * hd, -1, 1, 149);
    const cases: [string, (be: CpuBackend) => [TensorView, TensorView, TensorView], number, number][] = [
      ['heads', (be) => [headView(be, 0), headView(be, 1), headView(be, 2)], L, hd],
      [
        'strided',
        (be) => [view(be, qT, [B, L, E], [E * L, 1, L]), view(be, kT, [B, S, E], [1, B, S * B]), view(be, v2, [B, S, hd])],
        S,
        hd,
      ],
    ];
    for (const [name, make, keys, Ev] of cases) {
      for (const causal of [false, true]) {
        const [want, ...gots] = [js, one, two, plain].map((be) => {
          const [q, k, v] = make(be);
          const [o, w] = (be.fused.attention as NonNullable<CpuBackend['fused']['attention']>)(q, k, v, null, { scale: 0.35, causal });
          return [read(be, o, B * L * Ev), read(be, w, B * L * keys)];
        });
        for (const got of gots) {
          expectClose(got[0], want[0], 1e-5, 1e-4);
          expectClose(got[1], want[1], 1e-6, 1e-4);
        }
        // L = 70 > S = 45 with causal: the first 25 queries see no key (zero weights and output).
        if (name === 'strided' && causal) expect(gots[0][1].subarray(0, 25 * S).every((x) => x === 0)).toBe(true);
      }
    }
  });

  it('attention softmax: exact zeros past exp underflow, a NaN score, rows of -inf with a NaN', () => {
    const [B, L, S, E] = [2, 5, 37, 4];
    const q = rand(B * L * E, -1, 1, 151);
    const k = rand(B * S * E, -1, 1, 157);
    const v = rand(B * S * E, -1, 1, 163);
    const mask = new Float32Array(B * L * S);
    for (let j = 0; j < S; j++) {
      mask[0 * S + j] = j % 2 ? -200 : 0; // row 0: every other key 200 below the rest -> exp underflows to 0
      mask[1 * S + j] = j === 7 ? Number.NaN : 0; // row 1: one NaN score -> a NaN row
      mask[2 * S + j] = j === 3 ? Number.NaN : Number.NEGATIVE_INFINITY; // row 2: -inf and one NaN -> NaN
      mask[3 * S + j] = Number.NEGATIVE_INFINITY; // row 3: all -inf -> zeros
    }
    const [want, ...gots] = [js, one, two, plain].map((be) => {
      const [o, w] = (be.fused.attention as NonNullable<CpuBackend['fused']['attention']>)(
        view(be, q, [B, L, E]),
        view(be, k, [B, S, E]),
        view(be, v, [B, S, E]),
        view(be, mask, [B, L, S]),
        { scale: 0.5, causal: false },
      );
      return [read(be, o, B * L * E), read(be, w, B * L * S)];
    });
    for (const got of gots) {
      expectClose(got[0], want[0], 1e-5, 1e-4);
      expectClose(got[1], want[1], 1e-6, 1e-4);
      for (let j = 1; j < S; j += 2) expect(got[1][j]).toBe(0);
      expect(got[1].subarray(S, 2 * S).every(Number.isNaN)).toBe(true);
      expect(got[1].subarray(2 * S, 3 * S).some(Number.isNaN)).toBe(true);
      expect(got[1].subarray(3 * S, 4 * S).every((x) => x === 0)).toBe(true);
      expect(got[0].subarray(3 * E, 4 * E).every((x) => x === 0)).toBe(true);
    }
  });

  it('keeps working single-threaded after dispose, and setThreads restarts the pool', async () => {
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    be.dispose();
    expect(be.info.threads).toBe(1);
    const A = rand(40 * 40, -1, 1, 71);
    const got = read(be, be.kernels.matmul(view(be, A, [40, 40]), view(be, A, [40, 40])), 1600);
    const want = read(js, js.kernels.matmul(view(js, A, [40, 40]), view(js, A, [40, 40])), 1600);
    expectClose(got, want, 1e-4, 1e-5);
    be.setThreads(2);
    await be.whenThreadsReady();
    expect(be.info).toMatchObject({ threads: 2, readyWorkers: 1 });
    be.dispose();
  });
});
