/**
 * The wasm comparisons (bool outputs), `where` and `concat` (assembly/select.ts) against the
 * JS reference kernels, bit for bit: sizes that reach the 16-wide vector loops and their
 * tails, NaN / infinities / -0 in every operand, scalar and broadcast (stride-0) operands,
 * transposed, offset and sparse views, 0-d and empty tensors, int32, the dtypes that stay
 * on the JS kernels (bool operands), and parts split over worker threads.
 */
import { type BinaryOp, type DType, type DataId, type TensorView, contiguousStrides, sizeOf } from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CpuBackend, cpuBackendInfo, createCpuBackend } from '../src/cpu-backend.js';
import { lcg } from './random.js';

const info = cpuBackendInfo();
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0, threadMinElements: 0 };
const js = createCpuBackend({ wasm: false });
const wasm = createCpuBackend({ threads: 1, thresholds: zero });
// Two threads and no threshold: every call big enough for two parts is split.
const threaded = createCpuBackend({ threads: 2, thresholds: zero });
beforeAll(() => threaded.whenThreadsReady());
afterAll(() => {
  js.dispose();
  wasm.dispose();
  threaded.dispose();
});

const COMPARE: BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 0.5, -0.5];

/** Deterministic values in [-4, 4] in steps of 0.5 (so that equal pairs occur), with specials sprinkled in. */
function values(n: number, seed: number, dtype: DType): Float32Array | Int32Array | Uint8Array {
  const next = lcg(seed);
  if (dtype === 'bool') return Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
  if (dtype === 'int32')
    return Int32Array.from({ length: n }, (_, i) => (i % 11 === 3 ? [2 ** 31 - 1, -(2 ** 31), 0][i % 3] : Math.floor(next() * 9) - 4));
  return Float32Array.from({ length: n }, (_, i) => (i % 7 === 2 ? SPECIAL[(i >> 3) % SPECIAL.length] : Math.floor(next() * 17) / 2 - 4));
}

function view(
  be: CpuBackend,
  data: Float32Array | Int32Array | Uint8Array,
  dtype: DType,
  shape: number[],
  strides: number[],
  offset: number,
): TensorView {
  return { dataId: be.upload(data, dtype), dtype, shape, strides, offset };
}

/** A view of `data` laid out as `op` says (its buffer length is `data`'s). */
function opView(be: CpuBackend, data: Float32Array | Int32Array | Uint8Array, dtype: DType, shape: number[], op: Operand): TensorView {
  return view(be, data, dtype, shape, op[0], op[1]);
}

function read(be: CpuBackend, id: DataId, dtype: DType, size: number): number[] {
  const out = (be.readSync as NonNullable<CpuBackend['readSync']>)(id, dtype, size);
  be.disposeData(id);
  return Array.from(out);
}

/** Element-wise identity as PyTorch sees it: NaN equals NaN, -0 differs from +0. */
function expectSame(got: readonly number[], want: readonly number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i}: got ${got[i]}, expected ${want[i]}`);
}

/** One operand: strides, offset, buffer length. */
type Operand = [number[], number, number];
/** [name, shape, an operand layout per input (cond first for where)] */
type Layout = [string, number[], Operand[]];

const LAYOUTS: Layout[] = [
  // 16-wide loops plus a tail of 9 (4-lane and scalar steps).
  [
    'contiguous',
    [4105],
    [
      [[1], 0, 4105],
      [[1], 0, 4105],
      [[1], 0, 4105],
    ],
  ],
  [
    'contiguous + scalar',
    [3001],
    [
      [[1], 0, 3001],
      [[1], 0, 3001],
      [[0], 2, 3],
    ],
  ],
  [
    'scalar + contiguous',
    [3001],
    [
      [[0], 1, 2],
      [[0], 1, 2],
      [[1], 0, 3001],
    ],
  ],
  [
    'matrix + row broadcast',
    [37, 65],
    [
      [[65, 1], 0, 37 * 65],
      [[0, 1], 3, 70],
      [[65, 1], 0, 37 * 65],
    ],
  ],
  [
    'matrix + column broadcast',
    [37, 65],
    [
      [[1, 0], 0, 37],
      [[65, 1], 0, 37 * 65],
      [[1, 0], 0, 37],
    ],
  ],
  [
    'transposed + contiguous',
    [40, 51],
    [
      [[1, 40], 0, 40 * 51],
      [[1, 40], 0, 40 * 51],
      [[51, 1], 0, 40 * 51],
    ],
  ],
  [
    '4-d permuted + offset',
    [3, 5, 7, 9],
    [
      [[5, 1, 135, 15], 2, 947],
      [[315, 63, 9, 1], 0, 945],
      [[5, 1, 135, 15], 2, 947],
    ],
  ],
  [
    'sparse (every 7th)',
    [900],
    [
      [[7], 1, 6400],
      [[7], 1, 6400],
      [[1], 0, 900],
    ],
  ],
  [
    'all scalars over a shape',
    [12, 11],
    [
      [[0, 0], 0, 1],
      [[0, 0], 0, 1],
      [[0, 0], 0, 1],
    ],
  ],
  [
    '0-d',
    [],
    [
      [[], 1, 2],
      [[], 1, 2],
      [[], 0, 1],
    ],
  ],
  [
    'empty',
    [4, 0, 3],
    [
      [[0, 3, 1], 0, 0],
      [[0, 3, 1], 0, 0],
      [[0, 3, 1], 0, 0],
    ],
  ],
];

const BACKENDS: [string, CpuBackend][] = [
  ['one thread', wasm],
  ['two threads', threaded],
];

describe.skipIf(info.path === 'js')(`wasm comparisons, where and concat (${info.path}) vs the JS kernels`, () => {
  for (const [name, shape, ops] of LAYOUTS) {
    const size = sizeOf(shape);
    for (const dtype of ['float32', 'int32'] as const) {
      it(`${COMPARE.join('/')} (${dtype}) on ${name} give the reference's bool output`, () => {
        const A = values(ops[0][2], 3, dtype);
        const B = values(ops[2][2], 5, dtype);
        // Equal pairs where the layouts line up, so eq/le/ge see true as well as false.
        for (let i = 0; i < Math.min(A.length, B.length); i += 3) B[i] = A[i];
        for (const op of COMPARE) {
          const want = read(
            js,
            js.kernels.binary(opView(js, A, dtype, shape, ops[0]), opView(js, B, dtype, shape, ops[2]), { op }),
            'bool',
            size,
          );
          for (const [which, be] of BACKENDS) {
            const got = read(
              be,
              be.kernels.binary(opView(be, A, dtype, shape, ops[0]), opView(be, B, dtype, shape, ops[2]), { op }),
              'bool',
              size,
            );
            expectSame(got, want, `${op} ${which}`);
          }
        }
      });

      it(`where (bool condition, ${dtype} branches) on ${name} selects the reference's values`, () => {
        const C = values(ops[0][2], 7, 'bool');
        const A = values(ops[1][2], 11, dtype);
        const B = values(ops[2][2], 13, dtype);
        const call = (be: CpuBackend) =>
          read(
            be,
            be.kernels.where(
              opView(be, C, 'bool', shape, ops[0]),
              opView(be, A, dtype, shape, ops[1]),
              opView(be, B, dtype, shape, ops[2]),
            ),
            dtype,
            size,
          );
        const want = call(js);
        for (const [which, be] of BACKENDS) expectSame(call(be), want, `where ${which}`);
      });
    }
  }

  it('comparisons on NaN: false except ne, on both sides, in the vector loops and the tail', () => {
    const n = 37;
    const A = new Float32Array(n).fill(Number.NaN);
    const B = Float32Array.from({ length: n }, (_, i) => (i % 2 ? Number.NaN : i));
    for (const op of COMPARE) {
      for (const [x, y] of [
        [A, B],
        [B, A],
      ]) {
        const got = read(
          wasm,
          wasm.kernels.binary(view(wasm, x, 'float32', [n], [1], 0), view(wasm, y, 'float32', [n], [1], 0), { op }),
          'bool',
          n,
        );
        expect(got, op).toEqual(new Array<number>(n).fill(op === 'ne' ? 1 : 0));
      }
    }
  });

  it('where copies the taken value exactly (NaN, -0, infinities) and never the other branch', () => {
    const n = 41;
    const C = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const A = Float32Array.from({ length: n }, (_, i) =>
      i % 3 === 0 ? [-0, Number.NEGATIVE_INFINITY, Number.NaN][(i % 9) / 3] : Number.NaN,
    );
    const got = read(
      wasm,
      wasm.kernels.where(
        view(wasm, C, 'bool', [n], [1], 0),
        view(wasm, A, 'float32', [n], [1], 0),
        view(wasm, Float32Array.of(-0), 'float32', [n], [0], 0),
      ),
      'float32',
      n,
    );
    const want = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? [-0, Number.NEGATIVE_INFINITY, Number.NaN][(i % 9) / 3] : -0));
    expectSame(got, want, 'where');
  });

  it('bool operands stay on the JS kernels and are still right (comparison, where branches)', () => {
    const n = 50;
    const A = values(n, 17, 'bool');
    const B = values(n, 19, 'bool');
    const C = values(n, 23, 'bool');
    for (const op of COMPARE) {
      const want = read(js, js.kernels.binary(view(js, A, 'bool', [n], [1], 0), view(js, B, 'bool', [n], [1], 0), { op }), 'bool', n);
      const got = read(
        wasm,
        wasm.kernels.binary(view(wasm, A, 'bool', [n], [1], 0), view(wasm, B, 'bool', [n], [1], 0), { op }),
        'bool',
        n,
      );
      expectSame(got, want, op);
    }
    const call = (be: CpuBackend) =>
      read(
        be,
        be.kernels.where(view(be, C, 'bool', [n], [1], 0), view(be, A, 'bool', [n], [1], 0), view(be, B, 'bool', [n], [1], 0)),
        'bool',
        n,
      );
    expectSame(call(wasm), call(js), 'where (bool branches)');
  });

  /** [name, axis, inputs as [shape, strides, offset, buffer length]] */
  const CONCATS: [string, number, [number[], number[], number, number][]][] = [
    [
      'two matrices side by side (a bidirectional RNN output)',
      1,
      [
        [[75, 256], [256, 1], 0, 75 * 256],
        [[75, 256], [256, 1], 0, 75 * 256],
      ],
    ],
    [
      'three weight blocks along axis 0',
      0,
      [
        [[64, 33], [33, 1], 0, 64 * 33],
        [[64, 33], [33, 1], 5, 64 * 33 + 5],
        [[1, 33], [33, 1], 0, 33],
      ],
    ],
    [
      'a transposed, a broadcast and an offset input, an empty one',
      1,
      [
        [[9, 13], [1, 9], 0, 117],
        [[9, 0], [1, 1], 0, 0],
        [[9, 4], [0, 1], 3, 7],
        [[9, 21], [21, 1], 2, 9 * 21 + 2],
      ],
    ],
    [
      'a sparse 3-d input in the middle axis',
      1,
      [
        [[4, 3, 50], [150, 50, 1], 0, 600],
        [[4, 5, 50], [1000, 200, 4], 1, 4001],
      ],
    ],
    [
      '1-d runs',
      0,
      [
        [[1000], [1], 0, 1000],
        [[37], [1], 3, 40],
        [[0], [1], 0, 0],
      ],
    ],
  ];
  for (const [name, axis, inputs] of CONCATS) {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      it(`concat (${dtype}): ${name}`, () => {
        const shape = [...inputs[0][0]];
        shape[axis] = inputs.reduce((s, [sh]) => s + sh[axis], 0);
        const size = sizeOf(shape);
        const datas = inputs.map(([, , , len], i) => values(len, 29 + i, dtype));
        const call = (be: CpuBackend) =>
          read(
            be,
            be.kernels.concat(
              inputs.map(([sh, st, off], i) => view(be, datas[i], dtype, sh, st, off)),
              { axis },
            ),
            dtype,
            size,
          );
        const want = call(js);
        expect(want.length).toBe(size);
        for (const [which, be] of BACKENDS) expectSame(call(be), want, `concat ${which}`);
      });
    }
  }

  it('concat of one contiguous input is a copy, not an alias of it', () => {
    const A = values(2000, 31, 'float32');
    const a = view(wasm, A, 'float32', [2000], [1], 0);
    const id = wasm.kernels.concat([a], { axis: 0 });
    expect(id).not.toBe(a.dataId);
    expectSame(read(wasm, id, 'float32', 2000), Array.from(A), 'copy');
    expectSame(read(wasm, a.dataId, 'float32', 2000), Array.from(A), 'input untouched');
  });

  it('a non-resident backend (copies in and out) gives the same comparisons, where and concat', () => {
    const be = createCpuBackend({ threads: 1, thresholds: zero, residentStorage: false });
    try {
      const n = 2051;
      const A = values(n, 37, 'float32');
      const B = values(n, 41, 'float32');
      const C = values(n, 43, 'bool');
      const cmp = (b: CpuBackend) =>
        read(b, b.kernels.binary(view(b, A, 'float32', [n], [1], 0), view(b, B, 'float32', [n], [1], 0), { op: 'le' }), 'bool', n);
      expectSame(cmp(be), cmp(js), 'le');
      const sel = (b: CpuBackend) =>
        read(
          b,
          b.kernels.where(view(b, C, 'bool', [n], [1], 0), view(b, A, 'float32', [n], [1], 0), view(b, B, 'float32', [n], [1], 0)),
          'float32',
          n,
        );
      expectSame(sel(be), sel(js), 'where');
      const cat = (b: CpuBackend) =>
        read(b, b.kernels.concat([view(b, A, 'float32', [n], [1], 0), view(b, B, 'float32', [n], [1], 0)], { axis: 0 }), 'float32', 2 * n);
      expectSame(cat(be), cat(js), 'concat');
    } finally {
      be.dispose();
    }
  });
});
