/**
 * Errors GhostFlow throws on purpose. Each subclass lets callers tell the kinds apart
 * without parsing messages; messages always name what was expected and what came.
 */
export class GhostFlowError extends Error {
  override name = 'GhostFlowError';
}

/** A shape that does not fit the operation (rank, size, broadcasting). */
export class ShapeError extends GhostFlowError {
  override name = 'ShapeError';
}

/** A dtype the operation does not accept. */
export class DTypeError extends GhostFlowError {
  override name = 'DTypeError';
}

/** Use of a tensor after `dispose()` (or after its scope ended). */
export class DisposedTensorError extends GhostFlowError {
  override name = 'DisposedTensorError';
}

/** A backend lacks a kernel, cannot do what was asked, or is not registered. */
export class BackendError extends GhostFlowError {
  override name = 'BackendError';
}

/** A backward pass that cannot run: non-differentiable op, freed graph, wrong grad shape. */
export class AutogradError extends GhostFlowError {
  override name = 'AutogradError';
}

/**
 * An index outside the range of the dim it indexes (PyTorch's IndexError), from gather,
 * scatter, indexSelect and what is built on them (embedding, class-index losses). On
 * backends that read synchronously it is thrown by the op itself; on asynchronous ones a
 * kernel records the fault and core throws it at the next read (`data()`, `array()`,
 * `item()`) or `sync()`. A {@link ShapeError} subclass, so code that caught these as shape
 * errors before keeps working.
 */
export class IndexError extends ShapeError {
  override name = 'IndexError';
}
