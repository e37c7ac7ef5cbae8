/**
 * The conformance kit fails the backends it must fail. Each flawed backend of
 * kit-runs/backends.ts runs the real kit in a child vitest (a failing kit must not fail this
 * run), and the JSON report says which tests failed:
 * - a float64 cpu (reference kernels, no float32 rounding) fails the kernels suite's
 *   float32-storage test, and only that;
 * - an asynchronous cpu whose takeIndexFault ignores the kernels' faults fails every
 *   out-of-range index test, and only those;
 * - the same asynchronous cpu reporting its faults passes the index suites, skipping the
 *   tests that need readSync (reported as skipped, not passed).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INDEX_FAULT_SCENARIOS } from '@ghostflow/backend-conformance';
import { describe, expect, it } from 'vitest';

interface JsonReport {
  testResults: { assertionResults: { title: string; fullName: string; status: string }[] }[];
}

const here = dirname(fileURLToPath(import.meta.url));
const vitestBin = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** Runs the kit file `name` in a child vitest; returns test titles by status. */
async function runKit(name: string): Promise<Record<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'gf-kit-run-'));
  const out = join(dir, 'report.json');
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [vitestBin, 'run', '--config', join(here, '..', 'vitest.kit-runs.config.ts'), '--reporter=json', `--outputFile=${out}`, name],
        { cwd: join(here, 'kit-runs'), maxBuffer: 64 * 1024 * 1024 },
        // Exit code 1 is the kit failing tests, which is what some runs are for.
        (err) => (err && err.code !== 1 ? reject(err) : resolve()),
      );
    });
    const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
    const byStatus: Record<string, string[]> = { passed: [], failed: [], skipped: [] };
    for (const file of report.testResults) {
      for (const t of file.assertionResults) {
        const status = t.status === 'pending' || t.status === 'todo' ? 'skipped' : t.status;
        byStatus[status] = [...(byStatus[status] ?? []), t.fullName];
      }
    }
    return byStatus;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the conformance kit fails flawed backends', () => {
  it('a float64 backend without float32 rounding fails the kernels suite (its float32-storage test)', async () => {
    const r = await runKit('float64.kit.ts');
    expect(r.passed.length, 'the rest of the kernels suite runs and passes').toBeGreaterThan(150);
    expect(r.failed).toEqual([expect.stringContaining('stores float32 results as float32 values')]);
  }, 180_000);

  it('an asynchronous backend that ignores index faults fails every out-of-range index test', async () => {
    const r = await runKit('async-ignores.kit.ts');
    const failed = r.failed.join('\n');
    for (const s of INDEX_FAULT_SCENARIOS) {
      expect(r.failed.filter((t) => t.endsWith(s.name) || t.includes(`${s.name} (skipped`)).length, s.name).toBe(2);
    }
    expect(failed).toContain('gather rejects out-of-range indices');
    expect(failed).toContain('scatter / scatterAdd rejects a src of another dtype or too small, and bad indices');
    expect(failed).toContain('indexSelect rejects a 2-D or float index, and out-of-range values');
    expect(r.failed.length, 'nothing else fails').toBe(2 * INDEX_FAULT_SCENARIOS.length + 3);
  }, 180_000);

  it('the same backend reporting its faults passes, and skips (not passes) what needs readSync', async () => {
    const r = await runKit('async-reports.kit.ts');
    expect(r.failed).toEqual([]);
    expect(r.skipped.sort()).toEqual([
      expect.stringContaining('oneHot infers the number of classes (skipped on backends without readSync'),
      expect.stringContaining('oneHot rejects negative and out-of-range indices (skipped on backends without readSync'),
    ]);
    for (const sc of INDEX_FAULT_SCENARIOS) {
      expect(r.passed.filter((t) => t.endsWith(sc.name) || t.includes(`${sc.name} (skipped`)).length, sc.name).toBe(2);
    }
    expect(r.passed.length).toBeGreaterThan(80);
  }, 180_000);
});
