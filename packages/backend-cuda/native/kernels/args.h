// Kernel argument blocks, shared by the kernels (device side) and the addon (host side).
// Every kernel takes one of these by value, so a launch passes a single parameter.
#pragma once
#include <cstdint>

#define GF_MAX_RANK 8

// A strided view: element (i0..in-1) lives at off + sum(ik * stride[k]).
struct GfView {
  long long off;
  int rank;
  int pad;
  long long shape[GF_MAX_RANK];
  long long stride[GF_MAX_RANK];
};

enum GfDType { GF_F32 = 0, GF_I32 = 1, GF_B8 = 2 };

// unary, binary, where, cast, copy, fill: n elements, inputs viewed with the output's shape.
struct GfEwArgs {
  long long n;
  int op;
  int inType;
  int outType;
  int pad;
  double value;   // fill value
  void* out;
  GfView dst;     // where `out` elements go (contiguous for new outputs, strided for write)
  const void* in[3];
  GfView v[3];
};

// reduce: `kept` indexes the outputs, `red` the reduced elements of one output.
struct GfReduceArgs {
  long long nOut, nRed;
  int op, type;
  void* out;
  const void* in;
  GfView kept, red;
};

// argReduce / cumsum: one line of `len` elements with element stride `step` per entry of `lines`.
struct GfLineArgs {
  long long nLines, len, step, inner;  // inner: cumsum output stride of the axis
  int op, type;
  void* out;
  const void* in;
  GfView lines;
};

// gather (out = x[.., idx, ..]) and scatter (out[.., idx, ..] = / += src).
struct GfIndexArgs {
  long long n;
  long long size;       // x.shape[axis] (gather) / base.shape[axis] (scatter): valid indices
  int* fault;           // [call id, bad index] of the first out-of-range index, 0 when none
  int axis, type, mode, call;
  void* out;
  const void* x;        // gather source / scatter src values
  const int* index;
  GfView xv;            // gather: x view; scatter: src view
  GfView iv;            // index view
  GfView ov;            // scatter: contiguous view of the output (strides of base.shape)
};

// matmul / linear: out[b, m, n] = act(sum_k A[b, m, k] B[b, k, n] + bias[n]).
struct GfMatmulArgs {
  long long M, N, K, batch;
  int act, hasBias;
  float* out;
  const float* A;
  const float* B;
  const float* bias;    // element-strided by biasStride
  long long biasOff, biasStride;
  long long aRow, aCol, bRow, bCol;   // strides of the matrix dims
  GfView aBatch, bBatch;              // batch dims (shape identical, strides may be 0)
};

// softmax / logSoftmax / layerNorm: rows of a contiguous tensor [outer, len, inner].
struct GfRowArgs {
  long long rows, len, inner;
  int op, hasW, hasB, pad;
  float eps;
  float* out;
  float* mean;
  float* rstd;
  const float* x;
  const float* w;
  const float* b;
};

// LSTM/GRU cell steps on contiguous [B, kH] inputs.
struct GfCellArgs {
  long long B, H;
  const float* in[5];
  float* out[3];
};

// Whole-sequence recurrence, one time step of one layer-direction (recurrent.cu). The addon
// runs the time loop: per step a GEMM for the hidden gate sums, then these pointwise kernels.
// States are [B, *] and the first Bt rows advance; `row0` is the step's first packed row.
// Workspace blocks (float offsets for N rows): LSTM acts [N,4H], cPrev [N,H], hPrev [N,P],
// hRaw [N,H]; GRU acts [N,3H], ghn [N,H], hPrev [N,H]; RNN hPrev [N,H] (backend-cpu's layout).
enum GfSeqMode { SEQ_LSTM, SEQ_GRU, SEQ_RNN_TANH, SEQ_RNN_RELU };
struct GfSeqArgs {
  long long Bt;      // rows advancing this step
  long long rowsLaunched;  // backward: max(Bt, mPrev): rows Bt..mPrev-1 fold dhMat into dh
  long long mPrev;   // backward: rows of dhMat the previous step's GEMM wrote
  long long H, P, N, row0;
  int mode, proj, hasBias, train;
  // forward
  const float* gi;   // [N, G*H]
  const float* gh;   // [Bt, G*H]: h W_hh^T of this step (no bias)
  const float* bias; // [G*H] or null
  float* h;          // state [B, P]
  float* c;          // state [B, H] (LSTM)
  float* y;          // [N, P]
  float* hRaw;       // [Bt, H] scratch: the unprojected h (LSTM with projection)
  float* ws;         // workspace (train) or null; backward reads it
  const float* wr;   // [P, H] projection weight
  // backward
  const float* dY;   // [N, P]
  float* dh;         // [B, P]: the state gradient not yet through W_hh
  float* dc;         // [B, H]
  const float* dhMat;  // [mPrev, P]: the previous step's dGh W_hh
  float* dGi;        // [N, G*H]
  float* dGh;        // [N, G*H] (GRU; else the same buffer as dGi)
  float* dHs;        // [N, P]: the gradient of each row's projected h (projection)
  const float* dhr;  // [Bt, H]: dHs W_hr of this step (projection)
};

// Column sums of a contiguous [rows, cols] matrix (the recurrent bias gradient).
struct GfColSumArgs {
  long long rows, cols;
  float* out;
  const float* x;
};

// One Adam/AdamW step in place (optim.cu). Constants are the float32 values the contract names.
struct GfAdamArgs {
  long long n;
  int decoupled, maximize, useWd, amsgrad;
  float b1, c1, b2, c2, bc2, eps, negStep, wd, decay;
  int pad;
  float* p;
  float* m;
  float* v;
  float* vmax;       // AMSGrad's running maximum, or null
  const float* g;
  GfView gv;         // the gradient's (strided, broadcast) view
};

// attention: one block per (batch, query).
struct GfAttnArgs {
  long long B, L, S, E, Ev;
  int causal, hasMask;
  float scale;
  int pad;
  float* out;
  float* weights;
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  long long qs[4], ks[4], vs[4], ms[4];  // offset, then strides of the 3 dims
};

// Op codes (the TypeScript side sends the same numbers; see src/ops.ts).
enum GfUnary {
  U_IDENTITY, U_NEG, U_ABS, U_SIGN, U_EXP, U_EXPM1, U_LOG, U_LOG1P, U_SQRT, U_RSQRT, U_RECIPROCAL,
  U_SIN, U_COS, U_TANH, U_SIGMOID, U_RELU, U_GELU, U_GELU_TANH, U_SILU, U_SOFTPLUS, U_ERF,
  U_FLOOR, U_CEIL, U_ROUND, U_LOGICAL_NOT
};
enum GfBinary {
  B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE,
  B_AND, B_OR, B_XOR
};
enum GfReduce { R_SUM, R_PROD, R_MAX, R_MIN, R_ANY, R_ALL };
