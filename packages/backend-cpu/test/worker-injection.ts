/**
 * Fault injection into the worker pool, shared by the thread tests (threads.test.ts,
 * threads-redo.test.ts). The pool creates its workers through node:worker_threads' Worker
 * class; {@link injectWorkerFaults} replaces that class, for the test file that calls it,
 * with one that rewrites the worker's program text and records every worker made. The
 * pool's code is unchanged.
 */
import { createRequire } from 'node:module';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { afterAll, afterEach, vi } from 'vitest';

/** What a test file holds of the patched Worker class. */
export interface WorkerFaults {
  /** The class before the patch (a thread made with it is neither rewritten nor recorded). */
  readonly OriginalWorker: typeof NodeWorker;
  /** Every worker made since the patch (the pool's and nobody else's). */
  readonly made: NodeWorker[];
  /** Rewrites the program of the next workers (the fault), or null; reset after each test. */
  inject: ((code: string) => string) | null;
}

/**
 * Patches the Worker class for the calling test file (call it at the file's top level):
 * restored after the file's tests; after each test the fault is cleared and vi's spies are
 * restored (the tests silence the pool's dead-worker warnings with them).
 */
export function injectWorkerFaults(): WorkerFaults {
  const wt = createRequire(import.meta.url)('node:worker_threads') as { Worker: typeof NodeWorker };
  const OriginalWorker = wt.Worker;
  const faults: WorkerFaults = { OriginalWorker, made: [], inject: null };
  wt.Worker = class InjectingWorker extends OriginalWorker {
    constructor(code: string | URL, options?: ConstructorParameters<typeof NodeWorker>[1]) {
      super(typeof code === 'string' && faults.inject ? faults.inject(code) : code, options);
      faults.made.push(this as NodeWorker);
    }
  } as typeof NodeWorker;
  afterAll(() => {
    wt.Worker = OriginalWorker;
  });
  afterEach(() => {
    faults.inject = null;
    vi.restoreAllMocks();
  });
  return faults;
}
