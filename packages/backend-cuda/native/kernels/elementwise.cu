// Elementwise kernels: unary, binary, cast, where, strided copy and fill.
#include "common.h"

template <class T>
GF_DEV void gfStore(void* out, long long p, T v) { static_cast<T*>(out)[p] = v; }

GF_KERNEL(gf_unary_f32, GfEwArgs) {
  const float* x = static_cast<const float*>(a.in[0]);
  GF_FOR(i, a.n) static_cast<float*>(a.out)[i] = gfUnaryF(a.op, x[gfPos(a.v[0], i)]);
}
GF_KERNEL(gf_unary_i32, GfEwArgs) {
  const int* x = static_cast<const int*>(a.in[0]);
  GF_FOR(i, a.n) static_cast<int*>(a.out)[i] = gfUnaryI(a.op, x[gfPos(a.v[0], i)]);
}
GF_KERNEL(gf_unary_b8, GfEwArgs) {  // identity/abs/relu/floor/... keep bools, logicalNot flips
  const unsigned char* x = static_cast<const unsigned char*>(a.in[0]);
  GF_FOR(i, a.n) {
    unsigned char v = x[gfPos(a.v[0], i)];
    static_cast<unsigned char*>(a.out)[i] = a.op == U_LOGICAL_NOT ? !v : v;
  }
}

template <class T>
GF_DEV int gfCompare(int op, T x, T y) {
  switch (op) {
    case B_EQ: return x == y;
    case B_NE: return x != y;
    case B_LT: return x < y;
    case B_LE: return x <= y;
    case B_GT: return x > y;
    case B_GE: return x >= y;
    case B_AND: return (x != 0) && (y != 0);
    case B_OR: return (x != 0) || (y != 0);
    default: return (x != 0) != (y != 0);  // xor
  }
}

GF_KERNEL(gf_binary_f32, GfEwArgs) {
  const float* x = static_cast<const float*>(a.in[0]);
  const float* y = static_cast<const float*>(a.in[1]);
  GF_FOR(i, a.n) {
    float u = x[gfPos(a.v[0], i)], w = y[gfPos(a.v[1], i)];
    if (a.op >= B_EQ) { gfStore<unsigned char>(a.out, i, (unsigned char)gfCompare(a.op, u, w)); continue; }
    float r;
    switch (a.op) {
      case B_ADD: r = u + w; break;
      case B_SUB: r = u - w; break;
      case B_MUL: r = u * w; break;
      case B_DIV: r = u / w; break;
      case B_POW: r = (float)pow((double)u, (double)w); break;
      case B_MAXIMUM: r = gfNanMax(u, w); break;
      default: r = gfNanMin(u, w); break;
    }
    gfStore<float>(a.out, i, r);
  }
}
GF_KERNEL(gf_binary_i32, GfEwArgs) {
  const int* x = static_cast<const int*>(a.in[0]);
  const int* y = static_cast<const int*>(a.in[1]);
  GF_FOR(i, a.n) {
    int u = x[gfPos(a.v[0], i)], w = y[gfPos(a.v[1], i)];
    if (a.op >= B_EQ) { gfStore<unsigned char>(a.out, i, (unsigned char)gfCompare(a.op, u, w)); continue; }
    int r;
    switch (a.op) {
      case B_ADD: r = gfWrapAdd(u, w); break;
      case B_SUB: r = gfWrapSub(u, w); break;
      case B_MUL: r = gfWrapMul(u, w); break;
      case B_DIV: r = w == 0 ? 0 : u / w; break;  // core never divides int32; defined anyway
      case B_POW: r = gfPowInt(u, w); break;
      case B_MAXIMUM: r = u > w ? u : w; break;
      default: r = u < w ? u : w; break;
    }
    gfStore<int>(a.out, i, r);
  }
}
GF_KERNEL(gf_binary_b8, GfEwArgs) {  // add/max act as or, mul/min as and
  const unsigned char* x = static_cast<const unsigned char*>(a.in[0]);
  const unsigned char* y = static_cast<const unsigned char*>(a.in[1]);
  GF_FOR(i, a.n) {
    int u = x[gfPos(a.v[0], i)], w = y[gfPos(a.v[1], i)], r;
    if (a.op >= B_EQ) r = gfCompare(a.op, u, w);
    else if (a.op == B_ADD || a.op == B_MAXIMUM) r = u || w;
    else if (a.op == B_SUB) r = u != w;
    else r = u && w;
    gfStore<unsigned char>(a.out, i, (unsigned char)r);
  }
}

GF_KERNEL(gf_cast, GfEwArgs) {
  GF_FOR(i, a.n) {
    double v = gfLoad(a.in[0], a.inType, gfPos(a.v[0], i));
    if (a.outType == GF_F32) gfStore<float>(a.out, i, (float)v);
    else if (a.outType == GF_B8) gfStore<unsigned char>(a.out, i, (unsigned char)(v != 0.0));
    else gfStore<int>(a.out, i, v != v ? 0 : v >= 2147483647.0 ? 2147483647 : v <= -2147483648.0 ? (int)-2147483647 - 1 : (int)v);
  }
}

// where: element size only matters (4 bytes or 1 byte), values are copied bit for bit.
GF_KERNEL(gf_where_4, GfEwArgs) {
  const unsigned char* c = static_cast<const unsigned char*>(a.in[0]);
  GF_FOR(i, a.n) {
    const int* src = static_cast<const int*>(c[gfPos(a.v[0], i)] ? a.in[1] : a.in[2]);
    static_cast<int*>(a.out)[i] = src[gfPos(a.v[c[gfPos(a.v[0], i)] ? 1 : 2], i)];
  }
}
GF_KERNEL(gf_where_1, GfEwArgs) {
  const unsigned char* c = static_cast<const unsigned char*>(a.in[0]);
  GF_FOR(i, a.n) {
    int k = c[gfPos(a.v[0], i)] ? 1 : 2;
    static_cast<unsigned char*>(a.out)[i] = static_cast<const unsigned char*>(a.in[k])[gfPos(a.v[k], i)];
  }
}

// Strided copy of a view into a (possibly strided) destination: contiguous(), concat, write.
GF_KERNEL(gf_copy_4, GfEwArgs) {
  const int* x = static_cast<const int*>(a.in[0]);
  GF_FOR(i, a.n) static_cast<int*>(a.out)[gfPos(a.dst, i)] = x[gfPos(a.v[0], i)];
}
GF_KERNEL(gf_copy_1, GfEwArgs) {
  const unsigned char* x = static_cast<const unsigned char*>(a.in[0]);
  GF_FOR(i, a.n) static_cast<unsigned char*>(a.out)[gfPos(a.dst, i)] = x[gfPos(a.v[0], i)];
}

GF_KERNEL(gf_fill, GfEwArgs) {
  GF_FOR(i, a.n) {
    if (a.outType == GF_F32) gfStore<float>(a.out, i, (float)a.value);
    else if (a.outType == GF_I32) gfStore<int>(a.out, i, (int)a.value);
    else gfStore<unsigned char>(a.out, i, (unsigned char)(a.value != 0.0));
  }
}

// Bias and activation after a cuBLAS GEMM (the own GEMM kernel fuses them itself).
GF_KERNEL(gf_bias_act, GfMatmulArgs) {
  long long n = a.batch * a.M * a.N;
  GF_FOR(i, n) {
    float v = a.out[i];
    if (a.hasBias) v += a.bias[a.biasOff + (i % a.N) * a.biasStride];
    a.out[i] = a.act >= 0 ? gfUnaryF(a.act, v) : v;
  }
}
