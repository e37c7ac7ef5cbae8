/**
 * Faults: a rank that stalls, throws or dies never leaves the job hanging. A stalled rank makes
 * the survivor's collective reject after the timeout (1.5 s here) with an error naming the
 * collective and the missing rank; then the job is aborted (MPI_Abort at exit). Each run has a
 * hard limit far below rank 1's 60 s sleep, so a hang fails the test instead of CI.
 */
import { describe, expect, it } from 'vitest';
import { mpiReady, mpirun } from './mpirun.js';

const ready = mpiReady();

describe.skipIf(!ready.ok)('faults', () => {
  it('a stalled rank: the survivor rejects within the timeout naming the collective and rank 1; the job aborts', async () => {
    const run = await mpirun(2, 'faults.mjs', { args: ['stall'], limitMs: 40_000 });
    expect(run.timedOut).toBe(false);
    const r0 = run.results.get(0);
    expect(r0, run.stdout + run.stderr).toBeDefined();
    expect(r0?.isTimeout).toBe(true);
    expect(r0?.name).toBe('CollectiveTimeoutError');
    expect(r0?.collective).toBe('allReduce');
    expect(r0?.missingRanks).toEqual([1]);
    expect(r0?.message).toMatch(/allReduce \(collective #2\) timed out after 1500 ms on rank 0: rank 1 never called it/);
    expect(r0?.elapsedMs as number).toBeGreaterThanOrEqual(1400);
    expect(r0?.elapsedMs as number).toBeLessThan(5000);
    expect(r0?.refused).toMatch(/broken/);
    // rank 1 never finished its 60 s sleep: MPI_Abort took the job down
    expect(run.results.has(1)).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.elapsedMs).toBeLessThan(30_000);
  }, 60_000);

  it('an unhandled timeout rejection ends the process and aborts the job', async () => {
    const run = await mpirun(2, 'faults.mjs', { args: ['unhandled'], limitMs: 40_000 });
    expect(run.timedOut).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/CollectiveTimeoutError/);
    expect(run.stderr).toMatch(/rank 1 never called it/);
    expect(run.stderr).toMatch(/MPI_ABORT/);
    expect(run.elapsedMs).toBeLessThan(30_000);
  }, 60_000);

  it('a rank that throws aborts the job long before the 30 s collective timeout', async () => {
    const run = await mpirun(2, 'faults.mjs', { args: ['throw'], limitMs: 40_000 });
    expect(run.timedOut).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/rank 1 failed on purpose/);
    expect(run.elapsedMs).toBeLessThan(25_000);
  }, 60_000);

  it('a rank killed with SIGKILL ends the job long before the 30 s collective timeout', async () => {
    const run = await mpirun(2, 'faults.mjs', { args: ['die'], limitMs: 40_000 });
    expect(run.timedOut).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.results.size).toBe(0);
    expect(run.elapsedMs).toBeLessThan(25_000);
  }, 60_000);
});
