/**
 * GhostFlow's WebAssembly SIMD kernels (AssemblyScript, compiled by scripts/build-wasm.mjs).
 *
 * Rules this file keeps, because the JS side (src/wasm/) relies on them:
 * - No AssemblyScript heap, no static data, no strings: every buffer is a raw pointer into
 *   the one `env.memory` that JavaScript owns and lays out per call. That is what lets the
 *   same module be instantiated in worker threads over a shared memory (AssemblyScript's
 *   heap and active data segments are per instance and would clash).
 * - Pointers are byte addresses; sizes and strides are element counts.
 * - The file is compiled twice: with `--enable relaxed-simd` the `madd` helper becomes
 *   `f32x4.relaxed_madd` (one fused multiply-add), otherwise a mul and an add. The branch is
 *   on a compile-time constant, so each build contains only one of them.
 */

import { Walk } from './strided';

// ---------------------------------------------------------------------------------------
// helpers

/**
 * Inlined helpers. They are static methods only because AssemblyScript inlines through the
 * `@inline` decorator, which TypeScript tooling (Biome) accepts on methods, not on functions.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: see above
export class V {
  /** `a * b + c`, fused when the relaxed-SIMD build allows it. */
  @inline static madd(a: v128, b: v128, c: v128): v128 {
    if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
    return f32x4.add(f32x4.mul(a, b), c);
  }
  /** Stores the first `count` (0..4) lanes of `v` at `p` (edges of a tile or a row). */
  @inline static storePartial(p: usize, v: v128, count: i32): void {
    if (count >= 4) {
      v128.store(p, v);
      return;
    }
    if (count > 0) store<f32>(p, f32x4.extract_lane(v, 0));
    if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
    if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  }
  /** Writes one 16-wide accumulator row (4 vectors) to `c`, only `cols` of its columns. */
  @inline static storeRow(c: usize, v0: v128, v1: v128, v2: v128, v3: v128, cols: i32): void {
    if (cols === PANEL) {
      v128.store(c, v0);
      v128.store(c, v1, 16);
      v128.store(c, v2, 32);
      v128.store(c, v3, 48);
    } else {
      V.storePartial(c, v0, cols);
      V.storePartial(c + 16, v1, cols - 4);
      V.storePartial(c + 32, v2, cols - 8);
      V.storePartial(c + 48, v3, cols - 12);
    }
  }
  /**
   * The 2x16 micro-kernel: rows `pa` and `pa + aRow` of A (`aStep` bytes from one k to the
   * next: 4 in a row-major A, 16 in a 4-row packed block) times a `kc`-deep panel slice at
   * `pb`, into C rows `pc` and `pc + cRow`. `seed`: 0 = start from zero, 1 = from C,
   * otherwise a pointer to 16 bias floats.
   */
  @inline static tile2(pa0: usize, aRow: usize, aStep: usize, pb0: usize, pc: usize, cRow: usize, kc: i32, cols: i32, seed: usize): void {
    let c00: v128;
    let c01: v128;
    let c02: v128;
    let c03: v128;
    let c10: v128;
    let c11: v128;
    let c12: v128;
    let c13: v128;
    if (seed === 1) {
      c00 = v128.load(pc);
      c01 = v128.load(pc, 16);
      c02 = v128.load(pc, 32);
      c03 = v128.load(pc, 48);
      c10 = v128.load(pc + cRow);
      c11 = v128.load(pc + cRow, 16);
      c12 = v128.load(pc + cRow, 32);
      c13 = v128.load(pc + cRow, 48);
    } else if (seed !== 0) {
      c00 = c10 = v128.load(seed);
      c01 = c11 = v128.load(seed, 16);
      c02 = c12 = v128.load(seed, 32);
      c03 = c13 = v128.load(seed, 48);
    } else {
      c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = f32x4.splat(0);
    }
    let pa = pa0;
    let pb = pb0;
    for (let p = 0; p < kc; p++) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      const b2 = v128.load(pb, 32);
      const b3 = v128.load(pb, 48);
      const a0 = v128.load32_splat(pa);
      const a1 = v128.load32_splat(pa + aRow);
      c00 = V.madd(a0, b0, c00);
      c01 = V.madd(a0, b1, c01);
      c02 = V.madd(a0, b2, c02);
      c03 = V.madd(a0, b3, c03);
      c10 = V.madd(a1, b0, c10);
      c11 = V.madd(a1, b1, c11);
      c12 = V.madd(a1, b2, c12);
      c13 = V.madd(a1, b3, c13);
      pa += aStep;
      pb += PANEL << 2;
    }
    V.storeRow(pc, c00, c01, c02, c03, cols);
    V.storeRow(pc + cRow, c10, c11, c12, c13, cols);
  }

  /** The 1x16 micro-kernel for the last row of an odd row count (same contract as tile2). */
  @inline static tile1(pa0: usize, aStep: usize, pb0: usize, pc: usize, kc: i32, cols: i32, seed: usize): void {
    let c00: v128;
    let c01: v128;
    let c02: v128;
    let c03: v128;
    if (seed === 1) {
      c00 = v128.load(pc);
      c01 = v128.load(pc, 16);
      c02 = v128.load(pc, 32);
      c03 = v128.load(pc, 48);
    } else if (seed !== 0) {
      c00 = v128.load(seed);
      c01 = v128.load(seed, 16);
      c02 = v128.load(seed, 32);
      c03 = v128.load(seed, 48);
    } else {
      c00 = c01 = c02 = c03 = f32x4.splat(0);
    }
    let pa = pa0;
    let pb = pb0;
    for (let p = 0; p < kc; p++) {
      const a0 = v128.load32_splat(pa);
      c00 = V.madd(a0, v128.load(pb), c00);
      c01 = V.madd(a0, v128.load(pb, 16), c01);
      c02 = V.madd(a0, v128.load(pb, 32), c02);
      c03 = V.madd(a0, v128.load(pb, 48), c03);
      pa += aStep;
      pb += PANEL << 2;
    }
    V.storeRow(pc, c00, c01, c02, c03, cols);
  }

  /**
   * exp(x): Cephes' range reduction x = n ln2 + r and degree-6 polynomial on r, then 2^n
   * applied in two halves so that n in [-150, 129] never leaves the exponent range (large x
   * overflows to inf, very negative x underflows gradually to 0). NaN propagates.
   */
  @inline static vexp(x0: v128): v128 {
    const x = f32x4.max(f32x4.min(x0, f32x4.splat(89.0)), f32x4.splat(-104.0));
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: AssemblyScript will not narrow Math.LOG2E (f64) to f32 implicitly
    const fx = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.4426950408889634)));
    let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
    r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(-2.1219444e-4)));
    let y = f32x4.splat(1.98756915e-4);
    y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
    y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
    y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
    y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
    y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
    y = f32x4.add(f32x4.add(f32x4.mul(y, f32x4.mul(r, r)), r), f32x4.splat(1.0));
    const n = i32x4.trunc_sat_f32x4_s(fx);
    const n1 = i32x4.shr_s(n, 1);
    const n2 = i32x4.sub(n, n1);
    const bias = i32x4.splat(127);
    const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
    const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
    return f32x4.mul(f32x4.mul(y, s1), s2);
  }
  /**
   * exp(x) for x <= 0 or NaN (a softmax's max-subtracted scores), about 3 ulp: as 2^t with
   * t = x log2 e, split t = n + f (|f| <= 1/2) and a degree-5 minimax polynomial for 2^f
   * (relative error 1.7e-7 with fused multiply-adds), cheaper than {@link V.vexp} because only
   * underflow can happen. t's own rounding costs e^x |x| 2^-24 at most (under 3e-8 of the
   * row's largest weight, which is 1). t is clamped at -127 with `pmax` (one instruction;
   * NaN passes, -inf becomes -127); n comes from the 1.5 * 2^23 rounding trick (no `nearest`,
   * no saturating convert) and 2^n is n + 127 shifted into the exponent field: at n = -127
   * (x below about -87.7, true value under 2^-126) that field is 0 and the result exactly 0,
   * so -inf gives 0.
   */
  @inline static vexpNeg(x: v128): v128 {
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: AssemblyScript will not narrow Math.LOG2E (f64) to f32 implicitly
    return V.exp2(f32x4.pmax(f32x4.mul(x, f32x4.splat(1.4426950408889634)), f32x4.splat(-127.0)));
  }
  /**
   * t + 1.5 * 2^23 + 127: adding it rounds t (|t| <= 127) to an integer n in the low mantissa
   * bits, already biased for the exponent field, so `i32x4.shl(tm, 23)` is 2^n and
   * `t - (tm - magic)` the fraction f, |f| <= 1/2.
   */
  @inline static exp2Round(t: v128): v128 {
    return f32x4.add(t, f32x4.splat(12583039.0));
  }
  /** The fraction f = t - n of {@link V.exp2Round}'s `tm`. */
  @inline static exp2Frac(t: v128, tm: v128): v128 {
    return f32x4.sub(t, f32x4.sub(tm, f32x4.splat(12583039.0)));
  }
  /**
   * The degree-5 minimax polynomial for 2^f on |f| <= 1/2 but its last step: 2^f = y f + 1
   * (y f alone is 2^f - 1, accurate relative to itself near 0, which tanh needs).
   */
  @inline static exp2Poly(f: v128): v128 {
    let y = f32x4.splat(0.0013264711);
    y = V.madd(y, f, f32x4.splat(0.0096715074));
    y = V.madd(y, f, f32x4.splat(0.055507336));
    y = V.madd(y, f, f32x4.splat(0.24022242));
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: a minimax coefficient (ln 2 rounded to float32 is 0.6931472)
    return V.madd(y, f, f32x4.splat(0.693147));
  }
  /** 2^t for t already clamped to [-127, 127] (exactly 0 at -127; NaN passes). */
  @inline static exp2(t: v128): v128 {
    const tm = V.exp2Round(t);
    const f = V.exp2Frac(t, tm);
    return f32x4.mul(V.madd(V.exp2Poly(f), f, f32x4.splat(1.0)), i32x4.shl(tm, 23));
  }
  /** {@link V.vexpNeg} of one float (row tails). */
  @inline static sexpNeg(x: f32): f32 {
    return f32x4.extract_lane(V.vexpNeg(f32x4.splat(x)), 0);
  }
  /** 1 / (1 + exp(-x)): exp overflowing to inf gives exactly 0, so no clamp is needed. */
  @inline static vsigmoid(x: v128): v128 {
    return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), V.vexp(f32x4.neg(x))));
  }
  /**
   * tanh(x): a 13/6 odd/even rational approximation on [-7.905, 7.905] (Eigen's float tanh,
   * whose error is a few ulp), x itself below 4e-4 where tanh(x) rounds to x. NaN propagates
   * through min/max.
   */
  @inline static vtanh(x0: v128): v128 {
    const x = f32x4.max(f32x4.min(x0, f32x4.splat(7.905311107635498)), f32x4.splat(-7.905311107635498));
    const x2 = f32x4.mul(x, x);
    let p = f32x4.add(f32x4.mul(x2, f32x4.splat(-2.76076847742355e-16)), f32x4.splat(2.00018790482477e-13));
    p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(-8.60467152213735e-11));
    p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(5.12229709037114e-8));
    p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(1.48572235717979e-5));
    p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(6.37261928875436e-4));
    p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(4.89352455891786e-3));
    p = f32x4.mul(x, p);
    let q = f32x4.add(f32x4.mul(x2, f32x4.splat(1.19825839466702e-6)), f32x4.splat(1.18534705686654e-4));
    q = f32x4.add(f32x4.mul(x2, q), f32x4.splat(2.268434632439e-3));
    q = f32x4.add(f32x4.mul(x2, q), f32x4.splat(4.89352518554385e-3));
    const tiny = f32x4.lt(f32x4.abs(x0), f32x4.splat(0.0004));
    return v128.bitselect(x0, f32x4.div(p, q), tiny);
  }
  /** Scalar versions for row tails: the same formulas on lane 0. */
  @inline static sexp(x: f32): f32 {
    return f32x4.extract_lane(V.vexp(f32x4.splat(x)), 0);
  }
  /**
   * Sum of `n` floats at `x`, accumulated in float64 like the JS kernel: four f64x2 chains
   * over two vectors per iteration, so the adds overlap instead of waiting on each other.
   */
  @inline static rowSum64(x: usize, n: i32): f64 {
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let s2 = f64x2.splat(0);
    let s3 = f64x2.splat(0);
    const vec8 = (<usize>(n & ~7)) << 2;
    const vecEnd = (<usize>(n & ~3)) << 2;
    let o: usize = 0;
    for (; o < vec8; o += 32) {
      const v = v128.load(x + o);
      const w = v128.load(x + o, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(w));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(i32x4.shuffle(w, w, 2, 3, 0, 1)));
    }
    if (o < vecEnd) {
      const v = v128.load(x + o);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
      o += 16;
    }
    const t0 = f64x2.add(s0, s2);
    const t1 = f64x2.add(s1, s3);
    let s = f64x2.extract_lane(t0, 0) + f64x2.extract_lane(t0, 1) + f64x2.extract_lane(t1, 0) + f64x2.extract_lane(t1, 1);
    const end = (<usize>n) << 2;
    for (; o < end; o += 4) s += <f64>load<f32>(x + o);
    return s;
  }
  /** Max of a row; NaN if any element is NaN (f32x4.max propagates it, the tail checks). */
  @inline static rowMax(x: usize, n: i32): f32 {
    let m = f32x4.splat(<f32>Number.NEGATIVE_INFINITY);
    const vecEnd = (<usize>(n & ~3)) << 2;
    let o: usize = 0;
    for (; o < vecEnd; o += 16) m = f32x4.max(m, v128.load(x + o));
    let s = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const end = (<usize>n) << 2;
    for (; o < end; o += 4) s = max(s, load<f32>(x + o));
    return s;
  }
  /** Loads 4 floats at `p`, or splats the one float at `p` in the scalar tail. */
  @inline static ld(p: usize, tail: bool): v128 {
    return tail ? f32x4.splat(load<f32>(p)) : v128.load(p);
  }
  /** Stores 4 floats at `p`, or lane 0 in the scalar tail. */
  @inline static st(p: usize, v: v128, tail: bool): void {
    if (tail) store<f32>(p, f32x4.extract_lane(v, 0));
    else v128.store(p, v);
  }
}

// ---------------------------------------------------------------------------------------
// GEMM: C[m, n] = A[m, k] @ B[k, n] (+ bias[n]), 2x16 register tiles over packed B panels.
// 2 rows x 16 columns = 8 f32x4 accumulators + 4 B vectors + 2 A splats = 14 live v128:
// the measured sweet spot (bigger tiles spill because V8 only uses 16 xmm registers).

const PANEL: i32 = 16;

/**
 * Packs the `[k, n]` matrix at `src` (element strides `rs`, `cs`) into panels of 16 columns:
 * panel q holds rows 0..k-1 of columns 16q..16q+15 contiguously (k * 16 floats), with
 * columns past `n` zero so the micro-kernel never needs a column edge case. Three layouts
 * have vector paths: row-major (`cs` 1, whole panels: 64-byte row copies), column-major
 * (`rs` 1: a transposed weight, `x @ Wᵀ`, or K in `q kᵀ`: 4x4 blocks transposed in registers,
 * a scalar gather cost about 4x more) and anything else element by element.
 */
export function packB(src: usize, rs: i32, cs: i32, k: i32, n: i32, dst: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  for (let q = 0; q < panels; q++) {
    const j0 = q * PANEL;
    const cols = min(PANEL, n - j0);
    const d = dst + ((<usize>q * <usize>k * <usize>PANEL) << 2);
    if (cs === 1 && cols === PANEL) {
      let o = d;
      for (let p = 0; p < k; p++) {
        const s = src + ((<usize>p * <usize>rs + <usize>j0) << 2);
        v128.store(o, v128.load(s));
        v128.store(o, v128.load(s, 16), 16);
        v128.store(o, v128.load(s, 32), 32);
        v128.store(o, v128.load(s, 48), 48);
        o += PANEL << 2;
      }
      continue;
    }
    // Column-major source: groups of 4 whole columns go through 4x4 transposes (4 floats
    // down each column in, 4 panel rows of 4 columns out); the rest, and the zero
    // padding, element by element below.
    let jv = 0;
    if (rs === 1) {
      jv = cols & ~3;
      const kv = k & ~3;
      for (let jj = 0; jj < jv; jj += 4) {
        const col = src + ((<usize>(j0 + jj) * <usize>cs) << 2);
        const cb = (<usize>cs) << 2;
        const o = d + ((<usize>jj) << 2);
        for (let p = 0; p < kv; p += 4) {
          const s0 = col + ((<usize>p) << 2);
          const o0 = o + ((<usize>p * <usize>PANEL) << 2);
          T.store4T(v128.load(s0), v128.load(s0 + cb), v128.load(s0 + 2 * cb), v128.load(s0 + 3 * cb), o0, PANEL << 2);
        }
        for (let p = kv; p < k; p++) {
          const o0 = o + ((<usize>p * <usize>PANEL) << 2);
          const s0 = col + ((<usize>p) << 2);
          for (let c = 0; c < 4; c++) store<f32>(o0 + ((<usize>c) << 2), load<f32>(s0 + <usize>c * cb));
        }
      }
    }
    for (let p = 0; p < k; p++) {
      const row = src + ((<usize>p * <usize>rs) << 2);
      const o = d + ((<usize>p * <usize>PANEL) << 2);
      for (let jj = jv; jj < PANEL; jj++) {
        store<f32>(o + ((<usize>jj) << 2), jj < cols ? load<f32>(row + ((<usize>(j0 + jj) * <usize>cs) << 2)) : 0);
      }
    }
  }
}

/**
 * Copies the strided `[m, k]` matrix at `src` into row-major `dst` (a transposed A operand).
 * Column-major A (`rs` 1: `aᵀ @ b`, e.g. a weight gradient) is transposed in 4x4 register
 * blocks; other layouts are gathered element by element.
 */
export function packA(src: usize, rs: i32, cs: i32, m: i32, k: i32, dst: usize): void {
  const rowBytes = (<usize>k) << 2;
  let i0 = 0;
  if (rs === 1) {
    // Row-major source of Aᵀ: 4 floats of source row p are A[i..i+3][p]; 4 such rows
    // transposed are dst rows i..i+3 at columns p..p+3.
    const cb = (<usize>cs) << 2;
    const kv = k & ~3;
    const m4 = m & ~3;
    // 16 rows (one 64-byte source line) at a time, so every source line is read once.
    for (let i16 = 0; i16 < m4; i16 += 16) {
      const iEnd = min(i16 + 16, m4);
      for (let p = 0; p < kv; p += 4) {
        const s0 = src + <usize>p * cb;
        for (let i = i16; i < iEnd; i += 4) {
          const si = s0 + ((<usize>i) << 2);
          T.store4T(
            v128.load(si),
            v128.load(si + cb),
            v128.load(si + 2 * cb),
            v128.load(si + 3 * cb),
            dst + <usize>i * rowBytes + ((<usize>p) << 2),
            rowBytes,
          );
        }
      }
      for (let i = i16; i < iEnd; i++) {
        for (let p = kv; p < k; p++)
          store<f32>(dst + <usize>i * rowBytes + ((<usize>p) << 2), load<f32>(src + <usize>p * cb + ((<usize>i) << 2)));
      }
    }
    i0 = m4;
  }
  let d = dst + <usize>i0 * rowBytes;
  for (let i = i0; i < m; i++) {
    const row = src + ((<usize>i * <usize>rs) << 2);
    for (let p = 0; p < k; p++) {
      store<f32>(d, load<f32>(row + ((<usize>p * <usize>cs) << 2)));
      d += 4;
    }
  }
}

/** The 4x4 transpose of the packing routines (static for the reason given on `V`). */
// biome-ignore lint/complexity/noStaticOnlyClass: see V
class T {
  /** Stores lane j of x0..x3 (as one vector: x0[j], x1[j], x2[j], x3[j]) at `o + j * step` bytes. */
  @inline static store4T(x0: v128, x1: v128, x2: v128, x3: v128, o: usize, step: usize): void {
    const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
    const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
    const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
    const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
    v128.store(o, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
    v128.store(o + step, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
    v128.store(o + 2 * step, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
    v128.store(o + 3 * step, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
  }
}

/** Rows of A per cache block: 64 rows x 256 k x 4 bytes = 64 KiB of A stay in L2. */
const MC: i32 = 64;
/** Depth per cache block: one panel's 256 x 16 floats (16 KiB) stay in L1 across a row block. */
const KC: i32 = 256;

/**
 * GEMM over a range of tasks, so threads can split the work: task `t` is batch
 * `t / panels`, column panel `t % panels` (panels = ceil(n / 16)). A is row-major with row
 * stride `lda` elements; B is packed by {@link packB}; C is row-major `[m, n]` (row stride
 * n) and must be readable 16 floats past its end; byte strides between batches are
 * `aBatch`, `bBatch`, `cBatch` (0 = broadcast). `bias` (0 = none) must be readable up to a
 * multiple of 16 floats.
 */
export function gemm(
  a: usize,
  aBatch: usize,
  lda: i32,
  b: usize,
  bBatch: usize,
  c: usize,
  cBatch: usize,
  bias: usize,
  m: i32,
  n: i32,
  k: i32,
  t0: i32,
  t1: i32,
): void {
  const panels = (n + PANEL - 1) / PANEL;
  let t = t0;
  while (t < t1) {
    const bi = t / panels;
    const qa = t - bi * panels;
    const qb = min(panels, qa + (t1 - t));
    gemmBlocked(a + <usize>bi * aBatch, lda, b + <usize>bi * bBatch, c + <usize>bi * cBatch, bias, m, n, k, qa, qb);
    t += qb - qa;
  }
}

// Shared GEMM jobs ({@link gemmTasks}): a control block of i32 words in the memory, then one
// state word per unit. JavaScript (src/wasm/kernels.ts, runGemm) writes the header and zeroes
// the states before it posts the job.
/** Next unit to claim (threads advance it with compare-exchange). */
const CTL_NEXT = 0;
/** Units in all. */
const CTL_UNITS = 1;
/** Tasks per unit. */
const CTL_GROUP = 2;
/** Tasks in all: batch x row blocks x column panels. */
const CTL_TASKS = 3;
/** Threads sharing the job (sizes the claims). */
const CTL_PARTS = 4;
/** Rows per row block. */
const CTL_ROWS = 5;
/** Row blocks per batch entry. */
const CTL_ROW_BLOCKS = 6;
/** Column panels per task. */
const CTL_GROUP_PANELS = 7;
/**
 * 0: A is row-major (row stride `lda`). Otherwise A is column-major (`A[i][p]` at element
 * `i + p * lda`: a transposed operand such as dYᵀ in a weight gradient), and this word is
 * the byte address of the threads' packing buffers, {@link gemmABlockFloats} floats per part:
 * each A block is packed row-major there right before the tiles use it.
 */
const CTL_A_PACK = 8;
/**
 * 0: B is packed ({@link packB}). Otherwise B is the strided `[k, n]` source itself (element
 * strides in {@link CTL_B_RS}, {@link CTL_B_CS}; `bBatch` bytes between batch entries) and
 * this word is the byte address of the threads' B buffers, {@link gemmBBlockFloats} floats
 * per part: each task packs the KC x 16 slice of a panel there right before its tiles use
 * it. For a B used once (a weight that changed since its last product, an activation) this
 * replaces a whole packB pass before the GEMM, which ran on one thread and wrote the panels
 * through memory only for the tiles to read them back.
 */
const CTL_B_PACK = 9;
/** Element stride between B's rows (k) when {@link CTL_B_PACK} is set. */
const CTL_B_RS = 10;
/** Element stride between B's columns (n) when {@link CTL_B_PACK} is set. */
const CTL_B_CS = 11;
/** First unit state: 0 unclaimed, part + 1 while that part runs it, -1 done. */
const CTL_STATE = 16;

/**
 * One part of a GEMM shared by several threads. The work is cut into tasks (batch entry, row
 * block, 16-column panel; the control block at `ctl` says how) grouped into units; every
 * thread claims runs of units from one counter until none is left, so a thread that starts
 * late or runs slowly takes less, and nobody waits for a fixed half. Each claim takes a
 * share of what is left (guided self-scheduling: large runs first for locality, single
 * units at the end for balance). A task computes its whole tile of C in a fixed order
 * whichever thread runs it, so results do not depend on the split.
 *
 * Units this part claimed but left unfinished are then run here: that happens only when the
 * caller redoes the part of a worker that died mid-way (`part` is that worker's), since a
 * live part finishes every unit it claims. Other arguments as {@link gemm}.
 */
export function gemmTasks(
  a: usize,
  aBatch: usize,
  lda: i32,
  b: usize,
  bBatch: usize,
  c: usize,
  cBatch: usize,
  bias: usize,
  m: i32,
  n: i32,
  k: i32,
  ctl: usize,
  part: i32,
): void {
  const units = load<i32>(ctl + (CTL_UNITS << 2));
  const group = load<i32>(ctl + (CTL_GROUP << 2));
  const tasks = load<i32>(ctl + (CTL_TASKS << 2));
  const share = 2 * load<i32>(ctl + (CTL_PARTS << 2));
  const rows = load<i32>(ctl + (CTL_ROWS << 2));
  const rowBlocks = load<i32>(ctl + (CTL_ROW_BLOCKS << 2));
  const groupPanels = load<i32>(ctl + (CTL_GROUP_PANELS << 2));
  const aPack = <usize>load<i32>(ctl + (CTL_A_PACK << 2));
  const bPack = <usize>load<i32>(ctl + (CTL_B_PACK << 2));
  // This part's packing buffers (0: A is read in place; B is packed already).
  const ap = aPack === 0 ? 0 : aPack + ((<usize>part * <usize>gemmABlockFloats()) << 2);
  const bp = bPack === 0 ? 0 : bPack + ((<usize>part * <usize>gemmBBlockFloats()) << 2);
  const brs = load<i32>(ctl + (CTL_B_RS << 2));
  const bcs = load<i32>(ctl + (CTL_B_CS << 2));
  const state = ctl + (CTL_STATE << 2);
  const mine = part + 1;
  for (;;) {
    const u0 = atomic.load<i32>(ctl + (CTL_NEXT << 2));
    if (u0 >= units) break;
    const u1 = min(units, u0 + max(1, (units - u0) / share));
    if (atomic.cmpxchg<i32>(ctl + (CTL_NEXT << 2), u0, u1) !== u0) continue;
    for (let u = u0; u < u1; u++) atomic.store<i32>(state + ((<usize>u) << 2), mine);
    gemmTaskRange(
      a,
      aBatch,
      lda,
      ap,
      b,
      bBatch,
      bp,
      brs,
      bcs,
      c,
      cBatch,
      bias,
      m,
      n,
      k,
      rows,
      rowBlocks,
      groupPanels,
      u0 * group,
      min(tasks, u1 * group),
    );
    for (let u = u0; u < u1; u++) atomic.store<i32>(state + ((<usize>u) << 2), -1);
  }
  for (let u = 0; u < units; u++) {
    const s = state + ((<usize>u) << 2);
    if (atomic.load<i32>(s) !== mine) continue;
    gemmTaskRange(
      a,
      aBatch,
      lda,
      ap,
      b,
      bBatch,
      bp,
      brs,
      bcs,
      c,
      cBatch,
      bias,
      m,
      n,
      k,
      rows,
      rowBlocks,
      groupPanels,
      u * group,
      min(tasks, (u + 1) * group),
    );
    atomic.store<i32>(s, -1);
  }
}

/**
 * Tasks [t0, t1) of a {@link gemmTasks} job: runs of panel groups within one (batch, row
 * block). `ap`: 0 for a row-major A, else the packing buffer of a column-major A.
 */
function gemmTaskRange(
  a: usize,
  aBatch: usize,
  lda: i32,
  ap: usize,
  b: usize,
  bBatch: usize,
  bp: usize,
  brs: i32,
  bcs: i32,
  c: usize,
  cBatch: usize,
  bias: usize,
  m: i32,
  n: i32,
  k: i32,
  rows: i32,
  rowBlocks: i32,
  groupPanels: i32,
  t0: i32,
  t1: i32,
): void {
  const panels = (n + PANEL - 1) / PANEL;
  const groups = (panels + groupPanels - 1) / groupPanels;
  const perBatch = rowBlocks * groups;
  let t = t0;
  while (t < t1) {
    const bi = t / perBatch;
    const rest = t - bi * perBatch;
    const rb = rest / groups;
    const ga = rest - rb * groups;
    const gb = min(groups, ga + (t1 - t));
    const r0 = rb * rows;
    const r1 = min(m, r0 + rows);
    // Row r0 of A: r0 rows down a row-major A, r0 elements along a column-major one.
    const ab = a + <usize>bi * aBatch + ((ap === 0 ? <usize>r0 * <usize>lda : <usize>r0) << 2);
    const cb = c + <usize>bi * cBatch + <usize>r0 * ((<usize>n) << 2);
    const qa = ga * groupPanels;
    const qb = min(panels, gb * groupPanels);
    if (bp !== 0) gemmSourceB(ab, lda, b + <usize>bi * bBatch, brs, bcs, bp, cb, bias, r1 - r0, n, k, qa, qb);
    else if (ap === 0) gemmBlocked(ab, lda, b + <usize>bi * bBatch, cb, bias, r1 - r0, n, k, qa, qb);
    else gemmPackedA(ab, lda, ap, b + <usize>bi * bBatch, cb, bias, r1 - r0, n, k, qa, qb);
    t += gb - ga;
  }
}

/** Floats of one thread's B packing buffer in a {@link gemmTasks} job (one KC x 16 panel slice). */
export function gemmBBlockFloats(): i32 {
  return KC * PANEL;
}

/** Floats of one thread's A packing buffer in a {@link gemmTasks} job (one MC x KC block). */
export function gemmABlockFloats(): i32 {
  return <i32>((<usize>(MC >> 2) * quadStride(KC)) >> 2);
}

/** Bytes between the quads of a packed A block ({@link packQuads}) `k` deep (small: binaryen inlines it). */
function quadStride(k: i32): usize {
  // One cache line more than the data: quads a multiple of 4 KiB apart would all map to the
  // same L1 sets, and the packing loop writes to every quad of the block in turn.
  return ((<usize>k) << 4) + 64;
}

/**
 * Packs a column-major block of A (`A[i][p]` at element `i + p * cs` of `src`; `m` rows,
 * `k` deep) into quads: rows 4g..4g+3 go to `dst + g * quadStride(k)` bytes, the four
 * rows' values at depth p side by side (16 bytes at `+ p * 16`). In the source those four
 * values are already adjacent, so a quad row is one 16-byte copy (no transpose), and the
 * micro-kernel then reads A sequentially. The source is read one depth row at a time (its
 * `m` values are contiguous: whole cache lines, each read once). Rows past `m` in the last
 * quad are zero.
 */
function packQuads(src: usize, cs: i32, m: i32, k: i32, dst: usize): void {
  const m4 = m & ~3;
  const rowBytes = (<usize>cs) << 2;
  const qs = quadStride(k);
  const quads = <usize>(m4 >> 2);
  let s = src;
  let d = dst;
  for (let p = 0; p < k; p++) {
    let o = d;
    for (let g: usize = 0; g < quads; g++) {
      v128.store(o, v128.load(s + (g << 4)));
      o += qs;
    }
    if (m4 < m) {
      const t = s + (quads << 4);
      for (let r = 0; r < 4; r++) store<f32>(o + ((<usize>r) << 2), m4 + r < m ? load<f32>(t + ((<usize>r) << 2)) : 0);
    }
    s += rowBytes;
    d += 16;
  }
}

/**
 * Column panels [qa, qb) of one GEMM, cache-blocked GotoBLAS-style: for each KC-deep slice
 * of k and each MC-row block of A (row-major, rows `lda` elements apart), sweep the panels
 * with 2x16 register tiles. After the first k slice the tiles start from the partial sums
 * already in C.
 */
function gemmBlocked(a: usize, lda: i32, b: usize, c: usize, bias: usize, m: i32, n: i32, k: i32, qa: i32, qb: i32): void {
  const aRow = (<usize>lda) << 2;
  const cRow = (<usize>n) << 2;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const first = p0 === 0;
    for (let i0 = 0; i0 < m; i0 += MC) {
      const i1 = min(m, i0 + MC);
      for (let q = qa; q < qb; q++) {
        const B = b + (((<usize>q * <usize>k + <usize>p0) * <usize>PANEL) << 2);
        const C = c + ((<usize>q * <usize>PANEL) << 2);
        const cols = min(PANEL, n - q * PANEL);
        // Where a tile starts: bias (or zero) on the first k slice, C's partial sums after.
        const seed = first ? (bias !== 0 ? bias + ((<usize>q * <usize>PANEL) << 2) : 0) : 1;
        let i = i0;
        for (; i + 2 <= i1; i += 2) {
          const pc = C + <usize>i * cRow;
          V.tile2(a + <usize>i * aRow + ((<usize>p0) << 2), aRow, 4, B, pc, cRow, kc, cols, seed);
        }
        if (i < i1) V.tile1(a + <usize>i * aRow + ((<usize>p0) << 2), 4, B, C + <usize>i * cRow, kc, cols, seed);
      }
    }
  }
}

/**
 * {@link gemmBlocked} with B read from its strided source (`B[p][j]` at element
 * `p * brs + j * bcs` of `b`): for each KC-deep slice and each panel, the slice is packed
 * into `bp` (16 KiB: it stays in L1) and every row of A (row-major, `lda` apart) runs over
 * it. The caller keeps `m` to a few hundred rows, so the A slice the panels share stays in
 * L2 (this loop has no MC blocking: the B slice is packed once per task and slice).
 */
function gemmSourceB(
  a: usize,
  lda: i32,
  b: usize,
  brs: i32,
  bcs: i32,
  bp: usize,
  c: usize,
  bias: usize,
  m: i32,
  n: i32,
  k: i32,
  qa: i32,
  qb: i32,
): void {
  const aRow = (<usize>lda) << 2;
  const cRow = (<usize>n) << 2;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const first = p0 === 0;
    for (let q = qa; q < qb; q++) {
      const j0 = q * PANEL;
      const cols = min(PANEL, n - j0);
      packB(b + ((<usize>p0 * <usize>brs + <usize>j0 * <usize>bcs) << 2), brs, bcs, kc, cols, bp);
      const C = c + ((<usize>j0) << 2);
      const seed = first ? (bias !== 0 ? bias + ((<usize>j0) << 2) : 0) : 1;
      const A = a + ((<usize>p0) << 2);
      let i = 0;
      for (; i + 2 <= m; i += 2) V.tile2(A + <usize>i * aRow, aRow, 4, bp, C + <usize>i * cRow, cRow, kc, cols, seed);
      if (i < m) V.tile1(A + <usize>i * aRow, 4, bp, C + <usize>i * cRow, kc, cols, seed);
    }
  }
}

/**
 * {@link gemmBlocked} for a column-major A (`A[i][p]` at element `i + p * lda`): each
 * MC x KC block is first copied into `ap` in quads ({@link packQuads}: in L2 for all the
 * panels), instead of a whole transposed copy of A made before the GEMM (a write and a read
 * of all of A through memory, and a transpose). A function of its own: one loop nest with
 * both layouts made V8 compile the row-major 1-row tile at half speed.
 */
function gemmPackedA(a: usize, lda: i32, ap: usize, b: usize, c: usize, bias: usize, m: i32, n: i32, k: i32, qa: i32, qb: i32): void {
  const cRow = (<usize>n) << 2;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const first = p0 === 0;
    const quad = quadStride(kc);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const i1 = min(m, i0 + MC);
      packQuads(a + ((<usize>i0 + <usize>p0 * <usize>lda) << 2), lda, i1 - i0, kc, ap);
      for (let q = qa; q < qb; q++) {
        const B = b + (((<usize>q * <usize>k + <usize>p0) * <usize>PANEL) << 2);
        const C = c + ((<usize>q * <usize>PANEL) << 2);
        const cols = min(PANEL, n - q * PANEL);
        const seed = first ? (bias !== 0 ? bias + ((<usize>q * <usize>PANEL) << 2) : 0) : 1;
        // Rows i, i + 1 (i - i0 even) are lanes r, r + 1 of one quad.
        let i = i0;
        for (; i + 2 <= i1; i += 2) {
          const pa = ap + <usize>((i - i0) >> 2) * quad + ((<usize>((i - i0) & 3)) << 2);
          V.tile2(pa, 4, 16, B, C + <usize>i * cRow, cRow, kc, cols, seed);
        }
        if (i < i1)
          V.tile1(ap + <usize>((i - i0) >> 2) * quad + ((<usize>((i - i0) & 3)) << 2), 16, B, C + <usize>i * cRow, kc, cols, seed);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// vector math (float32, within a few ulp of the correctly rounded result)

// ---------------------------------------------------------------------------------------
// elementwise (contiguous float32, x/a/b/y may alias)

/** Unary op codes; src/wasm/ops.ts holds the same table. */
const U_EXP = 0;
const U_TANH = 1;
const U_SIGMOID = 2;
const U_RELU = 3;
const U_NEG = 4;
const U_ABS = 5;
const U_SQRT = 6;
const U_SILU = 7;
const U_GELU_TANH = 8;

/** `y[i] = op(x[i])` for `count` floats. */
export function unary(op: i32, x: usize, y: usize, count: i32): void {
  const vecEnd = (<usize>(count & ~3)) << 2;
  const end = (<usize>count) << 2;
  const zero = f32x4.splat(0);
  // The tail is run through the vector code on a splat, so both give identical values.
  for (let o: usize = 0; o < end; o += 16) {
    const v = o < vecEnd ? v128.load(x + o) : f32x4.splat(load<f32>(x + o));
    let r: v128;
    switch (op) {
      case U_EXP:
        r = V.vexp(v);
        break;
      case U_TANH:
        r = V.vtanh(v);
        break;
      case U_SIGMOID:
        r = V.vsigmoid(v);
        break;
      // relu keeps NaN (PyTorch's clamp_min does): select x where x > 0 or x is NaN.
      case U_RELU:
        r = v128.bitselect(v, zero, v128.or(f32x4.gt(v, zero), f32x4.ne(v, v)));
        break;
      case U_NEG:
        r = f32x4.neg(v);
        break;
      case U_ABS:
        r = f32x4.abs(v);
        break;
      case U_SQRT:
        r = f32x4.sqrt(v);
        break;
      case U_SILU:
        r = f32x4.mul(v, V.vsigmoid(v));
        break;
      // 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): no cancellation
      // of 1 + tanh(u) in the negative tail.
      case U_GELU_TANH: {
        const u2 = f32x4.mul(
          f32x4.splat(1.5957691216057308),
          f32x4.add(v, f32x4.mul(f32x4.splat(0.044715), f32x4.mul(v, f32x4.mul(v, v)))),
        );
        r = f32x4.mul(v, V.vsigmoid(u2));
        break;
      }
      default:
        r = v;
    }
    if (o < vecEnd) v128.store(y + o, r);
    else {
      store<f32>(y + o, f32x4.extract_lane(r, 0));
      o -= 12; // scalar tail: advance one float per iteration
    }
  }
}

/** Binary op codes; src/wasm/ops.ts holds the same table. */
const B_ADD = 0;
const B_SUB = 1;
const B_MUL = 2;
const B_DIV = 3;
const B_MAX = 4;
const B_MIN = 5;

/**
 * `y[i] = a[i] op b[i]` for `count` floats. f32x4.max/min propagate NaN like PyTorch. The
 * op is chosen once per call, outside the loop ({@link E.run}).
 */
export function binary(op: i32, a: usize, b: usize, y: usize, count: i32): void {
  E.dispatch(op, a, 1, b, 1, y, count);
}

// ---------------------------------------------------------------------------------------
// row kernels (contiguous rows of length n)

/** `y[r] = sum(x[r, :])` for `rows` rows of `n` floats. */
export function sumRows(x: usize, y: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) {
    store<f32>(y + ((<usize>r) << 2), <f32>V.rowSum64(x + ((<usize>r * <usize>n) << 2), n));
  }
}

/**
 * `y[c] = sum(x[:, c])` for columns [c0, c1) of a row-major `[rows, n]` block (a sum over
 * leading axes: a bias gradient, layerNorm's weight gradient). Strips of 16 columns keep
 * their sums in eight float64x2 registers while the rows are added in order (each row gives
 * the strip one cache line), then round once, like the JS kernel; narrower strips of 4, then
 * single columns, finish the range.
 */
export function sumCols(x: usize, y: usize, rows: i32, n: i32, c0: i32, c1: i32): void {
  const rowBytes = (<usize>n) << 2;
  const rowsEnd = <usize>rows * rowBytes;
  let c = c0;
  for (; c + 16 <= c1; c += 16) {
    const col = x + ((<usize>c) << 2);
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    let a2 = f64x2.splat(0);
    let a3 = f64x2.splat(0);
    let a4 = f64x2.splat(0);
    let a5 = f64x2.splat(0);
    let a6 = f64x2.splat(0);
    let a7 = f64x2.splat(0);
    for (let o: usize = 0; o < rowsEnd; o += rowBytes) {
      const v0 = v128.load(col + o);
      const v1 = v128.load(col + o, 16);
      const v2 = v128.load(col + o, 32);
      const v3 = v128.load(col + o, 48);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v0));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v0, v0, 2, 3, 0, 1)));
      a2 = f64x2.add(a2, f64x2.promote_low_f32x4(v1));
      a3 = f64x2.add(a3, f64x2.promote_low_f32x4(i32x4.shuffle(v1, v1, 2, 3, 0, 1)));
      a4 = f64x2.add(a4, f64x2.promote_low_f32x4(v2));
      a5 = f64x2.add(a5, f64x2.promote_low_f32x4(i32x4.shuffle(v2, v2, 2, 3, 0, 1)));
      a6 = f64x2.add(a6, f64x2.promote_low_f32x4(v3));
      a7 = f64x2.add(a7, f64x2.promote_low_f32x4(i32x4.shuffle(v3, v3, 2, 3, 0, 1)));
    }
    const out = y + ((<usize>c) << 2);
    v128.store(out, i32x4.shuffle(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5));
    v128.store(out, i32x4.shuffle(f32x4.demote_f64x2_zero(a2), f32x4.demote_f64x2_zero(a3), 0, 1, 4, 5), 16);
    v128.store(out, i32x4.shuffle(f32x4.demote_f64x2_zero(a4), f32x4.demote_f64x2_zero(a5), 0, 1, 4, 5), 32);
    v128.store(out, i32x4.shuffle(f32x4.demote_f64x2_zero(a6), f32x4.demote_f64x2_zero(a7), 0, 1, 4, 5), 48);
  }
  for (; c + 4 <= c1; c += 4) {
    const col = x + ((<usize>c) << 2);
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    for (let o: usize = 0; o < rowsEnd; o += rowBytes) {
      const v = v128.load(col + o);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
    }
    v128.store(y + ((<usize>c) << 2), i32x4.shuffle(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5));
  }
  for (; c < c1; c++) {
    const col = x + ((<usize>c) << 2);
    let a: f64 = 0;
    for (let o: usize = 0; o < rowsEnd; o += rowBytes) a += <f64>load<f32>(col + o);
    store<f32>(y + ((<usize>c) << 2), <f32>a);
  }
}

/**
 * Natural log of a positive, finite float64 (here a softmax sum, >= 1). Written out rather
 * than `Math.log` because AssemblyScript's log reads lookup tables from a data segment, and
 * this module must have none (see the top of the file). x = 2^e f with f in [sqrt(1/2),
 * sqrt(2)), then log f = 2 atanh(t), t = (f - 1) / (f + 1), |t| < 0.172: 12 odd terms reach
 * float64 precision.
 */
function ln(x: f64): f64 {
  if (!(x > 0) || x === Number.POSITIVE_INFINITY) return x === 0 ? Number.NEGATIVE_INFINITY : x > 0 ? x : Number.NaN;
  const bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  // biome-ignore lint/correctness/noPrecisionLoss: a u64 mask in AssemblyScript, not a JS number
  let f = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (e === -1023) return ln(x * 4503599627370496.0) - 36.04365338911715; // subnormal: scale by 2^52
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: spelled out, as in the formula above
  if (f > 1.4142135623730951) {
    f *= 0.5;
    e += 1;
  }
  const t = (f - 1) / (f + 1);
  const t2 = t * t;
  let sum: f64 = 0;
  for (let i = 23; i >= 3; i -= 2) sum = (sum + 1.0 / <f64>i) * t2;
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: spelled out, as in the formula above
  return <f64>e * 0.6931471805599453 + 2 * t * (1 + sum);
}

/**
 * Max of a row with four independent accumulators (one `max` chain would wait on the
 * previous one's latency at every vector); NaN if any element is NaN (f32x4.max propagates it).
 */
function rowMax4(x: usize, n: i32): f32 {
  const ninf = f32x4.splat(<f32>Number.NEGATIVE_INFINITY);
  let m0 = ninf;
  let m1 = ninf;
  let m2 = ninf;
  let m3 = ninf;
  const vec16 = (<usize>(n & ~15)) << 2;
  const vecEnd = (<usize>(n & ~3)) << 2;
  const end = (<usize>n) << 2;
  let o: usize = 0;
  for (; o < vec16; o += 64) {
    m0 = f32x4.max(m0, v128.load(x + o));
    m1 = f32x4.max(m1, v128.load(x + o, 16));
    m2 = f32x4.max(m2, v128.load(x + o, 32));
    m3 = f32x4.max(m3, v128.load(x + o, 48));
  }
  for (; o < vecEnd; o += 16) m0 = f32x4.max(m0, v128.load(x + o));
  const m = f32x4.max(f32x4.max(m0, m1), f32x4.max(m2, m3));
  let s = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; o < end; o += 4) s = max(s, load<f32>(x + o));
  return s;
}

/**
 * `exp(x[j] - m)` for the `n` floats at `x`, stored at `y` when `keep`, returning their sum:
 * float32 lanes over {@link SUM_CHUNK} floats, then float64 (as the attention's `expRow`),
 * two vectors per iteration so that the two exps overlap.
 */
function expSumRow(x: usize, y: usize, n: i32, m: f32, keep: bool): f64 {
  const vm = f32x4.splat(m);
  const vec8 = (<usize>(n & ~7)) << 2;
  const vecEnd = (<usize>(n & ~3)) << 2;
  const end = (<usize>n) << 2;
  let sum: f64 = 0;
  let o: usize = 0;
  while (o < vec8) {
    const chunkEnd = min(vec8, o + (SUM_CHUNK << 2));
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    for (; o < chunkEnd; o += 32) {
      const e0 = V.vexpNeg(f32x4.sub(v128.load(x + o), vm));
      const e1 = V.vexpNeg(f32x4.sub(v128.load(x + o, 16), vm));
      if (keep) {
        v128.store(y + o, e0);
        v128.store(y + o, e1, 16);
      }
      acc0 = f32x4.add(acc0, e0);
      acc1 = f32x4.add(acc1, e1);
    }
    sum += R.lanesSum(f32x4.add(acc0, acc1));
  }
  if (o < vecEnd) {
    const e = V.vexpNeg(f32x4.sub(v128.load(x + o), vm));
    if (keep) v128.store(y + o, e);
    sum += R.lanesSum(e);
    o += 16;
  }
  for (; o < end; o += 4) {
    const e = V.sexpNeg(load<f32>(x + o) - m);
    if (keep) store<f32>(y + o, e);
    sum += <f64>e;
  }
  return sum;
}

/**
 * Softmax (`log` = 0) or log-softmax (`log` = 1) of each row, max-subtracted, in three passes
 * over a row (it stays in cache between them): the max, the exps and their sum, then the
 * scaling. The exponent is never positive after the max is subtracted, so the exp is
 * {@link V.vexpNeg} (a row of -inf but its max gives exact zeros, NaN passes). Log-softmax is
 * PyTorch's float32 formula `(x - max) - log(sum)`, in that order: `max + log(sum)` would
 * round the log away once |max| is large; the log itself is taken in float64.
 */
export function softmaxRows(x: usize, y: usize, rows: i32, n: i32, log: i32): void {
  const vec8 = (<usize>(n & ~7)) << 2;
  const end = (<usize>n) << 2;
  for (let r = 0; r < rows; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    const py = y + ((<usize>r * <usize>n) << 2);
    const m = rowMax4(px, n);
    const s = expSumRow(px, py, n, m, !log);
    let o: usize = 0;
    if (!log) {
      const inv = <f32>(1.0 / s);
      const vi = f32x4.splat(inv);
      for (; o < vec8; o += 32) {
        v128.store(py + o, f32x4.mul(v128.load(py + o), vi));
        v128.store(py + o, f32x4.mul(v128.load(py + o, 16), vi), 16);
      }
      for (; o < end; o += 4) store<f32>(py + o, load<f32>(py + o) * inv);
    } else {
      const ls = <f32>ln(s);
      const vm = f32x4.splat(m);
      const vl = f32x4.splat(ls);
      for (; o < vec8; o += 32) {
        v128.store(py + o, f32x4.sub(f32x4.sub(v128.load(px + o), vm), vl));
        v128.store(py + o, f32x4.sub(f32x4.sub(v128.load(px + o, 16), vm), vl), 16);
      }
      for (; o < end; o += 4) store<f32>(py + o, load<f32>(px + o) - m - ls);
    }
  }
}

/**
 * Cross-entropy's picks: per row the log-softmax value at class `index[r]` (int32), computed
 * as {@link softmaxRows} computes every value of the row (the same max, exp sum and log, then
 * `(x - max) - log(sum)` in float32) without writing the row, and the row's stats (max,
 * float32 `1 / sum`) at `stats` for {@link logSoftmaxGatherBackwardRows}. An index outside
 * `[0, n)` (core checks them first) gives NaN.
 */
export function logSoftmaxGatherRows(x: usize, index: usize, picked: usize, stats: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    const m = rowMax4(px, n);
    const s = expSumRow(px, 0, n, m, false);
    const ls = <f32>ln(s);
    const t = load<i32>(index + ((<usize>r) << 2));
    store<f32>(picked + ((<usize>r) << 2), <u32>t < <u32>n ? load<f32>(px + ((<usize>t) << 2)) - m - ls : <f32>Number.NaN);
    store<f32>(stats + ((<usize>r) << 3), m);
    store<f32>(stats + ((<usize>r) << 3), <f32>(1.0 / s), 4);
  }
}

/**
 * Gradient of {@link logSoftmaxGatherRows} in one pass over each row: the softmax as
 * {@link softmaxRows} has it (`exp(x - max)`, times the float32 `1 / sum`), times `-g[r]`, then
 * `g[r]` added at the index: each value rounded as the softmax, mul and scatter-add kernels
 * that it replaces round theirs.
 */
export function logSoftmaxGatherBackwardRows(x: usize, stats: usize, index: usize, g: usize, dx: usize, rows: i32, n: i32): void {
  const vec8 = (<usize>(n & ~7)) << 2;
  const end = (<usize>n) << 2;
  for (let r = 0; r < rows; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    const py = dx + ((<usize>r * <usize>n) << 2);
    const m = load<f32>(stats + ((<usize>r) << 3));
    const inv = load<f32>(stats + ((<usize>r) << 3), 4);
    const gr = load<f32>(g + ((<usize>r) << 2));
    const vm = f32x4.splat(m);
    const vi = f32x4.splat(inv);
    const vg = f32x4.splat(-gr);
    let o: usize = 0;
    for (; o < vec8; o += 32) {
      v128.store(py + o, f32x4.mul(f32x4.mul(V.vexpNeg(f32x4.sub(v128.load(px + o), vm)), vi), vg));
      v128.store(py + o, f32x4.mul(f32x4.mul(V.vexpNeg(f32x4.sub(v128.load(px + o, 16), vm)), vi), vg), 16);
    }
    for (; o < end; o += 4) store<f32>(py + o, V.sexpNeg(load<f32>(px + o) - m) * inv * -gr);
    const t = load<i32>(index + ((<usize>r) << 2));
    if (<u32>t < <u32>n) {
      const pt = py + ((<usize>t) << 2);
      store<f32>(pt, load<f32>(pt) + gr);
    }
  }
}

/**
 * Layer norm of each row of `n` floats: two-pass float64 mean and biased variance (no
 * E[x^2] - E[x]^2 cancellation), then `(x - mean) * rstd * w + b` in float64 lanes and one
 * rounding, as the JS kernel does. `w`/`b` = 0 means absent. Writes mean and rstd per row.
 */
export function layerNormRows(x: usize, w: usize, b: usize, y: usize, meanOut: usize, rstdOut: usize, rows: i32, n: i32, eps: f64): void {
  const pairEnd = (<usize>(n & ~1)) << 2;
  const end = (<usize>n) << 2;
  for (let r = 0; r < rows; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    const py = y + ((<usize>r * <usize>n) << 2);
    const mean = V.rowSum64(px, n) / <f64>n;
    const vmean = f64x2.splat(mean);
    let ss = f64x2.splat(0);
    let o: usize = 0;
    for (; o < pairEnd; o += 8) {
      const d = f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(px + o)), vmean);
      ss = f64x2.add(ss, f64x2.mul(d, d));
    }
    let sss = f64x2.extract_lane(ss, 0) + f64x2.extract_lane(ss, 1);
    for (; o < end; o += 4) {
      const d = <f64>load<f32>(px + o) - mean;
      sss += d * d;
    }
    const rstd = 1.0 / Math.sqrt(sss / <f64>n + eps);
    store<f32>(meanOut + ((<usize>r) << 2), <f32>mean);
    store<f32>(rstdOut + ((<usize>r) << 2), <f32>rstd);
    const vr = f64x2.splat(rstd);
    for (o = 0; o < pairEnd; o += 8) {
      let v = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(px + o)), vmean), vr);
      if (w !== 0) v = f64x2.mul(v, f64x2.promote_low_f32x4(v128.load64_zero(w + o)));
      if (b !== 0) v = f64x2.add(v, f64x2.promote_low_f32x4(v128.load64_zero(b + o)));
      v128.store64_lane(py + o, f32x4.demote_f64x2_zero(v), 0);
    }
    for (; o < end; o += 4) {
      let v = (<f64>load<f32>(px + o) - mean) * rstd;
      if (w !== 0) v *= <f64>load<f32>(w + o);
      if (b !== 0) v += <f64>load<f32>(b + o);
      store<f32>(py + o, <f32>v);
    }
  }
}

// ---------------------------------------------------------------------------------------
// fused recurrent cells (contiguous [batch, gates * hidden] rows)

/**
 * LSTM cell: gi, gh `[batch, 4h]` (i, f, g, o; input and hidden gate sums), c `[batch, h]` →
 * h', c'. With gates = gi + gh: `c' = sigmoid(f) c + sigmoid(i) tanh(g)`, `h' = sigmoid(o) tanh(c')`.
 */
export function lstmCell(gi: usize, gh: usize, c: usize, hOut: usize, cOut: usize, batch: i32, h: i32): void {
  const vecEnd = (<usize>(h & ~3)) << 2;
  const end = (<usize>h) << 2;
  const hb = (<usize>h) << 2;
  for (let r = 0; r < batch; r++) {
    const a = gi + <usize>r * <usize>h * 16;
    const b = gh + <usize>r * <usize>h * 16;
    const row = <usize>r * hb;
    for (let o: usize = 0; o < end; ) {
      const tail = o >= vecEnd;
      const ig = V.vsigmoid(f32x4.add(V.ld(a + o, tail), V.ld(b + o, tail)));
      const fg = V.vsigmoid(f32x4.add(V.ld(a + hb + o, tail), V.ld(b + hb + o, tail)));
      const gg = V.vtanh(f32x4.add(V.ld(a + 2 * hb + o, tail), V.ld(b + 2 * hb + o, tail)));
      const og = V.vsigmoid(f32x4.add(V.ld(a + 3 * hb + o, tail), V.ld(b + 3 * hb + o, tail)));
      const cn = f32x4.add(f32x4.mul(fg, V.ld(c + row + o, tail)), f32x4.mul(ig, gg));
      V.st(cOut + row + o, cn, tail);
      V.st(hOut + row + o, f32x4.mul(og, V.vtanh(cn)), tail);
      o += tail ? 4 : 16;
    }
  }
}

/**
 * GRU cell: gi, gh `[batch, 3h]` (r, z, n; biases included), hPrev `[batch, h]` → h'.
 * `r = σ(gi_r + gh_r)`, `z = σ(gi_z + gh_z)`, `n = tanh(gi_n + r gh_n)`, `h' = (1 - z) n + z h`.
 */
export function gruCell(gi: usize, gh: usize, hPrev: usize, hOut: usize, batch: i32, h: i32): void {
  const vecEnd = (<usize>(h & ~3)) << 2;
  const end = (<usize>h) << 2;
  const hb = (<usize>h) << 2;
  const one = f32x4.splat(1.0);
  for (let r = 0; r < batch; r++) {
    const a = gi + <usize>r * <usize>h * 12;
    const b = gh + <usize>r * <usize>h * 12;
    const row = <usize>r * hb;
    for (let o: usize = 0; o < end; ) {
      const tail = o >= vecEnd;
      const rg = V.vsigmoid(f32x4.add(V.ld(a + o, tail), V.ld(b + o, tail)));
      const zg = V.vsigmoid(f32x4.add(V.ld(a + hb + o, tail), V.ld(b + hb + o, tail)));
      const ng = V.vtanh(f32x4.add(V.ld(a + 2 * hb + o, tail), f32x4.mul(rg, V.ld(b + 2 * hb + o, tail))));
      const hn = f32x4.add(f32x4.mul(f32x4.sub(one, zg), ng), f32x4.mul(zg, V.ld(hPrev + row + o, tail)));
      V.st(hOut + row + o, hn, tail);
      o += tail ? 4 : 16;
    }
  }
}

/**
 * LSTM cell backward: gi, gh `[batch, 4h]`, c `[batch, h]`, dH, dC `[batch, h]` → dGates
 * `[batch, 4h]` (the gradient of gi and of gh), dCPrev `[batch, h]`. Recomputes i, f, g, o and
 * c' as {@link lstmCell} does; `dc = dC + dH o (1 - tanh(c')^2)`, dGates = (dc g i(1-i),
 * dc c f(1-f), dc i (1-g^2), dH tanh(c') o(1-o)), dCPrev = dc f.
 */
export function lstmCellBackward(
  gi: usize,
  gh: usize,
  c: usize,
  dH: usize,
  dC: usize,
  dGates: usize,
  dCPrev: usize,
  batch: i32,
  h: i32,
): void {
  const vecEnd = (<usize>(h & ~3)) << 2;
  const end = (<usize>h) << 2;
  const hb = (<usize>h) << 2;
  const one = f32x4.splat(1.0);
  for (let r = 0; r < batch; r++) {
    const a = gi + <usize>r * <usize>h * 16;
    const b = gh + <usize>r * <usize>h * 16;
    const dg = dGates + <usize>r * <usize>h * 16;
    const row = <usize>r * hb;
    for (let o: usize = 0; o < end; ) {
      const tail = o >= vecEnd;
      const ig = V.vsigmoid(f32x4.add(V.ld(a + o, tail), V.ld(b + o, tail)));
      const fg = V.vsigmoid(f32x4.add(V.ld(a + hb + o, tail), V.ld(b + hb + o, tail)));
      const gg = V.vtanh(f32x4.add(V.ld(a + 2 * hb + o, tail), V.ld(b + 2 * hb + o, tail)));
      const og = V.vsigmoid(f32x4.add(V.ld(a + 3 * hb + o, tail), V.ld(b + 3 * hb + o, tail)));
      const cp = V.ld(c + row + o, tail);
      const tc = V.vtanh(f32x4.add(f32x4.mul(fg, cp), f32x4.mul(ig, gg)));
      const dh = V.ld(dH + row + o, tail);
      const dc = f32x4.add(V.ld(dC + row + o, tail), f32x4.mul(f32x4.mul(dh, og), f32x4.sub(one, f32x4.mul(tc, tc))));
      V.st(dg + o, f32x4.mul(f32x4.mul(dc, gg), f32x4.mul(ig, f32x4.sub(one, ig))), tail);
      V.st(dg + hb + o, f32x4.mul(f32x4.mul(dc, cp), f32x4.mul(fg, f32x4.sub(one, fg))), tail);
      V.st(dg + 2 * hb + o, f32x4.mul(f32x4.mul(dc, ig), f32x4.sub(one, f32x4.mul(gg, gg))), tail);
      V.st(dg + 3 * hb + o, f32x4.mul(f32x4.mul(dh, tc), f32x4.mul(og, f32x4.sub(one, og))), tail);
      V.st(dCPrev + row + o, f32x4.mul(dc, fg), tail);
      o += tail ? 4 : 16;
    }
  }
}

/**
 * GRU cell backward: gi, gh `[batch, 3h]`, hPrev, dH `[batch, h]` → dGi, dGh `[batch, 3h]`,
 * dHPrev `[batch, h]`. Recomputes r, z, n as {@link gruCell} does; `dn = dH (1-z)(1-n^2)`,
 * `dz = dH (h - n) z(1-z)`, `dr = dn gh_n r(1-r)`; dGi = (dr, dz, dn), dGh = (dr, dz, dn r),
 * dHPrev = dH z.
 */
export function gruCellBackward(
  gi: usize,
  gh: usize,
  hPrev: usize,
  dH: usize,
  dGi: usize,
  dGh: usize,
  dHPrev: usize,
  batch: i32,
  h: i32,
): void {
  const vecEnd = (<usize>(h & ~3)) << 2;
  const end = (<usize>h) << 2;
  const hb = (<usize>h) << 2;
  const one = f32x4.splat(1.0);
  for (let r = 0; r < batch; r++) {
    const off = <usize>r * <usize>h * 12;
    const a = gi + off;
    const b = gh + off;
    const da = dGi + off;
    const db = dGh + off;
    const row = <usize>r * hb;
    for (let o: usize = 0; o < end; ) {
      const tail = o >= vecEnd;
      const rg = V.vsigmoid(f32x4.add(V.ld(a + o, tail), V.ld(b + o, tail)));
      const zg = V.vsigmoid(f32x4.add(V.ld(a + hb + o, tail), V.ld(b + hb + o, tail)));
      const ghn = V.ld(b + 2 * hb + o, tail);
      const ng = V.vtanh(f32x4.add(V.ld(a + 2 * hb + o, tail), f32x4.mul(rg, ghn)));
      const g = V.ld(dH + row + o, tail);
      const dn = f32x4.mul(f32x4.mul(g, f32x4.sub(one, zg)), f32x4.sub(one, f32x4.mul(ng, ng)));
      const dz = f32x4.mul(f32x4.mul(g, f32x4.sub(V.ld(hPrev + row + o, tail), ng)), f32x4.mul(zg, f32x4.sub(one, zg)));
      const dr = f32x4.mul(f32x4.mul(dn, ghn), f32x4.mul(rg, f32x4.sub(one, rg)));
      V.st(da + o, dr, tail);
      V.st(da + hb + o, dz, tail);
      V.st(da + 2 * hb + o, dn, tail);
      V.st(db + o, dr, tail);
      V.st(db + hb + o, dz, tail);
      V.st(db + 2 * hb + o, f32x4.mul(dn, rg), tail);
      V.st(dHPrev + row + o, f32x4.mul(g, zg), tail);
      o += tail ? 4 : 16;
    }
  }
}

// ---------------------------------------------------------------------------------------
// strided elementwise (any layout the JS side collapsed to `rank` dims; output contiguous)
//
// `meta` points at i32 words the caller lays out: shape[rank], then each operand's element
// strides[rank], then rank odometer words (the row walk of assembly/strided.ts). A stride
// of 0 is a broadcast dim; the innermost dim runs as a vector loop when its strides are 0
// or 1 (a scalar or a row broadcast never gets expanded to full size anywhere).

// biome-ignore lint/complexity/noStaticOnlyClass: inlined helpers, as class V above
class E {
  /** `op(a, b)` on 4 lanes, the codes of {@link binary}. */
  @inline static bop(op: i32, va: v128, vb: v128): v128 {
    switch (op) {
      case B_ADD:
        return f32x4.add(va, vb);
      case B_SUB:
        return f32x4.sub(va, vb);
      case B_MUL:
        return f32x4.mul(va, vb);
      case B_DIV:
        return f32x4.div(va, vb);
      case B_MAX:
        return f32x4.max(va, vb);
      case B_MIN:
        return f32x4.min(va, vb);
      default:
        return va;
    }
  }
  /**
   * `y = a op b` for `n` floats, a and b each contiguous (`ma`/`mb` = 1) or one float
   * broadcast (0), with `op`, `ma` and `mb` constants once inlined ({@link E.dispatch}), so
   * the loop has no branch but its own; two vectors per iteration. The scalar tail goes
   * through the same vector op on a splat, so it gives the same values.
   */
  @inline static run(op: i32, ma: bool, mb: bool, a: usize, b: usize, y: usize, n: i32): void {
    const vec8 = (<usize>(n & ~7)) << 2;
    const vecEnd = (<usize>(n & ~3)) << 2;
    const end = (<usize>n) << 2;
    const fa = ma ? f32x4.splat(0) : f32x4.splat(load<f32>(a));
    const fb = mb ? f32x4.splat(0) : f32x4.splat(load<f32>(b));
    let o: usize = 0;
    for (; o < vec8; o += 32) {
      if (ma && mb) {
        v128.store(y + o, E.bop(op, v128.load(a + o), v128.load(b + o)));
        v128.store(y + o, E.bop(op, v128.load(a + o, 16), v128.load(b + o, 16)), 16);
      } else if (ma) {
        v128.store(y + o, E.bop(op, v128.load(a + o), fb));
        v128.store(y + o, E.bop(op, v128.load(a + o, 16), fb), 16);
      } else {
        v128.store(y + o, E.bop(op, fa, v128.load(b + o)));
        v128.store(y + o, E.bop(op, fa, v128.load(b + o, 16)), 16);
      }
    }
    for (; o < end; o += 4) {
      const va = ma ? f32x4.splat(load<f32>(a + o)) : fa;
      const vb = mb ? f32x4.splat(load<f32>(b + o)) : fb;
      store<f32>(y + o, f32x4.extract_lane(E.bop(op, va, vb), 0));
    }
  }
  /** {@link E.run} for one op (a constant once inlined) and the operands' layouts. */
  @inline static layouts(op: i32, sa: i32, a: usize, sb: i32, b: usize, y: usize, n: i32): void {
    if (sa === 1 && sb === 1) E.run(op, true, true, a, b, y, n);
    else if (sa === 1) E.run(op, true, false, a, b, y, n);
    else E.run(op, false, true, a, b, y, n);
  }
  /**
   * `y = a op b` for `n` floats, each operand contiguous (stride 1) or one float broadcast
   * (stride 0), not both broadcast: one loop specialised per op and layout.
   */
  @inline static dispatch(op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
    switch (op) {
      case B_ADD:
        E.layouts(B_ADD, sa, a, sb, b, y, n);
        break;
      case B_SUB:
        E.layouts(B_SUB, sa, a, sb, b, y, n);
        break;
      case B_MUL:
        E.layouts(B_MUL, sa, a, sb, b, y, n);
        break;
      case B_DIV:
        E.layouts(B_DIV, sa, a, sb, b, y, n);
        break;
      case B_MAX:
        E.layouts(B_MAX, sa, a, sb, b, y, n);
        break;
      case B_MIN:
        E.layouts(B_MIN, sa, a, sb, b, y, n);
        break;
    }
  }
  /** One row of `n` outputs: a at stride `sa`, b at stride `sb` (elements; 0 = broadcast). */
  @inline static row(op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
    if ((sa === 1 && (sb === 1 || sb === 0)) || (sa === 0 && sb === 1)) {
      E.dispatch(op, a, sa, b, sb, y, n);
      return;
    }
    const end = (<usize>n) << 2;
    const ba = (<usize>sa) << 2;
    const bb = (<usize>sb) << 2;
    let pa = a;
    let pb = b;
    for (let o: usize = 0; o < end; o += 4) {
      store<f32>(y + o, f32x4.extract_lane(E.bop(op, f32x4.splat(load<f32>(pa)), f32x4.splat(load<f32>(pb))), 0));
      pa += ba;
      pb += bb;
    }
  }
}

/**
 * `y = a op b` over a strided layout of `rank` dims (rank >= 1): meta = shape, a's strides,
 * b's strides, rank odometer words. Same op codes and float32 results as {@link binary}.
 */
export function binaryND(op: i32, a: usize, b: usize, y: usize, rank: i32, meta: usize): void {
  const last = rank - 1;
  const n = Walk.m(meta, last);
  const sa = Walk.m(meta, rank + last);
  const sb = Walk.m(meta, 2 * rank + last);
  const idx = Walk.odometer(meta, rank, 2);
  const rows = Walk.begin(idx, meta, rank);
  let pa = a;
  let pb = b;
  let py = y;
  const rowBytes = (<usize>n) << 2;
  for (let r = 0; r < rows; r++) {
    E.row(op, pa, sa, pb, sb, py, n);
    py += rowBytes;
    const d = Walk.next(idx, meta, last);
    if (d === last - 1) {
      pa += Walk.step(meta, rank, d, 2);
      pb += Walk.step(meta, 2 * rank, d, 2);
    } else {
      pa += Walk.jump(meta, rank, d, last, 2);
      pb += Walk.jump(meta, 2 * rank, d, last, 2);
    }
  }
}

/**
 * Row-major copy of a strided layout of 4-byte elements (float32 or int32: bits are moved,
 * never converted): meta = shape[rank], strides[rank], rank odometer words.
 */
export function copyND(src: usize, dst: usize, rank: i32, meta: usize): void {
  const last = rank - 1;
  const n = Walk.m(meta, last);
  const s = Walk.m(meta, rank + last);
  const idx = Walk.odometer(meta, rank, 1);
  const rows = Walk.begin(idx, meta, rank);
  let ps = src;
  let pd = dst;
  const rowBytes = (<usize>n) << 2;
  const sb = (<usize>s) << 2;
  for (let r = 0; r < rows; r++) {
    if (s === 1) memory.copy(pd, ps, rowBytes);
    else if (s === 0) {
      const v = load<i32>(ps);
      for (let o: usize = 0; o < rowBytes; o += 4) store<i32>(pd + o, v);
    } else {
      let p = ps;
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<i32>(pd + o, load<i32>(p));
        p += sb;
      }
    }
    pd += rowBytes;
    const d = Walk.next(idx, meta, last);
    ps += d === last - 1 ? Walk.step(meta, rank, d, 2) : Walk.jump(meta, rank, d, last, 2);
  }
}

// ---------------------------------------------------------------------------------------
// optimizer updates (contiguous float32, in place)

/** `adamUpdate` flag bits. */
const ADAM_DECOUPLED = 1;
const ADAM_MAXIMIZE = 2;

/**
 * One Adam/AdamW step over `count` parameters, in place on p, m, v (and vmax when it is not
 * 0, AMSGrad). Every operation rounds to float32 in the order of the composed update (core's
 * `adamUpdate_`), with plain mul/add (never the relaxed fused multiply-add), so both agree:
 * g = ±grad (+ wd p unless decoupled); p = p decay when decoupled; m = m b1 + g c1;
 * v = v b2 + (g g) c2; vmax = max(vmax, v); p = p + (m / (sqrt(v or vmax) / bc2 + eps)) negStep.
 */
export function adamUpdate(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  vmax: usize,
  count: i32,
  b1: f32,
  c1: f32,
  b2: f32,
  c2: f32,
  bc2: f32,
  eps: f32,
  negStep: f32,
  wd: f32,
  decay: f32,
  flags: i32,
): void {
  const vecEnd = (<usize>(count & ~3)) << 2;
  const end = (<usize>count) << 2;
  const decoupled = (flags & ADAM_DECOUPLED) !== 0;
  const maximize = (flags & ADAM_MAXIMIZE) !== 0;
  const useWd = wd !== 0;
  const vb1 = f32x4.splat(b1);
  const vc1 = f32x4.splat(c1);
  const vb2 = f32x4.splat(b2);
  const vc2 = f32x4.splat(c2);
  const vbc2 = f32x4.splat(bc2);
  const veps = f32x4.splat(eps);
  const vstep = f32x4.splat(negStep);
  const vwd = f32x4.splat(wd);
  const vdecay = f32x4.splat(decay);
  for (let o: usize = 0; o < end; ) {
    const tail = o >= vecEnd;
    let vp = V.ld(p + o, tail);
    let vg = V.ld(g + o, tail);
    if (maximize) vg = f32x4.neg(vg);
    if (useWd) {
      if (decoupled) vp = f32x4.mul(vp, vdecay);
      else vg = f32x4.add(vg, f32x4.mul(vp, vwd));
    }
    const vm = f32x4.add(f32x4.mul(V.ld(m + o, tail), vb1), f32x4.mul(vg, vc1));
    const vv = f32x4.add(f32x4.mul(V.ld(v + o, tail), vb2), f32x4.mul(f32x4.mul(vg, vg), vc2));
    V.st(m + o, vm, tail);
    V.st(v + o, vv, tail);
    let second = vv;
    if (vmax !== 0) {
      second = f32x4.max(V.ld(vmax + o, tail), vv);
      V.st(vmax + o, second, tail);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(second), vbc2), veps);
    V.st(p + o, f32x4.add(vp, f32x4.mul(f32x4.div(vm, denom), vstep)), tail);
    o += tail ? 4 : 16;
  }
}

// ---------------------------------------------------------------------------------------
// attention (one pass per (batch, head) entry, in blocks of query rows)

/** Floats of a softmax sum kept in float32 lanes before they go into the float64 total. */
const SUM_CHUNK = 256;

/** Lane reductions of the attention softmax (static for the reason given on `V`). */
// biome-ignore lint/complexity/noStaticOnlyClass: see V
class R {
  /** Max of the 4 lanes of `v`. */
  @inline static lanesMax(v: v128): f32 {
    return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  }
  /** Sum of the 4 lanes of `v`, in float64. */
  @inline static lanesSum(v: v128): f64 {
    return <f64>(f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + <f64>(f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
  }
}

/**
 * `row[j] = exp(row[j] * mul - m)` for j < `n`, returning the sum (float32 lanes over
 * {@link SUM_CHUNK} keys, then float64). `mul` is the scale when the row holds raw dot
 * products, 1 when it already holds scores. Two vectors per iteration: the loop's own
 * instructions are a good part of the cost at this size.
 */
function expRow(row: usize, n: i32, mul: f32, m: f32): f64 {
  const vmul = f32x4.splat(mul);
  const vneg = f32x4.splat(-m);
  const vec8 = (<usize>(n & ~7)) << 2;
  const vecEnd = (<usize>(n & ~3)) << 2;
  const end = (<usize>n) << 2;
  let sum: f64 = 0;
  let o: usize = 0;
  while (o < vec8) {
    const chunkEnd = min(vec8, o + (SUM_CHUNK << 2));
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    for (; o < chunkEnd; o += 32) {
      const e0 = V.vexpNeg(V.madd(v128.load(row + o), vmul, vneg));
      const e1 = V.vexpNeg(V.madd(v128.load(row + o, 16), vmul, vneg));
      v128.store(row + o, e0);
      v128.store(row + o, e1, 16);
      acc0 = f32x4.add(acc0, e0);
      acc1 = f32x4.add(acc1, e1);
    }
    sum += R.lanesSum(f32x4.add(acc0, acc1));
  }
  if (o < vecEnd) {
    const e = V.vexpNeg(V.madd(v128.load(row + o), vmul, vneg));
    v128.store(row + o, e);
    sum += R.lanesSum(e);
    o += 16;
  }
  for (; o < end; o += 4) {
    const e = V.sexpNeg(load<f32>(row + o) * mul - m);
    store<f32>(row + o, e);
    sum += <f64>e;
  }
  return sum;
}

/**
 * Turns the query rows [i0, i0 + rows) of one (batch, head) entry, whose `S` raw q·k dot
 * products are at `x` (row stride S), into attention weights in place: `s = x scale + mask`
 * (mask row i at `mrow0 + i mL`, element stride `mS`; 0 = none), keys `j > i + S - L` out
 * when `causal`, then a max-subtracted softmax per row ({@link expRow}); a row whose scores
 * are all -inf gets all-zero weights (not NaN), as the contract says, and keys past the
 * causal limit get exact zeros. The block is small enough to stay in L1 between the passes.
 */
function softmaxBlock(x: usize, mrow0: usize, mL: i32, mS: i32, i0: i32, rows: i32, L: i32, S: i32, scale: f32, causal: i32): void {
  const shift = S - L;
  const vs = f32x4.splat(scale);
  const ninf = <f32>Number.NEGATIVE_INFINITY;
  const ms = (<usize>mS) << 2;
  // Without a mask, a scale >= 0 commutes with the max (rounding is monotonic): the first
  // pass only reads the dot products, and the exp pass scales them on the way.
  const lazy = mrow0 === 0 && scale >= 0;
  for (let r = 0; r < rows; r++) {
    const i = i0 + r;
    const row = x + ((<usize>r * <usize>S) << 2);
    const limit = causal ? min(S, max(0, i + shift + 1)) : S;
    const vec16 = (<usize>(limit & ~15)) << 2;
    const vecEnd = (<usize>(limit & ~3)) << 2;
    const end = (<usize>limit) << 2;
    const mrow = mrow0 + ((<usize>(i * mL)) << 2);
    let m0 = f32x4.splat(ninf);
    let o: usize = 0;
    let m: f32;
    if (lazy) {
      // pmax: one instruction (f32x4.max is several in V8); a NaN it skips is handled below.
      let m1 = m0;
      let m2 = m0;
      let m3 = m0;
      for (; o < vec16; o += 64) {
        m0 = f32x4.pmax(m0, v128.load(row + o));
        m1 = f32x4.pmax(m1, v128.load(row + o, 16));
        m2 = f32x4.pmax(m2, v128.load(row + o, 32));
        m3 = f32x4.pmax(m3, v128.load(row + o, 48));
      }
      for (; o < vecEnd; o += 16) m0 = f32x4.pmax(m0, v128.load(row + o));
      m = R.lanesMax(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3)));
      for (; o < end; o += 4) m = max(m, load<f32>(row + o));
      m *= scale;
    } else {
      if (mrow0 === 0) {
        for (; o < vecEnd; o += 16) {
          const s = f32x4.mul(v128.load(row + o), vs);
          v128.store(row + o, s);
          m0 = f32x4.pmax(m0, s);
        }
      } else if (mS === 1) {
        for (; o < vecEnd; o += 16) {
          const s = V.madd(v128.load(row + o), vs, v128.load(mrow + o));
          v128.store(row + o, s);
          m0 = f32x4.pmax(m0, s);
        }
      }
      m = R.lanesMax(m0);
      for (; o < end; o += 4) {
        let s = load<f32>(row + o) * scale;
        if (mrow0 !== 0) s += load<f32>(mrow + (o >> 2) * ms);
        store<f32>(row + o, s);
        m = max(m, s);
      }
    }
    const rowEnd = (<usize>S) << 2;
    for (o = end; o < rowEnd; o += 4) store<f32>(row + o, 0);
    if (m === ninf) {
      // Every key masked out: zeros, unless a NaN (which pmax skips) was among the scores.
      let fill: f32 = 0;
      for (o = 0; o < end; o += 4) {
        const s = lazy ? load<f32>(row + o) * scale : load<f32>(row + o);
        // biome-ignore lint/suspicious/noSelfCompare: the NaN test (f32, no Number.isNaN in AssemblyScript's sense)
        if (s !== s) fill = s;
      }
      for (o = 0; o < end; o += 4) store<f32>(row + o, fill);
      continue;
    }
    const inv = <f32>(1.0 / expRow(row, limit, lazy ? scale : 1, m));
    const vinv = f32x4.splat(inv);
    for (o = 0; o < vec16; o += 64) {
      v128.store(row + o, f32x4.mul(v128.load(row + o), vinv));
      v128.store(row + o, f32x4.mul(v128.load(row + o, 16), vinv), 16);
      v128.store(row + o, f32x4.mul(v128.load(row + o, 32), vinv), 32);
      v128.store(row + o, f32x4.mul(v128.load(row + o, 48), vinv), 48);
    }
    for (; o < vecEnd; o += 16) v128.store(row + o, f32x4.mul(v128.load(row + o), vinv));
    for (; o < end; o += 4) store<f32>(row + o, load<f32>(row + o) * inv);
  }
}

/**
 * Panels [0, panels) of `C[m, n] = A[m, k] B` where B was packed by {@link packB} for a depth
 * `kFull` >= k (panel stride kFull * 16 floats): only the first k rows of each panel are
 * used, one {@link gemmBlocked} call per panel with its base shifted so that gemmBlocked's
 * `q * k * 16` panel offset lands on `q * kFull * 16`.
 */
function gemmDepthPrefix(a: usize, lda: i32, b: usize, kFull: i32, c: usize, m: i32, n: i32, k: i32, panels: i32): void {
  if (k === kFull) {
    gemmBlocked(a, lda, b, c, 0, m, n, k, 0, panels);
    return;
  }
  for (let q = 0; q < panels; q++) {
    const base = b + ((<usize>q * <usize>(kFull - k) * <usize>PANEL) << 2);
    gemmBlocked(a, lda, base, c, 0, m, n, k, q, q + 1);
  }
}

/** Floats of scratch one {@link attentionHeads} part needs: kᵀ packed in 16-key panels, then v packed. */
export function attentionScratch(S: i32, E: i32, Ev: i32): i32 {
  return E * ((S + PANEL - 1) / PANEL) * PANEL + S * ((Ev + PANEL - 1) / PANEL) * PANEL;
}

/** Bytes of weights a block of query rows may take: the block stays in L1 across its passes. */
const ATTN_BLOCK_BYTES = 16384;

/** Word offset, in the {@link attentionHeads} operand block, of the entry count B. */
const ATTN_B = 23;

/**
 * One (batch, head) entry `b` of the attention the i32 block at `args` describes (addresses
 * in bytes, strides in elements): q `[B, L, E]` (word 0 address, 1-2 strides of B and L;
 * E's stride is 1), k `[B, S, E]` (3, 4-6), v `[B, S, Ev]` (7, 8-10), the additive mask
 * `[B, L, S]` (11, 12-14; address 0 = none), `out` `[B, L, Ev]` (15) and the weights `w`
 * `[B, L, S]` (16), both contiguous, then L, S, E, Ev (17-20), the scale's float32 bits (21)
 * and `causal` (22). kᵀ and v are packed into `scratch` ({@link attentionScratch} floats)
 * straight from their strided layout; then for each block of query rows (16 KiB of weights,
 * which stay in L1): `q kᵀ` on the blocked GEMM into the block's weight rows, the scale /
 * mask / causal softmax in place ({@link softmaxBlock}), and `weights v` into `out`. With
 * `causal` both GEMMs stop at the block's last visible key. It reads only q, k, v and the
 * mask, so computing it twice is exact. `w` and `out` must be readable 16 floats past their
 * ends.
 */
function attentionEntry(args: usize, scratch: usize, b: i32): void {
  const q = <usize>load<i32>(args);
  const qB = load<i32>(args, 4);
  const qL = load<i32>(args, 8);
  const k = <usize>load<i32>(args, 12);
  const kB = load<i32>(args, 16);
  const kS = load<i32>(args, 20);
  const kE = load<i32>(args, 24);
  const v = <usize>load<i32>(args, 28);
  const vB = load<i32>(args, 32);
  const vS = load<i32>(args, 36);
  const vE = load<i32>(args, 40);
  const mask = <usize>load<i32>(args, 44);
  const mB = load<i32>(args, 48);
  const mL = load<i32>(args, 52);
  const mS = load<i32>(args, 56);
  const out = <usize>load<i32>(args, 60);
  const w = <usize>load<i32>(args, 64);
  const L = load<i32>(args, 68);
  const S = load<i32>(args, 72);
  const E = load<i32>(args, 76);
  const Ev = load<i32>(args, 80);
  const scale = reinterpret<f32>(load<i32>(args, 84));
  const causal = load<i32>(args, 88);
  const shift = S - L;
  const panS = (S + PANEL - 1) / PANEL;
  const panEv = (Ev + PANEL - 1) / PANEL;
  const kPack = scratch;
  const vPack = scratch + ((<usize>E * <usize>panS * <usize>PANEL) << 2);
  // Query rows per block: an even count (whole 2-row GEMM tiles) whose weights fit the budget.
  const block = max(2, min(L, ATTN_BLOCK_BYTES / (S << 2)) & ~1);
  const qb = q + ((<usize>b * <usize>qB) << 2);
  const wb = w + ((<usize>b * <usize>L * <usize>S) << 2);
  const ob = out + ((<usize>b * <usize>L * <usize>Ev) << 2);
  const mb = mask === 0 ? 0 : mask + ((<usize>(b * mB)) << 2);
  // kᵀ [E, S]: element (p, j) is k[j, p]; v [S, Ev] as it is.
  packB(k + ((<usize>b * <usize>kB) << 2), kE, kS, E, S, kPack);
  packB(v + ((<usize>b * <usize>vB) << 2), vS, vE, S, Ev, vPack);
  for (let i0 = 0; i0 < L; i0 += block) {
    const rows = min(block, L - i0);
    // Keys any row of the block sees (the causal limit of its last row).
    const keys = causal ? min(S, max(0, i0 + rows + shift)) : S;
    const wr = wb + ((<usize>i0 * <usize>S) << 2);
    const orow = ob + ((<usize>i0 * <usize>Ev) << 2);
    if (keys === 0) {
      memory.fill(wr, 0, (<usize>rows * <usize>S) << 2);
      memory.fill(orow, 0, (<usize>rows * <usize>Ev) << 2);
      continue;
    }
    gemmBlocked(qb + ((<usize>i0 * <usize>qL) << 2), qL, kPack, wr, 0, rows, S, E, 0, (keys + PANEL - 1) / PANEL);
    softmaxBlock(wr, mb, mL, mS, i0, rows, L, S, scale, causal);
    gemmDepthPrefix(wr, S, vPack, S, orow, rows, Ev, keys, panEv);
  }
}

/**
 * Scaled dot-product attention over the entries of the operand block at `args` (layout on
 * {@link attentionEntry}; word 23 holds the entry count B, word 24 a claim counter that starts
 * at 0, words 25 .. 25 + B a done flag per entry, 0 at first). Every thread running it claims
 * entries one at a time from the counter, so a thread that runs slow (descheduled on a busy
 * machine) holds up the others by one entry at most, not by a fixed share; each finished
 * entry's flag is set. A part that finds the counter spent returns at once. After every
 * part has returned, {@link attentionFinish} computes the entries a thread claimed and never
 * finished (it died).
 */
export function attentionHeads(args: usize, scratch: usize): void {
  const B = load<i32>(args, ATTN_B << 2);
  const counter = args + ((<usize>ATTN_B + 1) << 2);
  const done = args + ((<usize>ATTN_B + 2) << 2);
  for (;;) {
    const b = atomic.add<i32>(counter, 1);
    if (b >= B) return;
    attentionEntry(args, scratch, b);
    atomic.store<i32>(done + ((<usize>b) << 2), 1);
  }
}

/** Computes every entry of {@link attentionHeads}' block whose done flag is still 0 (a dead thread's). */
export function attentionFinish(args: usize, scratch: usize): void {
  const B = load<i32>(args, ATTN_B << 2);
  const done = args + ((<usize>ATTN_B + 2) << 2);
  for (let b = 0; b < B; b++) {
    const flag = done + ((<usize>b) << 2);
    if (atomic.load<i32>(flag) !== 0) continue;
    attentionEntry(args, scratch, b);
    atomic.store<i32>(flag, 1);
  }
}

/** {@link layerNormRows} with eps as the two i32 halves of its float64 bits (a worker thread's entry). */
export function layerNormPart(
  x: usize,
  w: usize,
  b: usize,
  y: usize,
  meanOut: usize,
  rstdOut: usize,
  rows: i32,
  n: i32,
  epsLo: i32,
  epsHi: i32,
): void {
  const eps = reinterpret<f64>(((<u64>(<u32>epsHi)) << 32) | <u64>(<u32>epsLo));
  layerNormRows(x, w, b, y, meanOut, rstdOut, rows, n, eps);
}
