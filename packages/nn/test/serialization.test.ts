/**
 * safetensors: round trips, a file written byte by byte from the published spec, an
 * independent reader of our output (Python's `safetensors` when installed, else a minimal
 * reader here, plus Python's struct/json when python3 exists), and error cases.
 */
import '@ghostflow/backend-cpu';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GhostFlowError, type Tensor, memory, setBackend, tensor } from '@ghostflow/core';
import { LayerNorm, Linear, Module, loadSafetensors, readSafetensorsHeader, saveSafetensors, saveSafetensorsSync } from '@ghostflow/nn';
import { load, save } from '@ghostflow/nn/node';
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

describe('safetensors: hostile names and inputs (issue 8)', () => {
  it("keeps a tensor named '__proto__' (and 'constructor') through bytes, files and state dicts", async () => {
    const dict = Object.create(null) as Record<string, Tensor>;
    const values: [string, Tensor][] = [
      ['__proto__', tensor([1, 2])],
      ['constructor', tensor([3])],
      ['toString', tensor([4], { dtype: 'int32' })],
    ];
    for (const [k, t] of values) dict[k] = t;
    const bytes = await saveSafetensors(dict);
    expect(Object.keys(readSafetensorsHeader(bytes).tensors)).toEqual(['__proto__', 'constructor', 'toString']);
    const back = loadSafetensors(bytes);
    expect(Object.keys(back)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(vals(back.__proto__)).toEqual([1, 2]);
    expect(vals(back.toString as unknown as Tensor)).toEqual([4]);
    const viaMap = loadSafetensors(await saveSafetensors(new Map(Object.entries(dict))));
    expect(vals(viaMap.__proto__)).toEqual([1, 2]);
    const path = join(dir, 'proto.safetensors');
    await save(path, dict);
    const fromFile = await load(path);
    expect(vals(fromFile.__proto__)).toEqual([1, 2]);
    expect(vals(fromFile.constructor as unknown as Tensor)).toEqual([3]);

    class Odd extends Module {
      constructor() {
        super();
        this.registerParameter('__proto__', tensor([5, 6]));
        this.registerParameter('constructor', tensor([7]));
      }
      forward(): void {}
    }
    const sd = new Odd().stateDict();
    expect(Object.keys(sd)).toEqual(['__proto__', 'constructor']);
    expect(vals(sd.__proto__)).toEqual([5, 6]);
    const target = new Odd();
    target.loadStateDict(loadSafetensors(await saveSafetensors(sd)));
    expect(vals(target.getParameter('__proto__') as Tensor)).toEqual([5, 6]);
  });

  it("strict loadStateDict reports 'constructor'/'toString' keys found only on Object.prototype", () => {
    class Odd extends Module {
      constructor() {
        super();
        this.registerParameter('constructor', tensor([7]));
      }
      forward(): void {}
    }
    // The dict lacks 'constructor' (only Object.prototype has it) and has an extra 'toString'.
    const dict = { toString: tensor([1]) } as unknown as Record<string, Tensor>;
    expect(() => new Odd().loadStateDict(dict)).toThrow(/missing keys: constructor; unexpected keys: toString/);
    expect(new Odd().loadStateDict({}, { strict: false })).toEqual({ missingKeys: ['constructor'], unexpectedKeys: [] });
  });

  it('accepts an ArrayBuffer and every ArrayBufferView; refuses anything else with a GhostFlowError naming it', async () => {
    const bytes = await saveSafetensors({ a: tensor([1.5, -2]) });
    const copy = bytes.slice();
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 8);
    const inputs: [string, ArrayBuffer | ArrayBufferView][] = [
      ['ArrayBuffer', copy.buffer],
      ['Buffer', Buffer.from(bytes)],
      ['DataView at an offset', new DataView(padded.buffer, 8, bytes.length)],
      ['Uint8Array at an offset', padded.subarray(8)],
      // The header is padded to 8 bytes and the data is 8 bytes, so any element width fits.
      ['Float64Array', new Float64Array(copy.buffer)],
      ['Int16Array', new Int16Array(copy.buffer)],
    ];
    for (const [what, input] of inputs) {
      expect(vals(loadSafetensors(input).a), what).toEqual([1.5, -2]);
      expect(Object.keys(readSafetensorsHeader(input).tensors), what).toEqual(['a']);
    }
    for (const bad of [null, undefined, 'abc', 42, [1, 2, 3], { length: 8 }, new Map()]) {
      expect(() => loadSafetensors(bad as unknown as Uint8Array)).toThrow(GhostFlowError);
      expect(() => loadSafetensors(bad as unknown as Uint8Array)).toThrow(/expected an ArrayBuffer or a typed array/);
    }
    const detached = new ArrayBuffer(16);
    structuredClone(detached, { transfer: [detached] });
    expect(() => loadSafetensors(detached)).toThrow(GhostFlowError);
    expect(() => saveSafetensorsSync({ a: [1, 2] } as unknown as Record<string, Tensor>)).toThrow(
      /expected 'a' to be a Tensor, got an array/,
    );
    expect(() => saveSafetensorsSync(null as unknown as Record<string, Tensor>)).toThrow(GhostFlowError);
  });

  it('caps the rank and the size products of header shapes before copying them', () => {
    const deep = specFile({ x: { dtype: 'F32', shape: new Array(65).fill(1), data_offsets: [0, 4] } }, Buffer.alloc(4));
    expect(() => loadSafetensors(new Uint8Array(deep))).toThrow(/rank 65; at most 64/);
    const ok = specFile({ x: { dtype: 'F32', shape: new Array(64).fill(1), data_offsets: [0, 4] } }, Buffer.alloc(4));
    expect(loadSafetensors(new Uint8Array(ok)).x.shape.length).toBe(64);
    // Zero elements, but strides of 2^40 * 2^40 would not be exact.
    const wide = specFile({ x: { dtype: 'F32', shape: [0, 2 ** 40, 2 ** 40], data_offsets: [0, 0] } }, Buffer.alloc(0));
    expect(() => loadSafetensors(new Uint8Array(wide))).toThrow(/multiply past 2\^53/);
    const unsupportedFirst = specFile(
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F16', shape: [1], data_offsets: [4, 6] } },
      Buffer.alloc(6),
    );
    // Refused while planning: no tensor was made for 'a' first.
    const before = memory().bytesAllocatedTotal;
    expect(() => loadSafetensors(new Uint8Array(unsupportedFirst))).toThrow(/'b' has dtype F16/);
    expect(memory().bytesAllocatedTotal).toBe(before);
  });
});

describe('load(path): header first, then each tensor by byte range (issue 8)', () => {
  it('refuses a 1 GB sparse file with a 2^63 header length without reading it', async () => {
    const path = join(dir, 'huge-header.safetensors');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(1n << 63n);
    writeFileSync(path, head);
    truncateSync(path, 1 << 30);
    const before = process.memoryUsage().arrayBuffers;
    await expect(load(path)).rejects.toThrow(/header length of at most 100000000 bytes .* got 9223372036854775808/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
  });

  it('refuses devices, directories and missing files with GhostFlowErrors', async () => {
    if (existsSync('/dev/zero')) await expect(load('/dev/zero')).rejects.toThrow(/expected a regular file/);
    await expect(load(dir)).rejects.toThrow(GhostFlowError);
    await expect(load(join(dir, 'nope.safetensors'))).rejects.toThrow(/load: cannot access/);
    await expect(load(42 as unknown as string)).rejects.toThrow(/expected a file path/);
  });

  it('loads tensors stored beyond 2 GiB in a sparse file (names selects them; the rest is not read)', async () => {
    const path = join(dir, 'big.safetensors');
    const bigBytes = 2 ** 31 + 64; // an I64 tensor of zeros spanning the first 2 GiB of data
    const tail = Buffer.alloc(12);
    tail.writeFloatLE(1.25, 0);
    tail.writeFloatLE(-3, 4);
    tail.writeInt32LE(-7, 8);
    const header = {
      big: { dtype: 'I64', shape: [bigBytes / 8], data_offsets: [0, bigBytes] },
      last: { dtype: 'F32', shape: [2], data_offsets: [bigBytes, bigBytes + 8] },
      idx: { dtype: 'I32', shape: [], data_offsets: [bigBytes + 8, bigBytes + 12] },
    };
    const file = specFile(header, Buffer.alloc(0));
    writeFileSync(path, file);
    truncateSync(path, file.length + bigBytes + 12);
    const fd = openSync(path, 'r+');
    writeSync(fd, tail, 0, 12, file.length + bigBytes);
    closeSync(fd);
    const got = await load(path, { names: ['last', 'idx'] });
    expect(Object.keys(got)).toEqual(['last', 'idx']);
    expect(vals(got.last)).toEqual([1.25, -3]);
    expect(got.idx.shape).toEqual([]);
    expect(vals(got.idx)).toEqual([-7]);
    await expect(load(path, { names: ['missing'] })).rejects.toThrow(/expected tensors named 'missing'/);
    rmSync(path);
  });

  it('reads I64 in chunks larger than the staging buffer', async () => {
    const n = (1 << 20) + 3; // more than one staging chunk
    const data = Buffer.alloc(8 * n);
    for (let j = 0; j < n; j += 4099) data.writeBigInt64LE(BigInt(j - 500000), 8 * j);
    const path = join(dir, 'i64.safetensors');
    writeFileSync(path, specFile({ v: { dtype: 'I64', shape: [n], data_offsets: [0, 8 * n] } }, data));
    const v = (await load(path)).v.dataSync() as Int32Array;
    expect(v.length).toBe(n);
    for (let j = 0; j < n; j += 4099) expect(v[j]).toBe(j - 500000);
    expect(v[1]).toBe(0);
    rmSync(path);
  });
});
