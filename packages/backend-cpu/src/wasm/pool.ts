/**
 * The worker pool: `threads - 1` workers that each instantiate the kernel module over the
 * backend's shared WebAssembly.Memory and wait on a control word (Atomics.wait). The
 * calling thread posts one part of a job to each ready worker (Atomics.notify), runs its own
 * part, then waits for the others: no messages, no copies, a few microseconds per dispatch.
 *
 * Node: worker_threads, unref'd so they never keep a process alive. Browsers: Web Workers
 * from a Blob URL when cross-origin isolated (SharedArrayBuffer exists); the calling thread
 * then spin-waits, since a page's main thread may not Atomics.wait.
 */
import { nodeBuiltin } from './detect.js';

/** Layout of one worker's slot in the control array (Int32 words). */
const SEQ = 0; // job counter, written by the caller; the worker waits on it
const DONE = 1; // last finished job, written by the worker; the caller waits on it
const READY = 2; // 1 once the worker has instantiated the module
const FAILED = 3; // 1 if a part threw (the caller then raises an error)
const OP = 4; // an index into POOL_OP (0 = stop)
const NARGS = 5;
const TAKEN = 6; // 0 = posted, 1 = a worker runs it, 2 = the caller took it back
const DEAD = 7; // 1 once the worker's thread has ended (set by the worker on its way out)
const ARGS = 8;
const SLOT = 32;

/**
 * Least time the caller waits for a part a worker has started before it decides the
 * worker is gone (killed without a word, e.g. terminated or out of memory), stops it and
 * runs the part itself. A live worker's part takes about as long as the caller's own, so
 * the wait is also at least {@link STALL_FACTOR} times that.
 */
export const STALL_MIN_MS = 2000;
/** How many times the caller's own share a stalled part's wait lasts at least (see {@link STALL_MIN_MS}). */
export const STALL_FACTOR = 50;

/**
 * Operation codes a worker understands (index into its function table, `WORKER_FNS`). Every
 * op's part reads only memory it does not write, so a part redone on the caller after its
 * worker died mid-way is exact. The exceptions coordinate through their own words: the GEMM,
 * attention and recurrent parts claim tasks or steps from counters in their argument block,
 * and their callers redo whatever a dead worker claimed but never finished
 * (`attentionFinish`, the GEMM's task redo, the recurrent loop's adoption).
 */
export const POOL_OP = {
  stop: 0,
  gemm: 1,
  packA: 2,
  attention: 3,
  softmaxRows: 4,
  layerNorm: 5,
  unary: 6,
  binaryND: 7,
  sumRows: 8,
  sumCols: 9,
  recurrent: 10,
  compareND: 11,
  whereND: 12,
  logSoftmaxGather: 13,
  logSoftmaxGatherBackward: 14,
} as const;

/** The kernel exports behind each {@link POOL_OP} code, in code order (0 = stop has none). */
const WORKER_FNS =
  'null, ex.gemmTasks, ex.packA, ex.attentionHeads, ex.softmaxRows, ex.layerNormPart, ex.unary, ex.binaryND, ex.sumRows, ex.sumCols, (a, slot) => ghostflowRecurrent(ex, init.memory, a, slot), ex.compareND, ex.whereND, ex.logSoftmaxGatherRows, ex.logSoftmaxGatherBackwardRows';

/**
 * The worker's whole program, plain JavaScript so that it runs from a string in both Node
 * (`eval: true`) and a browser (Blob URL); no file to locate next to a bundle. A part is
 * claimed (TAKEN 0 -> 1) before it runs, so the caller can take back a part no worker
 * started; on its way out (return, throw) the worker sets DEAD and wakes the caller.
 */
const WORKER_BODY = `
function ghostflowWorker(init) {
  const c = new Int32Array(init.control);
  const base = init.slot;
  try {
    const ex = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
    const fns = [${WORKER_FNS}];
    Atomics.store(c, base + ${READY}, 1);
    let seen = 0;
    for (;;) {
      Atomics.wait(c, base + ${SEQ}, seen);
      const seq = Atomics.load(c, base + ${SEQ});
      if (seq === seen) continue;
      seen = seq;
      if (c[base + ${OP}] === 0) return;
      if (Atomics.compareExchange(c, base + ${TAKEN}, 0, 1) !== 0) continue;
      // The op and its arguments are read only once the part is claimed: read before, they
      // may belong to an earlier job the caller took back, while the claim won the next one
      // (a different kernel: its arguments would be read as another kernel's, out of bounds).
      const op = c[base + ${OP}];
      if (op === 0) return;
      const job = Atomics.load(c, base + ${SEQ});
      try {
        const args = [];
        for (let i = 0; i < c[base + ${NARGS}]; i++) args.push(c[base + ${ARGS} + i]);
        fns[op](...args);
      } catch (e) {
        Atomics.store(c, base + ${FAILED}, 1);
      }
      Atomics.store(c, base + ${DONE}, job);
      Atomics.notify(c, base + ${DONE});
    }
  } finally {
    ghostflowWorkerGone(c, base);
  }
}
function ghostflowRecurrent(ex, memory, a, slot) {
  // The time loop's waits longer than a spin sleep here, in JavaScript, on the awaited
  // thread's progress word (operand block layout: assembly/recurrent.ts).
  const words = new Int32Array(memory.buffer);
  const progress = words[(a >> 2) + 20] >> 2;
  const abort = (a >> 2) + 22;
  let k = 0;
  for (;;) {
    const r = ex.recurrentWorker(a, slot, k);
    if (r < 0) return;
    k = r >> 8;
    const word = progress + (r & 255);
    const v = Atomics.load(words, word);
    if (v < k && Atomics.load(words, abort) === 0) Atomics.wait(words, word, v, 2);
  }
}
function ghostflowWorkerGone(c, base) {
  Atomics.store(c, base + ${DEAD}, 1);
  Atomics.notify(c, base + ${DONE});
}
`;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error' | 'exit', listener: (arg: unknown) => void): void;
}

interface NodeWorkerThreads {
  Worker: new (code: string, options: { eval: true; workerData: unknown }) => NodeWorker;
}

/** What a pool can terminate, whichever platform made it. */
interface Handle {
  terminate(): void;
}

/** A job part: the arguments one thread passes to the op's wasm function. */
export type PartArgs = readonly number[];

let warnedDeath = false;

/**
 * Threads sharing one memory. `size` counts the calling thread: up to `threads - 1`
 * workers. Workers start lazily, in the background, the first time the pool is asked for
 * them; until one is ready, its share runs on the caller.
 *
 * A worker that dies (its thread ends: an error, `process.exit`, terminated, out of
 * memory) is marked dead and never gets work again; a part it had not started or did not
 * finish runs on the calling thread instead, so a job always completes.
 */
export class WorkerPool {
  private readonly control: Int32Array;
  private readonly handles: (Handle | null)[] = [];
  private readonly seq: number[] = [];
  private readonly dead: boolean[] = [];
  private readonly canBlock: boolean;
  private readonly wanted: number;
  private started = false;
  private stopped = false;

  /** A pool of `threads - 1` workers over `memory` (shared) running `module`, started on first use. */
  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    threads: number,
  ) {
    this.wanted = Math.max(0, threads - 1);
    this.control = new Int32Array(new SharedArrayBuffer(4 * SLOT * Math.max(1, this.wanted)));
    this.canBlock = canBlock(this.control);
    // Whether this platform has workers at all decides `size` before any is started.
    if (!workersAvailable()) this.wanted = 0;
  }

  /** Threads including the caller: 1 + the workers not known to be dead. */
  get size(): number {
    if (!this.started) return this.wanted + 1;
    let n = 1;
    for (let w = 0; w < this.handles.length; w++) if (!this.isDead(w)) n++;
    return n;
  }

  /** Starts the workers (once; later calls do nothing). */
  private start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (let w = 0; w < this.wanted; w++) {
      const slot = w * SLOT;
      this.control[slot + TAKEN] = 1; // nothing to claim until a part is posted
      const init = { module: this.module, memory: this.memory, control: this.control.buffer, slot };
      const handle = spawn(init, () => this.markDead(w));
      if (!handle) break;
      this.handles.push(handle);
      this.seq.push(0);
      this.dead.push(false);
    }
  }

  private isDead(w: number): boolean {
    return this.dead[w] || Atomics.load(this.control, w * SLOT + DEAD) === 1;
  }

  /** Records that worker `w` is gone; its slot is never posted to again. */
  private markDead(w: number): void {
    if (this.dead[w]) return;
    this.dead[w] = true;
    Atomics.store(this.control, w * SLOT + DEAD, 1);
    Atomics.notify(this.control, w * SLOT + DONE);
    if (!this.stopped && !warnedDeath) {
      warnedDeath = true;
      console.warn('ghostflow cpu backend: a GEMM worker thread died; its share of the work now runs on the calling thread');
    }
  }

  /** How many workers have instantiated the module and can take work now. */
  readyWorkers(): number {
    let n = 0;
    for (let w = 0; w < this.handles.length; w++) if (!this.isDead(w) && Atomics.load(this.control, w * SLOT + READY) === 1) n++;
    return n;
  }

  /**
   * {@link readyWorkers}, first starting the workers if they are not yet (a kernel that
   * could split its work calls this: the pool costs nothing until then).
   */
  available(): number {
    this.start();
    return this.readyWorkers();
  }

  /** Resolves once every live worker is ready (for tests and benchmarks that want all threads at once). */
  async whenReady(timeoutMs = 10_000): Promise<void> {
    this.start();
    const start = Date.now();
    const pending = () => this.size - 1 - this.readyWorkers();
    while (!this.stopped && pending() > 0) {
      if (Date.now() - start > timeoutMs) throw new Error(`cpu backend: ${pending()} worker(s) did not start`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /**
   * Runs `parts[0]` on the caller through `local`, and `parts[1..]` on ready workers, then
   * returns when all are done. Parts beyond the ready workers run on the caller too, so a
   * job never waits for a worker that is still starting, and a part no worker has claimed
   * by the time the caller is done is taken back and run here (its worker may be dead).
   */
  run(op: number, parts: readonly PartArgs[], local: (args: PartArgs) => void): void {
    this.start();
    const c = this.control;
    const posted: { w: number; args: PartArgs }[] = [];
    let next = 1;
    for (let w = 0; w < this.handles.length && next < parts.length && !this.stopped; w++) {
      const base = w * SLOT;
      if (this.isDead(w) || Atomics.load(c, base + READY) !== 1) continue;
      const args = parts[next++];
      this.postTo(w, op, args);
      posted.push({ w, args });
    }
    const t0 = Date.now();
    local(parts[0]);
    const localMs = Date.now() - t0;
    for (; next < parts.length; next++) local(parts[next]);
    let failed = false;
    for (const { w, args } of posted) {
      const base = w * SLOT;
      // Not started yet (slow to wake, or dead while idle): take it back.
      if (Atomics.compareExchange(c, base + TAKEN, 0, 2) === 0) {
        local(args);
        continue;
      }
      if (!this.waitFor(w, Math.max(STALL_MIN_MS, STALL_FACTOR * localMs))) {
        // The worker died during the part (which may be half written): redo it here. A part
        // overwrites its whole output range from inputs it never writes (see POOL_OP), so
        // running it again is exact.
        Atomics.store(c, base + FAILED, 0);
        local(args);
        continue;
      }
      if (Atomics.exchange(c, base + FAILED, 0) !== 0) failed = true;
    }
    if (failed) throw new Error('cpu backend: a worker thread failed while running a kernel');
  }

  /**
   * Posts one part of `op` to a ready worker that runs alongside the caller for as long as
   * the caller drives it (a job whose threads synchronise among themselves, like the
   * recurrent time loop); the worker's index, or -1 when no worker is ready. The caller
   * must end it with {@link WorkerPool.join} and must not wait on the part without checking
   * {@link WorkerPool.partState} (the worker may die or never start).
   */
  post(op: number, args: PartArgs): number {
    this.start();
    const c = this.control;
    for (let w = 0; w < this.handles.length && !this.stopped; w++) {
      const base = w * SLOT;
      if (this.isDead(w) || Atomics.load(c, base + READY) !== 1 || Atomics.load(c, base + TAKEN) === 0) continue;
      this.postTo(w, op, args);
      return w;
    }
    return -1;
  }

  /**
   * Writes a part of `op` into worker `w`'s slot and wakes it. The op and arguments go in
   * before TAKEN opens the claim, and SEQ before TAKEN, so a worker that wins the claim
   * reads this part's op, arguments and job number.
   */
  private postTo(w: number, op: number, args: PartArgs): void {
    const c = this.control;
    const base = w * SLOT;
    c[base + OP] = op;
    c[base + NARGS] = args.length;
    for (let i = 0; i < args.length; i++) c[base + ARGS + i] = args[i];
    const seq = (this.seq[w] + 1) | 0;
    this.seq[w] = seq;
    Atomics.store(c, base + SEQ, seq);
    Atomics.store(c, base + TAKEN, 0);
    Atomics.notify(c, base + SEQ);
  }

  /**
   * Where worker `w`'s posted part stands: 'running' (claimed, not finished), 'unclaimed'
   * (no worker has started it yet), 'ended' (finished or failed), or 'dead' (its thread is
   * gone; what it wrote may be partial).
   */
  partState(w: number): 'running' | 'unclaimed' | 'ended' | 'dead' {
    const c = this.control;
    const base = w * SLOT;
    if (Atomics.load(c, base + DONE) === this.seq[w]) return 'ended';
    if (this.isDead(w)) {
      this.markDead(w);
      return 'dead';
    }
    return Atomics.load(c, base + TAKEN) === 0 ? 'unclaimed' : 'running';
  }

  /** Takes back worker `w`'s posted part if no worker has started it; true when taken. */
  takeBack(w: number): boolean {
    return Atomics.compareExchange(this.control, w * SLOT + TAKEN, 0, 2) === 0;
  }

  /**
   * Stops worker `w` for good (a part it runs has stalled): terminated and marked dead, and
   * given time to stop before the caller redoes its work, as for a stalled GEMM part.
   */
  abandon(w: number): void {
    const c = this.control;
    const base = w * SLOT;
    this.handles[w]?.terminate();
    this.markDead(w);
    if (this.canBlock) Atomics.wait(c, base + SEQ, Atomics.load(c, base + SEQ), 200);
  }

  /**
   * Ends a part from {@link WorkerPool.post} once the caller no longer needs it: waits for it
   * to return (it is about to, or was told to stop) and clears a failure flag; a worker that
   * does not return within `stallMs` is abandoned. True when the part ended normally.
   */
  join(w: number, stallMs: number): boolean {
    if (this.takeBack(w)) return false;
    const ok = this.waitFor(w, stallMs);
    return Atomics.exchange(this.control, w * SLOT + FAILED, 0) === 0 && ok;
  }

  /** Whether this thread may block in Atomics.wait (Node's main thread may; a page's may not). */
  get blocking(): boolean {
    return this.canBlock;
  }

  /**
   * Waits for worker `w` to finish its posted part; false when it died instead, or did not
   * finish within `stallMs` (then it is stopped and marked dead: no later write of it can
   * land in memory the caller reuses).
   */
  private waitFor(w: number, stallMs: number): boolean {
    const c = this.control;
    const base = w * SLOT;
    const seq = this.seq[w];
    const start = Date.now();
    for (;;) {
      const done = Atomics.load(c, base + DONE);
      if (done === seq) return true;
      if (this.isDead(w)) {
        this.markDead(w);
        return false;
      }
      if (Date.now() - start > stallMs) {
        this.handles[w]?.terminate();
        this.markDead(w);
        // Termination lands at the worker's next interrupt check (wasm loops have them),
        // normally within microseconds; give it ample time before the caller rewrites the
        // range, since a worker that was only starved (not dead) writes partial sums there.
        if (this.canBlock) Atomics.wait(c, base + SEQ, Atomics.load(c, base + SEQ), 200);
        return false;
      }
      if (this.canBlock) Atomics.wait(c, base + DONE, done, 20);
    }
  }

  /** Stops and terminates every worker; the pool runs everything on the caller afterwards. */
  dispose(): void {
    if (this.stopped) return;
    this.stopped = true;
    const c = this.control;
    for (let w = 0; w < this.handles.length; w++) {
      const base = w * SLOT;
      c[base + OP] = POOL_OP.stop;
      Atomics.store(c, base + SEQ, (this.seq[w] + 1) | 0);
      Atomics.notify(c, base + SEQ);
      this.handles[w]?.terminate();
      this.dead[w] = true;
    }
    this.handles.length = 0;
  }
}

/** Whether this thread may block in Atomics.wait (Node's main thread may; a page's may not). */
function canBlock(c: Int32Array): boolean {
  try {
    Atomics.wait(c, 0, 1, 0); // value differs: returns 'not-equal' at once, or throws
    return true;
  } catch {
    return false;
  }
}

/** Whether this platform can run worker threads over a shared memory. */
function workersAvailable(): boolean {
  if (nodeBuiltin<NodeWorkerThreads>('node:worker_threads')) return true;
  const g = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean; Blob?: unknown; URL?: unknown };
  return Boolean(g.Worker && g.Blob && g.URL && g.crossOriginIsolated);
}

/**
 * Starts one worker on this platform, or null when there are no workers here. `onGone`
 * runs (on this thread's event loop) when the worker's thread ends for any reason.
 */
function spawn(
  init: { module: WebAssembly.Module; memory: WebAssembly.Memory; control: ArrayBufferLike; slot: number },
  onGone: () => void,
): Handle | null {
  const wt = nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
  if (wt) {
    // process.exit() in the worker skips the body's finally; its 'exit' event still runs there.
    const boot = `${WORKER_BODY}
const { workerData } = require('node:worker_threads');
process.on('exit', () => ghostflowWorkerGone(new Int32Array(workerData.control), workerData.slot));
ghostflowWorker(workerData);`;
    const worker = new wt.Worker(boot, { eval: true, workerData: init });
    // Reported through the pool (the caller's share absorbs the dead worker's); no stack dump.
    worker.on('error', () => onGone());
    worker.on('exit', () => onGone());
    worker.unref();
    return { terminate: () => void worker.terminate().catch(() => {}) };
  }
  const g = globalThis as { Worker?: typeof Worker; crossOriginIsolated?: boolean; Blob?: typeof Blob; URL?: typeof URL };
  if (g.Worker && g.Blob && g.URL && g.crossOriginIsolated) {
    const url = g.URL.createObjectURL(
      new g.Blob([`${WORKER_BODY}\nself.onmessage = (e) => ghostflowWorker(e.data);`], { type: 'text/javascript' }),
    );
    const worker = new g.Worker(url);
    worker.addEventListener('error', () => onGone());
    worker.postMessage(init);
    return { terminate: () => worker.terminate() };
  }
  return null;
}
