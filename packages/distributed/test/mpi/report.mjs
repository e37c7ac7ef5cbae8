/**
 * How a rank hands its result to the test: a JSON file per rank in GHOSTFLOW_TEST_OUT (stdout
 * lines of several ranks can interleave), or a `RESULT <rank> <json>` line when run by hand.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function report(rank, result) {
  const dir = process.env.GHOSTFLOW_TEST_OUT;
  if (dir) writeFileSync(join(dir, `rank-${rank}.json`), JSON.stringify(result));
  else console.log(`RESULT ${rank} ${JSON.stringify(result)}`);
}
