import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fixturesDir, listFixtures, loadFixture, sharedFixturesDir } from '../src/torch-fixtures.js';

const shipped = resolve(fileURLToPath(new URL('../fixtures/torch', import.meta.url)));

describe('torch fixtures: where the kit finds them', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('defaults to the folder the package ships, relative to the module, whatever the working directory', () => {
    vi.stubEnv('GHOSTFLOW_TORCH_FIXTURES', '');
    vi.spyOn(process, 'cwd').mockReturnValue(realpathSync(tmpdir()));
    expect(resolve(fixturesDir())).toBe(shipped);
    const names = listFixtures();
    expect(names).toContain('lstm_packed');
    expect(names).toContain('transformer_full');
    expect(names.length).toBe(66);
    const fx = loadFixture('lstm_proj');
    expect(fx.module).toBe('LSTM');
    expect(fx.config.proj_size).toBe(3);
    expect(fx.state_dict.weight_hr_l1_reverse.shape).toEqual([3, 6]);
  });

  it('GHOSTFLOW_TORCH_FIXTURES overrides the folder, and a wrong one is named in the error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gf-fixtures-'));
    vi.stubEnv('GHOSTFLOW_TORCH_FIXTURES', dir);
    expect(fixturesDir()).toBe(dir);
    expect(listFixtures()).toEqual([]);
    vi.stubEnv('GHOSTFLOW_TORCH_FIXTURES', join(dir, 'missing'));
    expect(() => fixturesDir()).toThrow(/GHOSTFLOW_TORCH_FIXTURES points at .*missing/);
  });

  it('the shared cross-check set is optional: none outside a pnpm workspace', () => {
    vi.spyOn(process, 'cwd').mockReturnValue(mkdtempSync(join(tmpdir(), 'gf-no-workspace-')));
    expect(sharedFixturesDir()).toBeNull();
  });
});
