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
const OP = 4; // 0 = stop, 1 = gemm
const NARGS = 5;
const ARGS = 6;
const SLOT = 32;

/** Operation codes a worker understands (index into its function table). */
export const POOL_OP = { stop: 0, gemm: 1 } as const;

/**
 * The worker's whole program, plain JavaScript so that it runs from a string in both Node
 * (`eval: true`) and a browser (Blob URL); no file to locate next to a bundle.
 */
const WORKER_BODY = `
function ghostflowWorker(init) {
  const c = new Int32Array(init.control);
  const base = init.slot;
  const ex = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
  const fns = [null, ex.gemm];
  Atomics.store(c, base + ${READY}, 1);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, base + ${SEQ}, seen);
    const seq = Atomics.load(c, base + ${SEQ});
    if (seq === seen) continue;
    seen = seq;
    const op = c[base + ${OP}];
    if (op === 0) return;
    try {
      const args = [];
      for (let i = 0; i < c[base + ${NARGS}]; i++) args.push(c[base + ${ARGS} + i]);
      fns[op](...args);
    } catch (e) {
      Atomics.store(c, base + ${FAILED}, 1);
    }
    Atomics.store(c, base + ${DONE}, seq);
    Atomics.notify(c, base + ${DONE});
  }
}
`;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error', listener: (err: unknown) => void): void;
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

/**
 * Threads sharing one memory. `size` counts the calling thread: `size - 1` workers.
 * Workers start in the background; until one is ready, its share runs on the caller.
 */
export class WorkerPool {
  /** Threads including the caller. */
  readonly size: number;
  private readonly control: Int32Array;
  private readonly handles: Handle[] = [];
  private readonly seq: number[] = [];
  private readonly canBlock: boolean;
  private stopped = false;

  /** Starts `threads - 1` workers over `memory` (shared) running `module`. */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number) {
    const workers = Math.max(0, threads - 1);
    this.control = new Int32Array(new SharedArrayBuffer(4 * SLOT * Math.max(1, workers)));
    this.canBlock = canBlock(this.control);
    for (let w = 0; w < workers; w++) {
      const init = { module, memory, control: this.control.buffer, slot: w * SLOT };
      const handle = spawn(init);
      if (!handle) break;
      this.handles.push(handle);
      this.seq.push(0);
    }
    this.size = this.handles.length + 1;
  }

  /** How many workers have instantiated the module and can take work now. */
  readyWorkers(): number {
    let n = 0;
    for (let w = 0; w < this.handles.length; w++) if (Atomics.load(this.control, w * SLOT + READY) === 1) n++;
    return n;
  }

  /** Resolves once every worker is ready (for tests and benchmarks that want all threads at once). */
  async whenReady(timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (!this.stopped && this.readyWorkers() < this.handles.length) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`cpu backend: ${this.handles.length - this.readyWorkers()} worker(s) did not start`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /**
   * Runs `parts[0]` on the caller through `local`, and `parts[1..]` on ready workers, then
   * returns when all are done. Parts beyond the ready workers run on the caller too, so a
   * job never waits for a worker that is still starting.
   */
  run(op: number, parts: readonly PartArgs[], local: (args: PartArgs) => void): void {
    const c = this.control;
    const posted: number[] = [];
    let next = 1;
    for (let w = 0; w < this.handles.length && next < parts.length && !this.stopped; w++) {
      const base = w * SLOT;
      if (Atomics.load(c, base + READY) !== 1) continue;
      const args = parts[next++];
      c[base + OP] = op;
      c[base + NARGS] = args.length;
      for (let i = 0; i < args.length; i++) c[base + ARGS + i] = args[i];
      const seq = (this.seq[w] + 1) | 0;
      this.seq[w] = seq;
      Atomics.store(c, base + SEQ, seq);
      Atomics.notify(c, base + SEQ);
      posted.push(w);
    }
    local(parts[0]);
    for (; next < parts.length; next++) local(parts[next]);
    let failed = false;
    for (const w of posted) {
      const base = w * SLOT;
      const seq = this.seq[w];
      for (;;) {
        const done = Atomics.load(c, base + DONE);
        if (done === seq) break;
        if (this.canBlock) Atomics.wait(c, base + DONE, done);
      }
      if (Atomics.exchange(c, base + FAILED, 0) !== 0) failed = true;
    }
    if (failed) throw new Error('cpu backend: a worker thread failed while running a kernel');
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
      this.handles[w].terminate();
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

/** Starts one worker on this platform, or null when there are no workers here. */
function spawn(init: { module: WebAssembly.Module; memory: WebAssembly.Memory; control: ArrayBufferLike; slot: number }): Handle | null {
  const wt = nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
  if (wt) {
    const worker = new wt.Worker(`${WORKER_BODY}\nghostflowWorker(require('node:worker_threads').workerData);`, {
      eval: true,
      workerData: init,
    });
    // A failed worker never sets READY, so it simply never gets work; keep the error quiet.
    worker.on('error', () => {});
    worker.unref();
    return { terminate: () => void worker.terminate().catch(() => {}) };
  }
  const g = globalThis as { Worker?: typeof Worker; crossOriginIsolated?: boolean; Blob?: typeof Blob; URL?: typeof URL };
  if (g.Worker && g.Blob && g.URL && g.crossOriginIsolated) {
    const url = g.URL.createObjectURL(
      new g.Blob([`${WORKER_BODY}\nself.onmessage = (e) => ghostflowWorker(e.data);`], { type: 'text/javascript' }),
    );
    const worker = new g.Worker(url);
    worker.postMessage(init);
    return { terminate: () => worker.terminate() };
  }
  return null;
}
