/**
 * Collectives by value on 1, 2 and 3 ranks (shared memory), and on 2 ranks with TCP forced
 * (`--mca btl tcp,self`, the transport between machines). test/mpi/collectives.mjs checks every
 * op × dtype × shape (odd, empty, 0-d, a 28 MB tensor larger than a 25 MiB bucket) against values
 * computed from every rank's inputs; this file asserts those checks ran and passed on every rank,
 * and checks a few results itself.
 */
import { describe, expect, it } from 'vitest';
import { mpiReady, mpirun } from './mpirun.js';

const ready = mpiReady();

describe.skipIf(!ready.ok)('collectives under mpirun', () => {
  const cases: { np: number; tcp: boolean }[] = [
    { np: 1, tcp: false },
    { np: 2, tcp: false },
    { np: 3, tcp: false },
    { np: 2, tcp: true },
  ];
  for (const { np, tcp } of cases) {
    it(`${np} rank(s)${tcp ? ', TCP forced' : ''}: every op and dtype, odd, empty and large tensors`, async () => {
      const run = await mpirun(np, 'collectives.mjs', { tcp, limitMs: 120_000 });
      expect(run.timedOut, run.stderr).toBe(false);
      expect(run.code, run.stderr).toBe(0);
      expect([...run.results.keys()].sort()).toEqual(Array.from({ length: np }, (_, r) => r));
      for (const [r, res] of run.results) {
        expect(res.worldSize).toBe(np);
        expect(res.failures, `rank ${r}`).toEqual([]);
        // 6 shapes × (float32 and int32: 4 ops, np broadcasts, 2 allGather, 8 reduceScatter; bool: 3, np, 2, 4) + the large one
        expect(res.checks).toBe(223 + 18 * np);
        const samples = res.samples as Record<string, unknown>;
        expect(samples.rankPlusOneSum).toBe((np * (np + 1)) / 2);
        expect(samples.concurrent).toEqual(Array.from({ length: 8 }, (_, k) => (np * (np - 1)) / 2 + np * k));
        expect(samples.largeLast).toBe(np * (7_000_000 % 1000) + (np * (np - 1)) / 2);
      }
      // every rank got the same reductions
      const first = JSON.stringify(run.results.get(0)?.samples);
      for (const res of run.results.values()) expect(JSON.stringify(res.samples)).toBe(first);
    }, 150_000);
  }
});

if (!ready.ok) {
  describe('collectives under mpirun (skipped)', () => {
    it.skip(`needs MPI: ${ready.why}`, () => {});
  });
}
