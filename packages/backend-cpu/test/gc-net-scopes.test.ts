/**
 * The GC safety net and tidy scopes: a tensor made inside `tidy` joins the FinalizationRegistry
 * only when it leaves the last open scope (returned from the outermost tidy, or `keep`), since
 * until then the scope holds and disposes it. These check that every way out of the scopes
 * still reaches the net: a tensor that leaves and is then dropped is freed by the GC and
 * counted in `memory().leakedTensors`. Needs `node --expose-gc` (vitest.config.ts passes it).
 */
import '@ghostflow/backend-cpu';
import { type Tensor, keep, memory, randn, tidy } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects until `memory().leakedTensors` reaches `target` (or 200 passes). */
async function drainTo(target: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
    if (memory('cpu').leakedTensors >= target) break;
  }
  return memory('cpu').leakedTensors;
}

/** Makes tensors through `make`, drops them, and returns how many buffers and leaks the GC found. */
async function dropped(make: () => void): Promise<{ buffers: number; leaked: number }> {
  const buffers = memory('cpu').buffers;
  const leaked = memory('cpu').leakedTensors;
  make();
  const after = await drainTo(leaked + 1);
  return { buffers: memory('cpu').buffers - buffers, leaked: after - leaked };
}

describe('GC net for tensors that leave tidy scopes', () => {
  it('runs under --expose-gc', () => {
    expect(gc, 'vitest.config.ts must pass --expose-gc to the test workers').toBeTypeOf('function');
  });

  it('frees a tensor returned from the outermost tidy and then dropped', async () => {
    const r = await dropped(() => {
      tidy(() => randn([4], { device: 'cpu' }).mul(2));
    });
    expect(r).toEqual({ buffers: 0, leaked: 1 });
  });

  it('frees a tensor handed through nested tidies and then dropped', async () => {
    const r = await dropped(() => {
      tidy(() => tidy(() => randn([4], { device: 'cpu' }).add(1)));
    });
    expect(r).toEqual({ buffers: 0, leaked: 1 });
  });

  it('frees a tensor kept inside a tidy and then dropped', async () => {
    const r = await dropped(() => {
      tidy(() => {
        keep(randn([4], { device: 'cpu' }).exp());
      });
    });
    expect(r).toEqual({ buffers: 0, leaked: 1 });
  });

  it('does not count tensors that tidy disposed, nor the ones the caller disposed', async () => {
    const leaked = memory('cpu').leakedTensors;
    const buffers = memory('cpu').buffers;
    const kept: Tensor = tidy(() => {
      const a = randn([4], { device: 'cpu' });
      a.mul(3).add(1);
      return a.neg();
    });
    kept.dispose();
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    expect(memory('cpu').buffers).toBe(buffers);
    expect(memory('cpu').leakedTensors).toBe(leaked);
  });
});
