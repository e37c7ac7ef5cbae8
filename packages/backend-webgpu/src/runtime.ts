/**
 * The WebGPU runtime behind the backend: data handles, a buffer pool by size class, a
 * pipeline cache keyed by shader source, command batching, reads through staging buffers,
 * and error reporting (out-of-memory, validation, device loss) as BackendErrors.
 *
 * Ordering: every kernel encodes one compute pass into the pending command encoder, and the
 * encoder is submitted before anything that runs on the queue timeline (`writeBuffer` for
 * uploads, reads, `sync`). Queue order then guarantees that a buffer returned to the pool by
 * `disposeData` is only overwritten after every earlier kernel that reads it, so freeing is
 * immediate and never waits for the GPU.
 */
import { type BackendMemory, type DType, type IndexFault, BackendError, bytesPerElement } from '@ghostflow/core';

/** A GPU-resident tensor buffer: the `DataId` the backend hands to core. Every dtype is 4 bytes per element on the GPU (bool as u32 0/1). */
export class GPUData {
  /** The GPU buffer; null once disposed. */
  buffer: GPUBuffer | null;
  /** Element type. */
  readonly dtype: DType;
  /** Element count. */
  readonly size: number;
  /** Bytes it counts for in `memory()` (numel × bytesPerElement(dtype)). */
  readonly bytes: number;
  /** Backend instance id (to refuse handles of another WebGPU backend instance). */
  readonly owner: number;

  constructor(buffer: GPUBuffer, dtype: DType, size: number, owner: number) {
    this.buffer = buffer;
    this.dtype = dtype;
    this.size = size;
    this.bytes = size * bytesPerElement(dtype);
    this.owner = owner;
  }
}

/** Threads per workgroup of the 1-d kernels. */
export const WG = 256;
const MAX_GROUPS = 65535;
/** Passes encoded before the pending command buffer is submitted on its own. */
const MAX_PENDING_PASSES = 128;
/** Free buffers kept in the pool, in bytes, before extra ones are destroyed. */
const POOL_LIMIT_BYTES = 512 * 1024 * 1024;

/** Pool size class of a request: powers of two up to 64 MiB, then multiples of 16 MiB. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 64 * 1024 * 1024) return 2 ** Math.ceil(Math.log2(b));
  const step = 16 * 1024 * 1024;
  return Math.ceil(b / step) * step;
}

/** Workgroup grid for `threads` threads of `perGroup` each, folded into 2-d past 65535 groups. */
export function grid1(threads: number, perGroup = WG): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / perGroup));
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new BackendError(`webgpu: ${threads} threads exceed the dispatch limit`);
  return [MAX_GROUPS, y, 1];
}

/** Index-fault slots per fault buffer: each is 2 u32 words (flag, one bad index). */
export const FAULT_SLOTS = 256;

/** What the JS side remembers of a gather/scatter dispatch, to name it if its slot is flagged. */
type FaultCall = Omit<IndexFault, 'index'>;

/**
 * WGSL for the fault buffer of an indexing kernel, bound at `binding`: `fault_at(w, k)`
 * flags slot word `w` (from the meta words) with bad index `k`. Every thread that meets a
 * bad index stores; all store the same flag and some bad index, so any winner is right.
 */
export function faultWgsl(binding: number): string {
  return /* wgsl */ `@group(0) @binding(${binding}) var<storage, read_write> fault: array<atomic<u32>>;
fn fault_at(w: u32, k: i32) {
  atomicStore(&fault[w], 1u);
  atomicStore(&fault[w + 1u], bitcast<u32>(k));
}
`;
}

/** Statistics about the runtime itself (beyond `memory()`), for tests and tuning. */
export interface RuntimeStats {
  /** Compiled pipelines in the cache. */
  pipelines: number;
  /** Tensor buffers created over the lifetime (pool misses). */
  buffersCreated: number;
  /** Allocations served from the pool. */
  poolHits: number;
  /** Free buffers in the pool, and their bytes. */
  pooledBuffers: number;
  pooledBytes: number;
  /** Command buffers submitted. */
  submits: number;
  /** Compute passes dispatched. */
  dispatches: number;
}

/** The runtime: one per backend instance. */
export class Runtime {
  private static nextId = 1;
  readonly id = Runtime.nextId++;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private readonly metaPool = new Map<number, GPUBuffer[]>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pendingPasses = 0;
  private pendingMeta: GPUBuffer[] = [];
  private readonly stats: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  private readonly counters = { buffersCreated: 0, poolHits: 0, submits: 0, dispatches: 0 };
  /** Set once the device is lost: every later call fails with it. */
  private lost: BackendError | undefined;
  /** An asynchronous GPU error (out of memory, validation) waiting to be reported by the next read/sync. */
  private pendingError: BackendError | undefined;
  private disposed = false;
  private readonly lostPromise: Promise<BackendError>;
  /** Buffers whose allocation failed (out of memory), with the error naming the allocation. */
  private readonly failed = new WeakMap<GPUBuffer, BackendError>();
  /** The kernel running now (set by the backend around each kernel call), named in allocation errors. */
  op: string | undefined;
  /**
   * Index faults: gather/scatter dispatches since the last collection each own one slot
   * (`faultCalls[slot]`) in the chain of fault buffers; the next read or sync copies the used
   * buffers back with its data, clears them in the same submission, and keeps the first
   * flagged slot in `pendingFault` for `takeIndexFault`.
   */
  private readonly faultBuffers: GPUBuffer[] = [];
  private faultCalls: FaultCall[] = [];
  private pendingFault: IndexFault | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapterDescription: string,
  ) {
    this.lostPromise = device.lost.then((info) => {
      const err = new BackendError(
        `webgpu: the GPU device was lost (${info.reason ?? 'unknown'}: ${info.message || 'no message'}); tensors on this backend are gone. Remove and re-create the backend (removeBackend("webgpu"), then import or register it again) to continue.`,
      );
      if (!this.disposed) this.lost = err;
      return err;
    });
    // A handler property, not only a listener: Dawn prints uncaptured errors to stdout unless
    // `onuncapturederror` is set, and they are reported through the next read or sync instead.
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      const e = ev.error;
      this.recordError(new BackendError(`webgpu: GPU error: ${e?.message ?? String(e)}`));
    };
  }

  /**
   * Keeps the first error for the next read/sync, except that an allocation failure replaces
   * an error already pending: a failed allocation leaves an invalid buffer, and the
   * validation errors of the kernels that then use it ("Invalid BindGroup") are its echo.
   */
  private recordError(err: BackendError, isAllocation = false): void {
    if (isAllocation && !this.allocationFailed) {
      this.allocationFailed = true;
      this.pendingError = err;
    } else if (!this.allocationFailed) this.pendingError ??= err;
  }

  private allocationFailed = false;

  /** Throws if the device was lost or the backend disposed. */
  check(): void {
    if (this.lost) throw this.lost;
    if (this.disposed) throw new BackendError('webgpu: this backend instance was disposed');
  }

  /** Throws (once) the asynchronous error recorded since the last check. */
  private takeError(): void {
    this.check();
    const e = this.pendingError;
    if (e) {
      this.pendingError = undefined;
      this.allocationFailed = false;
      throw e;
    }
  }

  memory(): BackendMemory {
    return { ...this.stats };
  }

  runtimeStats(): RuntimeStats {
    let n = 0;
    for (const list of this.pool.values()) n += list.length;
    return { pipelines: this.pipelines.size, pooledBuffers: n, pooledBytes: this.pooledBytes, ...this.counters };
  }

  private createBuffer(bytes: number, usage: number, what: string): GPUBuffer {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max || bytes > this.device.limits.maxBufferSize) {
      throw new BackendError(
        `webgpu: cannot allocate ${what} of ${bytes} bytes: larger than this device's maximum storage buffer (${Math.min(max, this.device.limits.maxBufferSize)} bytes)`,
      );
    }
    this.device.pushErrorScope('out-of-memory');
    const buf = this.device.createBuffer({ size: bytes, usage });
    const live = this.stats.bytes;
    const op = this.op ? ` for '${this.op}'` : '';
    void this.device.popErrorScope().then(
      (e) => {
        if (!e) return;
        const err = new BackendError(
          `webgpu: out of GPU memory allocating ${what} (${bytes} bytes)${op} with ${live} bytes live: ${e.message}`,
        );
        this.failed.set(buf, err);
        this.recordError(err, true);
      },
      () => undefined,
    );
    return buf;
  }

  /** A new data handle of `size` elements (contents undefined), counted as live. */
  alloc(dtype: DType, size: number): GPUData {
    this.check();
    const cls = sizeClass(size * 4);
    const list = this.pool.get(cls);
    let buf = list?.pop();
    if (buf) {
      this.pooledBytes -= cls;
      this.counters.poolHits++;
    } else {
      buf = this.createBuffer(
        cls,
        GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        `a ${dtype} tensor of ${size} elements`,
      );
      this.counters.buffersCreated++;
    }
    const data = new GPUData(buf, dtype, size, this.id);
    this.stats.buffers++;
    this.stats.bytes += data.bytes;
    this.stats.bytesAllocatedTotal += data.bytes;
    if (this.stats.bytes > this.stats.peakBytes) this.stats.peakBytes = this.stats.bytes;
    return data;
  }

  /** The live GPU buffer behind a handle; throws on foreign or disposed handles. */
  buffer(id: object): GPUBuffer {
    if (!(id instanceof GPUData) || id.owner !== this.id) {
      throw new BackendError(
        'internal error: the webgpu backend was given a data handle it did not create (a tensor from another backend reached a webgpu kernel)',
      );
    }
    if (id.buffer === null) throw new BackendError('internal error: the webgpu backend was given a data handle that was already disposed');
    // A tensor whose allocation failed: say so here rather than let the kernel fail later.
    const failure = this.failed.get(id.buffer);
    if (failure)
      throw new BackendError(
        `webgpu: ${this.op ? `'${this.op}' got` : 'got'} a tensor whose buffer could not be allocated (${failure.message})`,
      );
    return id.buffer;
  }

  /** Frees a handle: its buffer goes back to the pool at once (queue order protects pending readers). */
  free(id: object): void {
    if (!(id instanceof GPUData) || id.owner !== this.id) {
      throw new BackendError('internal error: disposeData was given a handle the webgpu backend did not create');
    }
    if (id.buffer === null)
      throw new BackendError(
        'internal error: disposeData called twice on the same webgpu buffer (core must free each handle exactly once)',
      );
    const buf = id.buffer;
    id.buffer = null;
    this.stats.buffers--;
    this.stats.bytes -= id.bytes;
    if (this.disposed) return;
    if (this.failed.has(buf) || this.pooledBytes + buf.size > POOL_LIMIT_BYTES) {
      // Destroying a buffer an unsubmitted pass uses would invalidate that pass: submit first.
      this.flush();
      buf.destroy();
      return;
    }
    const list = this.pool.get(buf.size);
    if (list) list.push(buf);
    else this.pool.set(buf.size, [buf]);
    this.pooledBytes += buf.size;
  }

  /** Copies host words into a new handle. */
  upload(words: Uint32Array | Float32Array | Int32Array, dtype: DType, size: number): GPUData {
    const outer = this.op;
    this.op ??= 'upload';
    let data: GPUData;
    try {
      data = this.alloc(dtype, size);
    } finally {
      this.op = outer;
    }
    if (size > 0) {
      // writeBuffer runs on the queue timeline, ahead of unsubmitted passes: submit them first.
      this.flush();
      this.device.queue.writeBuffer(data.buffer as GPUBuffer, 0, words.buffer, words.byteOffset, size * 4);
    }
    return data;
  }

  private metaBuffer(words: Uint32Array): GPUBuffer {
    const cls = sizeClass(words.byteLength);
    const buf =
      this.metaPool.get(cls)?.pop() ?? this.createBuffer(cls, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'kernel parameters');
    this.device.queue.writeBuffer(buf, 0, words.buffer, words.byteOffset, words.byteLength);
    this.pendingMeta.push(buf);
    return buf;
  }

  /** The compute pipeline for a shader source (compiled once, cached by source). */
  pipeline(code: string, label: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (p) return p;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label });
    p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    void this.device.popErrorScope().then(
      async (e) => {
        if (!e) return;
        const info = await module.getCompilationInfo().catch(() => undefined);
        const msgs = info?.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ') ?? '';
        // A broken shader explains every later error: report it first.
        this.pendingError = new BackendError(`internal error: webgpu shader '${label}' failed to compile: ${msgs || e.message}`);
      },
      () => undefined,
    );
    this.pipelines.set(code, p);
    return p;
  }

  /**
   * Encodes one compute pass: binding 0 is the meta words (read-only storage), then
   * `buffers` in order.
   */
  dispatch(label: string, code: string, meta: Uint32Array, buffers: readonly GPUBuffer[], groups: readonly [number, number, number]): void {
    this.check();
    const pipeline = this.pipeline(code, label);
    const metaBuf = this.metaBuffer(meta.length > 0 ? meta : new Uint32Array(4));
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: metaBuf } }];
    buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    this.openBatchScope();
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.encoder ??= this.device.createCommandEncoder();
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    pass.end();
    this.counters.dispatches++;
    if (++this.pendingPasses >= MAX_PENDING_PASSES) this.flush();
  }

  /**
   * Opens the validation error scope of the pending batch (closed by {@link flush}), so that
   * no validation error goes uncaptured: Dawn prints those to stdout, and an allocation
   * failure's echo ("Invalid BindGroup") must not be mistaken for the cause.
   */
  private openBatchScope(): void {
    if (this.batchScope) return;
    this.device.pushErrorScope('validation');
    this.batchScope = true;
  }

  private batchScope = false;

  /** Closes the batch's validation scope, recording what it caught for the next read/sync. */
  private closeBatchScope(): void {
    if (!this.batchScope) return;
    this.batchScope = false;
    void this.device.popErrorScope().then(
      (e) => {
        if (e) this.recordError(new BackendError(`webgpu: GPU error: ${e.message}`));
      },
      () => undefined,
    );
  }

  /**
   * Reserves the fault slot of one gather/scatter dispatch: returns the buffer to bind and
   * the word index of the slot in it (for the kernel's meta words).
   */
  faultSlot(call: FaultCall): { buffer: GPUBuffer; word: number } {
    const slot = this.faultCalls.length;
    this.faultCalls.push(call);
    const chunk = Math.floor(slot / FAULT_SLOTS);
    if (chunk === this.faultBuffers.length) {
      const bytes = FAULT_SLOTS * 8;
      const buf = this.createBuffer(bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'index-fault flags');
      // New buffers are zeroed by WebGPU; queue order keeps this ahead of the pass using it.
      this.faultBuffers.push(buf);
    }
    return { buffer: this.faultBuffers[chunk], word: (slot % FAULT_SLOTS) * 2 };
  }

  /**
   * Encodes the copy of every used fault slot into `dst` at byte `at`, then clears them, and
   * starts a new slot numbering. Returns the calls those slots belong to (for {@link Runtime.noteFaults}).
   */
  private encodeFaultCollection(enc: GPUCommandEncoder, dst: GPUBuffer, at: number): FaultCall[] {
    const calls = this.faultCalls;
    this.faultCalls = [];
    for (let c = 0; c * FAULT_SLOTS < calls.length; c++) {
      const bytes = Math.min(FAULT_SLOTS, calls.length - c * FAULT_SLOTS) * 8;
      enc.copyBufferToBuffer(this.faultBuffers[c], 0, dst, at + c * FAULT_SLOTS * 8, bytes);
      enc.clearBuffer(this.faultBuffers[c], 0, bytes);
    }
    return calls;
  }

  /** Keeps the first flagged slot of collected `words` as the pending fault (unless one waits already). */
  private noteFaults(calls: readonly FaultCall[], words: Uint32Array): void {
    if (this.pendingFault) return;
    for (let slot = 0; slot < calls.length; slot++) {
      if (words[2 * slot] !== 0) {
        this.pendingFault = { ...calls[slot], index: words[2 * slot + 1] | 0 };
        return;
      }
    }
  }

  /** Records a fault found without running a kernel (an index into an empty axis). */
  hostFault(call: FaultCall): void {
    this.pendingFault ??= call;
  }

  /** The fault recorded by the last read/sync, forgotten once taken. */
  takeIndexFault(): IndexFault | null {
    const f = this.pendingFault;
    this.pendingFault = null;
    return f;
  }

  /** Submits the pending command buffer; parameter buffers return to their pool once it has run. */
  flush(): void {
    if (!this.encoder) {
      this.closeBatchScope();
      return;
    }
    const cb = this.encoder.finish();
    this.encoder = null;
    this.pendingPasses = 0;
    this.device.queue.submit([cb]);
    this.closeBatchScope();
    this.counters.submits++;
    const metas = this.pendingMeta;
    this.pendingMeta = [];
    void this.device.queue.onSubmittedWorkDone().then(
      () => {
        if (this.disposed) return;
        for (const b of metas) {
          const list = this.metaPool.get(b.size);
          if (list) list.push(b);
          else this.metaPool.set(b.size, [b]);
        }
      },
      () => undefined,
    );
  }

  /** Races `p` with device loss, so that no read or sync can hang on a dead device. */
  private async guard<T>(p: Promise<T>): Promise<T> {
    const lost = this.lostPromise.then((e) => {
      throw e;
    });
    return Promise.race([p, lost]);
  }

  /** Reads `size` 4-byte words of a handle (after all submitted work), through a staging buffer. */
  async readWords(id: object, size: number): Promise<ArrayBuffer> {
    this.takeError();
    const src = this.buffer(id);
    const bytes = size * 4;
    if (bytes > src.size) throw new BackendError(`internal error: webgpu read of ${size} elements from a buffer of ${src.size / 4}`);
    if (size === 0 && this.faultCalls.length === 0) return new ArrayBuffer(0);
    this.flush();
    // The fault slots of every kernel enqueued so far ride back in the same staging buffer.
    const faultBytes = this.faultCalls.length * 8;
    const staging = this.createBuffer(bytes + faultBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'a read-back staging buffer');
    this.openBatchScope();
    const enc = this.device.createCommandEncoder();
    if (bytes > 0) enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
    const calls = this.encodeFaultCollection(enc, staging, bytes);
    this.device.queue.submit([enc.finish()]);
    this.closeBatchScope();
    this.counters.submits++;
    try {
      await this.guard(staging.mapAsync(GPUMapMode.READ));
      const mapped = staging.getMappedRange();
      const out = mapped.slice(0, bytes);
      if (calls.length > 0) this.noteFaults(calls, new Uint32Array(mapped.slice(bytes)));
      staging.unmap();
      this.takeError();
      return out;
    } catch (e) {
      if (e instanceof BackendError) throw e;
      this.check();
      throw new BackendError(`webgpu: reading a buffer back failed: ${(e as Error).message}`);
    } finally {
      staging.destroy();
    }
  }

  /** Reads back (and clears) the fault slots of every kernel submitted so far. */
  private async collectFaults(): Promise<void> {
    const staging = this.createBuffer(
      this.faultCalls.length * 8,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      'index-fault read-back',
    );
    const enc = this.device.createCommandEncoder();
    const calls = this.encodeFaultCollection(enc, staging, 0);
    this.device.queue.submit([enc.finish()]);
    this.counters.submits++;
    try {
      await this.guard(staging.mapAsync(GPUMapMode.READ));
      this.noteFaults(calls, new Uint32Array(staging.getMappedRange().slice(0)));
      staging.unmap();
    } finally {
      staging.destroy();
    }
  }

  /** Resolves when all submitted work is done; rejects with a recorded GPU error. */
  async sync(): Promise<void> {
    this.check();
    this.flush();
    // Collect the index-fault slots too: sync is a point where core reports them.
    if (this.faultCalls.length > 0) await this.collectFaults();
    await this.guard(this.device.queue.onSubmittedWorkDone());
    this.takeError();
  }

  /** Releases every GPU resource and the device. */
  dispose(): void {
    if (this.disposed) return;
    this.flush();
    this.disposed = true;
    for (const list of [...this.pool.values(), ...this.metaPool.values()]) for (const b of list) b.destroy();
    for (const b of this.faultBuffers) b.destroy();
    this.faultBuffers.length = 0;
    this.pool.clear();
    this.metaPool.clear();
    this.pipelines.clear();
    this.device.destroy();
  }
}
