/** The `unary` kernel: elementwise one-input ops on float32, int32 and bool. */
import { type DataId, type TensorView, type TypedArray, type UnaryOp, sizeOf } from '@ghostflow/core';
import { erf, gelu, geluTanh, roundHalfEven, sigmoid, sign, softplus } from '../math.js';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';

type Fn = (x: number) => number;

const identity: Fn = (x) => x;

/**
 * Float semantics of each op, in float64 (the float32 store rounds once). relu keeps NaN
 * (PyTorch's clamp_min propagates it), which `x > 0 ? x : 0` alone would lose.
 */
export const FLOAT_OPS: Record<UnaryOp, Fn> = {
  identity,
  neg: (x) => -x,
  abs: Math.abs,
  sign,
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
  sigmoid,
  relu: (x) => (x > 0 || Number.isNaN(x) ? x : 0),
  gelu,
  geluTanh,
  silu: (x) => x * sigmoid(x),
  softplus,
  erf,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

/**
 * Where int32 differs from the float table: rounding ops are the identity, and every
 * result is stored into an Int32Array, whose store wraps like C int32 (-(-2^31) = -2^31).
 */
const INT_OVERRIDES: Partial<Record<UnaryOp, Fn>> = { floor: identity, ceil: identity, round: identity, relu: (x) => (x > 0 ? x : 0) };

/** Output: `x.shape`, `x.dtype` (bool for logicalNot). */
export function unary(store: CpuStore, x: TensorView, attrs: { op: UnaryOp }): DataId {
  const { op } = attrs;
  const outDType = op === 'logicalNot' ? 'bool' : x.dtype;
  const size = sizeOf(x.shape);
  const src = rowMajorValues(store.data(x.dataId), x);
  const out = store.alloc(outDType, size);
  const dst = out.data as TypedArray;
  if (op === 'identity') {
    dst.set(src);
    return out;
  }
  const base = (x.dtype === 'int32' ? INT_OVERRIDES[op] : undefined) ?? FLOAT_OPS[op];
  // Arithmetic on bool (neg, abs, ...) must still store 0/1, not e.g. 255 from -1.
  const f: Fn = outDType === 'bool' && op !== 'logicalNot' ? (v) => (base(v) !== 0 ? 1 : 0) : base;
  for (let i = 0; i < size; i++) dst[i] = f(src[i]);
  return out;
}
