#!/usr/bin/env node
// Prints the CUDA toolkit root (the directory holding bin/nvcc and include/cuda.h), found through
// CUDA_PATH, else /usr/local/cuda, else nvcc on PATH; prints nothing when there is none.
// binding.gyp builds the real (nvcc) addon only when this prints a path.
const fs = require('node:fs');
const path = require('node:path');

function ok(root) {
  return root && fs.existsSync(path.join(root, 'bin', 'nvcc')) && fs.existsSync(path.join(root, 'include', 'cuda.h'));
}

function findCudaRoot() {
  if (process.env.GHOSTFLOW_CUDA_NVCC === '0') return '';
  for (const root of [process.env.CUDA_PATH, '/usr/local/cuda']) if (ok(root)) return root;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const nvcc = path.join(dir, 'nvcc');
    if (!fs.existsSync(nvcc)) continue;
    const root = path.dirname(path.dirname(fs.realpathSync(nvcc)));
    if (ok(root)) return root;
  }
  return '';
}

// node-gyp downloads Node's headers unless told where the installed ones are: use them when the
// Node installation ships them (include/node/node_api.h beside bin/node), so builds work offline.
function nodeDirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

module.exports = { findCudaRoot, nodeDirArgs };
if (require.main === module) process.stdout.write(findCudaRoot());
