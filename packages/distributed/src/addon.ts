/**
 * Loads the native MPI addon (build/Release/ghostflow_mpi.node, built by scripts/build-addon.mjs
 * at install). Loading is lazy and never throws at import: a machine without MPI can import the
 * package; only `initProcessGroup` needs the addon, and it reports why it is missing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Host arrays the addon moves: float32, int32 and bool (one byte) tensors' data. */
export type HostArray = Float32Array | Int32Array | Uint8Array;

/** The MPI-level reduction the addon applies (bool sum/max/min map to logical or/and). */
export type MpiReduceOp = 'sum' | 'max' | 'min' | 'lor' | 'land';

/** The native addon's functions (addon/mpi_addon.cc). */
export interface MpiAddon {
  init(timeoutMs: number): { rank: number; size: number; threadLevel: number };
  setTimeout(timeoutMs: number): void;
  barrier(name: string): Promise<void>;
  allReduce(name: string, values: HostArray, op: MpiReduceOp): Promise<void>;
  broadcast(name: string, values: HostArray, root: number): Promise<void>;
  allGather(name: string, input: HostArray, output: HostArray): Promise<void>;
  reduceScatter(name: string, input: HostArray, output: HostArray, op: MpiReduceOp): Promise<void>;
  finalize(): void;
  abort(code: number): never;
  status(): { initialized: boolean; finalized: boolean; broken: boolean; pending: number };
}

let cached: { addon: MpiAddon | null; reason: string } | undefined;

/** The package root: two levels above this file in both src/ (tests) and dist/ (users). */
function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return join(here, '..');
}

/** The addon, or null with the reason it could not be loaded. */
export function loadAddon(): { addon: MpiAddon | null; reason: string } {
  if (cached) return cached;
  const path = process.env.GHOSTFLOW_MPI_ADDON ?? join(packageRoot(), 'build', 'Release', 'ghostflow_mpi.node');
  if (!existsSync(path)) {
    cached = {
      addon: null,
      reason: `the MPI addon was not built (no ${path}): MPI was not found, or the addon failed to build, when the package was installed`,
    };
    return cached;
  }
  try {
    const require = createRequire(join(packageRoot(), 'package.json'));
    cached = { addon: require(path) as MpiAddon, reason: '' };
  } catch (e) {
    cached = { addon: null, reason: `the MPI addon at ${path} failed to load: ${(e as Error).message}` };
  }
  return cached;
}
