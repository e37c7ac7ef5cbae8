// The whole-sequence recurrence (recurrentSequence / recurrentSequenceBackward), per time step.
// The time loop is sequential, so the addon runs it on the host side of the stream and each step
// is a GEMM (the package's own or cuBLAS) for the hidden gate sums plus one fused pointwise
// kernel below (and the projection kernel for LSTM with projSize): 2-3 launches per step,
// enqueued without waiting. The math is the per-step cell kernels' (fused.cu), one thread per
// hidden unit of each advancing row.
#include "common.h"

// Float offsets of the workspace blocks (args.h states the layout).
struct GfSeqBlocks {
  long long acts, cPrev, ghn, hPrev, hRaw;
};
GF_DEV GfSeqBlocks gfSeqBlocks(const GfSeqArgs& a) {
  const long long N = a.N, H = a.H, P = a.P;
  if (a.mode == SEQ_LSTM) return {0, N * 4 * H, -1, N * 5 * H, N * (5 * H + P)};
  if (a.mode == SEQ_GRU) return {0, -1, N * 3 * H, N * 4 * H, -1};
  return {-1, -1, -1, 0, -1};
}

GF_DEV int gfSeqGates(int mode) { return mode == SEQ_LSTM ? 4 : mode == SEQ_GRU ? 3 : 1; }

// One forward step: gates from gi (this row) + gh (+ b_hh), the state update, y and the workspace.
GF_KERNEL(gf_seq_cell, GfSeqArgs) {
  const int G = gfSeqGates(a.mode);
  const long long H = a.H, P = a.P, GH = G * H;
  const GfSeqBlocks w = gfSeqBlocks(a);
  GF_FOR(k, a.Bt * H) {
    const long long b = k / H, j = k % H, row = a.row0 + b;
    const float* x = a.gi + row * GH + j;
    const float* y = a.gh + b * GH + j;
    float s[4];
    for (int q = 0; q < G; q++) s[q] = y[q * H] + (a.hasBias ? a.bias[q * H + j] : 0.f);
    // The state this row read; with a projection P may differ from H, so each thread copies
    // the columns congruent to its unit (this kernel never writes h when projecting).
    if (a.train)
      for (long long p = j; p < P; p += H) a.ws[w.hPrev + row * P + p] = a.h[b * P + p];
    if (a.mode == SEQ_LSTM) {
      const float i = gfSigmoid(x[0] + s[0]), f = gfSigmoid(x[H] + s[1]);
      const float g = tanhf(x[2 * H] + s[2]), o = gfSigmoid(x[3 * H] + s[3]);
      const float cp = a.c[b * H + j];
      const float c = f * cp + i * g;
      const float hr = o * tanhf(c);
      if (a.train) {
        float* act = a.ws + w.acts + row * 4 * H + j;
        act[0] = i; act[H] = f; act[2 * H] = g; act[3 * H] = o;
        a.ws[w.cPrev + row * H + j] = cp;
        if (a.proj) a.ws[w.hRaw + row * H + j] = hr;
      }
      a.c[b * H + j] = c;
      if (a.proj) {
        a.hRaw[b * H + j] = hr;
      } else {
        a.h[b * H + j] = hr;
        a.y[row * H + j] = hr;
      }
    } else if (a.mode == SEQ_GRU) {
      const float r = gfSigmoid(x[0] + s[0]), z = gfSigmoid(x[H] + s[1]);
      const float n = tanhf(x[2 * H] + r * s[2]);
      const float hn = (1.f - z) * n + z * a.h[b * H + j];
      if (a.train) {
        float* act = a.ws + w.acts + row * 3 * H + j;
        act[0] = r; act[H] = z; act[2 * H] = n;
        a.ws[w.ghn + row * H + j] = s[2];
      }
      a.h[b * H + j] = hn;
      a.y[row * H + j] = hn;
    } else {
      const float pre = x[0] + s[0];
      const float hn = a.mode == SEQ_RNN_TANH ? tanhf(pre) : (pre > 0.f || pre != pre ? pre : 0.f);
      a.h[b * H + j] = hn;
      a.y[row * H + j] = hn;
    }
  }
}

// LSTM with projSize, after gf_seq_cell: h = hRaw W_hr^T for the step's rows, into the state and y
// (one thread per output column of each row: P is small next to the GEMM sizes).
GF_KERNEL(gf_seq_project, GfSeqArgs) {
  const long long H = a.H, P = a.P;
  GF_FOR(k, a.Bt * P) {
    const long long b = k / P, q = k % P;
    const float* hr = a.hRaw + b * H;
    const float* wr = a.wr + q * H;
    float s = 0.f;
    for (long long j = 0; j < H; j++) s = fmaf(wr[j], hr[j], s);
    a.h[b * P + q] = s;
    a.y[(a.row0 + b) * P + q] = s;
  }
}

// Backward with a projection, first kernel of a step: the gradient of each advancing row's
// projected h (dY + the carried state gradient + the previous step's dGh W_hh) into dHs, whose
// rows the addon then multiplies by W_hr. Rows mPrev > b >= Bt only fold dhMat into dh.
GF_KERNEL(gf_seq_bwd_grad, GfSeqArgs) {
  const long long P = a.P;
  GF_FOR(k, a.rowsLaunched * P) {
    const long long b = k / P, p = k % P;
    const float carried = a.dh[k] + (b < a.mPrev ? a.dhMat[k] : 0.f);
    if (b < a.Bt) {
      a.dHs[(a.row0 + b) * P + p] = a.dY[(a.row0 + b) * P + p] + carried;
      a.dh[k] = 0.f;
    } else {
      a.dh[k] = carried;
    }
  }
}

// One backward step: the gate gradients of each advancing row (dGi, and dGh for GRU), the cell
// and direct state gradients. Rows mPrev > b >= Bt (reverse direction: they advance at fewer
// steps) fold the previous step's dhMat into dh. Without a projection P = H.
GF_KERNEL(gf_seq_cell_bwd, GfSeqArgs) {
  const int G = gfSeqGates(a.mode);
  const long long H = a.H, GH = G * H;
  const GfSeqBlocks w = gfSeqBlocks(a);
  GF_FOR(k, a.rowsLaunched * H) {
    const long long b = k / H, j = k % H, row = a.row0 + b;
    if (b >= a.Bt) {
      if (!a.proj) a.dh[k] += a.dhMat[k];  // with a projection gf_seq_bwd_grad did it
      continue;
    }
    const float g = a.proj ? a.dhr[k] : a.dY[row * H + j] + a.dh[k] + (b < a.mPrev ? a.dhMat[k] : 0.f);
    float* dgi = a.dGi + row * GH + j;
    if (a.mode == SEQ_LSTM) {
      const float* act = a.ws + w.acts + row * 4 * H + j;
      const float i = act[0], f = act[H], gg = act[2 * H], o = act[3 * H];
      const float cp = a.ws[w.cPrev + row * H + j];
      const float tc = tanhf(f * cp + i * gg);
      const float dcv = a.dc[k] + g * o * (1.f - tc * tc);
      dgi[0] = dcv * gg * i * (1.f - i);
      dgi[H] = dcv * cp * f * (1.f - f);
      dgi[2 * H] = dcv * i * (1.f - gg * gg);
      dgi[3 * H] = g * tc * o * (1.f - o);
      a.dc[k] = dcv * f;
      if (!a.proj) a.dh[k] = 0.f;
    } else if (a.mode == SEQ_GRU) {
      const float* act = a.ws + w.acts + row * 3 * H + j;
      const float r = act[0], z = act[H], n = act[2 * H];
      const float hp = a.ws[w.hPrev + row * H + j];
      const float dn = g * (1.f - z) * (1.f - n * n), dz = g * (hp - n) * z * (1.f - z);
      const float dr = dn * a.ws[w.ghn + row * H + j] * r * (1.f - r);
      float* dgh = a.dGh + row * GH + j;
      dgi[0] = dr; dgi[H] = dz; dgi[2 * H] = dn;
      dgh[0] = dr; dgh[H] = dz; dgh[2 * H] = dn * r;
      a.dh[k] = g * z;  // the direct path h' = ... + z h
    } else {
      const float v = a.y[row * H + j];
      dgi[0] = g * (a.mode == SEQ_RNN_TANH ? 1.f - v * v : (v > 0.f ? 1.f : 0.f));
      a.dh[k] = 0.f;
    }
  }
}

// After the last backward step: dH0 = dh + the last step's dGh W_hh (its first mPrev rows).
GF_KERNEL(gf_seq_bwd_final, GfSeqArgs) {
  GF_FOR(k, a.mPrev * a.P) a.dh[k] += a.dhMat[k];
}

// out[c] = sum over rows of x[r, c]: one thread per column, rows in order (coalesced across threads).
GF_KERNEL(gf_col_sum, GfColSumArgs) {
  GF_FOR(c, a.cols) {
    float s = 0.f;
    for (long long r = 0; r < a.rows; r++) s += a.x[r * a.cols + c];
    a.out[c] = s;
  }
}
