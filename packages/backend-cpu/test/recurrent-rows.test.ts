/**
 * The wasm forward time loop split by batch rows (each row group's whole loop on its own
 * thread, no meeting per step) and the forward cells' activations (assembly/recurrent.ts
 * R.sigmoid / R.tanh): values equal the JavaScript reference kernels (float64 exp / tanh)
 * and, bit for bit, the one-thread loop, in inference and training, over odd hidden sizes
 * (vector tails), uneven row groups, packed batch sizes, the reverse direction (whose batch
 * grows), a projection and saturating gate inputs. A worker that dies or hangs while it
 * owns a row group never blocks the call: the caller runs the group's remaining steps.
 *
 * Faults are injected with test/worker-injection.ts (the pool's Worker class rewrites the
 * worker's program text before the pool starts it).
 */
import os from 'node:os';
import { type RecurrentSequenceAttrs, recurrentWorkspaceSize } from '@ghostflow/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { expectClose, expectIdentical, read, recurrentOperands } from './recurrent-io.js';
import { injectWorkerFaults } from './worker-injection.js';

const faults = injectWorkerFaults();
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const js = createCpuBackend({ wasm: false });
const one = createCpuBackend({ threads: 1, thresholds: zero });
const two = createCpuBackend({ threads: 2, thresholds: zero });

afterAll(() => {
  for (const b of [js, one, two]) b.dispose();
});

type Setup = {
  mode: RecurrentSequenceAttrs['mode'];
  H: number;
  P: number;
  batchSizes: number[];
  reverse: boolean;
  train: boolean;
  /** Scale of the input projections (large: saturated gates). */
  giScale: number;
};

/** One forward call on `be`: y, hN, cN and (train) the workspace. */
function forward(be: CpuBackend, s: Setup): Float32Array[] {
  const { H, P, batchSizes } = s;
  const { gi, h0, c0, wHh, bHh, wHr, N, B } = recurrentOperands(be, s, 11, s.giScale);
  const inputs = [gi, h0, c0, wHh, bHh, wHr];
  const attrs: RecurrentSequenceAttrs = { mode: s.mode, batchSizes, hiddenSize: H, reverse: s.reverse, train: s.train };
  const f = be.fused as Required<CpuBackend['fused']>;
  const [y, hN, cN, ws] = f.recurrentSequence(gi, h0, c0, wHh, bHh, wHr, attrs);
  const wsSize = recurrentWorkspaceSize(s.mode, N, H, P);
  const out = [read(be, y, N * P), read(be, hN, B * P), read(be, cN, B * H), read(be, ws, s.train ? wsSize : 0)];
  for (const v of inputs) if (v) be.disposeData(v.dataId);
  return out;
}

const NAMES = ['y', 'hN', 'cN', 'workspace'];
const SETUPS: Setup[] = [
  // Batch 8 and more: two row groups (9 rows: 4 and 5).
  { mode: 'LSTM', H: 67, P: 67, batchSizes: [9, 9, 7, 4, 4, 1], reverse: false, train: false, giScale: 1 },
  { mode: 'LSTM', H: 67, P: 67, batchSizes: [9, 9, 7, 4, 4, 1], reverse: true, train: true, giScale: 1 },
  { mode: 'LSTM', H: 45, P: 19, batchSizes: [12, 11, 11, 6, 2], reverse: true, train: false, giScale: 1 },
  { mode: 'LSTM', H: 45, P: 19, batchSizes: [12, 11, 11, 6, 2], reverse: false, train: true, giScale: 1 },
  { mode: 'GRU', H: 93, P: 93, batchSizes: [13, 13, 10, 3, 1], reverse: false, train: false, giScale: 1 },
  { mode: 'GRU', H: 93, P: 93, batchSizes: [13, 13, 10, 3, 1], reverse: true, train: true, giScale: 1 },
  { mode: 'GRU', H: 35, P: 35, batchSizes: [8, 8, 8], reverse: false, train: false, giScale: 1 },
  { mode: 'RNN_TANH', H: 33, P: 33, batchSizes: [10, 7, 1], reverse: true, train: false, giScale: 1 },
  { mode: 'RNN_RELU', H: 130, P: 130, batchSizes: [8, 8, 8], reverse: false, train: false, giScale: 1 },
  // The bench's sizes (whole 16-unit blocks, no tails), a few steps.
  { mode: 'LSTM', H: 256, P: 256, batchSizes: [32, 32, 32], reverse: false, train: false, giScale: 1 },
  { mode: 'GRU', H: 256, P: 256, batchSizes: [32, 32, 32], reverse: false, train: false, giScale: 1 },
  // Gate inputs up to ±60: saturated sigmoid and tanh (exactly 0 or 1 apart from float rounding).
  { mode: 'LSTM', H: 51, P: 51, batchSizes: [10, 10, 9], reverse: false, train: false, giScale: 60 },
  { mode: 'GRU', H: 51, P: 51, batchSizes: [10, 10, 9], reverse: true, train: false, giScale: 60 },
  // Below two row groups: the loop split by units (or one thread).
  { mode: 'LSTM', H: 72, P: 72, batchSizes: [6, 6, 5, 3, 3, 1], reverse: true, train: false, giScale: 1 },
  { mode: 'GRU', H: 40, P: 40, batchSizes: [7, 6, 6, 2, 1], reverse: false, train: false, giScale: 3 },
];

describe('forward time loop by row groups: the JavaScript reference, and the one-thread loop bit for bit', () => {
  for (const s of SETUPS) {
    const what = `${s.mode} H ${s.H} P ${s.P} batch sizes [${s.batchSizes}]${s.reverse ? ' reverse' : ''}${s.train ? ' train' : ''}${s.giScale > 1 ? ` gates x${s.giScale}` : ''}`;
    it(what, async () => {
      await two.whenThreadsReady();
      const want = forward(js, s);
      const single = forward(one, s);
      single.forEach((g, i) => expectClose(g, want[i], 2e-5, NAMES[i]));
      forward(two, s).forEach((g, i) => expectIdentical(g, single[i], NAMES[i]));
    });
  }
});

/** Kills this process (failing the file) unless `fn` finishes within `ms`: a blocked thread cannot time out a test. */
async function withWatchdog<T>(ms: number, fn: () => T | Promise<T>): Promise<T> {
  const dog = new faults.OriginalWorker(
    `setTimeout(() => { console.error('watchdog: a row group blocked the calling thread'); process.kill(${process.pid}, 'SIGKILL'); }, ${ms});`,
    { eval: true },
  );
  try {
    return await fn();
  } finally {
    await dog.terminate();
  }
}

const FAULT: Setup = { mode: 'LSTM', H: 40, P: 40, batchSizes: [10, 10, 8, 8, 5, 2], reverse: false, train: true, giScale: 1 };

/** The row-split forward on a fresh 2-thread backend whose worker runs `injected` code, until the worker is gone. */
async function rowsWithFault(injected: (code: string) => string): Promise<void> {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  const want = forward(one, FAULT);
  faults.inject = injected;
  const be = createCpuBackend({ threads: 2, thresholds: zero });
  await be.whenThreadsReady();
  expect(be.info).toMatchObject({ threads: 2, readyWorkers: 1 });
  // Under load the caller may take a group back before the worker claims it (exact too).
  for (let k = 0; k < 5 && be.info.threads === 2; k++) {
    const got = await withWatchdog(30_000, () => forward(be, FAULT));
    got.forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
  }
  expect(be.info.threads).toBe(1);
  forward(be, FAULT).forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
  be.dispose();
}

describe.skipIf(os.availableParallelism() < 2)('a dead worker never blocks a forward split by rows', { timeout: 60_000 }, () => {
  it('a worker that exits as it claims its row group: the caller runs the group', async () => {
    await rowsWithFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'process.exit(1);'));
  });

  it('a worker that exits after a step of its group: the caller runs the steps left', async () => {
    await rowsWithFault((code) =>
      code.replace(
        'const r = ex.recurrentWorker(a, slot, k);',
        'ex.recurrentPhase(a, 0, 0, words[(a >> 2) + 15]); Atomics.store(words, words[(a >> 2) + 20] >> 2, 1); process.exit(1);',
      ),
    );
  });

  it('a worker that never returns: stopped after a stall, its group redone', async () => {
    await rowsWithFault((code) => code.replace('const r = ex.recurrentWorker(a, slot, k);', 'for (;;) {}'));
  });
});
