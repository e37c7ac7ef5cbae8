// The device layer the addon is written against. Two implementations, one per build:
// driver.cpp (the CUDA driver API loaded with dlopen, kernels from the embedded fatbin) and
// host/device_host.cpp (host memory, kernels run by the fiber emulation). Errors are thrown
// as std::runtime_error with the driver's error name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace gfdev {
// "" when the device is usable, else the exact reason it is not (nothing is thrown).
std::string init();
std::string deviceName();
const char* buildKind();              // "cuda" or "host"
unsigned maxGrid();                   // grid-stride kernels never launch more blocks than this
unsigned blockSize();                 // threads per 1-d block (GF_BLOCK of the kernels)
uint64_t malloc(size_t bytes);        // 0 when out of memory
void free(uint64_t ptr);
void upload(uint64_t dst, const void* src, size_t bytes);  // enqueued; src may be reused at once
void readSync(void* dst, uint64_t src, size_t bytes);      // waits for the stream
void* pinnedAlloc(size_t bytes);
void pinnedFree(void* p);
void readAsync(void* pinned, uint64_t src, size_t bytes);  // enqueued
void* eventRecord();
void eventWait(void* event);          // may be called from another thread
void eventDestroy(void* event);
void sync();
void launch(const char* kernel, unsigned grid, unsigned block, const void* args, size_t bytes);
// Row-major C[M,N] = A B per batch through cuBLAS when loaded; false if not done (no cuBLAS,
// GHOSTFLOW_CUDA_BLAS=0 or a layout it cannot express).
bool gemm(long long batch, long long M, long long N, long long K, uint64_t A, long long aRow, long long aCol,
          long long aBatch, uint64_t B, long long bRow, long long bCol, long long bBatch, uint64_t C);
std::string blasName();               // "cublas 12.x", or why not
}  // namespace gfdev
