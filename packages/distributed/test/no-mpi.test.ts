/**
 * Without the addon (as on a machine with no MPI, simulated by pointing GHOSTFLOW_MPI_ADDON at a
 * missing file), the package imports and initProcessGroup throws naming what to install.
 */
import { describe, expect, it } from 'vitest';

describe('without MPI', () => {
  it('imports, and initProcessGroup throws MpiUnavailableError naming the apt packages', async () => {
    process.env.GHOSTFLOW_MPI_ADDON = '/nonexistent/ghostflow_mpi.node';
    const d = await import('../src/index.js');
    expect(d.isInitialized()).toBe(false);
    let err: unknown;
    try {
      d.initProcessGroup();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(d.MpiUnavailableError);
    expect((err as Error).message).toContain('apt-get install openmpi-bin libopenmpi-dev');
    expect((err as Error).message).toContain('/nonexistent/ghostflow_mpi.node');
    expect(() => d.rank()).toThrow(/initProcessGroup/);
    expect(() => d.initProcessGroup({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});
