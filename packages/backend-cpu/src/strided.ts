/**
 * The one strided-iteration helper every CPU kernel uses. Kernels never walk strides
 * themselves: they ask for the buffer position of each logical element (row-major order)
 * or for a row-major copy of a view's values, so that the odometer logic, the handling of
 * stride-0, size-1 and empty dims, and the contiguous fast path live in one place.
 */
import {
  type DType,
  type Layout,
  type Shape,
  type TensorView,
  type TypedArray,
  allocArray,
  collapseLayout,
  isContiguous,
  sizeOf,
} from '@ghostflow/core';

/**
 * Buffer position of every logical element of (`shape`, `strides`, `offset`), in row-major
 * order. Int32Array is enough: a typed array (and so a buffer position) cannot exceed 2^31
 * elements in the engines GhostFlow targets.
 */
export function stridedOffsets(shape: Shape, strides: readonly number[], offset: number): Int32Array {
  const size = sizeOf(shape);
  const out = new Int32Array(size);
  if (size === 0) return out;
  const { shape: cs, strides: st } = collapseLayout(shape, strides);
  const rank = cs.length;
  if (rank === 0) {
    out[0] = offset;
    return out;
  }
  if (rank === 1) {
    const s = st[0];
    for (let i = 0, p = offset; i < size; i++, p += s) out[i] = p;
    return out;
  }
  // The innermost dim runs as a tight loop; only the outer dims use the odometer.
  const inner = cs[rank - 1];
  const innerStride = st[rank - 1];
  const idx = new Array<number>(rank - 1).fill(0);
  let base = offset;
  for (let i = 0; i < size; ) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) out[i++] = p;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      base += st[d];
      if (idx[d] < cs[d]) break;
      base -= idx[d] * st[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Buffer positions of every logical element of a view, in row-major order. */
export function viewOffsets(v: TensorView): Int32Array {
  return stridedOffsets(v.shape, v.strides, v.offset);
}

/** Size of dim `d`, or 1 for a dim beyond the rank (axis 0 of a 0-d tensor). */
export function dimSize(shape: Shape, d: number): number {
  return d < shape.length ? shape[d] : 1;
}

/** Whether a view's elements sit in its buffer contiguously, in row-major order. */
export function isContiguousView(v: TensorView): boolean {
  return isContiguous(v.shape, v.strides);
}

/**
 * The values of a view in row-major order, as the typed array of `dtype`. A contiguous
 * view is returned as a subarray of `data` WITHOUT copying, so callers must treat the
 * result as read-only; a strided view is gathered into a fresh array.
 */
export function rowMajorValues(data: TypedArray, v: TensorView, dtype: DType = v.dtype): TypedArray {
  const size = sizeOf(v.shape);
  if (isContiguousView(v)) return data.subarray(v.offset, v.offset + size);
  const out = allocArray(dtype, size);
  // A broadcast scalar (every stride 0, e.g. the 0 of relu's backward `where(y > 0, g, 0)`):
  // one fill, no per-element offset table.
  if (v.strides.every((s) => s === 0)) return size > 0 ? out.fill(data[v.offset]) : out;
  const pos = viewOffsets(v);
  for (let i = 0; i < size; i++) out[i] = data[pos[i]];
  return out;
}

/**
 * Writes the values of a view in row-major order into `dst` from index 0 (`dst` holds the
 * view's element type and at least its size): one typed-array copy for a contiguous view,
 * one fill for a broadcast scalar, a gather otherwise. Kernels whose output starts as a
 * copy of an input (scatter, an empty reduction) use it on an uninitialised output, so the
 * output is written once instead of zeroed, staged and copied.
 */
export function copyRowMajor(dst: TypedArray, data: TypedArray, v: TensorView): void {
  const size = sizeOf(v.shape);
  if (size === 0) return;
  if (isContiguousView(v)) dst.set(data.subarray(v.offset, v.offset + size));
  else if (v.strides.every((s) => s === 0)) dst.fill(data[v.offset], 0, size);
  else {
    const pos = viewOffsets(v);
    for (let i = 0; i < size; i++) dst[i] = data[pos[i]];
  }
}

/** The values of a view in row-major order, widened to float64 (a fresh array). */
export function rowMajorFloat64(data: TypedArray, v: TensorView): Float64Array {
  const size = sizeOf(v.shape);
  const out = new Float64Array(size);
  if (isContiguousView(v)) {
    out.set(data.subarray(v.offset, v.offset + size));
    return out;
  }
  const pos = viewOffsets(v);
  for (let i = 0; i < size; i++) out[i] = data[pos[i]];
  return out;
}

/**
 * Reorders a layout so that `moved` dims (ascending) come last, keeping the order of the
 * others. Kernels that work along some axes (reductions, cumsum, softmax) use it to turn
 * "the elements of one output" into a run of consecutive row-major positions. Dims at or
 * beyond the rank are ignored: PyTorch lets a 0-d tensor be reduced along dim 0, and
 * its single element is then a line of length one.
 */
export function moveAxesLast(shape: Shape, strides: readonly number[], moved: readonly number[]): Layout & { kept: number[] } {
  const kept: number[] = [];
  for (let d = 0; d < shape.length; d++) if (!moved.includes(d)) kept.push(d);
  const order = [...kept, ...moved.filter((d) => d < shape.length)];
  return { shape: order.map((d) => shape[d]), strides: order.map((d) => strides[d]), kept };
}
