/**
 * Copies that rearrange or replicate elements (`torch.repeat`, `tile`, `repeat_interleave`,
 * `flip`, `roll`), composed from differentiable core ops (expand, index select, narrow,
 * cat), so their gradients (the sums over copies, the inverse permutation) come from those
 * ops' rules and are differentiable again.
 */
import { GhostFlowError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape, normalizeDim } from '../shape.js';
import { uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { indexSelect } from './indexing.js';
import { cat } from './join.js';
import { clone, expand, narrow, reshape } from './view.js';

function sizesOf(op: string, sizes: (number | readonly number[])[]): number[] {
  const list = sizes.length === 1 && Array.isArray(sizes[0]) ? [...(sizes[0] as readonly number[])] : (sizes as number[]);
  for (const s of list) {
    if (!Number.isInteger(s) || s < 0) throw new ShapeError(`${op}: repeats must be non-negative integers, got ${formatShape(list)}`);
  }
  return list;
}

/**
 * `x` repeated `sizes[i]` times along each dim (`Tensor.repeat` in PyTorch, which is
 * `numpy.tile`): the output's dim i has size `sizes[i] * x.shape[i]`, with `x` padded by
 * leading size-1 dims when `sizes` is longer than its rank. Differentiable (the gradient
 * sums over the copies).
 * @param x the input
 * @param sizes repeats per dim (at least `x.rank` of them), as arguments or one array
 */
export function repeat(x: Tensor, ...sizes: (number | readonly number[])[]): Tensor {
  x.assertAlive();
  const reps = sizesOf('repeat()', sizes);
  if (reps.length < x.rank) {
    throw new ShapeError(
      `repeat(): number of dimensions of repeat dims (${reps.length}) can not be smaller than number of dimensions of tensor (${x.rank})`,
    );
  }
  const padded = [...new Array(reps.length - x.rank).fill(1), ...x.shape];
  return tidy(() => {
    // [1, s0, 1, s1, ...] expanded to [r0, s0, r1, s1, ...] is the tiling laid out row-major.
    const interleaved = reshape(
      x,
      padded.flatMap((s) => [1, s]),
    );
    const big = expand(
      interleaved,
      padded.flatMap((s, i) => [reps[i], s]),
    );
    return reshape(
      big,
      padded.map((s, i) => s * reps[i]),
    );
  });
}

/**
 * `torch.tile`: like {@link repeat}, but `dims` shorter than the rank is padded with leading
 * 1s (so `tile(x, [2])` repeats the last dim). Differentiable.
 * @param x the input
 * @param dims repeats per dim
 */
export function tile(x: Tensor, dims: readonly number[]): Tensor {
  x.assertAlive();
  const reps = sizesOf('tile()', [dims]);
  const full = [...new Array(Math.max(0, x.rank - reps.length)).fill(1), ...reps];
  return repeat(x, full);
}

function hostRepeats(repeats: number | readonly number[] | Tensor): number | number[] {
  if (typeof repeats === 'number') return repeats;
  if (Array.isArray(repeats)) return [...repeats];
  const t = repeats as Tensor;
  t.assertAlive();
  if (t.dtype !== 'int32') throw new GhostFlowError(`repeatInterleave(): repeats must be an int32 tensor, got dtype ${t.dtype}`);
  if (t.rank > 1) throw new ShapeError(`repeatInterleave(): repeats must be 0-dim or 1-dim tensor, got ${formatShape(t.shape)}`);
  // The output size depends on the values: they must come to the host.
  if (!t.backend.readSync) {
    throw new GhostFlowError(
      'repeatInterleave(): a repeats tensor on an asynchronous backend cannot be read synchronously; pass its values as an array (await repeats.data())',
    );
  }
  const v = Array.from(t.dataSync() as Int32Array);
  return t.rank === 0 ? v[0] : v;
}

/**
 * Repeats each element (or each slice along `dim`) `repeats` times in place order
 * (`torch.repeat_interleave`): `[a, b]` with 2 gives `[a, a, b, b]`. Without `dim` the input
 * is flattened first. `repeats` is a number, a list with one count per slice, or an int32
 * tensor (0-d or 1-d; read on the host, which needs a synchronous backend, since the output
 * size depends on it). Differentiable (the gradient sums over the copies).
 * @param x the input
 * @param repeats count(s), non-negative
 * @param dim the dim to repeat along (default: the flattened input)
 */
export function repeatInterleave(x: Tensor, repeats: number | readonly number[] | Tensor, dim?: number): Tensor {
  x.assertAlive();
  const reps = hostRepeats(repeats);
  return tidy(() => {
    const src = dim === undefined ? reshape(x, [-1]) : x.rank === 0 ? reshape(x, [1]) : x;
    const d = dim === undefined ? 0 : normalizeDim(dim, src.rank);
    const n = src.shape[d];
    const counts = typeof reps === 'number' ? new Array(n).fill(reps) : reps.length === 1 ? new Array(n).fill(reps[0]) : reps;
    if (counts.length !== n) throw new ShapeError('repeatInterleave(): repeats must have the same size as input along dim');
    const index: number[] = [];
    counts.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0) throw new ShapeError('repeatInterleave(): repeats can not be negative');
      for (let k = 0; k < c; k++) index.push(i);
    });
    const idx = uploadTensor(x.backend, Int32Array.from(index), [index.length], 'int32');
    return indexSelect(src, d, idx);
  });
}

function reversedIndex(x: Tensor, n: number): Tensor {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = n - 1 - i;
  return uploadTensor(x.backend, idx, [n], 'int32');
}

/**
 * `x` reversed along each of `dims` (`torch.flip`), as a copy. Differentiable (the gradient
 * is flipped back).
 * @param x the input
 * @param dims the dims to reverse (may be negative; no repeats)
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  x.assertAlive();
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const norm = list.map((d) => normalizeDim(d, x.rank));
  for (let i = 0; i < norm.length; i++) {
    if (norm.indexOf(norm[i]) !== i) throw new ShapeError(`flip(): dim ${norm[i]} appears multiple times in the list of dims`);
  }
  if (x.rank === 0 || norm.length === 0) return clone(x);
  return tidy(() => {
    let out = x;
    for (const d of norm) {
      if (out.shape[d] > 1) out = indexSelect(out, d, reversedIndex(x, out.shape[d]));
    }
    return out === x ? clone(x) : out;
  });
}

/**
 * Rotates `x` along `dims` by `shifts` (`torch.roll`): element i moves to `(i + shift) mod n`.
 * Without `dims` the flattened tensor is rolled and reshaped back. Differentiable.
 * @param x the input
 * @param shifts one shift, or one per dim of `dims`
 * @param dims the dims to roll (default: the flattened tensor)
 */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  x.assertAlive();
  const s = typeof shifts === 'number' ? [shifts] : [...shifts];
  if (dims === undefined) {
    if (s.length !== 1) throw new ShapeError(`roll(): shifts and dimensions must align. shifts: ${s.length}, dims: 0`);
    return tidy(() => reshape(roll(reshape(x, [-1]), s[0], 0), x.shape));
  }
  const ds = typeof dims === 'number' ? [dims] : [...dims];
  if (s.length !== ds.length) throw new ShapeError(`roll(): shifts and dimensions must align. shifts: ${s.length}, dims: ${ds.length}`);
  for (const v of s) if (!Number.isInteger(v)) throw new GhostFlowError(`roll(): shifts must be integers, got ${v}`);
  const norm = ds.map((d) => normalizeDim(d, x.rank));
  return tidy(() => {
    const src = x.rank === 0 ? reshape(x, [1]) : x;
    let out = src;
    norm.forEach((d, i) => {
      const n = out.shape[d];
      if (n === 0) return;
      const k = ((s[i] % n) + n) % n;
      if (k === 0) return;
      out = cat([narrow(out, d, n - k, k), narrow(out, d, 0, n - k)], d);
    });
    const r = out === src ? clone(src) : out;
    return x.rank === 0 ? reshape(r, []) : r;
  });
}
