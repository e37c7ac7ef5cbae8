/**
 * The wasm backward time loop split by batch rows (each row group's dh/dc propagation and
 * gate gradients on its own thread end to end, no meeting per step; the weight gradients one
 * GEMM over every row after): every output (dGi, dH0, dC0, dW_hh, db_hh, dW_hr) equals the
 * JavaScript reference kernels and, bit for bit, the one-thread loop, over odd hidden sizes
 * (vector tails), uneven row groups, packed batch sizes, both directions (the forward
 * direction's backward has a growing batch), a projection and every mode. A worker that
 * dies or hangs while it owns a row group of the backward never blocks the call: the caller
 * runs the group's remaining phases.
 */
import os from 'node:os';
import type { RecurrentSequenceAttrs } from '@ghostflow/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { expectClose, expectIdentical, forwardBackward } from './recurrent-io.js';
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
  /** Whether the backward gets a dCN (LSTM). */
  dcN: boolean;
};

/** Forward (train) then backward on `be`: the backward's outputs, read back. */
const backward = (be: CpuBackend, s: Setup): Float32Array[] => forwardBackward(be, s, 21).slice(3);

const NAMES = ['dGi', 'dH0', 'dC0', 'dWhh', 'dBhh', 'dWhr'];
const SETUPS: Setup[] = [
  // Two row groups from 8 rows on (9 rows: 4 and 5; 13: 6 and 7).
  { mode: 'LSTM', H: 67, P: 67, batchSizes: [9, 9, 7, 4, 4, 1], reverse: false, dcN: true },
  { mode: 'LSTM', H: 67, P: 67, batchSizes: [9, 9, 7, 4, 4, 1], reverse: true, dcN: true },
  { mode: 'LSTM', H: 45, P: 19, batchSizes: [12, 11, 11, 6, 2], reverse: false, dcN: true },
  { mode: 'LSTM', H: 45, P: 19, batchSizes: [12, 11, 11, 6, 2], reverse: true, dcN: false },
  { mode: 'LSTM', H: 33, P: 33, batchSizes: [13, 5, 5, 4], reverse: false, dcN: false },
  { mode: 'GRU', H: 93, P: 93, batchSizes: [13, 13, 10, 3, 1], reverse: false, dcN: false },
  { mode: 'GRU', H: 93, P: 93, batchSizes: [13, 13, 10, 3, 1], reverse: true, dcN: false },
  { mode: 'GRU', H: 35, P: 35, batchSizes: [8, 8, 8], reverse: false, dcN: false },
  { mode: 'RNN_TANH', H: 33, P: 33, batchSizes: [10, 7, 1], reverse: true, dcN: false },
  { mode: 'RNN_TANH', H: 21, P: 21, batchSizes: [11, 9, 9, 2], reverse: false, dcN: false },
  { mode: 'RNN_RELU', H: 130, P: 130, batchSizes: [8, 8, 8], reverse: false, dcN: false },
  { mode: 'RNN_RELU', H: 17, P: 17, batchSizes: [9, 6, 2], reverse: true, dcN: false },
  // The bench's sizes (whole 16-unit blocks, no tails), a few steps.
  { mode: 'LSTM', H: 256, P: 256, batchSizes: [32, 32, 32], reverse: false, dcN: true },
  { mode: 'GRU', H: 256, P: 256, batchSizes: [32, 32, 32], reverse: false, dcN: false },
  // Below two row groups: the loop split by units (or one thread).
  { mode: 'LSTM', H: 72, P: 72, batchSizes: [6, 6, 5, 3, 3, 1], reverse: true, dcN: true },
  { mode: 'GRU', H: 40, P: 40, batchSizes: [7, 6, 6, 2, 1], reverse: false, dcN: false },
];

describe('backward time loop by row groups: the JavaScript reference, and the one-thread loop bit for bit', () => {
  for (const s of SETUPS) {
    const what = `${s.mode} H ${s.H} P ${s.P} batch sizes [${s.batchSizes}]${s.reverse ? ' reverse' : ''}${s.dcN ? ' dCN' : ''}`;
    it(what, async () => {
      await two.whenThreadsReady();
      const want = backward(js, s);
      const single = backward(one, s);
      single.forEach((g, i) => expectClose(g, want[i], 2e-5, NAMES[i]));
      backward(two, s).forEach((g, i) => expectIdentical(g, single[i], NAMES[i]));
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

const FAULT: Setup = { mode: 'LSTM', H: 40, P: 40, batchSizes: [10, 10, 8, 8, 5, 2], reverse: false, dcN: true };
/** The worker's recurrent entry (pool.ts); `backwardOnly` guards a fault to backward blocks (kind word 23 is 1). */
const ENTRY = 'const r = ex.recurrentWorker(a, slot, k);';
const backwardOnly = (fault: string) => (code: string) => code.replace(ENTRY, `if (words[(a >> 2) + 23] === 1) { ${fault} } ${ENTRY}`);

/** The row-split backward on a fresh 2-thread backend whose worker runs `injected` code, until the worker is gone. */
async function rowsWithFault(injected: (code: string) => string): Promise<void> {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  const want = backward(one, FAULT);
  faults.inject = injected;
  const be = createCpuBackend({ threads: 2, thresholds: zero });
  await be.whenThreadsReady();
  expect(be.info).toMatchObject({ threads: 2, readyWorkers: 1 });
  // Under load the caller may take a group back before the worker claims it (exact too).
  for (let k = 0; k < 5 && be.info.threads === 2; k++) {
    const got = await withWatchdog(30_000, () => backward(be, FAULT));
    got.forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
  }
  expect(be.info.threads).toBe(1);
  backward(be, FAULT).forEach((g, i) => expectIdentical(g, want[i], NAMES[i]));
  be.dispose();
}

describe.skipIf(os.availableParallelism() < 2)('a dead worker never blocks a backward split by rows', { timeout: 60_000 }, () => {
  it('a worker that exits as it claims its backward row group: the caller runs the group', async () => {
    await rowsWithFault(backwardOnly('process.exit(1);'));
  });

  it('a worker that exits in the middle of a backward step (after cell, GEMM, cell): the caller runs the phases left', async () => {
    await rowsWithFault(
      backwardOnly(
        'for (let s = 0; s < 3; s++) ex.recurrentPhase(a, s, 0, words[(a >> 2) + 15]); Atomics.store(words, words[(a >> 2) + 20] >> 2, 3); process.exit(1);',
      ),
    );
  });

  it('a worker that never returns from a backward row group: stopped after a stall, its group redone', async () => {
    await rowsWithFault(backwardOnly('for (;;) {}'));
  });
});
