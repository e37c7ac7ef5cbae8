/**
 * Variable-length batches as PyTorch's `torch.nn.utils.rnn`: {@link PackedSequence},
 * {@link packPaddedSequence}, {@link padPackedSequence}, {@link padSequence} and
 * {@link packSequence}.
 *
 * Lengths, batch sizes and sort permutations are bookkeeping that lives on the host (as in
 * PyTorch, where they must be CPU tensors). Each function that accepts them as a tensor reads
 * it with `dataSync()`, which only backends that read synchronously support (backend-cpu
 * does); on other backends pass plain `number[]`s (e.g. from `Array.from(await t.data())`).
 * Every data movement is a single `indexSelect` (plus a `cat` for the padding row), so
 * gradients flow back to the padded input exactly as through PyTorch's packing ops.
 */
import {
  type Tensor,
  GhostFlowError,
  ShapeError,
  cat,
  formatShape,
  full,
  heldTensors,
  indexSelect,
  stack,
  tensor,
  tidy,
} from '@ghostflow/core';

/** Lengths, batch sizes or indices as plain numbers or as an integer tensor (read on the host). */
export type HostInts = Tensor | readonly number[];

/** Reads `v` on the host: a number array as is, a tensor with `dataSync()`. */
export function hostInts(v: HostInts, what: string): number[] {
  if (Array.isArray(v)) return [...(v as readonly number[])];
  const t = v as Tensor;
  if (t.rank !== 1) throw new ShapeError(`${what} must be a 1-D tensor or a number[], got a tensor of shape ${formatShape(t.shape)}`);
  let values: ArrayLike<number>;
  try {
    values = t.dataSync() as ArrayLike<number>;
  } catch (e) {
    throw new GhostFlowError(
      `${what} is read on the host, but its backend '${t.device}' cannot read synchronously: pass a number[] instead (e.g. Array.from(await ${what}.data())). (${(e as Error).message})`,
    );
  }
  return Array.from(values, Number);
}

function intTensor(values: readonly number[], device: string): Tensor {
  return tensor(Int32Array.from(values), { shape: [values.length], dtype: 'int32', device });
}

function invertPermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  for (let i = 0; i < perm.length; i++) inv[perm[i]] = i;
  return inv;
}

function checkPermutation(perm: readonly number[], n: number, what: string): void {
  const seen = new Set(perm);
  if (perm.length !== n || seen.size !== n || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= n)) {
    throw new GhostFlowError(`${what} must be a permutation of 0..${n - 1}, got [${perm.join(', ')}]`);
  }
}

/**
 * A batch of variable-length sequences packed time step by time step, as PyTorch's
 * `PackedSequence`: `data` holds, for t = 0, 1, ..., the t-th element of every sequence
 * longer than t (sequences in decreasing length order), `batchSizes[t]` how many there are.
 * Build one with {@link packPaddedSequence} or {@link packSequence}; RNN, LSTM and GRU accept
 * it as input and return their output packed the same way.
 */
export class PackedSequence {
  /** Packed elements, `[sum(lengths), *]`. */
  readonly data: Tensor;
  /** Sequences present at each time step, int32 `[maxLength]` (non-increasing). */
  readonly batchSizes: Tensor;
  /** `sortedIndices[i]` = original batch index of the i-th longest sequence; null when the batch was already sorted. */
  readonly sortedIndices: Tensor | null;
  /** Inverse permutation of `sortedIndices` (restores the original order); null when sorted. */
  readonly unsortedIndices: Tensor | null;
  /** `batchSizes` on the host. */
  readonly batchSizesArray: readonly number[];
  /** `sortedIndices` on the host (null when sorted). */
  readonly sortedIndicesArray: readonly number[] | null;
  /** `unsortedIndices` on the host (null when sorted). */
  readonly unsortedIndicesArray: readonly number[] | null;

  /**
   * Wraps already packed data (as PyTorch's constructor; usually you call
   * {@link packPaddedSequence} instead). Tensor arguments are read on the host with
   * `dataSync()`; number arrays become int32 tensors on `data`'s backend.
   * @param data packed elements `[sum(lengths), *]`
   * @param batchSizes sequences per time step (non-increasing, each >= 1)
   * @param sortedIndices original index of each sorted sequence (null = sorted already)
   * @param unsortedIndices its inverse (computed from `sortedIndices` when null)
   */
  constructor(data: Tensor, batchSizes: HostInts, sortedIndices: HostInts | null = null, unsortedIndices: HostInts | null = null) {
    if (data.rank < 1) throw new ShapeError(`PackedSequence data must have at least 1 dim, got shape ${formatShape(data.shape)}`);
    const bs = hostInts(batchSizes, 'batchSizes');
    if (bs.length === 0) throw new GhostFlowError('PackedSequence batchSizes must not be empty');
    for (let t = 0; t < bs.length; t++) {
      if (!Number.isInteger(bs[t]) || bs[t] < 1 || (t > 0 && bs[t] > bs[t - 1])) {
        throw new GhostFlowError(`PackedSequence batchSizes must be positive and non-increasing, got [${bs.join(', ')}]`);
      }
    }
    const total = bs.reduce((a, b) => a + b, 0);
    if (data.shape[0] !== total) {
      throw new ShapeError(
        `PackedSequence data has ${data.shape[0]} rows (shape ${formatShape(data.shape)}) but batchSizes [${bs.join(', ')}] sum to ${total}`,
      );
    }
    const batch = bs[0];
    let sorted = sortedIndices === null ? null : hostInts(sortedIndices, 'sortedIndices');
    let unsorted = unsortedIndices === null ? null : hostInts(unsortedIndices, 'unsortedIndices');
    if (sorted) checkPermutation(sorted, batch, 'sortedIndices');
    if (unsorted) checkPermutation(unsorted, batch, 'unsortedIndices');
    if (sorted && !unsorted) unsorted = invertPermutation(sorted);
    if (unsorted && !sorted) sorted = invertPermutation(unsorted);
    this.data = data;
    this.batchSizesArray = bs;
    this.sortedIndicesArray = sorted;
    this.unsortedIndicesArray = unsorted;
    this.batchSizes = Array.isArray(batchSizes) ? intTensor(bs, data.device) : (batchSizes as Tensor);
    this.sortedIndices =
      sorted === null
        ? null
        : sortedIndices !== null && !Array.isArray(sortedIndices)
          ? (sortedIndices as Tensor)
          : intTensor(sorted, data.device);
    this.unsortedIndices =
      unsorted === null
        ? null
        : unsortedIndices !== null && !Array.isArray(unsortedIndices)
          ? (unsortedIndices as Tensor)
          : intTensor(unsorted, data.device);
  }

  /** Number of sequences. */
  get batchSize(): number {
    return this.batchSizesArray[0];
  }

  /** Length of the longest sequence. */
  get maxLength(): number {
    return this.batchSizesArray.length;
  }

  /** Length of each sequence in the original (unsorted) batch order. */
  lengths(): number[] {
    const bs = this.batchSizesArray;
    const sortedLengths = Array.from({ length: bs[0] }, (_, p) => bs.filter((n) => n > p).length);
    const unsorted = this.unsortedIndicesArray;
    return unsorted ? unsorted.map((p) => sortedLengths[p]) : sortedLengths;
  }

  /**
   * The same batch structure around new `data` (as PyTorch's `_replace(data=...)`). The index
   * tensors of the copy are views of this one's (no new buffers), each disposed on its own.
   */
  withData(data: Tensor): PackedSequence {
    if (data.shape[0] !== this.data.shape[0]) {
      throw new ShapeError(
        `PackedSequence.withData: new data must have ${this.data.shape[0]} rows like the old, got shape ${formatShape(data.shape)}`,
      );
    }
    const copy = Object.create(PackedSequence.prototype) as PackedSequence;
    return Object.assign(copy, this, {
      data,
      batchSizes: this.batchSizes.detach(),
      sortedIndices: this.sortedIndices?.detach() ?? null,
      unsortedIndices: this.unsortedIndices?.detach() ?? null,
    });
  }

  /** The tensors this sequence holds: `tidy` keeps them all when it is returned. */
  [heldTensors](): Tensor[] {
    return [
      this.data,
      this.batchSizes,
      ...(this.sortedIndices ? [this.sortedIndices] : []),
      ...(this.unsortedIndices ? [this.unsortedIndices] : []),
    ];
  }

  /** Whether `dispose()` was called (its data was disposed). */
  get isDisposed(): boolean {
    return this.data.isDisposed;
  }

  /** Disposes `data` and the index tensors. Safe to call twice. */
  dispose(): void {
    for (const t of this[heldTensors]()) t.dispose();
  }

  /** `using packed = packPaddedSequence(...)` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Options of {@link packPaddedSequence}. */
export interface PackPaddedOptions {
  /** `input` is `[B, T, *]` instead of `[T, B, *]`. Default false. */
  batchFirst?: boolean;
  /** Require `lengths` in decreasing order (no permutation is recorded). Default true. */
  enforceSorted?: boolean;
}

/**
 * Packs a padded batch (`torch.nn.utils.rnn.pack_padded_sequence`).
 * @param input `[T, B, *]` (or `[B, T, *]` with `batchFirst`), padded past each length
 * @param lengths length of each sequence, `number[]` or a 1-D integer tensor (read on the host
 *   with `dataSync()`), each in `1..T`
 * @param options `batchFirst` (default false), `enforceSorted` (default true: lengths must be
 *   decreasing; pass false to let it sort and record `sortedIndices`/`unsortedIndices`)
 */
export function packPaddedSequence(input: Tensor, lengths: HostInts, options: PackPaddedOptions = {}): PackedSequence {
  return tidy(() => {
    const batchFirst = options.batchFirst ?? false;
    const enforceSorted = options.enforceSorted ?? true;
    if (input.rank < 2)
      throw new ShapeError(
        `packPaddedSequence expects input of at least 2 dims ([T, B, *] or [B, T, *] with batchFirst), got shape ${formatShape(input.shape)}`,
      );
    const lens = hostInts(lengths, 'lengths');
    const T = input.shape[batchFirst ? 1 : 0];
    const B = input.shape[batchFirst ? 0 : 1];
    if (lens.length !== B) {
      throw new ShapeError(
        `packPaddedSequence: expected ${B} lengths (the batch size of input ${formatShape(input.shape)}${batchFirst ? ', batchFirst' : ''}), got ${lens.length}`,
      );
    }
    for (const n of lens) {
      if (!Number.isInteger(n) || n <= 0)
        throw new GhostFlowError(
          `packPaddedSequence: every length must be a positive integer (length of all samples has to be greater than 0), got [${lens.join(', ')}]`,
        );
      if (n > T)
        throw new ShapeError(
          `packPaddedSequence: length ${n} exceeds the ${T} time steps of input ${formatShape(input.shape)}${batchFirst ? ' (batchFirst)' : ''}`,
        );
    }
    let order: number[] | null = null;
    if (enforceSorted) {
      for (let i = 1; i < B; i++) {
        if (lens[i] > lens[i - 1]) {
          throw new GhostFlowError(
            `packPaddedSequence: lengths must be sorted in decreasing order when enforceSorted is true, got [${lens.join(', ')}]; pass enforceSorted: false to pack unsorted sequences`,
          );
        }
      }
    } else {
      order = lens.map((_, i) => i).sort((a, b) => lens[b] - lens[a] || a - b);
    }
    const sorted = order ?? lens.map((_, i) => i);
    const maxLen = lens[sorted[0]];
    const batchSizes: number[] = [];
    for (let t = 0; t < maxLen; t++) batchSizes.push(lens.filter((n) => n > t).length);
    const index: number[] = [];
    for (let t = 0; t < maxLen; t++) {
      for (let p = 0; p < batchSizes[t]; p++) index.push(batchFirst ? sorted[p] * T + t : t * B + sorted[p]);
    }
    const rest = input.shape.slice(2);
    const flat = input.reshape([T * B, ...rest]);
    const idx = intTensor(index, input.device);
    const data = indexSelect(flat, 0, idx);
    return new PackedSequence(data, batchSizes, order, null);
  });
}

/** Options of {@link padPackedSequence}. */
export interface PadPackedOptions {
  /** Return `[B, T, *]` instead of `[T, B, *]`. Default false. */
  batchFirst?: boolean;
  /** Value past each sequence's length. Default 0. */
  paddingValue?: number;
  /** Pad to this many time steps (at least the longest length). Default: the longest length. */
  totalLength?: number;
}

/**
 * Unpacks to a padded batch (`torch.nn.utils.rnn.pad_packed_sequence`), sequences back in
 * their original order. Returns `[padded, lengths]`: `padded` is `[T, B, *]` (or `[B, T, *]`),
 * `lengths` an int32 tensor `[B]` on the data's backend.
 * @param sequence the packed batch
 * @param options `batchFirst` (default false), `paddingValue` (default 0), `totalLength`
 */
export function padPackedSequence(sequence: PackedSequence, options: PadPackedOptions = {}): [Tensor, Tensor] {
  return tidy(() => {
    const padded = padPacked(sequence.data, sequence.batchSizesArray, sequence.unsortedIndicesArray, options);
    return [padded, intTensor(sequence.lengths(), sequence.data.device)];
  });
}

/** {@link padPackedSequence} without the lengths tensor. */
function padPacked(data: Tensor, bs: readonly number[], unsorted: readonly number[] | null, options: PadPackedOptions): Tensor {
  return tidy(() => {
    const batchFirst = options.batchFirst ?? false;
    const paddingValue = options.paddingValue ?? 0;
    const maxLen = bs.length;
    const T = options.totalLength ?? maxLen;
    if (!Number.isInteger(T) || T < maxLen) {
      throw new GhostFlowError(
        `padPackedSequence: expected totalLength to be at least the length of the longest sequence (${maxLen}), got ${options.totalLength}`,
      );
    }
    const N = data.shape[0];
    const B = bs[0];
    const offsets: number[] = [];
    let running = 0;
    for (const n of bs) {
      offsets.push(running);
      running += n;
    }
    const rowOf = (t: number, i: number): number => {
      const p = unsorted ? unsorted[i] : i;
      return t < maxLen && p < bs[t] ? offsets[t] + p : N;
    };
    const index: number[] = [];
    if (batchFirst) {
      for (let i = 0; i < B; i++) for (let t = 0; t < T; t++) index.push(rowOf(t, i));
    } else {
      for (let t = 0; t < T; t++) for (let i = 0; i < B; i++) index.push(rowOf(t, i));
    }
    const rest = data.shape.slice(1);
    const padRow = full([1, ...rest], paddingValue, { dtype: data.dtype, device: data.device });
    const extended = cat([data, padRow], 0);
    const out = indexSelect(extended, 0, intTensor(index, data.device));
    return out.reshape(batchFirst ? [B, T, ...rest] : [T, B, ...rest]);
  });
}

/** Options of {@link padSequence}. */
export interface PadSequenceOptions {
  /** Return `[B, T, *]` instead of `[T, B, *]`. Default false. */
  batchFirst?: boolean;
  /** Value past each sequence's length. Default 0. */
  paddingValue?: number;
}

/**
 * Pads a list of sequences `[L_i, *]` to the longest (`torch.nn.utils.rnn.pad_sequence`):
 * returns `[maxL, B, *]` (or `[B, maxL, *]` with `batchFirst`).
 * @param sequences tensors of shape `[L_i, *]`, same trailing dims, same backend
 * @param options `batchFirst` (default false), `paddingValue` (default 0)
 */
export function padSequence(sequences: readonly Tensor[], options: PadSequenceOptions = {}): Tensor {
  return tidy(() => {
    if (sequences.length === 0) throw new GhostFlowError('padSequence expects a non-empty list of sequences');
    const batchFirst = options.batchFirst ?? false;
    const paddingValue = options.paddingValue ?? 0;
    const ref = sequences[0];
    if (ref.rank < 1)
      throw new ShapeError(`padSequence: sequences must have at least 1 dim ([L, *]), got shape ${formatShape(ref.shape)} at position 0`);
    const rest = ref.shape.slice(1);
    sequences.forEach((s, i) => {
      if (s.rank !== ref.rank || s.shape.slice(1).some((d, k) => d !== rest[k])) {
        throw new ShapeError(
          `padSequence: every sequence must be [L, ${rest.join(', ')}] like the first, got ${formatShape(s.shape)} at position ${i}`,
        );
      }
    });
    const maxLen = Math.max(...sequences.map((s) => s.shape[0]));
    const padded = sequences.map((s) => {
      const missing = maxLen - s.shape[0];
      if (missing === 0) return s;
      return cat([s, full([missing, ...rest], paddingValue, { dtype: s.dtype, device: s.device })], 0);
    });
    return stack(padded, batchFirst ? 0 : 1);
  });
}

/** Options of {@link packSequence}. */
export interface PackSequenceOptions {
  /** Require sequences in decreasing length order. Default true. */
  enforceSorted?: boolean;
}

/**
 * Packs a list of sequences `[L_i, *]` (`torch.nn.utils.rnn.pack_sequence`):
 * `packPaddedSequence(padSequence(sequences), lengths, { enforceSorted })`.
 * @param sequences tensors of shape `[L_i, *]`
 * @param options `enforceSorted` (default true)
 */
export function packSequence(sequences: readonly Tensor[], options: PackSequenceOptions = {}): PackedSequence {
  const lengths = sequences.map((s) => s.shape[0]);
  return tidy(() => packPaddedSequence(padSequence(sequences), lengths, { enforceSorted: options.enforceSorted ?? true }));
}

/**
 * Internal: the packed data as a padded time-major batch `[T, B, *]` in *sorted* order (the
 * order the recurrence runs in), zero past each length.
 */
export function packedToSortedPadded(sequence: PackedSequence): Tensor {
  return padPacked(sequence.data, sequence.batchSizesArray, null, {});
}

/** Internal: the inverse of {@link packedToSortedPadded}: `[T, B, *]` sorted-order rows → packed data. */
export function sortedPaddedToPackedData(padded: Tensor, batchSizes: readonly number[]): Tensor {
  return tidy(() => {
    const [T, B, ...rest] = padded.shape;
    const index: number[] = [];
    for (let t = 0; t < batchSizes.length; t++) for (let p = 0; p < batchSizes[t]; p++) index.push(t * B + p);
    return indexSelect(padded.reshape([T * B, ...rest]), 0, intTensor(index, padded.device));
  });
}
