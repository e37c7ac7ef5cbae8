/**
 * Optimizers against double-precision JavaScript transcriptions of torch 1.13's update rules,
 * in-place updates seen by modules, parameter groups, clipping, schedulers and flat memory.
 */
import '@ghostflow/backend-cpu';
import { type Tensor, memory, randn, setBackend, tensor } from '@ghostflow/core';
import {
  Adam,
  AdamW,
  CosineAnnealingLR,
  Linear,
  LinearLR,
  RMSprop,
  SGD,
  StepLR,
  clipGradNorm,
  clipGradValue,
  mseLoss,
  type Optimizer,
  type BaseGroupOptions,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const vals = (t: Tensor | null): number[] => Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);

function close(got: number[], want: number[], tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) =>
    expect(Math.abs(v - want[i]), `element ${i}: got ${v}, want ${want[i]}`).toBeLessThanOrEqual(tol + tol * Math.abs(want[i])),
  );
}

// Objective: 0.5 * sum(C * w^2) + sum(B * w), gradient C * w + B.
const W0 = [0.5, -1.5, 2.0];
const C = [1.0, 3.0, 0.5];
const B = [0.2, -0.1, 0.4];
const gradOf = (w: number[]) => w.map((v, i) => C[i] * v + B[i]);

function objective(w: Tensor): Tensor {
  return w
    .square()
    .mul(tensor(C))
    .mul(0.5)
    .add(w.mul(tensor(B)))
    .sum();
}

/** Runs `steps` steps of `make`'s optimizer on the objective; returns w after each step. */
function run(make: (p: Tensor[]) => Optimizer<BaseGroupOptions>, steps: number): number[][] {
  const w = tensor(W0).requiresGrad_();
  const opt = make([w]);
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    objective(w).backward();
    opt.step();
    out.push(vals(w));
  }
  opt.dispose();
  return out;
}

type Ref = (w: number[], g: number[], state: Record<string, number[] | number>, step: number) => number[];

function reference(update: Ref, steps: number): number[][] {
  let w = [...W0];
  const state: Record<string, number[] | number> = {};
  const out: number[][] = [];
  for (let s = 1; s <= steps; s++) {
    w = update(w, gradOf(w), state, s);
    out.push([...w]);
  }
  return out;
}

const zip = (a: number[], b: number[], f: (x: number, y: number) => number) => a.map((v, i) => f(v, b[i]));

function sgdRef(lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean): Ref {
  return (w, g, state) => {
    let d = zip(g, w, (gi, wi) => gi + wd * wi);
    if (momentum !== 0) {
      const prev = state.buf as number[] | undefined;
      const buf = prev ? zip(prev, d, (b, di) => momentum * b + (1 - dampening) * di) : [...d];
      state.buf = buf;
      d = nesterov ? zip(d, buf, (di, b) => di + momentum * b) : buf;
    }
    return zip(w, d, (wi, di) => wi - lr * di);
  };
}

function adamRef(lr: number, b1: number, b2: number, eps: number, wd: number, amsgrad: boolean, decoupled: boolean): Ref {
  return (w0, g0, state, step) => {
    let w = w0;
    let g = g0;
    if (decoupled) w = w.map((v) => v * (1 - lr * wd));
    else if (wd !== 0) g = zip(g, w, (gi, wi) => gi + wd * wi);
    const m = zip((state.m as number[]) ?? [0, 0, 0], g, (mi, gi) => b1 * mi + (1 - b1) * gi);
    const v = zip((state.v as number[]) ?? [0, 0, 0], g, (vi, gi) => b2 * vi + (1 - b2) * gi * gi);
    state.m = m;
    state.v = v;
    let second = v;
    if (amsgrad) {
      second = zip((state.vmax as number[]) ?? [0, 0, 0], v, Math.max);
      state.vmax = second;
    }
    const stepSize = lr / (1 - b1 ** step);
    const bc2 = Math.sqrt(1 - b2 ** step);
    return w.map((wi, i) => wi - (stepSize * m[i]) / (Math.sqrt(second[i]) / bc2 + eps));
  };
}

function rmspropRef(lr: number, alpha: number, eps: number, wd: number, momentum: number, centered: boolean): Ref {
  return (w, g0, state) => {
    const g = wd !== 0 ? zip(g0, w, (gi, wi) => gi + wd * wi) : g0;
    const sq = zip((state.sq as number[]) ?? [0, 0, 0], g, (s, gi) => alpha * s + (1 - alpha) * gi * gi);
    state.sq = sq;
    let avg: number[];
    if (centered) {
      const ga = zip((state.ga as number[]) ?? [0, 0, 0], g, (a, gi) => alpha * a + (1 - alpha) * gi);
      state.ga = ga;
      avg = sq.map((s, i) => Math.sqrt(s - ga[i] * ga[i]) + eps);
    } else avg = sq.map((s) => Math.sqrt(s) + eps);
    if (momentum > 0) {
      const prev = (state.buf as number[] | undefined) ?? [0, 0, 0];
      const buf = prev.map((b, i) => momentum * b + g[i] / avg[i]);
      state.buf = buf;
      return w.map((wi, i) => wi - lr * buf[i]);
    }
    return w.map((wi, i) => wi - (lr * g[i]) / avg[i]);
  };
}

describe('update rules match torch 1.13', () => {
  const STEPS = 6;
  const cases: [string, (p: Tensor[]) => Optimizer<BaseGroupOptions>, Ref][] = [
    ['SGD plain', (p) => new SGD(p, { lr: 0.1 }), sgdRef(0.1, 0, 0, 0, false)],
    [
      'SGD momentum + dampening + weightDecay',
      (p) => new SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }),
      sgdRef(0.05, 0.9, 0.3, 0.01, false),
    ],
    ['SGD nesterov', (p) => new SGD(p, { lr: 0.05, momentum: 0.8, nesterov: true }), sgdRef(0.05, 0.8, 0, 0, true)],
    ['Adam', (p) => new Adam(p, { lr: 0.1 }), adamRef(0.1, 0.9, 0.999, 1e-8, 0, false, false)],
    [
      'Adam amsgrad + L2 weightDecay',
      (p) => new Adam(p, { lr: 0.1, betas: [0.8, 0.99], weightDecay: 0.1, amsgrad: true }),
      adamRef(0.1, 0.8, 0.99, 1e-8, 0.1, true, false),
    ],
    ['AdamW (decoupled decay)', (p) => new AdamW(p, { lr: 0.1, weightDecay: 0.2 }), adamRef(0.1, 0.9, 0.999, 1e-8, 0.2, false, true)],
    ['AdamW default weightDecay 1e-2', (p) => new AdamW(p, { lr: 0.1 }), adamRef(0.1, 0.9, 0.999, 1e-8, 0.01, false, true)],
    ['RMSprop', (p) => new RMSprop(p, { lr: 0.01 }), rmspropRef(0.01, 0.99, 1e-8, 0, 0, false)],
    [
      'RMSprop centered + momentum + weightDecay',
      (p) => new RMSprop(p, { lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 0.05 }),
      rmspropRef(0.01, 0.9, 1e-8, 0.05, 0.5, true),
    ],
  ];
  for (const [name, make, ref] of cases) {
    it(name, () => {
      const got = run(make, STEPS);
      const want = reference(ref, STEPS);
      got.forEach((w, s) => close(w, want[s], 2e-5));
    });
  }
});

describe('Optimizer behaviour', () => {
  it("updates the module's own tensors in place: forward output changes after step", () => {
    const lin = new Linear(2, 1);
    const weight = lin.weight;
    const x = tensor([[1, 2]]);
    const before = vals(lin.forward(x));
    const opt = new SGD(lin.parameters(), { lr: 0.5 });
    mseLoss(lin.forward(x), tensor([[10]])).backward();
    opt.step();
    expect(lin.weight).toBe(weight);
    expect(lin.stateDict().weight).toBe(weight);
    const after = vals(lin.forward(x));
    expect(after[0]).not.toBeCloseTo(before[0], 3);
    expect(after[0]).toBeGreaterThan(before[0]); // moved towards the target 10
  });

  it('param groups carry their own lr; parameters without grad are skipped', () => {
    const a = tensor([1, 1]).requiresGrad_();
    const b = tensor([1, 1]).requiresGrad_();
    const c = tensor([5]).requiresGrad_();
    const opt = new SGD([{ params: [a] }, { params: [b, c], lr: 0.5 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    expect(opt.paramGroups[1].momentum).toBe(0);
    a.add(b).sum().backward(); // c gets no grad
    opt.step();
    close(vals(a), [0.9, 0.9]);
    close(vals(b), [0.5, 0.5]);
    close(vals(c), [5]);
    expect(opt.getState(c)).toBeUndefined();
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    a.sum().backward();
    opt.zeroGrad(false);
    expect(vals(a.grad)).toEqual([0, 0]);
    expect(() => new SGD([a, a.mul(2)], { lr: 0.1 })).toThrow(/leaf/);
    expect(() => new SGD([{ params: [a] }, { params: [a] }])).toThrow(/more than one/);
    expect(() => new SGD([a], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
  });

  it('keeps memory flat across steps (old state tensors are freed)', () => {
    const lin = new Linear(8, 8);
    const x = tensor(new Float32Array(16).fill(0.5), { shape: [2, 8] });
    const y = tensor(new Float32Array(16).fill(1), { shape: [2, 8] });
    for (const make of [
      (p: Tensor[]) => new Adam(p, { amsgrad: true, weightDecay: 0.1 }),
      (p: Tensor[]) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
      (p: Tensor[]) => new RMSprop(p, { momentum: 0.9, centered: true }),
    ]) {
      const opt = make(lin.parameters());
      const once = () => {
        opt.zeroGrad();
        const out = lin.forward(x);
        const loss = mseLoss(out, y);
        loss.backward();
        loss.dispose();
        out.dispose();
        clipGradNorm(lin.parameters(), 1).dispose();
        opt.step();
      };
      once();
      once();
      const buffers = memory().buffers;
      for (let i = 0; i < 10; i++) once();
      expect(memory().buffers).toBe(buffers);
      opt.dispose();
    }
  });
});

describe('gradient clipping', () => {
  it('clipGradNorm scales by maxNorm / (total + 1e-6) and returns the total', () => {
    const a = tensor([3, 0]).requiresGrad_();
    const b = tensor([4]).requiresGrad_();
    a.mul(tensor([1, 0]))
      .sum()
      .mul(3)
      .add(b.mul(4).sum())
      .backward(); // grads [3, 0], [4]
    const total = clipGradNorm([a, b], 1);
    close(vals(total), [5]);
    const coef = 1 / (5 + 1e-6);
    close(vals(a.grad), [3 * coef, 0]);
    close(vals(b.grad), [4 * coef]);
    // Below the limit: unchanged (coefficient clamped to 1).
    const t2 = clipGradNorm([a, b], 10);
    close(vals(t2), [1], 1e-5);
    close(vals(b.grad), [4 * coef]);
  });

  it("clipGradNorm over large and small gradients (small ones reduced together): PyTorch's norm of norms for p = 2, 1, 3, Infinity", () => {
    // 70000 elements: reduced on its own; the others below 2^16 are concatenated first.
    const shapes = [[70000], [3, 4], [5], [300, 250], []];
    for (const normType of [2, 1, 3, Number.POSITIVE_INFINITY]) {
      const params = shapes.map((s) => randn(s).requiresGrad_());
      const grads = shapes.map((s, i) => randn(s).mul(i + 0.5));
      params.forEach((p, i) => {
        p.grad = grads[i].clone();
      });
      // float64 reference: torch.norm(torch.stack([torch.norm(g, p) for g in grads]), p).
      const norms = grads.map((g) => {
        const v = vals(g).map(Math.abs);
        if (normType === Number.POSITIVE_INFINITY) return Math.max(...v);
        return v.reduce((a, x) => a + x ** normType, 0) ** (1 / normType);
      });
      const want =
        normType === Number.POSITIVE_INFINITY ? Math.max(...norms) : norms.reduce((a, x) => a + x ** normType, 0) ** (1 / normType);
      const total = clipGradNorm(params, 0.5, normType);
      close(vals(total), [want]);
      const coef = Math.min(0.5 / (want + 1e-6), 1);
      // One assertion per gradient (the 70000-element one would make as many expects).
      params.forEach((p, i) => {
        const got = vals(p.grad);
        const bad = vals(grads[i]).findIndex((x, j) => !(Math.abs(got[j] - x * coef) <= 1e-5 + 1e-5 * Math.abs(x * coef)));
        expect(bad, `gradient ${i} (p = ${normType}), element ${bad}`).toBe(-1);
      });
    }
  });

  it('supports p = 1 and Infinity norms, and clipGradValue', () => {
    const a = tensor([1, -2, 3]).requiresGrad_();
    a.mul(tensor([1, -2, 3]))
      .sum()
      .backward(); // grad [1, -2, 3]
    close(vals(clipGradNorm(a, 100, 1)), [6]);
    close(vals(clipGradNorm([a], 100, Number.POSITIVE_INFINITY)), [3]);
    clipGradValue([a], 1.5);
    close(vals(a.grad), [1, -1.5, 1.5]);
  });
});

describe('LR schedulers (closed forms)', () => {
  const p = () => [tensor([1]).requiresGrad_()];

  it('StepLR', () => {
    const opt = new SGD(p(), { lr: 1 });
    const s = new StepLR(opt, 2, { gamma: 0.5 });
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 5; i++) {
      s.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    close(lrs, [1, 1, 0.5, 0.5, 0.25, 0.25]);
    expect(s.getLastLr()).toEqual([0.25]);
  });

  it('CosineAnnealingLR', () => {
    const opt = new Adam(p(), { lr: 0.1 });
    const s = new CosineAnnealingLR(opt, 4, { etaMin: 0.01 });
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 4; i++) {
      s.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    close(
      lrs,
      [0, 1, 2, 3, 4].map((e) => 0.01 + (0.09 * (1 + Math.cos((Math.PI * e) / 4))) / 2),
      1e-12,
    );
    expect(lrs[4]).toBeCloseTo(0.01, 12);
  });

  it('LinearLR warm-up (PyTorch docs example: lr 0.05, factor 0.5 over 4 iters)', () => {
    const opt = new SGD([{ params: p() }, { params: p(), lr: 0.1 }], { lr: 0.05 });
    const s = new LinearLR(opt, { startFactor: 0.5, totalIters: 4 });
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 5; i++) {
      s.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    close(lrs, [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05], 1e-12);
    close([opt.paramGroups[1].lr], [0.1], 1e-12);
    expect(opt.paramGroups[0].initialLr).toBe(0.05);
  });
});
