/**
 * Scalar float64 math shared by the elementwise and fused kernels. Everything is computed
 * in float64 and rounded once, when stored into the float32 output, which is how the
 * results stay within about one float32 ulp of PyTorch.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2 / sqrt(pi)
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1 / sqrt(pi)

/** Where the series for erf hands over to the continued fraction for erfc. */
const ERF_SERIES_LIMIT = 3;

/**
 * erf by the series `2/sqrt(pi) * exp(-x^2) * sum 2^n x^(2n+1) / (1*3*...*(2n+1))`.
 * Unlike the Maclaurin series every term is positive, so there is no cancellation and the
 * relative error stays near float64 epsilon for |x| < 3 (about 60 terms at the limit).
 */
function erfSeries(x: number): number {
  const a = Math.abs(x);
  const x2 = a * a;
  let term = a;
  let sum = a;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

/**
 * erfc for x >= 3 by its continued fraction
 * `exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))`, evaluated bottom-up
 * with a fixed depth that converges to float64 precision for every x >= 3.
 */
function erfcContinuedFraction(x: number): number {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

/** The error function in float64 (relative error well below 1e-13 everywhere). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < ERF_SERIES_LIMIT) return erfSeries(x);
  if (a > 6) return x > 0 ? 1 : -1;
  const r = 1 - erfcContinuedFraction(a);
  return x > 0 ? r : -r;
}

/** The complementary error function `1 - erf(x)`, accurate in the far tail (x >> 0) too. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x >= ERF_SERIES_LIMIT) return x > 27 ? 0 : erfcContinuedFraction(x);
  if (x > -ERF_SERIES_LIMIT) return 1 - erfSeries(x);
  return x < -6 ? 2 : 2 - erfcContinuedFraction(-x);
}

/** Logistic sigmoid that never evaluates exp of a large positive number. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** `log(1 + exp(x))` without overflow: `max(x, 0) + log1p(exp(-|x|))`. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * `x * Phi(x)` (the erf form of GELU), written with erfc so that the far negative tail
 * keeps its tiny non-zero values instead of cancelling `1 + erf(x)` to zero.
 */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * Math.SQRT1_2);
}

const SQRT_2_OVER_PI = 0.7978845608028654; // sqrt(2 / pi)

/** PyTorch's tanh approximation of GELU (`approximate='tanh'`). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** Round half to even (torch.round), keeping the sign of zero like PyTorch does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds halves towards +inf; pull odd results of exact halves back down.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** sign with sign(0) = sign(-0) = 0 and, like PyTorch, sign(NaN) = 0. */
export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/**
 * int32 power by squaring with wrapping multiplication, which gives the same bits as
 * PyTorch's repeated multiplication in int32 because multiplication mod 2^32 is associative.
 * Negative exponents never reach this kernel (core rejects them).
 */
export function powInt32(base: number, exp: number): number {
  let result = 1;
  let b = base | 0;
  let e = exp;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, b);
    b = Math.imul(b, b);
    e >>>= 1;
  }
  return result;
}
