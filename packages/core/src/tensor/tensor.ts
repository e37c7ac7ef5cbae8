/**
 * The Tensor: a strided view onto reference-counted backend storage, plus its place in the
 * autograd graph. Operations live in `ops/`; the methods here are thin, chainable aliases.
 */
import type { BackwardOptions } from '../autograd/backward.js';
import type { TensorLike } from '../ops/binary.js';
import type { Dims, ValuesIndices, VarianceOptions } from '../ops/reduce.js';
import type { Backend } from '../backend/backend.js';
import type { TensorView } from '../backend/kernels.js';
import { throwIndexFault } from '../backend/index-faults.js';
import { BackendError, DisposedTensorError, GhostFlowError } from '../errors.js';
import type { DType, DTypeArrayMap } from '../dtype.js';
import type { GradNode } from '../autograd/node.js';
import type { Generator } from '../random/generator.js';
import type { SortOptions, SortResult, TopkOptions } from '../ops/sort.js';
import type { NanToNumOptions } from '../ops/nonfinite.js';
import type { NormOrder } from '../ops/norm.js';
import { type Shape, contiguousStrides, isContiguous, sizeOf } from '../shape.js';
import { leftScopes, trackInScope } from '../memory/scope.js';
import { type TensorHeld, unwatch, watch } from './lifetime.js';
import { Storage } from './storage.js';
import { formatTensor } from './format.js';
import { getPrintOptions } from './print-options.js';

/** Nested arrays of numbers (or booleans), as `array()` returns and `tensor()` accepts. */
export type NestedArray<T = number> = T | NestedArray<T>[];

/** How a tensor sits in the autograd graph. */
export interface TensorAutogradInfo {
  /** The node that produced it (null for leaves). */
  node: GradNode | null;
  /** Which output of that node. */
  index: number;
}

let nextId = 0;

/**
 * An n-dimensional array on a backend. Create tensors with `tensor`, `zeros`, `randn`...;
 * free them with `dispose()`, `tidy`, or `using`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the op methods that methods.ts installs on the prototype at load time.
export class Tensor {
  /** Unique id, for debugging and graph bookkeeping. */
  readonly id = nextId++;
  /** Element type. */
  readonly dtype: DType;
  /** Shape, outermost first. */
  readonly shape: Shape;
  /** Element strides per dim (views may be non-contiguous). */
  readonly strides: readonly number[];
  /** Element offset into the storage. */
  readonly offset: number;
  /** @internal retained storage and node; mutated by `assign`. */
  private readonly held: TensorHeld;
  /** @internal which output of `held.node` this is. */
  private outputIndex = 0;
  private disposed = false;
  /** @internal whether the garbage collector's safety net watches this tensor (see `leftScopes`). */
  private watched = false;
  private _requiresGrad = false;
  private _retainsGrad = false;
  /** @internal the accumulated gradient. */
  private _grad: Tensor | null = null;
  /** @internal the tensor whose data this view shares (PyTorch's `_base`), or null. */
  private _base: Tensor | null = null;
  /**
   * @internal bumped whenever an in-place op gives this tensor a new autograd history, so
   * views taken earlier know their own history is stale (see `historyGeneration`).
   */
  private _historyGeneration = 0;
  /** @internal the base's `historyGeneration` when this view's history was last set. */
  private _baseGeneration = 0;
  /** @internal hooks run after backward accumulated into `.grad` (leaves only). */
  private _postAccumulateGradHooks: ((tensor: Tensor) => void)[] | null = null; // made on first use: most tensors never get one

  /**
   * Not for users: makes a tensor over `storage`, taking over one reference to it.
   * Use the creation functions (`tensor`, `zeros`, ...) instead.
   * @internal
   */
  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this.dtype = storage.dtype;
    // A frozen array (another tensor's shape or strides) cannot change: shared, not copied.
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
    this.strides =
      strides === undefined ? Object.freeze(contiguousStrides(shape)) : Object.isFrozen(strides) ? strides : Object.freeze(strides.slice());
    this.offset = offset;
    this.held = { storage, node: null };
    // A tensor made inside tidy is held and disposed by the scope; only one that leaves every
    // scope (or is made outside them) needs the FinalizationRegistry, whose register and
    // unregister cost more than the rest of a small op's bookkeeping.
    if (!trackInScope(this)) this[leftScopes]();
  }

  /** @internal called when no tidy scope owns this tensor any more: it joins the GC safety net. */
  [leftScopes](): void {
    if (this.watched || this.disposed) return;
    this.watched = true;
    watch(this, this.held);
  }

  /** @internal the storage (throws when disposed). */
  get storage(): Storage {
    this.assertAlive();
    return this.held.storage;
  }

  /** The backend holding the data. */
  get backend(): Backend {
    return this.storage.backend;
  }

  /** Name of the backend holding the data. */
  get device(): string {
    return this.storage.backend.name;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of dimensions (PyTorch's name). */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of elements (PyTorch's name). */
  numel(): number {
    return sizeOf(this.shape);
  }

  /** Whether `dispose()` was called (or its scope ended). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Whether the elements are laid out row-major without gaps. */
  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** Whether gradients are computed for this tensor. */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  /**
   * Turns gradient tracking on or off. Only leaves (tensors no op produced) can change it,
   * and only floating tensors can require grad.
   */
  set requiresGrad(value: boolean) {
    this.assertAlive();
    if (this.held.node && !value) {
      throw new GhostFlowError('requiresGrad can only be turned off on leaf tensors; use detach() to get a tensor outside the graph');
    }
    if (value && this.dtype !== 'float32') {
      throw new GhostFlowError(`only floating-point tensors can require grad, got dtype ${this.dtype}`);
    }
    this._requiresGrad = value;
  }

  /** Sets `requiresGrad` and returns this tensor, for chaining. */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /**
   * The tensor whose data this one views (PyTorch's `_base`): set by view ops (`slice`,
   * `transpose`, `view`, `expand`...), null for tensors that own their data and for
   * `detach()`ed ones. In-place ops on a view follow PyTorch's rules through it.
   */
  get base(): Tensor | null {
    return this._base;
  }

  /** Whether this tensor is a view of another (`base` is set). */
  get isView(): boolean {
    return this._base !== null;
  }

  /**
   * How many in-place writes the underlying data has seen (PyTorch's `_version`); shared by
   * every view of the same data.
   */
  get version(): number {
    return this.storage.version;
  }

  /** @internal records the base of a view (called once, by `makeView`). */
  setBase(base: Tensor): void {
    this._base = base;
    this._baseGeneration = base._historyGeneration;
  }

  /** @internal counts in-place history changes of this tensor (see `rebaseHistory`). */
  get historyGeneration(): number {
    return this._historyGeneration;
  }

  /** @internal whether this view's base got a new history since this view's was set. */
  get hasStaleViewHistory(): boolean {
    return this._base !== null && this._base._historyGeneration !== this._baseGeneration;
  }

  /**
   * @internal gives this tensor a new producer after an in-place op (PyTorch's
   * `rebase_history`): the old node is released (the new one already holds it as an input).
   */
  rebaseHistory(node: GradNode, index: number): void {
    this.assertAlive();
    node.retain();
    this.held.node?.release();
    this.held.node = node;
    this.outputIndex = index;
    this._requiresGrad = true;
    this._historyGeneration++;
    if (this._base) this._baseGeneration = this._base._historyGeneration;
  }

  /** @internal makes this tensor a leaf that does not require grad (`detach_()`). */
  detachInPlace(): void {
    this.held.node?.release();
    this.held.node = null;
    this.outputIndex = 0;
    this._requiresGrad = false;
    this._historyGeneration++;
  }

  /** Whether no op produced this tensor (a user-created tensor or a detached one). */
  get isLeaf(): boolean {
    return this.held.node === null;
  }

  /** @internal the autograd node and output index (null node for leaves). */
  get autograd(): TensorAutogradInfo {
    return { node: this.held.node, index: this.outputIndex };
  }

  /** @internal attaches the producing node (called once, by the op recorder). */
  setGradFn(node: GradNode, index: number): void {
    node.retain();
    this.held.node = node;
    this.outputIndex = index;
    this._requiresGrad = true;
  }

  /** Name of the op that produced this tensor, or null for a leaf. */
  get gradFn(): string | null {
    return this.held.node?.name ?? null;
  }

  /** The accumulated gradient (leaves, and non-leaves after `retainGrad()`), or null. */
  get grad(): Tensor | null {
    return this._grad;
  }

  /** Replaces (or clears, with null) the stored gradient; the old one is disposed. */
  set grad(value: Tensor | null) {
    if (value === this._grad) return;
    if (
      value &&
      (value.dtype !== this.dtype || value.shape.length !== this.shape.length || value.shape.some((d, i) => d !== this.shape[i]))
    ) {
      throw new GhostFlowError(
        `grad must have shape [${this.shape.join(', ')}] and dtype ${this.dtype}, got [${value.shape.join(', ')}] ${value.dtype}`,
      );
    }
    this._grad?.dispose();
    this._grad = value;
  }

  /**
   * Registers `hook`, called with this tensor each time a backward pass has accumulated a
   * gradient into its `.grad` (after the store, so `.grad` holds the new total). Like PyTorch
   * 2.1's `register_post_accumulate_grad_hook`: it tells code such as distributed data
   * parallelism that a parameter's gradient is final for this pass while backward goes on with
   * the rest of the graph. Only leaves that require grad accept hooks; `gradients()` (which
   * does not touch `.grad`) does not call them. Returns a handle whose `remove()` unregisters it.
   */
  registerPostAccumulateGradHook(hook: (tensor: Tensor) => void): { remove(): void } {
    if (!this.isLeaf || !this._requiresGrad) {
      throw new GhostFlowError(
        `registerPostAccumulateGradHook needs a leaf tensor that requires grad, got ${this.isLeaf ? 'a leaf with requiresGrad=false' : `a non-leaf (gradFn ${this.gradFn})`}`,
      );
    }
    if (this._postAccumulateGradHooks === null) this._postAccumulateGradHooks = [];
    this._postAccumulateGradHooks.push(hook);
    return {
      remove: () => {
        this._postAccumulateGradHooks = (this._postAccumulateGradHooks ?? []).filter((h) => h !== hook);
      },
    };
  }

  /** @internal called by the backward engine right after it stored this leaf's `.grad`. */
  runPostAccumulateGradHooks(): void {
    const hooks = this._postAccumulateGradHooks;
    if (hooks === null || hooks.length === 0) return;
    for (const hook of [...hooks]) hook(this);
  }

  /** Keeps `.grad` for this non-leaf tensor after backward (leaves always keep it). */
  retainGrad(): this {
    this._retainsGrad = true;
    this.held.node?.retainedOutputs.set(this.outputIndex, new WeakRef(this));
    return this;
  }

  /** Whether backward should store this tensor's gradient in `.grad`. */
  get retainsGrad(): boolean {
    return this.isLeaf ? this._requiresGrad : this._retainsGrad;
  }

  /** @internal a kernel input describing this tensor. */
  kernelInput(): TensorView {
    const s = this.storage;
    return { dataId: s.dataId, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /** Throws a clear error if the tensor was disposed. */
  assertAlive(): void {
    if (this.disposed) {
      throw new DisposedTensorError(
        `tensor #${this.id} (shape [${this.shape.join(', ')}], ${this.dtype}) was disposed and cannot be used; keep() it or return it from tidy() to use it later`,
      );
    }
  }

  /**
   * Frees this tensor's hold on its data (views share data; the buffer goes when the last
   * holder does) and its gradient. Safe to call twice.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.watched) unwatch(this);
    this._grad?.dispose();
    this._grad = null;
    this.held.node?.release();
    this.held.node = null;
    this.held.storage.release();
  }

  /** `using t = ...` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Swaps this tensor's data for `value`'s (same shape and dtype, any backend): the object
   * stays the same but now points at `value`'s buffer, like PyTorch's `t.data = value`.
   * Views taken before keep the OLD data, so to change values that views (tied weights,
   * cached slices) must see, write in place with `copy_()` instead. Only leaves may be
   * assigned; the value is detached from any graph. `Module.to()` uses it to move parameters
   * between backends while keeping their identity.
   */
  assign(value: Tensor): this {
    this.assertAlive();
    value.assertAlive();
    if (!this.isLeaf) throw new GhostFlowError('assign() works on leaf tensors only (parameters, buffers, detached tensors)');
    if (value.dtype !== this.dtype || value.shape.length !== this.shape.length || value.shape.some((d, i) => d !== this.shape[i])) {
      throw new GhostFlowError(
        `assign() needs shape [${this.shape.join(', ')}] ${this.dtype}, got [${value.shape.join(', ')}] ${value.dtype}`,
      );
    }
    const storage = value.storage;
    storage.retain();
    this.held.storage.release();
    this.held.storage = storage;
    (this as { strides: readonly number[] }).strides = value.strides;
    (this as { offset: number }).offset = value.offset;
    return this;
  }

  /**
   * Reads the elements (row-major, a fresh array the caller owns). Works on every backend.
   */
  async data(): Promise<DTypeArrayMap[DType]> {
    const source = this.readable();
    try {
      const backend = source.storage.backend;
      const values = await backend.read(source.storage.dataId, this.dtype, this.size);
      throwIndexFault(backend);
      return values;
    } finally {
      if (source !== this) source.dispose();
    }
  }

  /**
   * Reads the elements synchronously. Only backends that can read without waiting support
   * it (backend-cpu does; GPU backends do not: use `await t.data()`).
   */
  dataSync(): DTypeArrayMap[DType] {
    const backend = this.backend;
    if (!backend.readSync) {
      throw new BackendError(
        `backend '${backend.name}' cannot read synchronously; use 'await tensor.data()' (or array()/item()) instead of dataSync()`,
      );
    }
    const source = this.readable();
    try {
      const values = backend.readSync(source.storage.dataId, this.dtype, this.size);
      throwIndexFault(backend);
      return values;
    } finally {
      if (source !== this) source.dispose();
    }
  }

  /** The elements as nested arrays (booleans for bool tensors). */
  async array(): Promise<NestedArray<number | boolean>> {
    return toNested(await this.data(), this.shape, this.dtype);
  }

  /** Synchronous `array()`; same backend restriction as `dataSync()`. */
  arraySync(): NestedArray<number | boolean> {
    return toNested(this.dataSync(), this.shape, this.dtype);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    this.checkOneElement();
    return (await this.data())[0];
  }

  /** Synchronous `item()`; same backend restriction as `dataSync()`. */
  itemSync(): number {
    this.checkOneElement();
    return this.dataSync()[0];
  }

  private checkOneElement(): void {
    this.assertAlive();
    if (this.size !== 1)
      throw new GhostFlowError(`item() needs a tensor with one element, got shape [${this.shape.join(', ')}] (${this.size} elements)`);
  }

  /** A tensor whose storage holds exactly this tensor's elements in order, from offset 0. */
  private readable(): Tensor {
    this.assertAlive();
    if (this.offset === 0 && this.isContiguous && this.storage.size === this.size) return this;
    const backend = this.backend;
    const id = backend.kernels.unary(this.kernelInput(), { op: 'identity' });
    const copy = new Tensor(new Storage(backend, id, this.size, this.dtype), this.shape);
    return copy;
  }

  /**
   * The values, like PyTorch's repr: `tensor([[0.1000, 0.2000]], requiresGrad=true)`, summarised
   * with `...` above `getPrintOptions().threshold` elements. Needs a backend that reads
   * synchronously (cpu); on others (webgpu) it returns a short description that says to use
   * `await t.format()` or `await t.print()`.
   *
   * @example
   * ```ts
   * import { tensor } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * const t = tensor([[1, 2.5], [3, 4]], { requiresGrad: true });
   * console.log(String(t));
   * // tensor([[1.0000, 2.5000],
   * //         [3.0000, 4.0000]], requiresGrad=true)
   * ```
   */
  toString(): string {
    if (this.disposed) return `tensor(<disposed>, shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
    if (!this.backend.readSync) {
      return `tensor(<on ${this.device}: use 'await t.print()' or 'await t.format()' to see the values>, shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
    }
    return this.formatValues(this.dataSync());
  }

  /**
   * The same text as `toString()`, on every backend (it awaits the read).
   *
   * @example
   * ```ts
   * import { arange } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * const text = await arange(5).format(); // 'tensor([0, 1, 2, 3, 4])'
   * ```
   */
  async format(): Promise<string> {
    return this.formatValues(await this.data());
  }

  /**
   * Writes `await t.format()` with `console.log`: the way to see values on async backends.
   *
   * @example
   * ```ts
   * import { ones } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * await ones([2, 2]).print(); // tensor([[1., 1.],\n        [1., 1.]])
   * ```
   */
  async print(): Promise<void> {
    console.log(await this.format());
  }

  private formatValues(values: ArrayLike<number>): string {
    return formatTensor(
      values,
      { shape: this.shape, dtype: this.dtype, device: this.device, requiresGrad: this._requiresGrad, gradFn: this.gradFn },
      getPrintOptions(),
    );
  }

  /** Node's `util.inspect` (and so `console.log(t)`) prints `toString()`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * The chainable op methods of Tensor (`x.add(y).relu()`). Each forwards to the function of
 * the same name in `ops/`; `methods.ts` installs them on the prototype at load time.
 */
export interface Tensor {
  /** Same as the `add` function. */ add(other: TensorLike): Tensor;
  /** Same as the `sub` function. */ sub(other: TensorLike): Tensor;
  /** Same as the `mul` function. */ mul(other: TensorLike): Tensor;
  /** Same as the `div` function. */ div(other: TensorLike): Tensor;
  /** Same as the `pow` function. */ pow(other: TensorLike): Tensor;
  /** Same as the `maximum` function. */ maximum(other: TensorLike): Tensor;
  /** Same as the `minimum` function. */ minimum(other: TensorLike): Tensor;
  /** Same as the `eq` function. */ eq(other: TensorLike): Tensor;
  /** Same as the `ne` function. */ ne(other: TensorLike): Tensor;
  /** Same as the `lt` function. */ lt(other: TensorLike): Tensor;
  /** Same as the `le` function. */ le(other: TensorLike): Tensor;
  /** Same as the `gt` function. */ gt(other: TensorLike): Tensor;
  /** Same as the `ge` function. */ ge(other: TensorLike): Tensor;
  /** Same as the `logicalAnd` function. */ logicalAnd(other: TensorLike): Tensor;
  /** Same as the `logicalOr` function. */ logicalOr(other: TensorLike): Tensor;
  /** Same as the `logicalXor` function. */ logicalXor(other: TensorLike): Tensor;
  /** Same as the `neg` function. */ neg(): Tensor;
  /** Same as the `abs` function. */ abs(): Tensor;
  /** Same as the `sign` function. */ sign(): Tensor;
  /** Same as the `exp` function. */ exp(): Tensor;
  /** Same as the `expm1` function. */ expm1(): Tensor;
  /** Same as the `log` function. */ log(): Tensor;
  /** Same as the `log1p` function. */ log1p(): Tensor;
  /** Same as the `sqrt` function. */ sqrt(): Tensor;
  /** Same as the `rsqrt` function. */ rsqrt(): Tensor;
  /** Same as the `reciprocal` function. */ reciprocal(): Tensor;
  /** Same as the `sin` function. */ sin(): Tensor;
  /** Same as the `cos` function. */ cos(): Tensor;
  /** Same as the `tanh` function. */ tanh(): Tensor;
  /** Same as the `sigmoid` function. */ sigmoid(): Tensor;
  /** Same as the `relu` function. */ relu(): Tensor;
  /** Same as the `gelu` function. */ gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor;
  /** Same as the `silu` function. */ silu(): Tensor;
  /** Same as the `softplus` function. */ softplus(options?: { beta?: number; threshold?: number }): Tensor;
  /** Same as the `erf` function. */ erf(): Tensor;
  /** Same as the `floor` function. */ floor(): Tensor;
  /** Same as the `ceil` function. */ ceil(): Tensor;
  /** Same as the `round` function. */ round(): Tensor;
  /** Same as the `square` function. */ square(): Tensor;
  /** Same as the `logicalNot` function. */ logicalNot(): Tensor;
  /** Same as the `cast` function. */ cast(dtype: DType): Tensor;
  /** `cast('float32')`. */ float(): Tensor;
  /** `cast('int32')`. */ int(): Tensor;
  /** `cast('bool')`. */ bool(): Tensor;
  /** Same as the `clamp` function. */ clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor;
  /** Same as the `maskedFill` function. */ maskedFill(mask: Tensor, value: number | Tensor): Tensor;
  /** Same as the `sum` function. */ sum(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `mean` function. */ mean(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `prod` function. */ prod(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `amax` function. */ amax(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `amin` function. */ amin(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `max` function. */ max(): Tensor;
  /** Same as the `max` function. */ max(dim: number, keepdim?: boolean): ValuesIndices;
  /** Same as the `min` function. */ min(): Tensor;
  /** Same as the `min` function. */ min(dim: number, keepdim?: boolean): ValuesIndices;
  /** Same as the `argmax` function. */ argmax(dim?: number, keepdim?: boolean): Tensor;
  /** Same as the `argmin` function. */ argmin(dim?: number, keepdim?: boolean): Tensor;
  /** Same as the `variance` function. */ var(options?: VarianceOptions): Tensor;
  /** Same as the `std` function. */ std(options?: VarianceOptions): Tensor;
  /** Same as the `logsumexp` function. */ logsumexp(dim: Dims, keepdim?: boolean): Tensor;
  /** Same as the `any` function. */ any(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `all` function. */ all(dim?: Dims, keepdim?: boolean): Tensor;
  /** Same as the `softmax` function. */ softmax(dim: number): Tensor;
  /** Same as the `logSoftmax` function. */ logSoftmax(dim: number): Tensor;
  /** Same as the `matmul` function. */ matmul(other: Tensor): Tensor;
  /** Same as the `reshape` function. */ reshape(...shape: (number | readonly number[])[]): Tensor;
  /** Same as the `view` function. */ view(...shape: (number | readonly number[])[]): Tensor;
  /** Same as the `flatten` function. */ flatten(startDim?: number, endDim?: number): Tensor;
  /** Same as the `squeeze` function. */ squeeze(dim?: number | readonly number[]): Tensor;
  /** Same as the `unsqueeze` function. */ unsqueeze(dim: number): Tensor;
  /** Same as the `permute` function. */ permute(...dims: (number | readonly number[])[]): Tensor;
  /** Same as the `transpose` function. */ transpose(dim0: number, dim1: number): Tensor;
  /** Same as the `t` function. */ t(): Tensor;
  /** Same as the `expand` function. */ expand(...shape: (number | readonly number[])[]): Tensor;
  /** `expand` to `other`'s shape. */ expandAs(other: Tensor): Tensor;
  /** Same as the `slice` function. */ slice(dim: number, start?: number, end?: number, step?: number): Tensor;
  /** Same as the `narrow` function. */ narrow(dim: number, start: number, length: number): Tensor;
  /** Same as the `select` function. */ select(dim: number, index: number): Tensor;
  /** Same as the `contiguous` function. */ contiguous(): Tensor;
  /** Same as the `clone` function. */ clone(): Tensor;
  /** Same as the `detach` function. */ detach(): Tensor;
  /** Same as the `split` function. */ split(sizeOrSizes: number | readonly number[], dim?: number): Tensor[];
  /** Same as the `chunk` function. */ chunk(chunks: number, dim?: number): Tensor[];
  /** Same as the `unbind` function. */ unbind(dim?: number): Tensor[];
  /** Same as the `gather` function. */ gather(dim: number, index: Tensor): Tensor;
  /** Same as the `scatter` function. */ scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
  /** Same as the `scatterAdd` function. */ scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
  /** Same as the `indexSelect` function. */ indexSelect(dim: number, index: Tensor): Tensor;
  /** Same as the `cumsum` function. */ cumsum(dim: number): Tensor;
  /** Same as the `tril` function. */ tril(diagonal?: number): Tensor;
  /** Same as the `triu` function. */ triu(diagonal?: number): Tensor;
  /** In place `this += alpha * other`; returns `this` (`torch.Tensor.add_`). */ add_(
    other: TensorLike,
    options?: { alpha?: number },
  ): this;
  /** In place `this -= alpha * other`; returns `this`. */ sub_(other: TensorLike, options?: { alpha?: number }): this;
  /** In place `this *= other`; returns `this`. */ mul_(other: TensorLike): this;
  /** In place `this /= other`; returns `this`. */ div_(other: TensorLike): this;
  /** In place `this = this ** exponent`; returns `this`. */ pow_(exponent: TensorLike): this;
  /** In place `clamp`; returns `this`. */ clamp_(min?: TensorLike | null, max?: TensorLike | null): this;
  /** In place `maskedFill`; returns `this`. */ maskedFill_(mask: Tensor, value: number | Tensor): this;
  /** In place `this += value * t1 * t2`; returns `this`. */ addcmul_(t1: Tensor, t2: Tensor, options?: { value?: number }): this;
  /** In place `this += value * t1 / t2`; returns `this`. */ addcdiv_(t1: Tensor, t2: Tensor, options?: { value?: number }): this;
  /** In place `this += weight * (end - this)`; returns `this`. */ lerp_(end: Tensor, weight: TensorLike): this;
  /** Copies `src` (broadcast, converted) into this tensor's elements; returns `this`. */ copy_(src: Tensor): this;
  /** Sets every element to `value`; returns `this`. */ fill_(value: number | boolean | Tensor): this;
  /** Sets every element to 0; returns `this`. */ zero_(): this;
  /** Fills with uniform values in [from, to); returns `this`. */ uniform_(
    from?: number,
    to?: number,
    options?: { generator?: Generator },
  ): this;
  /** Fills with normal values; returns `this`. */ normal_(mean?: number, std?: number, options?: { generator?: Generator }): this;
  /** In place `scatter`; returns `this`. */ scatter_(dim: number, index: Tensor, src: Tensor | number): this;
  /** In place `scatterAdd`; returns `this`. */ scatterAdd_(dim: number, index: Tensor, src: Tensor): this;
  /** Makes this tensor a leaf outside the graph, in place; returns `this`. */ detach_(): this;
  /** In place `neg`; returns `this`. */ neg_(): this;
  /** In place `abs`; returns `this`. */ abs_(): this;
  /** In place `sign`; returns `this`. */ sign_(): this;
  /** In place `exp`; returns `this`. */ exp_(): this;
  /** In place `expm1`; returns `this`. */ expm1_(): this;
  /** In place `log`; returns `this`. */ log_(): this;
  /** In place `log1p`; returns `this`. */ log1p_(): this;
  /** In place `sqrt`; returns `this`. */ sqrt_(): this;
  /** In place `rsqrt`; returns `this`. */ rsqrt_(): this;
  /** In place `reciprocal`; returns `this`. */ reciprocal_(): this;
  /** In place `sin`; returns `this`. */ sin_(): this;
  /** In place `cos`; returns `this`. */ cos_(): this;
  /** In place `tanh`; returns `this`. */ tanh_(): this;
  /** In place `sigmoid`; returns `this`. */ sigmoid_(): this;
  /** In place `relu`; returns `this`. */ relu_(): this;
  /** In place `silu`; returns `this`. */ silu_(): this;
  /** In place `erf`; returns `this`. */ erf_(): this;
  /** In place `floor`; returns `this`. */ floor_(): this;
  /** In place `ceil`; returns `this`. */ ceil_(): this;
  /** In place `round`; returns `this`. */ round_(): this;
  /** In place `square`; returns `this`. */ square_(): this;
  /**
   * Backpropagates from this tensor: accumulates into `.grad` of every leaf that requires
   * grad. `grad` defaults to ones for a one-element tensor.
   */
  backward(grad?: Tensor | null, options?: BackwardOptions): void;
  /**
   * A copy on the backend named `device` (this tensor itself when already there). The
   * copy is a leaf with the same `requiresGrad`; tensors inside a graph must be detached
   * first.
   */
  to(device: string): Promise<Tensor>;

  // ---- Sequence-model ops (issue 11): sorting, rearranging, non-finite checks, norms, scans.
  /** Same as the `sort` function. */ sort(dim?: number, options?: SortOptions): SortResult;
  /** Same as the `argsort` function. */ argsort(dim?: number, options?: SortOptions): Tensor;
  /** Same as the `topk` function. */ topk(k: number, dim?: number, options?: TopkOptions): SortResult;
  /** Same as the `repeat` function (`Tensor.repeat` in PyTorch). */ repeat(...sizes: (number | readonly number[])[]): Tensor;
  /** Same as the `tile` function. */ tile(dims: readonly number[]): Tensor;
  /** Same as the `repeatInterleave` function. */ repeatInterleave(repeats: number | readonly number[] | Tensor, dim?: number): Tensor;
  /** Same as the `flip` function. */ flip(dims: number | readonly number[]): Tensor;
  /** Same as the `roll` function. */ roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor;
  /** Same as the `isnan` function. */ isnan(): Tensor;
  /** Same as the `isinf` function. */ isinf(): Tensor;
  /** Same as the `isfinite` function. */ isfinite(): Tensor;
  /** Same as the `nanToNum` function. */ nanToNum(options?: NanToNumOptions): Tensor;
  /** Same as the `norm` function. */ norm(p?: NormOrder, dim?: number | readonly number[], keepdim?: boolean): Tensor;
  /** Same as the `cumprod` function. */ cumprod(dim: number): Tensor;
  /** Same as the `logcumsumexp` function. */ logcumsumexp(dim: number): Tensor;
}

function toNested(data: ArrayLike<number>, shape: Shape, dtype: DType): NestedArray<number | boolean> {
  const conv = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(data[0]);
  let pos = 0;
  const build = (dim: number): NestedArray<number | boolean> => {
    const out: NestedArray<number | boolean>[] = [];
    for (let i = 0; i < shape[dim]; i++) out.push(dim === shape.length - 1 ? conv(data[pos++]) : build(dim + 1));
    return out;
  };
  return build(0);
}
