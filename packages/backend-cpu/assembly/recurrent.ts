/**
 * Whole-sequence recurrent kernels (LSTM with optional projection, GRU, RNN tanh/relu): the
 * time loop of one layer-direction runs here, over operands JavaScript laid out once per call
 * (src/wasm/recurrent-kernels.ts): the recurrent weight is packed for the GEMM once, not once
 * per step, and no step leaves wasm. The same rules as kernels.ts hold (no heap, no data, raw
 * pointers, byte addresses, element counts).
 *
 * Rows are time-major and packed: step t owns `sizes[t]` rows (i32 array at `sizes`),
 * non-increasing. The state buffers hold every batch entry; a step advances the first
 * `sizes[t]` of them, the others keep their value, which is what makes packed batches (and
 * the reverse direction, where the batch grows) need no special case.
 * Workspace (train): the layout described in src/kernels/fused/recurrent-sequence.ts.
 */
import { V, gemm } from './kernels';

const LSTM = 0;
const GRU = 1;
const RNN_TANH = 2;

/** Inlined helpers (static methods for the reason given on `V` in kernels.ts). */
// biome-ignore lint/complexity/noStaticOnlyClass: see above
class R {
  /** Copies `count` floats (regions do not overlap). */
  @inline static copy(dst: usize, src: usize, count: i32): void {
    memory.copy(dst, src, (<usize>count) << 2);
  }

  /** `y = act(x)` for RNN rows: tanh, or relu that keeps NaN. */
  @inline static rnnAct(v: v128, tanhMode: bool): v128 {
    if (tanhMode) return V.vtanh(v);
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

/**
 * Forward over all steps. `gi` `[N, G*H]`; `wPack` is W_hh^T `[P, G*H]` packed by packB;
 * `bias` padded to 16 floats (0 = none); `wrPack` W_hr^T `[H, P]` packed (0 = no projection);
 * `hState` `[B, P]` / `cState` `[B, H]` hold h0 / c0 and end as hN / cN (hState readable 16
 * floats past its end); `y` `[N, P]`; `ws` the workspace (0 = inference); `gh` `[B, G*H]` and
 * `hraw` `[B, H]` scratch (16 floats of slack each).
 */
export function recurrentForward(
  mode: i32,
  gi: usize,
  wPack: usize,
  bias: usize,
  wrPack: usize,
  hState: usize,
  cState: usize,
  y: usize,
  ws: usize,
  gh: usize,
  hraw: usize,
  sizes: usize,
  T: i32,
  H: i32,
  P: i32,
  reverse: i32,
): void {
  const G = mode === LSTM ? 4 : mode === GRU ? 3 : 1;
  const GH = G * H;
  let N = 0;
  for (let t = 0; t < T; t++) N += load<i32>(sizes + ((<usize>t) << 2));
  const panels = (GH + 15) / 16;
  const panelsP = (P + 15) / 16;
  const vecEnd = (<usize>(H & ~3)) << 2;
  const end = (<usize>H) << 2;
  const hb = (<usize>H) << 2;
  const one = f32x4.splat(1.0);
  const acts = ws + R.block(mode, N, H, P, 0);
  const blk1 = ws + R.block(mode, N, H, P, 1);
  const hPrev = ws + R.block(mode, N, H, P, 2);
  const hRaw = ws + R.block(mode, N, H, P, 3);
  let off = reverse ? N : 0;
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    const n = load<i32>(sizes + ((<usize>t) << 2));
    if (reverse) off -= n;
    // gh = h[0:n] W_hh^T + b_hh: the one GEMM of the step.
    gemm(hState, 0, P, wPack, 0, gh, 0, bias, n, GH, P, 0, panels);
    if (ws !== 0) R.copy(hPrev + ((<usize>off * <usize>P) << 2), hState, n * P);
    if (mode === LSTM && ws !== 0) R.copy(blk1 + ((<usize>off * <usize>H) << 2), cState, n * H);
    for (let b = 0; b < n; b++) {
      const row = <usize>(off + b);
      const x = gi + ((row * <usize>GH) << 2);
      const g = gh + ((<usize>b * <usize>GH) << 2);
      const sb = <usize>b * hb;
      if (mode === LSTM) {
        const a = acts + ((row * <usize>GH) << 2);
        const dst = wrPack !== 0 ? hraw + sb : hState + ((<usize>b * <usize>P) << 2);
        for (let o: usize = 0; o < end; ) {
          const tail = o >= vecEnd;
          const ig = V.vsigmoid(f32x4.add(V.ld(x + o, tail), V.ld(g + o, tail)));
          const fg = V.vsigmoid(f32x4.add(V.ld(x + hb + o, tail), V.ld(g + hb + o, tail)));
          const gg = V.vtanh(f32x4.add(V.ld(x + 2 * hb + o, tail), V.ld(g + 2 * hb + o, tail)));
          const og = V.vsigmoid(f32x4.add(V.ld(x + 3 * hb + o, tail), V.ld(g + 3 * hb + o, tail)));
          const cn = f32x4.add(f32x4.mul(fg, V.ld(cState + sb + o, tail)), f32x4.mul(ig, gg));
          V.st(cState + sb + o, cn, tail);
          V.st(dst + o, f32x4.mul(og, V.vtanh(cn)), tail);
          if (ws !== 0) {
            V.st(a + o, ig, tail);
            V.st(a + hb + o, fg, tail);
            V.st(a + 2 * hb + o, gg, tail);
            V.st(a + 3 * hb + o, og, tail);
          }
          o += tail ? 4 : 16;
        }
        if (wrPack !== 0 && ws !== 0) R.copy(hRaw + ((row * <usize>H) << 2), hraw + sb, H);
      } else if (mode === GRU) {
        const a = acts + ((row * <usize>GH) << 2);
        const hs = hState + sb;
        for (let o: usize = 0; o < end; ) {
          const tail = o >= vecEnd;
          const rg = V.vsigmoid(f32x4.add(V.ld(x + o, tail), V.ld(g + o, tail)));
          const zg = V.vsigmoid(f32x4.add(V.ld(x + hb + o, tail), V.ld(g + hb + o, tail)));
          const ghn = V.ld(g + 2 * hb + o, tail);
          const ng = V.vtanh(f32x4.add(V.ld(x + 2 * hb + o, tail), f32x4.mul(rg, ghn)));
          V.st(hs + o, f32x4.add(f32x4.mul(f32x4.sub(one, zg), ng), f32x4.mul(zg, V.ld(hs + o, tail))), tail);
          if (ws !== 0) {
            V.st(a + o, rg, tail);
            V.st(a + hb + o, zg, tail);
            V.st(a + 2 * hb + o, ng, tail);
            V.st(blk1 + ((row * <usize>H) << 2) + o, ghn, tail);
          }
          o += tail ? 4 : 16;
        }
      } else {
        const hs = hState + sb;
        const tanhMode = mode === RNN_TANH;
        for (let o: usize = 0; o < end; ) {
          const tail = o >= vecEnd;
          V.st(hs + o, R.rnnAct(f32x4.add(V.ld(x + o, tail), V.ld(g + o, tail)), tanhMode), tail);
          o += tail ? 4 : 16;
        }
      }
    }
    // The projection: h[0:n] = h_raw W_hr^T, one GEMM into the state.
    if (wrPack !== 0) gemm(hraw, 0, H, wrPack, 0, hState, 0, 0, n, P, H, 0, panelsP);
    R.copy(y + ((<usize>off * <usize>P) << 2), hState, n * P);
    if (!reverse) off += n;
  }
}

/**
 * Backward over all steps, in the reverse of the forward's order. `wPackT` is W_hh `[G*H, P]`
 * packed by packB, `wrPackT` W_hr `[P, H]` packed (0 = none); `y` the forward output, `ws` its
 * workspace, `dY` `[N, P]`; `dh` `[B, P]` / `dc` `[B, H]` hold dHN / dCN and end as dH0 / dC0
 * (dh readable 16 floats past its end); writes `dGi` `[N, G*H]`, `dGh` (GRU; the hidden gate
 * sums' gradient, else pass dGi), `dHs` `[N, P]` (the gradient of each projected h, for
 * dW_hr; 0 without projection). `g` `[B, P]` and `dhr` `[B, H]` are scratch (16 floats slack).
 */
export function recurrentBackward(
  mode: i32,
  wPackT: usize,
  wrPackT: usize,
  y: usize,
  ws: usize,
  dY: usize,
  dh: usize,
  dc: usize,
  dGi: usize,
  dGh: usize,
  dHs: usize,
  g: usize,
  dhr: usize,
  sizes: usize,
  T: i32,
  H: i32,
  P: i32,
  reverse: i32,
): void {
  const G = mode === LSTM ? 4 : mode === GRU ? 3 : 1;
  const GH = G * H;
  let N = 0;
  for (let t = 0; t < T; t++) N += load<i32>(sizes + ((<usize>t) << 2));
  const panelsP = (P + 15) / 16;
  const panelsH = (H + 15) / 16;
  const vecEnd = (<usize>(H & ~3)) << 2;
  const end = (<usize>H) << 2;
  const hb = (<usize>H) << 2;
  const one = f32x4.splat(1.0);
  const zero = f32x4.splat(0);
  const acts = ws + R.block(mode, N, H, P, 0);
  const blk1 = ws + R.block(mode, N, H, P, 1);
  const hPrev = ws + R.block(mode, N, H, P, 2);
  let off = reverse ? 0 : N;
  for (let k = 0; k < T; k++) {
    const t = reverse ? k : T - 1 - k;
    const n = load<i32>(sizes + ((<usize>t) << 2));
    if (!reverse) off -= n;
    // g = dY[rows] + the state gradient flowing back from the later step.
    const gy = dY + ((<usize>off * <usize>P) << 2);
    const count = n * P;
    for (let i = 0; i < count; i++) {
      const o = (<usize>i) << 2;
      store<f32>(g + o, load<f32>(gy + o) + load<f32>(dh + o));
    }
    let dOut = g;
    if (mode === LSTM && wrPackT !== 0) {
      R.copy(dHs + ((<usize>off * <usize>P) << 2), g, count);
      gemm(g, 0, P, wrPackT, 0, dhr, 0, 0, n, H, P, 0, panelsH);
      dOut = dhr;
    }
    for (let b = 0; b < n; b++) {
      const row = <usize>(off + b);
      const a = acts + ((row * <usize>GH) << 2);
      const d = dGi + ((row * <usize>GH) << 2);
      const sb = <usize>b * hb;
      if (mode === LSTM) {
        const cp = blk1 + ((row * <usize>H) << 2);
        const dv = dOut + sb;
        for (let o: usize = 0; o < end; ) {
          const tail = o >= vecEnd;
          const ig = V.ld(a + o, tail);
          const fg = V.ld(a + hb + o, tail);
          const gg = V.ld(a + 2 * hb + o, tail);
          const og = V.ld(a + 3 * hb + o, tail);
          const c0 = V.ld(cp + o, tail);
          const tc = V.vtanh(f32x4.add(f32x4.mul(fg, c0), f32x4.mul(ig, gg)));
          const dhv = V.ld(dv + o, tail);
          const dcv = f32x4.add(V.ld(dc + sb + o, tail), f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))));
          V.st(d + o, f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(ig, f32x4.sub(one, ig))), tail);
          V.st(d + hb + o, f32x4.mul(f32x4.mul(dcv, c0), f32x4.mul(fg, f32x4.sub(one, fg))), tail);
          V.st(d + 2 * hb + o, f32x4.mul(f32x4.mul(dcv, ig), f32x4.sub(one, f32x4.mul(gg, gg))), tail);
          V.st(d + 3 * hb + o, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))), tail);
          V.st(dc + sb + o, f32x4.mul(dcv, fg), tail);
          o += tail ? 4 : 16;
        }
      } else if (mode === GRU) {
        const e = dGh + ((row * <usize>GH) << 2);
        const hp = hPrev + ((row * <usize>H) << 2);
        const gn = blk1 + ((row * <usize>H) << 2);
        const gv = g + sb;
        for (let o: usize = 0; o < end; ) {
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
        for (let o: usize = 0; o < end; ) {
          const tail = o >= vecEnd;
          const v = V.ld(yv + o, tail);
          const deriv = tanhMode ? f32x4.sub(one, f32x4.mul(v, v)) : v128.and(f32x4.gt(v, zero), one);
          V.st(d + o, f32x4.mul(V.ld(gv + o, tail), deriv), tail);
          o += tail ? 4 : 16;
        }
      }
    }
    // dh[0:n] = dGh[rows] W_hh: the one GEMM of the step (overwrites the state gradient).
    gemm(dGh + ((<usize>off * <usize>GH) << 2), 0, GH, wPackT, 0, dh, 0, 0, n, P, GH, 0, panelsP);
    if (mode === GRU) {
      // The direct path h' = ... + z h.
      for (let b = 0; b < n; b++) {
        const a = acts + ((<usize>(off + b) * <usize>GH) << 2);
        const sb = <usize>b * hb;
        for (let o: usize = 0; o < end; ) {
          const tail = o >= vecEnd;
          V.st(dh + sb + o, f32x4.add(V.ld(dh + sb + o, tail), f32x4.mul(V.ld(g + sb + o, tail), V.ld(a + hb + o, tail))), tail);
          o += tail ? 4 : 16;
        }
      }
    }
    if (reverse) off += n;
  }
}
