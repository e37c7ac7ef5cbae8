/**
 * Out-of-range indices must fail loudly on every backend, synchronous or not. On a backend
 * with `readSync` core checks indices before the kernel runs and the op throws at once. On
 * an asynchronous backend the gather/scatter kernel must skip the element (gather gives 0,
 * scatter writes nothing: no NaN, no write into the next row), record the fault, and hand
 * it to core through `Backend.takeIndexFault()`, so that the next read or `sync()` throws
 * an `IndexError` naming the op, the index and the size, exactly once.
 *
 * The checks are plain async functions (exported), so the kit's own tests can run them on
 * deliberately broken backends and prove that they fail there.
 */
import {
  type Backend,
  IndexError,
  type Tensor,
  findBackend,
  gather,
  indexSelect,
  scatter,
  scatterAdd,
  sync,
  tensor,
  zeros,
} from '@ghostflow/core';
import { F } from '@ghostflow/nn';
import { expect } from 'vitest';

/** The error a promise rejects with, or null when it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error | null> {
  return p.then(
    () => null,
    (e: unknown) => e as Error,
  );
}

/** Why a backend cannot report a deferred fault at all (null when it can, or needs not). */
function missingFaultReporting(backend: Backend): string | null {
  if (backend.readSync || backend.takeIndexFault) return null;
  return `backend '${backend.name}' has neither readSync (core checks indices before the kernel) nor takeIndexFault (its kernels report bad indices at the next read): out-of-range indices go unreported; implement Backend.takeIndexFault (docs/writing-a-backend.md, "Index faults")`;
}

/**
 * Runs `op`, which must fail with an `IndexError` matching `pattern`: at the call on a
 * backend with `readSync`, else at the next read of the result. Then checks the fault is
 * reported once (a second read succeeds) and returns the result's values (null when it
 * threw at the call), for callers to check that the bad element was skipped.
 */
export async function expectIndexError(device: string, what: string, op: () => Tensor, pattern: RegExp): Promise<number[] | null> {
  const backend = findBackend(device);
  let out: Tensor;
  try {
    out = op();
  } catch (e) {
    expect(e, `${what}: the error at the call`).toBeInstanceOf(IndexError);
    expect((e as Error).message, what).toMatch(pattern);
    return null;
  }
  try {
    expect(
      backend.readSync,
      `${what}: backend '${device}' reads synchronously, so the op itself must throw (core checks indices before the kernel), but it returned`,
    ).toBeUndefined();
    const missing = missingFaultReporting(backend);
    if (missing) expect.fail(`${what}: ${missing}`);
    const err = await rejection(out.data());
    if (err === null) {
      const values = Array.from(await out.data());
      expect.fail(
        `${what}: an out-of-range index was neither refused at the call nor reported at the next read (result read back: [${values.join(', ')}]); the kernel must record the fault and takeIndexFault() must return it after the read`,
      );
    }
    expect(err, `${what}: the error at the next read`).toBeInstanceOf(IndexError);
    expect(err.message, what).toMatch(pattern);
    const again = await rejection(out.data());
    expect(again, `${what}: the fault must be reported once, but the second read failed too`).toBeNull();
    return Array.from(await out.data());
  } finally {
    out.dispose();
  }
}

/** Runs `fn` with tensors it makes, disposing them afterwards. */
async function using<T>(make: () => Tensor[], fn: (ts: Tensor[]) => Promise<T>): Promise<T> {
  const ts = make();
  try {
    return await fn(ts);
  } finally {
    for (const t of ts) t.dispose();
  }
}

/** One scenario of the deferred path: a name, and a check that rejects when the backend gets it wrong. */
export interface IndexFaultScenario {
  /** What it checks (the test name). */
  name: string;
  /** Runs the check on `device` (a registered backend); rejects with an assertion error on failure. */
  run(device: string): Promise<void>;
}

/**
 * Scenarios every backend must pass; the kit runs them on the backend under test (eager
 * or deferred) and on an asynchronous wrapper of it (deferred, through the kernels).
 */
export const INDEX_FAULT_SCENARIOS: readonly IndexFaultScenario[] = [
  {
    name: 'gather: index 3 of size 3 raises IndexError; the element reads 0, not NaN',
    run: (device) =>
      using(
        () => [
          tensor(
            [
              [1, 2, 3],
              [4, 5, 6],
            ],
            { device },
          ),
          tensor(
            [
              [0, 3],
              [2, 1],
            ],
            { device, dtype: 'int32' },
          ),
        ],
        async ([x, i]) => {
          const got = await expectIndexError(
            device,
            'gather',
            () => gather(x, 1, i),
            /gather: index 3 is out of bounds for dimension 1 with size 3/,
          );
          if (got) expect(got, 'gather result after the fault (the bad element is 0)').toEqual([1, 0, 6, 5]);
        },
      ),
  },
  {
    name: 'indexSelect / embedding: index 4 of 4 rows raises IndexError naming the op',
    run: (device) =>
      using(
        () => [tensor([1, 2, 3, 4, 5, 6, 7, 8], { device }).reshape([4, 2]), tensor([1, 4], { device, dtype: 'int32' })],
        async ([w, i]) => {
          const got = await expectIndexError(
            device,
            'indexSelect',
            () => indexSelect(w, 0, i),
            /indexSelect: index 4 is out of bounds for dimension 0 with size 4/,
          );
          if (got) expect(got, 'indexSelect result after the fault').toEqual([3, 4, 0, 0]);
          await expectIndexError(device, 'embedding', () => F.embedding(i, w), /index 4 is out of bounds for dimension 0 with size 4/);
        },
      ),
  },
  {
    name: 'scatter: index 5 on a 2x3 tensor raises IndexError and writes nothing into the next row',
    run: (device) =>
      using(
        () => [zeros([2, 3], { device }), tensor([[0, 5]], { device, dtype: 'int32' })],
        async ([x, i]) => {
          const got = await expectIndexError(
            device,
            'scatter',
            () => scatter(x, 1, i, 1),
            /scatter: index 5 is out of bounds for dimension 1 with size 3/,
          );
          if (got) expect(got, 'scatter result after the fault (row 1 untouched)').toEqual([1, 0, 0, 0, 0, 0]);
        },
      ),
  },
  {
    name: 'scatterAdd: a negative index raises IndexError and adds nothing',
    run: (device) =>
      using(
        () => [zeros([2, 3], { device }), tensor([[-1], [2]], { device, dtype: 'int32' }), tensor([[5], [7]], { device })],
        async ([x, i, s]) => {
          const got = await expectIndexError(
            device,
            'scatterAdd',
            () => scatterAdd(x, 1, i, s),
            /scatterAdd: index -1 is out of bounds for dimension 1 with size 3/,
          );
          if (got) expect(got, 'scatterAdd result after the fault').toEqual([0, 0, 0, 0, 0, 7]);
        },
      ),
  },
  {
    name: 'gather from and scatter into an empty dim: any index is out of bounds',
    run: (device) =>
      using(
        () => [zeros([2, 0], { device }), tensor([[0], [0]], { device, dtype: 'int32' })],
        async ([x, i]) => {
          await expectIndexError(
            device,
            'gather',
            () => gather(x, 1, i),
            /gather: (index 0|an index) is out of bounds for dimension 1 with size 0/,
          );
          await expectIndexError(
            device,
            'scatter',
            () => scatter(x, 1, i, 2),
            /scatter: (index 0|an index) is out of bounds for dimension 1 with size 0/,
          );
        },
      ),
  },
  {
    name: 'crossEntropy: target 7 of 4 classes raises IndexError, not a NaN loss',
    run: (device) =>
      using(
        () => [zeros([2, 4], { device }), tensor([1, 7], { device, dtype: 'int32' })],
        async ([logits, target]) => {
          await expectIndexError(
            device,
            'crossEntropy',
            () => F.crossEntropy(logits, target),
            /(index 7 is out of bounds.* size 4|Target 7 is out of bounds.*\[0, 4\))/,
          );
        },
      ),
  },
  {
    name: 'a fault is never lost: the result disposed unread, the next read of any tensor raises it, once',
    run: (device) =>
      using(
        () => [tensor([1, 2, 3], { device }), tensor([0, 9], { device, dtype: 'int32' }), tensor([10, 20], { device })],
        async ([x, i, other]) => {
          const backend = findBackend(device);
          let y: Tensor;
          try {
            y = gather(x, 0, i);
          } catch (e) {
            expect(e).toBeInstanceOf(IndexError);
            expect(backend.readSync, 'only a synchronous backend may refuse at the call').toBeDefined();
            return;
          }
          y.dispose();
          const missing = missingFaultReporting(backend);
          if (missing) expect.fail(missing);
          const err = await rejection(other.data());
          expect(err, 'the next read after a faulting gather whose result was disposed').toBeInstanceOf(IndexError);
          expect(err?.message).toMatch(/gather: index 9 is out of bounds for dimension 0 with size 3/);
          expect(Array.from(await other.data()), 'the read after that succeeds').toEqual([10, 20]);
        },
      ),
  },
  {
    name: 'sync() raises a pending fault, once',
    run: (device) =>
      using(
        () => [zeros([3], { device }), tensor([3], { device, dtype: 'int32' })],
        async ([x, i]) => {
          let y: Tensor;
          try {
            y = scatter(x, 0, i, 1);
          } catch (e) {
            expect(e).toBeInstanceOf(IndexError);
            return;
          }
          y.dispose();
          const err = await rejection(sync(device));
          expect(err, 'sync() after a faulting scatter').toBeInstanceOf(IndexError);
          expect(err?.message).toMatch(/scatter: index 3 is out of bounds for dimension 0 with size 3/);
          expect(await rejection(sync(device)), 'a second sync()').toBeNull();
        },
      ),
  },
  {
    name: 'among 300 good gathers, the one bad indexSelect is the fault reported',
    run: (device) =>
      using(
        () => [tensor([1, 2, 3, 4], { device }), tensor([0, 3], { device, dtype: 'int32' }), tensor([4], { device, dtype: 'int32' })],
        async ([x, good, bad]) => {
          await sync(device);
          const outs: Tensor[] = [];
          let threw: unknown = null;
          try {
            for (let k = 0; k < 300; k++) {
              outs.push(gather(x, 0, good));
              if (k === 280) outs.push(indexSelect(x, 0, bad));
            }
          } catch (e) {
            threw = e;
          }
          try {
            if (threw) {
              expect(threw).toBeInstanceOf(IndexError);
              expect((threw as Error).message).toMatch(/indexSelect: index 4 is out of bounds for dimension 0 with size 4/);
              return;
            }
            const err = await rejection(outs[0].data());
            expect(err, 'the first read after 301 index kernels, one of them bad').toBeInstanceOf(IndexError);
            expect(err?.message).toMatch(/indexSelect: index 4 is out of bounds for dimension 0 with size 4/);
            expect(Array.from(await outs[outs.length - 1].data())).toEqual([1, 4]);
          } finally {
            for (const t of outs) t.dispose();
          }
        },
      ),
  },
];
