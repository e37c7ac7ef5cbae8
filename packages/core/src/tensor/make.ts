/**
 * The few ways core turns backend handles into tensors and tensors into kernel inputs.
 * Every op goes through these, so backend checks and error messages live in one place.
 */
import { allocating } from '../allocation.js';
import type { Backend } from '../backend/backend.js';
import type { DataId, FusedKernels } from '../backend/kernels.js';
import { getBackend } from '../backend/registry.js';
import type { DType } from '../dtype.js';
import { BackendError } from '../errors.js';
import { type Shape, sizeOf } from '../shape.js';
import { Storage } from './storage.js';
import { Tensor } from './tensor.js';

/** Wraps a fresh contiguous kernel output as a tensor (taking ownership of the handle). */
export function fromDataId(backend: Backend, dataId: DataId, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new Storage(backend, dataId, sizeOf(shape), dtype), shape);
}

/**
 * A new view onto `source`'s storage with another shape/strides/offset (shares data). The
 * view remembers its base (the tensor that owns the data, as PyTorch's `_base`), so in-place
 * ops on it follow PyTorch's view rules.
 */
export function makeView(source: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  const out = shareData(source, shape, strides, offset);
  out.setBase(source.base ?? source);
  return out;
}

/**
 * A new tensor over `source`'s storage that is NOT a view for autograd (no base): what
 * `detach()` returns, as in PyTorch, where writing into a detached tensor is allowed.
 */
export function shareData(source: Tensor, shape: Shape = source.shape, strides = source.strides, offset = source.offset): Tensor {
  const storage = source.storage;
  storage.retain();
  return new Tensor(storage, shape, strides, offset);
}

/**
 * The backend that all `tensors` live on (they must share one); the active backend when
 * given none. Throws naming both backends when they differ.
 */
export function backendOf(...tensors: readonly Tensor[]): Backend {
  if (tensors.length === 0) return getBackend();
  const first = tensors[0];
  first.assertAlive();
  const backend = first.backend;
  for (const t of tensors) {
    t.assertAlive();
    if (t.backend !== backend) {
      throw new BackendError(
        `expected all tensors on backend '${backend.name}', but one is on '${t.backend.name}'; move it with 'await t.to("${backend.name}")'`,
      );
    }
  }
  return backend;
}

/** The fused kernel `name` of `backend`, or undefined when it does not have one. */
export function fusedKernel<K extends keyof FusedKernels>(backend: Backend, name: K): FusedKernels[K] | undefined {
  const k = backend.fused[name];
  return typeof k === 'function' ? (k.bind(backend.fused) as FusedKernels[K]) : undefined;
}

/** Uploads host values to `backend` as a new contiguous tensor. */
export function uploadTensor(backend: Backend, values: Float32Array | Int32Array | Uint8Array, shape: Shape, dtype: DType): Tensor {
  if (values.length !== sizeOf(shape)) {
    throw new BackendError(`internal: ${values.length} values for shape [${shape.join(', ')}]`);
  }
  return fromDataId(
    backend,
    allocating('upload', shape, dtype, () => backend.upload(values as never, dtype)),
    shape,
    dtype,
  );
}
