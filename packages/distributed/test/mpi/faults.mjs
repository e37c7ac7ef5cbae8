/**
 * Run under mpirun on 2 ranks with a scenario argument; rank 1 misbehaves, rank 0 runs an
 * allReduce and reports what happened to it.
 * - stall: rank 1 never calls the collective (sleeps 60 s); rank 0 catches the timeout error.
 * - unhandled: the same, but rank 0 does not catch the rejection.
 * - throw: rank 1 throws an uncaught error (timeout 30 s: the job must end long before it).
 * - die: rank 1 kills itself with SIGKILL.
 */
import { tensor } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { CollectiveTimeoutError, allReduce, initProcessGroup } from '@ghostflow/distributed';
import { report } from './report.mjs';

const scenario = process.argv[2];
const timeoutMs = scenario === 'throw' || scenario === 'die' ? 30_000 : 1500;
const pg = initProcessGroup({ backend: 'mpi', timeoutMs });
const me = pg.rank();
const t = tensor([1, 2, 3]);
await allReduce(t); // everyone arrives once

if (me === 1) {
  if (scenario === 'throw') throw new Error('rank 1 failed on purpose');
  if (scenario === 'die') process.kill(process.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 60_000));
  report(1, { finished: true });
} else {
  const t0 = performance.now();
  if (scenario === 'unhandled') {
    await allReduce(t);
  } else {
    try {
      await allReduce(t);
      report(0, { resolved: true });
    } catch (e) {
      const elapsedMs = performance.now() - t0;
      let refused = '';
      try {
        await allReduce(t);
      } catch (again) {
        refused = again.message;
      }
      report(0, {
        isTimeout: e instanceof CollectiveTimeoutError,
        name: e.name,
        message: e.message,
        collective: e.collective,
        missingRanks: e.missingRanks,
        elapsedMs,
        refused,
      });
    }
  }
}
