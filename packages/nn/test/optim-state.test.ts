/**
 * Optimizer state dicts in PyTorch's layout (resume equivalence, validation, copying into
 * existing state) and `step(closure)`'s contract (sync, async, refused non-functions).
 */
import '@ghostflow/backend-cpu';
import { type Tensor, manualSeed, randn, setBackend, tensor } from '@ghostflow/core';
import {
  Adagrad,
  Adam,
  AdamW,
  Adamax,
  type BaseGroupOptions,
  Linear,
  NAdam,
  type Optimizer,
  type ParamsInput,
  RAdam,
  RMSprop,
  SGD,
  disposeOptimizerStateDict,
  mseLoss,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

type Make = (p: ParamsInput<BaseGroupOptions>) => Optimizer<BaseGroupOptions>;
const MAKERS: Record<string, Make> = {
  SGD: (p) => new SGD(p as never, { lr: 0.05, momentum: 0.9 }),
  Adam: (p) => new Adam(p as never, { lr: 0.01, amsgrad: true }),
  AdamW: (p) => new AdamW(p as never, { lr: 0.01 }),
  RMSprop: (p) => new RMSprop(p as never, { lr: 0.01, centered: true, momentum: 0.5 }),
  Adagrad: (p) => new Adagrad(p as never, { lr: 0.1 }),
  Adamax: (p) => new Adamax(p as never),
  NAdam: (p) => new NAdam(p as never),
  RAdam: (p) => new RAdam(p as never),
};

function problem(seed: number) {
  manualSeed(seed);
  const model = new Linear(3, 2);
  return model;
}

function trainSteps(model: Linear, opt: Optimizer<BaseGroupOptions>, x: Tensor, y: Tensor, n: number): number[] {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = mseLoss(model.forward(x), y);
      l.backward();
      return l;
    });
    losses.push(loss.itemSync());
    loss.dispose();
  }
  return losses;
}

describe('Optimizer.stateDict / loadStateDict', () => {
  for (const [name, make] of Object.entries(MAKERS)) {
    it(`${name}: a fresh optimizer loaded from stateDict() continues exactly like the original`, () => {
      manualSeed(1);
      const x = randn([6, 3]);
      const y = randn([6, 2]);
      const a = problem(2);
      const optA = make([{ params: [a.weight] }, { params: [a.bias as Tensor], lr: 0.02 }]);
      trainSteps(a, optA, x, y, 3);
      const sd = optA.stateDict();
      expect(Object.keys(sd.state)).toEqual(['0', '1']);
      expect(sd.paramGroups.map((g) => g.params)).toEqual([[0], [1]]);
      expect(sd.paramGroups[1].lr).toBe(0.02);

      const b = problem(3);
      b.loadStateDict(a.stateDict());
      const optB = make([{ params: [b.weight] }, { params: [b.bias as Tensor] }]);
      optB.loadStateDict(sd);
      disposeOptimizerStateDict(sd);
      expect(optB.paramGroups[1].lr).toBe(0.02);
      const wantLosses = trainSteps(a, optA, x, y, 3);
      expect(trainSteps(b, optB, x, y, 3)).toEqual(wantLosses);
      expect(Array.from(b.weight.dataSync())).toEqual(Array.from(a.weight.dataSync()));
    });
  }

  it("uses PyTorch's names and copies into the existing state tensors", () => {
    manualSeed(4);
    const m = problem(4);
    const opt = new Adam(m.parameters(), { lr: 0.1 });
    const x = randn([4, 3]);
    const y = randn([4, 2]);
    trainSteps(m, opt, x, y, 2);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state[0]).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
    expect(sd.state[0].step).toBe(2);
    expect(sd.paramGroups[0]).toMatchObject({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [0, 1] });
    const own = opt.getState(m.weight)?.get('exp_avg') as Tensor;
    const zeroed = sd.state[0].exp_avg as Tensor;
    zeroed.copy_(tensor(0));
    opt.loadStateDict(sd);
    expect(opt.getState(m.weight)?.get('exp_avg')).toBe(own);
    expect(Array.from(own.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    disposeOptimizerStateDict(sd);
    expect(own.isDisposed).toBe(false);
  });

  it('validates group count, group sizes, shapes and indices before changing anything', () => {
    const m = problem(5);
    const opt = new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
    const x = randn([4, 3]);
    const y = randn([4, 2]);
    trainSteps(m, opt, x, y, 1);
    const sd = opt.stateDict();
    const two = new SGD([{ params: [m.weight] }, { params: [m.bias as Tensor] }], { lr: 0.1 });
    expect(() => two.loadStateDict(sd)).toThrow(/loaded state dict has 1 parameter groups, the optimizer has 2/);
    const one = new SGD([m.weight], { lr: 0.1 });
    expect(() => one.loadStateDict(sd)).toThrow(/parameter group 0 has 2 parameters in the state dict but 1 in the optimizer/);
    const swapped = new SGD([m.bias as Tensor, m.weight], { lr: 0.5, momentum: 0.9 });
    expect(() => swapped.loadStateDict(sd)).toThrow(/state 0 'momentum_buffer' has shape \[2, 3\] but the parameter's state needs \[2\]/);
    expect(swapped.paramGroups[0].lr).toBe(0.5);
    const bad = { state: { 7: sd.state[0] }, paramGroups: sd.paramGroups };
    expect(() => opt.loadStateDict(bad)).toThrow(/parameter index 7, which no parameter group lists/);
    disposeOptimizerStateDict(sd);
  });
});

describe('Optimizer.step(closure)', () => {
  it('runs the closure with grad enabled, updates, and returns its loss (sync)', () => {
    manualSeed(6);
    const x = randn([4, 3]);
    const y = randn([4, 2]);
    const a = problem(7);
    const b = problem(7);
    const optA = new SGD(a.parameters(), { lr: 0.1 });
    const optB = new SGD(b.parameters(), { lr: 0.1 });
    let calls = 0;
    const loss = optA.step(() => {
      calls++;
      optA.zeroGrad();
      const l = mseLoss(a.forward(x), y);
      l.backward();
      return l;
    });
    expect(calls).toBe(1);
    optB.zeroGrad();
    const l = mseLoss(b.forward(x), y);
    l.backward();
    optB.step();
    expect(loss.itemSync()).toBe(l.itemSync());
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
  });

  it('returns a Promise for an async closure and updates only after it settles', async () => {
    manualSeed(8);
    const x = randn([4, 3]);
    const y = randn([4, 2]);
    const m = problem(9);
    const before = Array.from(m.weight.dataSync());
    const opt = new Adam(m.parameters(), { lr: 0.1 });
    const pending = opt.step(async () => {
      opt.zeroGrad();
      const l = mseLoss(m.forward(x), y);
      l.backward();
      await Promise.resolve();
      return l;
    });
    expect(pending).toBeInstanceOf(Promise);
    expect(Array.from(m.weight.dataSync())).toEqual(before);
    const loss = await pending;
    expect(loss.itemSync()).toBeGreaterThan(0);
    expect(Array.from(m.weight.dataSync())).not.toEqual(before);
  });

  it('refuses a closure that is not a function (never ignores it)', () => {
    const m = problem(10);
    const opt = new SGD(m.parameters(), { lr: 0.1 });
    expect(() => opt.step(42 as never)).toThrow(/expected a closure/);
  });
});
