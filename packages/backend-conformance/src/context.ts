/**
 * What every suite receives: the backend under test and assertions that read tensors back
 * through the public, asynchronous API (so the same suite serves GPU backends).
 */
import { type Tensor, type NestedArray, setBackend } from '@ghostflow/core';
import { expect } from 'vitest';

/** The backend under test and its options. */
export interface SuiteContext {
  /** Registered name of the backend under test (also the active backend during the suite). */
  device: string;
  /** Makes the backend under test active; suites call it in `beforeAll`. */
  activate(): Promise<void>;
  /** Training steps per leak-census case (see {@link ConformanceOptions}). */
  censusSteps: number;
}

/** Creates the context for a registered backend. */
export function makeContext(device: string, censusSteps = 50): SuiteContext {
  return {
    device,
    censusSteps,
    activate: async () => {
      await setBackend(device);
    },
  };
}

/** Tolerance as the PyTorch fixtures define it: `|a - b| <= atol + rtol * |b|`. */
export interface Tolerance {
  /** Absolute part. */
  atol?: number;
  /** Relative part. */
  rtol?: number;
}

function flatten(v: NestedArray<number | boolean>, out: number[] = []): number[] {
  if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else out.push(typeof v === 'boolean' ? Number(v) : v);
  return out;
}

function shapeOf(v: NestedArray<number | boolean>): number[] {
  const s: number[] = [];
  let cur: NestedArray<number | boolean> = v;
  while (Array.isArray(cur)) {
    s.push(cur.length);
    cur = cur[0] as NestedArray<number | boolean>;
  }
  return s;
}

/**
 * Asserts `actual` has `expected`'s values (nested arrays or flat with `shape`), within
 * tolerance; NaN matches NaN and infinities must match exactly. Reports the first mismatch
 * with its flat index.
 */
export async function expectTensor(
  actual: Tensor,
  expected: NestedArray<number | boolean> | readonly number[],
  options: Tolerance & { shape?: readonly number[]; dtype?: string } = {},
): Promise<void> {
  const want = flatten(expected as NestedArray<number | boolean>);
  const wantShape = options.shape ?? shapeOf(expected as NestedArray<number | boolean>);
  expect([...actual.shape], 'shape').toEqual([...wantShape]);
  if (options.dtype) expect(actual.dtype, 'dtype').toBe(options.dtype);
  const got = Array.from(await actual.data());
  expect(got.length, 'element count').toBe(want.length);
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-5;
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    const ok = Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) ? a === b : Math.abs(a - b) <= atol + rtol * Math.abs(b);
    if (!ok) {
      expect.fail(
        `element ${i} of shape [${actual.shape.join(', ')}]: got ${a}, expected ${b} (atol ${atol}, rtol ${rtol})\ngot:      [${got.slice(0, 16).join(', ')}${got.length > 16 ? ', ...' : ''}]\nexpected: [${want.slice(0, 16).join(', ')}${want.length > 16 ? ', ...' : ''}]`,
      );
    }
  }
}
