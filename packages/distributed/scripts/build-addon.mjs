#!/usr/bin/env node
/**
 * Builds the MPI addon (build/Release/ghostflow_mpi.node) with node-gyp, against the system
 * MPI. Runs at install and at build. It never fails: without MPI (or without a compiler) it
 * prints one line and exits 0, the package still imports, and `initProcessGroup` explains what
 * to install. Skips the compile when the addon is newer than its sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mpiFlags } from './mpi-detect.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'ghostflow_mpi.node');
const sources = ['addon/mpi_addon.cc', 'binding.gyp'].map((f) => join(root, f));

if (process.env.GHOSTFLOW_SKIP_MPI_BUILD) {
  console.log('@ghostflow/distributed: GHOSTFLOW_SKIP_MPI_BUILD is set, not building the MPI addon');
  process.exit(0);
}
const flags = mpiFlags();
if (!flags) {
  console.log(
    '@ghostflow/distributed: no MPI found (mpicc/pkg-config), skipping the addon; install it with `apt-get install openmpi-bin libopenmpi-dev` to use initProcessGroup',
  );
  process.exit(0);
}
if (existsSync(output) && sources.every((s) => statSync(s).mtimeMs <= statSync(output).mtimeMs)) process.exit(0);

// node-gyp from this package's devDependencies, else the one npm/pnpm provide to install scripts.
let gyp = null;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = process.env.npm_config_node_gyp || null;
}
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
// Offline builds: use the headers installed with this Node (e.g. /usr/include/node) instead of
// downloading them, unless npm's nodedir already says where they are.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  console.log(
    `${log}\n@ghostflow/distributed: building the MPI addon failed (MPI from ${flags.source}); the package imports but initProcessGroup will throw`,
  );
  process.exit(0);
}
console.log(`@ghostflow/distributed: built the MPI addon against ${flags.source}`);
