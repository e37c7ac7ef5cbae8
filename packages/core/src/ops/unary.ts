/**
 * Elementwise one-input ops and dtype casts, with PyTorch's derivative formulas.
 *
 * Float-only ops (exp, log, sqrt, sin, tanh, sigmoid, gelu, ...) promote int32/bool input
 * to float32 first, like PyTorch. Ops that are defined on integers (neg, abs, sign, relu,
 * floor/ceil/round, square) keep int32; bool input to an arithmetic op throws as in PyTorch.
 */
import type { UnaryOp } from '../backend/kernels.js';
import { withGradMode } from '../autograd/grad-mode.js';
import { recordOp } from '../autograd/record.js';
import type { DType } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { fromDataId } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, div, gt, mul, sub } from './binary.js';
import { zerosLike } from './creation.js';
import { alias, castUnrecorded } from './elementwise.js';
import { where } from './select.js';

/** Runs the `unary` kernel (no recording); output dtype `outDtype`. */
function kernelUnary(x: Tensor, op: UnaryOp, outDtype: DType = x.dtype): Tensor {
  const backend = x.backend;
  return fromDataId(backend, backend.kernels.unary(x.kernelInput(), { op }), x.shape, outDtype);
}

/** How a unary op treats dtypes and what its gradient needs. */
interface UnarySpec {
  /** Promote int32/bool input to float32 (float-only math). */
  floatOnly?: boolean;
  /** Gradient `dL/dx` from `dL/dy`, the saved input and/or output. Absent: zero gradient. */
  grad?: (g: Tensor, x: Tensor, y: Tensor) => Tensor;
  /** Which tensors the rule reads (saving only what is needed keeps memory down). */
  save?: 'input' | 'output' | 'both';
}

function unaryOp(name: string, op: UnaryOp, x: Tensor, spec: UnarySpec): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') {
    if (spec.floatOnly) {
      // int/bool tensors never require grad, so the promoted computation needs no record.
      const promoted = castUnrecorded(x, 'float32');
      try {
        return kernelUnary(promoted, op);
      } finally {
        promoted.dispose();
      }
    }
    if (x.dtype === 'bool') throw new DTypeError(`${name} is not supported on bool tensors; cast to int32 or float32 first`);
    return kernelUnary(x, op);
  }
  const out = kernelUnary(x, op);
  const save = spec.save;
  const rule = spec.grad;
  recordOp({
    name,
    inputs: [x],
    outputs: [out],
    save: save === 'both' ? [x, out] : save === 'output' ? [out] : save === 'input' ? [x] : [],
    backward: ([g], saved) => {
      if (!rule) return [zerosLike(g)];
      // Unsaved slots get `g` as a placeholder; a rule only reads what its spec saved.
      const xs = save === 'output' ? g : saved[0];
      const ys = save === 'both' ? saved[1] : save === 'output' ? saved[0] : g;
      return [rule(g, xs, ys)];
    },
  });
  return out;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const GELU_KAPPA = 0.044715;

/** `-x`. */
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', 'neg', x, { grad: (g) => neg(g) });
}

/** `|x|`; gradient `sign(x)` (0 at 0, like PyTorch). */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', 'abs', x, { save: 'input', grad: (g, xs) => mul(g, sign(xs)) });
}

/** Sign: -1, 0 or 1 (bool stays bool); gradient zero. */
export function sign(x: Tensor): Tensor {
  // sign(bool) is the value itself in PyTorch; the kernel contract has no bool sign.
  if (x.dtype === 'bool') return kernelUnary(x, 'identity');
  return unaryOp('sign', 'sign', x, {});
}

/** `e^x`; gradient reuses the output. */
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', 'exp', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => mul(g, y) });
}

/** `e^x - 1`, accurate near 0. */
export function expm1(x: Tensor): Tensor {
  return unaryOp('expm1', 'expm1', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => mul(g, add(y, 1)) });
}

/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  return unaryOp('log', 'log', x, { floatOnly: true, save: 'input', grad: (g, xs) => div(g, xs) });
}

/** `ln(1 + x)`, accurate near 0. */
export function log1p(x: Tensor): Tensor {
  return unaryOp('log1p', 'log1p', x, { floatOnly: true, save: 'input', grad: (g, xs) => div(g, add(xs, 1)) });
}

/** Square root; gradient `1 / (2 sqrt(x))` from the saved output. */
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', 'sqrt', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => div(g, mul(y, 2)) });
}

/** `1 / sqrt(x)`; gradient `-0.5 y^3` (PyTorch's formula). */
export function rsqrt(x: Tensor): Tensor {
  return unaryOp('rsqrt', 'rsqrt', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => mul(mul(g, -0.5), mul(y, mul(y, y))) });
}

/** `1 / x`; gradient `-y^2`. */
export function reciprocal(x: Tensor): Tensor {
  return unaryOp('reciprocal', 'reciprocal', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => mul(neg(g), mul(y, y)) });
}

/** Sine. */
export function sin(x: Tensor): Tensor {
  return unaryOp('sin', 'sin', x, { floatOnly: true, save: 'input', grad: (g, xs) => mul(g, cos(xs)) });
}

/** Cosine. */
export function cos(x: Tensor): Tensor {
  return unaryOp('cos', 'cos', x, { floatOnly: true, save: 'input', grad: (g, xs) => mul(neg(g), sin(xs)) });
}

/** Hyperbolic tangent; gradient `1 - y^2`. */
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', 'tanh', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => mul(g, sub(1, mul(y, y))) });
}

/** Logistic sigmoid; gradient `y (1 - y)`. */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', 'sigmoid', x, { floatOnly: true, save: 'output', grad: (g, _x, y) => mul(g, mul(y, sub(1, y))) });
}

/** `max(x, 0)`; gradient 1 where the output is positive (PyTorch's threshold_backward). */
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', 'relu', x, { save: 'output', grad: (g, _x, y) => where(gt(y, 0), g, 0) });
}

/** `x * sigmoid(x)`; gradient `s (1 + x (1 - s))`. */
export function silu(x: Tensor): Tensor {
  return unaryOp('silu', 'silu', x, {
    floatOnly: true,
    save: 'input',
    grad: (g, xs) => {
      const s = sigmoid(xs);
      return mul(g, mul(s, add(mul(xs, sub(1, s)), 1)));
    },
  });
}

/** Error function; gradient `2/sqrt(pi) e^(-x^2)`. */
export function erf(x: Tensor): Tensor {
  return unaryOp('erf', 'erf', x, {
    floatOnly: true,
    save: 'input',
    grad: (g, xs) => mul(g, mul(exp(neg(mul(xs, xs))), TWO_OVER_SQRT_PI)),
  });
}

/** Round down (identity on int32); gradient zero. */
export function floor(x: Tensor): Tensor {
  return unaryOp('floor', 'floor', x, {});
}

/** Round up (identity on int32); gradient zero. */
export function ceil(x: Tensor): Tensor {
  return unaryOp('ceil', 'ceil', x, {});
}

/** Round half to even, like PyTorch (identity on int32); gradient zero. */
export function round(x: Tensor): Tensor {
  return unaryOp('round', 'round', x, {});
}

/** `x * x` (bool is squared as int32, like PyTorch's integer result). */
export function square(x: Tensor): Tensor {
  if (x.dtype !== 'bool') return mul(x, x);
  const asInt = castUnrecorded(x, 'int32');
  try {
    return mul(asInt, asInt);
  } finally {
    asInt.dispose();
  }
}

/** Logical not; any dtype (nonzero is true), returns bool. */
export function logicalNot(x: Tensor): Tensor {
  if (x.dtype === 'bool') return kernelUnary(x, 'logicalNot', 'bool');
  const asBool = castUnrecorded(x, 'bool');
  try {
    return kernelUnary(asBool, 'logicalNot', 'bool');
  } finally {
    asBool.dispose();
  }
}

/**
 * GELU. `approximate: 'none'` (default) is `x Φ(x)` with derivative `Φ(x) + x φ(x)`;
 * `'tanh'` is PyTorch's tanh approximation with its exact derivative.
 */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate === 'tanh') return unaryOp('gelu', 'geluTanh', x, { floatOnly: true, save: 'input', grad: geluTanhGrad });
  if (approximate !== 'none') throw new DTypeError(`gelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  return unaryOp('gelu', 'gelu', x, {
    floatOnly: true,
    save: 'input',
    grad: (g, xs) => {
      const cdf = mul(add(erf(mul(xs, Math.SQRT1_2)), 1), 0.5);
      const pdf = mul(exp(mul(mul(xs, xs), -0.5)), INV_SQRT_2PI);
      return mul(g, add(cdf, mul(xs, pdf)));
    },
  });
}

/** PyTorch's GeluBackward for approximate='tanh'. */
function geluTanhGrad(g: Tensor, x: Tensor): Tensor {
  const x2 = mul(x, x);
  const inner = mul(add(x, mul(mul(x2, x), GELU_KAPPA)), SQRT_2_OVER_PI);
  const t = tanh(inner);
  const left = mul(x, 0.5);
  const right = add(t, 1);
  const leftDerivative = mul(right, 0.5);
  const tanhDerivative = sub(1, mul(t, t));
  const innerDerivative = mul(add(mul(x2, 3 * GELU_KAPPA), 1), SQRT_2_OVER_PI);
  const rightDerivative = mul(mul(left, tanhDerivative), innerDerivative);
  return mul(g, add(leftDerivative, rightDerivative));
}

/**
 * `log(1 + exp(beta x)) / beta`, and `x` itself where `beta x > threshold` (PyTorch's
 * linear region, which also avoids overflow). Gradient `sigmoid(beta x)`, 1 in the linear
 * region.
 */
export function softplus(x: Tensor, options: { beta?: number; threshold?: number } = {}): Tensor {
  const beta = options.beta ?? 1;
  const threshold = options.threshold ?? 20;
  x.assertAlive();
  const input = x.dtype === 'float32' ? x : castUnrecorded(x, 'float32');
  // Composed from kernels without recording, then recorded as one op with its own rule.
  const out = withGradMode(false, () =>
    tidy(() => {
      const z = beta === 1 ? input : mul(input, beta);
      const soft = kernelUnary(z, 'softplus');
      const scaled = beta === 1 ? soft : div(soft, beta);
      return where(gt(z, threshold), input, scaled);
    }),
  );
  if (input !== x) {
    input.dispose();
    return out;
  }
  recordOp({
    name: 'softplus',
    inputs: [x],
    outputs: [out],
    save: [x],
    backward: ([g], [xs]) => {
      const z = mul(xs, beta);
      return [where(gt(z, threshold), g, mul(g, sigmoid(z)))];
    },
  });
  return out;
}

/**
 * Converts to `dtype`. float→int32 truncates toward zero; to bool is `x != 0`. Casting to
 * the same dtype returns a new view (gradient passes through); casts to int32/bool end
 * the gradient, as in PyTorch.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  x.assertAlive();
  if (x.dtype === dtype) {
    const out = alias(x);
    recordOp({ name: 'cast', inputs: [x], outputs: [out], backward: ([g]) => [g] });
    return out;
  }
  return castUnrecorded(x, dtype);
}
