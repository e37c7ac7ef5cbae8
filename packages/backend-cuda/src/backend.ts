/**
 * The CUDA backend object: core's kernel contract mapped onto the addon's kernel families.
 * Kernels enqueue on the addon's one stream and return at once; reads go through pinned
 * staging and resolve off the event loop; every addon failure becomes a BackendError.
 */
import {
  type Backend,
  BackendError,
  type BackendMemory,
  type DType,
  type DTypeArrayMap,
  type DataId,
  type FusedKernels,
  type IndexFault,
  KERNEL_CONTRACT_VERSION,
  type PrimitiveKernels,
  type Shape,
  type TensorView,
  bytesPerElement,
  contiguousStrides,
  isContiguous,
  recurrentWorkspaceSize,
  sizeOf,
} from '@ghostflow/core';
import { adamConstants } from './adam.js';
import { collapseJoint, encode } from './layout.js';
import { type AddonKind, type NativeAddon, type NativeInfo, type NativeMemory, type NativeView, loadAddon } from './native.js';
import { DTYPE_CODE, DTYPE_SUFFIX, RECURRENT_MODE_CODE, binaryCode, binaryReturnsBool, reduceCode, sizeSuffix, unaryCode } from './ops.js';

/** A buffer on the device (a handle into the addon's allocator). */
export class CudaData {
  /** @internal */
  constructor(
    readonly id: number,
    readonly dtype: DType,
    readonly size: number,
  ) {}
}

/** Options of {@link createCudaBackend}. */
export interface CudaBackendOptions {
  /**
   * `'host'` runs the same kernels through the host emulation addon (one fiber per CUDA
   * thread): for proving kernels without a GPU, far too slow for real work. Default `'cuda'`.
   */
  addon?: AddonKind;
  /** Registry name the backend reports (default `'cuda'`, or `'cuda-host'` for the host addon). */
  name?: string;
}

/** {@link BackendMemory} plus the device allocator's own figures (bytes rounded to size classes). */
export interface CudaMemory extends BackendMemory {
  /** Bytes of allocator blocks held by live buffers. */
  deviceBytesInUse: number;
  /** Bytes of freed blocks kept for reuse (returned to the driver by `emptyCache()`). */
  deviceBytesCached: number;
  /** High-water mark of `deviceBytesInUse`. */
  devicePeakBytes: number;
}

/** The CUDA backend: a {@link Backend} plus device details and cache control. */
export interface CudaBackend extends Backend {
  /** The device name, which addon runs it and whether cuBLAS is used. */
  readonly info: NativeInfo;
  memory(): CudaMemory;
  /** Returns cached device blocks to the driver (after the stream drains). */
  emptyCache(): void;
}

const ARRAY: { [D in DType]: new (b: ArrayBuffer, o: number, n: number) => DTypeArrayMap[D] } = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
};

function asData(id: DataId): CudaData {
  if (!(id instanceof CudaData)) throw new BackendError('cuda: a kernel got a buffer that another backend made');
  return id;
}

/** Runs an addon call, turning its errors into BackendErrors that name the kernel. */
function guard<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BackendError) throw e;
    throw new BackendError(`cuda ${what}: ${(e as Error).message}`);
  }
}

/** Shape and strides of a view, with a 0-d view seen as one element on one axis. */
function dims(v: TensorView): { shape: number[]; strides: number[] } {
  return v.shape.length === 0 ? { shape: [1], strides: [0] } : { shape: [...v.shape], strides: [...v.strides] };
}

/** Creates the backend; throws a BackendError with the exact reason when no usable device is there. */
export function createCudaBackend(options: CudaBackendOptions = {}): CudaBackend {
  const kind = options.addon ?? 'cuda';
  let addon: NativeAddon;
  try {
    addon = loadAddon(kind);
  } catch (e) {
    throw new BackendError((e as Error).message);
  }
  const info = addon.info();
  if (!info.ok) throw new BackendError(info.reason);
  return new CudaBackendImpl(addon, info, options.name ?? (kind === 'host' ? 'cuda-host' : 'cuda'));
}

class CudaBackendImpl implements CudaBackend {
  readonly contractVersion = KERNEL_CONTRACT_VERSION;
  readonly kernels: PrimitiveKernels;
  readonly fused: Partial<FusedKernels>;
  private stats: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  /** gather/scatter calls since the last read or sync, by the call id their kernel records on a fault. */
  private faultCalls = new Map<number, Omit<IndexFault, 'index'>>();
  private nextCall = 1;
  private pendingFault: IndexFault | null = null;

  constructor(
    private readonly addon: NativeAddon,
    readonly info: NativeInfo,
    readonly name: string,
  ) {
    this.kernels = this.makeKernels();
    this.fused = this.makeFused();
  }

  // ---- buffers ----------------------------------------------------------------------------
  private track(id: number, dtype: DType, size: number): CudaData {
    const bytes = size * bytesPerElement(dtype);
    this.stats.buffers++;
    this.stats.bytes += bytes;
    this.stats.bytesAllocatedTotal += bytes;
    if (this.stats.bytes > this.stats.peakBytes) this.stats.peakBytes = this.stats.bytes;
    return new CudaData(id, dtype, size);
  }

  private view(v: TensorView): NativeView {
    return encode(asData(v.dataId).id, v.offset, v.shape, v.strides);
  }

  /** A contiguous view of `v` (itself, or a temporary copy freed by `done`). */
  private contiguous(v: TensorView): { view: NativeView; done: () => void } {
    if (isContiguous(v.shape, v.strides)) return { view: this.view(v), done: () => {} };
    const n = sizeOf(v.shape);
    const id = this.copy(v, -1, null);
    // Freeing right after the consuming launch is safe: reuse is ordered behind it on the stream.
    return { view: [id, 0, 1, n, 1], done: () => this.addon.free(id) };
  }

  /** Strided copy of `src` into `outId` at `dst` (or into a new contiguous buffer when outId < 0). */
  private copy(src: TensorView, outId: number, dst: { offset: number; strides: readonly number[] } | null): number {
    const n = sizeOf(src.shape);
    const list = dst ? [src.strides, dst.strides] : [src.strides];
    const c = collapseJoint(src.shape, dst ? list : [src.strides, contiguousStrides(src.shape)]);
    const srcView = encode(asData(src.dataId).id, src.offset, c.shape, c.strides[0]);
    const dstView = dst ? encode(outId, dst.offset, c.shape, c.strides[1]) : null;
    const code = DTYPE_CODE[src.dtype];
    return guard('copy', () =>
      this.addon.elementwise(
        `gf_copy_${sizeSuffix(src.dtype)}`,
        0,
        code,
        code,
        n,
        0,
        outId,
        dstView,
        [srcView],
        n * bytesPerElement(src.dtype),
      ),
    );
  }

  /** Elementwise kernel over views sharing one shape, into a new contiguous output. */
  private ew(kernel: string, op: number, inputs: readonly TensorView[], outType: DType, value = 0): CudaData {
    const shape = inputs.length > 0 ? inputs[0].shape : [];
    const n = sizeOf(shape);
    const c = collapseJoint(
      shape,
      inputs.map((v) => v.strides),
    );
    const views = inputs.map((v, i) => encode(asData(v.dataId).id, v.offset, c.shape, c.strides[i]));
    const inType = inputs.length > 0 ? DTYPE_CODE[inputs[inputs.length - 1].dtype] : 0;
    const id = guard(kernel, () =>
      this.addon.elementwise(kernel, op, inType, DTYPE_CODE[outType], n, value, -1, null, views, n * bytesPerElement(outType)),
    );
    return this.track(id, outType, n);
  }

  // ---- primitive kernels ------------------------------------------------------------------
  private makeKernels(): PrimitiveKernels {
    return {
      unary: (x, { op }) => {
        if (op === 'identity') return this.track(this.copy(x, -1, null), x.dtype, sizeOf(x.shape));
        const out = op === 'logicalNot' ? 'bool' : x.dtype;
        return this.ew(`gf_unary_${DTYPE_SUFFIX[x.dtype]}`, unaryCode(op), [x], out);
      },
      binary: (a, b, { op }) =>
        this.ew(`gf_binary_${DTYPE_SUFFIX[a.dtype]}`, binaryCode(op), [a, b], binaryReturnsBool(op) ? 'bool' : a.dtype),
      cast: (x, { dtype }) => this.ew('gf_cast', 0, [x], dtype),
      where: (cond, a, b) => this.ew(`gf_where_${sizeSuffix(a.dtype)}`, 0, [cond, a, b], a.dtype),
      fill: ({ shape, dtype, value }) => this.fill(shape, dtype, value),
      reduce: (x, { op, axes }) => this.reduce(x, reduceCode(op), axes),
      argReduce: (x, { op, axis }) =>
        this.lineKernel(`gf_argreduce_${DTYPE_SUFFIX[x.dtype]}`, op === 'argmax' ? 0 : 1, x, axis, 'int32', false),
      cumsum: (x, { axis }) => this.lineKernel(`gf_cumsum_${DTYPE_SUFFIX[x.dtype]}`, 0, x, axis, x.dtype, true),
      matmul: (a, b) => this.matmul(a, b, null, -1),
      gather: (x, index, attrs) => {
        const { axis } = attrs;
        const n = sizeOf(index.shape);
        const out = guard('gather', () => this.addon.alloc(n * bytesPerElement(x.dtype)));
        const xd = dims(x);
        const id = dims(index);
        guard('gather', () =>
          this.addon.index(
            `gf_gather_${sizeSuffix(x.dtype)}`,
            0,
            axis,
            n,
            out,
            encode(asData(x.dataId).id, x.offset, xd.shape, xd.strides),
            encode(asData(index.dataId).id, index.offset, id.shape, id.strides),
            null,
            xd.shape[axis],
            this.faultCall({ kernel: 'gather', caller: attrs.caller, axis, size: xd.shape[axis] }),
          ),
        );
        return this.track(out, x.dtype, n);
      },
      scatter: (base, index, src, attrs) => {
        const { axis, reduce } = attrs;
        const size = sizeOf(base.shape);
        const out = this.copy(base, -1, null);
        const bd = dims(base);
        const id = dims(index);
        const sd = dims(src);
        guard('scatter', () =>
          this.addon.index(
            `gf_scatter_${DTYPE_SUFFIX[base.dtype]}`,
            reduce === 'add' ? 1 : 0,
            axis,
            sizeOf(index.shape),
            out,
            encode(asData(src.dataId).id, src.offset, sd.shape, sd.strides),
            encode(asData(index.dataId).id, index.offset, id.shape, id.strides),
            [bd.shape.length, ...bd.shape, ...contiguousStrides(bd.shape)],
            bd.shape[axis],
            this.faultCall({ kernel: 'scatter', caller: attrs.caller, axis, size: bd.shape[axis] }),
          ),
        );
        return this.track(out, base.dtype, size);
      },
      write: (target, src) => {
        // The one in-place kernel: a strided copy into the target's own buffer, enqueued on the
        // stream behind every earlier kernel that reads or writes it.
        if (sizeOf(src.shape) === 0) return;
        this.copy(src, asData(target.dataId).id, { offset: target.offset, strides: target.strides });
      },
      concat: (inputs, { axis }) => {
        const first = inputs[0];
        const shape = [...first.shape];
        shape[axis] = inputs.reduce((s, v) => s + v.shape[axis], 0);
        const n = sizeOf(shape);
        const out = guard('concat', () => this.addon.alloc(n * bytesPerElement(first.dtype)));
        const strides = contiguousStrides(shape);
        let at = 0;
        for (const v of inputs) {
          if (sizeOf(v.shape) > 0) this.copy(v, out, { offset: at * strides[axis], strides });
          at += v.shape[axis];
        }
        return this.track(out, first.dtype, n);
      },
    };
  }

  private fill(shape: Shape, dtype: DType, value: number): CudaData {
    const n = sizeOf(shape);
    return this.track(this.fillBuffer(n, dtype, value), dtype, n);
  }

  /** A new buffer of `n` elements set to `value` (an untracked handle). */
  private fillBuffer(n: number, dtype: DType, value: number): number {
    return guard('fill', () =>
      this.addon.elementwise('gf_fill', 0, 0, DTYPE_CODE[dtype], n, value, -1, null, [], n * bytesPerElement(dtype)),
    );
  }

  private reduce(x: TensorView, op: number, axes: readonly number[]): CudaData {
    const { shape, strides } = dims(x);
    const keep = shape.map((_, d) => !axes.includes(d));
    const kept = collapseJoint(
      shape.filter((_, d) => keep[d]),
      [strides.filter((_, d) => keep[d])],
    );
    const red = collapseJoint(
      shape.filter((_, d) => !keep[d]),
      [strides.filter((_, d) => !keep[d])],
    );
    const nOut = sizeOf(kept.shape);
    const nRed = sizeOf(red.shape);
    const handle = asData(x.dataId).id;
    const id = guard('reduce', () =>
      this.addon.reduce(
        `gf_reduce_${DTYPE_SUFFIX[x.dtype]}`,
        op,
        nOut,
        nRed,
        nOut * bytesPerElement(x.dtype),
        encode(handle, x.offset, kept.shape, kept.strides[0]),
        encode(handle, 0, red.shape, red.strides[0]),
      ),
    );
    return this.track(id, x.dtype, nOut);
  }

  /** argReduce and cumsum: one line per position of the other dims. */
  private lineKernel(kernel: string, op: number, x: TensorView, axis: number, outType: DType, fullOutput: boolean): CudaData {
    const { shape, strides } = dims(x);
    const len = shape[axis];
    const others = collapseJoint(
      shape.filter((_, d) => d !== axis),
      [strides.filter((_, d) => d !== axis)],
    );
    const nLines = sizeOf(others.shape);
    const inner = sizeOf(shape.slice(axis + 1));
    const n = fullOutput ? nLines * len : nLines;
    const id = guard(kernel, () =>
      this.addon.line(
        kernel,
        op,
        nLines,
        len,
        strides[axis],
        inner,
        n * bytesPerElement(outType),
        encode(asData(x.dataId).id, x.offset, others.shape, others.strides[0]),
      ),
    );
    return this.track(id, outType, n);
  }

  /** Batched GEMM with optional bias and activation (the fused linear's epilogue). */
  private matmul(a: TensorView, b: TensorView, bias: TensorView | null, act: number): CudaData {
    const r = a.shape.length;
    const M = a.shape[r - 2];
    const K = a.shape[r - 1];
    const N = b.shape[r - 1];
    const batchShape = a.shape.slice(0, r - 2);
    const batch = sizeOf(batchShape);
    let aRow = a.strides[r - 2];
    let aCol = a.strides[r - 1];
    let bRow = b.strides[r - 2];
    let bCol = b.strides[r - 1];
    // Strides of size-1 dims are arbitrary: give them values cuBLAS's leading-dimension rules accept.
    if (M === 1) aRow = aCol === 1 ? Math.max(K, 1) : 1;
    if (K === 1) {
      aCol = aRow === 1 ? Math.max(M, 1) : 1;
      bRow = bCol === 1 ? Math.max(N, 1) : 1;
    }
    if (N === 1) bCol = bRow === 1 ? Math.max(K, 1) : 1;
    const c = collapseJoint(batchShape, [a.strides.slice(0, r - 2), b.strides.slice(0, r - 2)]);
    const uniform = c.shape.length <= 1;
    const ha = asData(a.dataId).id;
    const hb = asData(b.dataId).id;
    const biasView = bias ? this.view(bias) : null;
    const id = guard('matmul', () =>
      this.addon.matmul(
        M,
        N,
        K,
        batch,
        encode(ha, a.offset, c.shape, c.strides[0]),
        aRow,
        aCol,
        encode(hb, b.offset, c.shape, c.strides[1]),
        bRow,
        bCol,
        act,
        biasView,
        uniform ? (c.strides[0][0] ?? 0) : -1,
        uniform ? (c.strides[1][0] ?? 0) : -1,
      ),
    );
    return this.track(id, 'float32', batch * M * N);
  }

  // ---- fused kernels ----------------------------------------------------------------------
  private makeFused(): Partial<FusedKernels> {
    return {
      linear: (x, weight, bias, attrs) => {
        const K = x.shape[x.shape.length - 1];
        const N = weight.shape[0];
        const lead = x.shape.slice(0, -1);
        const M = sizeOf(lead);
        const collapsed = collapseJoint(lead, [x.strides.slice(0, -1)]);
        let xv: TensorView = x;
        let done = () => {};
        if (collapsed.shape.length > 1) {
          const c = this.contiguous(x);
          xv = {
            dataId: new CudaData(c.view[0], x.dtype, sizeOf(x.shape)),
            dtype: x.dtype,
            shape: x.shape,
            strides: contiguousStrides(x.shape),
            offset: 0,
          };
          done = c.done;
        }
        const rowStride = collapseJoint(lead, [xv.strides.slice(0, -1)]).strides[0][0] ?? K;
        const a2: TensorView = { ...xv, shape: [M, K], strides: [rowStride, xv.strides[xv.strides.length - 1] ?? 1] };
        const w2: TensorView = { ...weight, shape: [K, N], strides: [weight.strides[1], weight.strides[0]] };
        const act = attrs?.activation ? unaryCode(attrs.activation) : -1;
        const out = this.matmul(a2, w2, bias, act);
        done();
        return out;
      },
      softmax: (x, { axis }) => this.softmax(x, axis, 0),
      logSoftmax: (x, { axis }) => this.softmax(x, axis, 1),
      layerNorm: (x, weight, bias, { normalizedSize, eps }) => {
        const size = sizeOf(x.shape);
        const rows = normalizedSize > 0 ? size / normalizedSize : leadingRows(x.shape, normalizedSize);
        const xs = this.contiguous(x);
        const ws = weight ? this.contiguous(weight) : null;
        const bs = bias ? this.contiguous(bias) : null;
        const ids = guard('layerNorm', () =>
          this.addon.rows('gf_layer_norm', 0, rows, normalizedSize, 1, eps, xs.view, ws?.view ?? null, bs?.view ?? null, true),
        );
        xs.done();
        ws?.done();
        bs?.done();
        return [this.track(ids[0], 'float32', size), this.track(ids[1], 'float32', rows), this.track(ids[2], 'float32', rows)];
      },
      lstmCell: (gi, gh, c) => {
        const [h, c2] = this.cell('gf_lstm_cell', c, [gi, gh, c], [1, 1]);
        return [h, c2];
      },
      lstmCellBackward: (gi, gh, c, dH, dC) => {
        const [dg, dc] = this.cell('gf_lstm_cell_backward', c, [gi, gh, c, dH, dC], [4, 1]);
        return [dg, dc];
      },
      gruCell: (gi, gh, h) => this.cell('gf_gru_cell', h, [gi, gh, h], [1])[0],
      gruCellBackward: (gi, gh, h, dH) => {
        const [a, b, c] = this.cell('gf_gru_cell_backward', h, [gi, gh, h, dH], [3, 3, 1]);
        return [a, b, c];
      },
      attention: (q, k, v, mask, { scale, causal }) => {
        const [B, L, E] = q.shape;
        const S = k.shape[1];
        const Ev = v.shape[2];
        const ids = guard('attention', () =>
          this.addon.attention(B, L, S, E, Ev, scale, causal, this.view(q), this.view(k), this.view(v), mask ? this.view(mask) : null),
        );
        return [this.track(ids[0], 'float32', B * L * Ev), this.track(ids[1], 'float32', B * L * S)];
      },
      recurrentSequence: (gi, h0, c0, wHh, bHh, wHr, attrs) => {
        const { mode, batchSizes, hiddenSize: H, reverse, train } = attrs;
        const P = wHh.shape[1];
        const B = batchSizes[0];
        const N = gi.shape[0];
        // The states are advanced in place in fresh copies, which become hN and cN.
        const h = this.copy(h0, -1, null);
        const c = mode === 'LSTM' ? (c0 ? this.copy(c0, -1, null) : this.fillBuffer(B * H, 'float32', 0)) : -1;
        const ins = [gi, wHh, ...(bHh ? [bHh] : []), ...(wHr ? [wHr] : [])].map((v) => this.contiguous(v));
        const [giV, wV] = [ins[0].view, ins[1].view];
        const bV = bHh ? ins[2].view : null;
        const rV = wHr ? ins[ins.length - 1].view : null;
        const [y, ws] = this.freeingOnError([h, c], ins, () =>
          guard('recurrentSequence', () =>
            this.addon.seq(RECURRENT_MODE_CODE[mode], batchSizes, H, P, reverse, train, giV, h, c, wV, bV, rV),
          ),
        );
        return [
          this.track(y, 'float32', N * P),
          this.track(h, 'float32', B * P),
          c >= 0 ? this.track(c, 'float32', B * H) : null,
          ws >= 0 ? this.track(ws, 'float32', recurrentWorkspaceSize(mode, N, H, P)) : null,
        ];
      },
      recurrentSequenceBackward: (wHh, wHr, y, workspace, dY, dHN, dCN, attrs) => {
        const { mode, batchSizes, hiddenSize: H, reverse, hasBias } = attrs;
        const G = mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
        const P = wHh.shape[1];
        const B = batchSizes[0];
        const N = y.shape[0];
        // dHN / dCN are copied and carried in place as the state gradients: they become dH0 / dC0.
        const dh = this.copy(dHN, -1, null);
        const dc = mode === 'LSTM' ? (dCN ? this.copy(dCN, -1, null) : this.fillBuffer(B * H, 'float32', 0)) : -1;
        const ins = [wHh, y, workspace, dY, ...(wHr ? [wHr] : [])].map((v) => this.contiguous(v));
        const [wV, yV, wsV, dyV] = ins.map((c) => c.view);
        const rV = wHr ? ins[4].view : null;
        const [dGi, dW, dB, dWr] = this.freeingOnError([dh, dc], ins, () =>
          guard('recurrentSequenceBackward', () =>
            this.addon.seqBackward(RECURRENT_MODE_CODE[mode], batchSizes, H, P, reverse, hasBias, wV, rV, yV, wsV, dyV, dh, dc),
          ),
        );
        return [
          this.track(dGi, 'float32', N * G * H),
          this.track(dh, 'float32', B * P),
          dc >= 0 ? this.track(dc, 'float32', B * H) : null,
          this.track(dW, 'float32', G * H * P),
          dB >= 0 ? this.track(dB, 'float32', G * H) : null,
          dWr >= 0 ? this.track(dWr, 'float32', P * H) : null,
        ];
      },
      adamUpdate: (param, grad, expAvg, expAvgSq, maxExpAvgSq, attrs) => {
        // Targets are contiguous (core's condition for calling this kernel): a run from their offset.
        const n = sizeOf(param.shape);
        const flat = (v: TensorView) => encode(asData(v.dataId).id, v.offset, [n], [1]);
        const g = collapseJoint(grad.shape, [grad.strides]);
        const gView = encode(asData(grad.dataId).id, grad.offset, g.shape, g.strides[0]);
        const [constants, flags] = adamConstants(attrs);
        guard('adamUpdate', () =>
          this.addon.adam(flat(param), gView, flat(expAvg), flat(expAvgSq), maxExpAvgSq ? flat(maxExpAvgSq) : null, n, constants, flags),
        );
      },
    };
  }

  /**
   * Runs `f`, then releases the temporary contiguous copies `temps`; if `f` throws, also frees
   * the untracked buffers `owned` (handles < 0 are absent) that would have become its outputs.
   */
  private freeingOnError<T>(owned: readonly number[], temps: readonly { done: () => void }[], f: () => T): T {
    try {
      return f();
    } catch (e) {
      for (const id of owned) if (id >= 0) this.addon.free(id);
      throw e;
    } finally {
      for (const t of temps) t.done();
    }
  }

  private softmax(x: TensorView, axis: number, op: number): CudaData {
    const { shape } = dims(x);
    const len = shape[axis];
    const inner = sizeOf(shape.slice(axis + 1));
    const rows = sizeOf(shape) / Math.max(len, 1);
    const xs = this.contiguous(x);
    const ids = guard(op ? 'logSoftmax' : 'softmax', () =>
      this.addon.rows('gf_softmax', op, len === 0 ? 0 : rows, len, inner, 0, xs.view, null, null, false),
    );
    xs.done();
    return this.track(ids[0], 'float32', sizeOf(x.shape));
  }

  /** LSTM/GRU steps: inputs made contiguous, outputs `[B, mult[i] * H]`. */
  private cell(kernel: string, state: TensorView, inputs: TensorView[], mult: number[]): CudaData[] {
    const H = state.shape[state.shape.length - 1];
    const size = sizeOf(state.shape);
    const B = H > 0 ? size / H : 0;
    const cs = inputs.map((v) => this.contiguous(v));
    const ids = guard(kernel, () =>
      this.addon.cell(
        kernel,
        B,
        H,
        cs.map((c) => c.view),
        mult.map((m) => m * size),
      ),
    );
    for (const c of cs) c.done();
    return ids.map((id, i) => this.track(id, 'float32', mult[i] * size));
  }

  // ---- data movement ------------------------------------------------------------------------
  upload<D extends DType>(values: DTypeArrayMap[D], dtype: D): DataId {
    const id = guard('upload', () => this.addon.upload(0, values));
    return this.track(id, dtype, values.length);
  }

  /** An id for a gather/scatter call, so a fault its kernel records can be described. */
  private faultCall(call: Omit<IndexFault, 'index'>): number {
    const id = this.nextCall;
    this.nextCall = this.nextCall >= 0x7fffffff ? 1 : this.nextCall + 1;
    this.faultCalls.set(id, call.caller === undefined ? { kernel: call.kernel, axis: call.axis, size: call.size } : call);
    return id;
  }

  /**
   * The calls a read enqueued now covers (every gather/scatter so far), and a function that
   * turns the fault words that read brings back into the pending fault.
   */
  private faultWatch(): (buffer: ArrayBuffer, dataBytes: number) => void {
    const calls = this.faultCalls;
    this.faultCalls = new Map();
    return (buffer, dataBytes) => {
      const words = new DataView(buffer, dataBytes, 8); // after the data: any byte alignment
      const call = words.getInt32(0, true);
      const index = words.getInt32(4, true);
      const c = calls.get(call);
      if (call !== 0 && c && !this.pendingFault) this.pendingFault = { ...c, index };
    };
  }

  takeIndexFault(): IndexFault | null {
    const f = this.pendingFault;
    this.pendingFault = null;
    return f;
  }

  async read<D extends DType>(dataId: DataId, dtype: D, size: number): Promise<DTypeArrayMap[D]> {
    const d = asData(dataId);
    const bytes = size * bytesPerElement(dtype);
    const watch = this.faultWatch();
    let buffer: ArrayBuffer;
    try {
      buffer = await guard('read', () => this.addon.read(d.id, bytes));
    } catch (e) {
      throw e instanceof BackendError ? e : new BackendError(`cuda read: ${(e as Error).message}`);
    }
    watch(buffer, bytes);
    return new ARRAY[dtype](buffer, 0, size);
  }

  readSync<D extends DType>(dataId: DataId, dtype: D, size: number): DTypeArrayMap[D] {
    const d = asData(dataId);
    const bytes = size * bytesPerElement(dtype);
    const watch = this.faultWatch();
    const buffer = guard('readSync', () => this.addon.readSync(d.id, bytes));
    watch(buffer, bytes);
    return new ARRAY[dtype](buffer, 0, size);
  }

  disposeData(dataId: DataId): void {
    const d = asData(dataId);
    guard('disposeData', () => this.addon.free(d.id));
    this.stats.buffers--;
    this.stats.bytes -= d.size * bytesPerElement(d.dtype);
  }

  memory(): CudaMemory {
    const m: NativeMemory = this.addon.memory();
    return { ...this.stats, deviceBytesInUse: m.bytesInUse, deviceBytesCached: m.bytesCached, devicePeakBytes: m.peakBytesInUse };
  }

  emptyCache(): void {
    guard('emptyCache', () => this.addon.emptyCache());
  }

  async sync(): Promise<void> {
    const watch = this.faultWatch();
    let buffer: ArrayBuffer;
    try {
      buffer = await this.addon.sync();
    } catch (e) {
      throw new BackendError(`cuda sync: ${(e as Error).message}`);
    }
    watch(buffer, 0);
  }
}

/** Rows of a layer norm over 0 elements: the size of the leading dims whose tail has size 0. */
function leadingRows(shape: Shape, n: number): number {
  let prod = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    prod *= shape[d];
    if (prod === n) return sizeOf(shape.slice(0, d));
  }
  return 0;
}
