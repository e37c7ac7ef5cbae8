{
  # The `cuda-host` test build: the shipped kernel and addon sources, compiled with the host
  # C++ compiler; only the device layer differs (device_host.cpp + emulate.cpp).
  "targets": [
    {
      "target_name": "ghostflow_cuda_host",
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["GF_HOST_BUILD", "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"],
      "sources": ["../addon.cpp", "device_host.cpp", "emulate.cpp", "kernels_host.cpp"],
    },
  ],
}
