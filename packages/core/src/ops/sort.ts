/**
 * Sorting and selection (`torch.sort`, `argsort`, `topk`) composed from primitive kernels,
 * so they run on asynchronous backends (WebGPU) without a device-to-host round trip.
 *
 * Design (the kernel contract has no sort kernel and is closed):
 * - On backends that read synchronously (backend-cpu: the data already lives in host
 *   memory) the indices are computed on the host, O(n log n) per row, and uploaded: about
 *   2 ms for a 10k row. Everything below is the device path that asynchronous backends
 *   (WebGPU) take, so no op here ever waits for a device-to-host copy.
 * - `sort`/`argsort` rank every element by pairwise comparison: the sorted position of
 *   element i is the number of elements that go before it (smaller, or equal with a smaller
 *   index, which makes the sort stable). Positions are turned into indices with one
 *   `scatter`, values with one `gather`. Cost: O(n^2) comparisons per sorted row, done in
 *   blocks of at most {@link RANK_BLOCK_ELEMENTS} comparison cells so memory stays bounded;
 *   the number of kernel calls is a small constant per block. Fine for rows of a few
 *   hundred to a few thousand on a GPU; a full sort of a 10k-vocabulary row is 10^8
 *   comparisons, so decoders on asynchronous backends should prefer `topk`.
 * - `topk` with k well below n picks the k extremes one after the other with `argReduce`
 *   (O(k n) work, about eight kernel calls per pick): top-50 over a 10k vocabulary for a
 *   batch of a few rows is a few hundred small kernel calls. Larger k falls back to sorting.
 * - Ordering is PyTorch's: NaN is larger than every number (last ascending, first
 *   descending); ties keep their original order (both paths), which is what `stable: true`
 *   promises and a valid result for `stable: false`.
 * - Gradients: values are a `gather` of the input at the indices, so the gradient scatters
 *   the output gradient into zeros at those indices, as PyTorch's sort/topk backward does.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { DTypeError, GhostFlowError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { normalizeDim } from '../shape.js';
import { uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, eq, gt, logicalAnd, logicalOr, lt, mul } from './binary.js';
import { arange, zeros } from './creation.js';
import { gather, scatter } from './indexing.js';
import { cat } from './join.js';
import { argmax, argmin, sum } from './reduce.js';
import { where } from './select.js';
import { cast, logicalNot } from './unary.js';
import { expand, narrow, reshape, transpose, unsqueeze } from './view.js';

/** Largest number of pairwise comparison cells one ranking block materialises. */
export const RANK_BLOCK_ELEMENTS = 1 << 22;

/** Options of {@link sort}. */
export interface SortOptions {
  /** Largest first (NaN first) instead of smallest first. Default false. */
  descending?: boolean;
  /**
   * Keep equal elements in their original order. GhostFlow's sort is always stable, so
   * this only exists for PyTorch's signature. Default false.
   */
  stable?: boolean;
}

/** Sorted values and the positions they came from (int32; PyTorch gives int64). */
export interface SortResult {
  /** The sorted values, same dtype as the input. */
  values: Tensor;
  /** Index along the sorted dim of each value in the input (int32). */
  indices: Tensor;
}

function checkSortable(op: string, x: Tensor): void {
  x.assertAlive();
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
    throw new DTypeError(`${op}: expected a float32, int32 or bool tensor, got dtype ${x.dtype}`);
  }
}

/** Runs `fn` on a `[1]` view of a 0-d tensor and reshapes its outputs back to 0-d. */
function on0d(x: Tensor, fn: (v: Tensor) => SortResult): SortResult {
  const v = reshape(x, [1]);
  const r = fn(v);
  const out = { values: reshape(r.values, []), indices: reshape(r.indices, []) };
  v.dispose();
  r.values.dispose();
  r.indices.dispose();
  return out;
}

/**
 * Sorted position of every element along the last dim of `xt` (int32, `xt`'s shape):
 * the count of elements that go before it. Runs without grad.
 */
function ranks(xt: Tensor, descending: boolean): Tensor {
  const n = xt.shape[xt.rank - 1];
  const rows = xt.size / n;
  const device = xt.device;
  const key = xt.dtype === 'bool' ? cast(xt, 'int32') : xt;
  const isFloat = key.dtype === 'float32';
  const block = Math.max(1, Math.min(n, Math.floor(RANK_BLOCK_ELEMENTS / Math.max(1, rows * n))));
  const jIdx = reshape(arange(n, { dtype: 'int32', device }), [1, n]);
  const b = unsqueeze(key, -2); // [..., 1, n]: the other element j
  const bNan = isFloat ? unsqueeze(noGradIsNan(key), -2) : null;
  const parts: Tensor[] = [];
  for (let start = 0; start < n; start += block) {
    const len = Math.min(block, n - start);
    const a = unsqueeze(narrow(key, -1, start, len), -1); // [..., len, 1]: element i
    const iIdx = reshape(arange(start, start + len, 1, { dtype: 'int32', device }), [len, 1]);
    // j goes before i when it compares strictly before, or equal with a smaller index.
    let strictly = descending ? gt(b, a) : lt(b, a);
    let equal = eq(b, a);
    if (bNan) {
      const aNan = unsqueeze(noGradIsNan(narrow(key, -1, start, len)), -1);
      // NaN is the largest value: it goes before every number when descending, after when not.
      const nanOrder = descending ? logicalAnd(bNan, logicalNot(aNan)) : logicalAnd(aNan, logicalNot(bNan));
      strictly = logicalOr(strictly, nanOrder);
      equal = logicalOr(equal, logicalAnd(aNan, bNan));
    }
    const before = logicalOr(strictly, logicalAnd(equal, lt(jIdx, iIdx)));
    parts.push(sum(cast(before, 'int32'), -1));
  }
  return parts.length === 1 ? parts[0] : cat(parts, -1);
}

function noGradIsNan(x: Tensor): Tensor {
  return logicalNot(eq(x, x));
}

/** PyTorch's order: NaN above every number; 0 for equal values (ties broken by index). */
function compareAscending(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The same indices as the composed ranking, computed on the host: only where the backend
 * reads synchronously (the data is already in host memory there), O(n log n) per row.
 */
function hostSortIndices(x: Tensor, d: number, descending: boolean): Tensor {
  return tidy(() => {
    const last = x.rank - 1;
    const xt = d === last ? x : transpose(x, d, last);
    const n = xt.shape[last];
    const values = xt.dataSync();
    const out = new Int32Array(values.length);
    const order = new Array<number>(n);
    const sign = descending ? -1 : 1;
    for (let base = 0; base < values.length; base += n) {
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((i, j) => sign * compareAscending(values[base + i], values[base + j]) || i - j);
      for (let i = 0; i < n; i++) out[base + i] = order[i];
    }
    const idx = uploadTensor(x.backend, out, xt.shape, 'int32');
    return d === last ? idx : transpose(idx, d, last);
  });
}

/**
 * Indices that sort `x` along dim `d` (int32, `x`'s shape). Runs without grad. Backends
 * with synchronous reads sort on the host; the others rank on the device.
 */
function sortIndices(x: Tensor, d: number, descending: boolean): Tensor {
  if (x.backend.readSync) return hostSortIndices(x, d, descending);
  return noGrad(() =>
    tidy(() => {
      const last = x.rank - 1;
      const xt = d === last ? x : transpose(x, d, last);
      const n = xt.shape[last];
      const rank = ranks(xt, descending);
      const positions = expand(arange(n, { dtype: 'int32', device: x.device }), xt.shape);
      // rank[i] is where element i lands, so indices[rank[i]] = i.
      const idx = scatter(zeros(xt.shape, { dtype: 'int32', device: x.device }), last, rank, positions);
      return d === last ? idx : transpose(idx, d, last);
    }),
  );
}

/**
 * Sorts `x` along `dim` (`torch.sort`): ascending by default, NaN last (first when
 * descending), equal elements in their original order. 0-d inputs give themselves and
 * index 0. Differentiable in `values` (the gradient scatters back to the source positions).
 * Cost: O(n log n) per row on the host where the backend reads synchronously (cpu),
 * O(n^2) comparisons per row on the device otherwise (see the module notes).
 * @param x float32, int32 or bool input
 * @param dim the dim to sort along (default -1; may be negative)
 * @param options `descending`, `stable`
 * @returns `{ values, indices }`, indices int32
 */
export function sort(x: Tensor, dim = -1, options: SortOptions = {}): SortResult {
  checkSortable('sort()', x);
  if (x.rank === 0) return on0d(x, (v) => sort(v, 0, options));
  const d = normalizeDim(dim, x.rank);
  const indices = x.size === 0 ? zeros(x.shape, { dtype: 'int32', device: x.device }) : sortIndices(x, d, options.descending ?? false);
  return { values: gather(x, d, indices), indices };
}

/**
 * The indices that sort `x` along `dim` (`torch.argsort`), int32: `sort(x, dim, options).indices`.
 * @param x float32, int32 or bool input
 * @param dim the dim to sort along (default -1)
 * @param options `descending`, `stable` (always stable)
 */
export function argsort(x: Tensor, dim = -1, options: SortOptions = {}): Tensor {
  checkSortable('argsort()', x);
  if (x.rank === 0) return on0d(x, (v) => ({ values: v, indices: argsort(v, 0, options) })).indices;
  const d = normalizeDim(dim, x.rank);
  return x.size === 0 ? zeros(x.shape, { dtype: 'int32', device: x.device }) : sortIndices(x, d, options.descending ?? false);
}

/** Options of {@link topk}. */
export interface TopkOptions {
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
  /**
   * Return them in sorted order (default true). GhostFlow always returns them sorted,
   * which is one of the orders PyTorch allows for `sorted: false`.
   */
  sorted?: boolean;
}

/** Whether to pick one by one (O(k n)) rather than sort (O(n^2)). */
function pickOneByOne(k: number, n: number): boolean {
  return k <= 64 || 8 * k < n;
}

/** The k extreme indices along `d`, extreme first, by repeated arg-reductions. No grad. */
function pickIndices(x: Tensor, d: number, k: number, largest: boolean): Tensor {
  return noGrad(() =>
    tidy(() => {
      let key = x.dtype === 'bool' ? cast(x, 'int32') : x;
      const isFloat = key.dtype === 'float32';
      // A taken element is overwritten with the value that can never win.
      const sentinel = isFloat ? (largest ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) : largest ? -2147483648 : 2147483647;
      // argmin would treat NaN as the extreme, but NaN is the largest: make it +inf and
      // prefer real numbers among the +inf ties (the `fallback` below).
      let nanPenalty: Tensor | null = null;
      if (isFloat && !largest) {
        const nan = noGradIsNan(key);
        nanPenalty = mul(cast(nan, 'float32'), 0.5);
        key = where(nan, Number.POSITIVE_INFINITY, key);
      }
      let work = key;
      let taken = zeros(x.shape, { device: x.device });
      const picks: Tensor[] = [];
      for (let t = 0; t < k; t++) {
        const best = largest ? argmax(work, d, true) : argmin(work, d, true);
        // When the best remaining value equals the sentinel, every remaining value does, and
        // the arg-reduction may have landed on a taken slot: take the first untaken one instead.
        const exhausted = eq(gather(work, d, best), sentinel);
        const firstFree = argmin(nanPenalty ? add(taken, nanPenalty) : taken, d, true);
        const pick = where(exhausted, firstFree, best);
        work = scatter(work, d, pick, sentinel);
        taken = scatter(taken, d, pick, 1);
        picks.push(pick);
      }
      return cat(picks, d);
    }),
  );
}

/**
 * The k extreme indices along `d` computed on the host (synchronous backends only): one
 * pass per row keeping the best k in order, O(n) plus O(k) per insertion.
 */
function hostTopkIndices(x: Tensor, d: number, k: number, largest: boolean): Tensor {
  return tidy(() => {
    const last = x.rank - 1;
    const xt = d === last ? x : transpose(x, d, last);
    const n = xt.shape[last];
    const values = xt.dataSync();
    const rows = values.length / n;
    const out = new Int32Array(rows * k);
    const sign = largest ? 1 : -1;
    const best = new Int32Array(k);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let count = 0;
      for (let i = 0; i < n; i++) {
        const v = values[base + i];
        // Later elements never beat earlier equal ones: equal values keep index order.
        if (count === k && sign * compareAscending(v, values[base + best[k - 1]]) <= 0) continue;
        let pos = count < k ? count : k - 1;
        while (pos > 0 && sign * compareAscending(v, values[base + best[pos - 1]]) > 0) {
          best[pos] = best[pos - 1];
          pos--;
        }
        best[pos] = i;
        if (count < k) count++;
      }
      out.set(best, r * k);
    }
    const shape = xt.shape.map((v, i) => (i === last ? k : v));
    const idx = uploadTensor(x.backend, out, shape, 'int32');
    return d === last ? idx : transpose(idx, d, last);
  });
}

/**
 * The `k` largest (or smallest) elements along `dim` (`torch.topk`), in sorted order, NaN
 * counted as the largest value, equal values in their original order. Differentiable in
 * `values`. Cost: one host pass per row (a host sort for k >= n/4) where the backend reads
 * synchronously (cpu); otherwise
 * O(k n) per row with a few kernel calls per pick when k is small next to
 * n (the decoding case), otherwise the O(n^2) sort.
 * @param x float32, int32 or bool input
 * @param k how many (0 to the size of `dim`)
 * @param dim the dim to select along (default -1)
 * @param options `largest` (default true), `sorted` (default true; always sorted)
 * @returns `{ values, indices }` with size k along `dim`, indices int32
 */
export function topk(x: Tensor, k: number, dim = -1, options: TopkOptions = {}): SortResult {
  checkSortable('topk()', x);
  if (x.rank === 0) {
    if (k !== 0 && k !== 1) throw new GhostFlowError(`topk(): selected index k out of range (k = ${k}, dimension size 1)`);
    normalizeDim(dim, 0);
    // PyTorch 1.13 returns the element itself for k = 0 as well as k = 1 on a 0-d input.
    return on0d(x, (v) => topk(v, 1, 0, options));
  }
  const d = normalizeDim(dim, x.rank);
  const n = x.shape[d];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new GhostFlowError(`topk(): selected index k out of range (k = ${k}, dimension ${d} has size ${n})`);
  }
  const largest = options.largest ?? true;
  const outShape = x.shape.map((s, i) => (i === d ? k : s));
  const sync = x.backend.readSync !== undefined;
  let indices: Tensor;
  if (k === 0 || x.size === 0) indices = zeros(outShape, { dtype: 'int32', device: x.device });
  else if (sync && 4 * k < n) indices = hostTopkIndices(x, d, k, largest);
  else if (!sync && pickOneByOne(k, n)) indices = pickIndices(x, d, k, largest);
  else {
    const all = sortIndices(x, d, largest);
    indices = narrow(all, d, 0, k);
    all.dispose();
  }
  return { values: gather(x, d, indices), indices };
}
