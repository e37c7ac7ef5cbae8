// Batched GEMM with a bias + activation epilogue (matmul and the fused linear): 64x64 output
// tiles staged through shared memory in 16-deep k slices, each of the 256 threads holding a
// 4x4 register block. Operands are arbitrary strided views (transposed weights included).
#include "common.h"

#define MM_T 64   // output tile edge
#define MM_K 16   // k slice
GF_KERNEL(gf_matmul, GfMatmulArgs) {
  __shared__ float As[MM_K][MM_T + 1];
  __shared__ float Bs[MM_K][MM_T];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const long long tilesN = (a.N + MM_T - 1) / MM_T, perBatch = ((a.M + MM_T - 1) / MM_T) * tilesN;
  for (long long t = blockIdx.x; t < a.batch * perBatch; t += gridDim.x) {
    const long long b = t / perBatch, r = t % perBatch;
    const long long m0 = (r / tilesN) * MM_T, n0 = (r % tilesN) * MM_T;
    const float* A = a.A + gfPos(a.aBatch, b);
    const float* B = a.B + gfPos(a.bBatch, b);
    float acc[4][4];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
    for (long long k0 = 0; k0 < a.K; k0 += MM_K) {
      for (int e = threadIdx.x; e < MM_K * MM_T; e += blockDim.x) {
        // Neighbouring threads read neighbouring addresses of whichever dim is unit-stride.
        int kk = a.aCol == 1 ? e % MM_K : e / MM_T, mm = a.aCol == 1 ? e / MM_K : e % MM_T;
        long long m = m0 + mm, k = k0 + kk;
        As[kk][mm] = m < a.M && k < a.K ? A[m * a.aRow + k * a.aCol] : 0.f;
        int kb = a.bCol == 1 ? e / MM_T : e % MM_K, nn = a.bCol == 1 ? e % MM_T : e / MM_K;
        long long n = n0 + nn, k2 = k0 + kb;
        Bs[kb][nn] = n < a.N && k2 < a.K ? B[k2 * a.bRow + n * a.bCol] : 0.f;
      }
      __syncthreads();
      for (int kk = 0; kk < MM_K; kk++) {
        float ar[4], br[4];
        for (int i = 0; i < 4; i++) ar[i] = As[kk][ty + 16 * i];
        for (int j = 0; j < 4; j++) br[j] = Bs[kk][tx + 16 * j];
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
      }
      __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
      long long m = m0 + ty + 16 * i;
      if (m >= a.M) continue;
      for (int j = 0; j < 4; j++) {
        long long n = n0 + tx + 16 * j;
        if (n >= a.N) continue;
        float v = acc[i][j];
        if (a.hasBias) v += a.bias[a.biasOff + n * a.biasStride];
        a.out[(b * a.M + m) * a.N + n] = a.act >= 0 ? gfUnaryF(a.act, v) : v;
      }
    }
  }
}
