/**
 * The kernel contract: the closed list of primitive kernels every backend implements, and
 * the optional fused kernels core uses when a backend has them.
 *
 * Rules every kernel follows (docs/writing-a-backend.md explains them at length):
 * - Inputs arrive as {@link TensorView}s: a backend data handle plus shape, element strides
 *   (0 for broadcast dims) and element offset. Kernels must honour strides; core never
 *   copies a view to make a backend's life easier.
 * - Broadcasting is resolved by core before the call: elementwise inputs already share the
 *   output shape (through stride-0 dims). Dtypes are already promoted.
 * - A kernel returns the handle of a new, contiguous, row-major output it allocated. It may
 *   enqueue the work and return at once; core never assumes the data is ready. The one
 *   exception is `write`, which writes into an existing buffer (in-place ops).
 * - Kernels never see autograd: every gradient rule lives in core.
 * - A 0-d input may come with axis 0 (or axes `[0]`): that axis denotes its single element.
 * - int32 arithmetic wraps (two's complement), like `Int32Array` stores and `Math.imul`.
 * - float32 means float32: every float32 element a kernel stores is a float32 value (a JS
 *   backend computes in float64 and stores into a `Float32Array`, or rounds with
 *   `Math.fround`). A buffer that keeps float64 values makes chained kernels drift from
 *   PyTorch; the conformance kernels suite checks this.
 * - Edge values left to the backend, which core never relies on: float→int32 of NaN or of
 *   values outside the int32 range.
 */
import type { DType } from '../dtype.js';
import type { Shape } from '../shape.js';

/**
 * An opaque handle to data a backend owns. Core never looks inside; it only passes the
 * handle back to the backend that made it.
 */
export type DataId = object;

/** A strided window onto backend data: what a kernel receives for each tensor input. */
export interface TensorView {
  /** The backend's handle to the underlying buffer. */
  readonly dataId: DataId;
  /** Element type. */
  readonly dtype: DType;
  /** Logical shape. */
  readonly shape: Shape;
  /** Element strides per dim; 0 marks a broadcast dim. Never negative. */
  readonly strides: readonly number[];
  /** Offset of element [0, ..., 0] in the buffer, in elements. */
  readonly offset: number;
}

/** Elementwise one-input operations. Output dtype equals input dtype except where noted. */
export const UNARY_OPS = [
  'identity',
  'neg',
  'abs',
  'sign',
  'exp',
  'expm1',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'reciprocal',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'geluTanh',
  'silu',
  'softplus',
  'erf',
  'floor',
  'ceil',
  'round',
  'logicalNot',
] as const;

/**
 * One of {@link UNARY_OPS}. Semantics are PyTorch's: `round` rounds half to even;
 * `sign(NaN) = 0`;
 * `gelu` is `x * Φ(x)` (erf form), `geluTanh` the tanh approximation; `softplus` is
 * `log(1 + exp(x))` computed without overflow; `sign(0) = 0`; `logicalNot` takes `bool`
 * and returns `bool`. Float-only ops (exp ... erf, except abs/neg/sign/relu/identity) are
 * only called with float32 input; floor/ceil/round are identity on int32.
 */
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Elementwise two-input operations. Both inputs have the same dtype and shape. */
export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'logicalAnd',
  'logicalOr',
  'logicalXor',
] as const;

/**
 * One of {@link BINARY_OPS}. Comparisons and logical ops return `bool`; the rest return the
 * input dtype. `div` is only called on float32 (core promotes int division). int32 `pow` with
 * a negative exponent is never called. float32 `pow` is C's `pow` (PyTorch's), which differs
 * from JavaScript's `**` on special values: `pow(1, y) = 1` for every y (NaN included),
 * `pow(x, 0) = 1` for every x (NaN included) and `pow(-1, ±inf) = 1`.
 * `maximum`/`minimum` propagate NaN like PyTorch.
 * Logical ops take `bool` inputs. Comparisons may get `bool` inputs (compared as 0/1);
 * `add`/`mul`/`maximum`/`minimum` on `bool` act as or/and/or/and and store 0 or 1.
 */
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Reductions over a set of axes. */
export const REDUCE_OPS = ['sum', 'prod', 'max', 'min', 'any', 'all'] as const;

/**
 * One of {@link REDUCE_OPS}. `sum`/`prod`/`max`/`min` keep the input dtype (float32 or
 * int32; core casts bool first); `any`/`all` take and return `bool`. `max`/`min` propagate
 * NaN. Reducing over an empty axis gives the identity (0, 1, false, true); core never asks
 * for `max`/`min` over an empty axis (PyTorch refuses that too).
 */
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** Arg-reductions along one axis. */
export type ArgReduceOp = 'argmax' | 'argmin';

/**
 * The primitive kernels. Every backend implements all of them. Each returns the handle of a
 * new contiguous output (except `write`, which writes into an existing one); the doc of each
 * states its output shape and dtype.
 */
export interface PrimitiveKernels {
  /** Output: `x.shape`, dtype `x.dtype` (`bool` for logicalNot). */
  unary(x: TensorView, attrs: { op: UnaryOp }): DataId;
  /** `a.shape` equals `b.shape`. Output: that shape; dtype per {@link BinaryOp}. */
  binary(a: TensorView, b: TensorView, attrs: { op: BinaryOp }): DataId;
  /** Converts dtype. float→int32 truncates toward zero; to bool is `x != 0`. Output: `x.shape`. */
  cast(x: TensorView, attrs: { dtype: DType }): DataId;
  /** `cond` is bool; all three share one shape; `a`, `b` share a dtype. Output: `a.dtype`. */
  where(cond: TensorView, a: TensorView, b: TensorView): DataId;
  /**
   * Reduces over `axes` (sorted, unique, possibly empty = copy). Output shape: `x.shape`
   * without those axes (core re-inserts size-1 dims for keepdim).
   */
  reduce(x: TensorView, attrs: { op: ReduceOp; axes: readonly number[] }): DataId;
  /**
   * Index of the max/min along `axis` (first occurrence on ties; a NaN counts as the
   * extreme, like PyTorch). Output: int32, `x.shape` without `axis`. `x.shape[axis] > 0`.
   */
  argReduce(x: TensorView, attrs: { op: ArgReduceOp; axis: number }): DataId;
  /**
   * Batched matrix product of float32 `a` `[...batch, M, K]` and `b` `[...batch, K, N]`,
   * identical batch shapes (possibly stride-0 broadcast). Output `[...batch, M, N]`.
   */
  matmul(a: TensorView, b: TensorView): DataId;
  /**
   * `out[..., i, ...] = x[..., index[..., i, ...], ...]` along `axis` (torch.gather).
   * `index` is int32 with the output's shape and the same rank as `x`; its sizes are
   * at most `x`'s on the other axes. On backends with `readSync` core has checked every
   * index; elsewhere an index outside `[0, x.shape[axis])` must not be read: the kernel
   * writes 0 for that element and records an {@link IndexFault} (see there).
   */
  gather(x: TensorView, index: TensorView, attrs: IndexKernelAttrs): DataId;
  /**
   * Copy of `base` with `src` written (`reduce: 'none'`) or added (`'add'`) at `index`
   * along `axis` (torch.scatter / scatter_add). `index` and `src` share a shape.
   * With 'none' and repeated indices, which value wins is unspecified (as in PyTorch).
   * An index outside `[0, base.shape[axis])` is skipped (never written, not even into
   * another row) and recorded as an {@link IndexFault}. Output: `base.shape`, `base.dtype`.
   */
  scatter(base: TensorView, index: TensorView, src: TensorView, attrs: IndexKernelAttrs & { reduce: 'none' | 'add' }): DataId;
  /** Inclusive cumulative sum along `axis`. Output: `x.shape`, `x.dtype` (float32 or int32). */
  cumsum(x: TensorView, attrs: { axis: number }): DataId;
  /** Concatenation along `axis`; inputs share a dtype and all other sizes. */
  concat(inputs: readonly TensorView[], attrs: { axis: number }): DataId;
  /** A new contiguous buffer of `shape` filled with `value`. */
  fill(attrs: { shape: Shape; dtype: DType; value: number }): DataId;
  /**
   * In place: writes `src`'s values into the elements of an EXISTING buffer that `target`
   * views (`target.dataId[target.offset + sum_d i_d * target.strides[d]] = src[i]` for every
   * index `i` of the shape), leaving every other element of that buffer as it was. This is
   * the only kernel that mutates a buffer; core builds every in-place op (`add_`, `copy_`,
   * `fill_`, optimizer updates...) on it, so views of the buffer see the new values.
   *
   * Core guarantees: `target.shape` equals `src.shape` and the dtypes are equal; `target`'s
   * strides are not 0 on any dim of size > 1 and no two of its elements share a memory
   * location (core refuses such targets, as PyTorch does); `src` may be strided or broadcast
   * (stride 0) but never shares `target`'s buffer (core copies an aliasing source first).
   * Returns nothing; an asynchronous backend enqueues the write after all work already
   * enqueued that reads or writes the buffer, so earlier kernel calls see the old values.
   */
  write(target: TensorView, src: TensorView): void;
}

// ---------------------------------------------------------------------------------------
// Index faults: how gather/scatter report a bad index without a device round trip.
// ---------------------------------------------------------------------------------------

/** Attributes of the indexing kernels (`gather`, `scatter`). */
export interface IndexKernelAttrs {
  /** The axis indexed. */
  axis: number;
  /**
   * The user-facing op that made this call (`'indexSelect'`, `'scatterAdd'`, ...), for the
   * error message. Optional and informational: a backend copies it into the
   * {@link IndexFault} it records and otherwise ignores it.
   */
  caller?: string;
}

/**
 * An out-of-range index a `gather` or `scatter` kernel met. The kernel never reads or
 * writes out of bounds: gather writes 0 for that element, scatter skips it. It records the
 * fault instead (a flag plus these details, e.g. a small GPU buffer written with atomics),
 * and the backend hands it to core through `Backend.takeIndexFault()` after the next
 * `read()`/`sync()`; core then throws an `IndexError` naming `caller`, `index` and `size`.
 */
export interface IndexFault {
  /** The kernel that met the index. */
  readonly kernel: 'gather' | 'scatter';
  /** `attrs.caller` of that call, when core passed one. */
  readonly caller?: string;
  /** The axis indexed. */
  readonly axis: number;
  /** Size of that axis (`x.shape[axis]`, or 1 for a 0-d `x`). */
  readonly size: number;
  /** One offending index value (any one, when several are bad), if the backend kept it. */
  readonly index?: number;
}

/** Names of the primitive kernels, in a fixed order (for coverage tables and checks). */
export const PRIMITIVE_KERNELS = [
  'unary',
  'binary',
  'cast',
  'where',
  'reduce',
  'argReduce',
  'matmul',
  'gather',
  'scatter',
  'cumsum',
  'concat',
  'fill',
  'write',
] as const satisfies readonly (keyof PrimitiveKernels)[];

/**
 * Activations the fused `linear` kernel can apply to its output (its epilogue): each is the
 * {@link UnaryOp} of the same name (`geluTanh` is gelu's tanh approximation).
 */
export const LINEAR_ACTIVATIONS = ['relu', 'gelu', 'geluTanh', 'silu', 'tanh', 'sigmoid'] as const;

/** One of {@link LINEAR_ACTIVATIONS}. */
export type LinearActivation = (typeof LINEAR_ACTIVATIONS)[number];

/** The recurrence of a {@link FusedKernels.recurrentSequence} call (PyTorch's mode names). */
export type RecurrentMode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

/**
 * Layout of a whole-sequence recurrent kernel call. Rows are time-major and packed as in
 * PyTorch's `PackedSequence`: step t owns `batchSizes[t]` consecutive rows (batch entries
 * 0..batchSizes[t]-1), starting after the rows of steps 0..t-1; batch sizes never increase.
 * A padded `[T, B]` sequence is `batchSizes` = T times B.
 */
export interface RecurrentSequenceAttrs {
  /** The recurrence. */
  readonly mode: RecurrentMode;
  /** Rows per time step, non-increasing, all > 0. */
  readonly batchSizes: readonly number[];
  /** Hidden size H (gi has G*H columns). */
  readonly hiddenSize: number;
  /** Run the steps from the last to the first (the reverse direction of a bidirectional layer). */
  readonly reverse: boolean;
  /** Also return the workspace the backward kernel needs (false in inference: nothing extra is kept). */
  readonly train: boolean;
}

/**
 * The operands of one direction of a {@link FusedKernels.recurrentSequenceBidirectional}
 * call: those of {@link FusedKernels.recurrentSequence}, same shapes and meaning.
 */
export interface RecurrentSequenceInputs {
  /** `[N, G*H]` input projections of every row. */
  readonly gi: TensorView;
  /** `[B, P]` initial hidden state. */
  readonly h0: TensorView;
  /** `[B, H]` initial cell state (LSTM), else null. */
  readonly c0: TensorView | null;
  /** `[G*H, P]` recurrent weight. */
  readonly wHh: TensorView;
  /** `[G*H]` recurrent bias, or null. */
  readonly bHh: TensorView | null;
  /** `[P, H]` projection (LSTM with projSize), else null. */
  readonly wHr: TensorView | null;
}

/**
 * One direction of a {@link FusedKernels.recurrentLayer} call: its input projection, recurrent
 * weights and initial states.
 */
export interface RecurrentLayerDirection {
  /** `[G*H, I]` input weight (PyTorch's `weight_ih_l*`). */
  readonly wIh: TensorView;
  /** `[G*H]` input bias, or null. */
  readonly bIh: TensorView | null;
  /** `[G*H, P]` recurrent weight. */
  readonly wHh: TensorView;
  /** `[G*H]` recurrent bias, or null. */
  readonly bHh: TensorView | null;
  /** `[P, H]` projection (LSTM with projSize), else null. */
  readonly wHr: TensorView | null;
  /** `[B, P]` initial hidden state, or null for zeros. */
  readonly h0: TensorView | null;
  /** `[B, H]` initial cell state (LSTM), or null for zeros. */
  readonly c0: TensorView | null;
}

/**
 * Layout of a {@link FusedKernels.recurrentLayer} call: the rows of `x` and of the output are
 * time-major and packed as in {@link RecurrentSequenceAttrs}, or with `batchFirst` (every
 * batch size equal, B = batchSizes[0], T = batchSizes.length) batch-major: row `b*T + t` is
 * batch entry b at step t (a contiguous `[B, T, *]` tensor flattened).
 */
export interface RecurrentLayerAttrs {
  /** The recurrence. */
  readonly mode: RecurrentMode;
  /** Rows per time step, non-increasing, all > 0 (all equal with `batchFirst`). */
  readonly batchSizes: readonly number[];
  /** Hidden size H. */
  readonly hiddenSize: number;
  /** Rows are batch-major (`b*T + t`) instead of time-major. */
  readonly batchFirst: boolean;
}

/**
 * Elements of the float32 workspace a {@link FusedKernels.recurrentSequence} call with `train`
 * returns, for N rows, hidden size H and output size P (P = H without projection): what a
 * backward pass needs per row: LSTM the four gate activations, the previous cell and hidden
 * state, and with a projection the unprojected h (`N*(6H + P)` or `N*(5H + P)`); GRU r, z, n,
 * `gh_n` and the previous hidden state (`N*5H`); RNN the previous hidden state (`N*H`).
 */
export function recurrentWorkspaceSize(mode: RecurrentMode, rows: number, hiddenSize: number, outputSize: number): number {
  const H = hiddenSize;
  if (mode === 'LSTM') return rows * (5 * H + outputSize + (outputSize !== H ? H : 0));
  if (mode === 'GRU') return rows * 5 * H;
  return rows * H;
}

/**
 * Optional fused kernels. Core checks for each one and composes primitives when it is
 * absent; results must equal the composition within float32 rounding. All are float32.
 */
export interface FusedKernels {
  /**
   * `act(x @ weight^T + bias)`; x `[..., K]`, weight `[N, K]`, bias `[N]` or absent. Output
   * `[..., N]`. `attrs.activation` (absent or undefined = none) is applied to each float32
   * pre-activation value as the `unary` kernel of that name would be: the result must equal
   * `linear` followed by `unary({ op: activation })` within float32 rounding. Core passes
   * `attrs` only when an activation is asked for.
   */
  linear(x: TensorView, weight: TensorView, bias: TensorView | null, attrs?: { activation?: LinearActivation }): DataId;
  /** Softmax along `axis`. Output: `x.shape`. */
  softmax(x: TensorView, attrs: { axis: number }): DataId;
  /** Log-softmax along `axis`. Output: `x.shape`. */
  logSoftmax(x: TensorView, attrs: { axis: number }): DataId;
  /**
   * Log-softmax along dim 1 of `x` `[N, C]` picked at `index` `[N, 1]` (int32):
   * `picked[r] = logSoftmax(x, 1)[r, index[r]]`, without writing the `[N, C]` log-probabilities
   * (optional; core composes `logSoftmax` and `gather` without it, which is what this must
   * equal within float32 rounding). Returns `[picked [N, 1], stats [N, 2]]`: per row the max
   * `m` of the row and `inv = 1 / sum_c exp(x[r, c] - m)`, each rounded to float32, which
   * core keeps for {@link FusedKernels.logSoftmaxGatherBackward} (softmax = `exp(x - m) * inv`).
   * A NaN in a row makes its pick and stats NaN. Core calls it only on backends with
   * `readSync`, after checking every index lies in `[0, C)`.
   */
  logSoftmaxGather(x: TensorView, index: TensorView): [DataId, DataId];
  /**
   * Backward of {@link FusedKernels.logSoftmaxGather} in one pass (optional; core composes
   * `scatterAdd(softmax(x, 1) * -g, 1, index, g)` without it, which is what this must equal
   * within float32 rounding): `x` `[N, C]`, the forward's `stats` `[N, 2]` and `index`
   * `[N, 1]`, and `g` `[N, 1]` the gradient of the picks (any view, e.g. broadcast). Returns
   * `dx` `[N, C]` = `g[r] * ([c = index[r]] - softmax(x)[r, c])`, as `p * -g`, plus `g` at the
   * index. Core calls it only while not recording a graph (no `createGraph`).
   */
  logSoftmaxGatherBackward(x: TensorView, stats: TensorView, index: TensorView, g: TensorView): DataId;
  /**
   * Layer norm over the last `normalizedSize` elements of each row.
   * Returns `[out, mean, rstd]`: out has `x.shape`; mean and rstd are `[rows]`
   * (rows = numel / normalizedSize), which core keeps for the backward pass.
   */
  layerNorm(
    x: TensorView,
    weight: TensorView | null,
    bias: TensorView | null,
    attrs: { normalizedSize: number; eps: number },
  ): [DataId, DataId, DataId];
  /**
   * Pointwise LSTM cell step on the input gate sums `gi = x W_ih^T + b_ih` `[B, 4H]` and the
   * hidden gate sums `gh = h W_hh^T + b_hh` `[B, 4H]` (i, f, g, o order; the pre-activation of
   * each gate is `gi + gh`, summed in float32) and previous cell `c` `[B, H]`. Returns
   * `[h, c']`, each `[B, H]`. (Contract v3: v2 took the pre-summed gates.)
   */
  lstmCell(gi: TensorView, gh: TensorView, c: TensorView): [DataId, DataId];
  /**
   * Pointwise GRU cell step on `gi = x W_ih^T + b_ih` `[B, 3H]`, `gh = h W_hh^T + b_hh`
   * `[B, 3H]` (r, z, n order) and previous hidden `h` `[B, H]`. Returns `h'` `[B, H]`.
   */
  gruCell(gi: TensorView, gh: TensorView, h: TensorView): DataId;
  /**
   * Backward of {@link FusedKernels.lstmCell}: the same inputs `gi`, `gh` `[B, 4H]` and `c`
   * `[B, H]`, and the gradients `dH` `[B, H]` of h and `dC` `[B, H]` of c'. Recomputes the gate
   * activations of `gi + gh` and c' (rounded to float32, as the forward kernel stores it), then
   * with `dc = dC + dH * o * (1 - tanh(c')^2)` returns `[dGates, dCPrev]`:
   * dGates `[B, 4H]` = (`dc g i (1 - i)`, `dc c f (1 - f)`, `dc i (1 - g^2)`,
   * `dH tanh(c') o (1 - o)`) in i, f, g, o order (the gradient of both `gi` and `gh`), and
   * dCPrev `[B, H]` = `dc f`. Core calls it only while not recording a graph (no `createGraph`).
   */
  lstmCellBackward(gi: TensorView, gh: TensorView, c: TensorView, dH: TensorView, dC: TensorView): [DataId, DataId];
  /**
   * Backward of {@link FusedKernels.gruCell}: the same inputs `gi`, `gh` `[B, 3H]` and `h`
   * `[B, H]`, and the gradient `dH` `[B, H]` of h'. Recomputes r, z, n, then with
   * `dn = dH (1 - z) (1 - n^2)`, `dz = dH (h - n) z (1 - z)`, `dr = dn gh_n r (1 - r)` returns
   * `[dGi, dGh, dHPrev]`: dGi `[B, 3H]` = (dr, dz, dn), dGh `[B, 3H]` = (dr, dz, `dn r`) in
   * r, z, n order, dHPrev `[B, H]` = `dH z`. Core calls it only while not recording a graph.
   */
  gruCellBackward(gi: TensorView, gh: TensorView, h: TensorView, dH: TensorView): [DataId, DataId, DataId];
  /**
   * One layer-direction of a recurrent network over a whole (possibly packed) sequence, the
   * time loop inside the kernel (see {@link RecurrentSequenceAttrs} for the layout). Inputs:
   * `gi` `[N, G*H]` (the input projections `x W_ih^T + b_ih` of every row, N = sum of
   * `batchSizes`, G = 4 LSTM, 3 GRU, 1 RNN), `h0` `[B, P]` (B = batchSizes[0], P = projSize or
   * H), `c0` `[B, H]` (LSTM, else null), `wHh` `[G*H, P]`, `bHh` `[G*H]` or null, `wHr` `[P, H]`
   * (LSTM with projSize, else null). Per step t the first `batchSizes[t]` rows of the state
   * advance: RNN `h = act(gi + h W_hh^T + b_hh)`; GRU and LSTM as the `gruCell` / `lstmCell`
   * kernels on `gi` and `gh = h W_hh^T + b_hh`, LSTM then `h = h_raw W_hr^T` with projSize.
   * Rows past `batchSizes[t]` keep their state. Returns `[y, hN, cN, workspace]`: y `[N, P]`
   * (row r = the h written at that row), hN `[B, P]` and cN `[B, H]` (LSTM, else null) the
   * states after the last step (each row's own last step), and with `attrs.train` a float32
   * buffer of {@link recurrentWorkspaceSize} elements that only this backend's
   * `recurrentSequenceBackward` reads (what it saves there is its own choice), else null.
   * Core calls it only with contiguous inputs.
   */
  recurrentSequence(
    gi: TensorView,
    h0: TensorView,
    c0: TensorView | null,
    wHh: TensorView,
    bHh: TensorView | null,
    wHr: TensorView | null,
    attrs: RecurrentSequenceAttrs,
  ): [DataId, DataId, DataId | null, DataId | null];
  /**
   * Both directions of a bidirectional layer in one call (optional, added without a contract
   * version change: a backend without it gets two {@link FusedKernels.recurrentSequence}
   * calls, which is what this must equal): `forward` runs as `recurrentSequence(...forward, { ...attrs, reverse:
   * false })` and `reverse` as `recurrentSequence(...reverse, { ...attrs, reverse: true })`,
   * each returning `[y, hN, cN, workspace]` as that kernel does (the two directions share
   * `batchSizes`, mode, hidden size and `train`; their sizes and weights are independent
   * tensors). The directions do not depend on each other, so a backend may run them at the
   * same time. Gradients go through {@link FusedKernels.recurrentSequenceBackward} per direction,
   * with each direction's workspace, exactly as after two separate calls. Core calls it only with
   * contiguous inputs.
   */
  recurrentSequenceBidirectional(
    forward: RecurrentSequenceInputs,
    reverse: RecurrentSequenceInputs,
    attrs: Omit<RecurrentSequenceAttrs, 'reverse'>,
  ): [[DataId, DataId, DataId | null, DataId | null], [DataId, DataId, DataId | null, DataId | null]];
  /**
   * A whole recurrent layer in inference (optional; core calls it only when no gradient is
   * needed, and composes `linear`, {@link FusedKernels.recurrentSequence} per direction and a
   * concatenation otherwise, which is what this must equal): `x` `[N, I]` in the row order of
   * `attrs` ({@link RecurrentLayerAttrs}); per direction d (1 or 2; the second runs from the
   * last step to the first) `gi = x W_ih^T + b_ih` and the time loop of `recurrentSequence`
   * with `reverse = d === 1`. Returns `[y, hN, cN]`: y `[N, D*P]` in x's row order, direction
   * d in columns `[d*P, (d+1)*P)` (the layer's output with no concatenation left to do), hN
   * `[D, B, P]` and cN `[D, B, H]` (LSTM, else null) the directions' final states, stacked.
   * Null states are zeros. Core calls it only with contiguous inputs (states may be offset).
   */
  recurrentLayer(
    x: TensorView,
    directions: readonly RecurrentLayerDirection[],
    attrs: RecurrentLayerAttrs,
  ): [DataId, DataId, DataId | null];
  /**
   * Backward of {@link FusedKernels.recurrentSequence} (called with the same `wHh`, `wHr` and
   * attrs, the forward's `y` and `workspace`, and the gradients `dY` `[N, P]`, `dHN` `[B, P]`,
   * `dCN` `[B, H]` (LSTM, else null)). Returns `[dGi [N, G*H], dH0 [B, P], dC0 [B, H] | null,
   * dWhh [G*H, P], dBhh [G*H] | null (null when bHh was), dWhr [P, H] | null]`. The weight
   * gradients are sums over every row: `dWhh = dGh^T hPrev` with `dGh` `[N, G*H]` the gradient
   * of the hidden gate sums of each row and `hPrev` `[N, P]` the state each row read (one GEMM
   * over all steps, not one per step); `dWhr = dH^T hRaw` likewise. Core calls it only while
   * not recording a graph.
   */
  recurrentSequenceBackward(
    wHh: TensorView,
    wHr: TensorView | null,
    y: TensorView,
    workspace: TensorView,
    dY: TensorView,
    dHN: TensorView,
    dCN: TensorView | null,
    attrs: RecurrentSequenceAttrs & { hasBias: boolean },
  ): [DataId, DataId, DataId | null, DataId, DataId | null, DataId | null];
  /**
   * Scaled dot-product attention over a flattened batch (B = batch * heads): q `[B, L, E]`,
   * k `[B, S, E]`, v `[B, S, Ev]`, and an additive float32 `mask` viewed as `[B, L, S]` (a mask
   * shared by the batch arrives with stride 0 on dim 0, like any broadcast input) or null.
   * Per batch b, query i, key j:
   * `score = scale * sum_e q[b,i,e] k[b,j,e] + mask[b,i,j]`; with `attrs.causal`, keys
   * `j > i + (S - L)` are masked out (score -inf: the queries are the last L of S positions,
   * as with a KV cache; `S = L` is the usual lower triangle). `weights[b,i,:]` is the softmax
   * of the row's scores (max-subtracted), except that a row whose scores are all -inf gets
   * all-zero weights (not NaN). `out[b,i,:] = sum_j weights[b,i,j] v[b,j,:]` (computed from the
   * weights rounded to float32). Returns `[out [B, L, Ev], weights [B, L, S]]`; core keeps the
   * weights for the backward pass, which it writes with core ops.
   */
  attention(
    q: TensorView,
    k: TensorView,
    v: TensorView,
    mask: TensorView | null,
    attrs: { scale: number; causal: boolean },
  ): [DataId, DataId];
  /**
   * One Adam/AdamW step, **in place** (like `write`, it stores into existing buffers and
   * allocates nothing): `param`, `expAvg`, `expAvgSq` and `maxExpAvgSq` (AMSGrad; null
   * without) are float32 targets of one shape, each contiguous row-major (any offset) and in
   * its own buffer; `grad` is any float32 view of that shape (strided, broadcast) that shares
   * no buffer with a target. Every operation rounds to float32, in this order (torch 1.13's
   * `_single_tensor_adam`), with `t = attrs.step` and scalars rounded to float32 first:
   * `g = maximize ? -grad : grad`; unless `decoupled`, `g = g + param * weightDecay`; when
   * `decoupled`, `param = param * (1 - lr * weightDecay)` (both only if `weightDecay != 0`);
   * `expAvg = expAvg * beta1 + g * (1 - beta1)`; `expAvgSq = expAvgSq * beta2 + (g * g) * (1 - beta2)`;
   * with AMSGrad `maxExpAvgSq = maximum(maxExpAvgSq, expAvgSq)`; `denom = sqrt(maxExpAvgSq or
   * expAvgSq) / sqrt(1 - beta2^t) + eps`; `param = param + (expAvg / denom) * -(lr / (1 - beta1^t))`.
   * Results must equal core's composition of primitives (what core runs without this kernel)
   * within float32 rounding. Core bumps the targets' version counters after the call.
   */
  adamUpdate(
    param: TensorView,
    grad: TensorView,
    expAvg: TensorView,
    expAvgSq: TensorView,
    maxExpAvgSq: TensorView | null,
    attrs: AdamUpdateAttrs,
  ): void;
}

/** Hyper-parameters of one {@link FusedKernels.adamUpdate} call (plain numbers, float64 in JS). */
export interface AdamUpdateAttrs {
  /** Learning rate. */
  readonly lr: number;
  /** Decay of the first moment average. */
  readonly beta1: number;
  /** Decay of the second moment average. */
  readonly beta2: number;
  /** Added to the denominator. */
  readonly eps: number;
  /** L2 penalty (Adam) or decoupled decay (AdamW); 0 = none. */
  readonly weightDecay: number;
  /** AdamW's decoupled weight decay (`param *= 1 - lr * weightDecay`) instead of Adam's L2 term. */
  readonly decoupled: boolean;
  /** The step number t (1 on the first step), for the bias corrections. */
  readonly step: number;
  /** Ascend instead of descend (the gradient is negated). */
  readonly maximize: boolean;
}

/** Names of the optional fused kernels. */
export const FUSED_KERNELS = [
  'linear',
  'softmax',
  'logSoftmax',
  'layerNorm',
  'lstmCell',
  'gruCell',
  'lstmCellBackward',
  'gruCellBackward',
  'attention',
  'recurrentSequence',
  'recurrentSequenceBackward',
  'adamUpdate',
  'recurrentSequenceBidirectional',
  'recurrentLayer',
  'logSoftmaxGather',
  'logSoftmaxGatherBackward',
] as const satisfies readonly (keyof FusedKernels)[];

/** Any kernel name of the contract. */
export type KernelName = keyof PrimitiveKernels | keyof FusedKernels;
