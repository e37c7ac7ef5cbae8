/**
 * Fused kernels in WGSL: linear (the tiled matmul with a bias epilogue), softmax and
 * logSoftmax (one pass per line: max, sum of exp, normalise), layerNorm (mean, biased
 * variance and rstd per row, affine in the same pass) and the LSTM/GRU pointwise cell steps
 * with their backward passes (one thread per hidden element), and attention (one thread per
 * query row: scores, softmax with fully masked rows giving zeros, weights times values).
 * Each equals core's composition of primitives within float32 rounding.
 */
import { type FusedKernels, type Shape, type TensorView, contiguousStrides, sizeOf } from '@ghostflow/core';
import { matmulInto, bindings, MAIN_1D } from './kernels.js';
import { Meta, f32Bits } from './meta.js';
import { type Runtime, grid1 } from './runtime.js';
import { MATH_WGSL, VIEW_WGSL } from './wgsl/math.js';

function dimSize(shape: Shape, d: number): number {
  return d < shape.length ? shape[d] : 1;
}

/** Creates the fused kernels on a runtime. */
// Partial: the whole-sequence recurrent kernels and adamUpdate have no WGSL version yet (core composes them).
export function createFusedKernels(rt: Runtime): Partial<FusedKernels> {
  const buf = (v: TensorView) => rt.buffer(v.dataId);

  const linear: FusedKernels['linear'] = (x, weight, bias, attrs) => {
    const r = x.shape.length;
    const k = x.shape[r - 1];
    const n = weight.shape[0];
    const a: TensorView = r === 1 ? { ...x, shape: [1, k], strides: [0, x.strides[0]] } : x;
    const batch = a.shape.slice(0, a.shape.length - 2);
    const b: TensorView = {
      dataId: weight.dataId,
      dtype: 'float32',
      shape: [...batch, k, n],
      strides: [...batch.map(() => 0), weight.strides[1], weight.strides[0]],
      offset: weight.offset,
    };
    return matmulInto(rt, a, b, bias, attrs?.activation ?? null);
  };

  function softmaxLike(x: TensorView, axis: number, log: boolean) {
    const size = sizeOf(x.shape);
    const out = rt.alloc('float32', size);
    if (size === 0) return out;
    const keptShape: number[] = [];
    const keptStrides: number[] = [];
    const cs = contiguousStrides(x.shape);
    const outKept: number[] = [];
    for (let d = 0; d < x.shape.length; d++) {
      if (d === axis) continue;
      keptShape.push(x.shape[d]);
      keptStrides.push(x.strides[d]);
      outKept.push(cs[d]);
    }
    const lines = sizeOf(keptShape);
    const meta = new Meta(6)
      .set(0, lines)
      .set(1, dimSize(x.shape, axis))
      .set(2, axis < x.shape.length ? x.strides[axis] : 0)
      .set(3, axis < cs.length ? cs[axis] : 0)
      .viewAt(4, keptShape, keptStrides, x.offset)
      .viewAt(5, keptShape, outKept, 0);
    const write = log
      ? 'out[ob + j * prm[3]] = (x[ib + j * prm[2]] - m) - ls;'
      : 'out[ob + j * prm[3]] = fexp(x[ib + j * prm[2]] - m) / s;';
    const code = `${bindings([{ name: 'out', type: 'f32' }], [{ name: 'x', type: 'f32' }])}${VIEW_WGSL}${MATH_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let ib = vpos(prm[4], i);
  let ob = vpos(prm[5], i);
  var m = -inff();
  for (var j = 0u; j < prm[1]; j = j + 1u) { m = fmaxn(m, x[ib + j * prm[2]]); }
  var s = 0.0;
  for (var j = 0u; j < prm[1]; j = j + 1u) { s = s + fexp(x[ib + j * prm[2]] - m); }
  let ls = flog(s);
  for (var j = 0u; j < prm[1]; j = j + 1u) { ${write} }
}`;
    rt.dispatch(log ? 'logSoftmax' : 'softmax', code, meta.words(), [out.buffer as GPUBuffer, buf(x)], grid1(lines));
    return out;
  }

  const softmax: FusedKernels['softmax'] = (x, { axis }) => softmaxLike(x, axis, false);
  const logSoftmax: FusedKernels['logSoftmax'] = (x, { axis }) => softmaxLike(x, axis, true);

  const layerNorm: FusedKernels['layerNorm'] = (x, weight, bias, { normalizedSize, eps }) => {
    const size = sizeOf(x.shape);
    const rows = normalizedSize > 0 ? size / normalizedSize : 0;
    const xb = buf(x);
    const wb = weight ? buf(weight) : xb;
    const bb = bias ? buf(bias) : xb;
    const out = rt.alloc('float32', size);
    const mean = rt.alloc('float32', rows);
    const rstd = rt.alloc('float32', rows);
    if (rows === 0 || size === 0) return [out, mean, rstd];
    const meta = new Meta(8)
      .set(0, rows)
      .set(1, normalizedSize)
      .set(2, f32Bits(eps))
      .set(3, weight ? 1 : 0)
      .set(4, bias ? 1 : 0)
      .viewAt(5, x.shape, x.strides, x.offset)
      .viewAt(6, weight ? weight.shape : [], weight ? weight.strides : [], weight ? weight.offset : 0)
      .viewAt(7, bias ? bias.shape : [], bias ? bias.strides : [], bias ? bias.offset : 0);
    const code = `${bindings(
      [
        { name: 'out', type: 'f32' },
        { name: 'mean', type: 'f32' },
        { name: 'rstd', type: 'f32' },
      ],
      [
        { name: 'x', type: 'f32' },
        { name: 'w', type: 'f32' },
        { name: 'b', type: 'f32' },
      ],
    )}${VIEW_WGSL}${MATH_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let n = prm[1];
  let row = i * n;
  var s = 0.0;
  var c = 0.0;
  for (var j = 0u; j < n; j = j + 1u) {
    let v = x[vpos(prm[5], row + j)];
    let t = s + v;
    if (fabs(s) >= fabs(v)) { c = c + ((s - t) + v); } else { c = c + ((v - t) + s); }
    s = t;
  }
  let mu = (s + c) / f32(n);
  var q = 0.0;
  for (var j = 0u; j < n; j = j + 1u) {
    let d = x[vpos(prm[5], row + j)] - mu;
    q = q + d * d;
  }
  let rs = 1.0 / sqrt(q / f32(n) + bitcast<f32>(prm[2]));
  mean[i] = mu;
  rstd[i] = rs;
  for (var j = 0u; j < n; j = j + 1u) {
    var v = (x[vpos(prm[5], row + j)] - mu) * rs;
    if (prm[3] != 0u) { v = v * w[vpos(prm[6], j)]; }
    if (prm[4] != 0u) { v = v + b[vpos(prm[7], j)]; }
    out[row + j] = v;
  }
}`;
    rt.dispatch(
      'layerNorm',
      code,
      meta.words(),
      [out.buffer as GPUBuffer, mean.buffer as GPUBuffer, rstd.buffer as GPUBuffer, xb, wb, bb],
      grid1(rows),
    );
    return [out, mean, rstd];
  };

  // Gate k of row `row`: the input sum plus the hidden sum (the add the step used to run apart).
  const LSTM_GATE_WGSL = `
fn gate(k: u32, gr: u32, H: u32) -> f32 {
  return a[vpos(prm[2], gr + k * H)] + b[vpos(prm[3], gr + k * H)];
}`;

  const lstmCell: FusedKernels['lstmCell'] = (gi, gh, c) => {
    const size = sizeOf(c.shape);
    const hidden = c.shape[c.shape.length - 1];
    const ab = buf(gi);
    const bb = buf(gh);
    const cb = buf(c);
    const h = rt.alloc('float32', size);
    const c2 = rt.alloc('float32', size);
    if (size === 0) return [h, c2];
    const meta = new Meta(5)
      .set(0, size)
      .set(1, hidden)
      .viewAt(2, gi.shape, gi.strides, gi.offset)
      .viewAt(3, gh.shape, gh.strides, gh.offset)
      .viewAt(4, c.shape, c.strides, c.offset);
    const code = `${bindings(
      [
        { name: 'h', type: 'f32' },
        { name: 'c2', type: 'f32' },
      ],
      [
        { name: 'a', type: 'f32' },
        { name: 'b', type: 'f32' },
        { name: 'c', type: 'f32' },
      ],
    )}${VIEW_WGSL}${MATH_WGSL}${LSTM_GATE_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let H = prm[1];
  let row = i / H;
  let j = i % H;
  let gr = row * 4u * H + j;
  let ig = fsigmoid(gate(0u, gr, H));
  let fg = fsigmoid(gate(1u, gr, H));
  let gg = ftanh(gate(2u, gr, H));
  let og = fsigmoid(gate(3u, gr, H));
  let cn = fg * c[vpos(prm[4], i)] + ig * gg;
  c2[i] = cn;
  h[i] = og * ftanh(cn);
}`;
    rt.dispatch('lstmCell', code, meta.words(), [h.buffer as GPUBuffer, c2.buffer as GPUBuffer, ab, bb, cb], grid1(size));
    return [h, c2];
  };

  const gruCell: FusedKernels['gruCell'] = (gi, gh, hPrev) => {
    const size = sizeOf(hPrev.shape);
    const hidden = hPrev.shape[hPrev.shape.length - 1];
    const ab = buf(gi);
    const bb = buf(gh);
    const hb = buf(hPrev);
    const out = rt.alloc('float32', size);
    if (size === 0) return out;
    const meta = new Meta(5)
      .set(0, size)
      .set(1, hidden)
      .viewAt(2, gi.shape, gi.strides, gi.offset)
      .viewAt(3, gh.shape, gh.strides, gh.offset)
      .viewAt(4, hPrev.shape, hPrev.strides, hPrev.offset);
    const code = `${bindings(
      [{ name: 'out', type: 'f32' }],
      [
        { name: 'a', type: 'f32' },
        { name: 'b', type: 'f32' },
        { name: 'hp', type: 'f32' },
      ],
    )}${VIEW_WGSL}${MATH_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let H = prm[1];
  let row = i / H;
  let j = i % H;
  let gr = row * 3u * H + j;
  let r = fsigmoid(a[vpos(prm[2], gr)] + b[vpos(prm[3], gr)]);
  let z = fsigmoid(a[vpos(prm[2], gr + H)] + b[vpos(prm[3], gr + H)]);
  let n = ftanh(a[vpos(prm[2], gr + 2u * H)] + r * b[vpos(prm[3], gr + 2u * H)]);
  out[i] = (1.0 - z) * n + z * hp[vpos(prm[4], i)];
}`;
    rt.dispatch('gruCell', code, meta.words(), [out.buffer as GPUBuffer, ab, bb, hb], grid1(size));
    return out;
  };

  const lstmCellBackward: FusedKernels['lstmCellBackward'] = (gi, gh, c, dH, dC) => {
    const size = sizeOf(c.shape);
    const hidden = c.shape[c.shape.length - 1];
    const dg = rt.alloc('float32', 4 * size);
    const dc = rt.alloc('float32', size);
    if (size === 0) return [dg, dc];
    const meta = new Meta(7)
      .set(0, size)
      .set(1, hidden)
      .viewAt(2, gi.shape, gi.strides, gi.offset)
      .viewAt(3, gh.shape, gh.strides, gh.offset)
      .viewAt(4, c.shape, c.strides, c.offset)
      .viewAt(5, dH.shape, dH.strides, dH.offset)
      .viewAt(6, dC.shape, dC.strides, dC.offset);
    const code = `${bindings(
      [
        { name: 'dg', type: 'f32' },
        { name: 'dcp', type: 'f32' },
      ],
      [
        { name: 'a', type: 'f32' },
        { name: 'b', type: 'f32' },
        { name: 'c', type: 'f32' },
        { name: 'gdh', type: 'f32' },
        { name: 'gc', type: 'f32' },
      ],
    )}${VIEW_WGSL}${MATH_WGSL}${LSTM_GATE_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let H = prm[1];
  let row = i / H;
  let j = i % H;
  let gr = row * 4u * H + j;
  let ig = fsigmoid(gate(0u, gr, H));
  let fg = fsigmoid(gate(1u, gr, H));
  let gg = ftanh(gate(2u, gr, H));
  let og = fsigmoid(gate(3u, gr, H));
  let cp = c[vpos(prm[4], i)];
  let tc = ftanh(fg * cp + ig * gg);
  let dh = gdh[vpos(prm[5], i)];
  let d = gc[vpos(prm[6], i)] + dh * og * (1.0 - tc * tc);
  dg[gr] = d * gg * (ig * (1.0 - ig));
  dg[gr + H] = d * cp * (fg * (1.0 - fg));
  dg[gr + 2u * H] = d * ig * (1.0 - gg * gg);
  dg[gr + 3u * H] = dh * tc * (og * (1.0 - og));
  dcp[i] = d * fg;
}`;
    rt.dispatch(
      'lstmCellBackward',
      code,
      meta.words(),
      [dg.buffer as GPUBuffer, dc.buffer as GPUBuffer, buf(gi), buf(gh), buf(c), buf(dH), buf(dC)],
      grid1(size),
    );
    return [dg, dc];
  };

  const gruCellBackward: FusedKernels['gruCellBackward'] = (gi, gh, hPrev, dH) => {
    const size = sizeOf(hPrev.shape);
    const hidden = hPrev.shape[hPrev.shape.length - 1];
    const dgi = rt.alloc('float32', 3 * size);
    const dgh = rt.alloc('float32', 3 * size);
    const dh = rt.alloc('float32', size);
    if (size === 0) return [dgi, dgh, dh];
    const meta = new Meta(6)
      .set(0, size)
      .set(1, hidden)
      .viewAt(2, gi.shape, gi.strides, gi.offset)
      .viewAt(3, gh.shape, gh.strides, gh.offset)
      .viewAt(4, hPrev.shape, hPrev.strides, hPrev.offset)
      .viewAt(5, dH.shape, dH.strides, dH.offset);
    const code = `${bindings(
      [
        { name: 'da', type: 'f32' },
        { name: 'db', type: 'f32' },
        { name: 'dh', type: 'f32' },
      ],
      [
        { name: 'a', type: 'f32' },
        { name: 'b', type: 'f32' },
        { name: 'hp', type: 'f32' },
        { name: 'g', type: 'f32' },
      ],
    )}${VIEW_WGSL}${MATH_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let H = prm[1];
  let row = i / H;
  let j = i % H;
  let gr = row * 3u * H + j;
  let r = fsigmoid(a[vpos(prm[2], gr)] + b[vpos(prm[3], gr)]);
  let z = fsigmoid(a[vpos(prm[2], gr + H)] + b[vpos(prm[3], gr + H)]);
  let ghn = b[vpos(prm[3], gr + 2u * H)];
  let n = ftanh(a[vpos(prm[2], gr + 2u * H)] + r * ghn);
  let gv = g[vpos(prm[5], i)];
  let dn = gv * (1.0 - z) * (1.0 - n * n);
  let dz = gv * (hp[vpos(prm[4], i)] - n) * (z * (1.0 - z));
  let dr = dn * ghn * (r * (1.0 - r));
  da[gr] = dr;
  da[gr + H] = dz;
  da[gr + 2u * H] = dn;
  db[gr] = dr;
  db[gr + H] = dz;
  db[gr + 2u * H] = dn * r;
  dh[i] = gv * z;
}`;
    rt.dispatch(
      'gruCellBackward',
      code,
      meta.words(),
      [dgi.buffer as GPUBuffer, dgh.buffer as GPUBuffer, dh.buffer as GPUBuffer, buf(gi), buf(gh), buf(hPrev), buf(dH)],
      grid1(size),
    );
    return [dgi, dgh, dh];
  };

  const attention: FusedKernels['attention'] = (q, k, v, mask, { scale, causal }) => {
    const [B, L, E] = q.shape;
    const S = k.shape[1];
    const Ev = v.shape[2];
    const out = rt.alloc('float32', B * L * Ev);
    const weights = rt.alloc('float32', B * L * S);
    const rows = B * L;
    if (rows === 0) return [out, weights];
    const qb = buf(q);
    const meta = new Meta(12)
      .set(0, rows)
      .set(1, L)
      .set(2, S)
      .set(3, E)
      .set(4, Ev)
      .set(5, f32Bits(scale))
      .set(6, causal ? 1 : 0)
      .set(7, mask ? 1 : 0)
      .viewAt(8, q.shape, q.strides, q.offset)
      .viewAt(9, k.shape, k.strides, k.offset)
      .viewAt(10, v.shape, v.strides, v.offset)
      .viewAt(11, mask ? mask.shape : [], mask ? mask.strides : [], mask ? mask.offset : 0);
    // One thread per query row: scores into the weights row (max tracked), exp and sum,
    // normalise, then out = weights v. A row of all -inf gets zero weights and output.
    const code = `${bindings(
      [
        { name: 'out', type: 'f32' },
        { name: 'w', type: 'f32' },
      ],
      [
        { name: 'q', type: 'f32' },
        { name: 'k', type: 'f32' },
        { name: 'v', type: 'f32' },
        { name: 'mk', type: 'f32' },
      ],
    )}${VIEW_WGSL}${MATH_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let L = prm[1];
  let S = prm[2];
  let E = prm[3];
  let Ev = prm[4];
  let scale = bitcast<f32>(prm[5]);
  let b = i / L;
  let qi = i % L;
  let ro = i * S;
  let oo = i * Ev;
  var m = -inff();
  for (var j = 0u; j < S; j = j + 1u) {
    var s = -inff();
    // Causal: key j is masked for query qi when j > qi + (S - L), i.e. j + L > qi + S.
    if (prm[6] == 0u || j + L <= qi + S) {
      var dot = 0.0;
      for (var e = 0u; e < E; e = e + 1u) {
        dot = dot + q[vpos(prm[8], i * E + e)] * k[vpos(prm[9], (b * S + j) * E + e)];
      }
      s = dot * scale;
      if (prm[7] != 0u) { s = s + mk[vpos(prm[11], ro + j)]; }
    }
    w[ro + j] = s;
    m = fmaxn(m, s);
  }
  for (var e = 0u; e < Ev; e = e + 1u) { out[oo + e] = 0.0; }
  if (is_inf(m) && m < 0.0) {
    for (var j = 0u; j < S; j = j + 1u) { w[ro + j] = 0.0; }
    return;
  }
  var sum = 0.0;
  for (var j = 0u; j < S; j = j + 1u) {
    let ex = fexp(w[ro + j] - m);
    w[ro + j] = ex;
    sum = sum + ex;
  }
  for (var j = 0u; j < S; j = j + 1u) {
    let p = w[ro + j] / sum;
    w[ro + j] = p;
    if (p != 0.0) {
      for (var e = 0u; e < Ev; e = e + 1u) {
        out[oo + e] = out[oo + e] + p * v[vpos(prm[10], (b * S + j) * Ev + e)];
      }
    }
  }
}`;
    rt.dispatch(
      'attention',
      code,
      meta.words(),
      [out.buffer as GPUBuffer, weights.buffer as GPUBuffer, qb, buf(k), buf(v), mask ? buf(mask) : qb],
      grid1(rows),
    );
    return [out, weights];
  };

  return { linear, softmax, logSoftmax, layerNorm, lstmCell, gruCell, lstmCellBackward, gruCellBackward, attention };
}
