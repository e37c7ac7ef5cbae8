#!/usr/bin/env bash
# Run on a machine with an NVIDIA GPU, from a clone of the repository (beside ../shared):
#   bash packages/backend-cuda/scripts/gpu-check.sh
# Builds everything (the nvcc addon included), prints the GPU, runs the whole conformance kit on
# the real device ('cuda'), then the benchmark with the ghostflow-cuda column (PyTorch CUDA is
# used by the pytorch column when /usr/bin/python3 has torch with CUDA).
# GPU_CHECK_SCOPE=fused: a short run for a limited device budget: only the kit's suites of the
# recurrent and optimizer kernels (recurrentSequence, adamUpdate, the cells, the RNN/LSTM/GRU and
# optimizer PyTorch fixtures) on the device, with and without cuBLAS, and the RNN/Adam bench rows.
set -euo pipefail
SCOPE="${GPU_CHECK_SCOPE:-all}"
FUSED_TESTS='recurrentSequence|adamUpdate|lstm|gru|rnn|optim|LSTM|GRU|RNN|Adam|recurrent cell'
FUSED_BENCH='lstm-forward,lstm-train,gru-forward,gru-train,bilstm-forward,gru-decode,adam-step,wordlm-train'
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
const want = ['recurrentSequence', 'recurrentSequenceBackward', 'adamUpdate', 'lstmCell', 'gruCell', 'attention'];
const missing = want.filter((k) => typeof b.fused[k] !== 'function');
if (missing.length) throw new Error('fused kernels missing: ' + missing.join(', '));
console.log('fused kernels: ' + Object.keys(b.fused).join(', '));
" 2>&1 || { echo 'the cuda backend did not start on this machine (or lacks a fused kernel)'; exit 1; }

cd packages/backend-cuda
# The recurrent/optimizer kernels first: the sequential time loop enqueues a GEMM and a cell
# kernel per step without waiting, which only a real stream can show to be ordered right.
echo "==> recurrent and Adam kernels on the device (cuda), cuBLAS path then own GEMM"
GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 npx vitest run test/device-conformance.test.ts -t "$FUSED_TESTS"
GHOSTFLOW_CUDA_BLAS=0 GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 npx vitest run test/device-conformance.test.ts -t "$FUSED_TESTS"
if [ "$SCOPE" != fused ]; then
  echo "==> conformance kit on the device (cuda), cuBLAS path then own GEMM"
  GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 npx vitest run test/device-conformance.test.ts
  GHOSTFLOW_CUDA_BLAS=0 GHOSTFLOW_CUDA_DEVICE_CONFORMANCE=1 npx vitest run test/device-conformance.test.ts
fi
cd "$ROOT"

if [ "$SCOPE" = fused ]; then
  echo "==> bench (recurrent and Adam rows)"
  "${PNPM[@]}" bench -- --engines ghostflow-cuda,ghostflow,pytorch --only "$FUSED_BENCH" "$@"
else
  echo "==> bench"
  "${PNPM[@]}" bench -- --engines ghostflow-cuda,ghostflow,pytorch "$@"
fi
