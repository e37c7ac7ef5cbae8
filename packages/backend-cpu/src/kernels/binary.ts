/** The `binary` kernel: elementwise two-input ops (inputs already broadcast by core). */
import { type BinaryOp, type DType, type DataId, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import { powInt32 } from '../math.js';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';

type Fn = (a: number, b: number) => number;

/**
 * Float semantics. Math.max/min already return NaN when either side is NaN, which is
 * PyTorch's maximum/minimum; comparisons follow IEEE (NaN compares false, ne true).
 */
const FLOAT_OPS: Record<BinaryOp, Fn> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => powFloat(a, b),
  maximum: Math.max,
  minimum: Math.min,
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logicalAnd: (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
  logicalOr: (a, b) => (a !== 0 || b !== 0 ? 1 : 0),
  logicalXor: (a, b) => ((a !== 0) !== (b !== 0) ? 1 : 0),
};

/**
 * C's pow where it differs from JavaScript's `**`: pow(1, y) = 1 and pow(x, 0) = 1 even
 * for NaN, and pow(-1, ±inf) = 1. PyTorch follows C.
 */
function powFloat(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && (b === Number.POSITIVE_INFINITY || b === Number.NEGATIVE_INFINITY)) return 1;
  return a ** b;
}

/**
 * int32 arithmetic wraps like C int32: add/sub are exact in float64 and wrap when stored
 * into the Int32Array, but a product can exceed 2^53 and lose bits, so mul uses Math.imul.
 * div is never called on int32 (core promotes); truncating on store is the fallback.
 */
const INT_OVERRIDES: Partial<Record<BinaryOp, Fn>> = {
  mul: Math.imul,
  pow: powInt32,
  div: (a, b) => (b === 0 ? 0 : Math.trunc(a / b)),
};

const BOOL_RESULT: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr', 'logicalXor']);

/** Output dtype of `op` on inputs of `dtype`. */
export function binaryOutDType(op: BinaryOp, dtype: DType): DType {
  return BOOL_RESULT.has(op) ? 'bool' : dtype;
}

/** `a.shape` equals `b.shape`. Output: that shape; bool for comparisons/logical, else the input dtype. */
export function binary(store: CpuStore, a: TensorView, b: TensorView, attrs: { op: BinaryOp }): DataId {
  const { op } = attrs;
  const outDType = binaryOutDType(op, a.dtype);
  const size = sizeOf(a.shape);
  const base = (a.dtype === 'int32' ? INT_OVERRIDES[op] : undefined) ?? FLOAT_OPS[op];
  // Arithmetic on bool inputs (add = or, mul = and in PyTorch) must still store 0/1.
  const f: Fn = outDType === 'bool' && !BOOL_RESULT.has(op) ? (x, y) => (base(x, y) !== 0 ? 1 : 0) : base;
  // A scalar operand (every stride 0: `x.add(2.5)`) is read once, not spread into an array.
  const aOne = size > 0 && allStrideZero(a);
  const bOne = size > 0 && allStrideZero(b);
  const float = a.dtype === 'float32' && outDType === 'float32';
  if (aOne !== bOne) {
    const out = store.alloc(outDType, size);
    const dst = out.data as TypedArray;
    if (bOne) {
      const av = rowMajorValues(store.data(a.dataId), a);
      const s = store.data(b.dataId)[b.offset];
      if (!(float && floatArithmetic(op, dst, av, 0, null, s, size))) for (let i = 0; i < size; i++) dst[i] = f(av[i], s);
    } else {
      const bv = rowMajorValues(store.data(b.dataId), b);
      const s = store.data(a.dataId)[a.offset];
      if (!(float && floatArithmetic(op, dst, null, s, bv, 0, size))) for (let i = 0; i < size; i++) dst[i] = f(s, bv[i]);
    }
    return out;
  }
  const av = rowMajorValues(store.data(a.dataId), a);
  const bv = rowMajorValues(store.data(b.dataId), b);
  const out = store.alloc(outDType, size);
  const dst = out.data as TypedArray;
  if (!(float && floatArithmetic(op, dst, av, 0, bv, 0, size))) for (let i = 0; i < size; i++) dst[i] = f(av[i], bv[i]);
  return out;
}

/**
 * float32 add/sub/mul/div written out per op, an operand being an array or (null) the scalar
 * beside it; false for any other op. The same float64 arithmetic and one rounding on store
 * as the FLOAT_OPS table, but through the table each result comes back from a call the
 * engine does not inline as a boxed double: the largest garbage source of small-op training.
 */
function floatArithmetic(
  op: BinaryOp,
  dst: TypedArray,
  av: TypedArray | null,
  sa: number,
  bv: TypedArray | null,
  sb: number,
  size: number,
): boolean {
  switch (op) {
    case 'add':
      for (let i = 0; i < size; i++) dst[i] = (av === null ? sa : av[i]) + (bv === null ? sb : bv[i]);
      return true;
    case 'sub':
      for (let i = 0; i < size; i++) dst[i] = (av === null ? sa : av[i]) - (bv === null ? sb : bv[i]);
      return true;
    case 'mul':
      for (let i = 0; i < size; i++) dst[i] = (av === null ? sa : av[i]) * (bv === null ? sb : bv[i]);
      return true;
    case 'div':
      for (let i = 0; i < size; i++) dst[i] = (av === null ? sa : av[i]) / (bv === null ? sb : bv[i]);
      return true;
    default:
      return false;
  }
}

/** Whether every element of `v` is the one at its offset (all strides 0, or a single element). */
function allStrideZero(v: TensorView): boolean {
  for (let d = 0; d < v.shape.length; d++) if (v.strides[d] !== 0 && v.shape[d] !== 1) return false;
  return true;
}
