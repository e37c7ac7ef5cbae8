/** Elementwise two-input ops with NumPy/PyTorch broadcasting and type promotion. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** A tensor or a JS number (or boolean), as binary ops accept. */
export type TensorLike = Tensor | number | boolean;
const ni = (n: string) => (_a: TensorLike, _b: TensorLike): Tensor => notImplemented(n);
/** a + b */ export const add: (a: TensorLike, b: TensorLike) => Tensor = ni('add');
/** a - b */ export const sub: (a: TensorLike, b: TensorLike) => Tensor = ni('sub');
/** a * b */ export const mul: (a: TensorLike, b: TensorLike) => Tensor = ni('mul');
/** a / b */ export const div: (a: TensorLike, b: TensorLike) => Tensor = ni('div');
/** a ** b */ export const pow: (a: TensorLike, b: TensorLike) => Tensor = ni('pow');
/** max */ export const maximum: (a: TensorLike, b: TensorLike) => Tensor = ni('maximum');
/** min */ export const minimum: (a: TensorLike, b: TensorLike) => Tensor = ni('minimum');
/** == */ export const eq: (a: TensorLike, b: TensorLike) => Tensor = ni('eq');
/** != */ export const ne: (a: TensorLike, b: TensorLike) => Tensor = ni('ne');
/** < */ export const lt: (a: TensorLike, b: TensorLike) => Tensor = ni('lt');
/** <= */ export const le: (a: TensorLike, b: TensorLike) => Tensor = ni('le');
/** > */ export const gt: (a: TensorLike, b: TensorLike) => Tensor = ni('gt');
/** >= */ export const ge: (a: TensorLike, b: TensorLike) => Tensor = ni('ge');
/** and */ export const logicalAnd: (a: TensorLike, b: TensorLike) => Tensor = ni('logicalAnd');
/** or */ export const logicalOr: (a: TensorLike, b: TensorLike) => Tensor = ni('logicalOr');
/** xor */ export const logicalXor: (a: TensorLike, b: TensorLike) => Tensor = ni('logicalXor');
