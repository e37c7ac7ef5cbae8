// Portability header: every kernel is written once in CUDA C++ against this header.
// Under nvcc it is plain CUDA. Under a host C++ compiler (the `cuda-host` test build) the few
// CUDA names kernels use map onto the fiber emulation in host/emulate.cpp: one cooperative
// fiber per CUDA thread, __syncthreads() a phase switch, __shared__ one copy per block.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define GF_KERNEL(name, Args) extern "C" __global__ void __launch_bounds__(256) name(const Args a)
#define GF_BLOCK 256       // threads of a 1-d block (reductions, rows)
#define GF_DEV __device__ __forceinline__
#else
struct GfDim3 { unsigned x, y, z; };
extern thread_local GfDim3 threadIdx, blockIdx, blockDim, gridDim;
void __syncthreads();
void gf_register_kernel(const char* name, void (*body)(const void*));
#define __global__
#define __device__
#define __shared__ static thread_local
#define GF_DEV inline
#define GF_BLOCK 32        // fewer fibers per block: same kernels, cheaper emulation
#define GF_KERNEL(name, Args)                                                              \
  static void name(const Args a);                                                        \
  static const bool name##_registered =                                                  \
      (gf_register_kernel(#name, [](const void* p) { name(*static_cast<const Args*>(p)); }), true); \
  static void name(const Args a)
// Fibers of one block run on one OS thread, one at a time: plain read-modify-write is atomic.
inline float atomicAdd(float* p, float v) { float o = *p; *p = o + v; return o; }
inline int atomicAdd(int* p, int v) { int o = *p; *p = (int)((unsigned)o + (unsigned)v); return o; }
inline int atomicCAS(int* p, int cmp, int v) { int o = *p; if (o == cmp) *p = v; return o; }
#endif
