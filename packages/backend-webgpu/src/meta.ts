/**
 * Kernel parameters: a small u32 array bound as a read-only storage buffer (binding 0).
 * Shapes, strides and offsets travel here, not in the shader source, so one compiled
 * pipeline serves every shape and layout.
 */
import { type Shape, collapseLayout } from '@ghostflow/core';

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
