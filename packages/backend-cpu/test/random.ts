/**
 * Seeded test inputs shared by the backend's tests: the same numbers on every run and
 * machine, so that a failure reproduces.
 */

/** A generator of uniform numbers in [0, 1) from `seed` (a 32-bit LCG; seed 0 counts as 1). */
export function lcg(seed = 1): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `n` uniform float32 values in [lo, hi) from `seed` ({@link lcg}). */
export function rand(n: number, lo = -1, hi = 1, seed = 1): Float32Array {
  const next = lcg(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}
