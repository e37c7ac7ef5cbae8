/**
 * Direct kernel tests for the CPU backend: upload → kernel → readSync, no core ops
 * involved. Expected values are hand-worked or PyTorch 1.13 (float32) results pasted as
 * literals; each layout family (transposed, offset, stride-0 broadcast, empty, 0-d,
 * size-1 dims with odd strides) is exercised per kernel.
 */
import {
  collapseLayout,
  type BinaryOp,
  type DType,
  type DataId,
  type Shape,
  type TensorView,
  FUSED_KERNELS,
  KERNEL_CONTRACT_VERSION,
  PRIMITIVE_KERNELS,
  contiguousStrides,
  findBackend,
  listBackends,
  sizeOf,
} from '@ghostflow/core';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/cpu-backend.js';
import { VERSION } from '../src/index.js';
import { erf, erfc } from '../src/math.js';
import { stridedOffsets } from '../src/strided.js';

const be = createCpuBackend();
const K = be.kernels;
const N = Number.NaN;
const I = Number.POSITIVE_INFINITY;

const live: DataId[] = [];
afterEach(() => {
  for (const id of live.splice(0)) be.disposeData(id);
});

function own(id: DataId): DataId {
  live.push(id);
  return id;
}

function buf(values: readonly number[], dtype: DType = 'float32'): DataId {
  const arr = dtype === 'float32' ? new Float32Array(values) : dtype === 'int32' ? new Int32Array(values) : new Uint8Array(values);
  return own(be.upload(arr, dtype));
}

/** A contiguous view of row-major `values`. */
function t(values: readonly number[], shape: Shape, dtype: DType = 'float32'): TensorView {
  return { dataId: buf(values, dtype), dtype, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** A view over raw buffer contents with explicit strides and offset. */
function raw(phys: readonly number[], shape: Shape, strides: readonly number[], dtype: DType = 'float32', offset = 0): TensorView {
  return { dataId: buf(phys, dtype), dtype, shape, strides, offset };
}

/** `values` (row-major, 2-d `[r, c]`) stored transposed: the column-major view a `.t()` gives. */
function colMajor(values: readonly number[], r: number, c: number, dtype: DType = 'float32'): TensorView {
  const phys = new Array<number>(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) phys[j * r + i] = values[i * c + j];
  return raw(phys, [r, c], [1, r], dtype);
}

function read(id: DataId, dtype: DType, size: number): number[] {
  own(id);
  const sync = be.readSync;
  if (!sync) throw new Error('cpu backend must have readSync');
  return Array.from(sync.call(be, id, dtype, size));
}

function out(id: DataId, shape: Shape, dtype: DType = 'float32'): TensorView {
  own(id);
  return { dataId: id, dtype, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** Asserts values: NaN matches NaN, infinities and non-float dtypes exactly. */
function check(id: DataId, dtype: DType, want: readonly number[], tol = 1e-6): void {
  const got = read(id, dtype, want.length);
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i];
    const ok = Number.isNaN(w)
      ? Number.isNaN(g)
      : !Number.isFinite(w) || dtype !== 'float32'
        ? g === w
        : Math.abs(g - w) <= tol + tol * Math.abs(w);
    if (!ok) expect.fail(`element ${i}: got ${g}, expected ${w}\n got: [${got.join(', ')}]\nwant: [${want.join(', ')}]`);
  });
}

const f32 = Math.fround;

describe('backend object', () => {
  it('declares name, contract version, every primitive and every fused kernel', () => {
    expect(be.name).toBe('cpu');
    expect(be.contractVersion).toBe(KERNEL_CONTRACT_VERSION);
    for (const k of PRIMITIVE_KERNELS) expect(typeof be.kernels[k], k).toBe('function');
    for (const k of FUSED_KERNELS) expect(typeof be.fused[k], k).toBe('function');
  });

  it('registers itself as cpu on import, with the package version', () => {
    expect(listBackends()).toContain('cpu');
    expect(findBackend('cpu').name).toBe('cpu');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('upload copies; read and readSync return copies the caller owns', async () => {
    const src = new Int32Array([1, 2, 3]);
    const id = own(be.upload(src, 'int32'));
    src[0] = 99;
    const a = await be.read(id, 'int32', 3);
    expect(a).toBeInstanceOf(Int32Array);
    expect(Array.from(a)).toEqual([1, 2, 3]);
    a[1] = -1;
    const b = be.readSync?.(id, 'int32', 3) as Int32Array;
    expect(Array.from(b)).toEqual([1, 2, 3]);
    b[2] = -1;
    expect(Array.from(await be.read(id, 'int32', 2))).toEqual([1, 2]);
    expect(be.readSync?.(buf([1, 0], 'bool'), 'bool', 2)).toBeInstanceOf(Uint8Array);
  });

  it('memory() counts buffers and bytes, peak and monotonic total', () => {
    const fresh = createCpuBackend();
    expect(fresh.memory()).toEqual({ buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 });
    const a = fresh.upload(new Float32Array(10), 'float32');
    const b = fresh.kernels.fill({ shape: [3], dtype: 'bool', value: 1 });
    expect(fresh.memory()).toEqual({ buffers: 2, bytes: 43, bytesAllocatedTotal: 43, peakBytes: 43 });
    fresh.disposeData(a);
    expect(fresh.memory()).toEqual({ buffers: 1, bytes: 3, bytesAllocatedTotal: 43, peakBytes: 43 });
    const [o, m, r] =
      fresh.fused.layerNorm?.(
        { dataId: fresh.upload(new Float32Array(4), 'float32'), dtype: 'float32', shape: [2, 2], strides: [2, 1], offset: 0 },
        null,
        null,
        { normalizedSize: 2, eps: 1e-5 },
      ) ?? [];
    expect(fresh.memory().buffers).toBe(5);
    for (const id of [b, o, m, r]) fresh.disposeData(id as DataId);
    expect(fresh.memory().buffers).toBe(1);
    expect(fresh.memory().peakBytes).toBe(43 + 16 + 16 + 8 + 8 - 40);
  });

  it('disposing twice and using a disposed or foreign handle throw clear internal errors', () => {
    const fresh = createCpuBackend();
    const id = fresh.upload(new Float32Array([1]), 'float32');
    fresh.disposeData(id);
    expect(() => fresh.disposeData(id)).toThrow(/called twice/);
    expect(() => fresh.readSync?.(id, 'float32', 1)).toThrow(/already disposed/);
    expect(() => fresh.kernels.unary({ dataId: id, dtype: 'float32', shape: [1], strides: [1], offset: 0 }, { op: 'neg' })).toThrow(
      /already disposed/,
    );
    expect(() => fresh.disposeData({})).toThrow(/did not create/);
    expect(fresh.memory().buffers).toBe(0);
  });

  it('a kernel can be replaced individually (the seam for WebAssembly kernels)', () => {
    let calls = 0;
    const custom = createCpuBackend({
      kernels: {
        fill: (store, attrs) => {
          calls++;
          const o = store.alloc(attrs.dtype, sizeOf(attrs.shape));
          (o.data as Float32Array).fill(42);
          return o;
        },
      },
    });
    const id = custom.kernels.fill({ shape: [2], dtype: 'float32', value: 0 });
    expect(Array.from(custom.readSync?.(id, 'float32', 2) ?? [])).toEqual([42, 42]);
    expect(calls).toBe(1);
    const n = custom.kernels.unary({ dataId: id, dtype: 'float32', shape: [2], strides: [1], offset: 0 }, { op: 'neg' });
    expect(Array.from(custom.readSync?.(n, 'float32', 2) ?? [])).toEqual([-42, -42]);
  });
});

describe('strided helper', () => {
  it('walks transposed, offset, broadcast, empty, 0-d and size-1 layouts in row-major order', () => {
    expect(Array.from(stridedOffsets([2, 3], [1, 2], 0))).toEqual([0, 2, 4, 1, 3, 5]);
    expect(Array.from(stridedOffsets([2, 3], [3, 1], 5))).toEqual([5, 6, 7, 8, 9, 10]);
    expect(Array.from(stridedOffsets([2, 2], [0, 1], 1))).toEqual([1, 2, 1, 2]);
    expect(Array.from(stridedOffsets([2, 0, 3], [0, 3, 1], 0))).toEqual([]);
    expect(Array.from(stridedOffsets([], [], 7))).toEqual([7]);
    expect(Array.from(stridedOffsets([1, 3, 1], [99, 2, 99], 1))).toEqual([1, 3, 5]);
    expect(Array.from(stridedOffsets([2, 2, 2], [1, 4, 2], 0))).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
  });

  it('collapses contiguous runs and drops size-1 dims', () => {
    expect(collapseLayout([2, 3, 4], [12, 4, 1])).toEqual({ shape: [24], strides: [1] });
    expect(collapseLayout([2, 1, 3], [0, 5, 0])).toEqual({ shape: [6], strides: [0] });
    expect(collapseLayout([2, 3], [1, 2])).toEqual({ shape: [2, 3], strides: [1, 2] });
  });
});

describe('erf (float64)', () => {
  it('matches Python math.erf / math.erfc to ~1e-11 relative', () => {
    const xs = [-5.5, -3.2, -2.9, -1.0, -1e-9, 0.3, 0.84375, 1.25, 2.0, 2.9999, 3.0, 4.5, 5.9];
    const want = [
      -0.9999999999999927, -0.9999939742388483, -0.9999589021219005, -0.8427007929497149, -1.1283791670955127e-9, 0.3286267594591274,
      0.7672256612323416, 0.9229001282564582, 0.9953222650189527, 0.9999778955735178, 0.9999779095030014, 0.9999999998033839,
      0.9999999999999999,
    ];
    xs.forEach((x, i) => expect(Math.abs(erf(x) - want[i])).toBeLessThanOrEqual(1e-15 * Math.abs(want[i]) + 1e-17));
    const cx = [3.5, 5.0, 10.0, 20.0, -2.0];
    const cw = [7.430983723414128e-7, 1.5374597944280351e-12, 2.088487583762545e-45, 5.3958656116079005e-176, 1.9953222650189528];
    cx.forEach((x, i) => expect(Math.abs(erfc(x) - cw[i]) / cw[i]).toBeLessThan(1e-11));
    expect(erf(N)).toBeNaN();
    expect(erf(I)).toBe(1);
    expect(erf(-I)).toBe(-1);
  });
});

describe('unary', () => {
  const X = [-6, -3, -1.5, -0.5, 0, 0.25, 1, 2.5, 4];
  const torchRef: Record<string, number[]> = {
    erf: [
      -1.0, -0.9999778866767883, -0.9661051630973816, -0.5204998850822449, 0.0, 0.27632638812065125, 0.8427007794380188, 0.9995930194854736,
      1.0,
    ],
    gelu: [
      0.0, -0.004049867391586304, -0.10021086037158966, -0.1542687863111496, 0.0, 0.14967656135559082, 0.8413447141647339, 2.48447585105896,
      3.999873161315918,
    ],
    geluTanh: [
      -0.0, -0.0036374330520629883, -0.10042843222618103, -0.1542859971523285, 0.0, 0.14967535436153412, 0.8411920070648193,
      2.4849157333374023, 3.999929904937744,
    ],
    silu: [
      -0.014835738576948643, -0.14227761328220367, -0.2736382782459259, -0.1887703388929367, 0.0, 0.140544131398201, 0.7310585975646973,
      2.310354471206665, 3.9280550479888916,
    ],
  };
  for (const [op, want] of Object.entries(torchRef)) {
    it(`${op} matches PyTorch`, () => {
      check(K.unary(t(X, [9]), { op: op as 'erf' }), 'float32', want, 1e-6);
    });
  }

  it('sigmoid and softplus are stable for large |x|', () => {
    check(K.unary(t([-100, -20, 0, 20, 100], [5]), { op: 'sigmoid' }), 'float32', [0, 2.06115369216775e-9, 0.5, 1, 1]);
    check(
      K.unary(t([-100, -20, 0, 1, 20, 100], [6]), { op: 'softplus' }),
      'float32',
      [3.783505853677006e-44, 2.06115369216775e-9, 0.6931471824645996, 1.31326162815094, 20, 100],
      1e-7,
    );
    check(K.unary(t([-1000, 1000, N], [3]), { op: 'sigmoid' }), 'float32', [0, 1, N]);
  });

  it('round is half to even; sign(0) = sign(-0) = sign(NaN) = 0; relu keeps NaN', () => {
    check(K.unary(t([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.7], [8]), { op: 'round' }), 'float32', [-2, -2, -0, 0, 2, 2, 4, -4]);
    expect(Object.is(read(K.unary(t([-0.5], [1]), { op: 'round' }), 'float32', 1)[0], -0)).toBe(true);
    check(K.unary(t([0, -0, N, -3, 2], [5]), { op: 'sign' }), 'float32', [0, 0, 0, -1, 1]);
    check(K.unary(t([N, -1, -0, 2], [4]), { op: 'relu' }), 'float32', [N, 0, 0, 2]);
  });

  it('special values follow IEEE / PyTorch', () => {
    const v = [N, I, -I];
    check(K.unary(t(v, [3]), { op: 'rsqrt' }), 'float32', [N, 0, N]);
    check(K.unary(t([0, -0], [2]), { op: 'rsqrt' }), 'float32', [I, -I]);
    check(K.unary(t(v, [3]), { op: 'reciprocal' }), 'float32', [N, 0, -0]);
    check(K.unary(t(v, [3]), { op: 'log1p' }), 'float32', [N, I, N]);
    check(K.unary(t(v, [3]), { op: 'expm1' }), 'float32', [N, I, -1]);
    check(K.unary(t(v, [3]), { op: 'softplus' }), 'float32', [N, I, 0]);
    check(K.unary(t(v, [3]), { op: 'tanh' }), 'float32', [N, 1, -1]);
    check(K.unary(t(v, [3]), { op: 'gelu' }), 'float32', [N, I, N]);
  });

  it('float32 results are rounded once from float64', () => {
    check(K.unary(t([1], [1]), { op: 'exp' }), 'float32', [f32(Math.E)], 0);
    check(K.unary(t([0.1], [1]), { op: 'sqrt' }), 'float32', [f32(Math.sqrt(f32(0.1)))], 0);
  });

  it('int32: neg/abs wrap at -2^31, sign, rounding ops are identity', () => {
    const x = t([-2147483648, -7, 0, 5], [4], 'int32');
    check(K.unary(x, { op: 'neg' }), 'int32', [-2147483648, 7, 0, -5]);
    check(K.unary(x, { op: 'abs' }), 'int32', [-2147483648, 7, 0, 5]);
    check(K.unary(x, { op: 'sign' }), 'int32', [-1, -1, 0, 1]);
    check(K.unary(x, { op: 'relu' }), 'int32', [0, 0, 0, 5]);
    for (const op of ['floor', 'ceil', 'round', 'identity'] as const) check(K.unary(x, { op }), 'int32', [-2147483648, -7, 0, 5]);
  });

  it('bool: logicalNot and identity', () => {
    const b = t([1, 0, 0, 1], [4], 'bool');
    check(K.unary(b, { op: 'logicalNot' }), 'bool', [0, 1, 1, 0]);
    check(K.unary(b, { op: 'identity' }), 'bool', [1, 0, 0, 1]);
  });

  it('logicalNot returns bool from any dtype', () => {
    const id = K.unary(t([0, 2.5, N], [3]), { op: 'logicalNot' });
    expect(be.readSync?.(own(id), 'bool', 3)).toEqual(new Uint8Array([1, 0, 0]));
  });

  it('honours transposed, offset, broadcast, empty, 0-d and size-1 layouts', () => {
    check(K.unary(colMajor([1, 2, 3, 4, 5, 6], 2, 3), { op: 'neg' }), 'float32', [-1, -2, -3, -4, -5, -6]);
    check(K.unary(raw([9, 9, 1, 9, 2, 9, 3], [3], [2], 'int32', 2), { op: 'neg' }), 'int32', [-1, -2, -3]);
    check(K.unary(raw([1, 2], [2, 3], [1, 0]), { op: 'abs' }), 'float32', [1, 1, 1, 2, 2, 2]);
    check(K.unary(raw([0, 1, 0], [2, 3], [0, 1], 'bool'), { op: 'logicalNot' }), 'bool', [1, 0, 1, 1, 0, 1]);
    check(K.unary(t([], [0, 4]), { op: 'exp' }), 'float32', []);
    check(K.unary(raw([1, 2, 3], [], [], 'float32', 2), { op: 'neg' }), 'float32', [-3]);
    check(K.unary(raw([4, 5, 6], [1, 3, 1], [77, 1, 77]), { op: 'sqrt' }), 'float32', [2, Math.sqrt(5), Math.sqrt(6)]);
  });
});

describe('binary', () => {
  it('float arithmetic with row / column / scalar broadcast', () => {
    const a = t([1, 2, 3, 4, 5, 6], [2, 3]);
    check(K.binary(a, raw([10, 20, 30], [2, 3], [0, 1]), { op: 'add' }), 'float32', [11, 22, 33, 14, 25, 36]);
    check(K.binary(raw([100, 200], [2, 3], [1, 0]), a, { op: 'sub' }), 'float32', [99, 98, 97, 196, 195, 194]);
    check(K.binary(a, raw([0, 4], [2, 3], [0, 0], 'float32', 1), { op: 'div' }), 'float32', [0.25, 0.5, 0.75, 1, 1.25, 1.5]);
    check(K.binary(colMajor([1, 2, 3, 4, 5, 6], 2, 3), a, { op: 'mul' }), 'float32', [1, 4, 9, 16, 25, 36]);
    check(K.binary(t([1, -1, 0], [3]), t([0, 0, 0], [3]), { op: 'div' }), 'float32', [I, -I, N]);
  });

  it('a scalar (all strides 0) on either side, strided other side, int32 wrap and bool results', () => {
    const s7 = raw([9, 7], [2, 3], [0, 0], 'float32', 1);
    check(K.binary(s7, colMajor([1, 2, 3, 4, 5, 6], 2, 3), { op: 'sub' }), 'float32', [6, 5, 4, 3, 2, 1]);
    check(K.binary(s7, t([1, 7, 9], [3]), { op: 'lt' }), 'bool', [0, 0, 1]);
    check(K.binary(t([1, 7, 9], [3]), raw([7], [3], [0]), { op: 'ge' }), 'bool', [0, 1, 1]);
    const big = raw([65536], [2], [0], 'int32');
    check(K.binary(t([65536, -3], [2], 'int32'), big, { op: 'mul' }), 'int32', [0, -196608]);
    check(K.binary(big, t([2147418112, 1], [2], 'int32'), { op: 'add' }), 'int32', [-2147483648, 65537]);
    check(K.binary(raw([1], [2], [0], 'bool'), t([0, 1], [2], 'bool'), { op: 'add' }), 'bool', [1, 1]);
    check(K.binary(raw([4], [1, 0], [0, 0]), t([], [1, 0]), { op: 'add' }), 'float32', []);
  });

  it('float32 rounding: 0.1 + 0.2 rounds once to float32', () => {
    check(K.binary(t([0.1], [1]), t([0.2], [1]), { op: 'add' }), 'float32', [f32(f32(0.1) + f32(0.2))], 0);
  });

  it('maximum / minimum propagate NaN', () => {
    const a = t([1, N, 3, N, -I], [5]);
    const b = t([2, 1, N, N, 0], [5]);
    check(K.binary(a, b, { op: 'maximum' }), 'float32', [2, N, N, N, 0]);
    check(K.binary(a, b, { op: 'minimum' }), 'float32', [1, N, N, N, -I]);
  });

  it('pow follows C on special values and is accurate', () => {
    check(K.binary(t([1, N, -1, 2, -8, 0, 0], [7]), t([N, 0, I, 0.5, 3, -1, 0], [7]), { op: 'pow' }), 'float32', [
      1,
      1,
      1,
      Math.SQRT2,
      -512,
      I,
      1,
    ]);
  });

  it('comparisons return bool and treat NaN like IEEE', () => {
    const a = t([1, 2, N, 3, -0], [5]);
    const b = t([1, 3, N, 2, 0], [5]);
    const want: Partial<Record<BinaryOp, number[]>> = {
      eq: [1, 0, 0, 0, 1],
      ne: [0, 1, 1, 1, 0],
      lt: [0, 1, 0, 0, 0],
      le: [1, 1, 0, 0, 1],
      gt: [0, 0, 0, 1, 0],
      ge: [1, 0, 0, 1, 1],
    };
    for (const [op, w] of Object.entries(want)) {
      const id = K.binary(a, b, { op: op as BinaryOp });
      expect(be.readSync?.(id, 'bool', 5)).toBeInstanceOf(Uint8Array);
      check(id, 'bool', w);
    }
  });

  it('int32 wraps like Int32Array (PyTorch values)', () => {
    const a = t([2147483647, -2147483648, 100000, 7], [4], 'int32');
    const b = t([1, -1, 100000, -3], [4], 'int32');
    check(K.binary(a, b, { op: 'add' }), 'int32', [-2147483648, 2147483647, 200000, 4]);
    check(K.binary(a, b, { op: 'sub' }), 'int32', [2147483646, -2147483647, 0, 10]);
    check(K.binary(a, b, { op: 'mul' }), 'int32', [2147483647, -2147483648, 1410065408, -21]);
    check(K.binary(a, b, { op: 'maximum' }), 'int32', [2147483647, -1, 100000, 7]);
    check(
      K.binary(t([3, -2, 7, 0, 5], [5], 'int32'), t([25, 31, 0, 0, 14], [5], 'int32'), { op: 'pow' }),
      'int32',
      [1180052131, -2147483648, 1, 1, 1808548329],
    );
    check(K.binary(a, b, { op: 'lt' }), 'bool', [0, 1, 0, 0]);
  });

  it('logical ops on bool, including a broadcast operand', () => {
    const a = t([0, 0, 1, 1], [4], 'bool');
    const b = t([0, 1, 0, 1], [4], 'bool');
    check(K.binary(a, b, { op: 'logicalAnd' }), 'bool', [0, 0, 0, 1]);
    check(K.binary(a, b, { op: 'logicalOr' }), 'bool', [0, 1, 1, 1]);
    check(K.binary(a, b, { op: 'logicalXor' }), 'bool', [0, 1, 1, 0]);
    check(K.binary(a, raw([1], [4], [0], 'bool'), { op: 'logicalXor' }), 'bool', [1, 1, 0, 0]);
  });

  it('bool arithmetic stays 0/1', () => {
    check(K.binary(t([1, 1, 0], [3], 'bool'), t([1, 0, 0], [3], 'bool'), { op: 'add' }), 'bool', [1, 1, 0]);
  });

  it('handles empty, 0-d with offset and size-1 dims', () => {
    check(K.binary(t([], [0, 3]), t([], [0, 3]), { op: 'add' }), 'float32', []);
    check(K.binary(raw([0, 6], [], [], 'float32', 1), t([4], []), { op: 'div' }), 'float32', [1.5]);
    check(K.binary(raw([1, 2], [2, 1], [1, 9]), raw([3, 4], [2, 1], [1, 0]), { op: 'mul' }), 'float32', [3, 8]);
  });
});

describe('cast', () => {
  it('float → int32 truncates toward zero; → bool is x != 0 (NaN is true)', () => {
    check(K.cast(t([-2.7, -0.5, 0.5, 2.7, 1e6 + 0.5], [5]), { dtype: 'int32' }), 'int32', [-2, 0, 0, 2, 1000000]);
    check(K.cast(t([0, -0, 0.1, N, -I], [5]), { dtype: 'bool' }), 'bool', [0, 0, 1, 1, 1]);
  });

  it('int32 → float32 rounds to float32; bool → numbers is 0/1; int → bool', () => {
    check(K.cast(t([16777217, -3], [2], 'int32'), { dtype: 'float32' }), 'float32', [16777216, -3], 0);
    check(K.cast(t([1, 0, 1], [3], 'bool'), { dtype: 'int32' }), 'int32', [1, 0, 1]);
    check(K.cast(t([1, 0, 1], [3], 'bool'), { dtype: 'float32' }), 'float32', [1, 0, 1]);
    check(K.cast(t([0, -5, 7], [3], 'int32'), { dtype: 'bool' }), 'bool', [0, 1, 1]);
  });

  it('honours transposed, broadcast, empty and 0-d inputs', () => {
    check(K.cast(colMajor([1.5, -1.5, 2.9, -2.9], 2, 2), { dtype: 'int32' }), 'int32', [1, -1, 2, -2]);
    check(K.cast(raw([0, 3], [2, 2], [1, 0], 'int32'), { dtype: 'bool' }), 'bool', [0, 0, 1, 1]);
    check(K.cast(t([], [0]), { dtype: 'bool' }), 'bool', []);
    check(K.cast(raw([1, 2, -3.5], [], [], 'float32', 2), { dtype: 'int32' }), 'int32', [-3]);
  });
});

describe('where', () => {
  it('selects without leaking NaN from the other branch; every dtype', () => {
    const c = t([0, 1, 1, 0], [4], 'bool');
    check(K.where(c, t([N, 1, I, 2], [4]), t([5, N, 3, -I], [4])), 'float32', [5, 1, I, -I]);
    check(K.where(c, t([1, 2, 3, 4], [4], 'int32'), t([-1, -2, -3, -4], [4], 'int32')), 'int32', [-1, 2, 3, -4]);
    check(K.where(c, t([1, 1, 1, 1], [4], 'bool'), t([0, 0, 0, 0], [4], 'bool')), 'bool', [0, 1, 1, 0]);
  });

  it('honours broadcast cond/branches, transposed inputs, empty and 0-d', () => {
    check(
      K.where(raw([1, 0, 1], [2, 3], [0, 1], 'bool'), raw([7], [2, 3], [0, 0]), raw([10, 20], [2, 3], [1, 0])),
      'float32',
      [7, 10, 7, 7, 20, 7],
    );
    check(
      K.where(colMajor([1, 0, 0, 1], 2, 2, 'bool'), colMajor([1, 2, 3, 4], 2, 2), t([-1, -2, -3, -4], [2, 2])),
      'float32',
      [1, -2, -3, 4],
    );
    check(K.where(t([], [0], 'bool'), t([], [0]), t([], [0])), 'float32', []);
    check(K.where(t([0], [], 'bool'), t([1], [], 'int32'), raw([9, 2], [], [], 'int32', 1)), 'int32', [2]);
  });
});

describe('reduce', () => {
  it('sums over leading axes (bias gradients) in float64, as the general walk does', () => {
    // Column 0 cancels only with a float64 accumulator (float32 loses the 1 beside 1e8).
    const x = t([1e8, 2, 1, 3, -1e8, 4, 0.5, 5], [4, 2]);
    check(K.reduce(x, { op: 'sum', axes: [0] }), 'float32', [1.5, 14]);
    // Leading two of three axes, at an offset into the buffer.
    const v = raw([9, 9, 1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], [4, 2, 1], 'float32', 2);
    check(K.reduce(v, { op: 'sum', axes: [0, 1] }), 'float32', [16, 20]);
  });
  const X = [1, 2, 3, 4, 5, 6];

  it('sum / prod / max / min over each axis, both, and none', () => {
    const x = t(X, [2, 3]);
    check(K.reduce(x, { op: 'sum', axes: [0] }), 'float32', [5, 7, 9]);
    check(K.reduce(x, { op: 'sum', axes: [1] }), 'float32', [6, 15]);
    check(K.reduce(x, { op: 'sum', axes: [0, 1] }), 'float32', [21]);
    check(K.reduce(x, { op: 'prod', axes: [1] }), 'float32', [6, 120]);
    check(K.reduce(x, { op: 'max', axes: [0] }), 'float32', [4, 5, 6]);
    check(K.reduce(x, { op: 'min', axes: [1] }), 'float32', [1, 4]);
    check(K.reduce(colMajor(X, 2, 3), { op: 'sum', axes: [] }), 'float32', X);
  });

  it('non-adjacent axes of a permuted 3-d view', () => {
    // logical [2, 3, 2] over a buffer laid out as [2(k), 3(j), 2(i)]: strides [1, 2, 6]
    const logical = Array.from({ length: 12 }, (_, i) => i + 1);
    const phys = new Array<number>(12);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) phys[i + 2 * j + 6 * k] = logical[i * 6 + j * 2 + k];
    const v = raw(phys, [2, 3, 2], [1, 2, 6]);
    check(K.reduce(v, { op: 'sum', axes: [0, 2] }), 'float32', [18, 26, 34]);
    check(K.reduce(v, { op: 'max', axes: [0, 2] }), 'float32', [8, 10, 12]);
    check(K.reduce(v, { op: 'min', axes: [1] }), 'float32', [1, 2, 7, 8]);
  });

  it('propagates NaN in max/min/sum; -inf max stays -inf', () => {
    const x = t([1, N, 3, 4, 5, 6], [2, 3]);
    check(K.reduce(x, { op: 'max', axes: [0] }), 'float32', [4, N, 6]);
    check(K.reduce(x, { op: 'min', axes: [1] }), 'float32', [N, 4]);
    check(K.reduce(t([N, 5, 1], [3]), { op: 'max', axes: [0] }), 'float32', [N]);
    check(K.reduce(t([5, 1, N], [3]), { op: 'min', axes: [0] }), 'float32', [N]);
    check(K.reduce(x, { op: 'sum', axes: [1] }), 'float32', [N, 15]);
    check(K.reduce(t([-I, -I], [2]), { op: 'max', axes: [0] }), 'float32', [-I]);
  });

  it('identity over empty axes; nothing for empty kept dims', () => {
    check(K.reduce(t([], [2, 0]), { op: 'sum', axes: [1] }), 'float32', [0, 0]);
    check(K.reduce(t([], [2, 0]), { op: 'prod', axes: [1] }), 'float32', [1, 1]);
    check(K.reduce(t([], [2, 0]), { op: 'max', axes: [1] }), 'float32', [-I, -I]);
    check(K.reduce(t([], [2, 0]), { op: 'min', axes: [1] }), 'float32', [I, I]);
    check(K.reduce(t([], [2, 0], 'bool'), { op: 'any', axes: [1] }), 'bool', [0, 0]);
    check(K.reduce(t([], [2, 0], 'bool'), { op: 'all', axes: [1] }), 'bool', [1, 1]);
    check(K.reduce(t([], [0, 3]), { op: 'sum', axes: [1] }), 'float32', []);
    check(K.reduce(t([], [0], 'int32'), { op: 'sum', axes: [0] }), 'int32', [0]);
  });

  it('int32 sums and products wrap', () => {
    check(K.reduce(t([2147483647, 1, 5], [3], 'int32'), { op: 'sum', axes: [0] }), 'int32', [-2147483643]);
    check(K.reduce(t([65536, 65536, 3], [3], 'int32'), { op: 'prod', axes: [0] }), 'int32', [0]);
    check(K.reduce(t([100000, 100000], [2], 'int32'), { op: 'prod', axes: [0] }), 'int32', [1410065408]);
    check(K.reduce(t([3, -7, 2], [3], 'int32'), { op: 'min', axes: [0] }), 'int32', [-7]);
  });

  it('float32 sum accumulates in float64 (1e8 + 1 + 1 ... keeps the ones)', () => {
    check(K.reduce(t([1e8, 1, 1, 1, 1, -1e8], [6]), { op: 'sum', axes: [0] }), 'float32', [4], 0);
  });

  it('float32 sum over leading dims of a contiguous offset view: row-order float64 sums, rounded once', () => {
    // [6, 2, 3] at offset 2 of a larger buffer; summing dims 0 and 0-1 (a bias gradient's shape).
    const vals = Array.from({ length: 36 }, (_, i) => ((i * 7919) % 23) / 7 - 1.5);
    vals[0] = 1e8; // first row of column 0 ...
    vals[30] = -1e8; // ... and its last: the ones between must survive (float64 accumulation)
    for (let r = 1; r < 5; r++) vals[r * 6] = 1;
    const v = raw([9, 9, ...vals, 9], [6, 2, 3], [6, 3, 1], 'float32', 2);
    const f32 = Float32Array.from(vals);
    const want = (cols: number) =>
      Array.from({ length: cols }, (_, c) => {
        let acc = 0;
        for (let r = 0; r < 36 / cols; r++) acc += f32[r * cols + c];
        return Math.fround(acc);
      });
    expect(want(6)[0]).toBe(4);
    check(K.reduce(v, { op: 'sum', axes: [0] }), 'float32', want(6), 0);
    check(K.reduce(v, { op: 'sum', axes: [0, 1] }), 'float32', want(3), 0);
  });

  it('any / all on bool with strided and broadcast inputs; 0-d', () => {
    check(K.reduce(colMajor([0, 1, 0, 0, 0, 0], 2, 3, 'bool'), { op: 'any', axes: [1] }), 'bool', [1, 0]);
    check(K.reduce(t([1, 1, 1, 1, 0, 1], [2, 3], 'bool'), { op: 'all', axes: [0] }), 'bool', [1, 0, 1]);
    check(K.reduce(raw([1, 2], [2, 3], [1, 0]), { op: 'prod', axes: [1] }), 'float32', [1, 8]);
    check(K.reduce(raw([0, 0, 4], [], [], 'float32', 2), { op: 'sum', axes: [] }), 'float32', [4]);
    check(K.reduce(raw([0, 0, 4], [], [], 'float32', 2), { op: 'max', axes: [0] }), 'float32', [4]);
    check(K.reduce(raw([1, 2, 3], [1, 3, 1], [50, 1, 50]), { op: 'sum', axes: [0, 2] }), 'float32', [1, 2, 3]);
  });
});

describe('argReduce', () => {
  it('first occurrence on ties; NaN counts as the extreme (PyTorch values)', () => {
    const x = t([1, N, 5, N, 3, 3, 1, 1], [2, 4]);
    check(K.argReduce(x, { op: 'argmax', axis: 1 }), 'int32', [1, 0]);
    check(K.argReduce(x, { op: 'argmin', axis: 1 }), 'int32', [1, 2]);
    check(K.argReduce(t([N, 5], [2]), { op: 'argmin', axis: 0 }), 'int32', [0]);
    check(K.argReduce(t([-I, -I], [2]), { op: 'argmax', axis: 0 }), 'int32', [0]);
  });

  it('along axis 0 of a transposed view; int32; broadcast; empty kept dims; 0-size output', () => {
    check(K.argReduce(colMajor([1, 9, 3, 7, 2, 8], 2, 3), { op: 'argmax', axis: 0 }), 'int32', [1, 0, 1]);
    check(K.argReduce(colMajor([1, 9, 3, 7, 2, 8], 2, 3), { op: 'argmin', axis: 1 }), 'int32', [0, 1]);
    check(K.argReduce(t([3, -1, 3, -1], [4], 'int32'), { op: 'argmax', axis: 0 }), 'int32', [0]);
    check(K.argReduce(raw([4, 9, 2], [2, 3], [0, 1]), { op: 'argmin', axis: 0 }), 'int32', [0, 0, 0]);
    check(K.argReduce(t([], [0, 3]), { op: 'argmax', axis: 1 }), 'int32', []);
    check(K.argReduce(raw([0, 6], [1], [1], 'float32', 1), { op: 'argmax', axis: 0 }), 'int32', [0]);
    check(K.argReduce(raw([0, 6], [], [], 'float32', 1), { op: 'argmin', axis: 0 }), 'int32', [0]);
  });
});

describe('matmul', () => {
  const A = Array.from({ length: 12 }, (_, i) => i * 0.5 - 1); // [3, 4]
  const B = Array.from({ length: 20 }, (_, i) => i * 0.25 - 2); // [4, 5]
  const AB = [3.25, 3.0, 2.75, 2.5, 2.25, 2.25, 4.0, 5.75, 7.5, 9.25, 1.25, 5.0, 8.75, 12.5, 16.25];

  it('contiguous and transposed operands (PyTorch values)', () => {
    check(K.matmul(t(A, [3, 4]), t(B, [4, 5])), 'float32', AB);
    check(K.matmul(colMajor(A, 3, 4), t(B, [4, 5])), 'float32', AB);
    check(K.matmul(t(A, [3, 4]), colMajor(B, 4, 5)), 'float32', AB);
    check(K.matmul(colMajor(A, 3, 4), colMajor(B, 4, 5)), 'float32', AB);
  });

  it('batched with a stride-0 batch dim and an offset', () => {
    const a2 = raw([0, ...A], [2, 3, 4], [0, 4, 1], 'float32', 1);
    const b2 = t([...B, ...B.map((v) => 2 * v)], [2, 4, 5]);
    check(K.matmul(a2, b2), 'float32', [...AB, ...AB.map((v) => 2 * v)]);
    const a3 = t([...A, ...A.map((v) => -v)], [2, 1, 3, 4]);
    const b3 = raw(B, [2, 1, 4, 5], [0, 0, 5, 1]);
    check(K.matmul(a3, b3), 'float32', [...AB, ...AB.map((v) => -v)]);
  });

  it('K = 0 gives zeros; M = 0 and batch = 0 give nothing; 1x1', () => {
    check(K.matmul(t([], [2, 0]), t([], [0, 3])), 'float32', [0, 0, 0, 0, 0, 0]);
    check(K.matmul(t([], [0, 3]), t(B.slice(0, 6), [3, 2])), 'float32', []);
    check(K.matmul(t([], [0, 2, 3]), t([], [0, 3, 2])), 'float32', []);
    check(K.matmul(t([3], [1, 1]), t([-2], [1, 1])), 'float32', [-6]);
  });

  it('propagates NaN and inf (0 * inf is NaN, not skipped)', () => {
    check(K.matmul(t([0, 1], [1, 2]), t([I, 2], [2, 1])), 'float32', [N]);
    check(K.matmul(t([N, 1], [1, 2]), t([0, 2], [2, 1])), 'float32', [N]);
  });

  it('accumulates in float64 before rounding', () => {
    check(K.matmul(t([1e8, 1, 1, -1e8], [1, 4]), t([1, 1, 1, 1], [4, 1])), 'float32', [2], 0);
  });
});

describe('gather', () => {
  it('torch.gather examples along each axis; int32 and bool values', () => {
    const x = t([1, 2, 3, 4], [2, 2]);
    check(K.gather(x, t([0, 0, 1, 0], [2, 2], 'int32'), { axis: 1 }), 'float32', [1, 1, 4, 3]);
    check(K.gather(x, t([0, 1, 1, 0], [2, 2], 'int32'), { axis: 0 }), 'float32', [1, 4, 3, 2]);
    check(K.gather(t([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3], 'int32'), t([2, 0, 1], [1, 3], 'int32'), { axis: 0 }), 'int32', [7, 2, 6]);
    check(K.gather(t([1, 0, 0, 1], [2, 2], 'bool'), t([1, 0], [2, 1], 'int32'), { axis: 1 }), 'bool', [0, 0]);
  });

  it('honours transposed x, broadcast index, empty index, size-1 dims', () => {
    check(K.gather(colMajor([1, 2, 3, 4, 5, 6], 2, 3), t([2, 0, 1, 1], [2, 2], 'int32'), { axis: 1 }), 'float32', [3, 1, 5, 5]);
    check(K.gather(t([1, 2, 3, 4, 5, 6], [3, 2]), raw([1, 0], [3, 2], [0, 1], 'int32'), { axis: 1 }), 'float32', [2, 1, 4, 3, 6, 5]);
    check(K.gather(t([1, 2], [1, 2]), t([], [1, 0], 'int32'), { axis: 1 }), 'float32', []);
    check(K.gather(raw([7, 8, 9], [1, 3], [11, 1]), raw([2], [1, 1], [5, 5], 'int32'), { axis: 1 }), 'float32', [9]);
  });
});

describe('scatter', () => {
  it("'none' writes at index (torch example), leaving base untouched", () => {
    const base = t(new Array<number>(15).fill(0), [3, 5]);
    check(
      K.scatter(base, t([0, 1, 2, 0], [1, 4], 'int32'), t([1, 2, 3, 4], [1, 4]), { axis: 0, reduce: 'none' }),
      'float32',
      [1, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0],
    );
    check(base.dataId, 'float32', new Array<number>(15).fill(0));
    live.pop();
  });

  it("'add' accumulates repeated indices (float32 and int32, wrapping)", () => {
    const idx = t([0, 1, 2, 0, 0, 2, 0, 0, 1, 2], [2, 5], 'int32');
    check(
      K.scatter(t(new Array<number>(15).fill(0), [3, 5]), idx, t(new Array<number>(10).fill(1), [2, 5]), { axis: 0, reduce: 'add' }),
      'float32',
      [1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    );
    check(
      K.scatter(t([2147483647, 0], [2], 'int32'), t([0, 0], [2], 'int32'), t([1, 1], [2], 'int32'), { axis: 0, reduce: 'add' }),
      'int32',
      [-2147483647, 0],
    );
  });

  it('honours transposed base, broadcast src and index, empty index, bool add as or', () => {
    check(
      K.scatter(colMajor([1, 2, 3, 4, 5, 6], 2, 3), t([2, 0], [2, 1], 'int32'), t([10, 20], [2, 1]), { axis: 1, reduce: 'add' }),
      'float32',
      [1, 2, 13, 24, 5, 6],
    );
    check(
      K.scatter(t([0, 0, 0, 0, 0, 0], [2, 3]), raw([2, 0], [2, 2], [0, 1], 'int32'), raw([5], [2, 2], [0, 0]), { axis: 1, reduce: 'add' }),
      'float32',
      [5, 0, 5, 5, 0, 5],
    );
    check(K.scatter(t([1, 2], [1, 2]), t([], [1, 0], 'int32'), t([], [1, 0]), { axis: 1, reduce: 'none' }), 'float32', [1, 2]);
    // A broadcast scalar base (a one-hot gradient's zeros): every other element is that scalar.
    check(
      K.scatter(raw([9, -0.5], [2, 3], [0, 0], 'float32', 1), t([2, 0], [2, 1], 'int32'), t([10, 20], [2, 1]), { axis: 1, reduce: 'none' }),
      'float32',
      [-0.5, -0.5, 10, 20, -0.5, -0.5],
    );
    check(
      K.scatter(t([1, 0], [2], 'bool'), t([0, 1, 1], [3], 'int32'), t([1, 1, 1], [3], 'bool'), { axis: 0, reduce: 'add' }),
      'bool',
      [1, 1],
    );
  });
});

describe('cumsum', () => {
  it('along both axes of a transposed view (PyTorch values); NaN propagates', () => {
    const xt = colMajor([1, 4, 2, 5, 3, 6], 3, 2); // torch.tensor([[1,2,3],[4,5,6]]).t()
    check(K.cumsum(xt, { axis: 1 }), 'float32', [1, 5, 2, 7, 3, 9]);
    check(K.cumsum(xt, { axis: 0 }), 'float32', [1, 4, 3, 9, 6, 15]);
    check(K.cumsum(t([1, N, 2], [3]), { axis: 0 }), 'float32', [1, N, N]);
  });

  it('int32 wraps; broadcast input; empty; 0-d; size-1', () => {
    check(K.cumsum(t([2147483647, 1, 1], [3], 'int32'), { axis: 0 }), 'int32', [2147483647, -2147483648, -2147483647]);
    check(K.cumsum(raw([1, 2, 3], [2, 3], [0, 1]), { axis: 0 }), 'float32', [1, 2, 3, 2, 4, 6]);
    check(K.cumsum(t([], [0, 3]), { axis: 1 }), 'float32', []);
    check(K.cumsum(raw([4, 5], [], [], 'float32', 1), { axis: 0 }), 'float32', [5]);
    check(K.cumsum(raw([1, 2, 3], [1, 3, 1], [17, 1, 17]), { axis: 1 }), 'float32', [1, 3, 6]);
  });
});

describe('concat', () => {
  it('along axis 0 and 1, with transposed, broadcast and empty inputs', () => {
    check(K.concat([t([1, 2], [1, 2]), colMajor([3, 4, 5, 6], 2, 2)], { axis: 0 }), 'float32', [1, 2, 3, 4, 5, 6]);
    check(
      K.concat([t([1, 2], [2, 1]), colMajor([3, 4, 5, 6], 2, 2), raw([9], [2, 1], [0, 0])], { axis: 1 }),
      'float32',
      [1, 3, 4, 9, 2, 5, 6, 9],
    );
    check(K.concat([t([], [0, 2]), raw([0, 7, 8], [1, 2], [5, 1], 'float32', 1)], { axis: 0 }), 'float32', [7, 8]);
    check(K.concat([t([], [2, 0]), t([], [2, 0])], { axis: 1 }), 'float32', []);
  });

  it('contiguous inputs along an inner axis, short and long runs, with an offset', () => {
    const a = Array.from({ length: 3 * 2 * 70 }, (_, i) => i);
    const b = Array.from({ length: 3 * 2 * 5 }, (_, i) => -1 - i);
    // [3, 2, 70] ++ [3, 2, 5] (at offset 4) along axis 2: runs of 70 and 5 per output row.
    const want2: number[] = [];
    for (let r = 0; r < 6; r++) want2.push(...a.slice(r * 70, r * 70 + 70), ...b.slice(r * 5, r * 5 + 5));
    check(K.concat([t(a, [3, 2, 70]), raw([9, 9, 9, 9, ...b], [3, 2, 5], [10, 5, 1], 'float32', 4)], { axis: 2 }), 'float32', want2);
    // [3, 2, 70] ++ [3, 1, 70] (at offset 2) along axis 1: runs of 140 and 70.
    const c = Array.from({ length: 3 * 70 }, (_, i) => 1000 + i);
    const want1: number[] = [];
    for (let r = 0; r < 3; r++) want1.push(...a.slice(r * 140, r * 140 + 140), ...c.slice(r * 70, r * 70 + 70));
    check(K.concat([t(a, [3, 2, 70]), raw([9, 9, ...c], [3, 1, 70], [70, 70, 1], 'float32', 2)], { axis: 1 }), 'float32', want1);
  });

  it('int32 and bool', () => {
    check(K.concat([t([1, 2], [2, 1], 'int32'), t([-3, -4], [2, 1], 'int32')], { axis: 1 }), 'int32', [1, -3, 2, -4]);
    check(K.concat([t([1, 0], [2], 'bool'), t([0, 1, 1], [3], 'bool')], { axis: 0 }), 'bool', [1, 0, 0, 1, 1]);
  });
});

describe('fill', () => {
  it('fills every dtype, empty and 0-d shapes', () => {
    check(K.fill({ shape: [2, 2], dtype: 'float32', value: 0.1 }), 'float32', [f32(0.1), f32(0.1), f32(0.1), f32(0.1)], 0);
    check(K.fill({ shape: [3], dtype: 'int32', value: -7.9 }), 'int32', [-7, -7, -7]);
    check(K.fill({ shape: [2], dtype: 'bool', value: 5 }), 'bool', [1, 1]);
    check(K.fill({ shape: [2], dtype: 'bool', value: N }), 'bool', [1, 1]);
    check(K.fill({ shape: [0, 3], dtype: 'float32', value: 1 }), 'float32', []);
    check(K.fill({ shape: [], dtype: 'float32', value: -I }), 'float32', [-I]);
    check(K.fill({ shape: [2], dtype: 'float32', value: N }), 'float32', [N, N]);
  });
});

describe('fused kernels equal the composition of primitives', () => {
  const un = (op: 'exp' | 'log' | 'sigmoid' | 'tanh' | 'rsqrt' | 'neg', x: TensorView): TensorView => out(K.unary(x, { op }), x.shape);
  const bin = (op: BinaryOp, a: TensorView, b: TensorView): TensorView => out(K.binary(a, b, { op }), a.shape);
  /** Reduce `axis` and broadcast it back to `x.shape` with stride 0. */
  const redB = (op: 'sum' | 'max', x: TensorView, axis: number): TensorView => {
    const r = out(
      K.reduce(x, { op, axes: [axis] }),
      x.shape.filter((_, i) => i !== axis),
    );
    const strides = [...r.strides];
    strides.splice(axis, 0, 0);
    return { ...r, shape: x.shape, strides };
  };
  const scalar = (v: number, shape: Shape): TensorView => ({
    ...out(K.fill({ shape: [], dtype: 'float32', value: v }), []),
    shape,
    strides: shape.map(() => 0),
  });
  const cols = (x: TensorView, k: number, w: number): TensorView => ({
    ...x,
    shape: [x.shape[0], w],
    strides: [x.shape[1], 1],
    offset: x.offset + k * w,
  });
  const values = (v: TensorView): number[] => read(K.unary(v, { op: 'identity' }), 'float32', sizeOf(v.shape));
  const fused = be.fused;

  const X = [0.1, -1.2, 2.3, 0.7, -0.4, 1.9, -2.2, 0.05];

  it('linear (with/without bias, 3-d x, transposed x, strided weight)', () => {
    const x = t(X.slice(0, 6), [2, 3]);
    const wv = [0.5, -1, 2, 0.25, 0, -0.75, 1.5, 1, -2, 0.3, 0.6, -0.9];
    const w = t(wv, [4, 3]);
    const bias = t([0.5, -1, 2, 0], [4]);
    const wT: TensorView = { ...w, shape: [3, 4], strides: [1, 3] };
    const mm = out(K.matmul(x, wT), [2, 4]);
    check(fused.linear?.(x, w, null) as DataId, 'float32', values(mm), 1e-6);
    const withBias = bin('add', mm, { ...bias, shape: [2, 4], strides: [0, 1] });
    check(fused.linear?.(x, w, bias) as DataId, 'float32', values(withBias), 1e-6);
    check(
      fused.linear?.(colMajor(X.slice(0, 6), 2, 3), colMajor(wv, 4, 3), raw([0, 0.5, -1, 2, 0], [4], [1], 'float32', 1)) as DataId,
      'float32',
      values(withBias),
      1e-6,
    );
    const x3 = t([...X, 1, 2, 3, 4], [2, 2, 3]);
    const mm3 = out(K.matmul({ ...x3, shape: [4, 3], strides: [3, 1] }, wT), [4, 4]);
    check(fused.linear?.(x3, w, null) as DataId, 'float32', values(mm3), 1e-6);
    check(fused.linear?.(t([], [0, 3]), w, bias) as DataId, 'float32', []);
  });

  it('softmax / logSoftmax along each axis, transposed input (PyTorch values too)', () => {
    const x = t(X, [2, 4]);
    for (const axis of [0, 1]) {
      const shifted = bin('sub', x, redB('max', x, axis));
      const e = un('exp', shifted);
      const s = redB('sum', e, axis);
      check(fused.softmax?.(x, { axis }) as DataId, 'float32', values(bin('div', e, s)), 1e-6);
      check(fused.logSoftmax?.(x, { axis }) as DataId, 'float32', values(bin('sub', shifted, un('log', s))), 1e-6);
    }
    check(
      fused.softmax?.(x, { axis: 1 }) as DataId,
      'float32',
      [
        0.08251053839921951, 0.022486744448542595, 0.7446587085723877, 0.15034401416778564, 0.07869186997413635, 0.7848870158195496,
        0.013007679022848606, 0.12341341376304626,
      ],
    );
    check(
      fused.logSoftmax?.(x, { axis: 0 }) as DataId,
      'float32',
      [
        -0.4740769863128662, -3.144063949584961, -0.011047743260860443, -0.4200553894042969, -0.9740769863128662, -0.044063955545425415,
        -4.511047840118408, -1.070055365562439,
      ],
    );
    const xt = colMajor(X, 2, 4);
    check(fused.softmax?.(xt, { axis: 1 }) as DataId, 'float32', read(fused.softmax?.(x, { axis: 1 }) as DataId, 'float32', 8));
  });

  it('softmax: large inputs do not overflow; NaN and all -inf rows give NaN; empty', () => {
    check(fused.softmax?.(t([1000, 1000, 999], [3]), { axis: 0 }) as DataId, 'float32', [0.4223188, 0.4223188, 0.1553624], 1e-6);
    check(fused.softmax?.(t([1, N, -I, -I], [2, 2]), { axis: 1 }) as DataId, 'float32', [N, N, N, N]);
    check(fused.logSoftmax?.(t([], [0, 3]), { axis: 1 }) as DataId, 'float32', []);
    check(fused.softmax?.(t([5], []), { axis: 0 }) as DataId, 'float32', [1]);
  });

  it('layerNorm returns out, mean, rstd (composition and PyTorch values)', () => {
    const n = 4;
    const eps = 1e-5;
    const x = t(X, [2, n]);
    const nB = scalar(n, [2, n]);
    const mean = bin('div', redB('sum', x, 1), nB);
    const xc = bin('sub', x, mean);
    const variance = bin('div', redB('sum', bin('mul', xc, xc), 1), nB);
    const rstd = un('rsqrt', bin('add', variance, scalar(eps, [2, n])));
    const norm = bin('mul', xc, rstd);
    const [o, m, r] = fused.layerNorm?.(x, null, null, { normalizedSize: n, eps }) ?? [];
    check(o as DataId, 'float32', values(norm), 1e-5);
    check(m as DataId, 'float32', [0.47499996423721313, -0.16250000894069672]);
    check(r as DataId, 'float32', [0.7950831055641174, 0.6857154369354248]);
    const w = t([1, 2, -0.5, 0.25], [n]);
    const b = raw([9, 0, 0.1, -0.2, 3], [n], [1], 'float32', 1);
    const [o2, m2, r2] = fused.layerNorm?.(colMajor(X, 2, n), w, b, { normalizedSize: n, eps }) ?? [];
    own(m2 as DataId);
    own(r2 as DataId);
    check(
      o2 as DataId,
      'float32',
      [
        -0.29815614223480225, -2.563528537750244, -0.9255133271217346, 3.0447235107421875, -0.16285741329193115, 2.9285759925842285,
        0.4985726475715637, 3.036428689956665,
      ],
      1e-5,
    );
  });

  it('layerNorm over the last two dims (normalizedSize = 6) and on an empty batch', () => {
    const [o, m, r] = fused.layerNorm?.(t([1, 2, 3, 4, 5, 6], [1, 2, 3]), null, null, { normalizedSize: 6, eps: 0 }) ?? [];
    own(r as DataId);
    check(m as DataId, 'float32', [3.5]);
    const sd = Math.sqrt(17.5 / 6);
    check(
      o as DataId,
      'float32',
      [1, 2, 3, 4, 5, 6].map((v) => (v - 3.5) / sd),
      1e-6,
    );
    const [eo, em, er] = fused.layerNorm?.(t([], [0, 4]), null, null, { normalizedSize: 4, eps: 1e-5 }) ?? [];
    check(eo as DataId, 'float32', []);
    check(em as DataId, 'float32', []);
    check(er as DataId, 'float32', []);
  });

  it('lstmCell (composition and PyTorch values)', () => {
    const H = 2;
    const gv = [0.1, -1.2, 2.3, 0.7, -0.4, 1.9, -2.2, 0.05, 1.1, -0.8, 0.3, 2.6, -1, 0.5, 0.2, -0.3];
    const gates = t(gv, [2, 4 * H]);
    const c = t([0.5, -0.3, 1.2, -1], [2, H]);
    const i = un('sigmoid', cols(gates, 0, H));
    const f = un('sigmoid', cols(gates, 1, H));
    const g = un('tanh', cols(gates, 2, H));
    const o = un('sigmoid', cols(gates, 3, H));
    const c2 = bin('add', bin('mul', f, c), bin('mul', i, g));
    const h2 = bin('mul', o, un('tanh', c2));
    // The hidden gate sums split off: gi + gh = gates exactly (halves of float32 values).
    const gi = t(
      gv.map((v) => v / 2),
      [2, 4 * H],
    );
    const [hOut, cOut] = fused.lstmCell?.(gi, gi, c) ?? [];
    const hv = read(hOut as DataId, 'float32', 4);
    const cv = read(cOut as DataId, 'float32', 4);
    expect(hv.map((v, k) => Math.abs(v - values(h2)[k]) < 1e-6)).toEqual([true, true, true, true]);
    expect(cv.map((v, k) => Math.abs(v - values(c2)[k]) < 1e-6)).toEqual([true, true, true, true]);
    const torchH = [0.02489650808274746, 0.01070396974682808, 0.06454695761203766, -0.2796098291873932];
    const torchC = [0.25497323274612427, 0.02088893949985504, 0.11793732643127441, -0.7875934839248657];
    hv.forEach((v, k) => expect(Math.abs(v - torchH[k])).toBeLessThan(1e-6));
    cv.forEach((v, k) => expect(Math.abs(v - torchC[k])).toBeLessThan(1e-6));
    // Same data through strided views (gates transposed in memory, c with an offset).
    const zero = t(new Array<number>(8 * H).fill(0), [2, 4 * H]);
    const [hs, cs] = fused.lstmCell?.(colMajor(gv, 2, 4 * H), zero, raw([7, 0.5, -0.3, 1.2, -1], [2, H], [2, 1], 'float32', 1)) ?? [];
    check(hs as DataId, 'float32', hv, 0);
    check(cs as DataId, 'float32', cv, 0);
  });

  it('gruCell (composition and PyTorch values)', () => {
    const H = 2;
    const gi = t([0.1, -1.2, 2.3, 0.7, -0.4, 1.9], [1, 3 * H]);
    const gh = t([0.3, 0.5, -1, 0.2, 0.9, -0.6], [1, 3 * H]);
    const hPrev = t([0.2, -0.6], [1, H]);
    const r = un('sigmoid', bin('add', cols(gi, 0, H), cols(gh, 0, H)));
    const z = un('sigmoid', bin('add', cols(gi, 1, H), cols(gh, 1, H)));
    const nGate = un('tanh', bin('add', cols(gi, 2, H), bin('mul', r, cols(gh, 2, H))));
    const want = bin('add', nGate, bin('mul', z, bin('sub', hPrev, nGate)));
    const got = fused.gruCell?.(gi, gh, hPrev) as DataId;
    const gv = read(got, 'float32', 2);
    values(want).forEach((w, k) => expect(Math.abs(gv[k] - w)).toBeLessThan(1e-6));
    [0.18670763075351715, -0.1561562716960907].forEach((w, k) => expect(Math.abs(gv[k] - w)).toBeLessThan(1e-6));
    const hb = raw([0.2, -0.6], [3, H], [0, 1]);
    const gi3 = raw([0.1, -1.2, 2.3, 0.7, -0.4, 1.9], [3, 3 * H], [0, 1]);
    const gh3 = raw([0.3, 0.5, -1, 0.2, 0.9, -0.6], [3, 3 * H], [0, 1]);
    check(fused.gruCell?.(gi3, gh3, hb) as DataId, 'float32', [...gv, ...gv, ...gv], 0);
  });
});

describe('hygiene', () => {
  it('every buffer the tests made was freed', () => {
    for (const id of live.splice(0)) be.disposeData(id);
    expect(be.memory().buffers).toBe(0);
    expect(be.memory().bytes).toBe(0);
  });
});
