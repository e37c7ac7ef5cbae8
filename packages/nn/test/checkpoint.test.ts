/**
 * Gradient checkpointing (issue 11): gradients equal the ordinary run's (inputs and the
 * parameters fn closes over, through dropout: the generator is rewound for the recompute),
 * fewer live buffers after the forward pass (core's memory().buffers), several segments in
 * a row, multi-output segments, and the no-grad / no-input-requires-grad cases.
 */
import '@ghostflow/backend-cpu';
import { type Tensor, getRngState, manualSeed, memory, noGrad, rand, randn, setBackend, tidy } from '@ghostflow/core';
import { Dropout, Linear, Module, ModuleList, Tanh, checkpoint } from '@ghostflow/nn';
import { beforeAll, describe, expect, it, vi } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

function vals(t: Tensor | null): number[] {
  return Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);
}

/** Eight Linear → Tanh → Dropout blocks: many intermediates, and random masks. */
class Deep extends Module {
  blocks = new ModuleList(Array.from({ length: 8 }, () => new ModuleList([new Linear(16, 16), new Tanh(), new Dropout(0.3)])));
  segment(x: Tensor, from: number, to: number): Tensor {
    let h = x;
    for (let i = from; i < to; i++) for (const layer of this.blocks.at(i)) h = (layer as Linear).forward(h);
    return h;
  }
  forward(x: Tensor): Tensor {
    return this.segment(x, 0, 8);
  }
}

function grads(m: Module, x: Tensor): number[][] {
  return [vals(x.grad), ...m.parameters().map((p) => vals(p.grad))];
}

describe('checkpoint', () => {
  it('gives the same gradients as the plain run, through dropout, for inputs and parameters', () => {
    manualSeed(1);
    const m = new Deep();
    const x = randn([4, 16], { requiresGrad: true });
    manualSeed(42);
    m.forward(x).square().sum().backward();
    const plain = grads(m, x);
    m.zeroGrad();
    x.grad = null;
    manualSeed(42);
    const y = checkpoint((h: Tensor) => m.forward(h), x);
    // The forward pass drew the masks once; the recompute replays them and restores the stream.
    const after = getRngState();
    y.square().sum().backward();
    expect(getRngState()).toEqual(after);
    const ck = grads(m, x);
    expect(ck.length).toBe(plain.length);
    ck.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(plain[i][j], 6)));
    // The masks matter: the same run from another seed gives other gradients, so equal
    // gradients above mean the recompute replayed the forward pass's masks.
    m.zeroGrad();
    x.grad = null;
    manualSeed(43);
    checkpoint((h: Tensor) => m.forward(h), x)
      .square()
      .sum()
      .backward();
    expect(vals(x.grad)).not.toEqual(plain[0]);
  });

  it('keeps fewer live buffers after the forward pass', () => {
    manualSeed(1);
    const m = new Deep();
    const x = randn([32, 16], { requiresGrad: true });
    const live = (f: () => Tensor) => {
      const before = memory().buffers;
      const y = f();
      const held = memory().buffers - before;
      y.sum().backward();
      y.dispose();
      return held;
    };
    const plain = live(() => m.forward(x));
    const ck = live(() => checkpoint((h: Tensor) => m.forward(h), x));
    // Plain: every block's saved activations and masks (dozens); checkpointed: the output only.
    expect(plain).toBeGreaterThanOrEqual(24);
    expect(ck).toBeLessThanOrEqual(1);
  });

  it('chains segments and gives the same gradients; leaves nothing behind inside tidy', () => {
    manualSeed(3);
    const m = new Deep().eval();
    const x = randn([2, 16], { requiresGrad: true });
    m.forward(x).sum().backward();
    const plain = grads(m, x);
    m.zeroGrad();
    x.grad = null;
    const before = memory().buffers;
    tidy(() => {
      let h = x;
      for (let s = 0; s < 8; s += 2) h = checkpoint((a: Tensor, from: number) => m.segment(a, from, from + 2), h, s);
      h.sum().backward();
    });
    grads(m, x).forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(plain[i][j], 6)));
    // What stays: one .grad per parameter and x.grad.
    expect(memory().buffers - before).toBe(m.parameters().length + 1);
  });

  it('handles several outputs, and runs fn plainly under noGrad', () => {
    const a = randn([3], { requiresGrad: true });
    const [p, q] = checkpoint((t: Tensor) => [t.mul(2), t.exp()], a);
    p.add(q).sum().backward();
    const ea = vals(a).map((v) => 2 + Math.exp(v));
    vals(a.grad).forEach((g, i) => expect(g).toBeCloseTo(ea[i], 5));
    const out = noGrad(() => checkpoint((t: Tensor) => t.mul(3), a));
    expect(out.requiresGrad).toBe(false);
  });

  it('with no input requiring grad, warns once and runs the segment plainly (parameters still get gradients)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const lin = new Linear(3, 2);
    const y = checkpoint((t: Tensor) => lin.forward(t), rand([4, 3]));
    y.sum().backward();
    expect(lin.weight.grad).not.toBeNull();
    checkpoint((t: Tensor) => lin.forward(t), rand([4, 3]));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/no tensor argument requires grad/);
    warn.mockRestore();
  });
});
