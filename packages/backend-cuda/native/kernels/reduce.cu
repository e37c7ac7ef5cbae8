// Reductions (one block per output), arg-reductions and cumulative sums (one thread per line),
// gather and scatter.
#include "common.h"

template <class T>
struct GfRed {
  int op;
  GF_DEV T operator()(T x, T y) const {
    switch (op) {
      case R_SUM: return gfAdd(x, y);
      case R_PROD: return gfMul(x, y);
      case R_MAX: return gfMax(x, y);
      case R_MIN: return gfMin(x, y);
      case R_ANY: return (T)(x || y);
      default: return (T)(x && y);
    }
  }
  static GF_DEV float gfAdd(float x, float y) { return x + y; }
  static GF_DEV int gfAdd(int x, int y) { return gfWrapAdd(x, y); }
  static GF_DEV unsigned char gfAdd(unsigned char x, unsigned char y) { return x || y; }
  static GF_DEV float gfMul(float x, float y) { return x * y; }
  static GF_DEV int gfMul(int x, int y) { return gfWrapMul(x, y); }
  static GF_DEV unsigned char gfMul(unsigned char x, unsigned char y) { return x && y; }
  static GF_DEV float gfMax(float x, float y) { return gfNanMax(x, y); }
  static GF_DEV float gfMin(float x, float y) { return gfNanMin(x, y); }
  template <class U> static GF_DEV U gfMax(U x, U y) { return x > y ? x : y; }
  template <class U> static GF_DEV U gfMin(U x, U y) { return x < y ? x : y; }
};

template <class T>
GF_DEV T gfIdentity(int op) {
  switch (op) {
    case R_SUM: case R_ANY: return (T)0;
    case R_PROD: case R_ALL: return (T)1;
    case R_MAX: return (T)(-INFINITY);
    default: return (T)INFINITY;
  }
}
template <> GF_DEV unsigned char gfIdentity<unsigned char>(int op) { return op == R_PROD || op == R_ALL; }
template <> GF_DEV int gfIdentity<int>(int op) {
  return op == R_PROD ? 1 : op == R_MAX ? (int)0x80000000 : op == R_MIN ? 0x7fffffff : 0;
}

template <class T>
GF_DEV void gfReduce(const GfReduceArgs& a) {
  __shared__ T sh[GF_BLOCK];
  GfRed<T> f{a.op};
  for (long long o = blockIdx.x; o < a.nOut; o += gridDim.x) {
    const T* x = static_cast<const T*>(a.in) + gfPos(a.kept, o);
    T acc = gfIdentity<T>(a.op);
    for (long long r = threadIdx.x; r < a.nRed; r += blockDim.x) acc = f(acc, x[gfPos(a.red, r)]);
    acc = gfBlockReduce(acc, f, sh);
    if (threadIdx.x == 0) static_cast<T*>(a.out)[o] = acc;
  }
}
GF_KERNEL(gf_reduce_f32, GfReduceArgs) { gfReduce<float>(a); }
GF_KERNEL(gf_reduce_i32, GfReduceArgs) { gfReduce<int>(a); }
GF_KERNEL(gf_reduce_b8, GfReduceArgs) { gfReduce<unsigned char>(a); }

// argmax/argmin: first occurrence wins ties; a NaN is the extreme (the first NaN wins).
template <class T>
GF_DEV void gfArgReduce(const GfLineArgs& a) {
  GF_FOR(l, a.nLines) {
    const T* x = static_cast<const T*>(a.in) + gfPos(a.lines, l);
    T best = x[0];
    int bi = 0;
    for (long long j = 1; j < a.len && best == best; j++) {
      T v = x[j * a.step];
      bool better = v != v || (a.op == 0 ? v > best : v < best);
      if (better) { best = v; bi = (int)j; }
    }
    static_cast<int*>(a.out)[l] = bi;
  }
}
GF_KERNEL(gf_argreduce_f32, GfLineArgs) { gfArgReduce<float>(a); }
GF_KERNEL(gf_argreduce_i32, GfLineArgs) { gfArgReduce<int>(a); }
GF_KERNEL(gf_argreduce_b8, GfLineArgs) { gfArgReduce<unsigned char>(a); }

// Inclusive cumsum; output line l is contiguous-strided by `inner` (stored in op).
template <class T>
GF_DEV void gfCumsum(const GfLineArgs& a) {
  long long inner = a.inner;
  GF_FOR(l, a.nLines) {
    const T* x = static_cast<const T*>(a.in) + gfPos(a.lines, l);
    T* y = static_cast<T*>(a.out) + (l / inner) * a.len * inner + l % inner;
    T s = 0;
    for (long long j = 0; j < a.len; j++) {
      s = GfRed<T>::gfAdd(s, x[j * a.step]);
      y[j * inner] = s;
    }
  }
}
GF_KERNEL(gf_cumsum_f32, GfLineArgs) { gfCumsum<float>(a); }
GF_KERNEL(gf_cumsum_i32, GfLineArgs) { gfCumsum<int>(a); }

// Records the first out-of-range index of any gather/scatter since the fault words were last read.
GF_DEV void gfFault(const GfIndexArgs& a, long long idx) {
  if (atomicCAS(a.fault, 0, a.call) == 0) a.fault[1] = (int)idx;
}

// Position in `x` of output element i of gather (index view iv, x view xv, axis); false when the
// index is out of range (recorded as a fault; nothing may be read or written for it).
GF_DEV bool gfIndexPos(const GfIndexArgs& a, long long i, const GfView& target, long long* ip, long long* tp) {
  long long pi = a.iv.off, pt = target.off, rest = i;
  long long coord[GF_MAX_RANK];
  for (int d = a.iv.rank - 1; d >= 0; --d) {
    long long s = a.iv.shape[d], q = rest / s;
    coord[d] = rest - q * s;
    pi += coord[d] * a.iv.stride[d];
    rest = q;
  }
  long long idx = a.index[pi];
  *ip = pi;
  if (idx < 0 || idx >= a.size) {
    gfFault(a, idx);
    return false;
  }
  for (int d = 0; d < a.iv.rank; d++) pt += (d == a.axis ? idx : coord[d]) * target.stride[d];
  *tp = pt;
  return true;
}

template <class T>
GF_DEV void gfGather(const GfIndexArgs& a) {
  GF_FOR(i, a.n) {
    long long ip, xp;
    static_cast<T*>(a.out)[i] = gfIndexPos(a, i, a.xv, &ip, &xp) ? static_cast<const T*>(a.x)[xp] : (T)0;
  }
}
GF_KERNEL(gf_gather_4, GfIndexArgs) { gfGather<int>(a); }
GF_KERNEL(gf_gather_1, GfIndexArgs) { gfGather<unsigned char>(a); }

// Scatter of src (view xv, index's shape) into the already-copied output (view ov).
template <class T>
GF_DEV void gfScatter(const GfIndexArgs& a) {
  GF_FOR(i, a.n) {
    long long ip, op;
    if (!gfIndexPos(a, i, a.ov, &ip, &op)) continue;
    T v = static_cast<const T*>(a.x)[gfPos(a.xv, i)];
    T* dst = static_cast<T*>(a.out) + op;
    if (a.mode == 0) *dst = v;
    else atomicAdd(dst, v);
  }
}
GF_KERNEL(gf_scatter_f32, GfIndexArgs) { gfScatter<float>(a); }
GF_KERNEL(gf_scatter_i32, GfIndexArgs) { gfScatter<int>(a); }
GF_KERNEL(gf_scatter_b8, GfIndexArgs) {  // bool: 'add' is or, which is a plain store of 1
  GF_FOR(i, a.n) {
    long long ip, op;
    if (!gfIndexPos(a, i, a.ov, &ip, &op)) continue;
    unsigned char v = static_cast<const unsigned char*>(a.x)[gfPos(a.xv, i)];
    unsigned char* dst = static_cast<unsigned char*>(a.out) + op;
    if (a.mode == 0) *dst = v;
    else if (v) *dst = 1;
  }
}
