/**
 * The safetensors header: the 8-byte length, the JSON, and every check a reader must make
 * before it allocates anything for tensor data. Shared by the in-memory reader and the
 * file reader, which reads only the header before validating it.
 *
 * Entries are kept in null-prototype objects, so a tensor named `__proto__` or
 * `constructor` is an ordinary key, never a prototype lookup.
 */
import { GhostFlowError } from '@ghostflow/core';

/** Free-form string metadata stored under `__metadata__`. */
export type SafetensorsMetadata = Record<string, string>;

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
  /** Tensor entries by name, in file order (a null-prototype object; as in any JS object, index-like names such as `0` come first). */
  tensors: Record<string, SafetensorsEntry>;
  /** `__metadata__`, if present (a null-prototype object). */
  metadata: SafetensorsMetadata | null;
  /** Byte offset where the data section starts (8 + header length). */
  dataStart: number;
}

/** Largest header accepted (the Rust reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Largest rank accepted: far above any real model, and it bounds what a hostile header can make us copy. */
export const MAX_RANK = 64;

/**
 * Bytes per element of the safetensors dtypes with a whole-byte width. Entries with another
 * dtype string (sub-byte formats added later) are accepted by {@link readSafetensorsHeader}
 * without the size check and refused by the loaders.
 */
const WIDTH: Readonly<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
  C64: 8,
});

/** Width in bytes of a safetensors dtype, or undefined when unknown. */
export function dtypeWidth(dtype: string): number | undefined {
  return WIDTH[dtype];
}

/** Short description of a value for error messages ("null", "a string", "a Map", ...). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof ctor === 'string' && ctor !== '' ? `a ${ctor}` : 'an object';
  }
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * The header length from the first 8 bytes, checked against the file size and the 100 MB
 * limit before anything of that size is read or allocated.
 */
export function headerLength(first8: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8)
    throw new GhostFlowError(`safetensors: expected at least the 8-byte header length, got a file of ${fileBytes} bytes (too short)`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileBytes - 8) || n > BigInt(MAX_HEADER_BYTES)) {
    throw new GhostFlowError(
      `safetensors: expected a header length of at most ${Math.min(fileBytes - 8, MAX_HEADER_BYTES)} bytes (the file has ${fileBytes} bytes; the limit is 100 MB), got ${n}`,
    );
  }
  if (n < 2n) throw new GhostFlowError(`safetensors: expected a header length of at least 2 bytes (a JSON object), got ${n}`);
  return Number(n);
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new GhostFlowError(`safetensors: entry '${name}' needs a shape array, got ${describe(shape)}`);
  // Checked before the shape is walked or copied, so a rank-millions shape costs nothing more.
  if (shape.length > MAX_RANK)
    throw new GhostFlowError(`safetensors: entry '${name}' has rank ${shape.length}; at most ${MAX_RANK} is supported`);
  let nonzero = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) {
      throw new GhostFlowError(
        `safetensors: entry '${name}' has an invalid shape ${JSON.stringify(shape)}: expected non-negative integers below 2^53, got ${JSON.stringify(d)}`,
      );
    }
    if (d !== 0) nonzero *= d as number;
    // Strides are products of the sizes; they must stay exact even when another size is 0.
    if (nonzero > Number.MAX_SAFE_INTEGER)
      throw new GhostFlowError(`safetensors: entry '${name}' has shape ${JSON.stringify(shape)}, whose sizes multiply past 2^53`);
  }
  return [...(shape as number[])];
}

/**
 * Parses and validates the JSON header (`json`, the `headerLen` bytes after the length) of a
 * file of `fileBytes` bytes: entry fields, dtype widths, shapes (rank <= 64, products below
 * 2^53), data offsets inside the data section, contiguous, non-overlapping and covering it,
 * and each entry's byte length equal to numel * itemsize.
 */
export function parseHeader(json: Uint8Array, headerLen: number, fileBytes: number): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new GhostFlowError(`safetensors: expected a UTF-8 JSON header, got invalid text (${(e as Error).message})`, { cause: e });
  }
  if (!isPlainRecord(parsed)) throw new GhostFlowError(`safetensors: expected the header to be a JSON object, got ${describe(parsed)}`);
  const dataStart = 8 + headerLen;
  const dataLen = fileBytes - dataStart;
  const tensors = Object.create(null) as Record<string, SafetensorsEntry>;
  let metadata: SafetensorsMetadata | null = null;
  const ranges: [number, number, string][] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (!isPlainRecord(value))
        throw new GhostFlowError(`safetensors: expected __metadata__ to map strings to strings, got ${describe(value)}`);
      metadata = Object.create(null) as SafetensorsMetadata;
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string')
          throw new GhostFlowError(`safetensors: expected __metadata__ to map strings to strings, got ${describe(v)} for '${k}'`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isPlainRecord(value)) throw new GhostFlowError(`safetensors: expected entry '${name}' to be an object, got ${describe(value)}`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string')
      throw new GhostFlowError(`safetensors: expected entry '${name}' to have a dtype string, got ${describe(dtype)}`);
    const dims = checkShape(name, shape);
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      throw new GhostFlowError(`safetensors: expected entry '${name}' to have data_offsets [begin, end], got ${describe(offsets)}`);
    }
    const [begin, end] = offsets as unknown[];
    if (
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      (begin as number) < 0 ||
      (end as number) < (begin as number) ||
      (end as number) > dataLen
    ) {
      throw new GhostFlowError(
        `safetensors: expected entry '${name}' to have data_offsets inside the ${dataLen}-byte data section, got ${JSON.stringify(offsets)}`,
      );
    }
    const width = WIDTH[dtype];
    if (width !== undefined) {
      const count = dims.reduce((a, b) => a * b, 1);
      if ((end as number) - (begin as number) !== count * width) {
        throw new GhostFlowError(
          `safetensors: entry '${name}' (${dtype} ${JSON.stringify(dims)}) needs ${count * width} bytes, its data_offsets span ${(end as number) - (begin as number)}`,
        );
      }
    }
    tensors[name] = { dtype, shape: dims, data_offsets: [begin as number, end as number] };
    ranges.push([begin as number, end as number, name]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let expected = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== expected) {
      throw new GhostFlowError(
        `safetensors: tensor data must be contiguous and non-overlapping; expected '${name}' to start at ${expected}, got ${begin}`,
      );
    }
    expected = end;
  }
  if (expected !== dataLen)
    throw new GhostFlowError(`safetensors: the data section has ${dataLen} bytes but the tensors cover ${expected}`);
  return { tensors, metadata, dataStart };
}
