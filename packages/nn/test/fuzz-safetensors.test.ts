/**
 * Fuzz: the safetensors readers on random valid files, on files mutated at the byte and
 * JSON level, and on arbitrary headers. Properties: every error is a GhostFlowError; the
 * reader allocates no more tensor data than the input has bytes (counted both at the
 * reader's own allocations and at the backend); nothing leaks; no case takes long; a valid
 * file loads to exactly the values written; `load(path)` and `loadSafetensors(bytes)` agree.
 */
import '@ghostflow/backend-cpu';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GhostFlowError, type Tensor, memory, setBackend } from '@ghostflow/core';
import { loadSafetensors } from '@ghostflow/nn';
import { load } from '@ghostflow/nn/node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FUZZ_TIMEOUT_MS, FUZZ_SEED, fuzzParams, reportCases } from './fuzz-config.js';

/** Bytes the reader itself allocated for tensor data (its one allocation function, wrapped). */
let readerAllocated = 0;
vi.mock(import('../src/serialization/load-plan.js'), async (original) => {
  const m = await original();
  return {
    ...m,
    allocate: (item: Parameters<typeof m.allocate>[0]) => {
      const a = m.allocate(item);
      readerAllocated += a.byteLength;
      return a;
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'ghostflow-fuzz-st-'));
beforeAll(async () => {
  await setBackend('cpu');
  console.log(`[fuzz] safetensors: seed ${FUZZ_SEED}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type FileDType = 'F32' | 'I32' | 'BOOL' | 'I64' | 'F16' | 'U8';
const WIDTH: Record<FileDType, number> = { F32: 4, I32: 4, BOOL: 1, I64: 8, F16: 2, U8: 1 };

interface Spec {
  name: string;
  dtype: FileDType;
  shape: number[];
  /** Element values: float32 / int32 / 0..255 / bigint for I64, raw bytes for unsupported dtypes. */
  values: (number | bigint)[];
}

const nameArb = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '', 'a.b.c', 'ü', '0', 'length'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });

function valuesArb(dtype: FileDType, n: number): fc.Arbitrary<(number | bigint)[]> {
  const v: fc.Arbitrary<number | bigint> =
    dtype === 'F32'
      ? fc.float()
      : dtype === 'I32'
        ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
        : dtype === 'I64'
          ? fc.oneof(
              { weight: 9, arbitrary: fc.bigInt(-(2n ** 31n), 2n ** 31n - 1n) },
              { weight: 1, arbitrary: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n) },
            )
          : fc.integer({ min: 0, max: 255 });
  return fc.array(v, { minLength: n * (dtype === 'F16' ? 2 : 1), maxLength: n * (dtype === 'F16' ? 2 : 1) });
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({ name: nameArb, dtype: fc.constantFrom<FileDType>('F32', 'F32', 'I32', 'BOOL', 'I64', 'F16', 'U8'), shape: shapeArb })
  .filter((s) => s.name !== '__metadata__')
  .chain((s) =>
    valuesArb(
      s.dtype,
      s.shape.reduce((a, b) => a * b, 1),
    ).map((values) => ({ ...s, values })),
  );

/** A file: specs, the order their data is laid out in, padding, metadata. */
const fileArb = fc
  .record({
    specs: fc.uniqueArray(specArb, { selector: (s) => s.name, maxLength: 5 }),
    seedOrder: fc.array(fc.nat(), { maxLength: 5 }),
    pad: fc.boolean(),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
  })
  .map(({ specs, seedOrder, pad, metadata }) => {
    const order = specs.map((_, i) => i).sort((a, b) => (seedOrder[a] ?? 0) - (seedOrder[b] ?? 0) || a - b);
    return { specs, order, pad, metadata };
  });

type FileCase = fc.Arbitrary<{
  specs: Spec[];
  order: number[];
  pad: boolean;
  metadata: Record<string, string> | undefined;
}> extends fc.Arbitrary<infer T>
  ? T
  : never;

/** Writes the file with Node's Buffer, independently of the library's writer. */
function encode(f: FileCase): Buffer {
  const datas = f.specs.map((s) => {
    const b = Buffer.alloc(s.values.length * (s.dtype === 'F16' ? 1 : WIDTH[s.dtype]));
    s.values.forEach((v, j) => {
      if (s.dtype === 'F32') b.writeFloatLE(v as number, 4 * j);
      else if (s.dtype === 'I32') b.writeInt32LE(v as number, 4 * j);
      else if (s.dtype === 'I64') b.writeBigInt64LE(v as bigint, 8 * j);
      else b[j] = v as number;
    });
    return b;
  });
  const offsets: [number, number][] = new Array(f.specs.length);
  let at = 0;
  for (const i of f.order) {
    offsets[i] = [at, at + datas[i].length];
    at += datas[i].length;
  }
  // JSON text built by hand so '__proto__' is written as a key, like any other name.
  const parts: string[] = [];
  if (f.metadata) parts.push(`"__metadata__":${JSON.stringify(f.metadata)}`);
  f.specs.forEach((s, i) => {
    parts.push(`${JSON.stringify(s.name)}:${JSON.stringify({ dtype: s.dtype, shape: s.shape, data_offsets: offsets[i] })}`);
  });
  let json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  if (f.pad && json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...f.order.map((i) => datas[i])]);
}

/** Runs the reader on `bytes` and checks the invariants every input must keep; returns the outcome. */
function probe(bytes: Uint8Array): { ok: Record<string, Tensor> } | { error: GhostFlowError } {
  const backendBefore = memory();
  readerAllocated = 0;
  const started = performance.now();
  let result: { ok: Record<string, Tensor> } | { error: GhostFlowError };
  try {
    result = { ok: loadSafetensors(bytes) };
  } catch (e) {
    if (!(e instanceof GhostFlowError)) throw new Error(`not a GhostFlowError: ${String(e)} (${(e as Error)?.stack})`);
    result = { error: e };
  }
  const took = performance.now() - started;
  expect(took, 'one file took too long (a hang?)').toBeLessThan(5000);
  expect(readerAllocated, 'reader allocated more than the input holds').toBeLessThanOrEqual(bytes.byteLength);
  expect(
    memory().bytesAllocatedTotal - backendBefore.bytesAllocatedTotal,
    'backend allocated more than the input holds',
  ).toBeLessThanOrEqual(bytes.byteLength);
  if ('error' in result) expect(memory().buffers, 'a failed load leaked').toBe(backendBefore.buffers);
  return result;
}

function disposeAll(r: { ok: Record<string, Tensor> } | { error: GhostFlowError }): void {
  if ('ok' in r) for (const t of Object.values(r.ok)) t.dispose();
}

let cases = 0;

describe('fuzz: safetensors reader', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('loads every valid file to exactly the values written, or refuses exactly the unsupported ones', () => {
    let loaded = 0;
    fc.assert(
      fc.property(fileArb, (f) => {
        cases++;
        const bytes = encode(f);
        const r = probe(new Uint8Array(bytes));
        const unsupported = f.specs.find((s) => s.dtype === 'F16' || s.dtype === 'U8');
        const outOfRange = f.specs.find(
          (s) => s.dtype === 'I64' && s.values.some((v) => (v as bigint) > 2147483647n || (v as bigint) < -2147483648n),
        );
        if (unsupported) {
          expect('error' in r && r.error.message).toMatch(/cannot load/);
        } else if (outOfRange) {
          expect('error' in r && r.error.message).toMatch(/outside int32/);
        } else {
          if ('error' in r) throw r.error;
          loaded++;
          // File order, except that index-like names ('0') come first, as in every JS object.
          const index = (k: string) => /^(0|[1-9]\d*)$/.test(k) && Number(k) < 2 ** 32 - 1;
          const names = f.specs.map((s) => s.name);
          expect(Object.keys(r.ok)).toEqual([
            ...names.filter(index).sort((a, b) => Number(a) - Number(b)),
            ...names.filter((k) => !index(k)),
          ]);
          for (const s of f.specs) {
            const t = r.ok[s.name];
            expect(t.shape).toEqual(s.shape);
            expect(t.dtype).toBe(s.dtype === 'F32' ? 'float32' : s.dtype === 'BOOL' ? 'bool' : 'int32');
            const want = s.values.map((v) => (s.dtype === 'BOOL' ? Number((v as number) !== 0) : Number(v)));
            expect(Array.from(t.dataSync() as ArrayLike<number>)).toEqual(want);
          }
        }
        disposeAll(r);
      }),
      fuzzParams(400),
    );
    reportCases('safetensors valid files', 400, `${loaded} loaded, the rest refused as predicted`);
  });

  /** A mutation of a valid file: bytes, length, or a JSON field set to a hostile value. */
  const hostile = fc.oneof(
    fc.constantFrom(
      -1,
      0.5,
      2 ** 53,
      2 ** 64,
      1e308,
      -0,
      '4',
      null,
      true,
      [],
      {},
      [0],
      [0, 0, 0],
      [1, 2, 3],
      'F32',
      'I64',
      'BOOL',
      'F64',
      '__proto__',
    ),
    fc.constant(new Array(65).fill(1)),
    fc.integer({ min: -10, max: 1000 }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const mutationArb = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
    fc.record({ kind: fc.constant('length' as const), n: fc.oneof(fc.bigUintN(64), fc.bigInt(0n, 512n), fc.constant(2n ** 63n)) }),
    fc.record({
      kind: fc.constant('json' as const),
      entry: fc.nat(),
      field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'data_offsets.0', 'data_offsets.1', 'shape.0', 'whole', '__metadata__'),
      value: hostile,
    }),
  );

  function mutate(
    file: Buffer,
    m:
      | { kind: 'flip'; at: number; bytes: Uint8Array }
      | { kind: 'truncate'; at: number }
      | { kind: 'append'; bytes: Uint8Array }
      | { kind: 'length'; n: bigint }
      | { kind: 'json'; entry: number; field: string; value: unknown },
  ): Uint8Array {
    const out = Buffer.from(file);
    switch (m.kind) {
      case 'flip':
        m.bytes.forEach((b, j) => {
          if (out.length) out[(m.at + j) % out.length] ^= b;
        });
        return out;
      case 'truncate':
        return out.subarray(0, m.at % (out.length + 1));
      case 'append':
        return Buffer.concat([out, m.bytes]);
      case 'length': {
        const withLength = out.length >= 8 ? out : Buffer.concat([out, Buffer.alloc(8 - out.length)]);
        withLength.writeBigUInt64LE(m.n, 0);
        return withLength;
      }
      case 'json': {
        if (out.length < 8) return out;
        const n = Number(out.readBigUInt64LE(0));
        let header: Record<string, Record<string, unknown>>;
        try {
          header = JSON.parse(out.subarray(8, 8 + n).toString('utf8'));
        } catch {
          return out; // an earlier mutation broke the JSON; nothing to edit
        }
        if (header === null || typeof header !== 'object' || Array.isArray(header)) return out;
        const keys = Object.keys(header);
        if (m.field === '__metadata__') header.__metadata__ = m.value as Record<string, unknown>;
        else if (keys.length) {
          const key = keys[m.entry % keys.length];
          if (m.field === 'whole') header[key] = m.value as Record<string, unknown>;
          else {
            const [f, i] = m.field.split('.');
            const e = header[key];
            if (e && typeof e === 'object') {
              if (i === undefined) e[f] = m.value;
              else if (Array.isArray(e[f])) (e[f] as unknown[])[Number(i)] = m.value;
            }
          }
        }
        const json = Buffer.from(JSON.stringify(header), 'utf8');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        return Buffer.concat([len, json, out.subarray(8 + n)]);
      }
    }
  }

  const mutatedArb = fc.tuple(fileArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }));

  it('refuses mutated files with GhostFlowErrors only, allocating at most the input size, leaking nothing', () => {
    let refused = 0;
    fc.assert(
      fc.property(mutatedArb, ([f, ms]) => {
        cases++;
        let bytes: Uint8Array = encode(f);
        for (const m of ms) bytes = mutate(Buffer.from(bytes), m);
        const r = probe(bytes);
        if ('error' in r) refused++;
        else for (const t of Object.values(r.ok)) expect(t.size * (t.dtype === 'bool' ? 1 : 4)).toBeLessThanOrEqual(bytes.byteLength);
        disposeAll(r);
      }),
      fuzzParams(3000),
    );
    reportCases('safetensors mutated files', 3000, `${refused} refused`);
  });

  it('refuses arbitrary bytes and arbitrary JSON headers with GhostFlowErrors only', () => {
    const arbitraryFile = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      fc
        .tuple(
          fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(nameArb, fc.jsonValue({ maxDepth: 3 }))),
          fc.uint8Array({ maxLength: 64 }),
        )
        .map(([json, data]) => {
          const text = Buffer.from(JSON.stringify(json) ?? '', 'utf8');
          const len = Buffer.alloc(8);
          len.writeBigUInt64LE(BigInt(text.length));
          return new Uint8Array(Buffer.concat([len, text, data]));
        }),
    );
    fc.assert(
      fc.property(arbitraryFile, (bytes) => {
        cases++;
        disposeAll(probe(bytes));
      }),
      fuzzParams(2000),
    );
    reportCases('safetensors arbitrary bytes/headers', 2000);
  });

  it('load(path) agrees with loadSafetensors(bytes) on valid and mutated files', async () => {
    const path = join(dir, 'case.safetensors');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fileArb.map((f) => [f, []] as const),
          mutatedArb,
        ),
        async ([f, ms]) => {
          cases++;
          let bytes: Uint8Array = encode(f);
          for (const m of ms) bytes = mutate(Buffer.from(bytes), m);
          writeFileSync(path, bytes);
          const fromBytes = probe(bytes);
          const before = memory().buffers;
          let fromFile: { ok: Record<string, Tensor> } | { error: GhostFlowError };
          try {
            fromFile = { ok: await load(path) };
          } catch (e) {
            if (!(e instanceof GhostFlowError)) throw new Error(`load(path): not a GhostFlowError: ${String(e)}`);
            fromFile = { error: e };
            expect(memory().buffers).toBe(before);
          }
          if ('error' in fromBytes) expect('error' in fromFile && fromFile.error.message).toBe(fromBytes.error.message);
          else {
            if ('error' in fromFile) throw fromFile.error;
            expect(Object.keys(fromFile.ok)).toEqual(Object.keys(fromBytes.ok));
            for (const [k, t] of Object.entries(fromBytes.ok)) {
              expect(fromFile.ok[k].shape).toEqual(t.shape);
              expect(fromFile.ok[k].dtype).toBe(t.dtype);
              expect(Array.from(fromFile.ok[k].dataSync() as ArrayLike<number>)).toEqual(Array.from(t.dataSync() as ArrayLike<number>));
            }
          }
          disposeAll(fromBytes);
          disposeAll(fromFile);
        },
      ),
      fuzzParams(300),
    );
    reportCases('safetensors load(path) vs bytes', 300);
    reportCases('safetensors total', cases);
  });
});
