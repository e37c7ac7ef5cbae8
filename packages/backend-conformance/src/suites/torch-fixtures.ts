/**
 * The PyTorch golden cases (`../shared/fixtures/torch`) through `@ghostflow/nn` on the backend
 * under test: one test per fixture file on disk. Each builds its module from `config`, loads
 * `state_dict`, runs `inputs`, and checks outputs and every gradient within `tol`; `optim_*`
 * cases check the five-step trajectory (see `fixtures/runner.ts`). A fixture whose module has
 * no builder fails: no case is skipped.
 */
import { beforeAll, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { runTorchFixture } from '../fixtures/runner.js';
import { listFixtures, loadFixture } from '../torch-fixtures.js';

/** Registers one test per fixture file found by `listFixtures()`. */
export function torchFixturesSuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());
  const names = listFixtures();
  it('finds the PyTorch fixtures on disk', () => {
    expect(names.length, 'fixture files in ../shared/fixtures/torch').toBeGreaterThan(0);
  });
  for (const name of names) {
    it(name, async () => {
      await runTorchFixture(loadFixture(name), ctx.device);
    });
  }
}
