/**
 * The row walk of the strided kernels (AssemblyScript; no entry of its own: assembly/kernels.ts
 * and assembly/select.ts import it, and every helper is inlined into their kernels). A
 * layout the JS side collapsed to `rank` dims is walked one row (the innermost dim) at a
 * time; an odometer of `rank` i32 words in the kernel's meta block counts the outer dims.
 * From one row to the next each operand's pointer moves by its stride along dim rank - 2;
 * only where the odometer wraps does it also go back over the dims that wrapped. The kernel
 * tests which of the two happened once per row, for all its operands (rows can be 2 or 3
 * elements long, and the row loops keep few values live: no per-operand locals).
 *
 * `meta` points at i32 words: shape[rank], then each operand's element strides[rank] in the
 * order the kernel lists them (operand `k`'s strides start at word `k * rank`), then the
 * odometer's words. The same rules as the kernels: no heap, no static data.
 */

/**
 * Inlined helpers (static methods for the reason given on `V` in assembly/kernels.ts:
 * AssemblyScript inlines `@inline` methods).
 */
// biome-ignore lint/complexity/noStaticOnlyClass: inlined helpers, as class V in kernels.ts
export class Walk {
  /** Word `i` of the meta block. */
  @inline static m(meta: usize, i: i32): i32 {
    return load<i32>(meta + ((<usize>i) << 2));
  }
  /** Address of the odometer words of a meta block with `operands` stride blocks. */
  @inline static odometer(meta: usize, rank: i32, operands: i32): usize {
    return meta + ((<usize>((operands + 1) * rank)) << 2);
  }
  /**
   * Starts a walk: zeroes the odometer at `idx` and returns the number of rows (the product
   * of every dim but the last). The kernel zeroes the words itself, so a part the pool
   * redoes on the caller after its worker died mid-walk starts from the beginning again
   * (the words are the part's only state).
   */
  @inline static begin(idx: usize, meta: usize, rank: i32): i32 {
    for (let d = 0; d < rank; d++) store<i32>(idx + ((<usize>d) << 2), 0);
    let rows = 1;
    for (let d = 0; d < rank - 1; d++) rows *= Walk.m(meta, d);
    return rows;
  }
  /**
   * Steps the odometer at `idx` past one row and returns the outer dim that moved forward:
   * `last - 1` from one row to the next (every operand then moves by its {@link step}), a
   * smaller one where the dims after it wrapped to 0 (each operand then moves by its
   * {@link jump}), -1 after the last row. `last` is rank - 1, the row's dim, which the
   * odometer does not count.
   */
  @inline static next(idx: usize, meta: usize, last: i32): i32 {
    for (let d = last - 1; d >= 0; d--) {
      const p = idx + ((<usize>d) << 2);
      const i = load<i32>(p) + 1;
      if (i < Walk.m(meta, d)) {
        store<i32>(p, i);
        return d;
      }
      store<i32>(p, 0);
    }
    return -1;
  }
  /**
   * Bytes an operand moves when {@link next} returned `last - 1`: one step along dim `d`.
   * Its strides start at meta word `at`; elements are `1 << shift` bytes.
   */
  @inline static step(meta: usize, at: i32, d: i32, shift: i32): usize {
    return (<usize>Walk.m(meta, at + d)) << shift;
  }
  /**
   * Bytes an operand moves when {@link next} returned another dim `d`: one step along `d`
   * and back to the start of every dim after it (strides as {@link step}). After the last
   * row (-1) the result is never used: the walk is over.
   */
  @inline static jump(meta: usize, at: i32, d: i32, last: i32, shift: i32): usize {
    let j = Walk.m(meta, at + d);
    for (let e = d + 1; e < last; e++) j -= (Walk.m(meta, e) - 1) * Walk.m(meta, at + e);
    return (<usize>j) << shift;
  }
}
