/**
 * Shared machinery of the elementwise op families (unary, binary, select): turning JS scalars
 * into tensors on the right backend, PyTorch type promotion, broadcasting to stride-0 kernel
 * views, and recording a broadcasting op whose gradients must be summed back to each input's
 * shape. Internal to the op library; not exported from the package.
 */
import { allocating } from '../allocation.js';
import type { Backend } from '../backend/backend.js';
import type { DataId, TensorView } from '../backend/kernels.js';
import { needsGrad, recordOp } from '../autograd/record.js';
import { type DType, promoteTypes } from '../dtype.js';
import { type Shape, broadcastShapes, contiguousStrides, shapesEqual } from '../shape.js';
import { backendOf, fromDataId, makeView } from '../tensor/make.js';
import { Tensor } from '../tensor/tensor.js';
import { sumToShape } from './view.js';

/** A tensor or a JS number (or boolean), as elementwise ops accept. */
export type TensorLike = Tensor | number | boolean;

/** Whether an operand is a tensor (rather than a JS scalar). */
export function isTensor(v: TensorLike | null | undefined): v is Tensor {
  return v instanceof Tensor;
}

/**
 * The dtype a JS scalar would have on its own: booleans are bool, integral numbers int32,
 * everything else (fractions, NaN, ±Infinity) float32.
 */
export function scalarDType(v: number | boolean): DType {
  if (typeof v === 'boolean') return 'bool';
  return Number.isInteger(v) ? 'int32' : 'float32';
}

/**
 * PyTorch's `result_type` for a mix of tensors and scalars. Tensors decide the dtype; a
 * scalar only lifts the result to a higher *category* (bool < integer < floating), so
 * `intTensor + 2` stays int32, `intTensor + 0.5` becomes float32 and `floatTensor + true`
 * stays float32. With no tensor at all, the scalars' own dtypes are promoted.
 */
export function resultType(operands: readonly TensorLike[]): DType {
  let tensorType: DType | undefined;
  let scalarType: DType | undefined;
  for (const v of operands) {
    if (isTensor(v)) tensorType = tensorType ? promoteTypes(tensorType, v.dtype) : v.dtype;
    else scalarType = scalarType ? promoteTypes(scalarType, scalarDType(v)) : scalarDType(v);
  }
  if (!tensorType) return scalarType ?? 'float32';
  // With one dtype per category, "a higher category" is simply "a later dtype".
  return scalarType ? promoteTypes(tensorType, scalarType) : tensorType;
}

/** The backend the tensor operands share (the active one when all operands are scalars). */
export function operandBackend(operands: readonly TensorLike[]): Backend {
  return backendOf(...operands.filter(isTensor));
}

/**
 * A kernel input viewing `t` broadcast to `shape`: new leading dims and size-1 dims that
 * grow get stride 0. No tensor and no copy is made (this is `expand` without the autograd
 * record: the op records itself against the unexpanded inputs and undoes broadcasting in
 * its gradient rule with `sumToShape`).
 */
export function broadcastView(t: Tensor, shape: Shape): TensorView {
  return expandView(t.kernelInput(), shape);
}

/** {@link broadcastView} of a kernel input (right-aligned dims; grown and new dims get stride 0). */
function expandView(view: TensorView, shape: Shape): TensorView {
  const rank = view.shape.length;
  if (rank === shape.length) {
    let same = true;
    for (let i = 0; i < rank && same; i++) same = view.shape[i] === shape[i];
    if (same) return view;
  }
  const lead = shape.length - rank;
  const strides = shape.map((size, i) => {
    const j = i - lead;
    return j >= 0 && view.shape[j] === size ? view.strides[j] : 0;
  });
  return { ...view, shape, strides };
}

/** A new tensor of `shape` filled with `value` through the backend's `fill` kernel. */
export function constant(backend: Backend, shape: Shape, dtype: DType, value: number | boolean): Tensor {
  const id = allocating('fill', shape, dtype, () => backend.kernels.fill({ shape, dtype, value: scalarValue(value, dtype) }));
  return fromDataId(backend, id, shape, dtype);
}

/** How a JS scalar is stored in `dtype` (bool is `x != 0`, so NaN is true like in PyTorch). */
export function scalarValue(value: number | boolean, dtype: DType): number {
  const n = typeof value === 'boolean' ? Number(value) : value;
  if (dtype === 'bool') return n !== 0 ? 1 : 0;
  if (dtype === 'int32') return Math.trunc(n) | 0;
  return n;
}

/**
 * A dtype conversion that is never recorded: type promotion only converts upwards into
 * float32 from dtypes that cannot require grad, or into bool for logical ops, which are
 * not differentiable, so these casts never sit on a gradient path.
 */
export function castUnrecorded(t: Tensor, dtype: DType): Tensor {
  const backend = t.backend;
  return fromDataId(backend, backend.kernels.cast(t.kernelInput(), { dtype }), t.shape, dtype);
}

/**
 * Runs an elementwise kernel: converts every operand to a `dtype` tensor (or `dtype[i]` per
 * operand) on the shared backend, broadcasts them to one shape and wraps the kernel's output (dtype `outDtype`).
 * Temporary tensors (scalars, casts) are freed before returning.
 */
export function runElementwise(
  operands: readonly TensorLike[],
  dtype: DType | readonly DType[],
  outDtype: DType,
  kernel: (backend: Backend, views: TensorView[], shape: Shape) => DataId,
): Tensor {
  const n = operands.length;
  // The shared backend without the array copies of backendOf(...filter()): this runs for
  // every elementwise op, so it checks the operands in place (same errors, same order).
  let backend: Backend | undefined;
  let first: Tensor | undefined;
  for (let i = 0; i < n; i++) {
    const v = operands[i];
    if (!isTensor(v)) continue;
    if (first === undefined) {
      first = v;
      backend = backendOf(v);
      continue;
    }
    v.assertAlive();
    if (v.backend !== backend) backendOf(first, v); // throws naming both backends
  }
  if (backend === undefined) backend = operandBackend(operands);
  const b = backend;
  // Scalars and dtype conversions are kernel outputs used once, for this call: plain buffers
  // freed right after it, not tensors (no storage, scope or safety-net bookkeeping per op).
  const temps: DataId[] = [];
  try {
    const inputs: TensorView[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = operands[i];
      const want = typeof dtype === 'string' ? dtype : dtype[i];
      let view: TensorView;
      if (!isTensor(v)) {
        const id = allocating('fill', [], want, () => b.kernels.fill({ shape: [], dtype: want, value: scalarValue(v, want) }));
        temps.push(id);
        view = { dataId: id, dtype: want, shape: [], strides: [], offset: 0 };
      } else if (v.dtype === want) {
        view = v.kernelInput();
      } else {
        const id = b.kernels.cast(v.kernelInput(), { dtype: want });
        temps.push(id);
        view = { dataId: id, dtype: want, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
      }
      inputs[i] = view;
    }
    const shape =
      n === 2 && shapesEqual(inputs[0].shape, inputs[1].shape) ? inputs[0].shape : broadcastShapes(...inputs.map((v) => v.shape));
    for (let i = 0; i < n; i++) inputs[i] = expandView(inputs[i], shape);
    return fromDataId(b, kernel(b, inputs, shape), shape, outDtype);
  } finally {
    for (let i = 0; i < temps.length; i++) b.disposeData(temps[i]);
  }
}

/**
 * A gradient rule of a broadcasting elementwise op, per operand. `operands` holds the
 * operands as they were at forward time: JS scalars as given, tensors as saved views (or
 * null when the op did not ask to save inputs). `out` is the saved output (or null).
 * `needs[i]` says whether operand i wants a gradient; return null where it does not.
 * Returned gradients have the output's shape; the recorder sums them to each input's shape.
 */
export type ElementwiseRule = (
  g: Tensor,
  operands: readonly (TensorLike | null)[],
  out: Tensor | null,
  needs: readonly boolean[],
) => (Tensor | null)[];

/** What {@link recordElementwise} needs to save for the rule. */
export interface ElementwiseSave {
  /** Save the tensor operands. */
  inputs?: boolean;
  /** Save the output. */
  output?: boolean;
}

/**
 * Records a broadcasting elementwise op: the tensor operands are the autograd inputs, and
 * each gradient the rule returns is reduced with `sumToShape` to its input's shape.
 */
export function recordElementwise(
  name: string,
  operands: readonly TensorLike[],
  out: Tensor,
  save: ElementwiseSave,
  rule: ElementwiseRule,
): void {
  const inputs = operands.filter(isTensor);
  if (!needsGrad(inputs) || out.dtype !== 'float32') return;
  const needs = operands.map((v) => isTensor(v) && v.requiresGrad);
  const shapes = inputs.map((t) => t.shape);
  const saved: Tensor[] = [...(save.inputs ? inputs : []), ...(save.output ? [out] : [])];
  recordOp({
    name,
    inputs,
    outputs: [out],
    save: saved,
    backward: ([g], views) => {
      let k = 0;
      const rebuilt = operands.map((v) => (isTensor(v) ? (save.inputs ? views[k++] : null) : v));
      const savedOut = save.output ? views[k] : null;
      const grads = rule(g, rebuilt, savedOut, needs);
      let t = 0;
      const result: (Tensor | null)[] = [];
      operands.forEach((v, i) => {
        if (!isTensor(v)) return;
        const gi = grads[i];
        const reduced = gi ? sumToShape(gi, shapes[t]) : null;
        result.push(reduced);
        t++;
      });
      return result;
    },
  });
}

/**
 * A view sharing `t`'s data under its own reference, outside the graph (ops record it).
 * Gradient rules need not use it: the engine itself aliases a gradient a rule passes through.
 */
export function alias(t: Tensor): Tensor {
  return makeView(t, t.shape, t.strides, t.offset);
}
