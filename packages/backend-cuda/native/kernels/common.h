// Device helpers shared by the kernel files: strided positions, float math with the
// contract's semantics (NaN-propagating max/min, wrapping int32, PyTorch's activations).
#pragma once
#include "args.h"
#include "gf_cuda.h"

// Buffer position of the i-th row-major element of a view.
GF_DEV long long gfPos(const GfView& v, long long i) {
  long long p = v.off;
  for (int d = v.rank - 1; d >= 0; --d) {
    long long s = v.shape[d], q = i / s;
    p += (i - q * s) * v.stride[d];
    i = q;
  }
  return p;
}

// Grid-stride loop index: each launch covers any n with a bounded grid.
#define GF_FOR(i, n) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

GF_DEV float gfNanMax(float a, float b) { return a != a ? a : b != b ? b : (a > b ? a : b); }
GF_DEV float gfNanMin(float a, float b) { return a != a ? a : b != b ? b : (a < b ? a : b); }
GF_DEV int gfWrapAdd(int a, int b) { return (int)((unsigned)a + (unsigned)b); }
GF_DEV int gfWrapSub(int a, int b) { return (int)((unsigned)a - (unsigned)b); }
GF_DEV int gfWrapMul(int a, int b) { return (int)((unsigned)a * (unsigned)b); }
GF_DEV int gfPowInt(int b, int e) {
  int r = 1;
  while (e > 0) {
    if (e & 1) r = gfWrapMul(r, b);
    b = gfWrapMul(b, b);
    e >>= 1;
  }
  return r;
}

GF_DEV float gfSigmoid(float x) {
  if (x >= 0.f) return 1.f / (1.f + expf(-x));
  float e = expf(x);
  return e / (1.f + e);
}

// The float32 unary ops; also the epilogue of the fused linear.
GF_DEV float gfUnaryF(int op, float x) {
  switch (op) {
    case U_IDENTITY: return x;
    case U_NEG: return -x;
    case U_ABS: return fabsf(x);
    case U_SIGN: return x > 0.f ? 1.f : x < 0.f ? -1.f : 0.f;
    case U_EXP: return expf(x);
    case U_EXPM1: return expm1f(x);
    case U_LOG: return logf(x);
    case U_LOG1P: return log1pf(x);
    case U_SQRT: return sqrtf(x);
    case U_RSQRT: return 1.f / sqrtf(x);
    case U_RECIPROCAL: return 1.f / x;
    case U_SIN: return sinf(x);
    case U_COS: return cosf(x);
    case U_TANH: return tanhf(x);
    case U_SIGMOID: return gfSigmoid(x);
    case U_RELU: return x > 0.f ? x : (x != x ? x : 0.f);
    case U_GELU: return 0.5f * x * erfcf(-x * 0.70710678118654752f);
    case U_GELU_TANH: return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case U_SILU: return x * gfSigmoid(x);
    case U_SOFTPLUS: return (x > 0.f ? x : 0.f) + log1pf(expf(-fabsf(x)));
    case U_ERF: return erff(x);
    case U_FLOOR: return floorf(x);
    case U_CEIL: return ceilf(x);
    case U_ROUND: return rintf(x);  // default rounding mode: half to even
    default: return x;
  }
}

GF_DEV int gfUnaryI(int op, int x) {
  switch (op) {
    case U_NEG: return gfWrapSub(0, x);
    case U_ABS: return x < 0 ? gfWrapSub(0, x) : x;
    case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case U_RELU: return x > 0 ? x : 0;
    default: return x;  // identity, floor, ceil, round
  }
}

// Loads element `p` of a buffer of dtype `t` as a double (exact for all three dtypes).
GF_DEV double gfLoad(const void* base, int t, long long p) {
  if (t == GF_F32) return static_cast<const float*>(base)[p];
  if (t == GF_I32) return static_cast<const int*>(base)[p];
  return static_cast<const unsigned char*>(base)[p];
}

// Block-wide reduction through shared scratch and barriers (no warp shuffles: the same code
// runs on the fiber emulation). Every thread of the block must call it.
template <class T, class F>
GF_DEV T gfBlockReduce(T v, F f, T* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] = f(sh[threadIdx.x], sh[threadIdx.x + s]);
    __syncthreads();
  }
  T r = sh[0];
  __syncthreads();
  return r;
}
struct GfAddF { GF_DEV float operator()(float a, float b) const { return a + b; } };
struct GfMaxF { GF_DEV float operator()(float a, float b) const { return gfNanMax(a, b); } };

// Single float32 operations that are never contracted into an FMA (nvcc contracts a*b+c by
// default): for kernels whose contract fixes the rounding of every step (adamUpdate). Host
// C++ on x86-64 without -mfma never contracts, so plain operators are the same there.
#ifdef __CUDACC__
GF_DEV float gfMulRn(float a, float b) { return __fmul_rn(a, b); }
GF_DEV float gfAddRn(float a, float b) { return __fadd_rn(a, b); }
GF_DEV float gfDivRn(float a, float b) { return __fdiv_rn(a, b); }
GF_DEV float gfSqrtRn(float a) { return __fsqrt_rn(a); }
#else
GF_DEV float gfMulRn(float a, float b) { return a * b; }
GF_DEV float gfAddRn(float a, float b) { return a + b; }
GF_DEV float gfDivRn(float a, float b) { return a / b; }
GF_DEV float gfSqrtRn(float a) { return sqrtf(a); }
#endif
