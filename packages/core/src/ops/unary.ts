/** Elementwise one-input ops and dtype casts. */
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

const ni = (n: string) => (_x: Tensor): Tensor => notImplemented(n);
/** -x */ export const neg: (x: Tensor) => Tensor = ni('neg');
/** |x| */ export const abs: (x: Tensor) => Tensor = ni('abs');
/** sign */ export const sign: (x: Tensor) => Tensor = ni('sign');
/** e^x */ export const exp: (x: Tensor) => Tensor = ni('exp');
/** e^x - 1 */ export const expm1: (x: Tensor) => Tensor = ni('expm1');
/** ln x */ export const log: (x: Tensor) => Tensor = ni('log');
/** ln(1 + x) */ export const log1p: (x: Tensor) => Tensor = ni('log1p');
/** sqrt */ export const sqrt: (x: Tensor) => Tensor = ni('sqrt');
/** 1/sqrt */ export const rsqrt: (x: Tensor) => Tensor = ni('rsqrt');
/** 1/x */ export const reciprocal: (x: Tensor) => Tensor = ni('reciprocal');
/** sin */ export const sin: (x: Tensor) => Tensor = ni('sin');
/** cos */ export const cos: (x: Tensor) => Tensor = ni('cos');
/** tanh */ export const tanh: (x: Tensor) => Tensor = ni('tanh');
/** sigmoid */ export const sigmoid: (x: Tensor) => Tensor = ni('sigmoid');
/** relu */ export const relu: (x: Tensor) => Tensor = ni('relu');
/** silu */ export const silu: (x: Tensor) => Tensor = ni('silu');
/** erf */ export const erf: (x: Tensor) => Tensor = ni('erf');
/** floor */ export const floor: (x: Tensor) => Tensor = ni('floor');
/** ceil */ export const ceil: (x: Tensor) => Tensor = ni('ceil');
/** round half to even */ export const round: (x: Tensor) => Tensor = ni('round');
/** x*x */ export const square: (x: Tensor) => Tensor = ni('square');
/** not */ export const logicalNot: (x: Tensor) => Tensor = ni('logicalNot');
/** gelu */
export function gelu(x: Tensor, options?: { approximate?: 'none' | 'tanh' }): Tensor {
  return notImplemented('gelu');
}
/** softplus, PyTorch's beta/threshold */
export function softplus(x: Tensor, options?: { beta?: number; threshold?: number }): Tensor {
  return notImplemented('softplus');
}
/** dtype conversion */
export function cast(x: Tensor, dtype: DType): Tensor {
  return notImplemented('cast');
}
