/**
 * The safetensors format (https://github.com/huggingface/safetensors), byte for byte:
 * an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }`
 * (padded with spaces to a multiple of 8, as the Rust writer does), then the tensors' raw
 * little-endian bytes, offsets relative to the end of the header.
 *
 * dtypes: `F32` ↔ float32, `I32` ↔ int32, `BOOL` ↔ bool (one byte each). On load, `I64` is
 * converted to int32 when every value fits (else an error); every other dtype (F64, F16,
 * BF16, I8, U8, ...) is rejected with an error naming it.
 */
import { type DType, GhostFlowError, Tensor } from '@ghostflow/core';
import { type SafetensorsHeader, type SafetensorsMetadata, describe, headerLength, parseHeader } from './header.js';
import {
  type LoadSafetensorsOptions,
  allocate,
  bytesOf,
  checkLoadOptions,
  convertI64,
  finishDirect,
  isDirect,
  planLoad,
  toTensor,
} from './load-plan.js';

export type { SafetensorsEntry, SafetensorsHeader, SafetensorsMetadata } from './header.js';
export type { LoadSafetensorsOptions } from './load-plan.js';

/** Options of {@link saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /** Written as the header's `__metadata__` (string values only, per the spec). */
  metadata?: SafetensorsMetadata;
}

/** What the writers accept: tensors by name, as a plain (or null-prototype) object or a Map. */
export type TensorDict = Record<string, Tensor> | ReadonlyMap<string, Tensor>;

const TO_FILE: Record<DType, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };
const BYTES: Record<DType, number> = { float32: 4, int32: 4, bool: 1 };

/** The dict's entries, each checked to be a Tensor under a string name. */
function entriesOf(tensors: unknown): [string, Tensor][] {
  let entries: [unknown, unknown][];
  if (tensors instanceof Map) entries = [...tensors];
  else if (tensors !== null && typeof tensors === 'object' && !Array.isArray(tensors)) entries = Object.entries(tensors);
  else throw new GhostFlowError(`safetensors: expected tensors by name (an object or a Map), got ${describe(tensors)}`);
  for (const [name, t] of entries) {
    if (typeof name !== 'string') throw new GhostFlowError(`safetensors: expected tensor names to be strings, got ${describe(name)}`);
    if (name === '__metadata__')
      throw new GhostFlowError("safetensors: expected a tensor name other than '__metadata__' (reserved by the format)");
    if (!(t instanceof Tensor)) throw new GhostFlowError(`safetensors: expected '${name}' to be a Tensor, got ${describe(t)}`);
  }
  return entries as [string, Tensor][];
}

function checkMetadata(metadata: unknown): SafetensorsMetadata | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata))
    throw new GhostFlowError(`safetensors: expected metadata to map strings to strings, got ${describe(metadata)}`);
  const out = Object.create(null) as SafetensorsMetadata;
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new GhostFlowError(`safetensors: expected metadata values to be strings, got ${describe(v)} for '${k}'`);
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

function encodeHeader(entries: [string, Tensor][], metadata: SafetensorsMetadata | null): { header: Uint8Array; offsets: number[] } {
  // Null prototype: a tensor named '__proto__' is written like any other name.
  const json = Object.create(null) as Record<string, unknown>;
  if (metadata) json.__metadata__ = metadata;
  let offset = 0;
  const offsets: number[] = [];
  for (const [name, t] of entries) {
    const bytes = t.size * BYTES[t.dtype];
    offsets.push(offset);
    json[name] = { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const raw = new TextEncoder().encode(JSON.stringify(json));
  const padded = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20);
  padded.set(raw);
  offsets.push(offset);
  return { header: padded, offsets };
}

function assemble(entries: [string, Tensor][], datas: ArrayLike<number>[], metadata: SafetensorsMetadata | null): Uint8Array {
  const { header, offsets } = encodeHeader(entries, metadata);
  const total = 8 + header.length + offsets[offsets.length - 1];
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  const base = 8 + header.length;
  entries.forEach(([, t], i) => {
    const at = base + offsets[i];
    const data = datas[i];
    if (t.dtype === 'bool') {
      for (let j = 0; j < t.size; j++) out[at + j] = data[j] ? 1 : 0;
    } else if (t.dtype === 'float32') {
      for (let j = 0; j < t.size; j++) view.setFloat32(at + 4 * j, data[j], true);
    } else {
      for (let j = 0; j < t.size; j++) view.setInt32(at + 4 * j, data[j], true);
    }
  });
  return out;
}

/**
 * Serialises tensors (e.g. `module.stateDict()`, an object or a Map) to safetensors bytes,
 * reading each with `await tensor.data()` (works on every backend). Tensors are stored in
 * the dict's order.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { LSTM, loadSafetensors, saveSafetensors } from '@ghostflow/nn';
 * const model = new LSTM(4, 8);
 * const bytes = await saveSafetensors(model.stateDict(), { metadata: { epoch: '3' } }); // safetensors file bytes
 * const restored = new LSTM(4, 8);
 * restored.loadStateDict(loadSafetensors(bytes));
 * ```
 */
export async function saveSafetensors(tensors: TensorDict, options: SaveSafetensorsOptions = {}): Promise<Uint8Array> {
  const entries = entriesOf(tensors);
  const metadata = checkMetadata(options?.metadata);
  const datas: ArrayLike<number>[] = [];
  for (const [, t] of entries) datas.push(await t.data());
  return assemble(entries, datas, metadata);
}

/**
 * Synchronous {@link saveSafetensors}, for backends that read synchronously (backend-cpu);
 * others throw, pointing to the async form.
 */
export function saveSafetensorsSync(tensors: TensorDict, options: SaveSafetensorsOptions = {}): Uint8Array {
  const entries = entriesOf(tensors);
  const metadata = checkMetadata(options?.metadata);
  return assemble(
    entries,
    entries.map(([, t]) => t.dataSync()),
    metadata,
  );
}

/**
 * The bytes of `input`: an ArrayBuffer (or SharedArrayBuffer) or any view of one (Uint8Array,
 * Buffer, DataView, any typed array), without copying; anything else is refused by name.
 */
function asBytes(input: unknown): Uint8Array {
  const tag = Object.prototype.toString.call(input);
  try {
    if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') return new Uint8Array(input as ArrayBuffer);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  } catch (e) {
    // A detached buffer cannot be viewed.
    throw new GhostFlowError(`safetensors: expected readable bytes, got ${describe(input)} over a detached buffer`, { cause: e });
  }
  throw new GhostFlowError(
    `safetensors: expected an ArrayBuffer or a typed array/DataView/Buffer of the file's bytes, got ${describe(input)}`,
  );
}

/** Parses and validates the header of safetensors bytes (an ArrayBuffer or any view of one). */
export function readSafetensorsHeader(bytes: ArrayBuffer | ArrayBufferView): SafetensorsHeader {
  const b = asBytes(bytes);
  const n = headerLength(b, b.byteLength);
  return parseHeader(b.subarray(8, 8 + n), n, b.byteLength);
}

/**
 * Reads safetensors bytes (an ArrayBuffer or any view of one) into tensors by name (on
 * `device`; only `names` when given). F32/I32/BOOL load as float32/int32/bool; I64 becomes
 * int32 when every value fits in int32, else it throws; other dtypes throw. The result is a
 * null-prototype object, so every name (`__proto__` included) is an ordinary key. Every
 * error is a GhostFlowError, raised before any tensor data is allocated except for an I64
 * value out of range.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { GRU, loadSafetensors, saveSafetensors } from '@ghostflow/nn';
 * const bytes = await saveSafetensors(new GRU(4, 8).stateDict());
 * const tensors = loadSafetensors(bytes); // { 'weight_ih_l0': Tensor, ... }, e.g. from PyTorch's safetensors.torch.save_file
 * const model = new GRU(4, 8);
 * const { missingKeys, unexpectedKeys } = model.loadStateDict(tensors);
 * console.log(Object.keys(tensors), missingKeys, unexpectedKeys);
 * ```
 */
export function loadSafetensors(bytes: ArrayBuffer | ArrayBufferView, options: LoadSafetensorsOptions = {}): Record<string, Tensor> {
  const b = asBytes(bytes);
  const opts = checkLoadOptions(options);
  const header = readSafetensorsHeader(b);
  const items = planLoad(header, opts.names);
  const out = Object.create(null) as Record<string, Tensor>;
  try {
    for (const item of items) {
      const at = header.dataStart + item.entry.data_offsets[0];
      const raw = b.subarray(at, header.dataStart + item.entry.data_offsets[1]);
      const array = allocate(item);
      if (isDirect(item)) {
        bytesOf(array).set(raw);
        finishDirect(item, array);
      } else {
        convertI64(item, raw, array as Int32Array, 0);
      }
      out[item.name] = toTensor(item, array, opts.device);
    }
  } catch (err) {
    for (const t of Object.values(out)) t.dispose();
    throw err;
  }
  return out;
}
