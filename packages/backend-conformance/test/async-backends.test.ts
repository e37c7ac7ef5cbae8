/**
 * The kit's index checks hold asynchronous backends to what cpu guarantees. Three tiny
 * asynchronous backends, all wrapping the cpu backend without `readSync` (so core cannot
 * check indices before the kernels run):
 * - `kit-async-cpu` forwards cpu's `takeIndexFault`: it must pass every index scenario;
 * - `kit-async-noflag` has cpu's safe kernels but drops the fault (no `takeIndexFault`);
 * - `kit-async-naive` has the naive kernels a backend author writes first: gather reads
 *   past the axis (NaN), scatter writes into the next row; its takeIndexFault never has
 *   anything to report.
 * The last two must fail every scenario: the kit never passes a backend that checked nothing.
 */
import '@ghostflow/backend-cpu';
import {
  type Backend,
  type DataId,
  type TensorView,
  contiguousStrides,
  gather,
  loadBackend,
  registerBackend,
  removeBackend,
  scatter,
  sizeOf,
  tensor,
  zeros,
} from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_FAULT_SCENARIOS } from '../src/suites/index-faults.js';

/**
 * `base` without readSync; `flag` keeps its takeIndexFault, else every read throws the
 * recorded fault away (the wrappers share cpu's store); `kernels` replaces some kernels.
 */
function asyncWrapper(base: Backend, name: string, flag: boolean, kernels: Partial<Backend['kernels']> = {}): Backend {
  const baseRead = base.readSync?.bind(base);
  if (!baseRead) throw new Error('test bug: the base backend must read synchronously');
  const readSync: typeof baseRead = (id, d, n) => {
    if (!flag) base.takeIndexFault?.();
    return baseRead(id, d, n);
  };
  return {
    name,
    contractVersion: base.contractVersion,
    kernels: { ...base.kernels, ...kernels },
    fused: base.fused,
    upload: (v, d) => base.upload(v, d),
    // A promise that settles later, like a GPU read.
    read: (id, d, n) => new Promise((resolve) => setTimeout(() => resolve(readSync(id, d, n)), 0)),
    disposeData: (id) => base.disposeData(id),
    memory: () => base.memory(),
    sync: () =>
      new Promise((resolve) =>
        setTimeout(() => {
          if (!flag) base.takeIndexFault?.();
          resolve();
        }, 0),
      ),
    ...(flag && base.takeIndexFault ? { takeIndexFault: base.takeIndexFault.bind(base) } : {}),
  };
}

/** Element positions of a view, row-major (what a naive kernel walks). */
function positions(v: TensorView): number[] {
  const out: number[] = [];
  const n = sizeOf(v.shape);
  for (let flat = 0; flat < n; flat++) {
    let rest = flat;
    let pos = v.offset;
    for (let d = v.shape.length - 1; d >= 0; d--) {
      pos += (rest % v.shape[d]) * v.strides[d];
      rest = Math.floor(rest / v.shape[d]);
    }
    out.push(pos);
  }
  return out;
}

/**
 * Naive gather/scatter over the base's storage: no range check at all, as a backend author
 * writes them when the contract said "indices are already checked".
 */
function naiveKernels(base: Backend): Partial<Backend['kernels']> {
  const readSync = (base.readSync as NonNullable<Backend['readSync']>).bind(base);
  const all = (v: TensorView): number[] => {
    const size = Math.max(...positions(v), 0) + 1;
    return Array.from(readSync(v.dataId, v.dtype, size) as ArrayLike<number>);
  };
  return {
    gather: (x: TensorView, index: TensorView, { axis }): DataId => {
      const xs = all(x);
      const idx = positions(index).map((p) => all(index)[p]);
      const xStrides = [...x.strides];
      const step = xStrides[axis];
      xStrides[axis] = 0;
      const basePos = positions({ ...x, shape: index.shape, strides: xStrides });
      // xs[beyond] is undefined in JS: NaN in a Float32Array, exactly the bug report.
      const out = basePos.map((p, i) => xs[p + idx[i] * step]);
      return base.upload(Float32Array.from(out), 'float32');
    },
    scatter: (b: TensorView, index: TensorView, src: TensorView, { axis, reduce }): DataId => {
      const out = positions(b).map((p) => all(b)[p]);
      const idx = positions(index).map((p) => all(index)[p]);
      const vals = positions(src).map((p) => all(src)[p]);
      const strides = contiguousStrides(b.shape);
      const step = strides[axis];
      const s0 = [...strides];
      s0[axis] = 0;
      const at = positions({ ...index, shape: index.shape, strides: s0, offset: 0 });
      at.forEach((p, i) => {
        const q = p + idx[i] * step; // index 5 of 3 columns lands in the next row
        if (q < out.length) out[q] = reduce === 'add' ? out[q] + vals[i] : vals[i];
      });
      return base.upload(Float32Array.from(out), 'float32');
    },
  };
}

const NAMES = ['kit-async-cpu', 'kit-async-noflag', 'kit-async-naive'] as const;

beforeAll(async () => {
  const cpu = await loadBackend('cpu');
  registerBackend('kit-async-cpu', () => asyncWrapper(cpu, 'kit-async-cpu', true), { priority: -1000 });
  registerBackend('kit-async-noflag', () => asyncWrapper(cpu, 'kit-async-noflag', false), { priority: -1000 });
  // It claims fault reporting (takeIndexFault) but its kernels never record one.
  registerBackend(
    'kit-async-naive',
    () => ({ ...asyncWrapper(cpu, 'kit-async-naive', false, naiveKernels(cpu)), takeIndexFault: () => null }),
    { priority: -1000 },
  );
});
afterAll(() => {
  for (const n of NAMES) removeBackend(n);
});

describe('the naive asynchronous backend has the bugs of the report', () => {
  it('gather past the axis gives NaN and scatter with index 5 on a 2x3 tensor writes into the next row', async () => {
    const device = 'kit-async-naive';
    const x = tensor([[1, 2, 3]], { device });
    const i = tensor([[0, 3]], { device, dtype: 'int32' });
    const g = gather(x, 1, i);
    expect(Array.from(await g.data())).toEqual([1, Number.NaN]);
    const z = zeros([2, 3], { device });
    const j = tensor([[0, 5]], { device, dtype: 'int32' });
    const s = scatter(z, 1, j, 1);
    expect(Array.from(await s.data())).toEqual([1, 0, 0, 0, 0, 1]);
    for (const t of [x, i, g, z, j, s]) t.dispose();
  });
});

describe('index scenarios of the kit (ops-indexing and errors suites)', () => {
  for (const scenario of INDEX_FAULT_SCENARIOS) {
    it(`pass on an asynchronous cpu that reports faults: ${scenario.name}`, () => scenario.run('kit-async-cpu'));
    it(`fail on an asynchronous cpu that drops the fault: ${scenario.name}`, async () => {
      await expect(scenario.run('kit-async-noflag')).rejects.toThrow(/takeIndexFault|IndexError|neither refused/);
    });
    it(`fail on the naive asynchronous backend: ${scenario.name}`, async () => {
      await expect(scenario.run('kit-async-naive')).rejects.toThrow(/neither refused at the call nor reported|IndexError/);
    });
  }
});
