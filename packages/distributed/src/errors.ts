/** Errors of @ghostflow/distributed; all are GhostFlowErrors, so callers can tell them apart by class. */
import { GhostFlowError } from '@ghostflow/core';

/** A distributed operation used wrongly or failed (no group, mismatched sizes, MPI failure). */
export class DistributedError extends GhostFlowError {
  override name = 'DistributedError';
}

/** The MPI addon is not available: no MPI was installed when the package was built. */
export class MpiUnavailableError extends DistributedError {
  override name = 'MpiUnavailableError';
}

/**
 * A collective did not complete within the process group's timeout. `missingRanks` lists the
 * ranks that never called it (empty when every rank called it but it still did not complete,
 * e.g. a rank died after arriving). The group is broken afterwards: further collectives are
 * refused, and at process exit the whole job is aborted with MPI_Abort so no rank waits forever.
 */
export class CollectiveTimeoutError extends DistributedError {
  override name = 'CollectiveTimeoutError';
  /** The collective that timed out, e.g. 'allReduce'. */
  readonly collective: string;
  /** Ranks that never called it, ascending. */
  readonly missingRanks: readonly number[];
  constructor(message: string, collective: string, missingRanks: readonly number[]) {
    super(message);
    this.collective = collective;
    this.missingRanks = Object.freeze([...missingRanks]);
  }
}
