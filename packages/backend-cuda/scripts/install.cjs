#!/usr/bin/env node
// `install` hook: never fails. Uses the prebuilt addon when one matches this platform; else
// builds from source when the CUDA toolkit (nvcc) is there; else says so in one line (the
// package still loads and reports why the cuda backend is unavailable).
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const root = path.join(__dirname, '..');

function hasAddon() {
  try {
    require('node-gyp-build').resolve(root);
    return true;
  } catch {
    return false;
  }
}

function nodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return process.env.npm_config_node_gyp || null;
  }
}

try {
  if (hasAddon()) process.exit(0);
  const { findCudaRoot, nodeDirArgs } = require('./find-nvcc.cjs');
  const gyp = nodeGyp();
  const missing = !findCudaRoot() ? 'no CUDA toolkit (nvcc)' : !gyp ? 'no node-gyp' : null;
  if (missing) {
    console.log(
      `@ghostflow/backend-cuda: no prebuilt addon for ${process.platform}-${process.arch} and ${missing}: the cuda backend will be unavailable (cpu is used).`,
    );
    process.exit(0);
  }
  const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodeDirArgs()], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0)
    console.log('@ghostflow/backend-cuda: building the CUDA addon failed (see above): the cuda backend will be unavailable.');
} catch (e) {
  console.log(`@ghostflow/backend-cuda: install step skipped (${e.message}).`);
}
process.exit(0);
