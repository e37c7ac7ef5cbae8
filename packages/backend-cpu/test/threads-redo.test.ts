/**
 * A strided elementwise part that a worker left half-walked is redone exactly on the
 * caller: the part's odometer words (its only state in wasm memory) are reset by the kernel
 * itself, not trusted to still be the zeros the caller wrote. The fault is injected into
 * the worker's program: it claims a `where` / compare / binary part, advances the part's
 * odometer as an interrupted walk leaves it, and exits (test/worker-injection.ts).
 */
import os from 'node:os';
import { type BinaryOp, type DType, type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import { describe, expect, it, vi } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { POOL_OP } from '../src/wasm/pool.js';
import { injectWorkerFaults } from './worker-injection.js';

const faults = injectWorkerFaults();

const cores = os.availableParallelism();
const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0, threadMinElements: 0 };
const js = createCpuBackend({ wasm: false });

/**
 * The worker program with op `op` replaced by: set the part's first odometer word to 1 (the
 * state after one outer step), then exit. `rankArg`/`metaArg` are the part's argument
 * positions of rank and meta; `odometerAt` is where the odometer starts in meta (in words,
 * as a multiple of the rank).
 */
function dieMidWalk(op: number, rankArg: number, metaArg: number, odometerAt: number): (code: string) => string {
  return (code) =>
    code.replace(
      'fns[op](...args);',
      `if (op === ${op}) { const w = new Int32Array(init.memory.buffer); w[(args[${metaArg}] >> 2) + ${odometerAt} * args[${rankArg}]] = 1; process.exit(1); } fns[op](...args);`,
    );
}

const [R, C] = [96, 400];
const values = (seed: number): Float32Array => Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 0.37 + seed));
const X = values(1);
const ROW = Float32Array.from({ length: C }, (_, i) => Math.cos(i * 0.11));
const COND = Uint8Array.from({ length: R * C }, (_, i) => (X[i] > 0 ? 1 : 0));

function view(be: CpuBackend, data: Float32Array | Uint8Array, dtype: DType, strides: number[]): TensorView {
  return { dataId: be.upload(data, dtype), dtype, shape: [R, C], strides, offset: 0 };
}

/**
 * Outputs of the running test, freed when it ends: a block freed at once could come back as
 * the next call's output still holding the right values, and a part that never ran again
 * would go unnoticed.
 */
const held: [CpuBackend, DataId][] = [];

/** Runs the kernel named by `kind` on a rank-2 layout (a row broadcast keeps it from collapsing). */
function run(be: CpuBackend, kind: 'where' | 'gt' | 'add'): number[] {
  const x = view(be, X, 'float32', [C, 1]);
  const row = view(be, ROW, 'float32', [0, 1]);
  let out: DataId;
  let dtype: DType = 'float32';
  if (kind === 'where') out = be.kernels.where(view(be, COND, 'bool', [C, 1]), x, row);
  else {
    out = be.kernels.binary(x, row, { op: kind as BinaryOp });
    if (kind === 'gt') dtype = 'bool';
  }
  held.push([be, out]);
  return Array.from((be.readSync as NonNullable<CpuBackend['readSync']>)(out, dtype, sizeOf([R, C])));
}

const CASES: ['where' | 'gt' | 'add', number, number, number, number][] = [
  // kind, pool op, rank argument, meta argument, odometer offset in ranks
  ['where', POOL_OP.whereND, 4, 5, 4],
  ['gt', POOL_OP.compareND, 5, 6, 3],
  ['add', POOL_OP.binaryND, 4, 5, 3],
];

describe.skipIf(cores < 2)('a worker that dies in the middle of an elementwise part', { timeout: 90_000 }, () => {
  for (const [kind, op, rankArg, metaArg, at] of CASES) {
    it(`${kind}: the caller redoes the part from its start`, async () => {
      vi.spyOn(console, 'warn').mockImplementation(() => {});
      faults.inject = dieMidWalk(op, rankArg, metaArg, at);
      const be = createCpuBackend({ threads: 2, thresholds: zero });
      await be.whenThreadsReady();
      const want = run(js, kind);
      // Under load the worker may claim no part of a call (the caller takes it back): repeat
      // until it has claimed one and died.
      for (let k = 0; k < 200 && be.info.threads === 2; k++) expect(run(be, kind)).toEqual(want);
      expect(be.info).toMatchObject({ threads: 1, readyWorkers: 0 });
      for (const [b, id] of held.splice(0)) b.disposeData(id);
      be.dispose();
    });
  }
});
