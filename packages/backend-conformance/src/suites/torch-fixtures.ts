/**
 * The PyTorch golden cases through `@ghostflow/nn` on the backend under test: one test per
 * fixture file this package ships (`fixtures/torch`, or `$GHOSTFLOW_TORCH_FIXTURES`). Each builds
 * its module from `config`, loads `state_dict`, runs `inputs`, and checks outputs and every
 * gradient within `tol`; `optim_*` cases check the five-step trajectory (see `fixtures/runner.ts`).
 * A fixture whose module has no builder fails: no case is skipped.
 *
 * When `../shared/fixtures/torch` sits beside the monorepo (GhostFlow's own CI), its cases run
 * too, in a separate block, as an independent cross-check; without it nothing is looked for.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { runTorchFixture } from '../fixtures/runner.js';
import { fixturesDir, listFixtures, loadFixture, sharedFixturesDir } from '../torch-fixtures.js';

/** Registers one test per fixture file in the kit's fixture directory (and in the shared one, when present). */
export function torchFixturesSuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());
  const dir = fixturesDir();
  const names = listFixtures(dir);
  it('finds the PyTorch fixtures', () => {
    expect(names.length, `fixture files in ${dir}`).toBeGreaterThan(0);
  });
  for (const name of names) {
    it(name, async () => {
      await runTorchFixture(loadFixture(name, dir), ctx.device);
    });
  }
  const shared = sharedFixturesDir();
  if (shared && resolve(shared) !== resolve(dir)) {
    describe('torch-fixtures (shared cross-check)', () => {
      for (const name of listFixtures(shared)) {
        it(name, async () => {
          await runTorchFixture(loadFixture(name, shared), ctx.device);
        });
      }
    });
  }
}
