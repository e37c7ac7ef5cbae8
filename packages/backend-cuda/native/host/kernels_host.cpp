// The host build compiles the very same kernel sources as C++ (see kernels/gf_cuda.h).
#include "../kernels/all.cu"
