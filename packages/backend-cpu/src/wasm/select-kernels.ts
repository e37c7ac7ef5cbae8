/**
 * The wasm entries of the kernels with bool operands and of the data movement around them
 * (assembly/select.ts): comparisons that write bool outputs, `where` on a bool condition,
 * and `concat` as strided block copies. Each takes the layouts the elementwise kernels take
 * (strided, transposed, broadcast, scalar operands) for float32 and int32 and hands every
 * other case to the reference JavaScript kernel, whose results they match to the bit
 * (comparisons and selections compute nothing that could round; copies move bits).
 */
import { type BinaryOp, type DataId, type TensorView, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuPrimitiveTable } from '../kernel-table.js';
import type { CpuStore } from '../storage.js';
import { type KernelCall, MAX_RANK, collapseJoint } from './call.js';
import { runParts, stridedParts } from './parts.js';
import { POOL_OP, type PartArgs } from './pool.js';
import type { WasmRuntime } from './runtime.js';
import type { WasmThresholds } from './kernels.js';

/** Comparisons with a wasm implementation, with their op codes in assembly/select.ts. */
const COMPARE_CODES: Partial<Record<BinaryOp, number>> = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 };

/** The wasm `where`, `concat` and comparison entries of one runtime. */
export interface WasmSelectKernels {
  /** `where` for a bool condition and float32/int32 branches; the JS kernel otherwise. */
  where: CpuPrimitiveTable['where'];
  /** `concat` of float32/int32/bool inputs held in wasm memory; the JS kernel otherwise. */
  concat: CpuPrimitiveTable['concat'];
  /**
   * `binary` that runs eq/ne/lt/le/gt/ge on float32/int32 operands here (bool output) and
   * every other op through `next`.
   */
  withCompare(next: CpuPrimitiveTable['binary']): CpuPrimitiveTable['binary'];
}

/**
 * Builds the entries over `rt` and the backend's reused `call`; `js` are the reference
 * kernels they fall back to.
 */
export function wasmSelectKernels(
  rt: WasmRuntime,
  th: WasmThresholds,
  call: KernelCall,
  js: Readonly<CpuPrimitiveTable>,
): WasmSelectKernels {
  const ex = rt.exports;
  // The caller's share of a split call (made once).
  const localCompare = (q: PartArgs): void => ex.compareND(q[0], q[1], q[2], q[3], q[4], q[5], q[6]);
  const localWhere = (q: PartArgs): void => ex.whereND(q[0], q[1], q[2], q[3], q[4], q[5]);

  const worth = (size: number): boolean => size > 0 && size >= th.minElements;
  const fourBytes = (v: TensorView): boolean => v.dtype === 'float32' || v.dtype === 'int32';

  /** A comparison into a bool output, or null when this path does not take it. */
  function compare(store: CpuStore, a: TensorView, b: TensorView, op: BinaryOp): DataId | null {
    const code = COMPARE_CODES[op];
    const size = sizeOf(a.shape);
    if (code === undefined || !fourBytes(a) || b.dtype !== a.dtype || !worth(size)) return null;
    call.begin();
    const lay = call.joint(store, a.shape, [a, b]);
    if (!lay) return null;
    const [pa, pb] = lay.operands;
    const y = call.out(size, 0, 'bool');
    const rank = lay.shape.length;
    const inner = size / lay.shape[0];
    const int = a.dtype === 'int32' ? 1 : 0;
    // The output is bytes: its offsets are in elements of one byte.
    const list = stridedParts(rt, th, call, lay, size, (i0, meta) => [
      code,
      int,
      pa.ptr + 4 * i0 * pa.strides[0],
      pb.ptr + 4 * i0 * pb.strides[0],
      y + i0 * inner,
      rank,
      meta,
    ]);
    if (!call.commit()) return null;
    runParts(rt, POOL_OP.compareND, list, localCompare);
    return call.take(store, y, size, 'bool');
  }

  function where(store: CpuStore, cond: TensorView, a: TensorView, b: TensorView): DataId {
    const size = sizeOf(a.shape);
    if (cond.dtype !== 'bool' || !fourBytes(a) || b.dtype !== a.dtype || !worth(size)) return js.where(store, cond, a, b);
    call.begin();
    const lay = call.joint(store, a.shape, [cond, a, b]);
    if (!lay) return js.where(store, cond, a, b);
    const [pc, pa, pb] = lay.operands;
    const y = call.out(size);
    const rank = lay.shape.length;
    const inner = size / lay.shape[0];
    // The condition is bytes: its offsets are in elements of one byte.
    const list = stridedParts(rt, th, call, lay, size, (i0, meta) => [
      pc.ptr + i0 * pc.strides[0],
      pa.ptr + 4 * i0 * pa.strides[0],
      pb.ptr + 4 * i0 * pb.strides[0],
      y + 4 * i0 * inner,
      rank,
      meta,
    ]);
    if (!call.commit()) return js.where(store, cond, a, b);
    runParts(rt, POOL_OP.whereND, list, localWhere);
    return call.take(store, y, size, a.dtype);
  }

  /**
   * Each input is copied into its slot of the output (the output's strides, shifted along
   * `axis`) by `copyStridedND`: an input that is contiguous within the slot's rows is one
   * `memory.copy` per row, or one for the whole input when the rows meet. Only inputs already
   * in wasm memory (resident) come here; copying others in first would cost what the JS
   * kernel's copy costs.
   */
  function concat(store: CpuStore, inputs: readonly TensorView[], attrs: { axis: number }): DataId {
    const { axis } = attrs;
    const first = inputs[0];
    const dtype = first.dtype;
    const outShape = [...first.shape];
    outShape[axis] = inputs.reduce((s, v) => s + v.shape[axis], 0);
    const total = sizeOf(outShape);
    if (!worth(total) || !rt.resident) return js.concat(store, inputs, attrs);
    // Every handle is checked (a disposed one throws, as in the JS kernel), empty inputs included.
    for (const v of inputs) if (store.buffer(v.dataId).ptr < 0 && sizeOf(v.shape) > 0) return js.concat(store, inputs, attrs);
    const bytes = dtype === 'bool' ? 1 : 4;
    const outStrides = contiguousStrides(outShape);
    call.begin();
    const y = call.out(total, 0, dtype);
    const jobs: PartArgs[] = [];
    let slot = 0;
    for (const v of inputs) {
      const start = slot * outStrides[axis];
      slot += v.shape[axis];
      if (sizeOf(v.shape) === 0) continue;
      const lay = collapseJoint(v.shape, [v.strides, outStrides]);
      const rank = lay.shape.length;
      if (rank > MAX_RANK) return js.concat(store, inputs, attrs);
      jobs.push([store.buffer(v.dataId).ptr + v.offset * bytes, y + start * bytes, rank, call.meta(lay.shape, lay.strides)]);
    }
    if (!call.commit()) return js.concat(store, inputs, attrs);
    const shift = bytes === 1 ? 0 : 2;
    for (const q of jobs) ex.copyStridedND(q[0], q[1], q[2], q[3], shift);
    return call.take(store, y, total, dtype);
  }

  function withCompare(next: CpuPrimitiveTable['binary']): CpuPrimitiveTable['binary'] {
    return (store, a, b, attrs) => compare(store, a, b, attrs.op) ?? next(store, a, b, attrs);
  }

  return { where, concat, withCompare };
}
