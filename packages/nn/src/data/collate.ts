/**
 * Collate functions: how a DataLoader turns a list of items into a batch
 * (torch.utils.data.default_collate, plus padding and packing collates for sequences).
 */
import { GhostFlowError, ShapeError, Tensor, formatShape, stack, tensor } from '@ghostflow/core';
import { type PackedSequence, packSequence, padSequence } from '../recurrent/packing.js';

/** Turns the items of one batch into the batch. */
export type CollateFn<T, B> = (items: T[]) => B;

/** What {@link defaultCollate} makes of items of type `T`. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : T[];

/** A padded batch of variable-length sequences, as {@link padCollate} makes it. */
export interface PaddedBatch {
  /** `[T, B, *]` (`[B, T, *]` with `batchFirst`), `paddingValue` past each length. */
  padded: Tensor;
  /** Each sequence's length, in batch order (ready for `packPaddedSequence`). */
  lengths: number[];
}

/** What {@link padCollate} makes of items of type `T`: tensors become {@link PaddedBatch}es. */
export type PadCollated<T> = T extends Tensor
  ? PaddedBatch
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: PadCollated<T[K]> }
        : T extends object
          ? { [K in keyof T]: PadCollated<T[K]> }
          : T[];

/** What {@link packCollate} makes of items of type `T`: tensors become `PackedSequence`s. */
export type PackCollated<T> = T extends Tensor
  ? PackedSequence
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: PackCollated<T[K]> }
        : T extends object
          ? { [K in keyof T]: PackCollated<T[K]> }
          : T[];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The shared recursion: `leaf` handles tensors, the rest is default_collate's structure walk. */
function collateWith(items: unknown[], leaf: (ts: Tensor[], path: string) => unknown, path: string): unknown {
  if (items.length === 0) throw new GhostFlowError('collate: a batch needs at least one item');
  const first = items[0];
  if (first instanceof Tensor) {
    items.forEach((it, i) => {
      if (!(it instanceof Tensor)) throw new GhostFlowError(`collate: item ${i}${path} is not a Tensor like item 0`);
    });
    return leaf(items as Tensor[], path);
  }
  if (typeof first === 'number' || typeof first === 'boolean') {
    if (items.some((v) => typeof v !== typeof first))
      throw new GhostFlowError(`collate: items${path} mix ${typeof first} with other types`);
    if (typeof first === 'boolean') return tensor(items as boolean[], { dtype: 'bool' });
    const nums = items as number[];
    return tensor(nums, { dtype: nums.every(Number.isInteger) ? 'int32' : 'float32' });
  }
  if (Array.isArray(first)) {
    const n = first.length;
    items.forEach((it, i) => {
      if (!Array.isArray(it) || it.length !== n)
        throw new GhostFlowError(
          `collate: each element in list of batch should be of equal size: item 0${path} has ${n}, item ${i} does not`,
        );
    });
    return first.map((_, k) =>
      collateWith(
        items.map((it) => (it as unknown[])[k]),
        leaf,
        `${path}[${k}]`,
      ),
    );
  }
  if (isPlainObject(first)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first))
      out[key] = collateWith(
        items.map((it) => (it as Record<string, unknown>)[key]),
        leaf,
        `${path}.${key}`,
      );
    return out;
  }
  // Strings, null, class instances: a list, as torch leaves them.
  return [...items];
}

/**
 * torch.utils.data.default_collate: tensors are stacked along a new dim 0 (they must share a
 * shape: see {@link padCollate} for sequences), numbers become a tensor (int32 when all are
 * integers, else float32; PyTorch: int64 / float64), booleans a bool tensor, arrays (tuples)
 * and plain objects are collated field by field, and anything else (strings...) becomes a list.
 * @example
 * ```ts
 * import { tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { defaultCollate } from '@ghostflow/nn';
 * defaultCollate([[tensor([1, 2]), 0], [tensor([3, 4]), 1]]); // [tensor [2, 2], int32 tensor [0, 1]]
 * ```
 */
export function defaultCollate<T>(items: T[]): Collated<T> {
  return collateWith(
    items,
    (ts, path) => {
      const shape = ts[0].shape;
      ts.forEach((t, i) => {
        if (t.rank !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
          throw new ShapeError(
            `defaultCollate: stack expects each tensor to be equal size, but got ${formatShape(shape)} at entry 0${path} and ${formatShape(t.shape)} at entry ${i} (variable-length sequences: use padCollate or packCollate)`,
          );
        }
      });
      return stack(ts, 0);
    },
    '',
  ) as Collated<T>;
}

/** Options of {@link padCollate}. */
export interface PadCollateOptions {
  /** `[B, T, *]` instead of `[T, B, *]` (default false, as padSequence). */
  batchFirst?: boolean;
  /** Value past each length (default 0). */
  paddingValue?: number;
}

/**
 * A collate for variable-length sequences: every tensor field (each item's `[L_i, *]`) becomes
 * a {@link PaddedBatch} (`padSequence` + the lengths); numbers, booleans, arrays and objects as
 * {@link defaultCollate}. Scalar labels are best given as numbers.
 * @example
 * ```ts
 * import type { Tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { DataLoader, type Dataset, padCollate, packPaddedSequence } from '@ghostflow/nn';
 * declare const sentences: Dataset<[Tensor, number]>; // your data: [tokens [L_i, D], label]
 * const loader = new DataLoader(sentences, { batchSize: 32, collateFn: padCollate({ batchFirst: true }) });
 * for await (const [{ padded, lengths }, labels] of loader) {
 *   const packed = packPaddedSequence(padded, lengths, { batchFirst: true, enforceSorted: false });
 * }
 * ```
 */
export function padCollate<T>(options: PadCollateOptions = {}): CollateFn<T, PadCollated<T>> {
  return (items) =>
    collateWith(
      items,
      (ts, path) => {
        if (ts.some((t) => t.rank === 0))
          throw new ShapeError(`padCollate: tensors${path} must be sequences [L, *]; give scalar fields as numbers`);
        return { padded: padSequence(ts, options), lengths: ts.map((t) => t.shape[0]) } satisfies PaddedBatch;
      },
      '',
    ) as PadCollated<T>;
}

/**
 * A collate that packs variable-length sequences: every tensor field (each item's `[L_i, *]`)
 * becomes a `PackedSequence` (`packSequence` with `enforceSorted: false`, so batch order is
 * kept through the RNN's `unsortedIndices`); the rest as {@link defaultCollate}.
 * @example
 * ```ts
 * import type { Tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { DataLoader, type Dataset, LSTM, packCollate } from '@ghostflow/nn';
 * declare const ds: Dataset<[Tensor, number]>; // your data: [sequence [L_i, 8], label]
 * const lstm = new LSTM(8, 16);
 * const loader = new DataLoader(ds, { batchSize: 16, collateFn: packCollate() });
 * for await (const [packed, labels] of loader) { const [out, h] = lstm.forward(packed); }
 * ```
 */
export function packCollate<T>(): CollateFn<T, PackCollated<T>> {
  return (items) =>
    collateWith(
      items,
      (ts, path) => {
        if (ts.some((t) => t.rank === 0))
          throw new ShapeError(`packCollate: tensors${path} must be sequences [L, *]; give scalar fields as numbers`);
        return packSequence(ts, { enforceSorted: false });
      },
      '',
    ) as PackCollated<T>;
}
