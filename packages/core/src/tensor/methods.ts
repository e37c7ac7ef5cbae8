/**
 * Chainable method aliases on Tensor (`x.add(y).relu()`), each forwarding to the op of the
 * same name in `ops/`. Declared here, apart from the class, so the class file stays about
 * storage, lifetime and autograd state.
 */
import { backward, type BackwardOptions } from '../autograd/backward.js';
import type { DType } from '../dtype.js';
import * as B from '../ops/binary.js';
import type { TensorLike } from '../ops/binary.js';
import * as C from '../ops/cumulative.js';
import * as I from '../ops/indexing.js';
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

declare module './tensor.js' {
  interface Tensor {
    /** See {@link B.add}. */ add(other: TensorLike): Tensor;
    /** See {@link B.sub}. */ sub(other: TensorLike): Tensor;
    /** See {@link B.mul}. */ mul(other: TensorLike): Tensor;
    /** See {@link B.div}. */ div(other: TensorLike): Tensor;
    /** See {@link B.pow}. */ pow(other: TensorLike): Tensor;
    /** See {@link B.maximum}. */ maximum(other: TensorLike): Tensor;
    /** See {@link B.minimum}. */ minimum(other: TensorLike): Tensor;
    /** See {@link B.eq}. */ eq(other: TensorLike): Tensor;
    /** See {@link B.ne}. */ ne(other: TensorLike): Tensor;
    /** See {@link B.lt}. */ lt(other: TensorLike): Tensor;
    /** See {@link B.le}. */ le(other: TensorLike): Tensor;
    /** See {@link B.gt}. */ gt(other: TensorLike): Tensor;
    /** See {@link B.ge}. */ ge(other: TensorLike): Tensor;
    /** See {@link B.logicalAnd}. */ logicalAnd(other: TensorLike): Tensor;
    /** See {@link B.logicalOr}. */ logicalOr(other: TensorLike): Tensor;
    /** See {@link B.logicalXor}. */ logicalXor(other: TensorLike): Tensor;
    /** See {@link U.neg}. */ neg(): Tensor;
    /** See {@link U.abs}. */ abs(): Tensor;
    /** See {@link U.sign}. */ sign(): Tensor;
    /** See {@link U.exp}. */ exp(): Tensor;
    /** See {@link U.expm1}. */ expm1(): Tensor;
    /** See {@link U.log}. */ log(): Tensor;
    /** See {@link U.log1p}. */ log1p(): Tensor;
    /** See {@link U.sqrt}. */ sqrt(): Tensor;
    /** See {@link U.rsqrt}. */ rsqrt(): Tensor;
    /** See {@link U.reciprocal}. */ reciprocal(): Tensor;
    /** See {@link U.sin}. */ sin(): Tensor;
    /** See {@link U.cos}. */ cos(): Tensor;
    /** See {@link U.tanh}. */ tanh(): Tensor;
    /** See {@link U.sigmoid}. */ sigmoid(): Tensor;
    /** See {@link U.relu}. */ relu(): Tensor;
    /** See {@link U.gelu}. */ gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor;
    /** See {@link U.silu}. */ silu(): Tensor;
    /** See {@link U.softplus}. */ softplus(options?: { beta?: number; threshold?: number }): Tensor;
    /** See {@link U.erf}. */ erf(): Tensor;
    /** See {@link U.floor}. */ floor(): Tensor;
    /** See {@link U.ceil}. */ ceil(): Tensor;
    /** See {@link U.round}. */ round(): Tensor;
    /** See {@link U.square}. */ square(): Tensor;
    /** See {@link U.logicalNot}. */ logicalNot(): Tensor;
    /** See {@link U.cast}. */ cast(dtype: DType): Tensor;
    /** `cast('float32')`. */ float(): Tensor;
    /** `cast('int32')`. */ int(): Tensor;
    /** `cast('bool')`. */ bool(): Tensor;
    /** See {@link S.clamp}. */ clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor;
    /** See {@link S.maskedFill}. */ maskedFill(mask: Tensor, value: number | Tensor): Tensor;
    /** See {@link R.sum}. */ sum(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.mean}. */ mean(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.prod}. */ prod(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.amax}. */ amax(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.amin}. */ amin(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.max}. */ max(): Tensor;
    /** See {@link R.max}. */ max(dim: number, keepdim?: boolean): ValuesIndices;
    /** See {@link R.min}. */ min(): Tensor;
    /** See {@link R.min}. */ min(dim: number, keepdim?: boolean): ValuesIndices;
    /** See {@link R.argmax}. */ argmax(dim?: number, keepdim?: boolean): Tensor;
    /** See {@link R.argmin}. */ argmin(dim?: number, keepdim?: boolean): Tensor;
    /** See {@link R.variance}. */ var(options?: VarianceOptions): Tensor;
    /** See {@link R.std}. */ std(options?: VarianceOptions): Tensor;
    /** See {@link R.logsumexp}. */ logsumexp(dim: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.any}. */ any(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link R.all}. */ all(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link SM.softmax}. */ softmax(dim: number): Tensor;
    /** See {@link SM.logSoftmax}. */ logSoftmax(dim: number): Tensor;
    /** See {@link M.matmul}. */ matmul(other: Tensor): Tensor;
    /** See {@link V.reshape}. */ reshape(...shape: (number | readonly number[])[]): Tensor;
    /** See {@link V.view}. */ view(...shape: (number | readonly number[])[]): Tensor;
    /** See {@link V.flatten}. */ flatten(startDim?: number, endDim?: number): Tensor;
    /** See {@link V.squeeze}. */ squeeze(dim?: number | readonly number[]): Tensor;
    /** See {@link V.unsqueeze}. */ unsqueeze(dim: number): Tensor;
    /** See {@link V.permute}. */ permute(...dims: (number | readonly number[])[]): Tensor;
    /** See {@link V.transpose}. */ transpose(dim0: number, dim1: number): Tensor;
    /** See {@link V.t}. */ t(): Tensor;
    /** See {@link V.expand}. */ expand(...shape: (number | readonly number[])[]): Tensor;
    /** `expand` to `other`'s shape. */ expandAs(other: Tensor): Tensor;
    /** See {@link V.slice}. */ slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    /** See {@link V.narrow}. */ narrow(dim: number, start: number, length: number): Tensor;
    /** See {@link V.select}. */ select(dim: number, index: number): Tensor;
    /** See {@link V.contiguous}. */ contiguous(): Tensor;
    /** See {@link V.clone}. */ clone(): Tensor;
    /** See {@link V.detach}. */ detach(): Tensor;
    /** See {@link J.split}. */ split(sizeOrSizes: number | readonly number[], dim?: number): Tensor[];
    /** See {@link J.chunk}. */ chunk(chunks: number, dim?: number): Tensor[];
    /** See {@link J.unbind}. */ unbind(dim?: number): Tensor[];
    /** See {@link I.gather}. */ gather(dim: number, index: Tensor): Tensor;
    /** See {@link I.scatter}. */ scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
    /** See {@link I.scatterAdd}. */ scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    /** See {@link I.indexSelect}. */ indexSelect(dim: number, index: Tensor): Tensor;
    /** See {@link C.cumsum}. */ cumsum(dim: number): Tensor;
    /** See {@link T.tril}. */ tril(diagonal?: number): Tensor;
    /** See {@link T.triu}. */ triu(diagonal?: number): Tensor;
    /**
     * Backpropagates from this tensor: accumulates into `.grad` of every leaf that requires
     * grad. `grad` defaults to ones for a one-element tensor.
     */
    backward(grad?: Tensor | null, options?: BackwardOptions): void;
    /**
     * A copy on the backend named `device` (this tensor itself when already there). The
     * copy is a leaf with the same `requiresGrad`; tensors inside a graph must be detached
     * first.
     */
    to(device: string): Promise<Tensor>;
  }
}

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
};

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
}
