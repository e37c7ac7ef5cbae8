/**
 * @ghostflow/core: tensors, reverse-mode autograd, memory management and the backend
 * contract. Install a backend (e.g. `@ghostflow/backend-cpu`) and import it once.
 * @packageDocumentation
 */
import './tensor/methods.js';
import './ops/engine-ops.js';

export type { DType, DTypeArrayMap, TypedArray } from './dtype.js';
export { DTYPES, bytesPerElement, isDType, promoteTypes, isFloating, allocArray } from './dtype.js';
export { GhostFlowError, ShapeError, DTypeError, DisposedTensorError, BackendError, AutogradError, IndexError } from './errors.js';
export type { Shape, Layout } from './shape.js';
export {
  sizeOf,
  contiguousStrides,
  isContiguous,
  shapesEqual,
  formatShape,
  broadcastShapes,
  normalizeDim,
  normalizeDims,
  reducedShape,
  inferShape,
  viewStrides,
  collapseLayout,
} from './shape.js';

export type { Backend, BackendFactory, BackendMemory } from './backend/backend.js';
export { KERNEL_CONTRACT_VERSION } from './backend/backend.js';
export { CORE_VERSION } from './global-state.js';
export type {
  DataId,
  TensorView,
  UnaryOp,
  BinaryOp,
  ReduceOp,
  ArgReduceOp,
  PrimitiveKernels,
  FusedKernels,
  KernelName,
  LinearActivation,
  IndexFault,
  IndexKernelAttrs,
  RecurrentMode,
  RecurrentSequenceAttrs,
  RecurrentSequenceInputs,
  RecurrentLayerAttrs,
  RecurrentLayerDirection,
  AdamUpdateAttrs,
} from './backend/kernels.js';
export {
  UNARY_OPS,
  BINARY_OPS,
  REDUCE_OPS,
  PRIMITIVE_KERNELS,
  FUSED_KERNELS,
  LINEAR_ACTIVATIONS,
  recurrentWorkspaceSize,
} from './backend/kernels.js';
export type { RegisterBackendOptions, RegistrationResult, BackendSelection, ReadyOptions } from './backend/registry.js';
export { sync } from './backend/sync.js';
export {
  registerBackend,
  removeBackend,
  listBackends,
  setBackend,
  ready,
  getBackend,
  getBackendName,
  findBackend,
  loadBackend,
} from './backend/registry.js';

export { Tensor } from './tensor/tensor.js';
export type { NestedArray } from './tensor/tensor.js';
export { setPrintOptions, getPrintOptions } from './tensor/print-options.js';
export type { PrintOptions, PrintProfile } from './tensor/print-options.js';

export { tidy, keep, Scope, heldTensors } from './memory/scope.js';
export type { ScopedResource, HoldsTensors } from './memory/scope.js';
export { memory } from './memory/memory.js';
export type { MemoryInfo } from './memory/memory.js';

export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { backward, gradients } from './autograd/backward.js';
export type { BackwardOptions } from './autograd/backward.js';
export { grad, valueAndGrad } from './autograd/functional.js';
export { gradcheck } from './autograd/gradcheck.js';
export type { GradcheckOptions, GradcheckResult, GradcheckMismatch } from './autograd/gradcheck.js';
export { recordOp } from './autograd/record.js';
export type { OpRecord, GradRule } from './autograd/record.js';

export * from './ops/creation.js';
export * from './ops/random.js';
export * from './ops/unary.js';
export * from './ops/binary.js';
export * from './ops/select.js';
export * from './ops/reduce.js';
export * from './ops/softmax.js';
export * from './ops/log-softmax-gather.js';
export * from './ops/matmul.js';
export * from './ops/einsum.js';
export * from './ops/normalization.js';
export * from './ops/recurrent-cells.js';
export * from './ops/recurrent-sequence.js';
export * from './ops/recurrent-layer.js';
export * from './ops/attention.js';
export * from './ops/join.js';
export * from './ops/indexing.js';
export * from './ops/pad.js';
export * from './ops/cumulative.js';
export * from './ops/triangular.js';
export * from './ops/one-hot.js';
export * from './ops/view.js';
export * from './ops/inplace.js';
// Sequence-model tensor ops (issue 11): sorting, sampling, rearranging, non-finite checks, norms.
export * from './ops/sort.js';
export * from './ops/sampling.js';
export * from './ops/rearrange.js';
export * from './ops/nonfinite.js';
export * from './ops/norm.js';
// The kernel profiler (issue 10): per-kernel counts, time, bytes and a Chrome trace.
export * from './profiler/index.js';
export * from './ops/adam-update.js';
