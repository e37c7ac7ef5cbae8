/**
 * Kernel parameters: a small u32 array bound as a read-only storage buffer (binding 0).
 * Shapes, strides and offsets travel here, not in the shader source, so one compiled
 * pipeline serves every shape and layout.
 */
import type { Shape } from '@ghostflow/core';

/** A shape with its element strides. */
export interface Layout {
  shape: number[];
  strides: number[];
}

/**
 * Drops size-1 dims and merges neighbouring dims that step through memory as one, keeping
 * the row-major order of positions (so a contiguous view becomes one dim of stride 1).
 */
export function collapseLayout(shape: Shape, strides: readonly number[]): Layout {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === strides[d] * shape[d]) {
      outShape[last] *= shape[d];
      outStrides[last] = strides[d];
    } else {
      outShape.push(shape[d]);
      outStrides.push(strides[d]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
const i32Scratch = new Int32Array(f32Scratch.buffer);

/** The bits of `v` as float32. */
export function f32Bits(v: number): number {
  f32Scratch[0] = v;
  return u32Scratch[0];
}

/** The bits of `v` as int32 (wrapping). */
export function i32Bits(v: number): number {
  i32Scratch[0] = v;
  return u32Scratch[0];
}

/** Builds the meta words: a fixed header of `header` slots, then views appended on demand. */
export class Meta {
  private readonly w: number[];

  constructor(header: number) {
    this.w = new Array<number>(header).fill(0);
  }

  /** Sets header slot `i` (a non-negative integer below 2^32). */
  set(i: number, v: number): this {
    this.w[i] = v >>> 0;
    return this;
  }

  /**
   * Appends a view `[rank, offset, shape..., strides...]` (collapsed) and returns its word
   * index, which the shader passes to `vpos`.
   */
  view(shape: Shape, strides: readonly number[], offset: number): number {
    const { shape: s, strides: st } = collapseLayout(shape, strides);
    const base = this.w.length;
    this.w.push(s.length, offset, ...s, ...st);
    return base;
  }

  /** Appends a view and stores its word index in header slot `slot`. */
  viewAt(slot: number, shape: Shape, strides: readonly number[], offset: number): this {
    this.w[slot] = this.view(shape, strides, offset);
    return this;
  }

  words(): Uint32Array {
    return Uint32Array.from(this.w);
  }
}
