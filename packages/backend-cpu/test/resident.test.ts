/**
 * Resident storage: tensor buffers that live in the wasm memory. Wasm kernels take their
 * addresses; plain (non-resident) buffers still work in the same calls; the memory growing
 * under live views, freed blocks being reused, and reads all keep every tensor's values.
 */
import { type DataId, type TensorView, contiguousStrides } from '@ghostflow/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuBackend, createCpuBackend } from '../src/cpu-backend.js';
import { CPU_FUSED_KERNELS, CPU_PRIMITIVE_KERNELS } from '../src/kernel-table.js';
import { type CpuData, CpuStore } from '../src/storage.js';
import { wasmBuild } from '../src/wasm/detect.js';
import { DEFAULT_THRESHOLDS, wasmKernelTables } from '../src/wasm/kernels.js';
import { WasmRuntime } from '../src/wasm/runtime.js';
import { rand } from './random.js';

const zero = { minElements: 0, minMacs: 0, threadMinMacs: 0 };
const build = wasmBuild();
const js = createCpuBackend({ wasm: false });
const backends: CpuBackend[] = [js];
afterAll(() => {
  for (const b of backends) b.dispose();
});

const viewOf = (dataId: DataId, shape: number[], strides = contiguousStrides(shape), offset = 0): TensorView => ({
  dataId,
  dtype: 'float32',
  shape,
  strides,
  offset,
});

function readAll(be: CpuBackend, id: DataId, size: number): Float32Array {
  return (be.readSync as NonNullable<CpuBackend['readSync']>)(id, 'float32', size) as Float32Array;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > tol * (1 + Math.abs(want[i]))) expect([i, got[i]]).toEqual([i, want[i]]);
  }
}

/** A store and wasm tables over one runtime: resident buffers by `alloc`, plain ones by `adopt`. */
function setup(): { rt: WasmRuntime; store: CpuStore; t: ReturnType<typeof wasmKernelTables> } {
  const rt = new WasmRuntime(build as NonNullable<typeof build>, 1);
  const store = new CpuStore(rt.residentMemory());
  const t = wasmKernelTables(rt, { ...DEFAULT_THRESHOLDS, ...zero }, { kernels: CPU_PRIMITIVE_KERNELS, fused: CPU_FUSED_KERNELS });
  store.onDispose = t.release;
  return { rt, store, t };
}

function resident(store: CpuStore, values: Float32Array): CpuData {
  const b = store.allocUninit('float32', values.length);
  expect(b.ptr).toBeGreaterThan(0);
  (b.data as Float32Array).set(values);
  return b;
}

const plain = (store: CpuStore, values: Float32Array): CpuData => store.adopt(values.slice(), 'float32');

describe.skipIf(!build || typeof SharedArrayBuffer !== 'function')('resident storage', () => {
  it('places uploads and outputs in the wasm memory, and memory() counts exactly the live buffers', () => {
    const be = createCpuBackend({ threads: 1, thresholds: zero });
    backends.push(be);
    const before = be.memory();
    const x = be.upload(rand(3000, -1, 1, 1), 'float32');
    expect((x as CpuData).ptr).toBeGreaterThan(0);
    const y = be.kernels.unary(viewOf(x, [3000]), { op: 'exp' });
    expect((y as CpuData).ptr).toBeGreaterThan(0);
    const i = be.upload(Int32Array.of(1, 2, 3), 'int32');
    expect(be.memory().buffers - before.buffers).toBe(3);
    expect(be.memory().bytes - before.bytes).toBe(3000 * 4 * 2 + 12);
    for (const id of [x, y, i]) be.disposeData(id);
    expect(be.memory().buffers).toBe(before.buffers);
    expect(be.memory().bytes).toBe(before.bytes);
  });

  it('residentStorage: false keeps plain typed arrays and gives the same results', () => {
    const off = createCpuBackend({ threads: 1, thresholds: zero, residentStorage: false });
    const on = createCpuBackend({ threads: 1, thresholds: zero });
    backends.push(off, on);
    const A = rand(40 * 70, -1, 1, 2);
    const B = rand(70 * 30, -1, 1, 3);
    const run = (be: CpuBackend): Float32Array => {
      const a = be.upload(A, 'float32');
      const b = be.upload(B, 'float32');
      const c = be.kernels.matmul(viewOf(a, [40, 70]), viewOf(b, [70, 30]));
      const s = be.fused.softmax?.(viewOf(c, [40, 30]), { axis: 1 }) as DataId;
      const out = readAll(be, s, 1200);
      for (const id of [a, b, c, s]) be.disposeData(id);
      return out;
    };
    expect((off.upload(A, 'float32') as CpuData).ptr).toBe(-1);
    expectClose(run(on), run(off), 0);
    expectClose(run(on), run(js), 1e-5);
  });

  it('kernel calls mixing resident and plain operands read each correctly', () => {
    const { store, t } = setup();
    const [m, k, n] = [33, 70, 45];
    const A = rand(m * k, -1, 1, 4);
    const W = rand(n * k, -1, 1, 5);
    const Bv = rand(n, -1, 1, 6);
    const X = rand(m * n, -1, 1, 7);
    const want = (a: CpuData, w: CpuData, b: CpuData): { lin: Float32Array; add: Float32Array; ln: Float32Array; sum: Float32Array } => {
      const s = new CpuStore();
      const v = (d: CpuData, shape: number[]) => viewOf(s.adopt((d.data as Float32Array).slice(), 'float32'), shape);
      const lin = CPU_FUSED_KERNELS.linear(s, v(a, [m, k]), v(w, [n, k]), v(b, [n]));
      const add = CPU_PRIMITIVE_KERNELS.binary(s, viewOf(lin, [m, n]), v(b, [1, n]), { op: 'add' });
      const [ln] = CPU_FUSED_KERNELS.layerNorm(s, viewOf(add, [m, n]), v(b, [n]), null, { normalizedSize: n, eps: 1e-5 });
      const sum = CPU_PRIMITIVE_KERNELS.reduce(s, viewOf(add, [m, n]), { op: 'sum', axes: [1] });
      const f = (id: DataId) => s.data(id) as Float32Array;
      return { lin: f(lin), add: f(add), ln: f(ln), sum: f(sum) };
    };
    for (const mix of [
      [resident, resident, resident],
      [plain, resident, plain],
      [resident, plain, resident],
      [plain, plain, plain],
    ] as const) {
      const a = mix[0](store, A);
      const w = mix[1](store, W);
      const b = mix[2](store, Bv);
      const ref = want(a, w, b);
      const lin = t.fused.linear?.(store, viewOf(a, [m, k]), viewOf(w, [n, k]), viewOf(b, [n])) as CpuData;
      const add = t.kernels.binary?.(store, viewOf(lin, [m, n]), viewOf(b, [1, n], [0, 1]), { op: 'add' }) as CpuData;
      const [ln] = t.fused.layerNorm?.(store, viewOf(add, [m, n]), viewOf(b, [n]), null, { normalizedSize: n, eps: 1e-5 }) as CpuData[];
      const sum = t.kernels.reduce?.(store, viewOf(add, [m, n]), { op: 'sum', axes: [1] }) as CpuData;
      expect(lin.ptr).toBeGreaterThan(0); // the GEMM's output is a heap block, taken without a copy
      expectClose(lin.data as Float32Array, ref.lin, 1e-4);
      expectClose(add.data as Float32Array, ref.add, 1e-4);
      expectClose(ln.data as Float32Array, ref.ln, 1e-3);
      expectClose(sum.data as Float32Array, ref.sum, 1e-4);
      // Inputs are never written (the in-place kernels write to their own outputs).
      expectClose(a.data as Float32Array, A, 0);
      expectClose(w.data as Float32Array, W, 0);
      expectClose(b.data as Float32Array, Bv, 0);
      for (const id of [a, w, b, lin, add, ln, sum]) store.dispose(id);
    }
    const x = resident(store, X);
    for (const op of ['exp', 'tanh'] as const) {
      const y = t.kernels.unary?.(store, viewOf(x, [m, n]), { op }) as CpuData;
      expectClose(x.data as Float32Array, X, 0);
      expectClose(y.data as Float32Array, X.map(op === 'exp' ? Math.exp : Math.tanh), 1e-5);
      store.dispose(y);
    }
    const sm = t.fused.softmax?.(store, viewOf(x, [m, n]), { axis: 1 }) as CpuData;
    expectClose(x.data as Float32Array, X, 0);
    const smRef = CPU_FUSED_KERNELS.softmax(new CpuStore(), viewOf(plain(new CpuStore(), X), [m, n]), { axis: 1 }) as CpuData;
    expectClose(sm.data as Float32Array, smRef.data as Float32Array, 1e-5);
  });

  it('a JS kernel whose output grows the memory still reads its inputs (views survive growth)', () => {
    const be = createCpuBackend({ threads: 1, thresholds: { minElements: 2 ** 30, minMacs: 2 ** 40 } });
    backends.push(be);
    const N = 1500;
    const A = rand(N, -1, 1, 8);
    const B = rand(N, -1, 1, 9);
    const a = be.upload(A, 'float32');
    const b = be.upload(B, 'float32');
    const keep = (a as CpuData).data as Float32Array;
    const grows = (be.kernels.binary(viewOf(a, [N, N], [1, 0]), viewOf(b, [N, N], [0, 1]), { op: 'mul' }) as CpuData).data as Float32Array;
    // The output is 9 MB: far beyond the initial memory, so the alloc grew it.
    expect((keep.buffer as ArrayBufferLike).byteLength).toBeLessThan(N * N * 4);
    for (let i = 0; i < N; i += 97) for (let j = 0; j < N; j += 89) expect(grows[i * N + j]).toBe(Math.fround(A[i] * B[j]));
    expectClose(keep, A, 0);
    expectClose(readAll(be, a, N), A, 0);
  });

  it('freed blocks are reused without touching live tensors; reads are copies that never change', () => {
    const be = createCpuBackend({ threads: 1, thresholds: zero });
    backends.push(be);
    const n = 5000;
    const X = rand(n, -1, 1, 10);
    const x = be.upload(X, 'float32');
    const y = be.kernels.unary(viewOf(x, [n]), { op: 'neg' });
    const read = readAll(be, y, n);
    const ptr = (x as CpuData).ptr;
    be.disposeData(x);
    // The next block of the same size class is the one just freed: it starts from zeros.
    const z = be.kernels.fill({ shape: [n], dtype: 'float32', value: 0 });
    const z2 = be.fused.softmax?.(viewOf(y, [n]), { axis: 0 }) as DataId;
    expect([(z as CpuData).ptr, (z2 as CpuData).ptr]).toContain(ptr);
    // A fill into a reused block writes every element (the block held x's values).
    expect((z as CpuData).ptr).toBe(ptr);
    expect(Array.from(readAll(be, z, n)).every((v) => Object.is(v, 0))).toBe(true);
    expectClose(
      readAll(be, y, n),
      X.map((v) => -v),
      0,
    );
    // An in-place write to y does not reach the earlier read.
    be.kernels.write(viewOf(y, [n]), viewOf(z, [n]));
    expectClose(
      read,
      X.map((v) => -v),
      0,
    );
    expect(Array.from(readAll(be, y, 4))).toEqual([0, 0, 0, 0]);
    const zero4 = be.kernels.fill({ shape: [4], dtype: 'float32', value: 0 });
    expect(Array.from(readAll(be, zero4, 4))).toEqual([0, 0, 0, 0]);
  });

  it('an alloc that cannot get a block falls back to a plain array', () => {
    const rt = new WasmRuntime(build as NonNullable<typeof build>, 1);
    const mem = rt.residentMemory() as NonNullable<ReturnType<WasmRuntime['residentMemory']>>;
    let refuse = false;
    const store = new CpuStore({
      alloc: (bytes) => (refuse ? 0 : mem.alloc(bytes)),
      free: (p) => mem.free(p),
      get buffer() {
        return rt.buffer;
      },
    });
    const a = store.alloc('float32', 10);
    refuse = true;
    const b = store.alloc('float32', 10);
    expect(a.ptr).toBeGreaterThan(0);
    expect(b.ptr).toBe(-1);
    expect(Array.from(b.data as Float32Array)).toEqual(new Array(10).fill(0));
    expect(store.memory().buffers).toBe(2);
    store.dispose(a);
    store.dispose(b);
    expect(rt.heap.stats().blocks).toBe(0);
    expect(store.memory()).toMatchObject({ buffers: 0, bytes: 0 });
  });

  it('an unshared memory keeps storage plain and the wasm kernels still copy correctly', () => {
    const rt = new WasmRuntime(build as NonNullable<typeof build>, 1, { shared: false });
    expect(rt.resident).toBe(false);
    expect(rt.residentMemory()).toBeNull();
    const store = new CpuStore(rt.residentMemory());
    const t = wasmKernelTables(rt, { ...DEFAULT_THRESHOLDS, ...zero }, { kernels: CPU_PRIMITIVE_KERNELS, fused: CPU_FUSED_KERNELS });
    const A = rand(64 * 64, -1, 1, 11);
    const a = store.alloc('float32', A.length);
    expect(a.ptr).toBe(-1);
    (a.data as Float32Array).set(A);
    const c = t.kernels.matmul?.(store, viewOf(a, [64, 64]), viewOf(a, [64, 64])) as CpuData;
    const ref = CPU_PRIMITIVE_KERNELS.matmul(store, viewOf(a, [64, 64]), viewOf(a, [64, 64])) as CpuData;
    expect(c.ptr).toBe(-1);
    expectClose(c.data as Float32Array, ref.data as Float32Array, 1e-4);
  });
});
