#!/usr/bin/env bash
# Run on a machine with an NVIDIA GPU, from a clone of the repository (beside ../shared):
#   bash packages/backend-cuda/scripts/gpu-check.sh
# Builds everything (the nvcc addon included), prints the GPU, runs the whole conformance kit on
# the real device ('cuda'), then the benchmark with the ghostflow-cuda column (PyTorch CUDA is
# used by the pytorch column when /usr/bin/python3 has torch with CUDA).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
PNPM=(npx --yes pnpm@9.15.9)

echo "==> GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv || echo "nvidia-smi not found"

echo "==> install + build (nvcc addon required)"
export GHOSTFLOW_REQUIRE_NVCC=1
"${PNPM[@]}" install --frozen-lockfile
"${PNPM[@]}" turbo run build --concurrency=2 --filter=@ghostflow/backend-cuda...

echo "==> backend info"
node --input-type=module -e "
import { createCudaBackend } from '@ghostflow/backend-cuda';
const b = createCudaBackend();
console.log(JSON.stringify(b.info));
" 2>&1 || { echo 'the cuda backend did not start on this machine'; exit 1; }

echo "==> conformance kit on the device (cuda), cuBLAS path then own GEMM"
cd packages/backend-cuda
GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 npx vitest run test/device-conformance.test.ts
GHOSTFLOW_CUDA_BLAS=0 GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 npx vitest run test/device-conformance.test.ts
cd "$ROOT"

echo "==> bench"
"${PNPM[@]}" bench -- --engines ghostflow-cuda,ghostflow,pytorch "$@"
