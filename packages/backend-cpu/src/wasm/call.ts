/**
 * The one copy-in / run / copy-out sequence every wasm kernel entry uses. Tensor storage
 * lives in JavaScript typed arrays, so a kernel call plans its operands' regions in the
 * wasm memory ({@link KernelCall.copy}, {@link KernelCall.view}, {@link KernelCall.alloc}),
 * reserves the memory once ({@link KernelCall.commit}, which also does the copies), runs,
 * and takes its outputs back as new store buffers ({@link KernelCall.take}). One object per
 * backend is reused for every call: no closures, no per-call arrays beyond the plan slots.
 */
import { type DType, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
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
  private readonly layout = new ScratchLayout();
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);
  private planned = 0;
  private readonly srcs: (TypedArray | null)[] = [];
  private readonly from: number[] = [];
  private readonly len: number[] = [];
  private readonly to: number[] = [];

  /** @param rt the runtime whose memory the calls use */
  constructor(private readonly rt: WasmRuntime) {}

  /** Starts planning a call (forgets the previous one's plan). */
  begin(): this {
    this.layout.top = this.rt.scratchBase;
    for (let i = 0; i < this.planned; i++) this.srcs[i] = null; // let the inputs go
    this.planned = 0;
    return this;
  }

  /** A region of `count` 4-byte elements (outputs, temporaries); returns its byte offset. */
  alloc(count: number): number {
    return this.layout.f32(count);
  }

  /** Plans the copy of `src[from, from + len)` (float32 or int32) into a new region; returns its byte offset. */
  copy(src: TypedArray, from: number, len: number): number {
    const p = this.layout.f32(len);
    const i = this.planned++;
    this.srcs[i] = src;
    this.from[i] = from;
    this.len[i] = len;
    this.to[i] = p;
    return p;
  }

  /** Plans a contiguous row-major copy of a float32/int32 view (gathered in JS when strided). */
  view(store: CpuStore, v: TensorView): number {
    const data = store.data(v.dataId);
    const size = sizeOf(v.shape);
    if (isContiguousView(v)) return this.copy(data, v.offset, size);
    return this.copy(rowMajorValues(data, v), 0, size);
  }

  /**
   * Plans a float32/int32 operand of an elementwise kernel over the collapsed layout
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

  /** Plans i32 words (kernel metadata: shapes, strides, odometer scratch); returns their byte offset. */
  words(values: readonly number[]): number {
    return this.copy(Int32Array.from(values), 0, values.length);
  }

  /**
   * Reserves the memory the plan needs and does the planned copies; false when the memory
   * cannot grow that far (the caller then runs the JS kernel).
   */
  commit(): boolean {
    const heap = this.rt.reserve(this.layout.top);
    if (!heap) return false;
    if (this.f32 !== heap) {
      this.f32 = heap;
      this.i32 = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    }
    for (let i = 0; i < this.planned; i++) {
      const src = this.srcs[i] as TypedArray;
      const from = this.from[i];
      const part = src.subarray(from, from + this.len[i]);
      if (src instanceof Float32Array) this.f32.set(part as Float32Array, this.to[i] >> 2);
      else this.i32.set(part as Int32Array, this.to[i] >> 2);
    }
    return true;
  }

  /** The float32 view of the memory (valid until the next {@link KernelCall.commit}). */
  get heap(): Float32Array {
    return this.f32;
  }

  /** A new live store buffer holding `count` elements of `dtype` (float32/int32) from byte offset `p`. */
  take(store: CpuStore, p: number, count: number, dtype: DType = 'float32'): CpuData {
    const i = p >> 2;
    return store.adopt(dtype === 'int32' ? this.i32.slice(i, i + count) : this.f32.slice(i, i + count), dtype);
  }
}
