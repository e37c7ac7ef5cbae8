/**
 * The one plan / commit / run / take sequence every wasm kernel entry uses. A kernel call
 * plans its operands ({@link KernelCall.copy}, {@link KernelCall.view}, {@link
 * KernelCall.strided}): an operand already resident in the wasm memory (a store buffer
 * placed there, see `CpuStore`) is passed by its address, anything else is copied into the
 * call's scratch. Outputs are planned as blocks of the heap ({@link KernelCall.out}) that
 * {@link KernelCall.take} turns into store buffers without a copy; temporaries come from
 * the scratch ({@link KernelCall.alloc}). {@link KernelCall.commit} reserves the memory and
 * does the copies. One object per backend is reused for every call.
 *
 * Resident operands are the tensors themselves: a kernel must never write to an address
 * {@link KernelCall.copy}/{@link KernelCall.view}/{@link KernelCall.strided} returned
 * unless it means to change that tensor (in-place kernels such as `adamUpdate` do).
 */
import { type DType, type TensorView, type TypedArray, bytesPerElement, sizeOf } from '@ghostflow/core';
import type { CpuData, CpuStore } from '../storage.js';
import { isContiguousView, rowMajorValues } from '../strided.js';
import { ScratchLayout, type WasmRuntime } from './runtime.js';

/** Most dims a strided operand keeps after collapsing; more are gathered in JS first. */
export const MAX_RANK = 8;

/** A strided operand as the wasm elementwise kernels see it (after {@link KernelCall.strided}). */
export interface StridedOperand {
  /** Byte offset of its first element in the wasm memory. */
  ptr: number;
  /** Element strides per collapsed dim (0 = broadcast). */
  strides: number[];
}

/** Elementwise operands planned over their joint collapsed layout ({@link KernelCall.joint}). */
export interface JointLayout {
  /** The collapsed shape (at most {@link MAX_RANK} dims). */
  shape: number[];
  /** The operands in the order given, with their strides over `shape`. */
  operands: StridedOperand[];
}

/**
 * Collapses the common layout of elementwise operands: size-1 dims dropped, and adjacent dims
 * merged where every operand (and the contiguous output) steps through them as one. `[N]` +
 * scalar becomes rank 1 with strides `[1]`, `[0]`; a bias `[R, C]` + `[C]` stays rank 2.
 */
export function collapseJoint(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    if (size === 1) continue;
    const last = outShape.length - 1;
    let merge = last >= 0;
    for (let k = 0; merge && k < strides.length; k++) if (outStrides[k][last] !== strides[k][d] * size) merge = false;
    if (merge) {
      outShape[last] *= size;
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][d];
    } else {
      outShape.push(size);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][d]);
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(1);
  }
  return { shape: outShape, strides: outStrides };
}

/** Contiguous row-major strides of `shape`. */
function rowMajorStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}

/** One backend's reusable kernel-call state. */
export class KernelCall {
  private layout: ScratchLayout;
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);
  private u8 = new Uint8Array(0);
  private planned = 0;
  private readonly srcs: (TypedArray | null)[] = [];
  private readonly from: number[] = [];
  private readonly len: number[] = [];
  private readonly to: number[] = [];
  /** Heap blocks planned as outputs and not yet taken (freed at the next begin). */
  private readonly outs: number[] = [];

  /** @param rt the runtime whose memory the calls use */
  constructor(private readonly rt: WasmRuntime) {
    this.layout = new ScratchLayout(rt);
  }

  /** Starts planning a call (forgets the previous one's plan; frees outputs it did not take). */
  begin(): this {
    this.dropOuts();
    this.layout = new ScratchLayout(this.rt);
    for (let i = 0; i < this.planned; i++) this.srcs[i] = null; // let the inputs go
    this.planned = 0;
    return this;
  }

  /**
   * An output of `count` elements of `dtype` (float32 and int32: 4 bytes, bool: 1), plus
   * `slack` elements the kernel may touch past its end: a heap block that {@link
   * KernelCall.take} hands over as a store buffer with no copy, or a scratch region (copied
   * out by `take`) when storage is not resident or the heap is full. Returns its byte offset.
   */
  out(count: number, slack = 0, dtype: DType = 'float32'): number {
    const bytes = (count + slack) * bytesPerElement(dtype);
    if (this.rt.resident && count > 0) {
      const p = this.rt.heap.alloc(bytes);
      if (p !== 0) {
        this.outs.push(p);
        return p;
      }
    }
    return this.layout.f32(Math.ceil(bytes / 4));
  }

  /** A region of `count` 4-byte elements (outputs, temporaries); returns its byte offset. */
  alloc(count: number): number {
    return this.layout.f32(count);
  }

  /**
   * The address of `src[from, from + len)` (float32, int32 or bool bytes): where it is when
   * `src` is a view over the wasm memory (a resident buffer: no copy), else a new region it
   * is copied into at {@link KernelCall.commit}.
   */
  copy(src: TypedArray, from: number, len: number): number {
    const bpe = src.BYTES_PER_ELEMENT;
    if (this.rt.owns(src.buffer)) return src.byteOffset + from * bpe;
    const p = this.layout.f32(Math.ceil((len * bpe) / 4));
    const i = this.planned++;
    this.srcs[i] = src;
    this.from[i] = from;
    this.len[i] = len;
    this.to[i] = p;
    return p;
  }

  /** Plans a contiguous row-major copy of a view (gathered in JS when strided). */
  view(store: CpuStore, v: TensorView): number {
    const data = store.data(v.dataId);
    const size = sizeOf(v.shape);
    if (isContiguousView(v)) return this.copy(data, v.offset, size);
    return this.copy(rowMajorValues(data, v), 0, size);
  }

  /**
   * Plans an operand (any dtype) of an elementwise kernel over the collapsed layout
   * (`shape`, `strides`): when the memory span the view touches is compact (contiguous, a
   * transpose, a stride-0 scalar or row broadcast) the span alone is copied and the strides
   * kept, so a broadcast operand costs its own size, not the output's; a sparse span is
   * gathered in JS into a contiguous copy.
   */
  strided(store: CpuStore, v: TensorView, shape: readonly number[], strides: readonly number[]): StridedOperand {
    const data = store.data(v.dataId);
    const size = sizeOf(shape);
    let span = 1;
    for (let d = 0; d < shape.length; d++) span += (shape[d] - 1) * strides[d];
    if (span <= 2 * size + 64) return { ptr: this.copy(data, v.offset, span), strides: strides.slice() };
    return { ptr: this.copy(rowMajorValues(data, v), 0, size), strides: rowMajorStrides(shape) };
  }

  /**
   * Plans `views`, elementwise operands of shape `shape` (broadcast ones with stride 0), over
   * their joint collapsed layout ({@link collapseJoint}), each as {@link KernelCall.strided}
   * does; null when more than {@link MAX_RANK} dims remain (nothing is planned then).
   */
  joint(store: CpuStore, shape: readonly number[], views: readonly TensorView[]): JointLayout | null {
    const strides: (readonly number[])[] = [];
    for (const v of views) strides.push(v.strides);
    const lay = collapseJoint(shape, strides);
    if (lay.shape.length > MAX_RANK) return null;
    const operands: StridedOperand[] = [];
    for (let i = 0; i < views.length; i++) operands.push(this.strided(store, views[i], lay.shape, lay.strides[i]));
    return { shape: lay.shape, operands };
  }

  /** Plans i32 words (kernel metadata: shapes, strides, odometer scratch); returns their byte offset. */
  words(values: readonly number[]): number {
    return this.copy(Int32Array.from(values), 0, values.length);
  }

  /**
   * Plans the meta block of a strided kernel (the layout assembly/strided.ts walks): `shape`,
   * each operand's element strides in order, then one odometer word per dim. Returns its
   * byte offset.
   */
  meta(shape: readonly number[], strides: readonly (readonly number[])[]): number {
    const rank = shape.length;
    const words = new Int32Array(rank * (strides.length + 2));
    words.set(shape);
    for (let k = 0; k < strides.length; k++) words.set(strides[k], rank * (k + 1));
    return this.copy(words, 0, words.length);
  }

  /**
   * Reserves the memory the plan needs and does the planned copies; false when the memory
   * cannot grow that far (the caller then runs the JS kernel; the planned outputs are freed).
   */
  commit(): boolean {
    const heap = this.rt.reserve(this.layout.top);
    if (!heap) {
      this.dropOuts();
      return false;
    }
    if (this.f32 !== heap) {
      this.f32 = heap;
      this.i32 = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
      this.u8 = new Uint8Array(heap.buffer, heap.byteOffset, heap.byteLength);
    }
    for (let i = 0; i < this.planned; i++) {
      const src = this.srcs[i] as TypedArray;
      const from = this.from[i];
      const part = src.subarray(from, from + this.len[i]);
      if (src instanceof Float32Array) this.f32.set(part as Float32Array, this.to[i] >> 2);
      else if (src instanceof Uint8Array) this.u8.set(part as Uint8Array, this.to[i]);
      else this.i32.set(part as Int32Array, this.to[i] >> 2);
    }
    return true;
  }

  /** The float32 view of the memory (valid until the next {@link KernelCall.commit}). */
  get heap(): Float32Array {
    return this.f32;
  }

  /**
   * A new live store buffer holding `count` elements of `dtype` from byte offset `p`: the
   * block itself when `p` is an output from {@link KernelCall.out}, else a copy of the region.
   */
  take(store: CpuStore, p: number, count: number, dtype: DType = 'float32'): CpuData {
    const k = this.outs.indexOf(p);
    if (k >= 0) {
      this.outs.splice(k, 1);
      return store.adoptResident(p, count, dtype);
    }
    if (dtype === 'bool') return store.adopt(this.u8.slice(p, p + count), dtype);
    const i = p >> 2;
    return store.adopt(dtype === 'int32' ? this.i32.slice(i, i + count) : this.f32.slice(i, i + count), dtype);
  }

  /** Frees the output blocks planned and not taken (a call that fell back, or failed). */
  private dropOuts(): void {
    const outs = this.outs;
    for (let i = 0; i < outs.length; i++) this.rt.heap.free(outs[i]);
    outs.length = 0;
  }
}
