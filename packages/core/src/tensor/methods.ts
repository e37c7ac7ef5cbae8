/**
 * Installs the chainable op methods declared by the `Tensor` interface in tensor.ts, each
 * forwarding to the op of the same name in `ops/`. Kept apart from the class so the class
 * file does not import the op library (which imports the class).
 */
import { backward, type BackwardOptions } from '../autograd/backward.js';
import type { DType } from '../dtype.js';
import * as B from '../ops/binary.js';
import type { TensorLike } from '../ops/binary.js';
import * as C from '../ops/cumulative.js';
import * as I from '../ops/indexing.js';
import * as IP from '../ops/inplace.js';
import type { AlphaOptions, RandomFillOptions } from '../ops/inplace.js';
import * as J from '../ops/join.js';
import * as M from '../ops/matmul.js';
import * as R from '../ops/reduce.js';
import type { Dims, ValuesIndices, VarianceOptions } from '../ops/reduce.js';
import * as S from '../ops/select.js';
import * as SM from '../ops/softmax.js';
import * as T from '../ops/triangular.js';
import * as U from '../ops/unary.js';
import * as V from '../ops/view.js';
import { transferTo } from './transfer.js';
import { Tensor } from './tensor.js';

type Method = (this: Tensor, ...args: never[]) => unknown;
const methods: Record<string, Method> = {
  add(this: Tensor, o: TensorLike) { return B.add(this, o); },
  sub(this: Tensor, o: TensorLike) { return B.sub(this, o); },
  mul(this: Tensor, o: TensorLike) { return B.mul(this, o); },
  div(this: Tensor, o: TensorLike) { return B.div(this, o); },
  pow(this: Tensor, o: TensorLike) { return B.pow(this, o); },
  maximum(this: Tensor, o: TensorLike) { return B.maximum(this, o); },
  minimum(this: Tensor, o: TensorLike) { return B.minimum(this, o); },
  eq(this: Tensor, o: TensorLike) { return B.eq(this, o); },
  ne(this: Tensor, o: TensorLike) { return B.ne(this, o); },
  lt(this: Tensor, o: TensorLike) { return B.lt(this, o); },
  le(this: Tensor, o: TensorLike) { return B.le(this, o); },
  gt(this: Tensor, o: TensorLike) { return B.gt(this, o); },
  ge(this: Tensor, o: TensorLike) { return B.ge(this, o); },
  logicalAnd(this: Tensor, o: TensorLike) { return B.logicalAnd(this, o); },
  logicalOr(this: Tensor, o: TensorLike) { return B.logicalOr(this, o); },
  logicalXor(this: Tensor, o: TensorLike) { return B.logicalXor(this, o); },
  neg(this: Tensor) { return U.neg(this); },
  abs(this: Tensor) { return U.abs(this); },
  sign(this: Tensor) { return U.sign(this); },
  exp(this: Tensor) { return U.exp(this); },
  expm1(this: Tensor) { return U.expm1(this); },
  log(this: Tensor) { return U.log(this); },
  log1p(this: Tensor) { return U.log1p(this); },
  sqrt(this: Tensor) { return U.sqrt(this); },
  rsqrt(this: Tensor) { return U.rsqrt(this); },
  reciprocal(this: Tensor) { return U.reciprocal(this); },
  sin(this: Tensor) { return U.sin(this); },
  cos(this: Tensor) { return U.cos(this); },
  tanh(this: Tensor) { return U.tanh(this); },
  sigmoid(this: Tensor) { return U.sigmoid(this); },
  relu(this: Tensor) { return U.relu(this); },
  gelu(this: Tensor, o?: { approximate?: 'none' | 'tanh' }) { return U.gelu(this, o); },
  silu(this: Tensor) { return U.silu(this); },
  softplus(this: Tensor, o?: { beta?: number; threshold?: number }) { return U.softplus(this, o); },
  erf(this: Tensor) { return U.erf(this); },
  floor(this: Tensor) { return U.floor(this); },
  ceil(this: Tensor) { return U.ceil(this); },
  round(this: Tensor) { return U.round(this); },
  square(this: Tensor) { return U.square(this); },
  logicalNot(this: Tensor) { return U.logicalNot(this); },
  cast(this: Tensor, d: DType) { return U.cast(this, d); },
  float(this: Tensor) { return U.cast(this, 'float32'); },
  int(this: Tensor) { return U.cast(this, 'int32'); },
  bool(this: Tensor) { return U.cast(this, 'bool'); },
  clamp(this: Tensor, lo?: TensorLike | null, hi?: TensorLike | null) { return S.clamp(this, lo, hi); },
  maskedFill(this: Tensor, m: Tensor, v: number | Tensor) { return S.maskedFill(this, m, v); },
  sum(this: Tensor, d?: Dims, k?: boolean) { return R.sum(this, d, k); },
  mean(this: Tensor, d?: Dims, k?: boolean) { return R.mean(this, d, k); },
  prod(this: Tensor, d?: Dims, k?: boolean) { return R.prod(this, d, k); },
  amax(this: Tensor, d?: Dims, k?: boolean) { return R.amax(this, d, k); },
  amin(this: Tensor, d?: Dims, k?: boolean) { return R.amin(this, d, k); },
  max(this: Tensor, d?: number, k?: boolean) { return d === undefined ? R.max(this) : R.max(this, d, k); },
  min(this: Tensor, d?: number, k?: boolean) { return d === undefined ? R.min(this) : R.min(this, d, k); },
  argmax(this: Tensor, d?: number, k?: boolean) { return R.argmax(this, d, k); },
  argmin(this: Tensor, d?: number, k?: boolean) { return R.argmin(this, d, k); },
  var(this: Tensor, o?: VarianceOptions) { return R.variance(this, o); },
  std(this: Tensor, o?: VarianceOptions) { return R.std(this, o); },
  logsumexp(this: Tensor, d: Dims, k?: boolean) { return R.logsumexp(this, d, k); },
  any(this: Tensor, d?: Dims, k?: boolean) { return R.any(this, d, k); },
  all(this: Tensor, d?: Dims, k?: boolean) { return R.all(this, d, k); },
  softmax(this: Tensor, d: number) { return SM.softmax(this, d); },
  logSoftmax(this: Tensor, d: number) { return SM.logSoftmax(this, d); },
  matmul(this: Tensor, o: Tensor) { return M.matmul(this, o); },
  reshape(this: Tensor, ...s: (number | readonly number[])[]) { return V.reshape(this, ...s); },
  view(this: Tensor, ...s: (number | readonly number[])[]) { return V.view(this, ...s); },
  flatten(this: Tensor, s?: number, e?: number) { return V.flatten(this, s, e); },
  squeeze(this: Tensor, d?: number | readonly number[]) { return V.squeeze(this, d); },
  unsqueeze(this: Tensor, d: number) { return V.unsqueeze(this, d); },
  permute(this: Tensor, ...d: (number | readonly number[])[]) { return V.permute(this, ...d); },
  transpose(this: Tensor, a: number, b: number) { return V.transpose(this, a, b); },
  t(this: Tensor) { return V.t(this); },
  expand(this: Tensor, ...s: (number | readonly number[])[]) { return V.expand(this, ...s); },
  expandAs(this: Tensor, o: Tensor) { return V.expand(this, o.shape); },
  slice(this: Tensor, d: number, s?: number, e?: number, st?: number) { return V.slice(this, d, s, e, st); },
  narrow(this: Tensor, d: number, s: number, l: number) { return V.narrow(this, d, s, l); },
  select(this: Tensor, d: number, i: number) { return V.select(this, d, i); },
  contiguous(this: Tensor) { return V.contiguous(this); },
  clone(this: Tensor) { return V.clone(this); },
  detach(this: Tensor) { return V.detach(this); },
  split(this: Tensor, s: number | readonly number[], d?: number) { return J.split(this, s, d); },
  chunk(this: Tensor, c: number, d?: number) { return J.chunk(this, c, d); },
  unbind(this: Tensor, d?: number) { return J.unbind(this, d); },
  gather(this: Tensor, d: number, i: Tensor) { return I.gather(this, d, i); },
  scatter(this: Tensor, d: number, i: Tensor, s: Tensor | number) { return I.scatter(this, d, i, s); },
  scatterAdd(this: Tensor, d: number, i: Tensor, s: Tensor) { return I.scatterAdd(this, d, i, s); },
  indexSelect(this: Tensor, d: number, i: Tensor) { return I.indexSelect(this, d, i); },
  cumsum(this: Tensor, d: number) { return C.cumsum(this, d); },
  tril(this: Tensor, d?: number) { return T.tril(this, d); },
  triu(this: Tensor, d?: number) { return T.triu(this, d); },
  backward(this: Tensor, g?: Tensor | null, o?: BackwardOptions) { backward(this, g ?? null, o); },
  to(this: Tensor, device: string) { return transferTo(this, device); },
  add_(this: Tensor, o: TensorLike, a?: AlphaOptions) { return IP.add_(this, o, a); },
  sub_(this: Tensor, o: TensorLike, a?: AlphaOptions) { return IP.sub_(this, o, a); },
  mul_(this: Tensor, o: TensorLike) { return IP.mul_(this, o); },
  div_(this: Tensor, o: TensorLike) { return IP.div_(this, o); },
  pow_(this: Tensor, o: TensorLike) { return IP.pow_(this, o); },
  clamp_(this: Tensor, lo?: TensorLike | null, hi?: TensorLike | null) { return IP.clamp_(this, lo, hi); },
  maskedFill_(this: Tensor, m: Tensor, v: number | Tensor) { return IP.maskedFill_(this, m, v); },
  addcmul_(this: Tensor, a: Tensor, b: Tensor, o?: { value?: number }) { return IP.addcmul_(this, a, b, o); },
  addcdiv_(this: Tensor, a: Tensor, b: Tensor, o?: { value?: number }) { return IP.addcdiv_(this, a, b, o); },
  lerp_(this: Tensor, e: Tensor, w: TensorLike) { return IP.lerp_(this, e, w); },
  copy_(this: Tensor, s: Tensor) { return IP.copy_(this, s); },
  fill_(this: Tensor, v: number | boolean | Tensor) { return IP.fill_(this, v); },
  zero_(this: Tensor) { return IP.zero_(this); },
  uniform_(this: Tensor, a?: number, b?: number, o?: RandomFillOptions) { return IP.uniform_(this, a, b, o); },
  normal_(this: Tensor, m?: number, s?: number, o?: RandomFillOptions) { return IP.normal_(this, m, s, o); },
  scatter_(this: Tensor, d: number, i: Tensor, s: Tensor | number) { return IP.scatter_(this, d, i, s); },
  scatterAdd_(this: Tensor, d: number, i: Tensor, s: Tensor) { return IP.scatterAdd_(this, d, i, s); },
  detach_(this: Tensor) { return IP.detach_(this); },
};
for (const name of Object.keys(IP.UNARY_INPLACE) as IP.UnaryInPlaceName[]) {
  methods[name] = function (this: Tensor) {
    return IP.unaryInPlace(this, name);
  };
}

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
}
