/**
 * The process group: the set of processes (ranks) of one job that run collectives together,
 * modelled on torch.distributed. Each process calls `initProcessGroup()` once; rank and world
 * size come from the launcher (mpirun, srun). Collectives return Promises: the MPI addon starts
 * a non-blocking MPI collective on its own progress thread, so the event loop never blocks.
 */
import { writeSync } from 'node:fs';
import { DTypeError, type Tensor } from '@ghostflow/core';
import { type HostArray, type MpiAddon, type MpiReduceOp, loadAddon } from './addon.js';
import { CollectiveTimeoutError, DistributedError, MpiUnavailableError } from './errors.js';
import { fromHost, readHostSync, writeBack } from './host.js';

/** How `allReduce`/`reduceScatter` combine the ranks' values. */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

/** Options of {@link initProcessGroup}. */
export interface InitProcessGroupOptions {
  /** The collective engine. Only 'mpi' exists today ('nccl' will come with a CUDA backend). */
  backend?: 'mpi';
  /**
   * How long a collective may take before it rejects with a {@link CollectiveTimeoutError}
   * naming the ranks that never called it. Default 300000 (5 minutes).
   */
  timeoutMs?: number;
}

/** The default timeout of a collective: 5 minutes, like torch.distributed's. */
export const DEFAULT_TIMEOUT_MS = 300_000;

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'avg', 'max', 'min'];
const APT_HINT = 'install MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`), then reinstall @ghostflow/distributed';

let current: ProcessGroup | null = null;

/** A group of ranks running collectives together. Get it from {@link initProcessGroup}. */
export class ProcessGroup {
  private destroyed = false;

  /** @internal made by initProcessGroup. */
  constructor(
    private readonly addon: MpiAddon,
    private readonly rank_: number,
    private readonly size_: number,
    /** The collective timeout in milliseconds. */
    readonly timeoutMs: number,
    /** The engine's name: 'mpi'. */
    readonly backend = 'mpi',
  ) {}

  /** This process's rank, 0 ≤ rank < worldSize. */
  rank(): number {
    return this.rank_;
  }

  /** The number of processes in the group. */
  worldSize(): number {
    return this.size_;
  }

  /** Resolves once every rank has called `barrier()`. */
  barrier(): Promise<void> {
    this.assertAlive('barrier');
    return this.wrap('barrier', this.addon.barrier('barrier'));
  }

  /**
   * Reduces `t` over all ranks and writes the result back into `t` (every rank gets it).
   * `avg` is `sum / worldSize` (int32: truncated toward zero; bool: not allowed); for bool
   * tensors `sum` and `max` are logical or, `min` logical and. `t` must be a leaf (no gradFn).
   */
  async allReduce(t: Tensor, op: ReduceOp = 'sum'): Promise<void> {
    this.assertAlive('allReduce');
    checkOp('allReduce', op, t.dtype);
    // Read synchronously when the backend can, so the collective starts in this tick.
    const host = readHostSync(t) ?? ((await t.data()) as HostArray);
    await this.allReduceArray(host, op);
    writeBack(t, host);
  }

  /**
   * Reduces a host array in place over all ranks (what `allReduce` does after reading a
   * tensor): Float32Array, Int32Array, or Uint8Array (taken as bool).
   */
  async allReduceArray(values: HostArray, op: ReduceOp = 'sum'): Promise<void> {
    this.assertAlive('allReduce');
    const dtype = dtypeOfArray(values);
    checkOp('allReduce', op, dtype);
    await this.wrap('allReduce', this.addon.allReduce('allReduce', values, mpiOp(op, dtype)));
    if (op === 'avg') divideInPlace(values, this.size_);
  }

  /** Copies `t` from rank `src` into `t` on every other rank. `t` must be a leaf. */
  async broadcast(t: Tensor, src = 0): Promise<void> {
    this.assertAlive('broadcast');
    this.checkRank('broadcast', src);
    const host = readHostSync(t) ?? ((await t.data()) as HostArray);
    await this.broadcastArray(host, src);
    writeBack(t, host);
  }

  /** Broadcasts a host array in place from rank `src`. */
  async broadcastArray(values: HostArray, src = 0): Promise<void> {
    this.assertAlive('broadcast');
    this.checkRank('broadcast', src);
    await this.wrap('broadcast', this.addon.broadcast('broadcast', values, src));
  }

  /**
   * Every rank's `t`, stacked: a new tensor of shape `[worldSize, ...t.shape]` on `t`'s backend
   * whose row `r` is rank r's tensor. All ranks must pass the same shape and dtype.
   */
  async allGather(t: Tensor): Promise<Tensor> {
    this.assertAlive('allGather');
    const host = readHostSync(t) ?? ((await t.data()) as HostArray);
    const out = allocLike(host, host.length * this.size_);
    await this.wrap('allGather', this.addon.allGather('allGather', host, out));
    return fromHost(out, { shape: [this.size_, ...t.shape], dtype: t.dtype, device: t.device });
  }

  /**
   * Reduces `t` (shape `[worldSize, ...rest]`) over all ranks and returns this rank's row of the
   * result: a new tensor of shape `rest`, the reduction over ranks of their `t[rank]`. Same ops
   * and dtype rules as {@link ProcessGroup.allReduce}.
   */
  async reduceScatter(t: Tensor, op: ReduceOp = 'sum'): Promise<Tensor> {
    this.assertAlive('reduceScatter');
    checkOp('reduceScatter', op, t.dtype);
    if (t.shape.length === 0 || t.shape[0] !== this.size_) {
      throw new DistributedError(`reduceScatter: expected a tensor of shape [worldSize=${this.size_}, ...], got [${t.shape.join(', ')}]`);
    }
    const host = readHostSync(t) ?? ((await t.data()) as HostArray);
    const out = allocLike(host, host.length / this.size_);
    await this.wrap('reduceScatter', this.addon.reduceScatter('reduceScatter', host, out, mpiOp(op, t.dtype)));
    if (op === 'avg') divideInPlace(out, this.size_);
    return fromHost(out, { shape: t.shape.slice(1), dtype: t.dtype, device: t.device });
  }

  /** @internal finalizes MPI; use {@link destroyProcessGroup}. */
  destroy(): void {
    if (this.destroyed) return;
    const status = this.addon.status();
    if (status.broken) {
      throw new DistributedError('destroyProcessGroup: a collective timed out, so MPI cannot finalize cleanly; the job aborts at exit');
    }
    this.addon.finalize();
    this.destroyed = true;
  }

  private assertAlive(what: string): void {
    if (this.destroyed) throw new DistributedError(`${what}: the process group was destroyed`);
  }

  private checkRank(what: string, r: number): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.size_) {
      throw new DistributedError(`${what}: expected a rank in [0, ${this.size_ - 1}], got ${r}`);
    }
  }

  /** Turns the addon's rejection into a typed error. */
  private async wrap(what: string, p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (e) {
      const err = e as Error & { timedOut?: boolean; missingRanks?: number[]; collective?: string };
      if (err.timedOut) {
        throw new CollectiveTimeoutError(
          `${err.message}. The process group is broken: the job aborts (MPI_Abort) when this process exits`,
          err.collective ?? what,
          err.missingRanks ?? [],
        );
      }
      throw new DistributedError(err.message);
    }
  }
}

function dtypeOfArray(a: HostArray): Tensor['dtype'] {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

function allocLike(a: HostArray, length: number): HostArray {
  if (a instanceof Float32Array) return new Float32Array(length);
  if (a instanceof Int32Array) return new Int32Array(length);
  return new Uint8Array(length);
}

function checkOp(what: string, op: ReduceOp, dtype: Tensor['dtype']): void {
  if (!REDUCE_OPS.includes(op)) throw new DistributedError(`${what}: expected op ${REDUCE_OPS.join(', ')}, got '${op}'`);
  if (op === 'avg' && dtype === 'bool') throw new DTypeError(`${what}: 'avg' needs a float32 or int32 tensor, got bool`);
}

function mpiOp(op: ReduceOp, dtype: Tensor['dtype']): MpiReduceOp {
  if (dtype === 'bool') return op === 'min' ? 'land' : 'lor';
  return op === 'avg' ? 'sum' : op;
}

function divideInPlace(values: HostArray, n: number): void {
  if (values instanceof Int32Array) for (let i = 0; i < values.length; i++) values[i] = Math.trunc(values[i] / n);
  else for (let i = 0; i < values.length; i++) values[i] /= n;
}

/**
 * Joins the job's process group (once per process). Rank and world size come from the MPI
 * launcher; `RANK`/`WORLD_SIZE`, when set, are checked against them. Throws an
 * {@link MpiUnavailableError} naming the packages to install when the MPI addon is missing.
 */
export function initProcessGroup(options: InitProcessGroupOptions = {}): ProcessGroup {
  const backend = options.backend ?? 'mpi';
  if (backend !== 'mpi') throw new DistributedError(`initProcessGroup: backend '${String(backend)}' is not available; expected 'mpi'`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new DistributedError(`initProcessGroup: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  if (current) throw new DistributedError('initProcessGroup: the process group is already initialized (call destroyProcessGroup first)');
  const { addon, reason } = loadAddon();
  if (!addon) throw new MpiUnavailableError(`initProcessGroup: ${reason}; ${APT_HINT}`);
  if (addon.status().finalized) {
    throw new DistributedError('initProcessGroup: MPI was already finalized in this process and cannot start again');
  }
  const { rank, size } = addon.init(Math.round(timeoutMs));
  installExitHandler(addon);
  for (const [name, value] of [
    ['RANK', rank],
    ['WORLD_SIZE', size],
  ] as const) {
    const env = process.env[name];
    if (env !== undefined && env !== '' && Number(env) !== value) {
      // Exiting with this error aborts the job (see installExitHandler): ranks would disagree.
      throw new DistributedError(`initProcessGroup: ${name}=${env} in the environment, but the MPI launcher says ${value}`);
    }
  }
  current = new ProcessGroup(addon, rank, size, timeoutMs);
  return current;
}

let exitHandlerInstalled = false;

/**
 * At exit, a healthy group with nothing in flight is finalized; otherwise (a collective timed
 * out, collectives still pending, or the process is exiting with an error) the whole job is
 * aborted with MPI_Abort, as MPI does, so no rank is left waiting for this one.
 */
function installExitHandler(addon: MpiAddon): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // Node prints an uncaught error only after 'exit' handlers ran, too late once MPI_Abort has
  // torn the job down: remember it and print it with the abort notice.
  let fatal: unknown = null;
  process.on('uncaughtExceptionMonitor', (err) => {
    fatal = err;
  });
  process.on('exit', (code) => {
    const s = addon.status();
    if (!s.initialized) return;
    if (s.broken || s.pending > 0 || code !== 0) {
      const why = s.broken ? 'a collective timed out' : s.pending > 0 ? `${s.pending} collective(s) still in flight` : `exit code ${code}`;
      const detail = fatal instanceof Error ? `\n${fatal.stack ?? fatal.message}` : fatal ? `\n${String(fatal)}` : '';
      writeSync(2, `@ghostflow/distributed: this rank is exiting (${why}); aborting the job with MPI_Abort${detail}\n`);
      addon.abort(code || 1);
    }
    addon.finalize();
  });
}

/** Whether this process has an initialized process group. */
export function isInitialized(): boolean {
  return current !== null;
}

/** The process group made by {@link initProcessGroup}; throws when there is none. */
export function getProcessGroup(): ProcessGroup {
  if (!current) throw new DistributedError('no process group: call initProcessGroup() first');
  return current;
}

/** Finalizes MPI for this process. Every collective must have settled. MPI cannot start again afterwards. */
export function destroyProcessGroup(): void {
  const pg = getProcessGroup();
  pg.destroy();
  current = null;
}
