#!/usr/bin/env node
// `pnpm prebuildify`: builds the real addon with nvcc and places it where node-gyp-build finds
// it in an installed package (prebuildify layout): prebuilds/<platform>-<arch>/node.napi.node.
// Run before `npm pack`/publish on a linux-x64 machine with the CUDA toolkit (no GPU needed).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findCudaRoot, nodeDirArgs } = require('./find-nvcc.cjs');

const root = path.join(__dirname, '..');
if (!findCudaRoot()) {
  console.error('prebuildify: the CUDA toolkit (nvcc) is required to build the prebuilt addon');
  process.exit(1);
}
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--jobs', '2', ...nodeDirArgs()], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
const dest = path.join(dir, 'node.napi.node');
fs.copyFileSync(path.join(root, 'build', 'Release', 'ghostflow_cuda.node'), dest);
spawnSync('strip', ['--strip-unneeded', dest]);
console.log(`prebuildify: ${path.relative(root, dest)} (${(fs.statSync(dest).size / 1e6).toFixed(1)} MB)`);
