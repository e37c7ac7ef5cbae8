/**
 * Turning validated header entries into tensors: which entries to load and as what dtype
 * (decided for every entry before the first allocation), and the byte decoding shared by
 * the in-memory reader and the file reader. Each output array is allocated only after the
 * header proved its bytes exist in the input, so tensor data never exceeds the input's size.
 */
import { type DType, GhostFlowError, type Tensor, tensor } from '@ghostflow/core';
import { type SafetensorsEntry, type SafetensorsHeader, describe } from './header.js';

/** Options of `loadSafetensors` and `load`. */
export interface LoadSafetensorsOptions {
  /** Backend for the tensors (default the active one). */
  device?: string;
  /**
   * Load only these tensors (each must be in the file); the other entries are validated
   * but their data is not read.
   */
  names?: readonly string[];
}

/** One tensor to load. */
export interface LoadItem {
  /** Name in the file. */
  readonly name: string;
  /** Its header entry. */
  readonly entry: SafetensorsEntry;
  /** GhostFlow dtype it becomes. */
  readonly dtype: DType;
  /** Element count. */
  readonly count: number;
}

const LOADABLE: Readonly<Record<string, DType>> = Object.assign(Object.create(null) as Record<string, DType>, {
  F32: 'float32',
  I32: 'int32',
  BOOL: 'bool',
  I64: 'int32',
});

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Validated options (a GhostFlowError naming what came otherwise). */
export function checkLoadOptions(options: unknown): LoadSafetensorsOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options))
    throw new GhostFlowError(`safetensors: expected an options object, got ${describe(options)}`);
  const { device, names } = options as LoadSafetensorsOptions;
  if (device !== undefined && typeof device !== 'string')
    throw new GhostFlowError(`safetensors: expected options.device to be a backend name, got ${describe(device)}`);
  if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string')))
    throw new GhostFlowError(`safetensors: expected options.names to be an array of strings, got ${describe(names)}`);
  return { device, names };
}

/** The entries to load, in file order, each with a dtype GhostFlow can hold; throws before any allocation. */
export function planLoad(header: SafetensorsHeader, names: readonly string[] | undefined): LoadItem[] {
  const all = Object.keys(header.tensors);
  if (names) {
    const missing = names.filter((n) => !Object.hasOwn(header.tensors, n));
    if (missing.length > 0)
      throw new GhostFlowError(
        `safetensors: expected tensors named ${missing.map((n) => `'${n}'`).join(', ')} in the file, which has ${all.length} others`,
      );
  }
  const wanted = names ? new Set(names) : null;
  const items: LoadItem[] = [];
  for (const name of all) {
    if (wanted && !wanted.has(name)) continue;
    const entry = header.tensors[name];
    const dtype = LOADABLE[entry.dtype];
    if (dtype === undefined) {
      throw new GhostFlowError(
        `safetensors: tensor '${name}' has dtype ${entry.dtype}, which GhostFlow cannot load (supported: F32, I32, BOOL, and I64 when it fits in int32)`,
      );
    }
    items.push({ name, entry, dtype, count: entry.shape.reduce((a, b) => a * b, 1) });
  }
  return items;
}

/** Whether the item's file bytes can be copied straight into its output array (every dtype but I64). */
export function isDirect(item: LoadItem): boolean {
  return item.entry.dtype !== 'I64';
}

/** The output array for an item (its element count, the GhostFlow dtype's array type). */
export function allocate(item: LoadItem): Float32Array | Int32Array | Uint8Array {
  if (item.dtype === 'float32') return new Float32Array(item.count);
  if (item.dtype === 'int32') return new Int32Array(item.count);
  return new Uint8Array(item.count);
}

/** The bytes of a direct item's output array, to copy its file bytes into. */
export function bytesOf(array: Float32Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Fixes a direct item's array after its file bytes were copied in: bools to 0/1, byte order on big-endian hosts. */
export function finishDirect(item: LoadItem, array: Float32Array | Int32Array | Uint8Array): void {
  if (item.dtype === 'bool') {
    for (let j = 0; j < array.length; j++) if (array[j] > 1) array[j] = 1;
  } else if (!LITTLE_ENDIAN) {
    const b = bytesOf(array);
    for (let j = 0; j < b.length; j += 4) {
      const t0 = b[j];
      const t1 = b[j + 1];
      b[j] = b[j + 3];
      b[j + 1] = b[j + 2];
      b[j + 2] = t1;
      b[j + 3] = t0;
    }
  }
}

/** Converts `raw` (little-endian I64 values) into `out` from element `start`, refusing values outside int32. */
export function convertI64(item: LoadItem, raw: Uint8Array, out: Int32Array, start: number): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / 8;
  for (let j = 0; j < n; j++) {
    const v = view.getBigInt64(8 * j, true);
    if (v > 2147483647n || v < -2147483648n) {
      throw new GhostFlowError(
        `safetensors: I64 tensor '${item.name}' holds ${v} (element ${start + j}), outside int32; GhostFlow has no int64 dtype`,
      );
    }
    out[start + j] = Number(v);
  }
}

/** The tensor for a filled array. */
export function toTensor(item: LoadItem, array: Float32Array | Int32Array | Uint8Array, device: string | undefined): Tensor {
  return tensor(array, { shape: item.entry.shape, dtype: item.dtype, device });
}
