/**
 * DistributedDataParallel: the same model on every rank, each rank on its share of the batch,
 * gradients averaged across ranks so every replica takes the same optimizer step (PyTorch's
 * DDP). Gradients are averaged in buckets of about `bucketCapMB`, each launched as soon as all
 * its parameters' gradients are final during `backward()` (post-accumulate-grad hooks), so
 * communication overlaps the rest of the backward pass.
 *
 * JavaScript cannot block inside `backward()` until the network is done, so one call is added to
 * PyTorch's loop: `await ddp.syncGradients()` between `loss.backward()` and `optimizer.step()`.
 */
import { type Tensor, keep } from '@ghostflow/core';
import { Module } from '@ghostflow/nn';
import type { HostArray } from './addon.js';
import { DistributedError } from './errors.js';
import { fromHost, readHost, readHostSync, writeBack } from './host.js';
import { type ProcessGroup, getProcessGroup } from './process-group.js';

/** Options of {@link DistributedDataParallel.wrap}. */
export interface DistributedDataParallelOptions {
  /** Target bucket size in MiB (PyTorch's `bucket_cap_mb`). Default 25. */
  bucketCapMB?: number;
  /** The group to average over. Default: the one from `initProcessGroup`. */
  processGroup?: ProcessGroup;
}

/** One gradient bucket: parameters whose gradients are averaged in one collective. */
interface Bucket {
  params: Tensor[];
  offsets: number[];
  size: number;
  ready: Set<Tensor>;
  launched: boolean;
  done: Promise<void> | null;
}

/** What {@link DistributedDataParallel.bucketLayout} reports for one bucket. */
export interface BucketInfo {
  /** Parameter names, in the order their gradients are packed. */
  params: string[];
  /** Size in bytes. */
  bytes: number;
}

/**
 * Wraps a module for data-parallel training. Create it with
 * `await DistributedDataParallel.wrap(model)`, which copies rank 0's parameters and buffers to
 * every rank. Then per step: `ddp.forward(x)` → loss → `loss.backward()` →
 * `await ddp.syncGradients()` → `optimizer.step()`. Its state dict keys start with `module.`,
 * like PyTorch's.
 */
export class DistributedDataParallel<M extends Module = Module> extends Module {
  /** The wrapped model. */
  readonly module: M;
  private readonly pg: ProcessGroup;
  private readonly buckets: Bucket[];
  private readonly bucketOf = new Map<Tensor, Bucket>();
  private readonly names = new Map<Tensor, string>();
  private readonly hooks: { remove(): void }[] = [];
  private readonly syncRead: boolean;
  private nextToLaunch = 0;
  private syncEnabled = true;
  private submitTail: Promise<void> = Promise.resolve();

  private constructor(module: M, pg: ProcessGroup, bucketCapMB: number) {
    super();
    this.module = this.registerModule('module', module);
    this.pg = pg;
    const named = module.namedParameters().filter(([, p]) => p.requiresGrad);
    for (const [name, p] of named) this.names.set(p, name);
    // Reverse registration order: roughly the order gradients become ready in backward.
    const capElements = Math.max(1, Math.floor((bucketCapMB * 1024 * 1024) / 4));
    this.buckets = [];
    let cur: Bucket | null = null;
    for (const [, p] of [...named].reverse()) {
      if (p.dtype !== 'float32') continue;
      if (!cur || (cur.size > 0 && cur.size + p.size > capElements)) {
        cur = { params: [], offsets: [], size: 0, ready: new Set(), launched: false, done: null };
        this.buckets.push(cur);
      }
      cur.params.push(p);
      cur.offsets.push(cur.size);
      cur.size += p.size;
      this.bucketOf.set(p, cur);
    }
    this.syncRead = named.every(([, p]) => p.backend.readSync !== undefined);
    for (const [, p] of named) this.hooks.push(p.registerPostAccumulateGradHook((t) => this.onGradReady(t)));
  }

  /**
   * Wraps `module`: broadcasts rank 0's parameters and buffers to every rank (so all replicas
   * start equal), plans the gradient buckets and installs the gradient hooks.
   */
  static async wrap<M extends Module>(module: M, options: DistributedDataParallelOptions = {}): Promise<DistributedDataParallel<M>> {
    const bucketCapMB = options.bucketCapMB ?? 25;
    if (!(bucketCapMB > 0)) throw new DistributedError(`DistributedDataParallel: bucketCapMB must be > 0, got ${bucketCapMB}`);
    const pg = options.processGroup ?? getProcessGroup();
    await broadcastState(pg, [...module.parameters(), ...module.buffers()]);
    return new DistributedDataParallel(module, pg, bucketCapMB);
  }

  /** Runs the wrapped module's forward. */
  forward(...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    if (this.buckets.some((b) => b.launched)) {
      throw new DistributedError(
        'DistributedDataParallel: gradients of the last backward are still being averaged; call `await ddp.syncGradients()` after backward() and before the next forward',
      );
    }
    return (this.module.forward as (...a: unknown[]) => ReturnType<M['forward']>)(...args);
  }

  /**
   * Runs `fn` (forward and backward) without averaging gradients: they accumulate locally in
   * `.grad`, and the next backward outside `noSync` averages the accumulated total (gradient
   * accumulation, PyTorch's `no_sync()`).
   */
  noSync<T>(fn: () => T): T {
    const before = this.syncEnabled;
    this.syncEnabled = false;
    try {
      return fn();
    } finally {
      this.syncEnabled = before;
    }
  }

  /**
   * Waits until every parameter's gradient is averaged over the ranks. Buckets whose
   * parameters got no gradient in this backward (unused parameters) are reduced now, with
   * zeros for the missing gradients, so every rank launches the same collectives in the same
   * order. Call it after `backward()` and before `optimizer.step()`.
   */
  async syncGradients(): Promise<void> {
    for (const b of this.buckets) for (const p of b.params) b.ready.add(p);
    this.launchReady();
    const pending = this.buckets.map((b) => b.done);
    try {
      await Promise.all(pending);
    } finally {
      for (const b of this.buckets) {
        b.ready.clear();
        b.launched = false;
        b.done = null;
      }
      this.nextToLaunch = 0;
    }
  }

  /**
   * How many buckets of the current step are launched. Right after a `backward()` that reached
   * every parameter it equals the bucket count: they all started during backward. 0 after a
   * backward inside `noSync`, and after `syncGradients()`.
   */
  get launchedBuckets(): number {
    return this.nextToLaunch;
  }

  /** The bucket plan: parameter names and bytes per bucket, in launch order. */
  bucketLayout(): BucketInfo[] {
    return this.buckets.map((b) => ({ params: b.params.map((p) => this.names.get(p) ?? '?'), bytes: b.size * 4 }));
  }

  /** Removes the gradient hooks (the module trains alone again). */
  removeHooks(): void {
    for (const h of this.hooks.splice(0)) h.remove();
  }

  private onGradReady(p: Tensor): void {
    if (!this.syncEnabled) return;
    const b = this.bucketOf.get(p);
    if (!b) return;
    if (b.launched) {
      throw new DistributedError(
        `DistributedDataParallel: parameter '${this.names.get(p)}' got a second gradient before syncGradients() (two backward passes without noSync?)`,
      );
    }
    b.ready.add(p);
    this.launchReady();
  }

  /** Launches complete buckets strictly in bucket order, so every rank issues the same sequence. */
  private launchReady(): void {
    while (this.nextToLaunch < this.buckets.length) {
      const b = this.buckets[this.nextToLaunch];
      if (b.ready.size < b.params.length) return;
      this.nextToLaunch++;
      b.launched = true;
      b.done = this.reduce(b);
    }
  }

  private reduce(b: Bucket): Promise<void> {
    const finish = async (collective: Promise<void>, flat: Float32Array) => {
      await collective;
      b.params.forEach((p, i) => {
        const values = flat.subarray(b.offsets[i], b.offsets[i] + p.size);
        if (p.grad) writeBack(p.grad, values);
        else p.grad = keep(fromHost(values.slice(), p));
      });
    };
    if (this.syncRead) {
      // backend-cpu: pack and start the collective now, while backward goes on.
      const flat = new Float32Array(b.size);
      b.params.forEach((p, i) => {
        const g = p.grad ? readHostSync(p.grad) : null;
        if (g) flat.set(g as Float32Array, b.offsets[i]);
      });
      return finish(this.pg.allReduceArray(flat, 'avg'), flat);
    }
    // Asynchronous reads: chain the submissions so buckets start in order on every rank.
    let started!: (v: { collective: Promise<void>; flat: Float32Array }) => void;
    const submitted = new Promise<{ collective: Promise<void>; flat: Float32Array }>((r) => {
      started = r;
    });
    this.submitTail = this.submitTail.then(async () => {
      const flat = new Float32Array(b.size);
      for (let i = 0; i < b.params.length; i++) {
        const g = b.params[i].grad;
        if (g) flat.set((await readHost(g)) as Float32Array, b.offsets[i]);
      }
      started({ collective: this.pg.allReduceArray(flat, 'avg'), flat });
    });
    return submitted.then(({ collective, flat }) => finish(collective, flat));
  }
}

/** Broadcasts tensors from rank 0 in one collective per dtype, writing them back in place. */
async function broadcastState(pg: ProcessGroup, tensors: Tensor[]): Promise<void> {
  const byDtype = new Map<Tensor['dtype'], Tensor[]>();
  for (const t of new Set(tensors)) byDtype.set(t.dtype, [...(byDtype.get(t.dtype) ?? []), t]);
  for (const [dtype, group] of byDtype) {
    const total = group.reduce((n, t) => n + t.size, 0);
    const flat: HostArray =
      dtype === 'float32' ? new Float32Array(total) : dtype === 'int32' ? new Int32Array(total) : new Uint8Array(total);
    let offset = 0;
    for (const t of group) {
      (flat as Float32Array).set((await readHost(t)) as Float32Array, offset);
      offset += t.size;
    }
    await pg.broadcastArray(flat, 0);
    offset = 0;
    for (const t of group) {
      writeBack(t, flat.subarray(offset, offset + t.size) as HostArray);
      offset += t.size;
    }
  }
}
