/**
 * safetensors: round trips, a file written byte by byte from the published spec, an
 * independent reader of our output (Python's `safetensors` when installed, else a minimal
 * reader here, plus Python's struct/json when python3 exists), and error cases.
 */
import '@ghostflow/backend-cpu';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tensor, setBackend, tensor } from '@ghostflow/core';
import {
  LayerNorm,
  Linear,
  Module,
  load,
  loadSafetensors,
  readSafetensorsHeader,
  save,
  saveSafetensors,
  saveSafetensorsSync,
} from '@ghostflow/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ghostflow-st-'));

beforeAll(async () => {
  await setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vals = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>, Number);

/** A file built from the spec with Node's Buffer: u64 LE header size, JSON header, raw LE data. */
function specFile(header: Record<string, unknown>, data: Buffer, pad = true): Buffer {
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  if (pad && json.length % 8 !== 0) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([size, json, data]);
}

/** An independent minimal reader (Buffer API only). */
function minimalRead(bytes: Uint8Array): {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  raw: Record<string, Buffer>;
  metadata?: Record<string, string>;
} {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(buf.readBigUInt64LE(0));
  const parsed = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const { __metadata__: metadata, ...header } = parsed as Record<string, never> & { __metadata__?: Record<string, string> };
  const raw: Record<string, Buffer> = {};
  for (const [k, e] of Object.entries(header) as [string, { data_offsets: [number, number] }][])
    raw[k] = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
  return { header, raw, metadata };
}

describe('safetensors', () => {
  it('round-trips F32, I32 and BOOL tensors of any rank, with metadata', async () => {
    const dict = {
      'layer.weight': tensor([
        [1.5, -2.25, 3],
        [4, 5e-8, -6e10],
      ]),
      ids: tensor(
        [
          [-7, 2147483647],
          [0, -2147483648],
        ],
        { dtype: 'int32' },
      ),
      mask: tensor([true, false, true]),
      scalar: tensor(3.5),
      empty: tensor([], { shape: [0, 3] }),
    };
    const bytes = await saveSafetensors(dict, { metadata: { format: 'pt', note: 'héllo' } });
    expect(bytes).toEqual(saveSafetensorsSync(dict, { metadata: { format: 'pt', note: 'héllo' } }));
    const back = loadSafetensors(bytes);
    expect(Object.keys(back)).toEqual(Object.keys(dict));
    for (const [k, t] of Object.entries(dict)) {
      expect(back[k].dtype, k).toBe(t.dtype);
      expect(back[k].shape, k).toEqual(t.shape);
      expect(vals(back[k]), k).toEqual(vals(t));
    }
    expect(readSafetensorsHeader(bytes).metadata).toEqual({ format: 'pt', note: 'héllo' });
  });

  it('writes the exact layout: u64 LE size, JSON padded with spaces to 8 bytes, contiguous LE data', async () => {
    const bytes = await saveSafetensors({ a: tensor([1, 2]), b: tensor([7], { dtype: 'int32' }), c: tensor([true]) });
    const buf = Buffer.from(bytes);
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = buf.subarray(8, 8 + n).toString('utf8');
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const { header, raw } = minimalRead(bytes);
    expect(header).toEqual({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
      c: { dtype: 'BOOL', shape: [1], data_offsets: [12, 13] },
    });
    expect(buf.length).toBe(8 + n + 13);
    expect([raw.a.readFloatLE(0), raw.a.readFloatLE(4)]).toEqual([1, 2]);
    expect(raw.b.readInt32LE(0)).toBe(7);
    expect(raw.c[0]).toBe(1);
  });

  it('reads a file written byte by byte from the spec (metadata, unpadded header, I64 that fits)', () => {
    const data = Buffer.alloc(12 + 16 + 2);
    data.writeFloatLE(0.5, 0);
    data.writeFloatLE(-1.25, 4);
    data.writeFloatLE(1e6, 8);
    data.writeBigInt64LE(-5n, 12);
    data.writeBigInt64LE(123456789n, 20);
    data[28] = 0;
    data[29] = 1;
    const file = specFile(
      {
        __metadata__: { format: 'pt' },
        // Entries deliberately out of offset order: only the offsets matter.
        flags: { dtype: 'BOOL', shape: [2], data_offsets: [28, 30] },
        w: { dtype: 'F32', shape: [3, 1], data_offsets: [0, 12] },
        idx: { dtype: 'I64', shape: [2], data_offsets: [12, 28] },
      },
      data,
      false,
    );
    const back = loadSafetensors(new Uint8Array(file));
    expect(back.w.shape).toEqual([3, 1]);
    expect(vals(back.w)).toEqual([0.5, -1.25, 1e6]);
    expect(back.idx.dtype).toBe('int32');
    expect(vals(back.idx)).toEqual([-5, 123456789]);
    expect(back.flags.dtype).toBe('bool');
    expect(vals(back.flags)).toEqual([0, 1]);
  });

  it('rejects unsupported dtypes, I64 out of int32 range, and malformed files with clear errors', () => {
    const f64 = specFile({ x: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8));
    expect(() => loadSafetensors(new Uint8Array(f64))).toThrow(/'x' has dtype F64.*supported: F32, I32, BOOL/);
    const big = Buffer.alloc(8);
    big.writeBigInt64LE(1n << 40n);
    expect(() => loadSafetensors(new Uint8Array(specFile({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big)))).toThrow(
      /outside int32/,
    );
    expect(() =>
      loadSafetensors(new Uint8Array(specFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4)))),
    ).toThrow(/needs 8 bytes/);
    expect(() =>
      loadSafetensors(new Uint8Array(specFile({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8)))),
    ).toThrow(/contiguous/);
    expect(() => loadSafetensors(new Uint8Array([1, 2, 3]))).toThrow(/too short/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1000n);
    expect(() => loadSafetensors(new Uint8Array(huge))).toThrow(/header length/);
  });

  it('save()/load() a module through a file; loadStateDict restores it', async () => {
    class Net extends Module {
      readonly fc = this.registerModule('fc', new Linear(3, 2));
      readonly norm = this.registerModule('norm', new LayerNorm(2));
      forward(x: Tensor): Tensor {
        return this.norm.forward(this.fc.forward(x));
      }
    }
    const a = new Net();
    const b = new Net();
    const path = join(dir, 'net.safetensors');
    await save(path, a, { metadata: { framework: 'ghostflow' } });
    const dict = await load(path);
    expect(Object.keys(dict)).toEqual(['fc.weight', 'fc.bias', 'norm.weight', 'norm.bias']);
    b.loadStateDict(dict);
    for (const t of Object.values(dict)) t.dispose();
    const x = tensor([[0.3, -1, 2]]);
    expect(vals(b.forward(x))).toEqual(vals(a.forward(x)));
  });

  it('is readable by an independent implementation (Python safetensors if installed, else python3 struct/json)', async () => {
    const dict = {
      w: tensor([
        [1, 2],
        [3, 4.5],
      ]),
      i: tensor([9, -9], { dtype: 'int32' }),
      m: tensor([false, true]),
    };
    const path = join(dir, 'py.safetensors');
    writeFileSync(path, await saveSafetensors(dict, { metadata: { k: 'v' } }));
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : null;
    if (!python) {
      // No Python on this machine: the minimal Buffer reader above is the independent check.
      const { header, metadata } = minimalRead(await saveSafetensors(dict, { metadata: { k: 'v' } }));
      expect(Object.keys(header)).toEqual(['w', 'i', 'm']);
      expect(metadata).toEqual({ k: 'v' });
      return;
    }
    const script = `
import json, struct, sys
path = sys.argv[1]
try:
    from safetensors.numpy import load_file
    from safetensors import safe_open
    t = load_file(path)
    with safe_open(path, 'np') as f:
        meta = f.metadata()
    out = {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'data': v.reshape(-1).tolist()} for k, v in t.items()}
    print(json.dumps({'reader': 'safetensors', 'tensors': out, 'meta': meta}))
except ImportError:
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', None)
    fmt = {'F32': ('f', 'float32', 4), 'I32': ('i', 'int32', 4), 'BOOL': ('?', 'bool', 1)}
    out = {}
    for k, e in header.items():
        c, name, w = fmt[e['dtype']]
        b, end = e['data_offsets']
        count = (end - b) // w
        data = list(struct.unpack('<' + c * count, raw[8 + n + b:8 + n + end]))
        out[k] = {'dtype': name, 'shape': e['shape'], 'data': data}
    print(json.dumps({'reader': 'struct', 'tensors': out, 'meta': meta}))
`;
    const res = JSON.parse(execFileSync(python, ['-c', script, path], { encoding: 'utf8' })) as {
      reader: string;
      tensors: Record<string, { dtype: string; shape: number[]; data: (number | boolean)[] }>;
      meta: Record<string, string>;
    };
    expect(res.meta).toEqual({ k: 'v' });
    expect(res.tensors.w).toEqual({ dtype: 'float32', shape: [2, 2], data: [1, 2, 3, 4.5] });
    expect(res.tensors.i).toEqual({ dtype: 'int32', shape: [2], data: [9, -9] });
    expect(res.tensors.m).toEqual({ dtype: 'bool', shape: [2], data: [false, true] });
  });
});
