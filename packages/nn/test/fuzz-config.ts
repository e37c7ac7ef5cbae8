/**
 * Seed and size of the fuzz suites: a fixed seed so CI is reproducible, overridable with
 * GHOSTFLOW_FUZZ_SEED (a failure prints the seed and path to replay it), and
 * GHOSTFLOW_FUZZ_SCALE to run more (or fewer) cases than the CI budget.
 */
import type { Parameters } from 'fast-check';

const DEFAULT_SEED = 20261201;

/** The seed every property of this run uses (printed once per file). */
export const FUZZ_SEED = Number.parseInt(process.env.GHOSTFLOW_FUZZ_SEED ?? '', 10) || DEFAULT_SEED;
const SCALE = Number(process.env.GHOSTFLOW_FUZZ_SCALE ?? '1') > 0 ? Number(process.env.GHOSTFLOW_FUZZ_SCALE ?? '1') : 1;

/** Per-test timeout of the fuzz suites: generous, because CI machines may be loaded. */
export const FUZZ_TIMEOUT_MS = 180_000;

/** fast-check parameters for a property with `runs` cases at scale 1. */
export function fuzzParams<T>(runs: number): Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(runs * SCALE)) };
}

/** Prints what a property ran, so the CI log shows the case count and the seed to replay. */
export function reportCases(suite: string, cases: number, extra = ''): void {
  console.log(
    `[fuzz] ${suite}: ${cases} cases, seed ${FUZZ_SEED}${extra ? `, ${extra}` : ''} (GHOSTFLOW_FUZZ_SEED / GHOSTFLOW_FUZZ_SCALE to change)`,
  );
}
