#!/usr/bin/env node
/**
 * Prints the compiler or linker flags of the system MPI, for binding.gyp:
 *   node scripts/mpi-flags.mjs cflags|libs
 * Tries, in order: Open MPI's wrapper (`mpicc --showme:compile` / `--showme:link`), MPICH's
 * (`mpicc -compile_info` / `-link_info`, minus the compiler name), then pkg-config (ompi, mpich, mpi).
 * Exits 1 (printing nothing) when no MPI is found: build-addon.mjs checks that first.
 */
import { mpiFlags } from './mpi-detect.mjs';

const which = process.argv[2];
if (which !== 'cflags' && which !== 'libs') {
  console.error('usage: mpi-flags.mjs cflags|libs');
  process.exit(2);
}
const flags = mpiFlags();
if (!flags) process.exit(1);
console.log(flags[which].join(' '));
