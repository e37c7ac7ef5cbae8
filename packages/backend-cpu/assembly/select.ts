/**
 * Selection and data-movement kernels with bool operands (AssemblyScript, the third entry
 * file of the module; scripts/build-wasm.mjs compiles it with assembly/kernels.ts and
 * assembly/recurrent.ts): comparisons that write bool bytes, `where` on a bool condition,
 * and the strided block copy behind `concat`. The same rules as assembly/kernels.ts: no
 * heap, no static data, raw byte addresses into the memory JavaScript owns; sizes and
 * strides are element counts.
 *
 * Layouts come collapsed by the JS side (src/wasm/select-kernels.ts) to `rank` dims;
 * `meta` points at i32 words: shape[rank], then each operand's element strides[rank] in
 * the order the kernel lists them, then rank odometer words (the row walk of
 * assembly/strided.ts, which zeroes them before it starts). A stride of 0 is a broadcast
 * dim; the innermost dim runs as a vector loop when its strides are 0 or 1, a scalar loop
 * otherwise. bool is one byte, 0 or 1.
 */

import { Walk } from './strided';

/** Comparison op codes; src/wasm/select-kernels.ts holds the same table. */
const C_EQ = 0;
const C_NE = 1;
const C_LT = 2;
const C_LE = 3;
const C_GT = 4;

// biome-ignore lint/complexity/noStaticOnlyClass: inlined helpers (AssemblyScript inlines `@inline` methods; see class V in kernels.ts)
class S {
  /**
   * Lane masks (all ones / all zeros) of `a op b` on 4 lanes: float32 when `int` is 0
   * (IEEE: NaN compares false, `ne` true), int32 otherwise.
   */
  @inline static cmp(op: i32, int: i32, a: v128, b: v128): v128 {
    if (int) {
      switch (op) {
        case C_EQ:
          return i32x4.eq(a, b);
        case C_NE:
          return i32x4.ne(a, b);
        case C_LT:
          return i32x4.lt_s(a, b);
        case C_LE:
          return i32x4.le_s(a, b);
        case C_GT:
          return i32x4.gt_s(a, b);
        default:
          return i32x4.ge_s(a, b);
      }
    }
    switch (op) {
      case C_EQ:
        return f32x4.eq(a, b);
      case C_NE:
        return f32x4.ne(a, b);
      case C_LT:
        return f32x4.lt(a, b);
      case C_LE:
        return f32x4.le(a, b);
      case C_GT:
        return f32x4.gt(a, b);
      default:
        return f32x4.ge(a, b);
    }
  }
  /** 4 consecutive lanes at `p`, or the splat `v` of a broadcast operand (`s` 0). */
  @inline static ld(p: usize, s: i32, o: usize, v: v128): v128 {
    return s === 0 ? v : v128.load(p + o);
  }
  /**
   * One row of `n` comparisons into bool bytes at `y`: a at stride `sa`, b at stride `sb`
   * (4-byte elements). 16 results per step: four masks narrowed to bytes and cut to 0/1.
   */
  @inline static cmpRow(op: i32, int: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
    let i = 0;
    if ((sa === 0 || sa === 1) && (sb === 0 || sb === 1)) {
      const va0 = v128.load32_splat(a);
      const vb0 = v128.load32_splat(b);
      const one = i8x16.splat(1);
      for (; i + 16 <= n; i += 16) {
        const o = (<usize>i) << 2;
        const m0 = S.cmp(op, int, S.ld(a, sa, o, va0), S.ld(b, sb, o, vb0));
        const m1 = S.cmp(op, int, S.ld(a, sa, o + 16, va0), S.ld(b, sb, o + 16, vb0));
        const m2 = S.cmp(op, int, S.ld(a, sa, o + 32, va0), S.ld(b, sb, o + 32, vb0));
        const m3 = S.cmp(op, int, S.ld(a, sa, o + 48, va0), S.ld(b, sb, o + 48, vb0));
        const lo = i16x8.narrow_i32x4_s(m0, m1);
        const hi = i16x8.narrow_i32x4_s(m2, m3);
        v128.store(y + <usize>i, v128.and(i8x16.narrow_i16x8_s(lo, hi), one));
      }
    }
    // The tail (and any other stride): one lane at a time through the same vector compare.
    const ba = (<usize>sa) << 2;
    const bb = (<usize>sb) << 2;
    let pa = a + <usize>i * ba;
    let pb = b + <usize>i * bb;
    for (; i < n; i++) {
      const m = S.cmp(op, int, v128.load32_splat(pa), v128.load32_splat(pb));
      store<u8>(y + <usize>i, <u8>(i32x4.extract_lane(m, 0) & 1));
      pa += ba;
      pb += bb;
    }
  }
  /**
   * One row of `n` selections `c ? a : b` of 4-byte elements (bits moved, never converted):
   * c (bool bytes) at stride `sc`, a at `sa`, b at `sb`.
   */
  @inline static whereRow(c: usize, sc: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
    let i = 0;
    if ((sc === 0 || sc === 1) && (sa === 0 || sa === 1) && (sb === 0 || sb === 1)) {
      const va0 = v128.load32_splat(a);
      const vb0 = v128.load32_splat(b);
      const zero = i8x16.splat(0);
      // A broadcast condition is one mask for the whole row.
      const c0 = i8x16.ne(i8x16.splat(load<u8>(c)), zero);
      for (; i + 16 <= n; i += 16) {
        const o = (<usize>i) << 2;
        // Bytes 0xff where c != 0, sign-extended to 4 lane masks of 4 bytes each.
        const mc = sc === 0 ? c0 : i8x16.ne(v128.load(c + <usize>i), zero);
        const w0 = i16x8.extend_low_i8x16_s(mc);
        const w1 = i16x8.extend_high_i8x16_s(mc);
        const m0 = i32x4.extend_low_i16x8_s(w0);
        const m1 = i32x4.extend_high_i16x8_s(w0);
        const m2 = i32x4.extend_low_i16x8_s(w1);
        const m3 = i32x4.extend_high_i16x8_s(w1);
        v128.store(y + o, v128.bitselect(S.ld(a, sa, o, va0), S.ld(b, sb, o, vb0), m0));
        v128.store(y + o + 16, v128.bitselect(S.ld(a, sa, o + 16, va0), S.ld(b, sb, o + 16, vb0), m1));
        v128.store(y + o + 32, v128.bitselect(S.ld(a, sa, o + 32, va0), S.ld(b, sb, o + 32, vb0), m2));
        v128.store(y + o + 48, v128.bitselect(S.ld(a, sa, o + 48, va0), S.ld(b, sb, o + 48, vb0), m3));
      }
    }
    const ba = (<usize>sa) << 2;
    const bb = (<usize>sb) << 2;
    let pc = c + <usize>i * <usize>sc;
    let pa = a + <usize>i * ba;
    let pb = b + <usize>i * bb;
    for (; i < n; i++) {
      store<i32>(y + ((<usize>i) << 2), load<u8>(pc) !== 0 ? load<i32>(pa) : load<i32>(pb));
      pc += <usize>sc;
      pa += ba;
      pb += bb;
    }
  }
}

/**
 * `y = a op b` (bool bytes) over a strided layout of `rank` dims (rank >= 1), float32
 * operands when `int` is 0, int32 otherwise: meta = shape, a's strides, b's strides, rank
 * odometer words. Op codes: eq, ne, lt, le, gt, ge.
 */
export function compareND(op: i32, int: i32, a: usize, b: usize, y: usize, rank: i32, meta: usize): void {
  const last = rank - 1;
  const n = Walk.m(meta, last);
  const sa = Walk.m(meta, rank + last);
  const sb = Walk.m(meta, 2 * rank + last);
  const idx = Walk.odometer(meta, rank, 2);
  const rows = Walk.begin(idx, meta, rank);
  let pa = a;
  let pb = b;
  let py = y;
  for (let r = 0; r < rows; r++) {
    S.cmpRow(op, int, pa, sa, pb, sb, py, n);
    py += <usize>n;
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
 * `y = c ? a : b` over a strided layout of `rank` dims (rank >= 1): c bool bytes, a and b
 * 4-byte elements (float32 or int32; the taken element's bits are copied, so a NaN in the
 * other branch never matters); meta = shape, c's strides, a's strides, b's strides, rank
 * odometer words.
 */
export function whereND(c: usize, a: usize, b: usize, y: usize, rank: i32, meta: usize): void {
  const last = rank - 1;
  const n = Walk.m(meta, last);
  const sc = Walk.m(meta, rank + last);
  const sa = Walk.m(meta, 2 * rank + last);
  const sb = Walk.m(meta, 3 * rank + last);
  const idx = Walk.odometer(meta, rank, 3);
  const rows = Walk.begin(idx, meta, rank);
  let pc = c;
  let pa = a;
  let pb = b;
  let py = y;
  const rowBytes = (<usize>n) << 2;
  for (let r = 0; r < rows; r++) {
    S.whereRow(pc, sc, pa, sa, pb, sb, py, n);
    py += rowBytes;
    const d = Walk.next(idx, meta, last);
    if (d === last - 1) {
      pc += Walk.step(meta, rank, d, 0);
      pa += Walk.step(meta, 2 * rank, d, 2);
      pb += Walk.step(meta, 3 * rank, d, 2);
    } else {
      pc += Walk.jump(meta, rank, d, last, 0);
      pa += Walk.jump(meta, 2 * rank, d, last, 2);
      pb += Walk.jump(meta, 3 * rank, d, last, 2);
    }
  }
}

/**
 * Copies a strided layout of `rank` dims (rank >= 1) from `src` to `dst`, both strided
 * (`concat` writes each input into its slot of the output this way): elements of
 * `1 << shift` bytes (0: bool, 2: float32/int32; bits are moved, never converted); meta =
 * shape, src strides, dst strides, rank odometer words. Rows contiguous on both sides are
 * one `memory.copy`.
 */
export function copyStridedND(src: usize, dst: usize, rank: i32, meta: usize, shift: i32): void {
  const last = rank - 1;
  const n = Walk.m(meta, last);
  const ss = Walk.m(meta, rank + last);
  const sd = Walk.m(meta, 2 * rank + last);
  const idx = Walk.odometer(meta, rank, 2);
  const rows = Walk.begin(idx, meta, rank);
  let ps = src;
  let pd = dst;
  const bs = (<usize>ss) << shift;
  const bd = (<usize>sd) << shift;
  for (let r = 0; r < rows; r++) {
    if (ss === 1 && sd === 1) memory.copy(pd, ps, (<usize>n) << shift);
    else if (shift === 2) {
      let p = ps;
      let q = pd;
      for (let i = 0; i < n; i++, p += bs, q += bd) store<i32>(q, load<i32>(p));
    } else {
      let p = ps;
      let q = pd;
      for (let i = 0; i < n; i++, p += bs, q += bd) store<u8>(q, load<u8>(p));
    }
    const d = Walk.next(idx, meta, last);
    if (d === last - 1) {
      ps += Walk.step(meta, rank, d, shift);
      pd += Walk.step(meta, 2 * rank, d, shift);
    } else {
      ps += Walk.jump(meta, rank, d, last, shift);
      pd += Walk.jump(meta, 2 * rank, d, last, shift);
    }
  }
}
