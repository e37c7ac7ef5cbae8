/**
 * How the row and elementwise wasm kernels split a call over the worker pool: the part
 * bounds, how many parts, and running them (one part directly on the caller, several over
 * the pool). Shared by kernels.ts and select-kernels.ts so both split by the same rule.
 */
import type { WasmThresholds } from './kernels.js';
import type { PartArgs } from './pool.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Elements per split unit of a one-dim layout: parts then start on whole 16-element vector
 * steps of the kernels (and on whole 64-byte lines of a float output).
 */
export const FLAT_GRAIN = 64;

/** Bounds of part `p` of `parts` over `units` units of `grain` elements, capped at `total`. */
export function partBounds(units: number, parts: number, p: number, grain: number, total: number): [number, number] {
  return [Math.min(total, Math.floor((units * p) / parts) * grain), Math.min(total, Math.floor((units * (p + 1)) / parts) * grain)];
}

/**
 * How many parts (caller + workers) a row or elementwise kernel of `elements` elements
 * over `units` independent units splits into: 1 (one direct call, no worker woken) below
 * `threadMinElements` or when no worker is ready.
 */
export function threadParts(rt: WasmRuntime, th: WasmThresholds, units: number, elements: number): number {
  const pool = rt.workers;
  if (!pool || units < 2 || elements < th.threadMinElements) return 1;
  return Math.max(1, Math.min(units, pool.available() + 1));
}

/** Runs `list` (one part: directly on the caller; more: over the pool as `op`). */
export function runParts(rt: WasmRuntime, op: number, list: readonly PartArgs[], local: (p: PartArgs) => void): void {
  const pool = rt.workers;
  if (list.length === 1 || !pool) for (const part of list) local(part);
  else pool.run(op, list, local);
}
