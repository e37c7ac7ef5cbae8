/**
 * Turning a kernel's recorded index fault into an error: core asks the backend after every
 * read and sync (`Backend.takeIndexFault`), so a bad index on an asynchronous backend is
 * reported at the next synchronisation point, once, instead of giving NaN or a write into
 * the neighbouring row.
 */
import { IndexError } from '../errors.js';
import type { Backend } from './backend.js';
import type { IndexFault } from './kernels.js';

/** The error for a fault: PyTorch's wording, plus where and when it was detected. */
export function indexFaultError(backend: Backend, fault: IndexFault): IndexError {
  const op = fault.caller ?? fault.kernel;
  const which = fault.index !== undefined ? `index ${fault.index}` : 'an index';
  return new IndexError(
    `${op}: ${which} is out of bounds for dimension ${fault.axis} with size ${fault.size} (found by the '${fault.kernel}' kernel of backend '${backend.name}', which runs asynchronously, so it is reported at this read or sync rather than at the call; that element was skipped)`,
  );
}

/** Throws the fault `backend` recorded since the last check, if any (and clears it). */
export function throwIndexFault(backend: Backend): void {
  const fault = backend.takeIndexFault?.();
  if (fault) throw indexFaultError(backend, fault);
}
