/**
 * In-place ops with PyTorch's semantics (`add_`, `copy_`, `fill_`, `uniform_`...).
 *
 * Every in-place op is its out-of-place op followed by the contract's one mutating kernel,
 * `write`, into the tensor's own buffer: every view of that buffer sees the change, the
 * tensor object keeps its identity, and the buffer's version counter goes up so a gradient
 * rule that saved the old values refuses to run (PyTorch's "modified by an inplace
 * operation" error). Autograd follows PyTorch:
 * - a leaf that requires grad, or a view of one, may only be written under `noGrad()`;
 * - a written tensor takes the op's node as its new history (`rebase_history`);
 * - a written view gives its base a `copySlices` history (the base's old history outside the
 *   view's elements, the op's inside), and other views of that base refresh their history
 *   from it the next time they are used.
 */
import { enableGrad, isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { recordOp, setStaleViewRefresher } from '../autograd/record.js';
import type { DType } from '../dtype.js';
import { AutogradError, DTypeError, GhostFlowError, ShapeError } from '../errors.js';
import { type Generator, defaultGenerator } from '../random/generator.js';
import { type Shape, formatShape, isContiguous, shapesEqual, sizeOf } from '../shape.js';
import { backendOf, fromDataId, makeView, shareData, uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, add, div, mul, pow, sub } from './binary.js';
import { zeros } from './creation.js';
import { isTensor } from './elementwise.js';
import { scatter, scatterAdd } from './indexing.js';
import { clamp, maskedFill } from './select.js';
import * as U from './unary.js';
import { clone, contiguous, expand } from './view.js';

/** Where a view sits inside its (contiguous) base: strides and offset relative to the base. */
interface Region {
  shape: Shape;
  strides: readonly number[];
  offset: number;
}

/**
 * PyTorch's `can_cast`, which decides whether an in-place op may store its result in the
 * tensor's dtype: never float into an integer tensor, nothing but bool into a bool tensor.
 */
function canCast(from: DType, to: DType): boolean {
  if (from === to) return true;
  if (to === 'bool') return false;
  return !(from === 'float32' && to === 'int32');
}

function refuseOverlap(self: Tensor, op: string): void {
  for (let d = 0; d < self.rank; d++) {
    if (self.shape[d] > 1 && self.strides[d] === 0) {
      throw new GhostFlowError(
        `${op}: unsupported operation: more than one element of the written-to tensor refers to a single memory location (shape ${formatShape(self.shape)}, strides ${formatShape(self.strides)}). Please clone() the tensor before performing the operation`,
      );
    }
  }
}

/**
 * The view's base while that tensor object is alive. A base disposed before its view (an
 * intermediate freed by `tidy` while the view is returned) has given up its graph place, so
 * the view is then treated as owning its history.
 */
function liveBase(t: Tensor): Tensor | null {
  const base = t.base;
  return base && !base.isDisposed ? base : null;
}

function checkWritable(self: Tensor, op: string, recording: boolean): void {
  self.assertAlive();
  refuseOverlap(self, op);
  if (!isGradEnabled()) return;
  if (self.isLeaf && self.requiresGrad) {
    throw new AutogradError(
      `${op}: a leaf Variable that requires grad is being used in an in-place operation. Do the update inside noGrad(() => ...), as optimizers and nn.init do`,
    );
  }
  const base = liveBase(self);
  if (base?.isLeaf && base.requiresGrad) {
    throw new AutogradError(
      `${op}: a view of a leaf Variable that requires grad is being used in an in-place operation. Do the update inside noGrad(() => ...), or clone() the view first`,
    );
  }
  if (recording && base && !isContiguous(base.shape, base.strides)) {
    throw new AutogradError(
      `${op}: an in-place op that records gradients on a view needs its base to be contiguous (base shape ${formatShape(base.shape)}, strides ${formatShape(base.strides)}); make the base contiguous() before taking the view`,
    );
  }
}

/** `out` as `self`'s shape and dtype (PyTorch refuses results that broadcast beyond `self` or cannot be cast). */
function fitTo(self: Tensor, out: Tensor, op: string): Tensor {
  if (!shapesEqual(out.shape, self.shape)) {
    throw new ShapeError(`${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(out.shape)}`);
  }
  if (out.dtype === self.dtype) return out;
  if (!canCast(out.dtype, self.dtype)) {
    throw new DTypeError(`${op}: result type ${out.dtype} can't be cast to the desired output type ${self.dtype}`);
  }
  return U.cast(out, self.dtype);
}

/** Writes `value` (same shape and dtype) into `self`'s elements and bumps the version. */
function commitWrite(self: Tensor, value: Tensor): void {
  const backend = backendOf(self, value);
  // The kernel may assume its source does not alias the target's buffer.
  const source = value.storage === self.storage ? noGrad(() => clone(value)) : value;
  try {
    backend.kernels.write(self.kernelInput(), source.kernelInput());
  } finally {
    if (source !== value) source.dispose();
  }
  self.storage.version++;
}

/** Gives `self` the history of `out` after the write, as PyTorch does for tensors and views. */
function attachHistory(self: Tensor, input: Tensor, out: Tensor, op: string): void {
  let result = out;
  if (!out.autograd.node) {
    // The new values do not depend on the old ones (fill_, copy_ of a constant...): the old
    // history gets a zero gradient through a node of its own.
    result = shareData(out);
    recordOp({ name: op, inputs: [input], outputs: [result], backward: () => [null] });
  }
  try {
    const { node, index } = result.autograd;
    if (!node) return;
    const base = liveBase(self);
    if (base === null) self.rebaseHistory(node, index);
    else copySlices(base, self, result);
  } finally {
    if (result !== out) result.dispose();
  }
}

function regionOf(view: Tensor, base: Tensor): Region {
  return { shape: view.shape, strides: view.strides, offset: view.offset - base.offset };
}

/**
 * After `view`'s elements were written with `value`: the base's new history is "old base
 * outside the region, `value` inside it", and the view's is a strided view of that.
 */
function copySlices(base: Tensor, view: Tensor, value: Tensor): void {
  const region = regionOf(view, base);
  const newBase = shareData(base);
  recordOp({
    name: 'copySlices',
    inputs: [base, value],
    outputs: [newBase],
    backward: ([g]) => {
      const gc = contiguous(g);
      const zero = zeros(region.shape, { device: g.device });
      const gBase = regionScatter(gc, zero, region);
      const gValue = clone(asStrided(gc, region));
      zero.dispose();
      if (gc !== g) gc.dispose();
      return [gBase, gValue];
    },
  });
  try {
    const { node, index } = newBase.autograd;
    if (!node) return;
    base.rebaseHistory(node, index);
    refreshViewHistory(view);
  } finally {
    newBase.dispose();
  }
}

/** Points a view's history at its base's current one (PyTorch regenerates stale view grad_fns). */
function refreshViewHistory(view: Tensor): void {
  const base = liveBase(view);
  if (base === null || !base.requiresGrad) return;
  if (!isContiguous(base.shape, base.strides)) {
    throw new AutogradError(
      `a view of a tensor that was modified in place is used, but its base (shape ${formatShape(base.shape)}) is not contiguous, so its history cannot be rebuilt; take the view again after the in-place op`,
    );
  }
  const fresh = enableGrad(() => asStrided(base, regionOf(view, base)));
  try {
    const { node, index } = fresh.autograd;
    if (node) view.rebaseHistory(node, index);
  } finally {
    fresh.dispose();
  }
}

setStaleViewRefresher(refreshViewHistory);

/**
 * The elements of contiguous `x` at `region` (strides and offset relative to `x`), as a view
 * (PyTorch's `as_strided` on a contiguous tensor). Differentiable.
 */
function asStrided(x: Tensor, region: Region): Tensor {
  const out = makeView(x, region.shape, region.strides, x.offset + region.offset);
  // The rule keeps only the shape: a rule that reaches a tensor keeps it alive (tensor/lifetime.ts).
  const shape = x.shape;
  recordOp({
    name: 'asStrided',
    inputs: [x],
    outputs: [out],
    backward: ([g]) => {
      const zero = zeros(shape, { device: g.device });
      const gx = regionScatter(zero, g, region);
      zero.dispose();
      return [gx];
    },
  });
  return out;
}

/**
 * A contiguous copy of contiguous `x` with the elements at `region` replaced by `src`
 * (PyTorch's `as_strided_scatter`). Differentiable in both inputs.
 */
function regionScatter(x: Tensor, src: Tensor, region: Region): Tensor {
  const backend = backendOf(x, src);
  const out = fromDataId(backend, backend.kernels.unary(x.kernelInput(), { op: 'identity' }), x.shape, x.dtype);
  const target = { ...out.kernelInput(), shape: region.shape, strides: region.strides, offset: region.offset };
  if (sizeOf(region.shape) > 0) backend.kernels.write(target, src.kernelInput());
  recordOp({
    name: 'regionScatter',
    inputs: [x, src],
    outputs: [out],
    backward: ([g]) => {
      const gc = contiguous(g);
      const zero = zeros(region.shape, { device: g.device });
      const gx = regionScatter(gc, zero, region);
      const gSrc = clone(asStrided(gc, region));
      zero.dispose();
      if (gc !== g) gc.dispose();
      return [gx, gSrc];
    },
  });
  return out;
}

/**
 * Runs the out-of-place op `compute` and writes its result into `self`: the machinery behind
 * every in-place op. `others` are the tensor operands (they decide whether the op records).
 * Exported for library authors who build their own in-place ops on core's.
 */
export function applyInPlace(self: Tensor, op: string, others: readonly TensorLike[], compute: (input: Tensor) => Tensor): Tensor {
  const recording = isGradEnabled() && (self.requiresGrad || others.some((o) => isTensor(o) && o.requiresGrad));
  checkWritable(self, op, recording);
  // The op may save its input for backward; it must keep the values from before the write.
  const input = recording ? clone(self) : self;
  try {
    const raw = compute(input);
    let out: Tensor | undefined;
    try {
      out = fitTo(self, raw, op);
      commitWrite(self, out);
      if (recording) attachHistory(self, input, out, op);
    } finally {
      if (out && out !== raw) out.dispose();
      raw.dispose();
    }
  } finally {
    if (input !== self) input.dispose();
  }
  return self;
}

/** Options of `add_`/`sub_`: `alpha` scales `other` first (PyTorch's `alpha`). */
export interface AlphaOptions {
  /** Multiplier of `other` (default 1). */
  alpha?: number;
}

function scaled(other: TensorLike, alpha: number | undefined): TensorLike {
  if (alpha === undefined || alpha === 1) return other;
  return isTensor(other) ? mul(other, alpha) : Number(other) * alpha;
}

function withScaled(other: TensorLike, alpha: number | undefined, fn: (o: TensorLike) => Tensor): Tensor {
  const o = scaled(other, alpha);
  try {
    return fn(o);
  } finally {
    if (o !== other && isTensor(o)) o.dispose();
  }
}

/** In place `self += alpha * other` (`torch.Tensor.add_`). Returns `self`. */
export function add_(self: Tensor, other: TensorLike, options: AlphaOptions = {}): Tensor {
  return applyInPlace(self, 'add_', [other], (x) => withScaled(other, options.alpha, (o) => add(x, o)));
}

/** In place `self -= alpha * other` (`torch.Tensor.sub_`). Returns `self`. */
export function sub_(self: Tensor, other: TensorLike, options: AlphaOptions = {}): Tensor {
  return applyInPlace(self, 'sub_', [other], (x) => withScaled(other, options.alpha, (o) => sub(x, o)));
}

/** In place `self *= other`. Returns `self`. */
export function mul_(self: Tensor, other: TensorLike): Tensor {
  return applyInPlace(self, 'mul_', [other], (x) => mul(x, other));
}

/** In place `self /= other` (true division; an int32 `self` cannot hold the result). Returns `self`. */
export function div_(self: Tensor, other: TensorLike): Tensor {
  return applyInPlace(self, 'div_', [other], (x) => div(x, other));
}

/** In place `self = self ** exponent`. Returns `self`. */
export function pow_(self: Tensor, exponent: TensorLike): Tensor {
  return applyInPlace(self, 'pow_', [exponent], (x) => pow(x, exponent));
}

/** In place `clamp` (`torch.Tensor.clamp_`). Returns `self`. */
export function clamp_(self: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  return applyInPlace(
    self,
    'clamp_',
    [min ?? null, max ?? null].filter((v) => v !== null),
    (x) => clamp(x, min, max),
  );
}

/** In place `maskedFill`: `value` where `mask` is true (`torch.Tensor.masked_fill_`). Returns `self`. */
export function maskedFill_(self: Tensor, mask: Tensor, value: number | Tensor): Tensor {
  return applyInPlace(self, 'maskedFill_', [value], (x) => maskedFill(x, mask, value));
}

/** In place `self += value * tensor1 * tensor2` (`torch.Tensor.addcmul_`). Returns `self`. */
export function addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, options: { value?: number } = {}): Tensor {
  return applyInPlace(self, 'addcmul_', [tensor1, tensor2], (x) => {
    const prod = mul(tensor1, tensor2);
    try {
      return withScaled(prod, options.value, (o) => add(x, o));
    } finally {
      prod.dispose();
    }
  });
}

/** In place `self += value * tensor1 / tensor2` (`torch.Tensor.addcdiv_`). Returns `self`. */
export function addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, options: { value?: number } = {}): Tensor {
  return applyInPlace(self, 'addcdiv_', [tensor1, tensor2], (x) => {
    const q = div(tensor1, tensor2);
    try {
      return withScaled(q, options.value, (o) => add(x, o));
    } finally {
      q.dispose();
    }
  });
}

/** In place `self += weight * (end - self)` (`torch.Tensor.lerp_`). Returns `self`. */
export function lerp_(self: Tensor, end: Tensor, weight: TensorLike): Tensor {
  return applyInPlace(self, 'lerp_', [end, weight], (x) => {
    const d = sub(end, x);
    const step = mul(d, weight);
    d.dispose();
    try {
      return add(x, step);
    } finally {
      step.dispose();
    }
  });
}

/**
 * Copies `src` into `self` (`torch.Tensor.copy_`): `src` broadcasts to `self`'s shape and is
 * converted to `self`'s dtype (float to int32 truncates, as PyTorch's copy_ does). Both must
 * be on the same backend (move with `await src.to(...)` first). Returns `self`.
 */
export function copy_(self: Tensor, src: Tensor): Tensor {
  return applyInPlace(self, 'copy_', [src], (x) => {
    const b = expand(src, x.shape);
    if (b.dtype === x.dtype) return b;
    try {
      return U.cast(b, x.dtype);
    } finally {
      b.dispose();
    }
  });
}

/** Sets every element to `value` (a number or a one-element tensor) (`torch.Tensor.fill_`). Returns `self`. */
export function fill_(self: Tensor, value: number | boolean | Tensor): Tensor {
  if (isTensor(value) && value.rank !== 0) {
    throw new ShapeError(`fill_: only supports 0-dimension value tensor but got tensor with ${value.rank} dimensions`);
  }
  return applyInPlace(self, 'fill_', [value], (x) => {
    if (isTensor(value)) return copyAs(value, x);
    const v = typeof value === 'boolean' ? Number(value) : value;
    return fromDataId(x.backend, x.backend.kernels.fill({ shape: x.shape, dtype: x.dtype, value: v }), x.shape, x.dtype);
  });
}

function copyAs(value: Tensor, like: Tensor): Tensor {
  const b = expand(value, like.shape);
  if (b.dtype === like.dtype) return b;
  try {
    return U.cast(b, like.dtype);
  } finally {
    b.dispose();
  }
}

/** Sets every element to 0 (`torch.Tensor.zero_`). Returns `self`. */
export function zero_(self: Tensor): Tensor {
  return fill_(self, 0);
}

/** Options of the random in-place fills. */
export interface RandomFillOptions {
  /** Draw from this generator instead of the global one. */
  generator?: Generator;
}

function randomFill(self: Tensor, op: string, generator: Generator | undefined, draw: (n: number, g: Generator) => Float32Array): Tensor {
  if (self.dtype !== 'float32') throw new DTypeError(`${op}: needs a float32 tensor, got ${self.dtype}`);
  const g = generator ?? defaultGenerator;
  return applyInPlace(self, op, [], (x) => uploadTensor(x.backend, draw(x.size, g), x.shape, 'float32'));
}

/**
 * Fills with values uniform in [from, to) (`torch.Tensor.uniform_`), from core's seeded
 * generator (the same numbers on every backend). Returns `self`.
 */
export function uniform_(self: Tensor, from = 0, to = 1, options: RandomFillOptions = {}): Tensor {
  if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) {
    throw new GhostFlowError(`uniform_: expects from <= to, both finite, but got from=${from} and to=${to}`);
  }
  return randomFill(self, 'uniform_', options.generator, (n, g) => {
    const u = g.uniform(n);
    for (let i = 0; i < n; i++) u[i] = from + (to - from) * u[i];
    return u;
  });
}

/** Fills with normal values of `mean` and `std` (`torch.Tensor.normal_`). Returns `self`. */
export function normal_(self: Tensor, mean = 0, std = 1, options: RandomFillOptions = {}): Tensor {
  if (!(std >= 0) || !Number.isFinite(mean) || !Number.isFinite(std)) {
    throw new GhostFlowError(`normal_: expects std >= 0.0 and a finite mean, but found mean=${mean} and std=${std}`);
  }
  return randomFill(self, 'normal_', options.generator, (n, g) => {
    const z = g.normal(n);
    for (let i = 0; i < n; i++) z[i] = mean + std * z[i];
    return z;
  });
}

/** In place `scatter` along `dim` (`torch.Tensor.scatter_`). Returns `self`. */
export function scatter_(self: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  return applyInPlace(self, 'scatter_', [src], (x) => scatter(x, dim, index, src));
}

/** In place `scatterAdd` along `dim` (`torch.Tensor.scatter_add_`). Returns `self`. */
export function scatterAdd_(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return applyInPlace(self, 'scatterAdd_', [src], (x) => scatterAdd(x, dim, index, src));
}

/**
 * Takes the tensor out of the graph in place (`torch.Tensor.detach_`): it becomes a leaf
 * that does not require grad, e.g. for a hidden state carried across truncated-BPTT windows.
 * Views cannot be detached in place (PyTorch refuses too): use `detach()`.
 */
export function detach_(self: Tensor): Tensor {
  self.assertAlive();
  if (self.isView) throw new AutogradError("detach_: Can't detach views in-place. Use detach() instead");
  self.detachInPlace();
  return self;
}

/** The unary ops that have an in-place form, by their out-of-place function. */
export const UNARY_INPLACE = {
  neg_: U.neg,
  abs_: U.abs,
  sign_: U.sign,
  exp_: U.exp,
  expm1_: U.expm1,
  log_: U.log,
  log1p_: U.log1p,
  sqrt_: U.sqrt,
  rsqrt_: U.rsqrt,
  reciprocal_: U.reciprocal,
  sin_: U.sin,
  cos_: U.cos,
  tanh_: U.tanh,
  sigmoid_: U.sigmoid,
  relu_: U.relu,
  silu_: U.silu,
  erf_: U.erf,
  floor_: U.floor,
  ceil_: U.ceil,
  round_: U.round,
  square_: U.square,
} as const;

/** Name of a unary in-place op (`exp_`, `relu_`...). */
export type UnaryInPlaceName = keyof typeof UNARY_INPLACE;

/** Applies the unary in-place op `name` to `self` (`self.exp_()` and friends call this). */
export function unaryInPlace(self: Tensor, name: UnaryInPlaceName): Tensor {
  const fn = UNARY_INPLACE[name];
  return applyInPlace(self, name, [], (x) => fn(x));
}
