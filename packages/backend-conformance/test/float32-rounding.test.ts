/**
 * The kernels suite's float32-storage check catches a backend that computes in float64 and
 * never rounds (no `Math.fround`, buffers of float64): reads round on the way out, so value
 * checks alone cannot see it, yet chained kernels drift from PyTorch. A small reference
 * backend is built twice from the same kernels, storing float32 values or float64 values;
 * the check must pass the first and name every arithmetic kernel of the second.
 */
import '@ghostflow/backend-cpu';
import {
  type Backend,
  type BackendMemory,
  type DType,
  type DTypeArrayMap,
  type DataId,
  KERNEL_CONTRACT_VERSION,
  type PrimitiveKernels,
  type TensorView,
  type UnaryOp,
  allocArray,
  loadBackend,
  sizeOf,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { float32StorageViolations } from '../src/suites/kernels.js';

class Buf {
  constructor(
    readonly data: Float64Array | Float32Array,
    readonly dtype: DType,
  ) {}
}

/** Values of a view in row-major order. */
function values(v: TensorView): number[] {
  const src = (v.dataId as Buf).data;
  const out: number[] = [];
  for (let flat = 0; flat < sizeOf(v.shape); flat++) {
    let rest = flat;
    let pos = v.offset;
    for (let d = v.shape.length - 1; d >= 0; d--) {
      pos += (rest % v.shape[d]) * v.strides[d];
      rest = Math.floor(rest / v.shape[d]);
    }
    out.push(src[pos]);
  }
  return out;
}

const erf = (x: number): number => {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const UNARY: Partial<Record<UnaryOp, (x: number) => number>> = {
  exp: Math.exp,
  expm1: Math.expm1,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: sig,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x * sig(x),
  softplus: (x) => Math.log1p(Math.exp(x)),
  erf,
};

/** A float32-only backend with the arithmetic kernels the check uses; `float64` keeps float64 values. */
function referenceBackend(name: string, float64: boolean): Backend {
  const stats: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  const make = (vals: ArrayLike<number>): Buf => {
    stats.buffers++;
    return new Buf(float64 ? Float64Array.from(vals) : Float32Array.from(vals), 'float32');
  };
  const unsupported = (): never => {
    throw new Error('not needed by this test');
  };
  const kernels: PrimitiveKernels = {
    unary: (x, { op }) => make(values(x).map(UNARY[op] ?? unsupported)),
    binary: (a, b, { op }) => {
      const bv = values(b);
      const f: Record<string, (p: number, q: number) => number> = {
        add: (p, q) => p + q,
        sub: (p, q) => p - q,
        mul: (p, q) => p * q,
        div: (p, q) => p / q,
        pow: (p, q) => p ** q,
      };
      return make(values(a).map((p, i) => (f[op] ?? unsupported)(p, bv[i])));
    },
    reduce: (x, { op, axes }) => {
      // [2, 3] inputs only: rows (axes [1]) or columns (axes [0])
      const v = values(x);
      const [r, c] = x.shape;
      const acc = (xs: number[]) => xs.reduce((p, q) => (op === 'sum' ? p + q : p * q), op === 'sum' ? 0 : 1);
      if (axes[0] === 1) return make(Array.from({ length: r }, (_, i) => acc(v.slice(i * c, i * c + c))));
      return make(Array.from({ length: c }, (_, j) => acc(Array.from({ length: r }, (_, i) => v[i * c + j]))));
    },
    cumsum: (x) => {
      const v = values(x);
      const c = x.shape[1];
      const out: number[] = [];
      v.forEach((p, i) => out.push(i % c === 0 ? p : out[i - 1] + p));
      return make(out);
    },
    matmul: (a, b) => {
      const [m, k] = a.shape;
      const n = b.shape[1];
      const av = values(a);
      const bv = values(b);
      const out: number[] = [];
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += av[i * k + p] * bv[p * n + j];
          out.push(s);
        }
      return make(out);
    },
    cast: unsupported,
    where: unsupported,
    argReduce: unsupported,
    gather: unsupported,
    scatter: unsupported,
    concat: unsupported,
    fill: unsupported,
    write: unsupported,
  };
  return {
    name,
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels,
    fused: {},
    upload: (vals) => make(vals),
    read: async <D extends DType>(id: DataId, dtype: D, size: number): Promise<DTypeArrayMap[D]> => {
      const out = allocArray(dtype, size);
      out.set((id as Buf).data.subarray(0, size)); // rounds to float32 here, as any read must
      return out;
    },
    disposeData: () => {
      stats.buffers--;
    },
    memory: () => ({ ...stats }),
  };
}

describe('float32 storage check of the kernels suite', () => {
  it('passes a backend that stores float32 values', async () => {
    expect(await float32StorageViolations(referenceBackend('f32-reference', false))).toEqual([]);
  });

  it('passes the cpu backend', async () => {
    expect(await float32StorageViolations(await loadBackend('cpu'))).toEqual([]);
  });

  it('fails the same backend storing float64 (no Math.fround), naming every arithmetic kernel', async () => {
    const bad = await float32StorageViolations(referenceBackend('f64-reference', true));
    const kernels = bad.map((b) => b.split(' (')[0]);
    expect(kernels).toEqual([
      ...Object.keys(UNARY).map((op) => `unary ${op}`),
      'binary add',
      'binary sub',
      'binary mul',
      'binary div',
      'binary pow',
      'reduce sum',
      'reduce prod',
      'cumsum',
      'matmul',
    ]);
  });
});
