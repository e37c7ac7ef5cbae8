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
import { type DType, type Tensor, GhostFlowError, tensor } from '@ghostflow/core';

/** Free-form string metadata stored under `__metadata__`. */
export type SafetensorsMetadata = Record<string, string>;

/** Options of {@link saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /** Written as the header's `__metadata__` (string values only, per the spec). */
  metadata?: SafetensorsMetadata;
}

/** Options of {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  /** Backend for the tensors (default the active one). */
  device?: string;
}

/** One header entry. */
export interface SafetensorsEntry {
  /** The file's dtype string (`F32`, `I32`, `BOOL`, `I64`, ...). */
  dtype: string;
  /** Shape. */
  shape: number[];
  /** Byte range in the data section, `[begin, end)`. */
  data_offsets: [number, number];
}

/** A parsed header: entries by name, and the metadata. */
export interface SafetensorsHeader {
  /** Tensor entries by name, in file order. */
  tensors: Record<string, SafetensorsEntry>;
  /** `__metadata__`, if present. */
  metadata: SafetensorsMetadata | null;
  /** Byte offset where the data section starts (8 + header length). */
  dataStart: number;
}

const TO_FILE: Record<DType, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };
const BYTES: Record<string, number> = { F32: 4, I32: 4, BOOL: 1, I64: 8 };
const MAX_HEADER = 100_000_000;

function encodeHeader(entries: [string, Tensor][], metadata: SafetensorsMetadata | undefined): { header: Uint8Array; offsets: number[] } {
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new GhostFlowError(`safetensors metadata values must be strings; '${k}' is ${typeof v}`);
    }
    json.__metadata__ = metadata;
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new GhostFlowError("a tensor cannot be named '__metadata__' in safetensors");
    const bytes = t.size * BYTES[TO_FILE[t.dtype]];
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

function assemble(entries: [string, Tensor][], datas: ArrayLike<number>[], options: SaveSafetensorsOptions): Uint8Array {
  const { header, offsets } = encodeHeader(entries, options.metadata);
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
 * Serialises tensors (e.g. `module.stateDict()`) to safetensors bytes, reading each with
 * `await tensor.data()` (works on every backend). Tensors are stored in the dict's order.
 */
export async function saveSafetensors(tensors: Record<string, Tensor>, options: SaveSafetensorsOptions = {}): Promise<Uint8Array> {
  const entries = Object.entries(tensors);
  const datas: ArrayLike<number>[] = [];
  for (const [, t] of entries) datas.push(await t.data());
  return assemble(entries, datas, options);
}

/**
 * Synchronous {@link saveSafetensors}, for backends that read synchronously (backend-cpu);
 * others throw, pointing to the async form.
 */
export function saveSafetensorsSync(tensors: Record<string, Tensor>, options: SaveSafetensorsOptions = {}): Uint8Array {
  const entries = Object.entries(tensors);
  return assemble(
    entries,
    entries.map(([, t]) => t.dataSync()),
    options,
  );
}

/** Parses and validates the header of safetensors `bytes`. */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.length < 8) throw new GhostFlowError(`safetensors: file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, bytes.length - 8)))
    throw new GhostFlowError(`safetensors: header length ${n} exceeds the file (${bytes.length} bytes) or the 100 MB limit`);
  const headerLen = Number(n);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new GhostFlowError(`safetensors: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new GhostFlowError('safetensors: header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors: Record<string, SafetensorsEntry> = {};
  let metadata: SafetensorsMetadata | null = null;
  const ranges: [number, number, string][] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
        throw new GhostFlowError('safetensors: __metadata__ must map strings to strings');
      }
      metadata = value as SafetensorsMetadata;
      continue;
    }
    const e = value as Partial<SafetensorsEntry> | null;
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new GhostFlowError(`safetensors: entry '${name}' needs dtype, shape and data_offsets [begin, end]`);
    }
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new GhostFlowError(`safetensors: entry '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const [begin, end] = e.data_offsets;
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end > dataLen) {
      throw new GhostFlowError(`safetensors: entry '${name}' has data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data section`);
    }
    const width = BYTES[e.dtype];
    if (width !== undefined) {
      const count = e.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * width) {
        throw new GhostFlowError(
          `safetensors: entry '${name}' (${e.dtype} ${JSON.stringify(e.shape)}) needs ${count * width} bytes, its data_offsets span ${end - begin}`,
        );
      }
    }
    tensors[name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [begin, end] };
    ranges.push([begin, end, name]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let expected = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== expected)
      throw new GhostFlowError(
        `safetensors: tensor data must be contiguous and non-overlapping; '${name}' starts at ${begin}, expected ${expected}`,
      );
    expected = end;
  }
  if (expected !== dataLen)
    throw new GhostFlowError(`safetensors: the data section has ${dataLen} bytes but the tensors cover ${expected}`);
  return { tensors, metadata, dataStart };
}

/**
 * Reads safetensors `bytes` into tensors by name (on `device`). F32/I32/BOOL load as
 * float32/int32/bool; I64 becomes int32 when every value fits in int32, else it throws;
 * other dtypes throw.
 */
export function loadSafetensors(bytes: Uint8Array, options: LoadSafetensorsOptions = {}): Record<string, Tensor> {
  const { tensors: entries, dataStart } = readSafetensorsHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, Tensor> = {};
  try {
    for (const [name, e] of Object.entries(entries)) {
      const at = dataStart + e.data_offsets[0];
      const count = e.shape.reduce((a, b) => a * b, 1);
      const shape = e.shape;
      switch (e.dtype) {
        case 'F32': {
          const data = new Float32Array(count);
          for (let j = 0; j < count; j++) data[j] = view.getFloat32(at + 4 * j, true);
          out[name] = tensor(data, { shape, dtype: 'float32', device: options.device });
          break;
        }
        case 'I32': {
          const data = new Int32Array(count);
          for (let j = 0; j < count; j++) data[j] = view.getInt32(at + 4 * j, true);
          out[name] = tensor(data, { shape, dtype: 'int32', device: options.device });
          break;
        }
        case 'BOOL': {
          const data = new Uint8Array(count);
          for (let j = 0; j < count; j++) data[j] = bytes[at + j] ? 1 : 0;
          out[name] = tensor(data, { shape, dtype: 'bool', device: options.device });
          break;
        }
        case 'I64': {
          const data = new Int32Array(count);
          for (let j = 0; j < count; j++) {
            const v = view.getBigInt64(at + 8 * j, true);
            if (v > 2147483647n || v < -2147483648n) {
              throw new GhostFlowError(
                `safetensors: I64 tensor '${name}' holds ${v} (element ${j}), outside int32; GhostFlow has no int64 dtype`,
              );
            }
            data[j] = Number(v);
          }
          out[name] = tensor(data, { shape, dtype: 'int32', device: options.device });
          break;
        }
        default:
          throw new GhostFlowError(
            `safetensors: tensor '${name}' has dtype ${e.dtype}, which GhostFlow cannot load (supported: F32, I32, BOOL, and I64 when it fits in int32)`,
          );
      }
    }
  } catch (err) {
    for (const t of Object.values(out)) t.dispose();
    throw err;
  }
  return out;
}
