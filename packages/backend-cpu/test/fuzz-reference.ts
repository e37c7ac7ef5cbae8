/**
 * The float64 reference of the op fuzz suite: a tensor is its logical shape and row-major
 * values (numbers, float32 inputs already rounded), and every op is written here from its
 * PyTorch definition, independently of core and of the kernels. Plus the layouts that turn
 * a reference into a GhostFlow tensor that is a view (permuted, strided slice of a padded
 * buffer, expanded, selected to 0-d), so kernels see non-contiguous inputs.
 */
import { type DType, type Tensor, tensor } from '@ghostflow/core';

/** A reference tensor. */
export interface Ref {
  dtype: DType;
  shape: number[];
  data: number[];
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Multi-index of flat position `i` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = shape[d] === 0 ? 0 : rest % shape[d];
    rest = shape[d] === 0 ? 0 : Math.floor(rest / shape[d]);
  }
  return idx;
}

/** Value of `r` at `idx` of a shape `r` broadcasts to (trailing alignment, size-1 dims repeat). */
export function at(r: Ref, idx: readonly number[]): number {
  const off = idx.length - r.shape.length;
  const st = stridesOf(r.shape);
  let p = 0;
  for (let d = 0; d < r.shape.length; d++) p += (r.shape[d] === 1 ? 0 : idx[d + off]) * st[d];
  return r.data[p];
}

export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let d = 0; d < s.length; d++) {
      const o = rank - s.length + d;
      if (s[d] !== 1) out[o] = s[d];
    }
  }
  return out;
}

export function broadcastTo(r: Ref, shape: readonly number[]): Ref {
  const n = numel(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) data[i] = at(r, unravel(i, shape));
  return { dtype: r.dtype, shape: [...shape], data };
}

/** How a reference becomes a GhostFlow tensor. */
export interface Layout {
  /** Storage order of the dims (a permutation); the tensor is a `permute` view of it. */
  perm: number[];
  /** Per dim: junk elements before, step between kept elements, junk after (a strided `slice`). */
  pad: { before: number; step: number; after: number }[];
  /** 0-d only: read through `select` of a 3-element buffer, so the view has an offset. */
  selectScalar: boolean;
}

const JUNK: Record<DType, number> = { float32: -777.25, int32: 424242, bool: 1 };

/** A GhostFlow tensor on `device` holding `r`'s values through the view `layout` describes. */
export function materialize(r: Ref, layout: Layout, device: string): Tensor {
  const rank = r.shape.length;
  if (rank === 0) {
    if (!layout.selectScalar) return tensor(r.data, { shape: [], dtype: r.dtype, device });
    const buf = tensor([JUNK[r.dtype], r.data[0], JUNK[r.dtype]], { dtype: r.dtype, device });
    const v = buf.select(0, 1);
    buf.dispose();
    return v;
  }
  const big = r.shape.map((s, d) => {
    const p = layout.pad[d];
    return p.before + (s === 0 ? 0 : (s - 1) * p.step + 1) + p.after;
  });
  const bigData = new Array<number>(numel(big)).fill(JUNK[r.dtype]);
  const bigStrides = stridesOf(big);
  for (let i = 0; i < r.data.length; i++) {
    const idx = unravel(i, r.shape);
    let p = 0;
    for (let d = 0; d < rank; d++) p += (layout.pad[d].before + idx[d] * layout.pad[d].step) * bigStrides[d];
    bigData[p] = r.data[i];
  }
  // Stored permuted: stored dim k is logical dim perm[k].
  const storedShape = layout.perm.map((d) => big[d]);
  const storedStrides = stridesOf(storedShape);
  const stored = new Array<number>(bigData.length);
  for (let i = 0; i < bigData.length; i++) {
    const idx = unravel(i, big);
    let p = 0;
    for (let k = 0; k < rank; k++) p += idx[layout.perm[k]] * storedStrides[k];
    stored[p] = bigData[i];
  }
  const inverse = new Array<number>(rank);
  layout.perm.forEach((d, k) => {
    inverse[d] = k;
  });
  const base = tensor(stored, { shape: storedShape, dtype: r.dtype, device });
  let x = base.permute(inverse);
  base.dispose();
  for (let d = 0; d < rank; d++) {
    const p = layout.pad[d];
    if (p.before === 0 && p.after === 0 && p.step === 1) continue;
    const y = x.slice(d, p.before, p.before + (r.shape[d] === 0 ? 0 : (r.shape[d] - 1) * p.step + 1), p.step);
    x.dispose();
    x = y;
  }
  return x;
}

/** Values of a GhostFlow tensor as numbers (checks shape and dtype against `want`). */
export function valuesOf(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, Number);
}

/** Error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7), independent of the kernels' erf. */
export function erfRef(x: number): number {
  if (Number.isNaN(x)) return x;
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/** Round half to even (torch.round). */
export function roundEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** C's pow, which PyTorch follows (JS's ** differs for pow(1, NaN) and pow(-1, ±inf)). */
export function powRef(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  if (a === -1 && !Number.isFinite(b) && !Number.isNaN(b)) return 1;
  return a ** b;
}

/** `got` is `want` within float32 tolerance (NaN matches NaN, infinities match exactly). */
export function close(got: number, want: number, atol: number, rtol: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  const w = Math.fround(want);
  if (!Number.isFinite(w)) {
    // float64 finite but past float32's range rounds to infinity; accept either side of the boundary.
    return got === w || (Number.isFinite(want) && Math.abs(got) >= 3.4e38 && Math.sign(got) === Math.sign(want));
  }
  return Math.abs(got - want) <= atol + rtol * Math.abs(want);
}
