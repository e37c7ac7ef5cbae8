// Fused kernels: softmax / logSoftmax / layerNorm (one block per row), LSTM and GRU cell steps
// and their backward passes (one thread per hidden unit), attention (one block per query).
#include "common.h"

// Rows of a contiguous [outer, len, inner] tensor: row r holds elements base + j * inner.
GF_DEV long long gfRowBase(const GfRowArgs& a, long long r) { return (r / a.inner) * a.len * a.inner + r % a.inner; }

GF_KERNEL(gf_softmax, GfRowArgs) {  // op 0: softmax, 1: logSoftmax
  __shared__ float sh[GF_BLOCK];
  for (long long r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const long long base = gfRowBase(a, r);
    float mx = -INFINITY;
    for (long long j = threadIdx.x; j < a.len; j += blockDim.x) mx = gfNanMax(mx, a.x[base + j * a.inner]);
    mx = gfBlockReduce(mx, GfMaxF{}, sh);
    float s = 0.f;
    for (long long j = threadIdx.x; j < a.len; j += blockDim.x) s += expf(a.x[base + j * a.inner] - mx);
    s = gfBlockReduce(s, GfAddF{}, sh);
    const float ls = logf(s);
    for (long long j = threadIdx.x; j < a.len; j += blockDim.x) {
      float d = a.x[base + j * a.inner] - mx;
      a.out[base + j * a.inner] = a.op ? d - ls : expf(d) / s;
    }
  }
}

GF_KERNEL(gf_layer_norm, GfRowArgs) {
  __shared__ float sh[GF_BLOCK];
  for (long long r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const float* x = a.x + r * a.len;
    float s = 0.f;
    for (long long j = threadIdx.x; j < a.len; j += blockDim.x) s += x[j];
    const float mean = gfBlockReduce(s, GfAddF{}, sh) / (float)a.len;
    float ss = 0.f;
    for (long long j = threadIdx.x; j < a.len; j += blockDim.x) ss += (x[j] - mean) * (x[j] - mean);
    const float rstd = 1.f / sqrtf(gfBlockReduce(ss, GfAddF{}, sh) / (float)a.len + a.eps);
    if (threadIdx.x == 0) { a.mean[r] = mean; a.rstd[r] = rstd; }
    for (long long j = threadIdx.x; j < a.len; j += blockDim.x) {
      float y = (x[j] - mean) * rstd;
      if (a.hasW) y *= a.w[j];
      if (a.hasB) y += a.b[j];
      a.out[r * a.len + j] = y;
    }
  }
}

// in: gi, gh [B,4H], c [B,H] -> out: h, c' (gates = gi + gh)
GF_KERNEL(gf_lstm_cell, GfCellArgs) {
  GF_FOR(k, a.B * a.H) {
    const long long b = k / a.H, j = k % a.H;
    const float* x = a.in[0] + b * 4 * a.H + j;
    const float* y = a.in[1] + b * 4 * a.H + j;
    const float i = gfSigmoid(x[0] + y[0]), f = gfSigmoid(x[a.H] + y[a.H]);
    const float gg = tanhf(x[2 * a.H] + y[2 * a.H]), o = gfSigmoid(x[3 * a.H] + y[3 * a.H]);
    const float c = f * a.in[2][k] + i * gg;
    a.out[1][k] = c;
    a.out[0][k] = o * tanhf(c);
  }
}
// in: gi, gh, c, dH, dC -> out: dGates [B,4H] (the gradient of gi and of gh), dCPrev
GF_KERNEL(gf_lstm_cell_backward, GfCellArgs) {
  GF_FOR(k, a.B * a.H) {
    const long long b = k / a.H, j = k % a.H;
    const float* x = a.in[0] + b * 4 * a.H + j;
    const float* y = a.in[1] + b * 4 * a.H + j;
    float* dg = a.out[0] + b * 4 * a.H + j;
    const float i = gfSigmoid(x[0] + y[0]), f = gfSigmoid(x[a.H] + y[a.H]);
    const float gg = tanhf(x[2 * a.H] + y[2 * a.H]), o = gfSigmoid(x[3 * a.H] + y[3 * a.H]);
    const float cp = a.in[2][k], dh = a.in[3][k];
    const float tc = tanhf(f * cp + i * gg);
    const float dc = a.in[4][k] + dh * o * (1.f - tc * tc);
    dg[0] = dc * gg * i * (1.f - i);
    dg[a.H] = dc * cp * f * (1.f - f);
    dg[2 * a.H] = dc * i * (1.f - gg * gg);
    dg[3 * a.H] = dh * tc * o * (1.f - o);
    a.out[1][k] = dc * f;
  }
}
// in: gi, gh [B,3H], h -> out: h'
GF_KERNEL(gf_gru_cell, GfCellArgs) {
  GF_FOR(k, a.B * a.H) {
    const long long off = (k / a.H) * 3 * a.H + k % a.H;
    const float* x = a.in[0] + off;
    const float* y = a.in[1] + off;
    const float r = gfSigmoid(x[0] + y[0]), z = gfSigmoid(x[a.H] + y[a.H]);
    const float n = tanhf(x[2 * a.H] + r * y[2 * a.H]);
    a.out[0][k] = (1.f - z) * n + z * a.in[2][k];
  }
}
// in: gi, gh, h, dH -> out: dGi, dGh [B,3H], dHPrev
GF_KERNEL(gf_gru_cell_backward, GfCellArgs) {
  GF_FOR(k, a.B * a.H) {
    const long long off = (k / a.H) * 3 * a.H + k % a.H;
    const float* x = a.in[0] + off;
    const float* y = a.in[1] + off;
    const float r = gfSigmoid(x[0] + y[0]), z = gfSigmoid(x[a.H] + y[a.H]);
    const float ghn = y[2 * a.H], n = tanhf(x[2 * a.H] + r * ghn), g = a.in[3][k];
    const float dn = g * (1.f - z) * (1.f - n * n), dz = g * (a.in[2][k] - n) * z * (1.f - z);
    const float dr = dn * ghn * r * (1.f - r);
    float* dgi = a.out[0] + off;
    float* dgh = a.out[1] + off;
    dgi[0] = dr; dgi[a.H] = dz; dgi[2 * a.H] = dn;
    dgh[0] = dr; dgh[a.H] = dz; dgh[2 * a.H] = dn * r;
    a.out[2][k] = g * z;
  }
}

GF_KERNEL(gf_attention, GfAttnArgs) {
  __shared__ float sh[GF_BLOCK];
  for (long long row = blockIdx.x; row < a.B * a.L; row += gridDim.x) {
    const long long b = row / a.L, i = row % a.L;
    const float* q = a.q + a.qs[0] + b * a.qs[1] + i * a.qs[2];
    float* w = a.weights + row * a.S;
    float mx = -INFINITY;
    for (long long j = threadIdx.x; j < a.S; j += blockDim.x) {
      float s = -INFINITY;
      if (!a.causal || j <= i + (a.S - a.L)) {
        const float* k = a.k + a.ks[0] + b * a.ks[1] + j * a.ks[2];
        float dot = 0.f;
        for (long long e = 0; e < a.E; e++) dot = fmaf(q[e * a.qs[3]], k[e * a.ks[3]], dot);
        s = a.scale * dot;
        if (a.hasMask) s += a.mask[a.ms[0] + b * a.ms[1] + i * a.ms[2] + j * a.ms[3]];
      }
      w[j] = s;
      mx = gfNanMax(mx, s);
    }
    mx = gfBlockReduce(mx, GfMaxF{}, sh);
    float sum = 0.f;
    for (long long j = threadIdx.x; j < a.S; j += blockDim.x) {
      float e = mx == -INFINITY ? 0.f : expf(w[j] - mx);  // an all -inf row gets zero weights
      w[j] = e;
      sum += e;
    }
    sum = gfBlockReduce(sum, GfAddF{}, sh);
    for (long long j = threadIdx.x; j < a.S; j += blockDim.x) w[j] = mx == -INFINITY ? 0.f : w[j] / sum;
    __syncthreads();  // the weights row is complete before any thread reads it
    float* out = a.out + row * a.Ev;
    for (long long e = threadIdx.x; e < a.Ev; e += blockDim.x) {
      float acc = 0.f;
      for (long long j = 0; j < a.S; j++) acc = fmaf(w[j], a.v[a.vs[0] + b * a.vs[1] + j * a.vs[2] + e * a.vs[3]], acc);
      out[e] = acc;
    }
  }
}
