// The fused optimizer step: one Adam/AdamW update per element, in place, in the order and
// float32 rounding of the contract (torch 1.13's `_single_tensor_adam`). One launch per
// parameter updates param, expAvg, expAvgSq (and AMSGrad's maximum) together.
#include "common.h"

GF_KERNEL(gf_adam, GfAdamArgs) {
  GF_FOR(i, a.n) {
    float p = a.p[i];
    float g = a.g[gfPos(a.gv, i)];
    if (a.maximize) g = -g;
    if (a.useWd) {
      if (a.decoupled) p = gfMulRn(p, a.decay);
      else g = gfAddRn(g, gfMulRn(p, a.wd));
    }
    const float m = gfAddRn(gfMulRn(a.m[i], a.b1), gfMulRn(g, a.c1));
    const float v = gfAddRn(gfMulRn(a.v[i], a.b2), gfMulRn(gfMulRn(g, g), a.c2));
    a.m[i] = m;
    a.v[i] = v;
    float second = v;
    if (a.amsgrad) {
      second = gfNanMax(a.vmax[i], v);  // NaN-propagating, as the composition's `maximum`
      a.vmax[i] = second;
    }
    const float denom = gfAddRn(gfDivRn(gfSqrtRn(second), a.bc2), a.eps);
    a.p[i] = gfAddRn(p, gfMulRn(gfDivRn(m, denom), a.negStep));
  }
}
