/** Assertion helpers shared by the nn test files. */
import type { Tensor } from '@ghostflow/core';
import { expect } from 'vitest';

/** Asserts `actual` equals `expected` within `|a-b| <= atol + rtol*|b|`, naming `label`. */
export function expectClose(
  actual: Tensor | null,
  expected: { shape: readonly number[]; data: ArrayLike<number | boolean> },
  tol: { atol: number; rtol: number },
  label: string,
): void {
  expect(actual, `${label}: missing`).not.toBeNull();
  const a = actual as Tensor;
  const want = Array.from(expected.data as ArrayLike<number | boolean>, Number);
  expect([...a.shape], `${label}: shape`).toEqual([...expected.shape]);
  const got = Array.from(a.dataSync() as ArrayLike<number>, Number);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol.atol + tol.rtol * Math.abs(want[i]))) {
      expect.fail(
        `${label}: element ${i} of [${a.shape.join(', ')}] is ${got[i]}, expected ${want[i]} (atol ${tol.atol}, rtol ${tol.rtol})`,
      );
    }
  }
}

/** Two tensors equal within `tol`. */
export function expectTensorsClose(a: Tensor, b: Tensor, tol: number, label: string): void {
  expectClose(a, { shape: b.shape, data: b.dataSync() as ArrayLike<number> }, { atol: tol, rtol: tol }, label);
}
