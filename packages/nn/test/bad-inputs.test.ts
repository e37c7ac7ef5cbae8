/**
 * Regression tests for defects a sweep of hostile and careless inputs found in nn: NaN
 * gradients of binaryCrossEntropy at probabilities 0 and 1 and of huberLoss / smoothL1Loss
 * at infinite differences, LinearLR without a ramp, non-module children of containers.
 * Expected values come from PyTorch.
 */
import '@ghostflow/backend-cpu';
import { GhostFlowError, type Tensor, gradients, setBackend, tensor } from '@ghostflow/core';
import { F, Linear, LinearLR, ModuleList, SGD, Sequential } from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const vals = (t: Tensor | null | undefined): number[] => Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);

/** Element-wise closeness with relative tolerance; infinities must match exactly. */
function close(got: number[], want: number[], rtol = 1e-6): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i];
    if (!Number.isFinite(w)) expect(g, `element ${i}`).toBe(w);
    else expect(Math.abs(g - w), `element ${i}: got ${g}, want ${w}`).toBeLessThanOrEqual(1e-6 + rtol * Math.abs(w));
  });
}

describe('binaryCrossEntropy at probabilities of exactly 0 and 1', () => {
  it('has PyTorch gradients (x - t) / max(x (1 - x), 1e-12), not NaN', () => {
    const x = tensor([0, 1, 0.5, 1, 0], { requiresGrad: true });
    const t = tensor([1, 0, 1, 1, 0], { requiresGrad: true });
    const loss = F.binaryCrossEntropy(x, t, { reduction: 'none' });
    close(vals(loss), [100, 100, 0.6931471824645996, 0, 0]);
    const [gx, gt] = gradients(loss.sum(), [x, t]);
    close(vals(gx), [-999999995904.0, 999999995904.0, -2, 0, 0]);
    close(vals(gt), [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
  });
  it('with a weight and the mean reduction', () => {
    const x = tensor([0, 1, 0.5, 1, 0], { requiresGrad: true });
    const loss = F.binaryCrossEntropy(x, tensor([1, 0, 1, 1, 0]), { weight: tensor([2, 1, 1, 3, 1]) });
    close(vals(loss), [60.13862991333008]);
    const [gx] = gradients(loss, [x]);
    close(vals(gx), [-399999991808.0, 199999995904.0, -0.4000000059604645, 0, 0]);
  });
});

describe('huberLoss and smoothL1Loss at infinite differences', () => {
  const input = () => tensor([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1, 0.5, 5], { requiresGrad: true });
  const target = () => tensor([0, 0, 1, 0, Number.POSITIVE_INFINITY]);
  it('huberLoss: gradient +-delta, like PyTorch', () => {
    const x = input();
    const loss = F.huberLoss(x, target(), { delta: 2, reduction: 'none' });
    close(vals(loss), [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 0.125, Number.POSITIVE_INFINITY]);
    close(vals(gradients(loss.sum(), [x])[0]), [2, -2, 0, 0.5, -2]);
  });
  it('smoothL1Loss: gradient +-1, like PyTorch', () => {
    const x = input();
    const loss = F.smoothL1Loss(x, target(), { beta: 2, reduction: 'none' });
    close(vals(loss), [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 0.0625, Number.POSITIVE_INFINITY]);
    close(vals(gradients(loss.sum(), [x])[0]), [1, -1, 0, 0.25, -1]);
  });
});

describe('LinearLR with totalIters 0', () => {
  it('stays at startFactor * lr as in PyTorch, never NaN', () => {
    const opt = new SGD(new Linear(1, 1).parameters(), { lr: 0.1 });
    const s = new LinearLR(opt, { totalIters: 0 });
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 3; i++) {
      s.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    close(lrs, [0.1 / 3, 0.1 / 3, 0.1 / 3, 0.1 / 3], 1e-12);
  });
  it('refuses a negative or fractional totalIters', () => {
    const opt = new SGD(new Linear(1, 1).parameters(), { lr: 0.1 });
    for (const totalIters of [-1, 1.5, Number.NaN]) {
      expect(() => new LinearLR(opt, { totalIters })).toThrow(GhostFlowError);
    }
  });
});

describe('containers refuse children that are not modules', () => {
  it('new Sequential(5) and ModuleList([{}]) throw a GhostFlowError naming the child', () => {
    expect(() => new Sequential(5 as never)).toThrow(/Sequential: child 0 must be a Module, got number 5/);
    expect(() => new Sequential(new Linear(1, 1), null as never)).toThrow(GhostFlowError);
    expect(() => new ModuleList([{} as never])).toThrow(/ModuleList: child 0 must be a Module, got an object \(Object\)/);
  });
});
