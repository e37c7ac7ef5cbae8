#!/usr/bin/env node
// Builds both addons with node-gyp (incrementally): the host-emulation one always (tests need
// it; g++ suffices) in native/host/build, and the real one in build/ when the CUDA toolkit is
// found. Fails loudly: in this repository a broken native build must fail the build.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findCudaRoot, nodeDirArgs } = require('./find-nvcc.cjs');
const root = path.join(__dirname, '..');
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const run = (dir, args) => {
  const r = spawnSync(process.execPath, [gyp, ...args], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const build = (dir) => {
  if (!fs.existsSync(path.join(dir, 'build', 'Makefile'))) run(dir, ['configure', ...nodeDirArgs()]);
  run(dir, ['build', '--jobs', '2']);
};
build(path.join(root, 'native', 'host'));
const cuda = findCudaRoot();
if (cuda) build(root);
else if (process.env.GHOSTFLOW_REQUIRE_NVCC === '1') {
  console.error('backend-cuda: GHOSTFLOW_REQUIRE_NVCC=1 but no CUDA toolkit was found (CUDA_PATH, /usr/local/cuda, nvcc on PATH)');
  process.exit(1);
}
console.log(
  `backend-cuda: built the host-emulation addon${cuda ? ` and the nvcc addon (${cuda})` : ' (no CUDA toolkit found: no nvcc addon)'}`,
);
