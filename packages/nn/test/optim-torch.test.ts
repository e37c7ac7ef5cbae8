/**
 * The optimizers and LR schedulers against PyTorch 1.13 (test/cases/optim.json, written by
 * tools/torch-cases/optim_schedulers.py): Adagrad/Adamax/NAdam/RAdam trajectories, LBFGS with
 * and without the strong-Wolfe line search (sync and async closures), the small
 * time_sequence_prediction port, and every scheduler's rates over 30 steps, also resumed from
 * `stateDict()` halfway.
 */
import { readFileSync } from 'node:fs';
import '@ghostflow/backend-cpu';
import { type Tensor, cat, setBackend, tensor, tidy, zeros } from '@ghostflow/core';
import {
  Adagrad,
  Adam,
  Adamax,
  type BaseGroupOptions,
  ChainedScheduler,
  ConstantLR,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  CyclicLR,
  ExponentialLR,
  LBFGS,
  LSTM,
  LSTMCell,
  LambdaLR,
  Linear,
  LinearLR,
  type LRScheduler,
  Module,
  MultiStepLR,
  MultiplicativeLR,
  NAdam,
  OneCycleLR,
  type Optimizer,
  PolynomialLR,
  RAdam,
  ReduceLROnPlateau,
  SGD,
  type SchedulerLike,
  SequentialLR,
  StepLR,
  clipGradNorm,
  mseLoss,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

interface Enc {
  shape: number[];
  data: number[];
}
type Json = Record<string, unknown>;
const CASES = JSON.parse(readFileSync(new URL('./cases/optim.json', import.meta.url), 'utf8')) as {
  optimizers: Json[];
  lbfgs: Json[];
  time_sequence: Json;
  schedulers: Json[];
};

beforeAll(async () => {
  await setBackend('cpu');
});

const dec = (e: Enc): Tensor => tensor(e.data).reshape(e.shape);
const vals = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>, Number);

function expectClose(got: number[], want: number[], what: string, atol = 1e-4, rtol = 1e-4): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  got.forEach((v, i) => {
    const ok = Math.abs(v - want[i]) <= atol + rtol * Math.abs(want[i]);
    expect(ok, `${what}[${i}]: got ${v}, expected ${want[i]}`).toBe(true);
  });
}

function camel(c: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(c)) {
    const parts = k.split('_');
    out[
      parts[0].toLowerCase() +
        parts
          .slice(1)
          .map((p) => p[0].toUpperCase() + p.slice(1))
          .join('')
    ] = v;
  }
  return out;
}

/** fixtures.py's Regressor: LSTM(3, 4, batch_first=True) then Linear(4, 1) on the last step. */
class Regressor extends Module {
  readonly lstm = this.registerModule('lstm', new LSTM(3, 4, { batchFirst: true }));
  readonly head = this.registerModule('head', new Linear(4, 1));

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [out] = this.lstm.forward(x);
      return this.head.forward(out.select(1, out.shape[1] - 1));
    });
  }
}

function loadModel<M extends Module>(model: M, sd: Record<string, Enc>): M {
  const dict = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, dec(v)]));
  model.loadStateDict(dict);
  for (const t of Object.values(dict)) t.dispose();
  return model;
}

function expectState(model: Module, want: Record<string, Enc>, what: string, atol = 1e-4, rtol = 1e-4): void {
  const got = model.stateDict();
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const [k, v] of Object.entries(want)) expectClose(vals(got[k]), v.data, `${what} ${k}`, atol, rtol);
}

const OPTIMIZERS: Record<string, (p: Tensor[], c: Json) => Optimizer<BaseGroupOptions>> = {
  Adagrad: (p, c) => new Adagrad(p, c),
  Adamax: (p, c) => new Adamax(p, c),
  NAdam: (p, c) => new NAdam(p, c),
  RAdam: (p, c) => new RAdam(p, c),
};

describe('optimizers vs PyTorch 1.13 trajectories', () => {
  for (const fx of CASES.optimizers) {
    it(`${fx.name}: ${fx.optimizer} ${JSON.stringify(fx.config)}`, () => {
      const model = loadModel(new Regressor(), fx.state_dict as Record<string, Enc>);
      const inputs = fx.inputs as Record<string, Enc>;
      const x = dec(inputs.x);
      const y = dec(inputs.y);
      const params = model.parameters();
      const opt = OPTIMIZERS[fx.optimizer as string](params, camel(fx.config as Json));
      const losses: number[] = [];
      for (let s = 0; s < (fx.losses as number[]).length; s++) {
        opt.zeroGrad();
        const loss = mseLoss(model.forward(x), y);
        losses.push(loss.itemSync());
        loss.backward();
        loss.dispose();
        clipGradNorm(params, 0.5).dispose();
        opt.step();
      }
      expectClose(losses, fx.losses as number[], `${fx.name} losses`);
      expectState(model, fx.final_state_dict as Record<string, Enc>, `${fx.name} final`);
      opt.dispose();
      model.dispose();
    });
  }
});

function rosenbrock(x: Tensor): Tensor {
  return tidy(() => {
    const a = x.select(0, 0);
    const b = x.select(0, 1);
    return a
      .neg()
      .add(1)
      .pow(2)
      .add(b.sub(a.pow(2)).pow(2).mul(100));
  });
}

describe('LBFGS vs PyTorch 1.13', () => {
  for (const fx of CASES.lbfgs) {
    for (const mode of ['sync', 'async'] as const) {
      it(`${fx.name} (${mode} closure): ${JSON.stringify(fx.config)}`, async () => {
        const cfg = camel(fx.config as Json);
        let params: Tensor[];
        let evaluate: () => Tensor;
        let model: Regressor | null = null;
        if (fx.problem === 'rosenbrock') {
          const x = tensor((fx.start as { x: number[] }).x).requiresGrad_();
          params = [x];
          evaluate = () => rosenbrock(x);
        } else {
          const m = loadModel(new Regressor(), fx.state_dict as Record<string, Enc>);
          model = m;
          const inputs = fx.inputs as Record<string, Enc>;
          const x = dec(inputs.x);
          const y = dec(inputs.y);
          params = m.parameters();
          evaluate = () => mseLoss(m.forward(x), y);
        }
        const opt = new LBFGS(params, cfg);
        const closure = () => {
          opt.zeroGrad();
          const loss = evaluate();
          loss.backward();
          return loss;
        };
        const losses: number[] = [];
        for (let s = 0; s < (fx.losses as number[]).length; s++) {
          const loss =
            mode === 'sync'
              ? opt.step(closure)
              : await opt.step(async () => {
                  await Promise.resolve();
                  return closure();
                });
          losses.push(await loss.item());
          loss.dispose();
        }
        const state = opt.getState(params[0]);
        expect(state?.getNumber('func_evals'), 'func_evals').toBe(fx.func_evals);
        expect(state?.getNumber('n_iter'), 'n_iter').toBe(fx.n_iter);
        // Rosenbrock's valley amplifies float32 rounding (PyTorch fuses `p.add_(d, alpha=t)` into
        // one FMA; here it is a rounded multiply and add) over 18 iterations: a looser bound.
        const tol = fx.problem === 'rosenbrock' ? 1e-3 : 1e-4;
        expectClose(losses, fx.losses as number[], `${fx.name} losses`, tol, tol);
        if (model) expectState(model, fx.final_state_dict as Record<string, Enc>, `${fx.name} final`);
        else expectClose(vals(params[0]), ((fx.final as Record<string, Enc>).x as Enc).data, `${fx.name} x`, tol, tol);
        opt.dispose();
        model?.dispose();
      });
    }
  }

  it('refuses a missing closure and parameter groups', () => {
    const x = tensor([1, 2]).requiresGrad_();
    const opt = new LBFGS([x]);
    expect(() => opt.step()).toThrow(/expected a closure/);
    expect(() => opt.addParamGroup({ params: [tensor([1]).requiresGrad_()] })).toThrow(/parameter groups/);
    expect(() => new LBFGS([x], { lineSearchFn: 'backtracking' as 'strong_wolfe' })).toThrow(/only 'strong_wolfe'/);
  });
});

/** pytorch/examples time_sequence_prediction's Sequence, with `hidden` units. */
class Sequence extends Module {
  readonly lstm1: LSTMCell;
  readonly lstm2: LSTMCell;
  readonly linear: Linear;

  constructor(readonly hidden: number) {
    super();
    this.lstm1 = this.registerModule('lstm1', new LSTMCell(1, hidden));
    this.lstm2 = this.registerModule('lstm2', new LSTMCell(hidden, hidden));
    this.linear = this.registerModule('linear', new Linear(hidden, 1));
  }

  forward(input: Tensor, future = 0): Tensor {
    return tidy(() => {
      const b = input.shape[0];
      let [h, c, h2, c2] = [0, 1, 2, 3].map(() => zeros([b, this.hidden]));
      const outputs: Tensor[] = [];
      const advance = (x: Tensor): Tensor => {
        [h, c] = this.lstm1.forward(x, [h, c]);
        [h2, c2] = this.lstm2.forward(h, [h2, c2]);
        const out = this.linear.forward(h2);
        outputs.push(out);
        return out;
      };
      let out = zeros([b, 1]);
      for (let t = 0; t < input.shape[1]; t++) out = advance(input.narrow(1, t, 1));
      for (let f = 0; f < future; f++) out = advance(out);
      return cat(outputs, 1);
    });
  }
}

describe('time_sequence_prediction (pytorch/examples) with LBFGS and a closure', () => {
  it('matches PyTorch: step losses, final weights and the extrapolation', () => {
    const fx = CASES.time_sequence;
    const model = loadModel(new Sequence(8), fx.state_dict as Record<string, Enc>);
    const inputs = fx.inputs as Record<string, Enc>;
    const [input, target, testInput, testTarget] = ['input', 'target', 'test_input', 'test_target'].map((k) => dec(inputs[k]));
    const opt = new LBFGS(model.parameters(), camel(fx.config as Json));
    const losses: number[] = [];
    for (let i = 0; i < (fx.losses as number[]).length; i++) {
      const loss = opt.step(() => {
        opt.zeroGrad();
        return tidy(() => {
          const l = mseLoss(model.forward(input), target);
          l.backward();
          return l;
        });
      });
      losses.push(loss.itemSync());
      loss.dispose();
    }
    expectClose(losses, fx.losses as number[], 'losses', 1e-4, 1e-3);
    expectState(model, fx.final_state_dict as Record<string, Enc>, 'final', 2e-4, 2e-3);
    const future = fx.future as number;
    const pred = model.forward(testInput, future);
    expectClose(vals(pred), (fx.prediction as Enc).data, 'prediction', 2e-4, 2e-3);
    const testLoss = mseLoss(pred.narrow(1, 0, pred.shape[1] - future), testTarget).itemSync();
    expectClose([testLoss], [fx.test_loss as number], 'test loss', 1e-5, 1e-3);
    opt.dispose();
    model.dispose();
  });
});

const LAMBDAS: Record<string, (e: number) => number> = {
  pow095: (e) => 0.95 ** e,
  warmup10: (e) => Math.min(1, (e + 1) / 10),
  const09: () => 0.9,
  alt: (e) => (e % 2 ? 0.8 : 1.05),
};

interface Spec {
  kind: string;
  args?: Json;
}

function makeOptimizer(kind: string): Optimizer<BaseGroupOptions> {
  const groups = [{ params: [zeros([2]).requiresGrad_()] }, { params: [zeros([3]).requiresGrad_()], lr: 0.05 }];
  return kind === 'adam' ? new Adam(groups, { lr: 0.1 }) : new SGD(groups, { lr: 0.1, momentum: 0.9 });
}

function build(opt: Optimizer<BaseGroupOptions>, spec: Spec): LRScheduler | ReduceLROnPlateau {
  const a = camel(spec.args ?? {}) as Record<string, never>;
  const fns = () => (Array.isArray(a.lrLambda) ? (a.lrLambda as string[]).map((f) => LAMBDAS[f]) : LAMBDAS[a.lrLambda as string]);
  switch (spec.kind) {
    case 'LambdaLR':
      return new LambdaLR(opt, fns());
    case 'MultiplicativeLR':
      return new MultiplicativeLR(opt, fns());
    case 'StepLR':
      return new StepLR(opt, a.stepSize, a);
    case 'MultiStepLR':
      return new MultiStepLR(opt, a.milestones, a);
    case 'ExponentialLR':
      return new ExponentialLR(opt, a.gamma);
    case 'CosineAnnealingLR':
      return new CosineAnnealingLR(opt, a.tMax, a);
    case 'CosineAnnealingWarmRestarts':
      return new CosineAnnealingWarmRestarts(opt, a.t0, a);
    case 'OneCycleLR':
      return new OneCycleLR(opt, a.maxLr, a);
    case 'CyclicLR':
      return new CyclicLR(opt, a.baseLr, a.maxLr, a);
    case 'ConstantLR':
      return new ConstantLR(opt, a);
    case 'LinearLR':
      return new LinearLR(opt, a);
    case 'PolynomialLR':
      return new PolynomialLR(opt, a);
    case 'SequentialLR':
      return new SequentialLR(
        opt,
        (a.schedulers as Spec[]).map((s) => build(opt, s) as LRScheduler),
        a.milestones,
      );
    case 'ChainedScheduler':
      return new ChainedScheduler((a.schedulers as Spec[]).map((s) => build(opt, s) as LRScheduler));
    case 'ReduceLROnPlateau':
      return new ReduceLROnPlateau(opt, a);
    default:
      throw new Error(`no builder for ${spec.kind}`);
  }
}

function stepOnce(s: LRScheduler | ReduceLROnPlateau, fx: Json, i: number): void {
  if (s instanceof ReduceLROnPlateau) s.step((fx.metrics as number[])[i]);
  else if (fx.epochs) s.step((fx.epochs as number[])[i]);
  else s.step();
}

const momenta = (opt: Optimizer<BaseGroupOptions>) =>
  opt.paramGroups.map((g) => {
    const r = g as unknown as { betas?: number[]; momentum?: number };
    return r.betas ? r.betas[0] : (r.momentum as number);
  });

describe('LR schedulers vs PyTorch 1.13 (30 steps, two groups)', () => {
  for (const fx of CASES.schedulers) {
    const spec = fx.scheduler as Spec;
    const want = fx.lrs as number[][];
    it(`${fx.name}: ${spec.kind}`, () => {
      const opt = makeOptimizer(fx.optimizer as string);
      const s = build(opt, spec);
      const got = [s.getLastLr()];
      const mom = [momenta(opt)];
      for (let i = 0; i < want.length - 1; i++) {
        stepOnce(s, fx, i);
        got.push(s.getLastLr());
        mom.push(momenta(opt));
      }
      expectClose(got.flat(), want.flat(), `${fx.name} lrs`, 1e-12, 1e-9);
      if (fx.momenta) expectClose(mom.flat(), (fx.momenta as number[][]).flat(), `${fx.name} momenta`, 1e-12, 1e-9);
      expect(opt.paramGroups.map((g) => g.lr)).toEqual(got[got.length - 1]);
    });

    it(`${fx.name}: resumed from stateDict() at step 15 continues the same rates`, () => {
      const opt = makeOptimizer(fx.optimizer as string);
      const s = build(opt, spec);
      for (let i = 0; i < 15; i++) stepOnce(s, fx, i);
      const savedOpt = opt.stateDict();
      const saved = structuredClone((s as SchedulerLike).stateDict());
      const opt2 = makeOptimizer(fx.optimizer as string);
      const s2 = build(opt2, spec);
      opt2.loadStateDict(savedOpt);
      s2.loadStateDict(saved);
      const got = [s2.getLastLr()];
      for (let i = 15; i < want.length - 1; i++) {
        stepOnce(s2, fx, i);
        got.push(s2.getLastLr());
      }
      expectClose(got.flat(), want.slice(15).flat(), `${fx.name} resumed lrs`, 1e-12, 1e-9);
    });
  }

  it('refuses bad arguments and foreign state with clear errors', () => {
    const opt = makeOptimizer('sgd');
    expect(() => new SequentialLR(opt, [new StepLR(opt, 2)], [3])).toThrow(/one more scheduler than milestones/);
    expect(() => new SequentialLR(opt, [new StepLR(makeOptimizer('sgd'), 2)], [])).toThrow(/same optimizer/);
    expect(() => new ReduceLROnPlateau(opt, { factor: 1 })).toThrow(/factor should be < 1.0/);
    expect(() => new OneCycleLR(opt, 0.1)).toThrow(/totalSteps OR/);
    expect(() => new CosineAnnealingWarmRestarts(opt, 0)).toThrow(/positive integer t0/);
    expect(() => new StepLR(opt, 3).loadStateDict(new ExponentialLR(opt, 0.9).stateDict())).toThrow(/missing keys: stepSize/);
    const fresh = makeOptimizer('sgd');
    for (const g of fresh.paramGroups) g.initialLr = undefined;
    expect(() => new StepLR(fresh, 3, { lastEpoch: 4 })).toThrow(/initialLr/);
  });
});
