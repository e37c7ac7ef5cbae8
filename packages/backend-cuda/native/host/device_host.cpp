// Device layer of the `cuda-host` build: device memory is host memory, the stream is the
// calling thread (every launch runs to completion), events are always complete.
#include <cstdlib>
#include <cstring>
#include "../device.h"

void gf_host_launch(const char* name, unsigned grid, unsigned block, const void* args);

namespace gfdev {
std::string init() { return ""; }
std::string deviceName() { return "host emulation (fibers)"; }
const char* buildKind() { return "host"; }
unsigned maxGrid() { return 4; }
unsigned blockSize() { return 32; }
uint64_t malloc(size_t bytes) { return reinterpret_cast<uint64_t>(std::malloc(bytes)); }
void free(uint64_t p) { std::free(reinterpret_cast<void*>(p)); }
void upload(uint64_t dst, const void* src, size_t n) { std::memcpy(reinterpret_cast<void*>(dst), src, n); }
void readSync(void* dst, uint64_t src, size_t n) { std::memcpy(dst, reinterpret_cast<void*>(src), n); }
void* pinnedAlloc(size_t n) { return std::malloc(n ? n : 1); }
void pinnedFree(void* p) { std::free(p); }
void readAsync(void* dst, uint64_t src, size_t n) { std::memcpy(dst, reinterpret_cast<void*>(src), n); }
void* eventRecord() { return nullptr; }
void eventWait(void*) {}
void eventDestroy(void*) {}
void sync() {}
void launch(const char* kernel, unsigned grid, unsigned block, const void* args, size_t) {
  gf_host_launch(kernel, grid, block, args);
}
bool gemm(long long, long long, long long, long long, uint64_t, long long, long long, long long, uint64_t,
          long long, long long, long long, uint64_t) {
  return false;
}
std::string blasName() { return "none (host build)"; }
}  // namespace gfdev
