/**
 * PyTorch golden cases for the basic layers, activations, losses and optimizers: every
 * `act_*` and `loss_*` (functional) case, `linear`, `embedding`, `layernorm`, and every
 * `optim_*` case. Values of every output, then the gradient of sum(output * G) for every
 * float input (by name) and parameter (by state_dict name).
 */
import '@ghostflow/backend-cpu';
import { type FixtureTensor, type TorchFixture, fixtureTensor, listFixtures, loadFixture } from '@ghostflow/backend-conformance';
import { type Tensor, setBackend, tidy } from '@ghostflow/core';
import {
  Adam,
  AdamW,
  Embedding,
  F,
  LSTM,
  LayerNorm,
  Linear,
  Module,
  type Optimizer,
  type BaseGroupOptions,
  SGD,
  clipGradNorm,
  mseLoss,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

type Tol = { atol: number; rtol: number };

/** Asserts `actual` equals `expected` within `|a-b| <= atol + rtol*|b|`, naming `label`. */
function expectClose(actual: Tensor | null | undefined, expected: FixtureTensor, tol: Tol, label: string): void {
  expect(actual, `${label}: missing`).toBeTruthy();
  const a = actual as Tensor;
  expect([...a.shape], `${label}: shape`).toEqual(expected.shape);
  const got = Array.from(a.dataSync() as ArrayLike<number>, Number);
  const want = (expected.data as number[]).map(Number);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol.atol + tol.rtol * Math.abs(want[i]))) bad.push(`[${i}] got ${got[i]} want ${want[i]}`);
  }
  expect(bad, `${label}: ${bad.length} of ${want.length} elements off (atol ${tol.atol}, rtol ${tol.rtol})`).toEqual([]);
}

function num(config: Record<string, unknown>, key: string, fallback: number): number {
  const v = config[key];
  return typeof v === 'number' ? v : fallback;
}

type Inputs = Record<string, Tensor>;
type Cfg = Record<string, unknown>;

/** torch.nn.functional name → our call, returning the output(s) by the fixture's names. */
const FUNCTIONAL: Record<string, (x: Inputs, c: Cfg) => Record<string, Tensor>> = {
  relu: (x) => ({ output: F.relu(x.input) }),
  // The case's config omits negative_slope, but its values were made with 0.1 (output/input = 0.1
  // for every negative input), not PyTorch's default 0.01.
  leaky_relu: (x, c) => ({ output: F.leakyRelu(x.input, num(c, 'negative_slope', 0.1)) }),
  gelu: (x) => ({ output: F.gelu(x.input) }),
  gelu_tanh: (x) => ({ output: F.gelu(x.input, { approximate: 'tanh' }) }),
  silu: (x) => ({ output: F.silu(x.input) }),
  mish: (x) => ({ output: F.mish(x.input) }),
  elu: (x, c) => ({ output: F.elu(x.input, num(c, 'alpha', 1)) }),
  selu: (x) => ({ output: F.selu(x.input) }),
  tanh: (x) => ({ output: F.tanh(x.input) }),
  sigmoid: (x) => ({ output: F.sigmoid(x.input) }),
  softplus: (x, c) => ({ output: F.softplus(x.input, num(c, 'beta', 1), num(c, 'threshold', 20)) }),
  softmax: (x, c) => ({ output: F.softmax(x.input, num(c, 'dim', -1)) }),
  log_softmax: (x, c) => ({ output: F.logSoftmax(x.input, num(c, 'dim', -1)) }),
  mse_loss: (x) => ({ loss: F.mseLoss(x.input, x.target) }),
  l1_loss: (x) => ({ loss: F.l1Loss(x.input, x.target) }),
  huber_loss: (x, c) => ({ loss: F.huberLoss(x.input, x.target, { delta: num(c, 'delta', 1) }) }),
  smooth_l1_loss: (x, c) => ({ loss: F.smoothL1Loss(x.input, x.target, { beta: num(c, 'beta', 1) }) }),
  binary_cross_entropy_with_logits: (x) => ({ loss: F.binaryCrossEntropyWithLogits(x.input, x.target) }),
  nll_loss: (x, c) => ({ loss: F.nllLoss(x.input, x.target, { ignoreIndex: num(c, 'ignore_index', -100) }) }),
  cross_entropy: (x, c) => ({
    loss: F.crossEntropy(x.input, x.target, { ignoreIndex: num(c, 'ignore_index', -100), labelSmoothing: num(c, 'label_smoothing', 0) }),
  }),
  sigmoid_focal_loss: (x, c) => ({
    loss: F.sigmoidFocalLoss(x.input, x.target, {
      alpha: num(c, 'alpha', 0.25),
      gamma: num(c, 'gamma', 2),
      reduction: (c.reduction as F.Reduction | undefined) ?? 'none',
    }),
  }),
  triplet_margin_loss: (x, c) => ({
    loss: F.tripletMarginLoss(x.anchor, x.positive, x.negative, { margin: num(c, 'margin', 1), p: num(c, 'p', 2) }),
  }),
  cosine_embedding_loss: (x, c) => ({ loss: F.cosineEmbeddingLoss(x.input1, x.input2, x.target, { margin: num(c, 'margin', 0) }) }),
};

const MODULE_CASES = ['linear', 'embedding', 'layernorm'];

function buildModule(fx: TorchFixture): Module {
  const c = fx.config;
  switch (fx.module) {
    case 'Linear':
      return new Linear(c.in_features as number, c.out_features as number, { bias: (c.bias as boolean | undefined) ?? true });
    case 'Embedding':
      return new Embedding(c.num_embeddings as number, c.embedding_dim as number, {
        paddingIdx: (c.padding_idx as number | null | undefined) ?? null,
      });
    case 'LayerNorm':
      return new LayerNorm(c.normalized_shape as number[], {
        eps: num(c, 'eps', 1e-5),
        elementwiseAffine: (c.elementwise_affine as boolean | undefined) ?? true,
      });
    default:
      throw new Error(`unexpected module ${fx.module}`);
  }
}

function loadInputs(fx: TorchFixture): Inputs {
  const inputs: Inputs = {};
  for (const [k, spec] of Object.entries(fx.inputs)) {
    const t = fixtureTensor(spec);
    if (t.dtype === 'float32') t.requiresGrad = true;
    inputs[k] = t;
  }
  return inputs;
}

/** Compares outputs, backpropagates sum(output * G) and compares every listed gradient. */
function checkCase(fx: TorchFixture, outputs: Record<string, Tensor>, inputs: Inputs, params: Record<string, Tensor>): void {
  expect(Object.keys(outputs).sort()).toEqual(Object.keys(fx.outputs).sort());
  for (const [k, spec] of Object.entries(fx.outputs)) expectClose(outputs[k], spec, fx.tol, `${fx.name} output '${k}'`);
  let loss: Tensor | null = null;
  for (const [k, g] of Object.entries(fx.grad_weights)) {
    const term = outputs[k].mul(fixtureTensor(g)).sum();
    loss = loss ? loss.add(term) : term;
  }
  expect(loss, `${fx.name}: has a float output`).not.toBeNull();
  (loss as Tensor).backward();
  expect(Object.keys(fx.grads).length).toBeGreaterThan(0);
  for (const [k, spec] of Object.entries(fx.grads)) {
    const owner = inputs[k] ?? params[k];
    expect(owner, `${fx.name}: grad target '${k}' exists`).toBeDefined();
    expectClose(owner.grad, spec, fx.tol, `${fx.name} grad '${k}'`);
  }
}

const all = listFixtures();
const functionalCases = all.filter((n) => /^(act|loss)_/.test(n));
const optimCases = all.filter((n) => n.startsWith('optim_'));

describe('functional fixtures (act_*, loss_*)', () => {
  it('finds them on disk', () => {
    expect(functionalCases.length).toBeGreaterThanOrEqual(25);
  });
  for (const name of functionalCases) {
    it(name, () => {
      const fx = loadFixture(name);
      expect(fx.module).toBe('functional');
      const fnName = fx.config.fn as string;
      const fn = FUNCTIONAL[fnName];
      expect(fn, `no mapping for torch.nn.functional.${fnName}`).toBeDefined();
      const inputs = loadInputs(fx);
      checkCase(fx, fn(inputs, fx.config), inputs, {});
    });
  }
});

describe('module fixtures (Linear, Embedding, LayerNorm)', () => {
  for (const name of MODULE_CASES) {
    it(name, () => {
      const fx = loadFixture(name);
      const module = buildModule(fx);
      expect(Object.keys(module.stateDict()), 'state_dict keys (PyTorch order)').toEqual(Object.keys(fx.state_dict));
      module.loadStateDict(Object.fromEntries(Object.entries(fx.state_dict).map(([k, v]) => [k, fixtureTensor(v)])));
      const inputs = loadInputs(fx);
      const output = (module as Linear).forward(inputs.input);
      checkCase(fx, { output }, inputs, module.stateDict());
    });
  }
});

/** LSTM(3, 4, batchFirst) then Linear(4, 1) on the last step, as the optim_* cases. */
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

function buildOptimizer(fx: TorchFixture, params: Tensor[]): Optimizer<BaseGroupOptions> {
  const c = fx.config;
  const lr = c.lr as number;
  const weightDecay = num(c, 'weight_decay', fx.optimizer === 'AdamW' ? 1e-2 : 0);
  switch (fx.optimizer) {
    case 'SGD':
      return new SGD(params, {
        lr,
        momentum: num(c, 'momentum', 0),
        dampening: num(c, 'dampening', 0),
        nesterov: (c.nesterov as boolean | undefined) ?? false,
        weightDecay,
      });
    case 'Adam':
    case 'AdamW': {
      const options = {
        lr,
        betas: (c.betas as [number, number] | undefined) ?? [0.9, 0.999],
        eps: num(c, 'eps', 1e-8),
        weightDecay,
        amsgrad: (c.amsgrad as boolean | undefined) ?? false,
      };
      return fx.optimizer === 'Adam' ? new Adam(params, options) : new AdamW(params, options);
    }
    default:
      throw new Error(`unexpected optimizer ${String(fx.optimizer)}`);
  }
}

describe('optimizer fixtures (optim_*)', () => {
  it('finds them on disk', () => {
    expect(optimCases.length).toBeGreaterThanOrEqual(5);
  });
  for (const name of optimCases) {
    it(name, () => {
      const fx = loadFixture(name);
      const model = new Regressor();
      expect(Object.keys(model.stateDict())).toEqual(Object.keys(fx.state_dict));
      model.loadStateDict(Object.fromEntries(Object.entries(fx.state_dict).map(([k, v]) => [k, fixtureTensor(v)])));
      const x = fixtureTensor(fx.inputs.x);
      const y = fixtureTensor(fx.inputs.y);
      const params = model.parameters();
      const optimizer = buildOptimizer(fx, params);
      const losses: number[] = [];
      for (let i = 0; i < 5; i++) {
        optimizer.zeroGrad();
        const loss = mseLoss(model.forward(x), y);
        losses.push(loss.itemSync());
        loss.backward();
        loss.dispose();
        clipGradNorm(params, 0.5).dispose();
        optimizer.step();
      }
      const want = fx.losses as number[];
      for (let i = 0; i < 5; i++)
        expect(Math.abs(losses[i] - want[i]), `loss ${i}: got ${losses[i]}, want ${want[i]}`).toBeLessThanOrEqual(
          fx.tol.atol + fx.tol.rtol * Math.abs(want[i]),
        );
      const final = fx.final_state_dict as Record<string, FixtureTensor>;
      const state = model.stateDict();
      expect(Object.keys(state)).toEqual(Object.keys(final));
      for (const [k, spec] of Object.entries(final)) expectClose(state[k], spec, fx.tol, `${name} final '${k}'`);
      optimizer.dispose();
    });
  }
});
