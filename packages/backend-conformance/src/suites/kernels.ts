/**
 * The kernel suite: every primitive kernel called directly through the `Backend` interface
 * (upload → kernel → await read), independent of core's op library, against values
 * computed by hand or by a double-precision JavaScript reference.
 *
 * Each family is also run on the input layouts a kernel receives from core: contiguous,
 * column-major (a transposed view), a view with a non-zero offset, a step-2 slice, a
 * broadcast (stride-0) input, an empty tensor, a 0-d scalar and size-1 dims with
 * arbitrary strides.
 */
import {
  type AdamUpdateAttrs,
  type Backend,
  type BinaryOp,
  type DType,
  type DataId,
  type ReduceOp,
  type Shape,
  type TensorView,
  type UnaryOp,
  BINARY_OPS,
  FUSED_KERNELS,
  KERNEL_CONTRACT_VERSION,
  PRIMITIVE_KERNELS,
  REDUCE_OPS,
  UNARY_OPS,
  allocArray,
  bytesPerElement,
  contiguousStrides,
  loadBackend,
  sizeOf,
} from '@ghostflow/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';

/** How a logical tensor is laid out in the buffer a kernel reads. */
type Layout = 'contiguous' | 'column-major' | 'offset' | 'step-2';

/** Every layout the family tests run on (broadcast, empty, 0-d and size-1 have their own tests). */
const LAYOUTS: readonly Layout[] = ['contiguous', 'column-major', 'offset', 'step-2'];

/** Values written into the gaps of non-contiguous layouts: a kernel that reads them fails. */
const JUNK: Record<DType, number> = { float32: 9999.5, int32: -12345, bool: 1 };

/** Tolerance for float comparisons: `|got - want| <= atol + rtol * |want|`. */
interface Tol {
  atol?: number;
  rtol?: number;
}

/** The multi-index of row-major position `flat` in `shape`. */
function multiIndex(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return idx;
}

/** Physical buffer, strides and offset holding `values` (row-major logical order) in `layout`. */
function place(
  values: readonly number[],
  shape: Shape,
  dtype: DType,
  layout: Layout,
): { phys: number[]; strides: number[]; offset: number } {
  const cs = contiguousStrides(shape);
  const junk = JUNK[dtype];
  switch (layout) {
    case 'contiguous':
      return { phys: [...values], strides: cs, offset: 0 };
    case 'offset':
      return { phys: [junk, junk, junk, ...values, junk, junk], strides: cs, offset: 3 };
    case 'step-2': {
      const phys = new Array<number>(2 * values.length + 2).fill(junk);
      values.forEach((v, i) => {
        phys[1 + 2 * i] = v;
      });
      return { phys, strides: cs.map((s) => 2 * s), offset: 1 };
    }
    case 'column-major': {
      const strides: number[] = [];
      let s = 1;
      for (const d of shape) {
        strides.push(s);
        s *= Math.max(d, 1);
      }
      const phys = new Array<number>(values.length).fill(junk);
      values.forEach((v, flat) => {
        const idx = multiIndex(flat, shape);
        phys[idx.reduce((acc, x, d) => acc + x * strides[d], 0)] = v;
      });
      return { phys, strides, offset: 0 };
    }
  }
}

/** Compares read values with expected ones: NaN matches NaN, infinities exactly, ints exactly. */
function expectValues(got: readonly number[], want: readonly number[], what: string, tol: Tol = {}, exact = false): void {
  expect(got.length, `${what}: element count`).toBe(want.length);
  const atol = exact ? 0 : (tol.atol ?? 1e-5);
  const rtol = exact ? 0 : (tol.rtol ?? 1e-5);
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    const ok = Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) ? a === b : Math.abs(a - b) <= atol + rtol * Math.abs(b);
    if (!ok) {
      expect.fail(`${what}: element ${i}: got ${a}, expected ${b}\ngot:      [${got.join(', ')}]\nexpected: [${want.join(', ')}]`);
    }
  }
}

/** Uploads, runs kernels and reads back, freeing every handle it saw at the end of a test. */
class Harness {
  private readonly owned = new Set<DataId>();

  constructor(readonly backend: Backend) {}

  /** Takes ownership of a handle (freed by {@link Harness.disposeAll}). */
  own(id: DataId): DataId {
    this.owned.add(id);
    return id;
  }

  /** Uploads raw values as a contiguous buffer. */
  upload(values: readonly number[], dtype: DType): DataId {
    const arr = allocArray(dtype, values.length);
    for (let i = 0; i < values.length; i++) arr[i] = values[i];
    return this.own(this.backend.upload(arr, dtype));
  }

  /** A view of logical `values` in `layout`. */
  view(values: readonly number[], shape: Shape, dtype: DType = 'float32', layout: Layout = 'contiguous'): TensorView {
    expect(values.length, 'test bug: values vs shape').toBe(sizeOf(shape));
    const { phys, strides, offset } = place(values, shape, dtype, layout);
    return { dataId: this.upload(phys, dtype), dtype, shape, strides, offset };
  }

  /** A view with explicit physical data, strides and offset (for broadcast/size-1 cases). */
  raw(phys: readonly number[], shape: Shape, strides: readonly number[], dtype: DType = 'float32', offset = 0): TensorView {
    return { dataId: this.upload(phys, dtype), dtype, shape, strides, offset };
  }

  /** Wraps a kernel output as a contiguous view (so it can feed another kernel). */
  out(id: DataId, shape: Shape, dtype: DType): TensorView {
    return { dataId: this.own(id), dtype, shape, strides: contiguousStrides(shape), offset: 0 };
  }

  /** Reads `size` elements of a buffer. */
  async read(id: DataId, dtype: DType, size: number): Promise<number[]> {
    return Array.from(await this.backend.read(id, dtype, size));
  }

  /** Owns `id`, reads it as `dtype` and compares with `want`. */
  async expect(id: DataId, dtype: DType, want: readonly number[], what: string, tol: Tol = {}): Promise<void> {
    this.own(id);
    expectValues(await this.read(id, dtype, want.length), want, what, tol, dtype !== 'float32');
  }

  /** Frees every handle seen. */
  disposeAll(): void {
    for (const id of this.owned) this.backend.disposeData(id);
    this.owned.clear();
  }
}

const f32 = (v: number): number => Math.fround(v);

/** erf in double precision (Maclaurin series; beyond |x| = 4 erf is ±1 within 2e-8 for these inputs). */
function erfRef(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (Math.abs(x) > 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 120; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const sigmoidRef = (x: number): number => 1 / (1 + Math.exp(-x));

/** PyTorch semantics of the float unary ops, in double precision. */
const UNARY_REF: Record<Exclude<UnaryOp, 'logicalNot'>, (x: number) => number> = {
  identity: (x) => x,
  neg: (x) => -x,
  abs: (x) => Math.abs(x),
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  exp: (x) => Math.exp(x),
  expm1: (x) => Math.expm1(x),
  log: (x) => Math.log(x),
  log1p: (x) => Math.log1p(x),
  sqrt: (x) => Math.sqrt(x),
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  sin: (x) => Math.sin(x),
  cos: (x) => Math.cos(x),
  tanh: (x) => Math.tanh(x),
  sigmoid: sigmoidRef,
  relu: (x) => (Number.isNaN(x) ? x : Math.max(x, 0)),
  gelu: (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
  silu: (x) => x * sigmoidRef(x),
  softplus: (x) => (x > 20 ? x : Math.log1p(Math.exp(x))),
  erf: erfRef,
  floor: (x) => Math.floor(x),
  ceil: (x) => Math.ceil(x),
  round: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
};

/** NaN and infinity behaviour per op: [input, expected] (only cases PyTorch pins down). */
const UNARY_SPECIAL: Record<Exclude<UnaryOp, 'logicalNot'>, [readonly number[], readonly number[]]> = (() => {
  const N = Number.NaN;
  const I = Number.POSITIVE_INFINITY;
  const all = [N, I, -I];
  return {
    identity: [all, [N, I, -I]],
    neg: [all, [N, -I, I]],
    abs: [all, [N, I, I]],
    sign: [
      [I, -I, N],
      [1, -1, 0],
    ],
    exp: [all, [N, I, 0]],
    expm1: [all, [N, I, -1]],
    log: [all, [N, I, N]],
    log1p: [all, [N, I, N]],
    sqrt: [all, [N, I, N]],
    rsqrt: [all, [N, 0, N]],
    reciprocal: [all, [N, 0, -0]],
    sin: [all, [N, N, N]],
    cos: [all, [N, N, N]],
    tanh: [all, [N, 1, -1]],
    sigmoid: [all, [N, 1, 0]],
    relu: [all, [N, I, 0]],
    gelu: [[N], [N]],
    geluTanh: [[N], [N]],
    silu: [[N], [N]],
    softplus: [all, [N, I, 0]],
    erf: [all, [N, 1, -1]],
    floor: [all, [N, I, -I]],
    ceil: [all, [N, I, -I]],
    round: [all, [N, I, -I]],
  };
})();

/** Unary ops defined on int32 (floor/ceil/round are the identity there). */
const INT_UNARY: Record<'identity' | 'neg' | 'abs' | 'sign' | 'relu' | 'floor' | 'ceil' | 'round', (x: number) => number> = {
  identity: (x) => x,
  neg: (x) => -x,
  abs: (x) => Math.abs(x),
  sign: (x) => Math.sign(x),
  relu: (x) => Math.max(x, 0),
  floor: (x) => x,
  ceil: (x) => x,
  round: (x) => x,
};

const b2n = (v: boolean): number => (v ? 1 : 0);

/** PyTorch semantics of the binary ops on numbers (bool results as 0/1). */
const BINARY_REF: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)),
  eq: (a, b) => b2n(a === b),
  ne: (a, b) => b2n(a !== b),
  lt: (a, b) => b2n(a < b),
  le: (a, b) => b2n(a <= b),
  gt: (a, b) => b2n(a > b),
  ge: (a, b) => b2n(a >= b),
  logicalAnd: (a, b) => b2n(a !== 0 && b !== 0),
  logicalOr: (a, b) => b2n(a !== 0 || b !== 0),
  logicalXor: (a, b) => b2n((a !== 0) !== (b !== 0)),
};

const COMPARISONS: readonly BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const LOGICAL: readonly BinaryOp[] = ['logicalAnd', 'logicalOr', 'logicalXor'];

/** Output dtype of a binary op on inputs of `dtype`. */
function binaryOutDType(op: BinaryOp, dtype: DType): DType {
  return COMPARISONS.includes(op) || LOGICAL.includes(op) ? 'bool' : dtype;
}

/** Reference reduction of row-major `values` of `shape` over `axes` (sorted). */
function reduceRef(values: readonly number[], shape: Shape, axes: readonly number[], op: ReduceOp): number[] {
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const init: Record<ReduceOp, number> = { sum: 0, prod: 1, max: Number.NEGATIVE_INFINITY, min: Number.POSITIVE_INFINITY, any: 0, all: 1 };
  const out = new Array<number>(sizeOf(outShape)).fill(init[op]);
  const outStrides = contiguousStrides(outShape);
  values.forEach((v, flat) => {
    const idx = multiIndex(flat, shape).filter((_, i) => !axes.includes(i));
    const o = idx.reduce((acc, x, d) => acc + x * outStrides[d], 0);
    const cur = out[o];
    switch (op) {
      case 'sum':
        out[o] = cur + v;
        break;
      case 'prod':
        out[o] = cur * v;
        break;
      case 'max':
        out[o] = Number.isNaN(cur) || Number.isNaN(v) ? Number.NaN : Math.max(cur, v);
        break;
      case 'min':
        out[o] = Number.isNaN(cur) || Number.isNaN(v) ? Number.NaN : Math.min(cur, v);
        break;
      case 'any':
        out[o] = b2n(cur !== 0 || v !== 0);
        break;
      case 'all':
        out[o] = b2n(cur !== 0 && v !== 0);
        break;
    }
  });
  return out;
}

/** Reference batched matmul of row-major `[batch, M, K]` by `[batch, K, N]`. */
function matmulRef(a: readonly number[], b: readonly number[], batch: number, m: number, k: number, n: number): number[] {
  const out = new Array<number>(batch * m * n).fill(0);
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[bi * m * k + i * k + p] * b[bi * k * n + p * n + j];
        out[bi * m * n + i * n + j] = s;
      }
  return out;
}

const range = (n: number, start = 1, step = 1): number[] => Array.from({ length: n }, (_, i) => start + i * step);

/**
 * Checks that every float32 output of the backend's arithmetic kernels holds float32 values.
 * A read cannot tell (a backend that keeps float64 values rounds them when it reads), so
 * each output `y` is read back as `r`, `r` is uploaded, and `y - r` is computed on the
 * backend: with float32 storage `y` is exactly `r` and the difference is 0; with float64
 * storage it is the rounding error. Such a backend drifts from PyTorch as kernels chain.
 * Exported so the kit's own tests can prove it fails a float64 backend.
 * @returns the kernels whose outputs were not float32 (empty when all were)
 */
export async function float32StorageViolations(backend: Backend): Promise<string[]> {
  const owned: DataId[] = [];
  const own = (id: DataId): DataId => {
    owned.push(id);
    return id;
  };
  const view = (id: DataId, shape: Shape): TensorView => ({
    dataId: id,
    dtype: 'float32',
    shape,
    strides: contiguousStrides(shape),
    offset: 0,
  });
  const upload = (values: readonly number[], shape: Shape): TensorView =>
    view(own(backend.upload(Float32Array.from(values), 'float32')), shape);
  const bad: string[] = [];
  /** Records `what` when the float32 output `id` of `shape` is not made of float32 values. */
  const check = async (what: string, id: DataId, shape: Shape): Promise<void> => {
    own(id);
    const n = sizeOf(shape);
    const got = await backend.read(id, 'float32', n);
    const diff = own(backend.kernels.binary(view(id, shape), upload(Array.from(got), shape), { op: 'sub' }));
    const d = await backend.read(diff, 'float32', n);
    const off = Array.from(d).findIndex((v) => v !== 0 && !Number.isNaN(v));
    if (off >= 0) bad.push(`${what} (element ${off} is ${got[off]} + ${d[off]} before rounding)`);
  };
  try {
    // Positive, non-dyadic inputs: almost no result of these ops is a float32 value in float64.
    const X = [0.1, 0.7, 1.3, 2.9, 0.37, 1.9];
    const Y = [0.3, 1.1, 0.9, 1.7, 2.3, 0.6];
    const x = upload(X, [2, 3]);
    const y = upload(Y, [2, 3]);
    const floatUnary: readonly UnaryOp[] = [
      'exp',
      'expm1',
      'log',
      'log1p',
      'sqrt',
      'rsqrt',
      'reciprocal',
      'sin',
      'cos',
      'tanh',
      'sigmoid',
      'gelu',
      'geluTanh',
      'silu',
      'softplus',
      'erf',
    ];
    for (const op of floatUnary) await check(`unary ${op}`, backend.kernels.unary(x, { op }), [2, 3]);
    for (const op of ['add', 'sub', 'mul', 'div', 'pow'] as const)
      await check(`binary ${op}`, backend.kernels.binary(x, y, { op }), [2, 3]);
    await check('reduce sum', backend.kernels.reduce(x, { op: 'sum', axes: [1] }), [2]);
    await check('reduce prod', backend.kernels.reduce(x, { op: 'prod', axes: [0] }), [3]);
    await check('cumsum', backend.kernels.cumsum(x, { axis: 1 }), [2, 3]);
    const yt: TensorView = { ...y, shape: [3, 2], strides: [1, 3] };
    await check('matmul', backend.kernels.matmul(x, yt), [2, 2]);
    const f = backend.fused;
    if (f.linear) await check('fused linear', f.linear.call(f, x, y, null), [2, 2]);
    if (f.softmax) await check('fused softmax', f.softmax.call(f, x, { axis: 1 }), [2, 3]);
    if (f.logSoftmax) await check('fused logSoftmax', f.logSoftmax.call(f, x, { axis: 1 }), [2, 3]);
    if (f.layerNorm) {
      const [o, m, r] = f.layerNorm.call(f, x, null, null, { normalizedSize: 3, eps: 1e-5 });
      await check('fused layerNorm', o, [2, 3]);
      await check('fused layerNorm mean', m, [2]);
      await check('fused layerNorm rstd', r, [2]);
    }
  } finally {
    for (const id of owned) backend.disposeData(id);
  }
  return bad;
}

/** Registers the kernel tests. */
export function kernelsSuite(ctx: SuiteContext): void {
  let backend: Backend;
  let h: Harness;
  let baselineBuffers = 0;

  beforeAll(async () => {
    backend = await loadBackend(ctx.device);
    h = new Harness(backend);
    baselineBuffers = backend.memory().buffers;
  });
  afterEach(() => h.disposeAll());

  describe('backend object', () => {
    it('implements every primitive kernel and declares its name and contract version', () => {
      expect(backend.name).toBe(ctx.device);
      expect(backend.contractVersion).toBe(KERNEL_CONTRACT_VERSION);
      const missing = PRIMITIVE_KERNELS.filter((k) => typeof backend.kernels[k] !== 'function');
      expect(missing, 'missing primitive kernels').toEqual([]);
    });

    it('only offers fused kernels that the contract defines', () => {
      const known: readonly string[] = FUSED_KERNELS;
      for (const [name, fn] of Object.entries(backend.fused)) {
        expect(known, `unknown fused kernel '${name}' (core would never call it)`).toContain(name);
        expect(typeof fn, `fused.${name}`).toBe('function');
      }
    });

    it('upload copies its input and read returns a copy', async () => {
      const src = new Float32Array([1, 2, 3]);
      const id = h.own(backend.upload(src, 'float32'));
      src[0] = 100;
      const first = await backend.read(id, 'float32', 3);
      expect(Array.from(first)).toEqual([1, 2, 3]);
      first[1] = -50;
      expect(Array.from(await backend.read(id, 'float32', 3))).toEqual([1, 2, 3]);
    });

    it('round-trips every dtype, including extreme values', async () => {
      await h.expect(
        h.upload([1.5, -0, 3.4028234663852886e38, 1e-30, Number.NaN, Number.NEGATIVE_INFINITY], 'float32'),
        'float32',
        [1.5, 0, 3.4028234663852886e38, f32(1e-30), Number.NaN, Number.NEGATIVE_INFINITY],
        'float32',
        { atol: 0, rtol: 0 },
      );
      await h.expect(h.upload([2147483647, -2147483648, 0, -1], 'int32'), 'int32', [2147483647, -2147483648, 0, -1], 'int32');
      await h.expect(h.upload([1, 0, 0, 1, 1], 'bool'), 'bool', [1, 0, 0, 1, 1], 'bool');
      await h.expect(h.upload([], 'float32'), 'float32', [], 'empty');
    });

    it('memory() counts buffers and bytes; disposeData lowers them; totals are monotonic', () => {
      const m0 = backend.memory();
      const a = backend.upload(new Float32Array(64), 'float32');
      const m1 = backend.memory();
      expect(m1.buffers).toBe(m0.buffers + 1);
      expect(m1.bytes - m0.bytes).toBeGreaterThanOrEqual(64 * bytesPerElement('float32'));
      expect(m1.bytesAllocatedTotal - m0.bytesAllocatedTotal).toBeGreaterThanOrEqual(64 * 4);
      expect(m1.peakBytes).toBeGreaterThanOrEqual(m1.bytes);
      const b = backend.kernels.fill({ shape: [10], dtype: 'int32', value: 3 });
      const m2 = backend.memory();
      expect(m2.buffers).toBe(m0.buffers + 2);
      expect(m2.bytes - m1.bytes).toBeGreaterThanOrEqual(10 * bytesPerElement('int32'));
      backend.disposeData(a);
      backend.disposeData(b);
      const m3 = backend.memory();
      expect(m3.buffers).toBe(m0.buffers);
      expect(m3.bytes).toBe(m0.bytes);
      expect(m3.bytesAllocatedTotal).toBeGreaterThanOrEqual(m2.bytesAllocatedTotal);
      expect(m3.peakBytes).toBeGreaterThanOrEqual(m2.bytes);
      expect(m3.peakBytes).toBeGreaterThanOrEqual(m2.peakBytes);
    });
  });

  describe('unary', () => {
    const X = [-3, -1.5, -0.5, 0, 0.5, 1, 2.5];

    for (const op of UNARY_OPS) {
      if (op === 'logicalNot') continue;
      it(`${op} (float32) matches PyTorch on ordinary values`, async () => {
        const ref = UNARY_REF[op];
        const id = backend.kernels.unary(h.view(X, [X.length]), { op });
        await h.expect(
          id,
          'float32',
          X.map((x) => f32(ref(f32(x)))),
          op,
          { atol: 1e-5, rtol: 1e-4 },
        );
      });
      it(`${op} (float32) on NaN and infinities`, async () => {
        const [input, want] = UNARY_SPECIAL[op];
        const id = backend.kernels.unary(h.view(input, [input.length]), { op });
        await h.expect(id, 'float32', want, op);
      });
    }

    it('round is half-to-even; floor and ceil', async () => {
      const x = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, 2.6, -2.6];
      const v = h.view(x, [x.length]);
      await h.expect(backend.kernels.unary(v, { op: 'round' }), 'float32', [-2, -2, -0, 0, 2, 2, 0, 3, -3], 'round');
      await h.expect(backend.kernels.unary(v, { op: 'floor' }), 'float32', [-3, -2, -1, 0, 1, 2, 0, 2, -3], 'floor');
      await h.expect(backend.kernels.unary(v, { op: 'ceil' }), 'float32', [-2, -1, -0, 1, 2, 3, 1, 3, -2], 'ceil');
    });

    it('sign(0) = sign(-0) = 0', async () => {
      await h.expect(backend.kernels.unary(h.view([-0, 0, -2, 3], [4]), { op: 'sign' }), 'float32', [0, 0, -1, 1], 'sign');
    });

    it('softplus does not overflow on large inputs', async () => {
      await h.expect(backend.kernels.unary(h.view([100, -100, 30, 90], [4]), { op: 'softplus' }), 'float32', [100, 0, 30, 90], 'softplus');
    });

    for (const [op, ref] of Object.entries(INT_UNARY) as [keyof typeof INT_UNARY, (x: number) => number][]) {
      it(`${op} on int32 keeps int32`, async () => {
        const x = [-7, -1, 0, 3, 65536];
        await h.expect(backend.kernels.unary(h.view(x, [5], 'int32'), { op }), 'int32', x.map(ref), op);
      });
    }

    it('logicalNot on bool, identity on bool', async () => {
      const v = h.view([0, 1, 1, 0], [4], 'bool');
      await h.expect(backend.kernels.unary(v, { op: 'logicalNot' }), 'bool', [1, 0, 0, 1], 'logicalNot');
      await h.expect(backend.kernels.unary(v, { op: 'identity' }), 'bool', [0, 1, 1, 0], 'identity');
    });

    for (const layout of LAYOUTS) {
      it(`honours a ${layout} input (float32, int32, bool)`, async () => {
        const shape = [2, 3];
        const x = [-1, 2, -3, 4.5, 0, 6];
        await h.expect(
          backend.kernels.unary(h.view(x, shape, 'float32', layout), { op: 'neg' }),
          'float32',
          x.map((v) => -v),
          'neg',
        );
        await h.expect(backend.kernels.unary(h.view(x, shape, 'float32', layout), { op: 'exp' }), 'float32', x.map(Math.exp), 'exp', {
          rtol: 1e-5,
        });
        const xi = [-1, 2, -3, 4, 0, 6];
        await h.expect(backend.kernels.unary(h.view(xi, shape, 'int32', layout), { op: 'abs' }), 'int32', xi.map(Math.abs), 'abs');
        const xb = [1, 0, 0, 1, 1, 0];
        await h.expect(
          backend.kernels.unary(h.view(xb, shape, 'bool', layout), { op: 'logicalNot' }),
          'bool',
          xb.map((v) => 1 - v),
          'logicalNot',
        );
        await h.expect(backend.kernels.unary(h.view(xb, shape, 'bool', layout), { op: 'identity' }), 'bool', xb, 'identity');
      });
    }

    it('honours a broadcast (stride-0) input', async () => {
      const v = h.raw([1, -2, 3], [2, 3], [0, 1]);
      await h.expect(backend.kernels.unary(v, { op: 'neg' }), 'float32', [-1, 2, -3, -1, 2, -3], 'neg');
      const c = h.raw([5, 7], [2, 3], [1, 0], 'int32');
      await h.expect(backend.kernels.unary(c, { op: 'identity' }), 'int32', [5, 5, 5, 7, 7, 7], 'identity');
    });

    it('handles empty, 0-d (with offset) and size-1 dims with odd strides', async () => {
      await h.expect(backend.kernels.unary(h.view([], [0, 3]), { op: 'exp' }), 'float32', [], 'empty');
      await h.expect(backend.kernels.unary(h.view([], [2, 0], 'int32'), { op: 'neg' }), 'int32', [], 'empty int');
      await h.expect(backend.kernels.unary(h.view([2], []), { op: 'neg' }), 'float32', [-2], '0-d');
      await h.expect(backend.kernels.unary(h.raw([5, 6, 7], [], [], 'float32', 2), { op: 'neg' }), 'float32', [-7], '0-d with offset');
      await h.expect(
        backend.kernels.unary(h.raw([1, 2, 3], [1, 3, 1], [999, 1, 999]), { op: 'neg' }),
        'float32',
        [-1, -2, -3],
        'size-1 dims',
      );
    });
  });

  describe('binary', () => {
    const N = Number.NaN;
    const I = Number.POSITIVE_INFINITY;
    const A = [1, -2, 3.5, 0, -0.5, 4, 0, -3, N, 1, I, -I, I];
    const B = [2, 3, -1.5, 0, -0.5, 0.25, -1, 0, 1, N, I, I, 1];
    // pow with NaN differs between JS (1 ** NaN = NaN) and C/PyTorch (pow(1, NaN) = 1): finite pairs only.
    const PA = [1, -2, 3.5, 0, -0.5, 4, 0, -3, 2, -8];
    const PB = [2, 3, -1.5, 0, -0.5, 0.25, -1, 0, 0.5, 1 / 3];

    for (const op of BINARY_OPS) {
      if (LOGICAL.includes(op)) continue;
      it(`${op} (float32) incl. NaN and infinities`, async () => {
        const [a, b] = op === 'pow' ? [PA, PB] : [A, B];
        const want = a.map((x, i) => BINARY_REF[op](f32(x), f32(b[i])));
        const outDType = binaryOutDType(op, 'float32');
        const id = backend.kernels.binary(h.view(a, [a.length]), h.view(b, [b.length]), { op });
        await h.expect(id, outDType, outDType === 'float32' ? want.map(f32) : want, op, { rtol: op === 'pow' ? 1e-5 : 1e-6 });
      });
    }

    for (const op of BINARY_OPS) {
      if (LOGICAL.includes(op) || op === 'div') continue;
      it(`${op} (int32)`, async () => {
        const [a, b] =
          op === 'pow'
            ? [
                [2, -3, 5, 0, 0, 1, -1],
                [10, 3, 0, 0, 2, 7, 5],
              ]
            : [
                [7, -7, 0, 5, -3, 2, 100000],
                [2, 3, 4, -5, -3, 10, 3],
              ];
        const want = a.map((x, i) => BINARY_REF[op](x, b[i]));
        const id = backend.kernels.binary(h.view(a, [a.length], 'int32'), h.view(b, [b.length], 'int32'), { op });
        await h.expect(id, binaryOutDType(op, 'int32'), want, op);
      });
    }

    for (const op of LOGICAL) {
      it(`${op} (bool) truth table`, async () => {
        const a = [0, 0, 1, 1];
        const b = [0, 1, 0, 1];
        const id = backend.kernels.binary(h.view(a, [4], 'bool'), h.view(b, [4], 'bool'), { op });
        await h.expect(
          id,
          'bool',
          a.map((x, i) => BINARY_REF[op](x, b[i])),
          op,
        );
      });
    }

    it('pow (float32) follows C / PyTorch on special values: pow(1, y) = 1, pow(x, 0) = 1, pow(-1, ±inf) = 1', async () => {
      // JavaScript's ** gives NaN for the first two with NaN and for the third: a backend
      // built on it (or on a GPU pow) must special-case them.
      const a = [1, 1, 1, 1, N, 2, -3, I, -I, 0, -0, N, -1, -1];
      const b = [N, I, -I, -2.5, 0, 0, -0, 0, 0, 0, 0, -0, I, -I];
      const id = backend.kernels.binary(h.view(a, [a.length]), h.view(b, [b.length]), { op: 'pow' });
      await h.expect(id, 'float32', new Array<number>(a.length).fill(1), 'pow special values', { atol: 0, rtol: 0 });
    });

    it('add / mul / maximum / minimum (bool) act as or / and / or / and', async () => {
      const a = [0, 0, 1, 1];
      const b = [0, 1, 0, 1];
      const want: Partial<Record<BinaryOp, number[]>> = {
        add: [0, 1, 1, 1],
        mul: [0, 0, 0, 1],
        maximum: [0, 1, 1, 1],
        minimum: [0, 0, 0, 1],
      };
      for (const [op, w] of Object.entries(want) as [BinaryOp, number[]][]) {
        await h.expect(backend.kernels.binary(h.view(a, [4], 'bool'), h.view(b, [4], 'bool'), { op }), 'bool', w, `${op} (bool)`);
      }
    });

    it('stores float32 results as float32 values (a backend keeping float64 drifts as kernels chain)', async () => {
      expect(await float32StorageViolations(backend), 'kernels whose float32 outputs hold values that are not float32').toEqual([]);
    });

    for (const layout of LAYOUTS) {
      it(`honours ${layout} inputs`, async () => {
        const shape = [2, 3];
        const a = [1, -2, 3, 4.5, -5, 6];
        const b = [0.5, 2, -1, 3, 7, -2];
        const sub = a.map((x, i) => x - b[i]);
        await h.expect(
          backend.kernels.binary(h.view(a, shape, 'float32', layout), h.view(b, shape), { op: 'sub' }),
          'float32',
          sub,
          'sub (a strided)',
        );
        await h.expect(
          backend.kernels.binary(h.view(a, shape), h.view(b, shape, 'float32', layout), { op: 'sub' }),
          'float32',
          sub,
          'sub (b strided)',
        );
        await h.expect(
          backend.kernels.binary(h.view(a, shape, 'float32', layout), h.view(b, shape, 'float32', layout), { op: 'lt' }),
          'bool',
          a.map((x, i) => b2n(x < b[i])),
          'lt',
        );
        const ai = [1, -2, 3, 4, -5, 6];
        const bi = [3, 2, -1, 3, 7, -2];
        await h.expect(
          backend.kernels.binary(h.view(ai, shape, 'int32', layout), h.view(bi, shape, 'int32', layout), { op: 'mul' }),
          'int32',
          ai.map((x, i) => x * bi[i]),
          'mul int32',
        );
        const ab = [1, 0, 1, 0, 1, 1];
        const bb = [1, 1, 0, 0, 1, 0];
        await h.expect(
          backend.kernels.binary(h.view(ab, shape, 'bool', layout), h.view(bb, shape, 'bool', layout), { op: 'logicalXor' }),
          'bool',
          ab.map((x, i) => x ^ bb[i]),
          'logicalXor',
        );
      });
    }

    it('honours broadcast (stride-0) inputs: row, column and scalar', async () => {
      const a = h.view([1, 2, 3, 4, 5, 6], [2, 3]);
      const row = h.raw([10, 20, 30], [2, 3], [0, 1]);
      const col = h.raw([100, 200], [2, 3], [1, 0]);
      const sc = h.raw([0.5], [2, 3], [0, 0]);
      await h.expect(backend.kernels.binary(a, row, { op: 'add' }), 'float32', [11, 22, 33, 14, 25, 36], 'a + row');
      await h.expect(backend.kernels.binary(col, a, { op: 'sub' }), 'float32', [99, 98, 97, 196, 195, 194], 'col - a');
      await h.expect(backend.kernels.binary(a, sc, { op: 'mul' }), 'float32', [0.5, 1, 1.5, 2, 2.5, 3], 'a * scalar');
      await h.expect(backend.kernels.binary(row, col, { op: 'maximum' }), 'float32', [100, 100, 100, 200, 200, 200], 'max(row, col)');
    });

    it('handles empty, 0-d and size-1 dims', async () => {
      await h.expect(backend.kernels.binary(h.view([], [0, 2]), h.view([], [0, 2]), { op: 'add' }), 'float32', [], 'empty');
      await h.expect(backend.kernels.binary(h.view([], [3, 0]), h.view([], [3, 0]), { op: 'eq' }), 'bool', [], 'empty eq');
      await h.expect(backend.kernels.binary(h.view([3], []), h.raw([9, 4], [], [], 'float32', 1), { op: 'div' }), 'float32', [0.75], '0-d');
      await h.expect(
        backend.kernels.binary(h.raw([1, 2], [2, 1], [1, 7]), h.raw([3, 4], [2, 1], [1, 0]), { op: 'mul' }),
        'float32',
        [3, 8],
        'size-1',
      );
    });
  });

  describe('cast', () => {
    const F = [-2.7, -0.5, 0, 0.5, 2.7, 3, -0, Number.NaN, Number.POSITIVE_INFINITY];
    const cases: [DType, readonly number[], DType, readonly number[]][] = [
      ['float32', F.slice(0, 7), 'float32', F.slice(0, 7).map(f32)],
      ['float32', F.slice(0, 7), 'int32', [-2, 0, 0, 0, 2, 3, 0]],
      ['float32', F, 'bool', [1, 1, 0, 1, 1, 1, 0, 1, 1]],
      ['int32', [-3, 0, 7, 100000], 'float32', [-3, 0, 7, 100000]],
      ['int32', [-3, 0, 7, 100000], 'int32', [-3, 0, 7, 100000]],
      ['int32', [-3, 0, 7, 100000], 'bool', [1, 0, 1, 1]],
      ['bool', [0, 1, 1, 0], 'float32', [0, 1, 1, 0]],
      ['bool', [0, 1, 1, 0], 'int32', [0, 1, 1, 0]],
      ['bool', [0, 1, 1, 0], 'bool', [0, 1, 1, 0]],
    ];
    for (const [from, x, to, want] of cases) {
      it(`${from} → ${to}`, async () => {
        await h.expect(backend.kernels.cast(h.view(x, [x.length], from), { dtype: to }), to, want, `${from}→${to}`);
      });
    }

    for (const layout of LAYOUTS) {
      it(`honours a ${layout} input`, async () => {
        const x = [-1.5, 2.5, 0, 3.9, -0.1, 7];
        await h.expect(
          backend.kernels.cast(h.view(x, [2, 3], 'float32', layout), { dtype: 'int32' }),
          'int32',
          [-1, 2, 0, 3, 0, 7],
          'float→int32',
        );
        await h.expect(
          backend.kernels.cast(h.view([1, 0, 1, 1, 0, 0], [2, 3], 'bool', layout), { dtype: 'float32' }),
          'float32',
          [1, 0, 1, 1, 0, 0],
          'bool→float',
        );
      });
    }

    it('handles broadcast, empty, 0-d and size-1 inputs', async () => {
      await h.expect(backend.kernels.cast(h.raw([0, 5], [2, 2], [1, 0], 'int32'), { dtype: 'bool' }), 'bool', [0, 0, 1, 1], 'broadcast');
      await h.expect(backend.kernels.cast(h.view([], [0]), { dtype: 'int32' }), 'int32', [], 'empty');
      await h.expect(backend.kernels.cast(h.raw([1, 2, -3.5], [], [], 'float32', 2), { dtype: 'int32' }), 'int32', [-3], '0-d');
      await h.expect(backend.kernels.cast(h.raw([4, 5], [1, 2], [0, 1], 'int32'), { dtype: 'float32' }), 'float32', [4, 5], 'size-1');
    });
  });

  describe('where', () => {
    it('selects per element for every dtype', async () => {
      const cond = h.view([1, 0, 0, 1, 1, 0], [6], 'bool');
      await h.expect(
        backend.kernels.where(cond, h.view(range(6), [6]), h.view(range(6, -1, -1), [6])),
        'float32',
        [1, -2, -3, 4, 5, -6],
        'float32',
      );
      await h.expect(
        backend.kernels.where(cond, h.view(range(6), [6], 'int32'), h.view(range(6, -1, -1), [6], 'int32')),
        'int32',
        [1, -2, -3, 4, 5, -6],
        'int32',
      );
      await h.expect(
        backend.kernels.where(cond, h.view([1, 1, 1, 1, 1, 1], [6], 'bool'), h.view([0, 0, 0, 0, 0, 0], [6], 'bool')),
        'bool',
        [1, 0, 0, 1, 1, 0],
        'bool',
      );
    });

    it('does not leak NaN from the branch that is not taken', async () => {
      const cond = h.view([0, 1, 1, 0], [4], 'bool');
      const a = h.view([Number.NaN, 1, Number.POSITIVE_INFINITY, 2], [4]);
      const b = h.view([5, Number.NaN, 3, Number.NEGATIVE_INFINITY], [4]);
      await h.expect(backend.kernels.where(cond, a, b), 'float32', [5, 1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], 'where');
    });

    for (const layout of LAYOUTS) {
      it(`honours ${layout} inputs`, async () => {
        const c = [1, 0, 1, 0, 0, 1];
        const a = [1, 2, 3, 4, 5, 6];
        const b = [-1, -2, -3, -4, -5, -6];
        const want = c.map((x, i) => (x ? a[i] : b[i]));
        await h.expect(
          backend.kernels.where(
            h.view(c, [2, 3], 'bool', layout),
            h.view(a, [2, 3], 'float32', layout),
            h.view(b, [2, 3], 'float32', layout),
          ),
          'float32',
          want,
          'where',
        );
      });
    }

    it('honours broadcast inputs, empty, 0-d and size-1 dims', async () => {
      const cond = h.raw([1, 0, 1], [2, 3], [0, 1], 'bool');
      const a = h.raw([7], [2, 3], [0, 0]);
      const b = h.raw([10, 20], [2, 3], [1, 0]);
      await h.expect(backend.kernels.where(cond, a, b), 'float32', [7, 10, 7, 7, 20, 7], 'broadcast');
      await h.expect(backend.kernels.where(h.view([], [0, 2], 'bool'), h.view([], [0, 2]), h.view([], [0, 2])), 'float32', [], 'empty');
      await h.expect(
        backend.kernels.where(h.view([0], [], 'bool'), h.view([1], [], 'int32'), h.view([2], [], 'int32')),
        'int32',
        [2],
        '0-d',
      );
      await h.expect(
        backend.kernels.where(h.raw([1, 0], [2, 1], [1, 5], 'bool'), h.raw([1, 2], [2, 1], [1, 9]), h.raw([3, 4], [2, 1], [1, 0])),
        'float32',
        [1, 4],
        'size-1',
      );
    });
  });

  describe('reduce', () => {
    const X = [1, 2, 3, 4, 5, 6];
    const S = [2, 3];

    for (const op of REDUCE_OPS) {
      if (op === 'any' || op === 'all') continue;
      it(`${op} over each axis, all axes and none (float32, int32)`, async () => {
        for (const axes of [[0], [1], [0, 1], []]) {
          const outShape = S.filter((_, i) => !axes.includes(i));
          await h.expect(
            backend.kernels.reduce(h.view(X, S), { op, axes }),
            'float32',
            reduceRef(X, S, axes, op),
            `${op} axes [${axes}] (→ [${outShape}])`,
          );
          const xi = [1, -2, 3, 4, 5, -6];
          await h.expect(
            backend.kernels.reduce(h.view(xi, S, 'int32'), { op, axes }),
            'int32',
            reduceRef(xi, S, axes, op),
            `${op} int32 axes [${axes}]`,
          );
        }
      });
    }

    it('any / all on bool', async () => {
      const x = [0, 1, 0, 0, 0, 0];
      const y = [1, 1, 1, 1, 0, 1];
      await h.expect(backend.kernels.reduce(h.view(x, S, 'bool'), { op: 'any', axes: [1] }), 'bool', [1, 0], 'any');
      await h.expect(backend.kernels.reduce(h.view(x, S, 'bool'), { op: 'any', axes: [0] }), 'bool', [0, 1, 0], 'any axis 0');
      await h.expect(backend.kernels.reduce(h.view(y, S, 'bool'), { op: 'all', axes: [1] }), 'bool', [1, 0], 'all');
      await h.expect(backend.kernels.reduce(h.view(y, S, 'bool'), { op: 'all', axes: [0, 1] }), 'bool', [0], 'all (0-d)');
    });

    it('over non-adjacent axes of a 3-d tensor', async () => {
      const x = range(12);
      await h.expect(backend.kernels.reduce(h.view(x, [2, 3, 2]), { op: 'sum', axes: [0, 2] }), 'float32', [18, 26, 34], 'sum [0, 2]');
      await h.expect(backend.kernels.reduce(h.view(x, [2, 3, 2]), { op: 'max', axes: [0, 2] }), 'float32', [8, 10, 12], 'max [0, 2]');
      await h.expect(
        backend.kernels.reduce(h.view(x, [2, 3, 2]), { op: 'prod', axes: [1] }),
        'float32',
        reduceRef(x, [2, 3, 2], [1], 'prod'),
        'prod [1]',
      );
    });

    it('max / min / sum propagate NaN', async () => {
      const x = [1, Number.NaN, 3, 4, 5, 6];
      await h.expect(backend.kernels.reduce(h.view(x, S), { op: 'max', axes: [0] }), 'float32', [4, Number.NaN, 6], 'max');
      await h.expect(backend.kernels.reduce(h.view(x, S), { op: 'min', axes: [1] }), 'float32', [Number.NaN, 4], 'min');
      await h.expect(backend.kernels.reduce(h.view(x, S), { op: 'sum', axes: [1] }), 'float32', [Number.NaN, 15], 'sum');
      const inf = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
      await h.expect(
        backend.kernels.reduce(h.view(inf, [2]), { op: 'max', axes: [0] }),
        'float32',
        [Number.NEGATIVE_INFINITY],
        'max of -inf',
      );
    });

    it('gives the identity when reducing an empty axis', async () => {
      const want: Record<ReduceOp, number> = {
        sum: 0,
        prod: 1,
        max: Number.NEGATIVE_INFINITY,
        min: Number.POSITIVE_INFINITY,
        any: 0,
        all: 1,
      };
      for (const op of REDUCE_OPS) {
        const dtype: DType = op === 'any' || op === 'all' ? 'bool' : 'float32';
        await h.expect(
          backend.kernels.reduce(h.view([], [2, 0], dtype), { op, axes: [1] }),
          dtype,
          [want[op], want[op]],
          `${op} over empty axis`,
        );
        await h.expect(
          backend.kernels.reduce(h.view([], [0, 3], dtype), { op, axes: [1] }),
          dtype,
          [],
          `${op} of empty keeping the empty axis`,
        );
      }
      await h.expect(backend.kernels.reduce(h.view([], [0], 'int32'), { op: 'sum', axes: [0] }), 'int32', [0], 'int32 sum of empty');
    });

    for (const layout of LAYOUTS) {
      it(`honours a ${layout} input`, async () => {
        const x = [1, -2, 3.5, 4, 5, -6];
        for (const axes of [[0], [1], [0, 1]]) {
          await h.expect(
            backend.kernels.reduce(h.view(x, S, 'float32', layout), { op: 'sum', axes }),
            'float32',
            reduceRef(x, S, axes, 'sum'),
            `sum [${axes}]`,
          );
          await h.expect(
            backend.kernels.reduce(h.view(x, S, 'float32', layout), { op: 'max', axes }),
            'float32',
            reduceRef(x, S, axes, 'max'),
            `max [${axes}]`,
          );
        }
        const xb = [0, 0, 1, 0, 0, 0];
        await h.expect(backend.kernels.reduce(h.view(xb, S, 'bool', layout), { op: 'any', axes: [1] }), 'bool', [1, 0], 'any');
        const x3 = range(24, -5);
        await h.expect(
          backend.kernels.reduce(h.view(x3, [2, 3, 4], 'int32', layout), { op: 'sum', axes: [0, 2] }),
          'int32',
          reduceRef(x3, [2, 3, 4], [0, 2], 'sum'),
          'sum 3-d',
        );
      });
    }

    it('honours broadcast inputs, 0-d and size-1 dims', async () => {
      await h.expect(
        backend.kernels.reduce(h.raw([1, 2, 3], [4, 3], [0, 1]), { op: 'sum', axes: [0] }),
        'float32',
        [4, 8, 12],
        'broadcast sum',
      );
      await h.expect(backend.kernels.reduce(h.raw([1, 2], [2, 3], [1, 0]), { op: 'prod', axes: [1] }), 'float32', [1, 8], 'broadcast prod');
      await h.expect(backend.kernels.reduce(h.raw([0, 0, 4], [], [], 'float32', 2), { op: 'sum', axes: [] }), 'float32', [4], '0-d');
      await h.expect(
        backend.kernels.reduce(h.raw([1, 2, 3], [1, 3, 1], [50, 1, 50]), { op: 'sum', axes: [0, 2] }),
        'float32',
        [1, 2, 3],
        'size-1',
      );
    });
  });

  describe('argReduce', () => {
    it('argmax / argmin along each axis, first occurrence on ties', async () => {
      const x = h.view([1, 5, 5, 7, 2, 2], [2, 3]);
      await h.expect(backend.kernels.argReduce(x, { op: 'argmax', axis: 1 }), 'int32', [1, 0], 'argmax axis 1');
      await h.expect(backend.kernels.argReduce(x, { op: 'argmin', axis: 1 }), 'int32', [0, 1], 'argmin axis 1');
      await h.expect(backend.kernels.argReduce(x, { op: 'argmax', axis: 0 }), 'int32', [1, 0, 0], 'argmax axis 0');
      await h.expect(backend.kernels.argReduce(x, { op: 'argmin', axis: 0 }), 'int32', [0, 1, 1], 'argmin axis 0');
    });

    it('NaN counts as the extreme; -inf ties pick the first', async () => {
      const x = h.view([1, Number.NaN, 3, Number.NaN], [4]);
      await h.expect(backend.kernels.argReduce(x, { op: 'argmax', axis: 0 }), 'int32', [1], 'argmax NaN');
      await h.expect(backend.kernels.argReduce(x, { op: 'argmin', axis: 0 }), 'int32', [1], 'argmin NaN');
      const y = h.view([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], [2]);
      await h.expect(backend.kernels.argReduce(y, { op: 'argmax', axis: 0 }), 'int32', [0], 'argmax -inf');
    });

    it('works on int32', async () => {
      const x = h.view([3, -1, 3, -1], [1, 4], 'int32');
      await h.expect(backend.kernels.argReduce(x, { op: 'argmax', axis: 1 }), 'int32', [0], 'argmax');
      await h.expect(backend.kernels.argReduce(x, { op: 'argmin', axis: 1 }), 'int32', [1], 'argmin');
    });

    for (const layout of LAYOUTS) {
      it(`honours a ${layout} input`, async () => {
        const x = [0.5, -2, 9, 4, 8, -1, 3, 3, 3, -7, 0, 7];
        await h.expect(
          backend.kernels.argReduce(h.view(x, [3, 4], 'float32', layout), { op: 'argmax', axis: 1 }),
          'int32',
          [2, 0, 3],
          'argmax axis 1',
        );
        await h.expect(
          backend.kernels.argReduce(h.view(x, [3, 4], 'float32', layout), { op: 'argmin', axis: 0 }),
          'int32',
          [0, 2, 2, 1],
          'argmin axis 0',
        );
        await h.expect(
          backend.kernels.argReduce(h.view(x, [2, 3, 2], 'float32', layout), { op: 'argmax', axis: 1 }),
          'int32',
          [1, 1, 0, 2],
          'argmax 3-d',
        );
      });
    }

    it('honours broadcast inputs and size-1 dims; empty non-reduced dims', async () => {
      await h.expect(
        backend.kernels.argReduce(h.raw([4, 9, 2], [2, 3], [0, 1]), { op: 'argmax', axis: 1 }),
        'int32',
        [1, 1],
        'broadcast axis 1',
      );
      await h.expect(
        backend.kernels.argReduce(h.raw([4, 9, 2], [2, 3], [0, 1]), { op: 'argmin', axis: 0 }),
        'int32',
        [0, 0, 0],
        'broadcast ties',
      );
      await h.expect(
        backend.kernels.argReduce(h.raw([1, 7, 3], [1, 3, 1], [40, 1, 40]), { op: 'argmax', axis: 1 }),
        'int32',
        [1],
        'size-1',
      );
      await h.expect(backend.kernels.argReduce(h.view([], [0, 3]), { op: 'argmax', axis: 1 }), 'int32', [], 'empty');
      await h.expect(
        backend.kernels.argReduce(h.raw([0, 6], [1], [1], 'float32', 1), { op: 'argmin', axis: 0 }),
        'int32',
        [0],
        'single element with offset',
      );
    });
  });

  describe('matmul', () => {
    const A = [1, 2, 3, 4, 5, 6];
    const B = [7, 8, 9, 10, 11, 12];

    it('multiplies matrices', async () => {
      await h.expect(backend.kernels.matmul(h.view(A, [2, 3]), h.view(B, [3, 2])), 'float32', [58, 64, 139, 154], '[2,3]@[3,2]');
      await h.expect(backend.kernels.matmul(h.view(A, [1, 6]), h.view(B, [6, 1])), 'float32', [217], '[1,6]@[6,1]');
      await h.expect(
        backend.kernels.matmul(h.view(A, [6, 1]), h.view([2], [1, 1])),
        'float32',
        A.map((v) => 2 * v),
        '[6,1]@[1,1]',
      );
    });

    it('multiplies batches', async () => {
      const a = range(12, -5, 0.5);
      const b = range(12, 3, -0.75);
      await h.expect(backend.kernels.matmul(h.view(a, [2, 2, 3]), h.view(b, [2, 3, 2])), 'float32', matmulRef(a, b, 2, 2, 3, 2), 'batched');
      await h.expect(
        backend.kernels.matmul(h.view(a, [2, 1, 2, 3]), h.view(b, [2, 1, 3, 2])),
        'float32',
        matmulRef(a, b, 2, 2, 3, 2),
        'two batch dims',
      );
    });

    it('honours a stride-0 (broadcast) batch dim', async () => {
      const a = range(12, -5, 0.5);
      const bv = h.raw(B, [2, 3, 2], [0, 2, 1]);
      await h.expect(
        backend.kernels.matmul(h.view(a, [2, 2, 3]), bv),
        'float32',
        matmulRef(a, [...B, ...B], 2, 2, 3, 2),
        'b broadcast over batch',
      );
      const av = h.raw(A, [3, 2, 3], [0, 3, 1]);
      const b3 = range(18, 1, -0.5);
      await h.expect(
        backend.kernels.matmul(av, h.view(b3, [3, 3, 2])),
        'float32',
        matmulRef([...A, ...A, ...A], b3, 3, 2, 3, 2),
        'a broadcast over batch',
      );
    });

    for (const layout of LAYOUTS) {
      it(`honours ${layout} operands (a transposed operand is column-major)`, async () => {
        const a = range(12, -3, 0.5);
        const b = range(12, 2, -0.25);
        const want = matmulRef(a, b, 2, 2, 3, 2);
        await h.expect(backend.kernels.matmul(h.view(a, [2, 2, 3], 'float32', layout), h.view(b, [2, 3, 2])), 'float32', want, 'a strided');
        await h.expect(backend.kernels.matmul(h.view(a, [2, 2, 3]), h.view(b, [2, 3, 2], 'float32', layout)), 'float32', want, 'b strided');
        await h.expect(
          backend.kernels.matmul(h.view(A, [2, 3], 'float32', layout), h.view(B, [3, 2], 'float32', layout)),
          'float32',
          [58, 64, 139, 154],
          'both strided',
        );
      });
    }

    it('handles empty sizes: K = 0 gives zeros, M = 0 or batch = 0 gives nothing', async () => {
      await h.expect(backend.kernels.matmul(h.view([], [2, 0]), h.view([], [0, 3])), 'float32', [0, 0, 0, 0, 0, 0], 'K = 0');
      await h.expect(backend.kernels.matmul(h.view([], [0, 3]), h.view(B, [3, 2])), 'float32', [], 'M = 0');
      await h.expect(backend.kernels.matmul(h.view([], [0, 2, 3]), h.view([], [0, 3, 2])), 'float32', [], 'batch = 0');
    });
  });

  describe('gather', () => {
    it('gathers along each axis (torch.gather examples)', async () => {
      const x = h.view([1, 2, 3, 4], [2, 2]);
      await h.expect(backend.kernels.gather(x, h.view([0, 0, 1, 0], [2, 2], 'int32'), { axis: 1 }), 'float32', [1, 1, 4, 3], 'axis 1');
      await h.expect(backend.kernels.gather(x, h.view([0, 1, 1, 0], [2, 2], 'int32'), { axis: 0 }), 'float32', [1, 4, 3, 2], 'axis 0');
      await h.expect(
        backend.kernels.gather(h.view([10, 20, 30, 40, 50], [5]), h.view([4, 0, 4, 2], [4], 'int32'), { axis: 0 }),
        'float32',
        [50, 10, 50, 30],
        '1-d',
      );
    });

    it('accepts an index smaller than x on the other axes; int32 and bool values', async () => {
      const x = range(9);
      await h.expect(
        backend.kernels.gather(h.view(x, [3, 3]), h.view([2, 0], [2, 1], 'int32'), { axis: 1 }),
        'float32',
        [3, 4],
        'small index',
      );
      await h.expect(
        backend.kernels.gather(h.view(x, [3, 3], 'int32'), h.view([2, 0, 1], [1, 3], 'int32'), { axis: 0 }),
        'int32',
        [7, 2, 6],
        'int32',
      );
      await h.expect(
        backend.kernels.gather(h.view([1, 0, 0, 1], [2, 2], 'bool'), h.view([1, 0, 1, 1], [2, 2], 'int32'), { axis: 1 }),
        'bool',
        [0, 1, 1, 1],
        'bool',
      );
    });

    for (const layout of LAYOUTS) {
      it(`honours ${layout} x and index`, async () => {
        const x = range(12, 0.5);
        const idx = [2, 0, 3, 1, 1, 1, 0, 3, 2];
        const want = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => x[i * 4 + idx[i * 3 + j]]));
        await h.expect(
          backend.kernels.gather(h.view(x, [3, 4], 'float32', layout), h.view(idx, [3, 3], 'int32', layout), { axis: 1 }),
          'float32',
          want,
          'gather',
        );
      });
    }

    it('honours a broadcast index, empty index and size-1 dims', async () => {
      const x = h.view([1, 2, 3, 4, 5, 6], [3, 2]);
      await h.expect(
        backend.kernels.gather(x, h.raw([1, 0], [3, 2], [0, 1], 'int32'), { axis: 1 }),
        'float32',
        [2, 1, 4, 3, 6, 5],
        'broadcast index',
      );
      await h.expect(backend.kernels.gather(x, h.view([], [3, 0], 'int32'), { axis: 1 }), 'float32', [], 'empty');
      await h.expect(
        backend.kernels.gather(h.raw([7, 8, 9], [1, 3], [11, 1]), h.raw([2], [1, 1], [5, 5], 'int32'), { axis: 1 }),
        'float32',
        [9],
        'size-1',
      );
    });
  });

  describe('scatter', () => {
    it("reduce 'none' writes src at index (torch.scatter example) and leaves base unchanged", async () => {
      const base = h.view(new Array<number>(15).fill(0), [3, 5]);
      const id = backend.kernels.scatter(base, h.view([0, 1, 2, 0], [1, 4], 'int32'), h.view([1, 2, 3, 4], [1, 4]), {
        axis: 0,
        reduce: 'none',
      });
      await h.expect(id, 'float32', [1, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0], 'scatter');
      expectValues(await h.read(base.dataId, 'float32', 15), new Array<number>(15).fill(0), 'base after scatter');
      const b2 = h.view(new Array<number>(8).fill(0), [2, 4]);
      await h.expect(
        backend.kernels.scatter(b2, h.view([3, 0], [1, 2], 'int32'), h.view([5, 6], [1, 2]), { axis: 1, reduce: 'none' }),
        'float32',
        [6, 0, 0, 5, 0, 0, 0, 0],
        'axis 1',
      );
    });

    it("reduce 'add' accumulates repeated indices (torch.scatter_add example)", async () => {
      const idx = h.view([0, 1, 2, 0, 0, 2, 0, 0, 1, 2], [2, 5], 'int32');
      const src = h.view(new Array<number>(10).fill(1), [2, 5]);
      await h.expect(
        backend.kernels.scatter(h.view(new Array<number>(15).fill(0), [3, 5]), idx, src, { axis: 0, reduce: 'add' }),
        'float32',
        [1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
        'scatter add',
      );
      await h.expect(
        backend.kernels.scatter(
          h.view(new Array<number>(15).fill(10), [3, 5], 'int32'),
          h.view([0, 1, 2, 0, 0, 2, 0, 0, 1, 2], [2, 5], 'int32'),
          h.view(range(10), [2, 5], 'int32'),
          { axis: 0, reduce: 'add' },
        ),
        'int32',
        [11, 17, 18, 14, 15, 10, 12, 10, 19, 10, 16, 10, 13, 10, 20],
        'int32 scatter add',
      );
    });

    for (const layout of LAYOUTS) {
      it(`honours ${layout} base, index and src`, async () => {
        const base = range(6, 0.5);
        const want = [...base];
        // axis 1 of [2, 3]: row r writes src[r][j] at column idx[r][j]
        const idx = [2, 0, 1, 1];
        const src = [10, 20, 30, 40];
        want[0 * 3 + 2] += 10;
        want[0 * 3 + 0] += 20;
        want[1 * 3 + 1] += 30 + 40;
        await h.expect(
          backend.kernels.scatter(
            h.view(base, [2, 3], 'float32', layout),
            h.view(idx, [2, 2], 'int32', layout),
            h.view(src, [2, 2], 'float32', layout),
            { axis: 1, reduce: 'add' },
          ),
          'float32',
          want,
          'scatter add',
        );
        // row 0 gets columns [2, 0, 1] <- [10, 20, 30]; row 1 is untouched
        await h.expect(
          backend.kernels.scatter(
            h.view(base, [2, 3], 'float32', layout),
            h.view([2, 0, 1], [1, 3], 'int32', layout),
            h.view([10, 20, 30], [1, 3], 'float32', layout),
            { axis: 1, reduce: 'none' },
          ),
          'float32',
          [20, 30, 10, 3.5, 4.5, 5.5],
          'scatter none',
        );
      });
    }

    it('honours a broadcast src and index, empty index and size-1 dims', async () => {
      const base = h.view([0, 0, 0, 0, 0, 0], [2, 3]);
      await h.expect(
        backend.kernels.scatter(base, h.raw([2, 0], [2, 2], [0, 1], 'int32'), h.raw([5], [2, 2], [0, 0]), { axis: 1, reduce: 'add' }),
        'float32',
        [5, 0, 5, 5, 0, 5],
        'broadcast',
      );
      await h.expect(
        backend.kernels.scatter(base, h.view([], [2, 0], 'int32'), h.view([], [2, 0]), { axis: 1, reduce: 'none' }),
        'float32',
        [0, 0, 0, 0, 0, 0],
        'empty index',
      );
      await h.expect(
        backend.kernels.scatter(h.raw([1, 2, 3], [1, 3], [9, 1]), h.raw([1], [1, 1], [3, 3], 'int32'), h.raw([8], [1, 1], [4, 4]), {
          axis: 1,
          reduce: 'none',
        }),
        'float32',
        [1, 8, 3],
        'size-1',
      );
    });
  });

  describe('cumsum', () => {
    it('along each axis (float32, int32) and propagating NaN', async () => {
      await h.expect(backend.kernels.cumsum(h.view([1, 2, 3, 4, 5, 6], [2, 3]), { axis: 1 }), 'float32', [1, 3, 6, 4, 9, 15], 'axis 1');
      await h.expect(backend.kernels.cumsum(h.view([1, 2, 3, 4, 5, 6], [2, 3]), { axis: 0 }), 'float32', [1, 2, 3, 5, 7, 9], 'axis 0');
      await h.expect(
        backend.kernels.cumsum(h.view([1, -2, 3, 4, 5, -6], [2, 3], 'int32'), { axis: 1 }),
        'int32',
        [1, -1, 2, 4, 9, 3],
        'int32',
      );
      await h.expect(backend.kernels.cumsum(h.view([1, Number.NaN, 2], [3]), { axis: 0 }), 'float32', [1, Number.NaN, Number.NaN], 'NaN');
    });

    for (const layout of LAYOUTS) {
      it(`honours a ${layout} input`, async () => {
        const x = range(12, -2);
        const want1 = [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((j) => x.slice(i * 4, i * 4 + j + 1).reduce((a, b) => a + b, 0)));
        await h.expect(backend.kernels.cumsum(h.view(x, [3, 4], 'float32', layout), { axis: 1 }), 'float32', want1, 'axis 1');
        const want0 = [0, 1, 2].flatMap((i) =>
          [0, 1, 2, 3].map((j) => [0, 1, 2].filter((r) => r <= i).reduce((a, r) => a + x[r * 4 + j], 0)),
        );
        await h.expect(backend.kernels.cumsum(h.view(x, [3, 4], 'int32', layout), { axis: 0 }), 'int32', want0, 'axis 0 int32');
      });
    }

    it('honours broadcast inputs, empty, 0-d-like and size-1 dims', async () => {
      await h.expect(backend.kernels.cumsum(h.raw([1, 2, 3], [2, 3], [0, 1]), { axis: 0 }), 'float32', [1, 2, 3, 2, 4, 6], 'broadcast');
      await h.expect(backend.kernels.cumsum(h.view([], [0, 3]), { axis: 0 }), 'float32', [], 'empty');
      await h.expect(
        backend.kernels.cumsum(h.raw([4, 5, 6], [1], [1], 'float32', 2), { axis: 0 }),
        'float32',
        [6],
        'single element with offset',
      );
      await h.expect(backend.kernels.cumsum(h.raw([1, 2, 3], [1, 3, 1], [17, 1, 17]), { axis: 1 }), 'float32', [1, 3, 6], 'size-1');
    });
  });

  describe('concat', () => {
    it('joins along each axis, incl. an empty input and three inputs', async () => {
      await h.expect(
        backend.kernels.concat([h.view([1, 2], [1, 2]), h.view([3, 4, 5, 6], [2, 2])], { axis: 0 }),
        'float32',
        [1, 2, 3, 4, 5, 6],
        'axis 0',
      );
      await h.expect(
        backend.kernels.concat([h.view([1, 2], [2, 1]), h.view([3, 4, 5, 6], [2, 2])], { axis: 1 }),
        'float32',
        [1, 3, 4, 2, 5, 6],
        'axis 1',
      );
      await h.expect(
        backend.kernels.concat([h.view([], [0, 2]), h.view([3, 4, 5, 6], [2, 2])], { axis: 0 }),
        'float32',
        [3, 4, 5, 6],
        'with empty',
      );
      await h.expect(
        backend.kernels.concat([h.view([1], [1]), h.view([2, 3], [2]), h.view([4], [1])], { axis: 0 }),
        'float32',
        [1, 2, 3, 4],
        'three 1-d',
      );
      await h.expect(backend.kernels.concat([h.view([7, 8], [2])], { axis: 0 }), 'float32', [7, 8], 'single input copies');
    });

    it('works for int32 and bool', async () => {
      await h.expect(
        backend.kernels.concat([h.view([1, 2], [2, 1], 'int32'), h.view([-3, -4], [2, 1], 'int32')], { axis: 1 }),
        'int32',
        [1, -3, 2, -4],
        'int32',
      );
      await h.expect(
        backend.kernels.concat([h.view([1, 0], [2], 'bool'), h.view([0, 1, 1], [3], 'bool')], { axis: 0 }),
        'bool',
        [1, 0, 0, 1, 1],
        'bool',
      );
    });

    for (const layout of LAYOUTS) {
      it(`honours ${layout} inputs`, async () => {
        const a = range(6);
        const b = range(4, 10);
        const want1 = [0, 1].flatMap((i) => [...a.slice(i * 3, i * 3 + 3), ...b.slice(i * 2, i * 2 + 2)]);
        await h.expect(
          backend.kernels.concat([h.view(a, [2, 3], 'float32', layout), h.view(b, [2, 2], 'float32', layout)], { axis: 1 }),
          'float32',
          want1,
          'axis 1',
        );
        const c = range(6, 20);
        await h.expect(
          backend.kernels.concat([h.view(a, [2, 3], 'int32', layout), h.view(c, [2, 3], 'int32')], { axis: 0 }),
          'int32',
          [...a, ...c],
          'axis 0',
        );
      });
    }

    it('honours broadcast inputs and size-1 dims', async () => {
      await h.expect(
        backend.kernels.concat([h.raw([1, 2], [2, 2], [0, 1]), h.raw([9], [1, 2], [0, 0])], { axis: 0 }),
        'float32',
        [1, 2, 1, 2, 9, 9],
        'broadcast',
      );
      await h.expect(
        backend.kernels.concat([h.raw([5, 6, 7], [1, 1], [3, 3], 'float32', 1), h.raw([8], [1, 1], [0, 0])], { axis: 1 }),
        'float32',
        [6, 8],
        'size-1 with offset',
      );
    });
  });

  describe('fill', () => {
    it('fills every dtype, empty and 0-d shapes, and special values', async () => {
      await h.expect(
        backend.kernels.fill({ shape: [2, 3], dtype: 'float32', value: 1.5 }),
        'float32',
        new Array<number>(6).fill(1.5),
        'float32',
      );
      await h.expect(backend.kernels.fill({ shape: [4], dtype: 'int32', value: -7 }), 'int32', [-7, -7, -7, -7], 'int32');
      await h.expect(backend.kernels.fill({ shape: [3], dtype: 'bool', value: 1 }), 'bool', [1, 1, 1], 'bool');
      await h.expect(backend.kernels.fill({ shape: [0, 4], dtype: 'float32', value: 3 }), 'float32', [], 'empty');
      await h.expect(backend.kernels.fill({ shape: [], dtype: 'float32', value: -2.5 }), 'float32', [-2.5], '0-d');
      await h.expect(backend.kernels.fill({ shape: [2], dtype: 'float32', value: Number.NaN }), 'float32', [Number.NaN, Number.NaN], 'NaN');
      await h.expect(
        backend.kernels.fill({ shape: [1, 2, 1], dtype: 'float32', value: Number.NEGATIVE_INFINITY }),
        'float32',
        [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
        '-inf',
      );
    });
  });

  describe('write', () => {
    /** Reads a whole buffer of `n` elements. */
    const whole = (id: DataId, dtype: DType, n: number) => h.read(id, dtype, n);

    it('writes into a contiguous target at an offset, leaving the rest of the buffer as it was', async () => {
      const target = h.raw([0, 1, 2, 3, 4, 5], [3], [1], 'float32', 2);
      backend.kernels.write(target, h.view([10.5, -11, 12], [3]));
      expectValues(await whole(target.dataId, 'float32', 6), [0, 1, 10.5, -11, 12, 5], 'buffer after write', {}, true);
    });

    it('writes every dtype exactly (NaN, -0, infinities, int32 extremes, bool)', async () => {
      const f = h.raw([1, 1, 1, 1], [4], [1]);
      backend.kernels.write(f, h.view([Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], [4]));
      const got = await whole(f.dataId, 'float32', 4);
      expect(
        Number.isNaN(got[0]) && Object.is(got[1], -0) && got[2] === Number.POSITIVE_INFINITY && got[3] === Number.NEGATIVE_INFINITY,
      ).toBe(true);
      const i = h.raw([0, 0, 0], [3], [1], 'int32');
      backend.kernels.write(i, h.view([2147483647, -2147483648, -1], [3], 'int32'));
      expectValues(await whole(i.dataId, 'int32', 3), [2147483647, -2147483648, -1], 'int32', {}, true);
      const b = h.raw([0, 1, 0], [3], [1], 'bool');
      backend.kernels.write(b, h.view([1, 0, 1], [3], 'bool'));
      expectValues(await whole(b.dataId, 'bool', 3), [1, 0, 1], 'bool', {}, true);
    });

    it('writes through strided, transposed and stepped targets (a column, a transposed block, every other element)', async () => {
      // Column 1 of a 3x3 row-major buffer.
      const col = h.raw([0, 1, 2, 3, 4, 5, 6, 7, 8], [3], [3], 'float32', 1);
      backend.kernels.write(col, h.view([-1, -2, -3], [3]));
      expectValues(await whole(col.dataId, 'float32', 9), [0, -1, 2, 3, -2, 5, 6, -3, 8], 'column', {}, true);
      // The transpose of a 2x3 buffer, viewed as 3x2.
      const tr = h.raw([0, 0, 0, 0, 0, 0], [3, 2], [1, 3]);
      backend.kernels.write(tr, h.view([1, 2, 3, 4, 5, 6], [3, 2]));
      expectValues(await whole(tr.dataId, 'float32', 6), [1, 3, 5, 2, 4, 6], 'transposed', {}, true);
      // Every other element, starting at 1.
      const step = h.raw([9, 9, 9, 9, 9, 9, 9], [3], [2], 'int32', 1);
      backend.kernels.write(step, h.view([4, 5, 6], [3], 'int32'));
      expectValues(await whole(step.dataId, 'int32', 7), [9, 4, 9, 5, 9, 6, 9], 'stepped', {}, true);
    });

    for (const layout of LAYOUTS) {
      it(`reads a ${layout} source`, async () => {
        const values = [1.25, -2, 3, 4.5, -5, 6];
        const target = h.raw(new Array<number>(6).fill(0), [2, 3], [3, 1]);
        backend.kernels.write(target, h.view(values, [2, 3], 'float32', layout));
        expectValues(await whole(target.dataId, 'float32', 6), values, layout, {}, true);
      });
    }

    it('reads a broadcast (stride-0) source: a scalar to every element and a row to every row', async () => {
      const target = h.raw(new Array<number>(6).fill(0), [2, 3], [3, 1]);
      backend.kernels.write(target, h.raw([7], [2, 3], [0, 0]));
      expectValues(await whole(target.dataId, 'float32', 6), [7, 7, 7, 7, 7, 7], 'scalar source', {}, true);
      backend.kernels.write(target, h.raw([1, 2, 3], [2, 3], [0, 1]));
      expectValues(await whole(target.dataId, 'float32', 6), [1, 2, 3, 1, 2, 3], 'row source', {}, true);
    });

    it('handles 0-d and empty targets, and size-1 dims with any stride', async () => {
      const scalarTarget = h.raw([5, 6], [], [], 'float32', 1);
      backend.kernels.write(scalarTarget, h.raw([8], [], []));
      expectValues(await whole(scalarTarget.dataId, 'float32', 2), [5, 8], '0-d', {}, true);
      const empty = h.raw([1, 2], [0, 2], [2, 1]);
      backend.kernels.write(empty, h.raw([3], [0, 2], [0, 0]));
      expectValues(await whole(empty.dataId, 'float32', 2), [1, 2], 'empty', {}, true);
      const size1 = h.raw([0, 0, 0, 0], [1, 2], [99, 2], 'float32', 0);
      backend.kernels.write(size1, h.view([3, 4], [1, 2]));
      expectValues(await whole(size1.dataId, 'float32', 4), [3, 0, 4, 0], 'size-1 dim', {}, true);
    });

    it('is ordered with the kernels around it: earlier kernels see the old values, later ones the new', async () => {
      const buf = h.view([1, 2, 3], [3]);
      const before = backend.kernels.unary(buf, { op: 'neg' });
      backend.kernels.write(buf, h.view([10, 20, 30], [3]));
      const after = backend.kernels.unary(buf, { op: 'neg' });
      await h.expect(before, 'float32', [-1, -2, -3], 'kernel enqueued before the write');
      await h.expect(after, 'float32', [-10, -20, -30], 'kernel enqueued after the write');
    });

    it('leaves the buffer count unchanged (it allocates no output)', async () => {
      const target = h.view([0, 0], [2]);
      const src = h.view([1, 2], [2]);
      const buffers = backend.memory().buffers;
      backend.kernels.write(target, src);
      expect(backend.memory().buffers).toBe(buffers);
      expectValues(await whole(target.dataId, 'float32', 2), [1, 2], 'written', {}, true);
    });
  });

  describe('fused kernels equal the composition of primitives', () => {
    /** Primitive compositions, built from the backend's own kernels. */
    const P = {
      un: (op: UnaryOp, x: TensorView): TensorView =>
        h.out(backend.kernels.unary(x, { op }), x.shape, op === 'logicalNot' ? 'bool' : x.dtype),
      bin: (op: BinaryOp, a: TensorView, b: TensorView): TensorView =>
        h.out(backend.kernels.binary(a, b, { op }), a.shape, binaryOutDType(op, a.dtype)),
      /** Reduces `axis` and re-expands it with stride 0 to `x.shape` (keepdim + broadcast). */
      redB: (op: ReduceOp, x: TensorView, axis: number): TensorView => {
        const rs = x.shape.filter((_, i) => i !== axis);
        const r = h.out(backend.kernels.reduce(x, { op, axes: [axis] }), rs, x.dtype);
        const strides = [...r.strides];
        strides.splice(axis, 0, 0);
        return { ...r, shape: x.shape, strides };
      },
      scalar: (v: number, shape: Shape): TensorView => ({
        ...h.out(backend.kernels.fill({ shape: [], dtype: 'float32', value: v }), [], 'float32'),
        shape,
        strides: shape.map(() => 0),
      }),
      /** Columns `[k*w, (k+1)*w)` of a contiguous 2-d view. */
      cols: (x: TensorView, k: number, w: number): TensorView => ({
        ...x,
        shape: [x.shape[0], w],
        strides: [x.shape[1], 1],
        offset: x.offset + k * w,
      }),
    };

    async function compare(fused: DataId, shape: Shape, composed: TensorView, what: string): Promise<void> {
      const want = await h.read(composed.dataId, 'float32', sizeOf(shape));
      await h.expect(fused, 'float32', want, what, { atol: 1e-5, rtol: 1e-4 });
    }

    const X = [0.1, -1.2, 2.3, 0.7, -0.4, 1.9, -2.2, 0.05, 1.1, -0.8, 0.3, 2.6];

    it('softmax and logSoftmax', async (t) => {
      const softmax = backend.fused.softmax;
      const logSoftmax = backend.fused.logSoftmax;
      if (!softmax && !logSoftmax) t.skip();
      for (const axis of [0, 1]) {
        const x = h.view(X, [3, 4]);
        const shifted = P.bin('sub', x, P.redB('max', x, axis));
        const e = P.un('exp', shifted);
        const s = P.redB('sum', e, axis);
        if (softmax) await compare(backend.fused.softmax?.(x, { axis }) as DataId, [3, 4], P.bin('div', e, s), `softmax axis ${axis}`);
        if (logSoftmax)
          await compare(
            backend.fused.logSoftmax?.(x, { axis }) as DataId,
            [3, 4],
            P.bin('sub', shifted, P.un('log', s)),
            `logSoftmax axis ${axis}`,
          );
      }
      if (softmax) {
        const xt = h.view(X, [3, 4], 'float32', 'column-major');
        const e = P.un('exp', P.bin('sub', xt, P.redB('max', xt, 1)));
        await compare(
          backend.fused.softmax?.(xt, { axis: 1 }) as DataId,
          [3, 4],
          P.bin('div', e, P.redB('sum', e, 1)),
          'softmax of a transposed input',
        );
      }
    });

    it('logSoftmaxGather and logSoftmaxGatherBackward', async (t) => {
      const forward = backend.fused.logSoftmaxGather;
      const backward = backend.fused.logSoftmaxGatherBackward;
      if (!forward && !backward) t.skip();
      // Contiguous [3, 4] with both end classes and a gradient per row; then 37 classes
      // (vector tails) read column-major, with one gradient broadcast to every row (a mean's).
      const wide = Array.from({ length: 3 * 37 }, (_, i) => X[i % X.length] * (1 + (i % 5)) - (i % 7));
      const cases: [TensorView, number[], TensorView, string][] = [
        [h.view(X, [3, 4]), [0, 3, 2], h.view([0.5, -1.5, 2], [3, 1]), '[3, 4]'],
        [h.view(wide, [3, 37], 'float32', 'column-major'), [36, 0, 17], h.raw([0.75], [3, 1], [0, 0]), '[3, 37], column-major'],
      ];
      for (const [x, classes, g, what] of cases) {
        const index = h.view(classes, [3, 1], 'int32');
        const shifted = P.bin('sub', x, P.redB('max', x, 1));
        const e = P.un('exp', shifted);
        const s = P.redB('sum', e, 1);
        const picked = h.out(backend.kernels.gather(P.bin('sub', shifted, P.un('log', s)), index, { axis: 1 }), [3, 1], 'float32');
        const prod = P.bin('mul', P.bin('div', e, s), { ...P.un('neg', g), shape: x.shape, strides: [1, 0] });
        const dx = h.out(backend.kernels.scatter(prod, index, g, { axis: 1, reduce: 'add' }), x.shape, 'float32');
        // The stats the contract describes: per row the max and 1 / sum(exp(x - max)).
        const column = (id: DataId): TensorView => h.out(id, [3, 1], 'float32');
        const inv = P.un('reciprocal', column(backend.kernels.reduce(e, { op: 'sum', axes: [1] })));
        const stats = h.out(
          backend.kernels.concat([column(backend.kernels.reduce(x, { op: 'max', axes: [1] })), inv], { axis: 1 }),
          [3, 2],
          'float32',
        );
        if (forward) {
          const [pid, sid] = forward.call(backend.fused, x, index);
          await compare(pid, [3, 1], picked, `logSoftmaxGather picks, ${what}`);
          await compare(sid, [3, 2], stats, `logSoftmaxGather stats (max, 1 / sum), ${what}`);
        }
        if (backward) await compare(backward.call(backend.fused, x, stats, index, g), x.shape, dx, `logSoftmaxGatherBackward, ${what}`);
      }
    });

    it('linear', async (t) => {
      if (!backend.fused.linear) t.skip();
      const x = h.view(X.slice(0, 6), [2, 3]);
      const w = h.view(
        X.slice(0, 12).map((v) => v * 0.5),
        [4, 3],
      );
      const bias = h.view([0.5, -1, 2, 0], [4]);
      const wT: TensorView = { ...w, shape: [3, 4], strides: [1, 3] };
      const mm = h.out(backend.kernels.matmul(x, wT), [2, 4], 'float32');
      await compare(backend.fused.linear?.(x, w, null) as DataId, [2, 4], mm, 'linear without bias');
      const withBias = P.bin('add', mm, { ...bias, shape: [2, 4], strides: [0, 1] });
      await compare(backend.fused.linear?.(x, w, bias) as DataId, [2, 4], withBias, 'linear with bias');
      const x3 = h.view(X, [2, 2, 3]);
      const mm3 = h.out(backend.kernels.matmul({ ...x3, shape: [4, 3], strides: [3, 1] }, wT), [4, 4], 'float32');
      await compare(backend.fused.linear?.(x3, w, null) as DataId, [2, 2, 4], mm3, 'linear on a 3-d input');
    });

    it('layerNorm (out, mean, rstd), with and without affine', async (t) => {
      const layerNorm = backend.fused.layerNorm;
      if (!layerNorm) {
        t.skip();
        return;
      }
      const n = 4;
      const eps = 1e-5;
      const x = h.view(X, [3, n]);
      const nB = P.scalar(n, [3, n]);
      const mean = P.bin('div', P.redB('sum', x, 1), nB);
      const xc = P.bin('sub', x, mean);
      const variance = P.bin('div', P.redB('sum', P.bin('mul', xc, xc), 1), nB);
      const rstd = P.un('rsqrt', P.bin('add', variance, P.scalar(eps, [3, n])));
      const norm = P.bin('mul', xc, rstd);
      const w = h.view([1, 2, -0.5, 0.25], [n]);
      const b = h.view([0, 0.1, -0.2, 3], [n]);
      const affine = P.bin('add', P.bin('mul', norm, { ...w, shape: [3, n], strides: [0, 1] }), { ...b, shape: [3, n], strides: [0, 1] });
      const meanRows: TensorView = { ...mean, shape: [3], strides: [n] };
      const rstdRows: TensorView = { ...rstd, shape: [3], strides: [n] };
      const meanC = h.out(backend.kernels.unary(meanRows, { op: 'identity' }), [3], 'float32');
      const rstdC = h.out(backend.kernels.unary(rstdRows, { op: 'identity' }), [3], 'float32');
      const [o1, m1, r1] = layerNorm.call(backend.fused, x, null, null, { normalizedSize: n, eps });
      await compare(o1, [3, n], norm, 'layerNorm out');
      await compare(m1, [3], meanC, 'layerNorm mean');
      await compare(r1, [3], rstdC, 'layerNorm rstd');
      const [o2, m2, r2] = layerNorm.call(backend.fused, x, w, b, { normalizedSize: n, eps });
      h.own(m2);
      h.own(r2);
      await compare(o2, [3, n], affine, 'layerNorm affine out');
    });

    it('lstmCell', async (t) => {
      const lstmCell = backend.fused.lstmCell;
      if (!lstmCell) {
        t.skip();
        return;
      }
      const H = 3;
      // The input and hidden gate sums; the kernel adds them (the composition's add).
      const gi = h.view([...X, ...X.map((v) => -0.7 * v)], [2, 4 * H]);
      const gh = h.view(
        [...X, ...X].map((v, k) => 0.25 - 0.1 * k + 0.3 * v),
        [2, 4 * H],
      );
      const gates = P.bin('add', gi, gh);
      const c = h.view([0.5, -0.3, 1.2, -1, 0.1, 0.9], [2, H]);
      const i = P.un('sigmoid', P.cols(gates, 0, H));
      const f = P.un('sigmoid', P.cols(gates, 1, H));
      const g = P.un('tanh', P.cols(gates, 2, H));
      const o = P.un('sigmoid', P.cols(gates, 3, H));
      const c2 = P.bin('add', P.bin('mul', f, c), P.bin('mul', i, g));
      const h2 = P.bin('mul', o, P.un('tanh', c2));
      const [hOut, cOut] = lstmCell.call(backend.fused, gi, gh, c);
      await compare(hOut, [2, H], h2, 'lstmCell h');
      await compare(cOut, [2, H], c2, 'lstmCell c');
    });

    it('gruCell', async (t) => {
      const gruCell = backend.fused.gruCell;
      if (!gruCell) {
        t.skip();
        return;
      }
      const H = 2;
      const gi = h.view(X, [2, 3 * H]);
      const gh = h.view(
        X.map((v) => 0.3 - v),
        [2, 3 * H],
      );
      const hPrev = h.view([0.2, -0.6, 1.5, 0.05], [2, H]);
      const r = P.un('sigmoid', P.bin('add', P.cols(gi, 0, H), P.cols(gh, 0, H)));
      const z = P.un('sigmoid', P.bin('add', P.cols(gi, 1, H), P.cols(gh, 1, H)));
      const nGate = P.un('tanh', P.bin('add', P.cols(gi, 2, H), P.bin('mul', r, P.cols(gh, 2, H))));
      const want = P.bin('add', nGate, P.bin('mul', z, P.bin('sub', hPrev, nGate)));
      await compare(gruCell.call(backend.fused, gi, gh, hPrev), [2, H], want, 'gruCell');
    });

    const ADAM: AdamUpdateAttrs = {
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupled: false,
      step: 3,
      maximize: false,
    };

    /**
     * The contract's Adam step composed from primitives on `p` (at offset 0), `g`, `m`, `v`,
     * `vx`; returns the expected `[param, expAvg, expAvgSq, maxExpAvgSq]` of `n` elements, read
     * before the fused kernel overwrites its inputs.
     */
    async function composedAdam(
      pv: TensorView,
      g: TensorView,
      m: TensorView,
      v: TensorView,
      vx: TensorView | null,
      a: AdamUpdateAttrs,
      n: number,
    ): Promise<number[][]> {
      const S = (value: number): TensorView => P.scalar(value, pv.shape);
      let gg = a.maximize ? P.un('neg', g) : g;
      let base = pv;
      if (a.weightDecay !== 0) {
        if (a.decoupled) base = P.bin('mul', pv, S(1 - a.lr * a.weightDecay));
        else gg = P.bin('add', gg, P.bin('mul', pv, S(a.weightDecay)));
      }
      const m2 = P.bin('add', P.bin('mul', m, S(a.beta1)), P.bin('mul', gg, S(1 - a.beta1)));
      const v2 = P.bin('add', P.bin('mul', v, S(a.beta2)), P.bin('mul', P.bin('mul', gg, gg), S(1 - a.beta2)));
      const second = vx ? P.bin('maximum', vx, v2) : v2;
      const denom = P.bin('add', P.bin('div', P.un('sqrt', second), S(Math.sqrt(1 - a.beta2 ** a.step))), S(a.eps));
      const p2 = P.bin('add', base, P.bin('mul', P.bin('div', m2, denom), S(-(a.lr / (1 - a.beta1 ** a.step)))));
      return Promise.all([p2, m2, v2, second].map((w) => h.read(w.dataId, 'float32', n)));
    }

    it('adamUpdate (in place): Adam, L2 decay with maximize, AdamW with AMSGrad; strided gradient, offset parameter', async (t) => {
      const adam = backend.fused.adamUpdate;
      if (!adam) {
        t.skip();
        return;
      }
      const shape = [3, 4];
      const cases: [string, Partial<AdamUpdateAttrs>, boolean][] = [
        ['Adam', {}, false],
        ['Adam, L2 weight decay, maximize', { weightDecay: 0.1, maximize: true }, false],
        ['AdamW, AMSGrad', { weightDecay: 0.05, decoupled: true }, true],
      ];
      for (const [name, extra, amsgrad] of cases) {
        const a: AdamUpdateAttrs = { ...ADAM, ...extra };
        const P0 = X.map((v) => v * 0.7);
        // The parameter sits at offset 2 of its buffer; what is before it must stay.
        const p = h.raw([9, -9, ...P0], shape, [4, 1], 'float32', 2);
        const g = h.view(
          X.map((v) => 0.3 - 0.5 * v),
          shape,
          'float32',
          'column-major',
        );
        const m = h.view(
          X.map((v) => 0.01 * v),
          shape,
        );
        const v = h.view(
          X.map((x) => 0.002 * x * x),
          shape,
        );
        const vx = amsgrad
          ? h.view(
              X.map((x, i) => (i % 2 ? 0.004 * x * x : 0)),
              shape,
            )
          : null;
        // The same parameter values at offset 0, for the composition.
        const want = await composedAdam(h.view(P0, shape), g, m, v, vx, a, 12);
        adam.call(backend.fused, p, g, m, v, vx, a);
        const got = await h.read(p.dataId, 'float32', 14);
        expect(got.slice(0, 2), `${name}: elements before the parameter's offset`).toEqual([9, -9]);
        expectValues(got.slice(2), want[0], `${name}: param`, { atol: 1e-6, rtol: 1e-5 });
        expectValues(await h.read(m.dataId, 'float32', 12), want[1], `${name}: expAvg`, { atol: 1e-7, rtol: 1e-5 });
        expectValues(await h.read(v.dataId, 'float32', 12), want[2], `${name}: expAvgSq`, { atol: 1e-9, rtol: 1e-5 });
        if (vx) expectValues(await h.read(vx.dataId, 'float32', 12), want[3], `${name}: maxExpAvgSq`, { atol: 1e-9, rtol: 1e-5 });
      }
    });

    it('adamUpdate over 5x67 elements (more than one block of threads) with a broadcast gradient, AMSGrad with a NaN, a later step', async (t) => {
      const adam = backend.fused.adamUpdate;
      if (!adam) {
        t.skip();
        return;
      }
      const shape = [5, 67];
      const n = 5 * 67;
      const a: AdamUpdateAttrs = { ...ADAM, lr: 3e-3, weightDecay: 0.02, step: 11 };
      const wave = (k: number, s: number): number => Math.sin(0.37 * k + s) * (1 + (k % 7) / 3);
      const P0 = Array.from({ length: n }, (_, k) => wave(k, 0.5));
      // One gradient row for every parameter row: stride 0 across rows.
      const g = h.raw(
        Array.from({ length: 67 }, (_, k) => 0.2 * wave(k, 1.3)),
        shape,
        [0, 1],
      );
      const m = h.view(
        P0.map((x) => 0.05 * x),
        shape,
      );
      const v = h.view(
        P0.map((x) => 0.01 * x * x),
        shape,
      );
      // A NaN in the running maximum propagates (as `maximum` does) to that element only.
      const vx = h.view(
        P0.map((x, k) => (k === 200 ? Number.NaN : k % 3 ? 0.02 * x * x : 0)),
        shape,
      );
      const p = h.view(P0, shape);
      const want = await composedAdam(h.view(P0, shape), g, m, v, vx, a, n);
      expect(Number.isNaN(want[0][200]) && Number.isFinite(want[0][199]), 'test bug: the NaN stays at its element').toBe(true);
      adam.call(backend.fused, p, g, m, v, vx, a);
      expectValues(await h.read(p.dataId, 'float32', n), want[0], 'param', { atol: 1e-6, rtol: 1e-5 });
      expectValues(await h.read(m.dataId, 'float32', n), want[1], 'expAvg', { atol: 1e-7, rtol: 1e-5 });
      expectValues(await h.read(v.dataId, 'float32', n), want[2], 'expAvgSq', { atol: 1e-9, rtol: 1e-5 });
      expectValues(await h.read(vx.dataId, 'float32', n), want[3], 'maxExpAvgSq', { atol: 1e-9, rtol: 1e-5 });
    });
  });

  describe('hygiene', () => {
    it('every handle this suite made is freed again (buffers back to baseline)', () => {
      h.disposeAll();
      expect(backend.memory().buffers).toBe(baselineBuffers);
    });
  });
}
