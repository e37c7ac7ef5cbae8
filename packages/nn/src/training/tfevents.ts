/**
 * TensorBoard event files, encoded by hand (no protobuf library): each record is TFRecord
 * framing around one `tensorflow.Event` message. Pure: it returns bytes; where they go (a file
 * in Node, memory or a download in a browser) is the caller's business.
 *
 * Record: uint64 length (little endian), uint32 masked CRC-32C of those 8 bytes, the data,
 * uint32 masked CRC-32C of the data.
 * Event (tensorflow/core/util/event.proto): 1 wall_time double, 2 step int64, 3 file_version
 * string, 5 summary Summary. Summary: 1 repeated Value. Value: 1 tag string, 2 simple_value float.
 */
import { GhostFlowError } from '@ghostflow/core';
import { maskedCrc32c } from './crc32c.js';

/** The first record of every event file: TensorBoard reads the format version from it. */
export const TFEVENTS_FILE_VERSION = 'brain.Event:2';

/** Growable byte buffer with the protobuf wire primitives the Event message needs. */
class ProtoWriter {
  private bytes: number[] = [];

  varint(value: number | bigint): this {
    let v = BigInt(value);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  /** A field key: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  key(field: number, wireType: 0 | 1 | 2 | 5): this {
    return this.varint((field << 3) | wireType);
  }

  double(field: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.key(field, 1).bytes.push(...b);
    return this;
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.key(field, 5).bytes.push(...b);
    return this;
  }

  int64(field: number, value: number): this {
    return this.key(field, 0).varint(value);
  }

  lengthDelimited(field: number, data: Uint8Array): this {
    this.key(field, 2)
      .varint(data.length)
      .bytes.push(...data);
    return this;
  }

  string(field: number, value: string): this {
    return this.lengthDelimited(field, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** What one event carries: either the file version or a set of scalars. */
export type TfEvent =
  | { wallTime: number; step?: number; fileVersion: string }
  | { wallTime: number; step: number; scalars: Readonly<Record<string, number>> };

/** The protobuf bytes of a `tensorflow.Event`. */
export function encodeEvent(event: TfEvent): Uint8Array {
  const w = new ProtoWriter().double(1, event.wallTime);
  const step = event.step ?? 0;
  if (!Number.isSafeInteger(step) || step < 0) throw new GhostFlowError(`tfevents: step must be a non-negative safe integer, got ${step}`);
  if (step !== 0) w.int64(2, step);
  if ('fileVersion' in event) return w.string(3, event.fileVersion).finish();
  const summary = new ProtoWriter();
  for (const [tag, value] of Object.entries(event.scalars)) {
    if (typeof value !== 'number') throw new GhostFlowError(`tfevents: scalar '${tag}' must be a number, got ${typeof value}`);
    summary.lengthDelimited(1, new ProtoWriter().string(1, tag).float(2, value).finish());
  }
  return w.lengthDelimited(5, summary.finish()).finish();
}

/** One TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** The record that must open every event file (`file_version = 'brain.Event:2'`). */
export function fileVersionRecord(wallTime: number): Uint8Array {
  return frameRecord(encodeEvent({ wallTime, fileVersion: TFEVENTS_FILE_VERSION }));
}

/** A framed record of scalar summaries at `step` (tags become TensorBoard's chart names). */
export function scalarsRecord(step: number, scalars: Readonly<Record<string, number>>, wallTime: number): Uint8Array {
  return frameRecord(encodeEvent({ wallTime, step, scalars }));
}
