// The host launch layer of the `cuda-host` build: runs a kernel's grid on the calling thread,
// each block as one cooperative fiber per CUDA thread. __syncthreads() returns to the
// scheduler, which runs every fiber of the block up to that barrier before the next phase.
#include <ucontext.h>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>
#include "../kernels/gf_cuda.h"

thread_local GfDim3 threadIdx, blockIdx, blockDim, gridDim;
static std::map<std::string, void (*)(const void*)>& registry() {
  static std::map<std::string, void (*)(const void*)> r;
  return r;
}
void gf_register_kernel(const char* name, void (*body)(const void*)) { registry()[name] = body; }

namespace {
constexpr size_t kStack = 64 * 1024;
ucontext_t scheduler;
std::vector<ucontext_t> fibers;
std::vector<char*> stacks;
std::vector<char> done;
unsigned current;
void (*body)(const void*);
const void* args;
void fiberMain() { body(args); done[current] = 1; }  // returning resumes uc_link (the scheduler)
}  // namespace

void __syncthreads() { swapcontext(&fibers[current], &scheduler); }

void gf_host_launch(const char* name, unsigned grid, unsigned block, const void* a) {
  auto it = registry().find(name);
  if (it == registry().end()) throw std::runtime_error(std::string("no kernel named ") + name);
  body = it->second; args = a;
  fibers.resize(block); done.resize(block);
  while (stacks.size() < block) stacks.push_back(static_cast<char*>(std::malloc(kStack)));
  gridDim = {grid, 1, 1}; blockDim = {block, 1, 1};
  for (unsigned b = 0; b < grid; b++) {
    for (unsigned t = 0; t < block; t++) {
      getcontext(&fibers[t]);
      fibers[t].uc_stack = {stacks[t], 0, kStack};
      fibers[t].uc_link = &scheduler;
      makecontext(&fibers[t], fiberMain, 0);
      done[t] = 0;
    }
    for (unsigned left = block; left > 0;) {  // one phase: every live fiber to its next barrier
      left = 0;
      for (unsigned t = 0; t < block; t++) {
        if (done[t]) continue;
        current = t; blockIdx = {b, 0, 0}; threadIdx = {t, 0, 0};
        swapcontext(&scheduler, &fibers[t]);
        left += !done[t];
      }
    }
  }
}
