/**
 * The GEMM worker pool under failure, and thread-count validation. A worker that dies (its
 * thread exits mid-part, is terminated while idle, or hangs without a trace) must never block
 * the calling thread: the job completes on the caller with the right values and the worker
 * is marked dead. Thread counts that are not positive integers are refused naming the value;
 * counts above the core count are capped (with one warning), and workers start lazily.
 *
 * Faults are injected through node:worker_threads' Worker class (the pool creates its workers
 * through it), by rewriting the worker's program text (test/worker-injection.ts); the pool's
 * code is unchanged. A watchdog thread kills the test process if a job ever blocks, so a
 * regression fails this file instead of hanging the run.
 */
import os from 'node:os';
import { BackendError, type DataId, type TensorView, contiguousStrides, recurrentWorkspaceSize } from '@ghostflow/core';
import { describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend, getCpuThreads, setCpuThreads } from '../src/cpu-backend.js';
import { injectWorkerFaults } from './worker-injection.js';

const faults = injectWorkerFaults();
const { OriginalWorker, made } = faults;

const cores = os.availableParallelism();
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const js = createCpuBackend({ wasm: false });

/** Kills this process (failing the file) unless `fn` finishes within `ms`: a blocked thread cannot time out a test. */
async function withWatchdog<T>(ms: number, fn: () => T | Promise<T>): Promise<T> {
  const dog = new OriginalWorker(
    `setTimeout(() => { console.error('watchdog: the pool blocked the calling thread'); process.kill(${process.pid}, 'SIGKILL'); }, ${ms});`,
    {
      eval: true,
    },
  );
  try {
    return await fn();
  } finally {
    await dog.terminate();
  }
}

function view(be: CpuBackend, values: Float32Array, shape: number[]): TensorView {
  return { dataId: be.upload(values, 'float32'), dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 };
}

const N = 384;
const A = Float32Array.from({ length: N * N }, (_, i) => Math.sin(i * 0.37));
const B = Float32Array.from({ length: N * N }, (_, i) => Math.cos(i * 0.11));
const WANT = js.readSync?.(js.kernels.matmul(view(js, A, [N, N]), view(js, B, [N, N])), 'float32', N * N) as Float32Array;

/**
 * An N x N product (24 column panels: split over both threads), large enough that the
 * worker claims its part before the caller finishes its own, and the JS reference.
 */
function product(be: CpuBackend): { got: Float32Array; want: Float32Array } {
  const out: DataId = be.kernels.matmul(view(be, A, [N, N]), view(be, B, [N, N]));
  return { got: be.readSync?.(out, 'float32', N * N) as Float32Array, want: WANT };
}

/**
 * A @ B with A read with element strides (2, 2N) from a 2N² buffer (neither rows nor
 * columns contiguous): A is packed whole (split by rows over both threads) before the GEMM.
 */
const A2 = Float32Array.from({ length: 2 * N * N }, (_, i) => Math.sin(i * 0.23));
const WANT_T = js.readSync?.(
  js.kernels.matmul({ ...view(js, A2, [N, N]), strides: [2, 2 * N] }, view(js, B, [N, N])),
  'float32',
  N * N,
) as Float32Array;
function productT(be: CpuBackend): { got: Float32Array; want: Float32Array } {
  const out: DataId = be.kernels.matmul({ ...view(be, A2, [N, N]), strides: [2, 2 * N] }, view(be, B, [N, N]));
  return { got: be.readSync?.(out, 'float32', N * N) as Float32Array, want: WANT_T };
}

function expectClose(got: Float32Array, want: Float32Array): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  expect(worst).toBeLessThan(1e-4);
}

// Each case bounds itself (a watchdog per product, 25 s for the stall case); vitest's default
// 5 s per test is shorter than that and fails them on a loaded machine before their own checks.
describe.skipIf(cores < 2)('a dead GEMM worker never blocks the calling thread', { timeout: 90_000 }, () => {
  it('a worker whose thread exits in the middle of a part: the caller redoes the part', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    faults.inject = (code) => code.replace('fns[op](...args);', 'process.exit(1);');
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    expect(be.info).toMatchObject({ threads: 2, readyWorkers: 1 });
    // As below: under load the worker may claim no part of the first product.
    for (let k = 0; k < 40 && be.info.threads === 2; k++) {
      const { got, want } = await withWatchdog(30_000, () => product(be));
      expectClose(got, want);
    }
    expect(be.info).toMatchObject({ threads: 1, readyWorkers: 0 });
    // Later jobs no longer post to it.
    const again = await withWatchdog(30_000, () => product(be));
    expectClose(again.got, again.want);
    expect(warn.mock.calls.some((c) => String(c[0]).includes('worker thread died'))).toBe(true);
    be.dispose();
  });

  it('a worker that exits holding a claimed GEMM task: the caller runs that task', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    // The worker claims the next unit of the shared job as gemmTasks does (control block at
    // args[11]: word 0 the counter, word 1 the unit count, states from word 16; its part
    // index is args[12]) and exits before computing it: that tile of C stays unwritten
    // unless the caller redoes it.
    faults.inject = (code) =>
      code.replace(
        'fns[op](...args);',
        `if (op === 1) {
          const w = new Int32Array(init.memory.buffer);
          const ctl = args[11] >> 2;
          const u = Atomics.add(w, ctl, 1);
          if (u < w[ctl + 1]) Atomics.store(w, ctl + 16 + u, args[12] + 1);
          process.exit(1);
        }
        fns[op](...args);`,
      );
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    for (let k = 0; k < 40 && be.info.threads === 2; k++) {
      const { got, want } = await withWatchdog(30_000, () => product(be));
      expectClose(got, want);
    }
    expect(be.info).toMatchObject({ threads: 1, readyWorkers: 0 });
    be.dispose();
  });

  it('a worker whose thread exits in the middle of a packing part: the caller redoes it', async () => {
    // The death warning is printed once per process (the case above saw it).
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    faults.inject = (code) => code.replace('fns[op](...args);', 'if (op === 2) process.exit(1); fns[op](...args);');
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    for (let k = 0; k < 5 && be.info.threads === 2; k++) {
      const { got, want } = await withWatchdog(30_000, () => productT(be));
      expectClose(got, want);
    }
    expect(be.info).toMatchObject({ threads: 1, readyWorkers: 0 });
    const again = await withWatchdog(30_000, () => productT(be));
    expectClose(again.got, again.want);
    be.dispose();
  });

  it('a worker terminated while idle, before the event loop hears of it', async () => {
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    const worker = made[made.length - 1];
    const stopping = worker.terminate();
    // Synchronously, so no 'exit' event can have run: the part is taken back or redone.
    const first = await withWatchdog(30_000, () => product(be));
    expectClose(first.got, first.want);
    await stopping;
    const second = await withWatchdog(30_000, () => product(be));
    expectClose(second.got, second.want);
    expect(be.info.threads).toBe(1);
    be.dispose();
  });

  it('a worker that never returns from a part (killed without a trace): stopped after a stall, part redone', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    faults.inject = (code) => code.replace('fns[op](...args);', 'for (;;) {}');
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    const t0 = Date.now();
    // On a loaded machine the caller can finish every part before the worker claims one; each
    // such product is still exact, and the first part the worker does claim never returns.
    for (let k = 0; k < 40 && be.info.threads === 2; k++) {
      const { got, want } = await withWatchdog(30_000, () => product(be));
      expectClose(got, want);
    }
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(be.info.threads).toBe(1);
    be.dispose();
  });
});

/** Fused attention over 48 (batch, head) entries on `be`: [out, weights]. */
function attentionEntries(be: CpuBackend): Float32Array[] {
  const [Bh, L, E] = [48, 64, 16];
  const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));
  const f = be.fused as Required<CpuBackend['fused']>;
  const [o, w] = f.attention(
    view(be, wave(Bh * L * E, 0.37), [Bh, L, E]),
    view(be, wave(Bh * L * E, 0.11), [Bh, L, E]),
    view(be, wave(Bh * L * E, 0.23), [Bh, L, E]),
    null,
    { scale: 0.25, causal: true },
  );
  return [be.readSync?.(o, 'float32', Bh * L * E) as Float32Array, be.readSync?.(w, 'float32', Bh * L * L) as Float32Array];
}
const ATTENTION_WANT = attentionEntries(js);

describe.skipIf(cores < 2)('a dead attention worker never loses entries', { timeout: 90_000 }, () => {
  it('a worker that claims every entry left and exits: the caller computes them after the job', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    // The worker spends the claim counter (word 24 of the operand block) and dies: every entry
    // the caller had not claimed yet is claimed and never finished.
    faults.inject = (code) =>
      code.replace(
        'fns[op](...args);',
        'if (op === 3) { Atomics.store(new Int32Array(init.memory.buffer), (args[0] >> 2) + 24, 1 << 30); process.exit(1); } fns[op](...args);',
      );
    const be = createCpuBackend({ threads: 2, thresholds: zero });
    await be.whenThreadsReady();
    // Under load the worker may wake after the caller claimed every entry (exact too).
    for (let k = 0; k < 40 && be.info.threads === 2; k++) {
      const got = await withWatchdog(30_000, () => attentionEntries(be));
      got.forEach((g, i) => expectClose(g, ATTENTION_WANT[i]));
    }
    expect(be.info.threads).toBe(1);
    const again = await withWatchdog(30_000, () => attentionEntries(be));
    again.forEach((g, i) => expectClose(g, ATTENTION_WANT[i]));
    be.dispose();
  });
});

/**
 * Values of an LSTM sequence (H 72: a padded tail block) with a packed batch on `be`, forward
 * and backward (both time loops are threaded), and of a bidirectional pair of such sequences.
 */
function lstmSequence(be: CpuBackend, pairFirst = false): Float32Array[] {
  const H = 72;
  const batchSizes = [6, 6, 5, 5, 3, 3, 2, 1];
  const N = batchSizes.reduce((a, b) => a + b, 0);
  const B = batchSizes[0];
  const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i * f));
  const f = be.fused as Required<CpuBackend['fused']>;
  const wHh = view(
    be,
    wave(4 * H * H, 0.07).map((v) => v / 4),
    [4 * H, H],
  );
  const read = (id: DataId | null, n: number) => be.readSync?.(id as DataId, 'float32', n) as Float32Array;
  // Both directions at once (the reverse one's whole time loop on the worker).
  const dir = (f0: number) => ({
    gi: view(be, wave(N * 4 * H, f0), [N, 4 * H]),
    h0: view(be, wave(B * H, f0 + 0.01), [B, H]),
    c0: view(be, wave(B * H, f0 + 0.02), [B, H]),
    wHh,
    bHh: null,
    wHr: null,
  });
  const runPair = () =>
    f
      .recurrentSequenceBidirectional(dir(0.37), dir(0.19), { mode: 'LSTM', batchSizes, hiddenSize: H, train: false })
      .flatMap(([py, ph, pc]) => [read(py, N * H), read(ph, B * H), read(pc, B * H)]);
  // With `pairFirst` the pair meets a fault of the worker first.
  const early = pairFirst ? runPair() : null;
  const attrs = { mode: 'LSTM', batchSizes, hiddenSize: H, reverse: false, train: true } as const;
  const [y, hN, cN, ws] = f.recurrentSequence(
    view(be, wave(N * 4 * H, 0.31), [N, 4 * H]),
    view(be, wave(B * H, 0.17), [B, H]),
    view(be, wave(B * H, 0.23), [B, H]),
    wHh,
    view(be, wave(4 * H, 0.5), [4 * H]),
    null,
    attrs,
  );
  const wsSize = recurrentWorkspaceSize('LSTM', N, H, H);
  const grads = f.recurrentSequenceBackward(
    wHh,
    null,
    { dataId: y, dtype: 'float32', shape: [N, H], strides: [H, 1], offset: 0 },
    { dataId: ws as DataId, dtype: 'float32', shape: [wsSize], strides: [1], offset: 0 },
    view(be, wave(N * H, 0.13), [N, H]),
    view(be, wave(B * H, 0.41), [B, H]),
    view(be, wave(B * H, 0.29), [B, H]),
    { ...attrs, hasBias: true },
  );
  const sizes = [N * 4 * H, B * H, B * H, 4 * H * H, 4 * H];
  const both = early ?? runPair();
  return [read(y, N * H), read(hN, B * H), read(cN, B * H), ...sizes.map((n, i) => read(grads[i], n)), ...both];
}
const LSTM_WANT = lstmSequence(js);

/** Runs the sequence on a fresh 2-thread backend whose worker runs `inject`ed code, until the worker is gone. */
async function sequenceWithFault(injected: (code: string) => string, pairFirst = false): Promise<void> {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  faults.inject = injected;
  const be = createCpuBackend({ threads: 2, thresholds: zero });
  await be.whenThreadsReady();
  expect(be.info).toMatchObject({ threads: 2, readyWorkers: 1 });
  // Under load the caller may take a part back before the worker claims it (exact too).
  for (let k = 0; k < 5 && be.info.threads === 2; k++) {
    const got = await withWatchdog(30_000, () => lstmSequence(be, pairFirst));
    got.forEach((g, i) => expectClose(g, LSTM_WANT[i]));
  }
  expect(be.info.threads).toBe(1);
  const again = await withWatchdog(30_000, () => lstmSequence(be));
  again.forEach((g, i) => expectClose(g, LSTM_WANT[i]));
  be.dispose();
}

describe.skipIf(cores < 2)(
  'a dead worker never blocks the threaded recurrent time loops (forward, backward, both directions at once)',
  { timeout: 60_000 },
  () => {
    it('a worker that exits as it claims its share: the caller runs every step of it', async () => {
      await sequenceWithFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'process.exit(1);'));
    });

    it('a worker that exits in the middle of a sequence: its unfinished phase is redone on the caller', async () => {
      await sequenceWithFault((code) => code.replace('if (r < 0) return;', 'if (r < 0 || k > 0) process.exit(1);'));
    });

    it('a worker that never returns (killed without a trace): stopped after a stall, its steps redone', async () => {
      await sequenceWithFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'for (;;) {}'));
    });

    it('both directions at once, a worker that exits as it claims the reverse direction: the caller runs it', async () => {
      await sequenceWithFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'process.exit(1);'), true);
    });

    it('both directions at once, a worker that never returns: stopped after a stall, the reverse direction redone', async () => {
      await sequenceWithFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'for (;;) {}'), true);
    });

    it('with a live worker the threaded loop equals the reference', async () => {
      const be = createCpuBackend({ threads: 2, thresholds: zero });
      await be.whenThreadsReady();
      for (let k = 0; k < 3; k++) lstmSequence(be).forEach((g, i) => expectClose(g, LSTM_WANT[i]));
      expect(be.info.threads).toBe(2);
      be.dispose();
    });
  },
);

describe('thread counts', () => {
  it('createCpuBackend refuses threads 0, -1, NaN, Infinity and 1.5, naming the value', () => {
    for (const threads of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      expect(() => createCpuBackend({ threads })).toThrow(BackendError);
      expect(() => createCpuBackend({ threads })).toThrow(`got ${threads}`);
    }
    expect(() => setCpuThreads(0)).toThrow(BackendError);
    expect(() => createCpuBackend({ threads: 2 }).setThreads(-3)).toThrow('got -3');
  });

  it('a bad GHOSTFLOW_CPU_THREADS is refused, naming the value', () => {
    const before = process.env.GHOSTFLOW_CPU_THREADS;
    try {
      for (const bad of ['abc', '0', '-2', '2.5', 'Infinity']) {
        process.env.GHOSTFLOW_CPU_THREADS = bad;
        expect(() => createCpuBackend()).toThrow(BackendError);
        expect(() => getCpuThreads()).toThrow(`GHOSTFLOW_CPU_THREADS: expected a positive integer thread count, got '${bad}'`);
      }
      process.env.GHOSTFLOW_CPU_THREADS = '1';
      expect(getCpuThreads()).toBe(1);
    } finally {
      if (before === undefined) Reflect.deleteProperty(process.env, 'GHOSTFLOW_CPU_THREADS');
      else process.env.GHOSTFLOW_CPU_THREADS = before;
    }
  });

  it('setCpuThreads(1000) caps at the core count, warns once and starts no worker synchronously', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const be = createCpuBackend({ thresholds: zero });
    const count = made.length;
    setCpuThreads(1000);
    expect(getCpuThreads()).toBe(cores);
    expect(be.info.threads).toBe(cores);
    const big = createCpuBackend({ threads: 1000, thresholds: zero });
    expect(big.info.threads).toBe(cores);
    expect(made.length).toBe(count);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('1000 threads requested'))).toHaveLength(1);
    // The workers start when work asks for them.
    await big.whenThreadsReady();
    expect(made.length).toBe(count + cores - 1);
    for (const b of [be, big]) b.dispose();
    setCpuThreads(cores);
  });

  it.skipIf(cores < 2)('row and elementwise kernels below threadMinElements start no worker; a large one does', () => {
    // Default thresholds (threadMinElements 64Ki); no GEMM runs, so only these kernels could start the pool.
    const be = createCpuBackend({ threads: 2 });
    const count = made.length;
    const small = 4096;
    const x = view(be, A.subarray(0, small), [64, 64]);
    be.disposeData(be.kernels.unary(x, { op: 'exp' }));
    be.disposeData(be.kernels.binary(x, x, { op: 'add' }));
    be.disposeData(be.kernels.reduce(x, { op: 'sum', axes: [1] }));
    be.disposeData((be.fused.softmax as NonNullable<CpuBackend['fused']['softmax']>)(x, { axis: 1 }));
    for (const id of (be.fused.layerNorm as NonNullable<CpuBackend['fused']['layerNorm']>)(x, null, null, {
      normalizedSize: 64,
      eps: 1e-5,
    }))
      be.disposeData(id);
    expect(made.length).toBe(count);
    be.disposeData((be.fused.softmax as NonNullable<CpuBackend['fused']['softmax']>)(view(be, A, [N, N]), { axis: 1 }));
    expect(made.length).toBe(count + 1);
    be.dispose();
  });
});

describe.skipIf(cores < 2)('a part the caller took back never runs as the next job', { timeout: 90_000 }, () => {
  it("a worker that lost its claim to the caller runs the next job's kernel on the next job's arguments", async () => {
    // The worker stalls once, between waking for a job and claiming it. The caller takes that
    // small unary part back and at once posts a large binary job, whose own share keeps it busy
    // past the stall: the worker then claims the binary part. It must run binaryND on it; a
    // worker that read the op before claiming ran unary on binaryND's arguments (out of
    // bounds, or wrong values).
    faults.inject = (code) =>
      code.replace(
        'if (Atomics.compareExchange(c, base + ',
        'if (!globalThis.stalled) { globalThis.stalled = true; const t0 = Date.now(); while (Date.now() - t0 < 40) {} }\n      if (Atomics.compareExchange(c, base + ',
      );
    const be = createCpuBackend({ threads: 2, thresholds: { ...zero, threadMinElements: 0 } });
    await be.whenThreadsReady();
    const small = view(be, A.subarray(0, 4096), [64, 64]);
    const big = 1 << 22;
    const xs = Float32Array.from({ length: big }, (_, i) => Math.sin(i * 0.001));
    const ys = Float32Array.from({ length: big }, (_, i) => Math.cos(i * 0.003));
    const x = view(be, xs, [big]);
    const y = view(be, ys, [big]);
    const e = be.kernels.unary(small, { op: 'neg' });
    const sum = be.kernels.binary(x, y, { op: 'add' });
    const got = be.readSync?.(sum, 'float32', big) as Float32Array;
    let worst = 0;
    for (let i = 0; i < big; i++) worst = Math.max(worst, Math.abs(got[i] - Math.fround(xs[i] + ys[i])));
    expect(worst).toBe(0);
    const neg = be.readSync?.(e, 'float32', 4096) as Float32Array;
    expect(Array.from(neg.subarray(0, 4))).toEqual(Array.from(A.subarray(0, 4)).map((v) => -v));
    for (const id of [e, sum]) be.disposeData(id);
    be.dispose();
  });
});

describe.skipIf(cores < 2)('a shared GEMM does not depend on how its tasks fell to the threads', { timeout: 90_000 }, () => {
  it('two threads give the one-thread values bit for bit, run after run (row blocks, batches, bias, transposed A)', async () => {
    const one = createCpuBackend({ threads: 1, thresholds: zero });
    const two = createCpuBackend({ threads: 2, thresholds: zero });
    await two.whenThreadsReady();
    const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));
    // [m, k, n, batch]: 8 panels of 770 rows (cut into row blocks), a batch of odd sizes, a
    // transposed A (packed first), and the linear layer (bias seeds the accumulators).
    const runs: ((be: CpuBackend) => { id: DataId; size: number })[] = [
      (be) => ({
        id: be.kernels.matmul(view(be, wave(770 * 96, 0.37), [770, 96]), view(be, wave(96 * 128, 0.11), [96, 128])),
        size: 770 * 128,
      }),
      (be) => ({
        id: be.kernels.matmul(view(be, wave(3 * 131 * 45, 0.21), [3, 131, 45]), view(be, wave(3 * 45 * 53, 0.07), [3, 45, 53])),
        size: 3 * 131 * 53,
      }),
      (be) => ({
        id: be.kernels.matmul(
          { ...view(be, wave(300 * 200, 0.13), [300, 200]), strides: [1, 300] },
          view(be, wave(300 * 70, 0.29), [300, 70]),
        ),
        size: 200 * 70,
      }),
      (be) => ({
        id: (be.fused.linear as NonNullable<CpuBackend['fused']['linear']>)(
          view(be, wave(513 * 64, 0.17), [513, 64]),
          view(be, wave(200 * 64, 0.05), [200, 64]),
          view(be, wave(200, 0.9), [200]),
        ),
        size: 513 * 200,
      }),
    ];
    for (const make of runs) {
      const ref = make(one);
      const want = one.readSync?.(ref.id, 'float32', ref.size) as Float32Array;
      for (let r = 0; r < 8; r++) {
        const out = make(two);
        const got = two.readSync?.(out.id, 'float32', out.size) as Float32Array;
        let differ = 0;
        for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) differ++;
        expect(differ).toBe(0);
        two.disposeData(out.id);
      }
    }
    expect(two.info.threads).toBe(2);
    one.dispose();
    two.dispose();
  });
});
