/**
 * Whole-sequence recurrent kernels (LSTM with optional projection, GRU, RNN tanh/relu): the
 * time loop of one layer-direction runs here, over operands JavaScript laid out once per call
 * (src/wasm/recurrent-kernels.ts): the recurrent weight is packed for the GEMM once, not once
 * per step. The same rules as kernels.ts hold (no heap, no data, raw pointers, byte
 * addresses, element counts).
 *
 * Rows are time-major and packed: step t owns `sizes[t]` rows (i32 array at `sizes`),
 * non-increasing. A step advances the first `sizes[t]` batch entries; the reverse direction's
 * batch grows, and entries that join late start from the initial state.
 *
 * Threads: a forward or backward over a batch of 8 rows or more is split by batch rows, with
 * nothing here for it: JavaScript lays out each row group as a sequence of its own (sizes and
 * row offsets clipped to its rows, states and state gradients from its first row, its own
 * scratch) run by one thread end to end, since rows never read each other. Otherwise a step is split by hidden units (blocks of 16):
 * each thread computes its units' gate columns of the recurrent GEMM and their cell math, and
 * the threads meet once per step (progress words, see recurrentWorker). Every step (phase) reads only the previous step's
 * output and writes a different buffer (h is read from y's previous rows; c, dh and dc
 * alternate between two buffers), so a phase can be run again with the same result: the
 * calling thread redoes the share of a worker that died mid-phase.
 * Workspace (train): the layout described in src/kernels/fused/recurrent-sequence.ts.
 * A fused layer (inference) generalises the row layout of gi and y (F_BSTRIDE, F_GISTRIDE,
 * F_YSTRIDE: batch-first rows, a direction's columns of a wider output) and may project its
 * own input at step 0 (F_X).
 */
import { V, gemm } from './kernels';

const LSTM = 0;
const GRU = 1;
const RNN_TANH = 2;

/** Inlined helpers (static methods for the reason given on `V` in kernels.ts). */
// biome-ignore lint/complexity/noStaticOnlyClass: see above
class R {
  /** Whether phase `q` reads what other threads wrote in phase q-1 (it then waits for them). */
  @inline static needsAll(kind: i32, q: i32): bool {
    return kind === 0 || (q & 1) === 1;
  }

  /** Word `i` of an operand block. */
  @inline static arg(args: usize, i: i32): i32 {
    return load<i32>(args + ((<usize>i) << 2));
  }

  /** Word `i` of an operand block, as an address. */
  @inline static argp(args: usize, i: i32): usize {
    return <usize>load<u32>(args + ((<usize>i) << 2));
  }

  /** Copies `count` floats (regions do not overlap). */
  @inline static copy(dst: usize, src: usize, count: i32): void {
    memory.copy(dst, src, (<usize>count) << 2);
  }

  /**
   * The logistic function for the forward cells: 1 / (1 + 2^t), t = -x log2 e clamped to
   * [-127, 127] with `pmin`/`pmax` (one instruction each; NaN passes), 2^t as 2^n (n + 127
   * shifted into the exponent field, n from the 1.5 * 2^23 rounding trick) times a degree-5
   * minimax polynomial for 2^f, |f| <= 1/2 (the one of {@link V.vexpNeg}). 2^t stays finite
   * (at most 2^127.5) and is exactly 0 at t = -127 (the exponent field 0), so large |x| give
   * exactly 1 and a tiny positive value; no select, one division. Against float64 the error
   * is a few float32 ulp plus t's rounding, |x| 2^-24 relative (both measured below 1e-7
   * absolute), where {@link V.vsigmoid} pays for a saturating convert, NaN-exact min/max and
   * a two-step scaling.
   */
  @inline static sigmoid(x: v128): v128 {
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: AssemblyScript will not narrow Math.LOG2E (f64) to f32 implicitly
    const t0 = f32x4.mul(x, f32x4.splat(-1.4426950408889634));
    const e = V.exp2(f32x4.pmax(f32x4.pmin(t0, f32x4.splat(127.0)), f32x4.splat(-127.0)));
    return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
  }

  /**
   * tanh for the forward cells, from the same 2^t as {@link R.sigmoid}: with
   * e = 2^t - 1 = expm1(-2|x|) (t = -2|x| log2 e clamped at -127 with `pmax`, 2^t - 1 as
   * 2^n (p(f) - 1) + (2^n - 1), where p(f) - 1 = f q(f) keeps its relative accuracy near 0),
   * tanh|x| = -e / (2 + e) and the sign of x put back. No cancellation near 0 (unlike
   * 1 - 2 / (1 + e^2x)), exactly ±1 once 2^n is 0 (|x| above about 44), NaN passes. Against
   * float64: at most 1.6e-7 absolute and 8.1e-7 relative (measured over [-20, 20] and
   * magnitudes down to 1e-13), where {@link V.vtanh}'s rational approximation gives 3.6e-7 at
   * about twice the instructions (its min/max clamps, two polynomials, the small-x select).
   */
  @inline static tanh(x: v128): v128 {
    // -2 log2 e.
    const t = f32x4.pmax(f32x4.mul(f32x4.abs(x), f32x4.splat(-2.8853900817779268)), f32x4.splat(-127.0));
    const tm = V.exp2Round(t);
    const f = V.exp2Frac(t, tm);
    const q = f32x4.mul(V.exp2Poly(f), f);
    const s = i32x4.shl(tm, 23);
    const em = V.madd(s, q, f32x4.sub(s, f32x4.splat(1.0)));
    const r = f32x4.div(f32x4.neg(em), f32x4.add(em, f32x4.splat(2.0)));
    return v128.or(r, v128.and(x, f32x4.splat(-0.0)));
  }

  /**
   * Four LSTM units (one in the scalar tail) of a forward row at byte offset `o`: the gates
   * of `x + g` (gi and gh rows, gh's gates `hpb` bytes apart), the new cell state into
   * `cOut` and `h` into `dst`; with `keep` the activations into `a` and the old c into `cp`.
   */
  @inline static lstmUnits(
    x: usize,
    g: usize,
    cIn: usize,
    cOut: usize,
    dst: usize,
    a: usize,
    cp: usize,
    keep: bool,
    hb: usize,
    hpb: usize,
    o: usize,
    tail: bool,
  ): void {
    const ig = R.sigmoid(f32x4.add(V.ld(x + o, tail), V.ld(g + o, tail)));
    const fg = R.sigmoid(f32x4.add(V.ld(x + hb + o, tail), V.ld(g + hpb + o, tail)));
    const gg = R.tanh(f32x4.add(V.ld(x + 2 * hb + o, tail), V.ld(g + 2 * hpb + o, tail)));
    const og = R.sigmoid(f32x4.add(V.ld(x + 3 * hb + o, tail), V.ld(g + 3 * hpb + o, tail)));
    const cPrev = V.ld(cIn + o, tail);
    const cn = f32x4.add(f32x4.mul(fg, cPrev), f32x4.mul(ig, gg));
    V.st(cOut + o, cn, tail);
    V.st(dst + o, f32x4.mul(og, R.tanh(cn)), tail);
    if (keep) {
      V.st(a + o, ig, tail);
      V.st(a + hb + o, fg, tail);
      V.st(a + 2 * hb + o, gg, tail);
      V.st(a + 3 * hb + o, og, tail);
      V.st(cp + o, cPrev, tail);
    }
  }

  /**
   * Four GRU units (one in the scalar tail) of a forward row at byte offset `o`: h' from the
   * gates of `x` and `g` and the old h at `hOld` into `yRow`; with `keep` the activations
   * into `a` and gh_n into `gn`.
   */
  @inline static gruUnits(
    x: usize,
    g: usize,
    hOld: usize,
    yRow: usize,
    a: usize,
    gn: usize,
    keep: bool,
    hb: usize,
    hpb: usize,
    o: usize,
    tail: bool,
  ): void {
    const one = f32x4.splat(1.0);
    const rg = R.sigmoid(f32x4.add(V.ld(x + o, tail), V.ld(g + o, tail)));
    const zg = R.sigmoid(f32x4.add(V.ld(x + hb + o, tail), V.ld(g + hpb + o, tail)));
    const ghn = V.ld(g + 2 * hpb + o, tail);
    const ng = R.tanh(f32x4.add(V.ld(x + 2 * hb + o, tail), f32x4.mul(rg, ghn)));
    V.st(yRow + o, f32x4.add(f32x4.mul(f32x4.sub(one, zg), ng), f32x4.mul(zg, V.ld(hOld + o, tail))), tail);
    if (keep) {
      V.st(a + o, rg, tail);
      V.st(a + hb + o, zg, tail);
      V.st(a + 2 * hb + o, ng, tail);
      V.st(gn + o, ghn, tail);
    }
  }

  /** `y = act(x)` for RNN rows: tanh, or relu that keeps NaN. */
  @inline static rnnAct(v: v128, tanhMode: bool): v128 {
    if (tanhMode) return R.tanh(v);
    return v128.bitselect(v, f32x4.splat(0), v128.or(f32x4.gt(v, f32x4.splat(0)), f32x4.ne(v, v)));
  }

  /**
   * Byte offset of a workspace block for N rows: `which` 0 = gate activations, 1 = previous
   * cell (LSTM) / gh_n (GRU), 2 = previous hidden, 3 = unprojected h (LSTM with projection).
   */
  @inline static block(mode: i32, N: i32, H: i32, P: i32, which: i32): usize {
    const n = <usize>N;
    if (mode === LSTM) {
      if (which === 0) return 0;
      if (which === 1) return (n * <usize>(4 * H)) << 2;
      if (which === 2) return (n * <usize>(5 * H)) << 2;
      return (n * <usize>(5 * H + P)) << 2;
    }
    if (mode === GRU) {
      if (which === 0) return 0;
      if (which === 1) return (n * <usize>(3 * H)) << 2;
      return (n * <usize>(4 * H)) << 2;
    }
    return 0;
  }
}

// Operand block of a forward sequence (i32 words at `args`), written once per call by
// src/wasm/recurrent-kernels.ts and read by every thread of the time loop.
const F_MODE = 0;
const F_GI = 1; // [N, G*H] input projections (+ b_ih), rows of step t from offs[t]
const F_W = 2; // W_hh^T [P, G*Hp] packed: each gate padded to Hp = ceil(H/16)*16 columns
const F_BIAS = 3; // b_hh padded like W's columns (0 = none)
const F_WR = 4; // W_hr^T [H, P] packed (0 = no projection)
const F_H0 = 5; // [B, P]: h0; at the end hN
const F_C0 = 6; // [B, H]: c0, and the state of even steps' inputs; at the end cN
const F_C1 = 7; // [B, H]: the other state buffer (steps alternate: each is a pure function of the last)
const F_Y = 8; // [N, P] (+16 floats) output; step t's rows are the h that step t+1 reads
const F_WS = 9; // workspace (0 = inference)
const F_GH = 10; // [B, G*Hp] (+16 floats) scratch of the recurrent GEMM
const F_HRAW = 11; // [B, H] (+16 floats) scratch: unprojected h
const F_SIZES = 12; // i32 [T]
const F_OFFS = 13; // i32 [T]: first row of each step
const F_T = 14;
const F_HID = 15;
const F_HP = 16;
const F_P = 17;
const F_REV = 18;
const F_N = 19;
const F_PROGRESS = 20; // i32 per thread: steps it has finished
const F_THREADS = 21;
const F_ABORT = 22; // i32 set to 1 by the caller to release the workers
const F_KIND = 23; // 0 = forward (one phase per step), 1 = backward (two)
// Row layout of gi and y (forward only): the row of batch entry b at step t is
// offs[t] + b * F_BSTRIDE (1 for time-major rows; T for batch-first ones, offs[t] = t), gi
// rows F_GISTRIDE floats apart, y rows F_YSTRIDE (> P when y is the columns of a wider
// output: a bidirectional layer's directions side by side). The workspace keeps P-float
// rows; training calls use the packed time-major layout (1, G*H, P).
const F_BSTRIDE = 24;
const F_GISTRIDE = 25;
const F_YSTRIDE = 26;
// The input projection gi = x W_ih^T + b_ih (forward, one thread owning every unit): run at
// step 0 by the thread that runs the loop, so that the two directions of a layer project
// on their own threads (0 = gi is given).
const F_X = 27; // [N, I] x, row-major (rows in gi's order)
const F_WIH = 28; // W_ih^T [I, G*H] packed
const F_BIH = 29; // b_ih, readable to a multiple of 16 floats (0 = none)
const F_IN = 30; // I
const F_UNITS = 32; // i32 pairs [u0, u1) per thread

// The backward's operand block: the words above that both share (mode, y, ws, sizes, offs,
// T, H, P, reverse, N, progress, threads, abort, kind, units) and these.
const B_WT = 1; // W_hh [G*H, P] packed
const B_DY = 2; // [N, P]
const B_DGI = 3; // [N, G*H] out
const B_WRT = 4; // W_hr [P, H] packed (0 = none)
const B_DH0 = 5; // [B, P] (+16 floats): dHN, the state gradient of even steps' inputs; at the end dH0
const B_DC0 = 6; // [B, H]: dCN likewise; at the end dC0
const B_DC1 = 7;
const B_DGH = 10; // [N, G*H] out (GRU; else = dGi)
const B_G = 11; // [B, P] (+16) scratch: the gradient reaching each step's h
const B_DH1 = 16;
const B_DHS = 24; // [N, P] out (projection only)
const B_DHR = 25; // [B, H] (+16) scratch

/**
 * Step `k` (in processing order) of a forward sequence, for hidden units [u0, u1) (u0 a
 * multiple of 16; a range other than [0, H) needs no projection). Reads step k-1's rows of
 * y (all units) and the state buffer of parity k, writes only units [u0, u1) of step k's y
 * rows, of the other state buffer, of the workspace and of gh: threads owning disjoint
 * ranges run the same step concurrently, and running a step again gives the same values.
 */
export function recurrentForwardStep(args: usize, k: i32, u0: i32, u1: i32): void {
  const mode = R.arg(args, F_MODE);
  const T = R.arg(args, F_T);
  const H = R.arg(args, F_HID);
  const Hp = R.arg(args, F_HP);
  const P = R.arg(args, F_P);
  const reverse = R.arg(args, F_REV) !== 0;
  const N = R.arg(args, F_N);
  const ws = R.argp(args, F_WS);
  const wrPack = R.argp(args, F_WR);
  const sizes = R.argp(args, F_SIZES);
  const offs = R.argp(args, F_OFFS);
  const gi = R.argp(args, F_GI);
  const gh = R.argp(args, F_GH);
  const y = R.argp(args, F_Y);
  const h0 = R.argp(args, F_H0);
  const hraw = R.argp(args, F_HRAW);
  const G = mode === LSTM ? 4 : mode === GRU ? 3 : 1;
  const GH = G * H;
  const GHp = G * Hp;
  const bS = <usize>R.arg(args, F_BSTRIDE);
  const giS = <usize>R.arg(args, F_GISTRIDE);
  const yS = <usize>R.arg(args, F_YSTRIDE);
  const t = reverse ? T - 1 - k : k;
  const n = load<i32>(sizes + ((<usize>t) << 2));
  const off = load<i32>(offs + ((<usize>t) << 2));
  // Rows [0, m1) continue from step k-1's y rows; rows [m1, n) start here from h0 (the reverse
  // direction's batch grows).
  let m1 = 0;
  let yPrev: usize = 0;
  if (k > 0) {
    const tp = reverse ? t + 1 : t - 1;
    m1 = min(n, load<i32>(sizes + ((<usize>tp) << 2)));
    yPrev = y + ((<usize>load<i32>(offs + ((<usize>tp) << 2)) * yS) << 2);
  }
  // Bytes between the y rows of consecutive batch entries of a step.
  const yB = (bS * yS) << 2;
  const cIn = R.argp(args, (k & 1) === 0 ? F_C0 : F_C1);
  const cOut = R.argp(args, (k & 1) === 0 ? F_C1 : F_C0);
  const whole = u0 === 0 && u1 === H;
  const xp = R.argp(args, F_X);
  if (k === 0 && xp !== 0) {
    const I = R.arg(args, F_IN);
    gemm(xp, 0, I, R.argp(args, F_WIH), 0, gi, 0, R.argp(args, F_BIH), N, GH, I, 0, (GH + 15) >> 4);
  }
  const rowP = (<usize>P) << 2;
  // gh[:, gate columns of the units] = h W_hh^T + b_hh: one GEMM per gate and row source.
  const wPack = R.argp(args, F_W);
  const bias = R.argp(args, F_BIAS);
  const ghTail = gh + ((<usize>m1 * <usize>GHp) << 2);
  const h0Tail = h0 + <usize>m1 * rowP;
  const gates = whole ? 1 : G;
  for (let g = 0; g < gates; g++) {
    const qa = whole ? 0 : (g * Hp + u0) >> 4;
    const qb = whole ? GHp >> 4 : (g * Hp + ((u1 + 15) & ~15)) >> 4;
    if (m1 > 0) gemm(yPrev, 0, <i32>(bS * yS), wPack, 0, gh, 0, bias, m1, GHp, P, qa, qb);
    if (n > m1) gemm(h0Tail, 0, P, wPack, 0, ghTail, 0, bias, n - m1, GHp, P, qa, qb);
  }
  const acts = ws + R.block(mode, N, H, P, 0);
  const blk1 = ws + R.block(mode, N, H, P, 1);
  const hPrevWs = ws + R.block(mode, N, H, P, 2);
  const hRawWs = ws + R.block(mode, N, H, P, 3);
  const c0 = (<usize>u0) << 2;
  const end = (<usize>u1) << 2;
  const vecEnd = min(end, (<usize>(H & ~3)) << 2);
  const hb = (<usize>H) << 2;
  const hpb = (<usize>Hp) << 2;
  for (let b = 0; b < n; b++) {
    const row = <usize>off + <usize>b * bS;
    const hOld = b < m1 ? yPrev + <usize>b * yB : h0 + <usize>b * rowP;
    // The workspace's previous h: this thread's columns (all P of them when whole).
    if (ws !== 0) {
      if (whole) R.copy(hPrevWs + row * rowP, hOld, P);
      else R.copy(hPrevWs + row * rowP + c0, hOld + c0, u1 - u0);
    }
    const x = gi + ((row * giS) << 2);
    const g = gh + ((<usize>b * <usize>GHp) << 2);
    const yRow = y + ((row * yS) << 2);
    const a = acts + ((row * <usize>GH) << 2);
    if (mode === LSTM) {
      const sb = <usize>b * hb;
      const dst = wrPack !== 0 ? hraw + sb : yRow;
      const cp = blk1 + ((row * <usize>H) << 2);
      // Whole vectors, then the scalar tail: no per-load test in the vector loop.
      let o: usize = c0;
      for (; o < vecEnd; o += 16) R.lstmUnits(x, g, cIn + sb, cOut + sb, dst, a, cp, ws !== 0, hb, hpb, o, false);
      for (; o < end; o += 4) R.lstmUnits(x, g, cIn + sb, cOut + sb, dst, a, cp, ws !== 0, hb, hpb, o, true);
      if (wrPack !== 0 && ws !== 0) R.copy(hRawWs + ((row * <usize>H) << 2), hraw + sb, H);
    } else if (mode === GRU) {
      const gn = blk1 + ((row * <usize>H) << 2);
      let o: usize = c0;
      for (; o < vecEnd; o += 16) R.gruUnits(x, g, hOld, yRow, a, gn, ws !== 0, hb, hpb, o, false);
      for (; o < end; o += 4) R.gruUnits(x, g, hOld, yRow, a, gn, ws !== 0, hb, hpb, o, true);
    } else {
      const tanhMode = mode === RNN_TANH;
      for (let o: usize = c0; o < end; ) {
        const tail = o >= vecEnd;
        V.st(yRow + o, R.rnnAct(f32x4.add(V.ld(x + o, tail), V.ld(g + o, tail)), tanhMode), tail);
        o += tail ? 4 : 16;
      }
    }
  }
  // The projection: y rows = h_raw W_hr^T (whole range only). The GEMM writes rows P floats
  // apart: straight into y when its rows are, else into gh (free by now) and copied.
  if (wrPack !== 0) {
    const packedRows = bS === 1 && yS === <usize>P;
    const dst = packedRows ? y + ((<usize>off * yS) << 2) : gh;
    gemm(hraw, 0, H, wrPack, 0, dst, 0, 0, n, P, H, 0, (P + 15) >> 4);
    if (!packedRows) for (let b = 0; b < n; b++) R.copy(y + (((<usize>off + <usize>b * bS) * yS) << 2), gh + <usize>b * rowP, P);
  }
}

/**
 * After the last step: each batch entry's final h (its y row of the last step it took part
 * in) into h0's buffer and its final c into c0's buffer.
 */
export function recurrentForwardFinish(args: usize): void {
  const T = R.arg(args, F_T);
  const H = R.arg(args, F_HID);
  const P = R.arg(args, F_P);
  const reverse = R.arg(args, F_REV) !== 0;
  const sizes = R.argp(args, F_SIZES);
  const offs = R.argp(args, F_OFFS);
  const y = R.argp(args, F_Y);
  const h0 = R.argp(args, F_H0);
  const isLSTM = R.arg(args, F_MODE) === LSTM;
  const bS = <usize>R.arg(args, F_BSTRIDE);
  const yS = <usize>R.arg(args, F_YSTRIDE);
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    const n = load<i32>(sizes + ((<usize>t) << 2));
    const nNext = k + 1 < T ? load<i32>(sizes + ((<usize>(reverse ? t - 1 : t + 1)) << 2)) : 0;
    if (nNext >= n) continue;
    const off = <usize>load<i32>(offs + ((<usize>t) << 2));
    if (bS === 1 && yS === <usize>P) R.copy(h0 + ((<usize>nNext * <usize>P) << 2), y + (((off + <usize>nNext) * yS) << 2), (n - nNext) * P);
    else for (let b = nNext; b < n; b++) R.copy(h0 + ((<usize>b * <usize>P) << 2), y + (((off + <usize>b * bS) * yS) << 2), P);
    const cOut = R.argp(args, (k & 1) === 0 ? F_C1 : F_C0);
    const cFinal = R.argp(args, F_C0);
    if (isLSTM && cOut !== cFinal) {
      R.copy(cFinal + ((<usize>nNext * <usize>H) << 2), cOut + ((<usize>nNext * <usize>H) << 2), (n - nNext) * H);
    }
  }
}

/**
 * Runs phase `q` of a sequence for units [u0, u1): forward, step q; backward, the cell part
 * of step q/2 (even q) or its recurrent GEMM (odd q).
 */
export function recurrentPhase(args: usize, q: i32, u0: i32, u1: i32): void {
  if (R.arg(args, F_KIND) === 0) recurrentForwardStep(args, q, u0, u1);
  else if ((q & 1) === 0) recurrentBackwardCell(args, q >> 1, u0, u1);
  else recurrentBackwardGemm(args, q >> 1, u0, u1);
}

/**
 * A worker's share of a sequence from phase `q0`: thread `slot`'s units, phase by phase,
 * a phase that reads other threads' output after each has finished the phase before (their
 * progress words count phases). A wait that a short spin does not end is left to
 * JavaScript (which sleeps on the word, then calls again from the phase returned): returns
 * `(q << 8) | j` when phase q waits for thread j, or -1 when done or the caller set the
 * abort word.
 */
export function recurrentWorker(args: usize, slot: i32, q0: i32): i32 {
  const kind = R.arg(args, F_KIND);
  const phases = R.arg(args, F_T) * (kind === 0 ? 1 : 2);
  const threads = R.arg(args, F_THREADS);
  const u0 = R.arg(args, F_UNITS + 2 * slot);
  const u1 = R.arg(args, F_UNITS + 2 * slot + 1);
  const progress = R.argp(args, F_PROGRESS);
  const abort = args + ((<usize>F_ABORT) << 2);
  const mine = progress + ((<usize>slot) << 2);
  for (let q = q0; q < phases; q++) {
    if (R.needsAll(kind, q)) {
      for (let j = 0; j < threads; j++) {
        if (j === slot) continue;
        const word = progress + ((<usize>j) << 2);
        let spins = 0;
        while (atomic.load<i32>(word) < q) {
          if (atomic.load<i32>(abort) !== 0) return -1;
          if (++spins > 20000) return (q << 8) | j;
        }
      }
    }
    recurrentPhase(args, q, u0, u1);
    atomic.store<i32>(mine, q + 1);
    atomic.notify(mine, 8);
  }
  return -1;
}

/**
 * The cell part of backward step `k` (in the backward's processing order: the forward's
 * reversed) for units [u0, u1) (the whole range with a projection): g = dY + dh for the
 * step's rows, then the gate gradients into dGi (and dGh) and the cell state gradient into
 * the other dc buffer. Reads the dh/dc buffers of parity k, writes only its units: repeatable.
 */
export function recurrentBackwardCell(args: usize, k: i32, u0: i32, u1: i32): void {
  const mode = R.arg(args, F_MODE);
  const T = R.arg(args, F_T);
  const H = R.arg(args, F_HID);
  const P = R.arg(args, F_P);
  const reverse = R.arg(args, F_REV) !== 0;
  const N = R.arg(args, F_N);
  const ws = R.argp(args, F_WS);
  const y = R.argp(args, F_Y);
  const sizes = R.argp(args, F_SIZES);
  const offs = R.argp(args, F_OFFS);
  const dY = R.argp(args, B_DY);
  const dGi = R.argp(args, B_DGI);
  const dGh = R.argp(args, B_DGH);
  const wrPackT = R.argp(args, B_WRT);
  const g = R.argp(args, B_G);
  const dhr = R.argp(args, B_DHR);
  const dhIn = R.argp(args, (k & 1) === 0 ? B_DH0 : B_DH1);
  const dcIn = R.argp(args, (k & 1) === 0 ? B_DC0 : B_DC1);
  const dcOut = R.argp(args, (k & 1) === 0 ? B_DC1 : B_DC0);
  const G = mode === LSTM ? 4 : mode === GRU ? 3 : 1;
  const GH = G * H;
  const t = reverse ? k : T - 1 - k;
  const n = load<i32>(sizes + ((<usize>t) << 2));
  const off = load<i32>(offs + ((<usize>t) << 2));
  const rowP = (<usize>P) << 2;
  const whole = u0 === 0 && u1 === H;
  // g = dY[rows] + the state gradient flowing back from the later step (this thread's columns).
  const g0 = whole ? 0 : u0;
  const g1 = whole ? P : u1;
  for (let b = 0; b < n; b++) {
    const gy = dY + <usize>(off + b) * rowP;
    const dv = dhIn + <usize>b * rowP;
    const gv = g + <usize>b * rowP;
    for (let i = g0; i < g1; i++) {
      const o = (<usize>i) << 2;
      store<f32>(gv + o, load<f32>(gy + o) + load<f32>(dv + o));
    }
  }
  let dOut = g;
  if (mode === LSTM && wrPackT !== 0) {
    R.copy(R.argp(args, B_DHS) + <usize>off * rowP, g, n * P);
    gemm(g, 0, P, wrPackT, 0, dhr, 0, 0, n, H, P, 0, (H + 15) >> 4);
    dOut = dhr;
  }
  const acts = ws + R.block(mode, N, H, P, 0);
  const blk1 = ws + R.block(mode, N, H, P, 1);
  const hPrev = ws + R.block(mode, N, H, P, 2);
  const c0 = (<usize>u0) << 2;
  const end = (<usize>u1) << 2;
  const vecEnd = min(end, (<usize>(H & ~3)) << 2);
  const hb = (<usize>H) << 2;
  const one = f32x4.splat(1.0);
  const zero = f32x4.splat(0);
  for (let b = 0; b < n; b++) {
    const row = <usize>(off + b);
    const a = acts + ((row * <usize>GH) << 2);
    const d = dGi + ((row * <usize>GH) << 2);
    const sb = <usize>b * hb;
    if (mode === LSTM) {
      const cp = blk1 + ((row * <usize>H) << 2);
      const dv = dOut + sb;
      for (let o: usize = c0; o < end; ) {
        const tail = o >= vecEnd;
        const ig = V.ld(a + o, tail);
        const fg = V.ld(a + hb + o, tail);
        const gg = V.ld(a + 2 * hb + o, tail);
        const og = V.ld(a + 3 * hb + o, tail);
        const cPrev = V.ld(cp + o, tail);
        // The forward's own tanh (R.tanh), so the gradient is of what the forward computed.
        const tc = R.tanh(f32x4.add(f32x4.mul(fg, cPrev), f32x4.mul(ig, gg)));
        const dhv = V.ld(dv + o, tail);
        const dcv = f32x4.add(V.ld(dcIn + sb + o, tail), f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))));
        V.st(d + o, f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(ig, f32x4.sub(one, ig))), tail);
        V.st(d + hb + o, f32x4.mul(f32x4.mul(dcv, cPrev), f32x4.mul(fg, f32x4.sub(one, fg))), tail);
        V.st(d + 2 * hb + o, f32x4.mul(f32x4.mul(dcv, ig), f32x4.sub(one, f32x4.mul(gg, gg))), tail);
        V.st(d + 3 * hb + o, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))), tail);
        V.st(dcOut + sb + o, f32x4.mul(dcv, fg), tail);
        o += tail ? 4 : 16;
      }
    } else if (mode === GRU) {
      const e = dGh + ((row * <usize>GH) << 2);
      const hp = hPrev + ((row * <usize>H) << 2);
      const gn = blk1 + ((row * <usize>H) << 2);
      const gv = g + sb;
      for (let o: usize = c0; o < end; ) {
        const tail = o >= vecEnd;
        const rg = V.ld(a + o, tail);
        const zg = V.ld(a + hb + o, tail);
        const ng = V.ld(a + 2 * hb + o, tail);
        const gr = V.ld(gv + o, tail);
        const dn = f32x4.mul(f32x4.mul(gr, f32x4.sub(one, zg)), f32x4.sub(one, f32x4.mul(ng, ng)));
        const dz = f32x4.mul(f32x4.mul(gr, f32x4.sub(V.ld(hp + o, tail), ng)), f32x4.mul(zg, f32x4.sub(one, zg)));
        const dr = f32x4.mul(f32x4.mul(dn, V.ld(gn + o, tail)), f32x4.mul(rg, f32x4.sub(one, rg)));
        V.st(d + o, dr, tail);
        V.st(d + hb + o, dz, tail);
        V.st(d + 2 * hb + o, dn, tail);
        V.st(e + o, dr, tail);
        V.st(e + hb + o, dz, tail);
        V.st(e + 2 * hb + o, f32x4.mul(dn, rg), tail);
        o += tail ? 4 : 16;
      }
    } else {
      const yv = y + ((row * <usize>H) << 2);
      const gv = g + sb;
      const tanhMode = mode === RNN_TANH;
      for (let o: usize = c0; o < end; ) {
        const tail = o >= vecEnd;
        const v = V.ld(yv + o, tail);
        const deriv = tanhMode ? f32x4.sub(one, f32x4.mul(v, v)) : v128.and(f32x4.gt(v, zero), one);
        V.st(d + o, f32x4.mul(V.ld(gv + o, tail), deriv), tail);
        o += tail ? 4 : 16;
      }
    }
  }
}

/**
 * The recurrent GEMM of backward step `k` for state columns [u0, u1): dh[0:n] = dGh[rows]
 * W_hh into the dh buffer of the other parity (GRU adds its direct path g z). Reads every
 * thread's dGh of the step (the caller of this phase has waited for them).
 */
export function recurrentBackwardGemm(args: usize, k: i32, u0: i32, u1: i32): void {
  const mode = R.arg(args, F_MODE);
  const T = R.arg(args, F_T);
  const H = R.arg(args, F_HID);
  const P = R.arg(args, F_P);
  const reverse = R.arg(args, F_REV) !== 0;
  const N = R.arg(args, F_N);
  const G = mode === LSTM ? 4 : mode === GRU ? 3 : 1;
  const GH = G * H;
  const t = reverse ? k : T - 1 - k;
  const n = load<i32>(R.argp(args, F_SIZES) + ((<usize>t) << 2));
  const off = load<i32>(R.argp(args, F_OFFS) + ((<usize>t) << 2));
  const dhOut = R.argp(args, (k & 1) === 0 ? B_DH1 : B_DH0);
  const whole = u0 === 0 && u1 === H;
  const qa = whole ? 0 : u0 >> 4;
  const qb = whole ? (P + 15) >> 4 : (u1 + 15) >> 4;
  gemm(R.argp(args, B_DGH) + ((<usize>off * <usize>GH) << 2), 0, GH, R.argp(args, B_WT), 0, dhOut, 0, 0, n, P, GH, qa, qb);
  if (mode === GRU) {
    // The direct path h' = ... + z h.
    const acts = R.argp(args, F_WS) + R.block(mode, N, H, P, 0);
    const g = R.argp(args, B_G);
    const hb = (<usize>H) << 2;
    const c0 = (<usize>u0) << 2;
    const end = (<usize>u1) << 2;
    const vecEnd = min(end, (<usize>(H & ~3)) << 2);
    for (let b = 0; b < n; b++) {
      const a = acts + ((<usize>(off + b) * <usize>GH) << 2);
      const sb = <usize>b * hb;
      for (let o: usize = c0; o < end; ) {
        const tail = o >= vecEnd;
        V.st(dhOut + sb + o, f32x4.add(V.ld(dhOut + sb + o, tail), f32x4.mul(V.ld(g + sb + o, tail), V.ld(a + hb + o, tail))), tail);
        o += tail ? 4 : 16;
      }
    }
  }
}

/**
 * After the backward's last step: each batch entry's dH0 (the dh buffer its last step
 * wrote) into the first dh buffer, and its dC0 likewise.
 */
export function recurrentBackwardFinish(args: usize): void {
  const T = R.arg(args, F_T);
  const H = R.arg(args, F_HID);
  const P = R.arg(args, F_P);
  const reverse = R.arg(args, F_REV) !== 0;
  const sizes = R.argp(args, F_SIZES);
  const isLSTM = R.arg(args, F_MODE) === LSTM;
  for (let k = 0; k < T; k++) {
    const t = reverse ? k : T - 1 - k;
    const n = load<i32>(sizes + ((<usize>t) << 2));
    const nNext = k + 1 < T ? load<i32>(sizes + ((<usize>(reverse ? t + 1 : t - 1)) << 2)) : 0;
    if (nNext >= n || (k & 1) === 1) continue;
    // Even k wrote the second buffers.
    R.copy(R.argp(args, B_DH0) + ((<usize>nNext * <usize>P) << 2), R.argp(args, B_DH1) + ((<usize>nNext * <usize>P) << 2), (n - nNext) * P);
    if (isLSTM) {
      R.copy(
        R.argp(args, B_DC0) + ((<usize>nNext * <usize>H) << 2),
        R.argp(args, B_DC1) + ((<usize>nNext * <usize>H) << 2),
        (n - nNext) * H,
      );
    }
  }
}
