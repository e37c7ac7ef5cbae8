/**
 * Elementwise two-input ops with NumPy/PyTorch broadcasting and type promotion.
 *
 * Promotion follows PyTorch (bool < int32 < float32; a JS scalar only lifts the category,
 * see `resultType`); `div` is true division and always gives float32. Comparisons and
 * logical ops return bool and are not differentiable. Gradients of broadcast inputs are
 * summed back to the input's shape.
 */
import type { BinaryOp } from '../backend/kernels.js';
import type { DType } from '../dtype.js';
import { DTypeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  type ElementwiseRule,
  type ElementwiseSave,
  type TensorLike,
  isTensor,
  recordElementwise,
  resultType,
  runElementwise,
} from './elementwise.js';
import { zerosLike } from './creation.js';
import { where } from './select.js';
import { cast, log, neg } from './unary.js';

export type { TensorLike } from './elementwise.js';

/** Runs the `binary` kernel `op` on `a`, `b` converted to `dtype`; output dtype `outDtype`. */
function kernelBinary(op: BinaryOp, a: TensorLike, b: TensorLike, dtype: DType, outDtype: DType): Tensor {
  return runElementwise([a, b], dtype, outDtype, (backend, [va, vb]) => backend.kernels.binary(va, vb, { op }));
}

function describe(v: TensorLike): string {
  return isTensor(v) ? `a ${v.dtype} tensor` : `the ${typeof v} ${String(v)}`;
}

/**
 * An arithmetic op (output dtype = promoted dtype) with its gradient rule. Bool inputs:
 * PyTorch keeps `bool + bool` and `bool * bool` in bool (as logical or/and), and so do
 * `maximum`/`minimum`; the contract's arithmetic kernels are not asked to handle bool.
 */
function arithmetic(name: string, op: BinaryOp, a: TensorLike, b: TensorLike, save: ElementwiseSave, rule: ElementwiseRule): Tensor {
  const dtype = resultType([a, b]);
  if (dtype === 'bool') {
    const logical: Partial<Record<BinaryOp, BinaryOp>> = {
      add: 'logicalOr',
      mul: 'logicalAnd',
      maximum: 'logicalOr',
      minimum: 'logicalAnd',
    };
    const replacement = logical[op];
    if (!replacement) {
      throw new DTypeError(
        `${name} is not supported on two bool operands (got ${describe(a)} and ${describe(b)}); cast one to int32 or float32 first`,
      );
    }
    return kernelBinary(replacement, a, b, 'bool', 'bool');
  }
  const out = kernelBinary(op, a, b, dtype, dtype);
  recordElementwise(name, [a, b], out, save, rule);
  return out;
}

/**
 * `a + b`, broadcasting.
 *
 * @example
 * ```ts
 * import { add, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const a = tensor([
 *   [1, 2],
 *   [3, 4],
 * ]);
 * const b = add(a, tensor([10, 20])); // broadcasts: [[11, 22], [13, 24]]
 * const c = a.add(1).mul(2); // the same ops as chainable methods
 * console.log(b.arraySync(), c.arraySync());
 * ```
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return arithmetic('add', 'add', a, b, {}, (g, _ops, _out, needs) => [needs[0] ? g : null, needs[1] ? g : null]);
}

/** `a - b`, broadcasting. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return arithmetic('sub', 'sub', a, b, {}, (g, _ops, _out, needs) => [needs[0] ? g : null, needs[1] ? neg(g) : null]);
}

/** `a * b`, broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return arithmetic('mul', 'mul', a, b, { inputs: true }, (g, [x, y], _out, needs) => [
    needs[0] ? mul(g, y as TensorLike) : null,
    needs[1] ? mul(g, x as TensorLike) : null,
  ]);
}

/** `a / b`: true division, always float32 (PyTorch's `torch.div` without rounding mode). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const out = kernelBinary('div', a, b, 'float32', 'float32');
  recordElementwise('div', [a, b], out, { inputs: true }, (g, [x, y], _out, needs) => [
    needs[0] ? div(g, y as TensorLike) : null,
    // PyTorch: -grad * self / (other * other).
    needs[1] ? div(mul(neg(g), x as TensorLike), mul(y as TensorLike, y as TensorLike)) : null,
  ]);
  return out;
}

/**
 * `a ** b`, broadcasting. Integer powers stay integral; an int32 base with a negative int32
 * exponent follows PyTorch's integer semantics (`2 ** -1 = 0`, `(-1) ** -3 = -1`), and a
 * negative JS integer exponent on an integer tensor throws like PyTorch.
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  let dtype = resultType([a, b]);
  // PyTorch computes bool ** bool in an integer type; the kernel contract has no bool pow.
  if (dtype === 'bool') dtype = 'int32';
  if (dtype === 'int32') {
    if (!isTensor(b) && typeof b === 'number' && b < 0) {
      throw new DTypeError(`integers to negative integer powers are not allowed (base is ${describe(a)}, exponent ${b}); use a float base`);
    }
    return intPow(a, b);
  }
  const out = kernelBinary('pow', a, b, 'float32', 'float32');
  recordElementwise('pow', [a, b], out, { inputs: true, output: true }, (g, [x, y], result, needs) => {
    const base = x as TensorLike;
    // needs[1] implies the exponent is a tensor.
    const exponent = y as TensorLike;
    return [
      needs[0] ? powGradBase(g, base, exponent) : null,
      needs[1] ? powGradExponent(g, base, exponent as Tensor, result as Tensor) : null,
    ];
  });
  return out;
}

/** d/da a^b = b * a^(b-1), zero where b == 0 (PyTorch's pow_backward_self, avoids 0 * inf). */
function powGradBase(g: Tensor, base: TensorLike, exponent: TensorLike): Tensor {
  // A scalar exponent is handled on the host: a scalar-only comparison would land on the
  // active backend rather than the gradient's.
  if (!isTensor(exponent)) {
    const e = Number(exponent);
    return e === 0 ? zerosLike(g) : mul(g, mul(pow(base, e - 1), e));
  }
  return where(eq(exponent, 0), 0, mul(g, mul(exponent, pow(base, sub(exponent, 1)))));
}

/** d/db a^b = a^b * ln a, zero where a == 0 and b >= 0 (PyTorch's pow_backward_exponent). */
function powGradExponent(g: Tensor, base: TensorLike, exponent: Tensor, result: Tensor): Tensor {
  if (!isTensor(base)) {
    const a = Number(base);
    const grad = mul(g, mul(result, Math.log(a)));
    return a === 0 ? where(ge(exponent, 0), 0, grad) : grad;
  }
  return where(logicalAnd(eq(base, 0), ge(exponent, 0)), 0, mul(g, mul(result, log(base))));
}

/** int32 `a ** b`, emulating integer division semantics for negative tensor exponents. */
function intPow(a: TensorLike, b: TensorLike): Tensor {
  if (!isTensor(b)) return kernelBinary('pow', a, b, 'int32', 'int32');
  // The kernel is never given a negative int exponent (contract): compute those in float32
  // and truncate, which equals integer 1 / a^|b| (0 unless |a| == 1).
  const negative = lt(b, 0);
  const safeExp = maximum(b, 0);
  const direct = kernelBinary('pow', a, safeExp, 'int32', 'int32');
  const viaFloat = kernelBinary('pow', a, b, 'float32', 'float32');
  const truncated = cast(viaFloat, 'int32');
  const out = where(negative, truncated, direct);
  for (const t of [negative, safeExp, direct, viaFloat, truncated]) t.dispose();
  return out;
}

/**
 * Gradient of max/min like PyTorch: all of it to the winner, half to each on ties.
 * `loses(x, y)` says where operand x lost.
 */
function extremumRule(loses: (x: TensorLike, y: TensorLike) => Tensor): ElementwiseRule {
  return (g, [x, y], _out, needs) => {
    const a = x as TensorLike;
    const b = y as TensorLike;
    const split = where(eq(a, b), mul(g, 0.5), g);
    return [needs[0] ? where(loses(a, b), 0, split) : null, needs[1] ? where(loses(b, a), 0, split) : null];
  };
}

/** Elementwise maximum, propagating NaN. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return arithmetic(
    'maximum',
    'maximum',
    a,
    b,
    { inputs: true },
    extremumRule((x, y) => lt(x, y)),
  );
}

/** Elementwise minimum, propagating NaN. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return arithmetic(
    'minimum',
    'minimum',
    a,
    b,
    { inputs: true },
    extremumRule((x, y) => gt(x, y)),
  );
}

/** A comparison: computed in the promoted dtype, returns bool, not differentiable. */
function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  return kernelBinary(op, a, b, resultType([a, b]), 'bool');
}

/** `a == b` (bool). */
export function eq(a: TensorLike, b: TensorLike): Tensor {
  return compare('eq', a, b);
}
/** `a != b` (bool). */
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return compare('ne', a, b);
}
/** `a < b` (bool). */
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return compare('lt', a, b);
}
/** `a <= b` (bool). */
export function le(a: TensorLike, b: TensorLike): Tensor {
  return compare('le', a, b);
}
/** `a > b` (bool). */
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return compare('gt', a, b);
}
/** `a >= b` (bool). */
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return compare('ge', a, b);
}

/** A logical op: operands of any dtype are taken as `x != 0`, like PyTorch; returns bool. */
function logical(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  return kernelBinary(op, a, b, 'bool', 'bool');
}

/** Logical and (any dtype, nonzero is true); bool. */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return logical('logicalAnd', a, b);
}
/** Logical or (any dtype, nonzero is true); bool. */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return logical('logicalOr', a, b);
}
/** Logical xor (any dtype, nonzero is true); bool. */
export function logicalXor(a: TensorLike, b: TensorLike): Tensor {
  return logical('logicalXor', a, b);
}
