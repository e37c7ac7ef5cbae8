{
  # Two addons from the same native/ sources:
  # - ghostflow_cuda (this file): the real one. Kernels compiled by nvcc into an embedded fatbin, the driver
  #   dlopen'ed at run time. Built only where the CUDA toolkit is found (scripts/find-nvcc.cjs).
  # - ghostflow_cuda_host (native/host/binding.gyp, its own build directory so that the loader
  #   never confuses the two): the same kernels compiled as C++ and run by the fiber emulation,
  #   for proving the kernels without a GPU. Tests only, never loaded for users.
  "variables": {
    "cuda_root%": "<!(node scripts/find-nvcc.cjs)",
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"],
  },
  "conditions": [
    ["cuda_root!=''", {
      "targets": [
        {
          "target_name": "ghostflow_cuda",
          "include_dirs": ["<(cuda_root)/include"],
          "libraries": ["-ldl", "-lpthread"],
          "sources": ["native/addon.cpp", "native/driver.cpp"],
          "actions": [
            {
              "action_name": "nvcc_fatbin",
              "inputs": ["native/kernels/all.cu", "native/kernels/elementwise.cu", "native/kernels/reduce.cu",
                         "native/kernels/matmul.cu", "native/kernels/fused.cu", "native/kernels/recurrent.cu",
                         "native/kernels/optim.cu", "native/kernels/common.h",
                         "native/kernels/args.h", "native/kernels/gf_cuda.h", "scripts/embed-fatbin.cjs"],
              "outputs": ["<(SHARED_INTERMEDIATE_DIR)/gf_fatbin.cc"],
              "action": ["node", "scripts/embed-fatbin.cjs", "<(cuda_root)", "native/kernels/all.cu", "<@(_outputs)"],
              "process_outputs_as_sources": 1,
              "message": "nvcc: kernels -> fatbin",
            },
          ],
        },
      ],
    }],
  ],
}
