/**
 * @ghostflow/backend-conformance: the suite every GhostFlow backend runs.
 * @packageDocumentation
 */
import { describe, beforeAll, it } from 'vitest';
import { makeContext } from './context.js';
import { SUITES } from './suites/index.js';

export { expectTensor, makeContext } from './context.js';
export type { SuiteContext, Tolerance } from './context.js';
export { SUITES } from './suites/index.js';
export { fixturesDir, sharedFixturesDir, listFixtures, loadFixture, fixtureTensor } from './torch-fixtures.js';
export type { TorchFixture, FixtureTensor } from './torch-fixtures.js';
export { runTorchFixture } from './fixtures/runner.js';
export { MODULE_BUILDERS, FUNCTIONAL } from './fixtures/builders.js';
export type { FixtureBuilder, BuiltFixture } from './fixtures/builders.js';
export type { Suite } from './suites/index.js';
export { INDEX_FAULT_SCENARIOS, expectIndexError } from './suites/index-faults.js';
export type { IndexFaultScenario } from './suites/index-faults.js';
export { float32StorageViolations } from './suites/kernels.js';

/** Options for {@link runConformance}. */
export interface ConformanceOptions {
  /** Registered name of the backend to test. */
  backend: string;
  /** Run only these suites (by name). */
  only?: readonly string[];
  /** Skip these suites (by name); a skipped suite is reported by vitest as skipped. */
  skip?: readonly string[];
  /**
   * Training steps per leak-census case (default 50, at least 3). A leak of one buffer per step
   * shows at any count; more steps also catch leaks that appear only now and then (a cache
   * evicting every k steps). Lower it only for a backend whose every kernel is slow to run here
   * (an emulated device), and run the default where it runs natively.
   */
  leakCensusSteps?: number;
}

/**
 * Registers the whole conformance suite for a registered backend, inside a vitest test
 * file. A backend author's test file is three lines:
 * ```ts
 * import '@my/backend';                       // registers 'mine'
 * import { runConformance } from '@ghostflow/backend-conformance';
 * runConformance({ backend: 'mine' });
 * ```
 */
export function runConformance(options: ConformanceOptions): void {
  const steps = options.leakCensusSteps ?? 50;
  if (!Number.isInteger(steps) || steps < 3) throw new Error(`runConformance: leakCensusSteps must be an integer >= 3, got ${steps}`);
  const ctx = makeContext(options.backend, steps);
  describe(`conformance: ${options.backend}`, () => {
    beforeAll(() => ctx.activate());
    for (const suite of SUITES) {
      if (options.only && !options.only.includes(suite.name)) continue;
      // A skipped suite is not registered at all (registering torch-fixtures reads files), only
      // reported as skipped.
      if (options.skip?.includes(suite.name)) describe.skip(suite.name, () => it.skip(`${suite.name} (skipped by options.skip)`, () => {}));
      else describe(suite.name, () => suite.register(ctx));
    }
  });
}
