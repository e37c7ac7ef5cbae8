/**
 * A PyTorch program written the way PyTorch users write it, ported line by line
 * (tools/torch-cases/inplace_port.py has the original): nn.init.*_ in place, a tied output layer
 * through a transposed view of the embedding taken once before training, in-place ops on an
 * activation and on a view of it, gradients clipped in place, SGD with momentum. The losses
 * and final weights must match PyTorch's, and the cached view must follow every update
 * (loadStateDict and optimizer steps write into the parameters' own buffers).
 */
import '@ghostflow/backend-cpu';
import { type Tensor, memory, noGrad, setBackend, tensor } from '@ghostflow/core';
import { Embedding, Linear, Module, SGD, crossEntropy, init } from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import portCase from './cases/inplace_port.json';

interface CaseTensor {
  data: number[];
  shape: number[];
  dtype: 'float32' | 'int32';
}

function fromCase(t: CaseTensor): Tensor {
  const flat = tensor(t.data, { dtype: t.dtype });
  const out = flat.reshape(t.shape);
  flat.dispose();
  return out;
}

beforeAll(async () => {
  await setBackend('cpu');
});

class TiedModel extends Module {
  readonly emb: Embedding;
  readonly proj: Linear;
  readonly outWeight: Tensor;

  constructor(V: number, H: number) {
    super();
    this.emb = this.registerModule('emb', new Embedding(V, H));
    this.proj = this.registerModule('proj', new Linear(H, H));
    init.uniform_(this.emb.weight, -0.5, 0.5);
    init.xavierUniform_(this.proj.weight);
    init.zeros_(this.proj.bias as Tensor);
    // Tied output layer: a view of the embedding, taken once.
    this.outWeight = this.emb.weight.t();
  }

  forward(x: Tensor): Tensor {
    const e = this.emb.forward(x);
    const h = this.proj.forward(e);
    e.dispose();
    h.mul_(2);
    const col = h.select(1, 0);
    col.zero_();
    col.dispose();
    h.add_(this.proj.bias as Tensor);
    const a = h.tanh();
    const out = a.matmul(this.outWeight);
    for (const t of [h, a]) t.dispose();
    return out;
  }
}

const close = async (got: Tensor, want: CaseTensor, what: string, tol = 2e-5): Promise<void> => {
  expect([...got.shape], what).toEqual(want.shape);
  const g = Array.from(await got.data());
  g.forEach((v, i) => expect(Math.abs(v - want.data[i]), `${what}[${i}]: ${v} vs ${want.data[i]}`).toBeLessThanOrEqual(tol));
};

describe('a PyTorch program with in-place ops, nn.init.*_ and weight tying through a view, ported line by line', () => {
  it('matches PyTorch losses and final weights, and the cached view follows every write', async () => {
    const model = new TiedModel(7, 5);
    const emb = model.emb.weight;
    const params = model.parameters();
    const state = Object.fromEntries(Object.entries(portCase.init).map(([k, v]) => [k, fromCase(v as CaseTensor)]));
    model.loadStateDict(state);
    for (const t of Object.values(state)) t.dispose();
    // The same objects as before the load; the view taken in the constructor sees the loaded values.
    expect(model.emb.weight).toBe(emb);
    expect(model.parameters()).toEqual(params);
    await close(
      model.outWeight,
      { ...(portCase.init['emb.weight'] as CaseTensor), shape: [5, 7], data: transpose(portCase.init['emb.weight'] as CaseTensor) },
      'view after load',
    );

    const opt = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
    const losses: number[] = [];
    let buffersAfterFirst = -1;
    for (let step = 0; step < portCase.xs.length; step++) {
      const x = fromCase(portCase.xs[step] as CaseTensor);
      const y = fromCase(portCase.ys[step] as CaseTensor);
      const logits = model.forward(x);
      const loss = crossEntropy(logits, y);
      opt.zeroGrad();
      loss.backward();
      noGrad(() => {
        for (const p of model.parameters()) (p.grad as Tensor).clamp_(-0.5, 0.5);
      });
      opt.step();
      losses.push(await loss.item());
      for (const t of [x, y, logits, loss]) t.dispose();
      if (step === 0) buffersAfterFirst = memory().buffers;
    }
    losses.forEach((l, i) => expect(Math.abs(l - portCase.losses[i]), `loss ${i}: ${l} vs ${portCase.losses[i]}`).toBeLessThan(2e-5));
    for (const [name, t] of Object.entries(model.stateDict())) await close(t, (portCase.final as Record<string, CaseTensor>)[name], name);
    await close(model.outWeight, portCase.final_out_weight as CaseTensor, 'tied view after training');
    expect(memory().buffers, 'no buffer leaks from step to step without tidy').toBe(buffersAfterFirst);
    opt.dispose();
  });
});

function transpose(t: CaseTensor): number[] {
  const [r, c] = t.shape;
  const out: number[] = [];
  for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out.push(t.data[i * c + j]);
  return out;
}
