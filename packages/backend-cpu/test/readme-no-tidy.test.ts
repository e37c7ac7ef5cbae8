/**
 * The README's linear regression written the way PyTorch users write it: no `tidy`, nothing
 * disposed. Every step leaves its graph (5 tensors) and update temporaries (4) to the garbage
 * collector, and the FinalizationRegistry net must free them all: the buffer count after GC
 * stays where it was after the first step, and `memory().leakedTensors` reports each one.
 * Needs `node --expose-gc` (vitest.config.ts passes it).
 */
import '@ghostflow/backend-cpu';
import { memory, noGrad, randn, tensor, zeros } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Collects until the buffer count reaches `target` (or stops moving for 20 passes). Each pass
 * frees one more link of a chain of garbage, and V8 runs the registry's cleanup as a later
 * task, so one quiet pass under load does not prove there is nothing left.
 */
async function drain(target = -1): Promise<number> {
  let last = -1;
  let quiet = 0;
  for (let i = 0; i < 200 && quiet < 20; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
    const now = memory('cpu').buffers;
    if (now === target) return now;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return last;
}

describe('README no-tidy training loop', () => {
  it('runs under --expose-gc', () => {
    expect(gc, 'vitest.config.ts must pass --expose-gc to the test workers').toBeTypeOf('function');
  });

  it('stays flat after GC over 300 steps, and leakedTensors counts what the net freed', async () => {
    const x = randn([64, 3], { device: 'cpu' });
    const y = x.matmul(tensor([[1], [-2], [0.5]], { device: 'cpu' })).add(0.1);
    const w = zeros([3, 1], { requiresGrad: true, device: 'cpu' });
    const b = zeros([1], { requiresGrad: true, device: 'cpu' });
    const trainStep = () => {
      const loss = x.matmul(w).add(b).sub(y).square().mean();
      loss.backward();
      noGrad(() => {
        for (const p of [w, b]) {
          p.assign(p.sub((p.grad as NonNullable<typeof p.grad>).mul(0.1)));
          p.grad = null;
        }
      });
    };
    trainStep();
    const afterFirst = await drain();
    const leakedBefore = memory('cpu').leakedTensors;
    const counts: number[] = [];
    for (let step = 1; step < 300; step++) {
      trainStep();
      if (step % 100 === 0) counts.push(await drain(afterFirst));
    }
    const final = await drain(afterFirst);
    expect(
      counts.every((c) => c === afterFirst) && final === afterFirst,
      `buffers after GC every 100 steps: ${counts.join(', ')}, final ${final}; after step 1: ${afterFirst}`,
    ).toBe(true);
    // Per step: matmul, add, sub, square, mean (the graph) + grad.mul and p.sub, for w and b.
    expect(memory('cpu').leakedTensors - leakedBefore).toBe(299 * 9);
    const [[w0], [w1], [w2]] = (await w.array()) as number[][];
    expect(Math.abs(w0 - 1) + Math.abs(w1 + 2) + Math.abs(w2 - 0.5)).toBeLessThan(0.05);
  }, 120_000);
});
