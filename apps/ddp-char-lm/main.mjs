/**
 * GhostFlow example: the character Transformer of apps/char-transformer trained data-parallel
 * with @ghostflow/distributed. Runs train.mjs under mpirun twice, on 1 rank (the baseline) and
 * on 2 ranks, each with one compute thread per rank, and prints per-rank throughput and the
 * speedup of 2 ranks over 1:
 *
 *   npx --yes pnpm@9.15.9 example:ddp          (STEPS=<n> for a shorter or longer run)
 *
 * Needs MPI (apt-get install openmpi-bin libopenmpi-dev). Extra mpirun flags go in MPIRUN_FLAGS,
 * e.g. MPIRUN_FLAGS="--mca btl tcp,self" to force TCP.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const train = fileURLToPath(new URL('./train.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ddp-char-lm-'));
const extra = (process.env.MPIRUN_FLAGS ?? '').split(/\s+/).filter(Boolean);
const root = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];

function run(np) {
  const summary = join(dir, `np${np}.json`);
  console.log(`\n$ mpirun -np ${np} node train.mjs`);
  const r = spawnSync('mpirun', [...root, '--oversubscribe', '-np', String(np), ...extra, 'node', train], {
    stdio: 'inherit',
    env: { ...process.env, GHOSTFLOW_CPU_THREADS: '1', SUMMARY: summary },
  });
  if (r.error) {
    console.error(`could not start mpirun (${r.error.message}); install MPI: apt-get install openmpi-bin libopenmpi-dev`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
  return JSON.parse(readFileSync(summary, 'utf8'));
}

const one = run(1);
const two = run(2);
rmSync(dir, { recursive: true, force: true });
console.log(`\n1 rank:  ${one.total.toFixed(1)} samples/s`);
console.log(`2 ranks: ${two.total.toFixed(1)} samples/s (rank 0 ${two.perRank[0].toFixed(1)}, rank 1 ${two.perRank[1].toFixed(1)})`);
console.log(`speedup: ${(two.total / one.total).toFixed(2)}x on ${2} ranks`);
