// The one translation unit nvcc compiles into the fatbin (and the host build compiles as C++).
#include "elementwise.cu"
#include "reduce.cu"
#include "matmul.cu"
#include "fused.cu"
#include "recurrent.cu"
#include "optim.cu"
