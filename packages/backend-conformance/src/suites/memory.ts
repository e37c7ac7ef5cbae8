/**
 * The memory suite: tensors free their backend buffers when they should, and only then.
 * `tidy`, `keep`, `using`, `Scope`, views sharing storage, and the autograd graph's saved
 * tensors (freed by node reference counting when outputs are disposed or backward ran).
 *
 * Buffer counts are compared around synchronous code only: GC finalizers (the safety net
 * for tensors other tests leaked) run between tasks, so they cannot move the counts there.
 */
import {
  GhostFlowError,
  type MemoryInfo,
  Scope,
  type Tensor,
  add,
  gradients,
  keep,
  memory,
  mul,
  ones,
  tensor,
  select,
  sumToShape,
  tidy,
  zeros,
} from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';

/** Buffers and bytes, for comparing snapshots. */
function live(m: MemoryInfo): { buffers: number; bytes: number } {
  return { buffers: m.buffers, bytes: m.bytes };
}

/** Registers the memory tests. */
export function memorySuite(ctx: SuiteContext): void {
  const dev = { device: ctx.device } as const;
  const mem = () => memory(ctx.device);
  beforeAll(() => ctx.activate());

  /** A small forward pass exercising many ops (with a graph when `x` requires grad). */
  const forward = (x: Tensor, w: Tensor): Tensor => {
    const h = x.matmul(w).add(1).relu();
    const s = h.mul(h).sub(h.exp().mul(0.01)).sigmoid();
    return s.reshape(-1).slice(0, 1, 5).sum().add(s.transpose(0, 1).mean());
  };

  describe('tidy', () => {
    it('frees everything made inside, including a forward and backward pass', () => {
      const before = live(mem());
      tidy(() => {
        const x = tensor(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          { ...dev, requiresGrad: true },
        );
        const w = tensor(
          [
            [0.1, -0.2],
            [0.3, 0.4],
            [-0.5, 0.6],
          ],
          { ...dev, requiresGrad: true },
        );
        for (let i = 0; i < 3; i++) forward(x, w).backward();
        const [gx] = gradients(forward(x, w), [x]);
        expect(gx?.shape).toEqual([2, 3]);
        zeros([100], dev).add(ones([100], dev));
      });
      expect(live(mem())).toEqual(before);
    });

    it('returned tensors survive and move to the enclosing scope', () => {
      const before = live(mem());
      let inner!: Tensor;
      let nested!: { a: Tensor; list: Tensor[] };
      const outer = tidy(() => {
        inner = tidy(() => ones([3], dev).mul(2));
        expect(inner.isDisposed).toBe(false);
        nested = tidy(() => ({ a: ones([2], dev), list: [zeros([2], dev)] }));
        expect(nested.a.isDisposed).toBe(false);
        return inner.add(1);
      });
      expect(inner.isDisposed).toBe(true);
      expect(nested.a.isDisposed).toBe(true);
      expect(nested.list[0].isDisposed).toBe(true);
      expect(outer.isDisposed).toBe(false);
      expect(mem().buffers).toBe(before.buffers + 1);
      outer.dispose();
      expect(live(mem())).toEqual(before);
    });

    it('keep() exempts a tensor from every enclosing tidy', () => {
      const before = live(mem());
      let kept!: Tensor;
      tidy(() => {
        tidy(() => {
          kept = keep(ones([4], dev));
          ones([4], dev);
        });
      });
      expect(kept.isDisposed).toBe(false);
      expect(mem().buffers).toBe(before.buffers + 1);
      kept.dispose();
      expect(live(mem())).toEqual(before);
    });

    it('frees everything and rethrows when the function throws', () => {
      const before = live(mem());
      expect(() =>
        tidy(() => {
          ones([8], dev).mul(3);
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(live(mem())).toEqual(before);
    });

    it('throws for an async function', async () => {
      const before = live(mem());
      let err: unknown;
      let pending: Promise<void> | undefined;
      try {
        tidy(() => {
          ones([2], dev);
          pending = (async () => undefined)();
          return pending;
        });
      } catch (e) {
        err = e;
      }
      expect(live(mem())).toEqual(before);
      await pending;
      expect(err).toBeInstanceOf(GhostFlowError);
      expect((err as Error).message).toMatch(/synchronous/);
    });
  });

  describe('explicit lifetimes', () => {
    it('`using` frees at the end of the block', () => {
      const before = live(mem());
      let t!: Tensor;
      {
        using a = ones([16], dev);
        t = a;
        expect(mem().buffers).toBe(before.buffers + 1);
      }
      expect(t.isDisposed).toBe(true);
      expect(live(mem())).toEqual(before);
    });

    it('Scope owns tracked tensors across awaits, survives tidy, and frees them on dispose', async () => {
      const before = mem().buffers;
      const scope = new Scope();
      let a!: Tensor;
      tidy(() => {
        a = scope.track(ones([3], dev).mul(5));
      });
      const b = scope.track(zeros([2], dev));
      await expectTensor(a, [5, 5, 5]);
      expect(a.isDisposed).toBe(false);
      const released = scope.release(b);
      scope.dispose();
      expect(a.isDisposed).toBe(true);
      expect(released.isDisposed).toBe(false);
      released.dispose();
      expect(mem().buffers).toBeLessThanOrEqual(before);
    });

    it('dispose twice is safe and frees once', () => {
      const a = ones([5], dev);
      const b = ones([5], dev);
      const before = live(mem());
      a.dispose();
      a.dispose();
      const after = live(mem());
      expect(after.buffers).toBe(before.buffers - 1);
      expect(b.isDisposed).toBe(false);
      b.dispose();
      expect(mem().buffers).toBe(before.buffers - 2);
    });
  });

  describe('views and storage', () => {
    it('views share storage; the buffer goes with the last view', async () => {
      const x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        dev,
      );
      const before = live(mem());
      const r = x.reshape([3, 2]);
      const t = x.transpose(0, 1);
      const s = x.slice(1, 1, 3);
      const r1 = x.reshape([1, 2, 3]);
      const e = r1.expand([4, 2, 3]);
      expect(mem().buffers, 'views of a contiguous tensor allocate nothing').toBe(before.buffers + 0);
      x.dispose();
      r.dispose();
      expect(mem().buffers).toBe(before.buffers);
      await expectTensor(t, [
        [1, 4],
        [2, 5],
        [3, 6],
      ]);
      await expectTensor(s, [
        [2, 3],
        [5, 6],
      ]);
      t.dispose();
      s.dispose();
      r1.dispose();
      expect(mem().buffers).toBeLessThanOrEqual(before.buffers);
      const beforeLast = mem().buffers;
      e.dispose();
      expect(mem().buffers).toBe(beforeLast - 1);
    });

    it('composite view ops hold no hidden reference: select, sumToShape', () => {
      const before = live(mem());
      const x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        dev,
      );
      const t = x.transpose(0, 1);
      x.dispose();
      // select = squeeze(slice): the slice view must not outlive the call.
      const row = select(t, 1, 1);
      t.dispose();
      row.dispose();
      expect(live(mem()), 'select of a transposed view: its buffer goes with the last view').toEqual(before);
      const g = ones([2, 3], dev);
      const reduced = sumToShape(g, [1, 3]);
      g.dispose();
      reduced.dispose();
      expect(live(mem()), 'sumToShape frees its intermediate sum').toEqual(before);
    });

    it('reshape of a transposed tensor copies (and frees its copy with it)', () => {
      const x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        dev,
      );
      const t = x.transpose(0, 1);
      const before = mem().buffers;
      const flat = t.reshape([-1]);
      expect(mem().buffers).toBe(before + 1);
      flat.dispose();
      expect(mem().buffers).toBe(before);
      x.dispose();
      t.dispose();
      expect(mem().buffers).toBe(before - 1);
    });
  });

  describe('autograd memory', () => {
    /** The 2x2 `x` and `w` (both requiring grad) that the graph-freeing tests run `forward` on. */
    const graphInputs = (): [Tensor, Tensor] => [
      tensor(
        [
          [0.5, -1],
          [2, 0.25],
        ],
        { ...dev, requiresGrad: true },
      ),
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { ...dev, requiresGrad: true },
      ),
    ];

    it('disposing a graph output without backward frees the saved tensors', () => {
      const [x, w] = graphInputs();
      const before = live(mem());
      const y = tidy(() => forward(x, w));
      expect(mem().buffers, 'saved tensors are alive while the graph is').toBeGreaterThan(before.buffers + 1);
      y.dispose();
      expect(live(mem())).toEqual(before);
      x.dispose();
      w.dispose();
    });

    it('backward frees saved tensors; disposing the output frees the rest', () => {
      const [x, w] = graphInputs();
      const before = live(mem());
      const y = tidy(() => forward(x, w));
      y.backward();
      y.dispose();
      // what is left: x.grad and w.grad
      expect(mem().buffers).toBe(before.buffers + 2);
      x.grad = null;
      w.grad = null;
      expect(live(mem())).toEqual(before);
      x.dispose();
      w.dispose();
    });

    it('a graph kept with retainGraph is freed when its output goes', () => {
      const x = tensor([1, 2, 3], { ...dev, requiresGrad: true });
      const before = live(mem());
      const y = tidy(() => x.exp().mul(x).sum());
      y.backward(null, { retainGraph: true });
      y.backward();
      y.dispose();
      x.grad = null;
      expect(live(mem())).toEqual(before);
      x.dispose();
    });

    it('gradients() results made inside tidy are freed by it', () => {
      const x = tensor([1, 2, 3], { ...dev, requiresGrad: true });
      const before = live(mem());
      const out = tidy(() => {
        const [g] = gradients(mul(x, x).sum(), [x]);
        return add(g as Tensor, 1);
      });
      expect(mem().buffers).toBe(before.buffers + 1);
      out.dispose();
      expect(live(mem())).toEqual(before);
      x.dispose();
    });

    it('x.grad is disposed with x', () => {
      const before = live(mem());
      const x = tensor([1, 2, 3], { ...dev, requiresGrad: true });
      tidy(() => mul(x, 2).sum().backward());
      const g = x.grad as Tensor;
      expect(g.isDisposed).toBe(false);
      x.dispose();
      expect(g.isDisposed).toBe(true);
      expect(live(mem())).toEqual(before);
    });

    it('a backward that throws part-way frees the gradients it had computed', () => {
      const x = tensor([0.5, 1, 2], { ...dev, requiresGrad: true });
      const h = x.exp();
      const first = h.sum();
      first.backward(); // frees exp's saved output: the next backward through exp must throw
      first.dispose();
      x.grad = null;
      const scaled = h.mul(3);
      const loss = scaled.sum();
      const before = live(mem());
      // sum and mul run (their gradients reach exp's slot), then exp's rule throws.
      expect(() => loss.backward()).toThrow(/second time/);
      expect(x.grad).toBeNull();
      expect(live(mem()), 'buffers after the failed backward').toEqual(before);
      for (const t of [loss, scaled, h, x]) t.dispose();
    });
  });

  describe('statistics', () => {
    it('memory() reports the backend; bytesAllocatedTotal and peakBytes are monotonic', () => {
      const m0 = mem();
      expect(m0.backend).toBe(ctx.device);
      expect(m0.peakBytes).toBeGreaterThanOrEqual(m0.bytes);
      const a = zeros([256], dev);
      const m1 = mem();
      expect(m1.buffers).toBe(m0.buffers + 1);
      expect(m1.bytes - m0.bytes).toBeGreaterThanOrEqual(256 * 4);
      expect(m1.bytesAllocatedTotal - m0.bytesAllocatedTotal).toBeGreaterThanOrEqual(256 * 4);
      expect(m1.peakBytes).toBeGreaterThanOrEqual(m1.bytes);
      a.dispose();
      const m2 = mem();
      expect(m2.bytes).toBe(m0.bytes);
      expect(m2.bytesAllocatedTotal).toBe(m1.bytesAllocatedTotal);
      expect(m2.peakBytes).toBe(m1.peakBytes);
      expect(m2.leakedTensors).toBeGreaterThanOrEqual(0);
    });
  });
}
