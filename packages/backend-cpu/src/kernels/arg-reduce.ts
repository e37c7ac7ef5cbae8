/** The `argReduce` kernel: argmax/argmin along one axis. */
import { type ArgReduceOp, type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { dimSize, moveAxesLast, stridedOffsets } from '../strided.js';

/**
 * Index of the max/min along `axis`: the first occurrence on ties, and the first NaN if
 * there is one (PyTorch treats NaN as greater and smaller than everything). Output: int32,
 * `x.shape` without `axis`; `x.shape[axis] > 0` is guaranteed by core.
 */
export function argReduce(store: CpuStore, x: TensorView, attrs: { op: ArgReduceOp; axis: number }): DataId {
  const { op, axis } = attrs;
  const src = store.data(x.dataId);
  const perm = moveAxesLast(x.shape, x.strides, [axis]);
  const outSize = sizeOf(perm.kept.map((d) => x.shape[d]));
  const n = dimSize(x.shape, axis);
  const out = store.alloc('int32', outSize);
  const dst = out.data as Int32Array;
  if (outSize === 0 || n === 0) return out;
  const pos = stridedOffsets(perm.shape, perm.strides, x.offset);
  const isMax = op === 'argmax';
  for (let o = 0; o < outSize; o++) {
    const base = o * n;
    let best = src[pos[base]];
    let bestIdx = 0;
    if (!Number.isNaN(best)) {
      for (let k = 1; k < n; k++) {
        const v = src[pos[base + k]];
        if (Number.isNaN(v)) {
          bestIdx = k;
          break;
        }
        if (isMax ? v > best : v < best) {
          best = v;
          bestIdx = k;
        }
      }
    }
    dst[o] = bestIdx;
  }
  return out;
}
