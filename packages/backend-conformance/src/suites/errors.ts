/**
 * The errors suite: mistakes fail loudly and say what was expected and what came.
 * Disposed tensors, shape mismatches, backends lacking a primitive kernel, tensors from two
 * backends, synchronous reads on backends that cannot, contract versions and duplicate
 * registration. Also checks the quiet path: a backend without fused kernels still works,
 * through core's compositions of primitives.
 *
 * Several tests need a second backend. They build one as a thin wrapper delegating to the
 * backend under test (so its buffers are the same), registered under a temporary name and
 * removed afterwards. Core tells backends apart by object, so the wrapper is a genuinely
 * different backend to it.
 */
import {
  type Backend,
  BackendError,
  DisposedTensorError,
  KERNEL_CONTRACT_VERSION,
  type PrimitiveKernels,
  ShapeError,
  type Tensor,
  add,
  getBackendName,
  layerNorm,
  linear,
  loadBackend,
  matmul,
  registerBackend,
  removeBackend,
  setBackend,
  tensor,
  zeros,
} from '@ghostflow/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { thrown } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';
import { INDEX_FAULT_SCENARIOS } from './index-faults.js';

/** What the wrapper leaves out of the backend it wraps. */
interface WrapOptions {
  /** Keep the wrapped backend's fused kernels (default false: none). */
  fused?: boolean;
  /** Keep `readSync` when the wrapped backend has it (default true). */
  readSync?: boolean;
  /** A primitive kernel to leave out. */
  omit?: keyof PrimitiveKernels;
}

/**
 * A backend named `name` that delegates storage and kernels to `base` (same buffers), minus
 * what `options` removes. It has no `dispose`, so removing it leaves `base` running.
 */
function wrapBackend(base: Backend, name: string, options: WrapOptions = {}): Backend {
  const k = base.kernels;
  const all: PrimitiveKernels = {
    unary: (x, a) => k.unary(x, a),
    binary: (a, b, attrs) => k.binary(a, b, attrs),
    cast: (x, a) => k.cast(x, a),
    where: (c, a, b) => k.where(c, a, b),
    reduce: (x, a) => k.reduce(x, a),
    argReduce: (x, a) => k.argReduce(x, a),
    matmul: (a, b) => k.matmul(a, b),
    gather: (x, i, a) => k.gather(x, i, a),
    scatter: (b, i, s, a) => k.scatter(b, i, s, a),
    cumsum: (x, a) => k.cumsum(x, a),
    concat: (xs, a) => k.concat(xs, a),
    fill: (a) => k.fill(a),
    write: (t, s) => k.write(t, s),
  };
  const kernels: Partial<PrimitiveKernels> = { ...all };
  if (options.omit) delete kernels[options.omit];
  const wrapper: Backend = {
    name,
    contractVersion: base.contractVersion,
    kernels: kernels as PrimitiveKernels,
    fused: options.fused ? base.fused : {},
    upload: (values, dtype) => base.upload(values, dtype),
    read: (id, dtype, size) => base.read(id, dtype, size),
    disposeData: (id) => base.disposeData(id),
    memory: () => base.memory(),
  };
  // The kernels are the base's, so the faults they record are too.
  if (base.takeIndexFault) {
    const take = base.takeIndexFault.bind(base);
    wrapper.takeIndexFault = () => take();
  }
  if (base.sync) {
    const sync = base.sync.bind(base);
    wrapper.sync = () => sync();
  }
  if (options.readSync !== false && base.readSync) {
    const readSync = base.readSync.bind(base);
    return { ...wrapper, readSync: (id, dtype, size) => readSync(id, dtype, size) };
  }
  return wrapper;
}

/** Registers the error tests. */
export function errorsSuite(ctx: SuiteContext): void {
  const dev = { device: ctx.device } as const;
  let base: Backend;
  const temporary: string[] = [];
  const made: Tensor[] = [];
  /** Registers a temporary backend (lowest priority, so it is never chosen by accident). */
  const registerTemp = (name: string, make: () => Backend): string => {
    temporary.push(name);
    registerBackend(name, make, { priority: -1000 });
    return name;
  };
  /** Tracks a tensor for disposal after the test. */
  const own = <T extends Tensor>(t: T): T => {
    made.push(t);
    return t;
  };

  beforeAll(async () => {
    await ctx.activate();
    base = await loadBackend(ctx.device);
  });
  afterEach(async () => {
    for (const t of made.splice(0)) t.dispose();
    for (const name of temporary.splice(0)) removeBackend(name);
    if (getBackendName() !== ctx.device) await ctx.activate();
  });

  describe('disposed tensors', () => {
    it('using a disposed tensor throws DisposedTensorError naming its shape and dtype', async () => {
      const t = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        dev,
      );
      const other = own(tensor([1, 2], dev));
      t.dispose();
      const e = thrown(() => add(t, 1));
      expect(e).toBeInstanceOf(DisposedTensorError);
      expect(e.message).toContain('[2, 2]');
      expect(e.message).toContain('float32');
      expect(() => add(other, t)).toThrow(DisposedTensorError);
      expect(() => t.reshape([4])).toThrow(DisposedTensorError);
      await expect(t.data()).rejects.toThrow(DisposedTensorError);
      const i = tensor([1, 2, 3], { ...dev, dtype: 'int32' });
      i.dispose();
      expect(() => i.sum()).toThrow(/\[3\].*int32|int32.*\[3\]/);
      // metadata stays readable, and disposing again is harmless
      expect(t.shape).toEqual([2, 2]);
      expect(t.isDisposed).toBe(true);
      expect(() => t.dispose()).not.toThrow();
      expect(t.toString()).toContain('disposed');
    });
  });

  describe('shape mismatches name both shapes', () => {
    it('broadcasting', () => {
      const a = own(zeros([2, 3], dev));
      const b = own(zeros([4], dev));
      const e = thrown(() => add(a, b));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toContain('[2, 3]');
      expect(e.message).toContain('[4]');
    });

    it('matmul', () => {
      const a = own(zeros([2, 3], dev));
      const b = own(zeros([4, 5], dev));
      const e = thrown(() => matmul(a, b));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toContain('[2, 3]');
      expect(e.message).toContain('[4, 5]');
    });

    it('reshape', () => {
      const a = own(zeros([2, 3], dev));
      const e = thrown(() => a.reshape([4]));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toContain('[4]');
      expect(e.message).toContain('[2, 3]');
    });
  });

  describe('backend capabilities', () => {
    it('a backend without fused kernels gives the same results through compositions', async () => {
      const name = registerTemp(`${ctx.device}-conformance-unfused`, () =>
        wrapBackend(base, `${ctx.device}-conformance-unfused`, { fused: false }),
      );
      const xs = [
        [0.1, -1.2, 2.3, 0.7],
        [-0.4, 1.9, -2.2, 0.05],
      ];
      const ws = [
        [0.5, -0.25, 1, 0.1],
        [2, 0.3, -0.6, 0.2],
        [-1, 0.4, 0.8, -0.3],
      ];
      const bs = [0.1, -0.2, 0.3];
      for (const device of [ctx.device, name]) {
        const x = own(tensor(xs, { device }));
        const w = own(tensor(ws, { device }));
        const b = own(tensor(bs, { device }));
        const lnW = own(tensor([1, 2, -0.5, 0.25], { device }));
        const lnB = own(tensor([0, 0.1, -0.2, 3], { device }));
        expect(x.device).toBe(device);
        const sm = own(x.softmax(1));
        const lsm = own(x.logSoftmax(0));
        const lin = own(linear(x, w, b));
        const ln = own(layerNorm(x, [4], lnW, lnB));
        // compare with hand-computed references
        const softmaxRef = xs.map((row) => {
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const s = e.reduce((p, q) => p + q, 0);
          return e.map((v) => v / s);
        });
        await expectTensor(sm, softmaxRef, { atol: 1e-5, rtol: 1e-4 });
        const logSoftmaxRef = xs.map((row) => row.map((v, j) => v - Math.log(Math.exp(xs[0][j]) + Math.exp(xs[1][j]))));
        await expectTensor(lsm, logSoftmaxRef, { atol: 1e-5, rtol: 1e-4 });
        const linRef = xs.map((row) => ws.map((wr, n) => wr.reduce((acc, wv, k) => acc + wv * row[k], bs[n])));
        await expectTensor(lin, linRef, { atol: 1e-5, rtol: 1e-4 });
        const lnRef = xs.map((row) => {
          const mean = row.reduce((p, q) => p + q, 0) / row.length;
          const variance = row.reduce((p, q) => p + (q - mean) ** 2, 0) / row.length;
          const aff = [
            [1, 0],
            [2, 0.1],
            [-0.5, -0.2],
            [0.25, 3],
          ];
          return row.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * aff[j][0] + aff[j][1]);
        });
        await expectTensor(ln, lnRef, { atol: 1e-4, rtol: 1e-4 });
      }
    });

    it('a backend lacking a primitive kernel is refused, naming the kernel and the backend', async () => {
      const name = registerTemp(`${ctx.device}-conformance-no-cumsum`, () =>
        wrapBackend(base, `${ctx.device}-conformance-no-cumsum`, { omit: 'cumsum' }),
      );
      const err = await setBackend(name).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err, 'setBackend must reject').toBeInstanceOf(BackendError);
      expect(err?.message).toContain('cumsum');
      expect(err?.message).toContain(name);
      expect(getBackendName(), 'the active backend is unchanged').toBe(ctx.device);
      expect(() => tensor([1], { device: name })).toThrow(/cumsum/);
    });

    it('tensors on two different backends cannot be mixed; the error names both', async () => {
      const twin = registerTemp(`${ctx.device}-conformance-twin`, () =>
        wrapBackend(base, `${ctx.device}-conformance-twin`, { fused: true }),
      );
      const a = own(tensor([1, 2], dev));
      const b = own(tensor([3, 4], { device: twin }));
      expect(b.device).toBe(twin);
      await expectTensor(b, [3, 4]);
      const e = thrown(() => add(a, b));
      expect(e).toBeInstanceOf(BackendError);
      expect(e.message).toContain(`'${ctx.device}'`);
      expect(e.message).toContain(`'${twin}'`);
      const m = thrown(() => matmul(own(tensor([[1, 2]], dev)), own(tensor([[1], [2]], { device: twin }))));
      expect(m).toBeInstanceOf(BackendError);
      const moved = own(await b.to(ctx.device));
      expect(moved.device).toBe(ctx.device);
      await expectTensor(own(add(a, moved)), [4, 6]);
    });

    it('dataSync on a backend without readSync throws pointing to data()', async () => {
      const name = registerTemp(`${ctx.device}-conformance-async-only`, () =>
        wrapBackend(base, `${ctx.device}-conformance-async-only`, { readSync: false }),
      );
      const t = own(tensor([1, 2, 3], { device: name }));
      const e = thrown(() => t.dataSync());
      expect(e).toBeInstanceOf(BackendError);
      expect(e.message).toContain('data()');
      expect(e.message).toContain(name);
      expect(() => t.arraySync()).toThrow(/data\(\)/);
      const one = own(tensor([5], { device: name }));
      expect(() => one.itemSync()).toThrow(/data\(\)/);
      expect(await one.item()).toBe(5);
      expect(Array.from(await t.data())).toEqual([1, 2, 3]);
    });
  });

  describe('out-of-range indices on an asynchronous backend (this one without readSync) raise IndexError at the next read', () => {
    // Core cannot check indices before the kernels run on a backend without readSync: the
    // kernels must skip the bad element and report it through takeIndexFault. A backend
    // with readSync and no takeIndexFault never takes this path (core checks at the call),
    // so these tests are skipped for it rather than failed.
    for (const scenario of INDEX_FAULT_SCENARIOS) {
      it(`${scenario.name} (skipped for a backend with readSync and no takeIndexFault)`, async (test) => {
        if (base.readSync && !base.takeIndexFault) {
          test.skip();
          return;
        }
        const name = registerTemp(`${ctx.device}-conformance-async-indices`, () =>
          wrapBackend(base, `${ctx.device}-conformance-async-indices`, { readSync: false, fused: true }),
        );
        await scenario.run(name);
      });
    }
  });

  describe('registration', () => {
    it('a contract version mismatch is refused at registerBackend, naming both versions', () => {
      const name = `${ctx.device}-conformance-future`;
      const e = thrown(() => registerBackend(name, () => wrapBackend(base, name), { contractVersion: KERNEL_CONTRACT_VERSION + 1 }));
      expect(e).toBeInstanceOf(BackendError);
      expect(e.message).toContain(name);
      expect(e.message).toContain(`v${KERNEL_CONTRACT_VERSION + 1}`);
      expect(e.message).toContain(`v${KERNEL_CONTRACT_VERSION}`);
    });

    it('registering the same name and version twice is a silent duplicate', () => {
      const name = `${ctx.device}-conformance-dup`;
      temporary.push(name);
      const first = registerBackend(name, () => wrapBackend(base, name), { version: '1.2.3', priority: -1000 });
      const second = registerBackend(name, () => wrapBackend(base, name), { version: '1.2.3', priority: -1000 });
      expect(first.status).toBe('registered');
      expect(second).toEqual({ name, status: 'duplicate' });
    });
  });
}
