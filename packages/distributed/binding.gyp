{
  "targets": [
    {
      "target_name": "ghostflow_mpi",
      "sources": ["addon/mpi_addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "<!@(node scripts/mpi-flags.mjs cflags)"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["<!@(node scripts/mpi-flags.mjs libs)", "-ldl"]
    }
  ]
}
