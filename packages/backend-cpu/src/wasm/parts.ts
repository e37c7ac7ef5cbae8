/**
 * How the row and elementwise wasm kernels split a call over the worker pool: the part
 * bounds, how many parts, and running them (one part directly on the caller, several over
 * the pool). Shared by kernels.ts and select-kernels.ts so both split by the same rule.
 */
import type { JointLayout, KernelCall } from './call.js';
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

/**
 * The parts of a strided elementwise kernel (binaryND, compareND, whereND) of `size`
 * elements over `lay`: split along the outermost collapsed dim (in vector groups when it is
 * the only one), each part a slab with its own meta block planned in `call` (the slab's
 * shape, each operand's strides, rank odometer words: assembly/strided.ts). `part(i0, meta)`
 * makes a part's argument list from its slab's first index along dim 0 and its meta block.
 */
export function stridedParts(
  rt: WasmRuntime,
  th: WasmThresholds,
  call: KernelCall,
  lay: JointLayout,
  size: number,
  part: (i0: number, meta: number) => PartArgs,
): PartArgs[] {
  const rank = lay.shape.length;
  const d0 = lay.shape[0];
  const grain = rank === 1 ? FLAT_GRAIN : 1;
  const units = Math.ceil(d0 / grain);
  const parts = threadParts(rt, th, units, size);
  const strides = lay.operands.map((o) => o.strides);
  // A part's slab: the layout with its own length along dim 0 (the words are copied at once).
  const slab = lay.shape.slice();
  const list: PartArgs[] = [];
  for (let p = 0; p < parts; p++) {
    const [i0, i1] = partBounds(units, parts, p, grain, d0);
    slab[0] = i1 - i0;
    list.push(part(i0, call.meta(slab, strides)));
  }
  return list;
}
