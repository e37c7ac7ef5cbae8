/**
 * Finds the system MPI's compile and link flags without compiling anything. Shared by
 * build-addon.mjs (is there an MPI at all?) and mpi-flags.mjs (what binding.gyp feeds the compiler).
 */
import { execFileSync } from 'node:child_process';

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const split = (s) => s.split(/\s+/).filter(Boolean);

/** `{ cflags, libs, source }` or null when no MPI development files are found. */
export function mpiFlags() {
  const cc = process.env.MPICC || 'mpicc';
  // Open MPI
  const ompiCompile = run(cc, ['--showme:compile']);
  const ompiLink = run(cc, ['--showme:link']);
  if (ompiCompile !== null && ompiLink !== null) {
    return { cflags: split(ompiCompile), libs: split(ompiLink), source: `${cc} --showme` };
  }
  // MPICH / Intel MPI: the full command line, first word is the compiler
  const mpichCompile = run(cc, ['-compile_info']);
  const mpichLink = run(cc, ['-link_info']);
  if (mpichCompile !== null && mpichLink !== null) {
    const keep = (s) =>
      split(s)
        .slice(1)
        .filter((f) => /^-[IDLlW]|^-pthread$/.test(f));
    return { cflags: keep(mpichCompile), libs: keep(mpichLink), source: `${cc} -compile_info` };
  }
  for (const pkg of ['ompi', 'mpich', 'mpi']) {
    const cflags = run('pkg-config', ['--cflags', pkg]);
    const libs = run('pkg-config', ['--libs', pkg]);
    if (cflags !== null && libs !== null) return { cflags: split(cflags), libs: split(libs), source: `pkg-config ${pkg}` };
  }
  return null;
}
