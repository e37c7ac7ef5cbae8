/**
 * Every line of docs/porting-from-pytorch.md, executed: each `it` is named after the PyTorch
 * idiom of its table row and asserts the values the GhostFlow form gives.
 */
import '@ghostflow/backend-cpu';
import {
  Generator,
  Scope,
  type Tensor,
  argmax,
  keep,
  linear,
  manualSeed,
  memory,
  multinomial,
  noGrad,
  ones,
  randn,
  setBackend,
  tensor,
  tidy,
  topk,
  zeros,
} from '@ghostflow/core';
import {
  Adam,
  DataLoader,
  Embedding,
  GRU,
  LBFGS,
  LSTMCell,
  Linear,
  Module,
  SGD,
  StepLR,
  TensorDataset,
  clipGradNorm,
  crossEntropy,
  loadSafetensors,
  sampleLogits,
  saveSafetensors,
} from '@ghostflow/nn';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '@ghostflow/nn/node';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const values = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

describe('porting from PyTorch: each idiom of docs/porting-from-pytorch.md', () => {
  it('loss.item() → await loss.item(), or loss.itemSync() on cpu', async () => {
    const loss = tensor([1.5, 2.5]).mean();
    expect(loss.item()).toBeInstanceOf(Promise);
    expect(await loss.item()).toBe(2);
    expect(loss.itemSync()).toBe(2);
    loss.dispose();
  });

  it('x.size(0) / x.shape[0] → x.shape[0]; x.numel() → x.size; x.dim() → x.rank', () => {
    const x = zeros([3, 4]);
    expect(x.shape[0]).toBe(3);
    expect(x.size).toBe(12);
    expect(x.rank).toBe(2);
    x.dispose();
  });

  it('model(x) → model.forward(x)', () => {
    manualSeed(0);
    const lin = new Linear(2, 1);
    noGrad(() => {
      lin.weight.copy_(tensor([[2, 3]]));
      (lin.bias as Tensor).fill_(1);
    });
    const y = lin.forward(tensor([[1, 1]]));
    expect(values(y)).toEqual([6]);
  });

  it('torch.long indices → int32 tensors (Embedding, crossEntropy targets, argmax results)', () => {
    const ids = tensor([0, 2], { dtype: 'int32' });
    const emb = new Embedding(3, 2);
    expect(emb.forward(ids).shape).toEqual([2, 2]);
    const am = argmax(tensor([[0, 5, 1]]), -1);
    expect(am.dtype).toBe('int32');
    expect(values(am)).toEqual([1]);
    expect(() => emb.forward(tensor([0, 2]))).toThrow(/int32/);
  });

  it('x.add_(y), x.mul_(2), x.copy_(y), x.zero_() → the same in-place methods (views see the writes)', () => {
    const x = tensor([1, 2, 3, 4]);
    const head = x.narrow(0, 0, 2);
    x.add_(tensor([1, 1, 1, 1])).mul_(2);
    expect(values(head)).toEqual([4, 6]);
    head.copy_(tensor([0, 0]));
    expect(values(x)).toEqual([0, 0, 8, 10]);
    x.zero_();
    expect(values(x)).toEqual([0, 0, 0, 0]);
  });

  it('with torch.no_grad(): ... → noGrad(() => ...)', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => w.mul(3));
    expect(y.requiresGrad).toBe(false);
    noGrad(() => w.sub_(tensor([0.5, 0.5]))); // an update of a leaf that requires grad
    expect(values(w)).toEqual([0.5, 1.5]);
  });

  it('weight tying (decoder.weight = encoder.weight) → use the one parameter in both places', () => {
    class Tied extends Module {
      readonly encoder: Embedding;
      readonly decoderBias: Tensor;
      constructor() {
        super();
        this.encoder = this.registerModule('encoder', new Embedding(5, 3));
        this.decoderBias = this.registerParameter('decoder_bias', zeros([5], { requiresGrad: true }));
      }
      forward(x: Tensor): Tensor {
        return linear(this.encoder.forward(x), this.encoder.weight, this.decoderBias);
      }
    }
    manualSeed(1);
    const m = new Tied();
    expect(m.parameters().length).toBe(2); // the shared weight once
    const loss = crossEntropy(m.forward(tensor([1, 3], { dtype: 'int32' })), tensor([3, 1], { dtype: 'int32' }));
    loss.backward();
    // The gradient of the tied weight sums the input-embedding and the output-projection uses:
    // rows never looked up (0, 2, 4) still get the projection's gradient.
    const g = m.encoder.weight.grad as Tensor;
    expect(values(g.narrow(0, 0, 1)).some((v) => v !== 0)).toBe(true);
  });

  it("hidden = repackage_hidden(hidden) across batches → return hN.detach() from the step's tidy(), dispose the old hidden", () => {
    manualSeed(2);
    const gru = new GRU(3, 4, { batchFirst: true });
    const opt = new SGD(gru.parameters(), { lr: 0.1 });
    let hidden = zeros([1, 2, 4]);
    const buffers: number[] = [];
    for (let step = 0; step < 4; step++) {
      const h = hidden;
      const next = tidy(() => {
        opt.zeroGrad();
        const [out, hN] = gru.forward(randn([2, 5, 3]), h);
        out.pow(2).mean().backward();
        opt.step();
        return hN.detach(); // truncated backpropagation through time: no graph to older batches
      });
      hidden.dispose();
      hidden = next;
      expect(hidden.requiresGrad).toBe(false);
      buffers.push(memory().buffers);
    }
    expect(new Set(buffers.slice(1)).size).toBe(1); // flat after the first step (SGD has no state)
    hidden.dispose();
  });

  it('tensors that live across await → using x = ... / new Scope() (tidy is synchronous)', async () => {
    const before = memory().buffers;
    let x: Tensor;
    {
      using scope = new Scope();
      x = scope.track(ones([2, 2]));
      const total = scope.track(x.sum());
      expect(await total.item()).toBe(4);
    }
    expect(x.isDisposed).toBe(true);
    let y: Tensor;
    {
      using kept = keep(ones([3]));
      y = kept;
      expect(await y.max().item()).toBe(1);
    }
    expect(y.isDisposed).toBe(true);
    expect(memory().buffers - before).toBe(1); // only the un-scoped max() result is left
  });

  it("model.state_dict() / load_state_dict(sd) → stateDict() / loadStateDict(sd), with PyTorch's key names", () => {
    const gru = new GRU(2, 3, { numLayers: 2 });
    expect(Object.keys(gru.stateDict())).toEqual([
      'weight_ih_l0',
      'weight_hh_l0',
      'bias_ih_l0',
      'bias_hh_l0',
      'weight_ih_l1',
      'weight_hh_l1',
      'bias_ih_l1',
      'bias_hh_l1',
    ]);
    const other = new GRU(2, 3, { numLayers: 2 });
    other.loadStateDict(gru.stateDict());
    expect(values(other.stateDict().weight_hh_l1)).toEqual(values(gru.stateDict().weight_hh_l1));
    expect(() => other.loadStateDict({ weight_ih_l0: gru.stateDict().weight_ih_l0 })).toThrow(/missing keys: weight_hh_l0/);
  });

  it('self.cell = nn.LSTMCell(...) → this.cell = new LSTMCell(...) (fields register in assignment order)', () => {
    class Net extends Module {
      cell: LSTMCell;
      head: Linear;
      constructor() {
        super();
        this.cell = new LSTMCell(2, 3);
        this.head = new Linear(3, 1);
      }
      forward(x: Tensor) {
        return this.head.forward(this.cell.forward(x)[0]);
      }
    }
    expect(Object.keys(new Net().stateDict())).toEqual([
      'cell.weight_ih',
      'cell.weight_hh',
      'cell.bias_ih',
      'cell.bias_hh',
      'head.weight',
      'head.bias',
    ]);
  });

  it('self.decoder.weight = self.encoder.weight → the same assignment ties (listed once, both state-dict keys)', () => {
    class LM extends Module {
      encoder = new Embedding(5, 3);
      decoder = new Linear(3, 5);
      constructor() {
        super();
        this.decoder.weight = this.encoder.weight;
      }
      forward(ids: Tensor) {
        return this.decoder.forward(this.encoder.forward(ids));
      }
    }
    const lm = new LM();
    expect(lm.parameters()).toHaveLength(2); // the tied weight once, the decoder bias
    expect(Object.keys(lm.stateDict())).toEqual(['encoder.weight', 'decoder.weight', 'decoder.bias']);
    expect(lm.stateDict()['decoder.weight']).toBe(lm.stateDict()['encoder.weight']);
  });

  it('optimizer.step(closure) (LBFGS) → optimizer.step(closure), which re-evaluates and returns the loss', () => {
    const w = tensor([3, -2], { requiresGrad: true });
    const opt = new LBFGS([w], { lr: 1, maxIter: 20, lineSearchFn: 'strong_wolfe' });
    const closure = () => {
      opt.zeroGrad();
      const loss = w
        .sub(tensor([1, 1]))
        .square()
        .sum();
      loss.backward();
      return loss;
    };
    const first = opt.step(closure);
    expect(first.itemSync()).toBeCloseTo(13, 5); // the loss at the starting point
    expect(values(w)[0]).toBeCloseTo(1, 4);
    expect(values(w)[1]).toBeCloseTo(1, 4);
  });

  it('optimizer.state_dict() / scheduler.state_dict() → stateDict() / loadStateDict() (PyTorch layout)', () => {
    const make = () => {
      const w = tensor([1, 2], { requiresGrad: true });
      const opt = new Adam([w], { lr: 0.1 });
      return { w, opt, sched: new StepLR(opt, 2, { gamma: 0.5 }) };
    };
    const a = make();
    for (let i = 0; i < 3; i++) {
      a.opt.zeroGrad();
      a.w.square().sum().backward();
      a.opt.step();
      a.sched.step();
    }
    const saved = a.opt.stateDict();
    expect(Object.keys(saved)).toEqual(['state', 'paramGroups']);
    expect(Object.keys(saved.state[0] ?? {}).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
    const b = make();
    noGrad(() => b.w.copy_(a.w));
    b.opt.loadStateDict(saved);
    b.sched.loadStateDict(a.sched.stateDict());
    expect(b.sched.getLastLr()).toEqual(a.sched.getLastLr());
    for (const { w, opt } of [a, b]) {
      opt.zeroGrad();
      w.square().sum().backward();
      opt.step();
    }
    expect(values(b.w)).toEqual(values(a.w)); // the resumed optimizer continues identically
  });

  it('optimizer.zero_grad(); loss.backward(); optimizer.step() → zeroGrad(); backward(); step()', () => {
    const w = tensor([1, -2], { requiresGrad: true });
    const opt = new SGD([w], { lr: 0.5 });
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      w.pow(2).sum().backward(); // grad 2w: without zeroGrad the second step would see 2x
      opt.step();
    }
    expect(values(w)).toEqual([0, 0]); // w - 0.5 * 2w = 0 at the first step, and stays
  });

  it('nn.utils.clip_grad_norm_(params, 1.0) → clipGradNorm(params, 1.0) (returns the total norm)', () => {
    const w = tensor([3, 4], { requiresGrad: true });
    w.mul(tensor([3, 4]))
      .sum()
      .backward(); // grad [3, 4], norm 5
    const norm = clipGradNorm([w], 1.0);
    expect(norm.itemSync()).toBeCloseTo(5, 5);
    expect(values(w.grad as Tensor).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([0.6, 0.8]);
  });

  it('torch.multinomial(F.softmax(logits / T, -1), 1) and topk → multinomial / sampleLogits({ temperature, topK, topP, generator }); topk gives { values, indices }', () => {
    const logits = tensor([[0, 10, 0]]);
    expect(values(multinomial(logits.softmax(-1), 1, { generator: new Generator(0) }))).toEqual([1]);
    expect(values(sampleLogits(logits, { temperature: 0.5, topK: 1, generator: new Generator(0) }))).toEqual([1]);
    const { values: v, indices } = topk(tensor([1, 9, 5]), 2);
    expect(values(v)).toEqual([9, 5]);
    expect(values(indices)).toEqual([1, 2]);
  });

  it('torch.save(model.state_dict(), f) / model.load_state_dict(torch.load(f)) → saveSafetensors / loadSafetensors (or save / load with a path)', async () => {
    manualSeed(4);
    const a = new Linear(3, 2);
    const bytes = await saveSafetensors(a.stateDict());
    const b = new Linear(3, 2);
    const loaded = loadSafetensors(bytes);
    b.loadStateDict(loaded);
    expect(values(b.weight)).toEqual(values(a.weight));
    for (const t of Object.values(loaded)) t.dispose();
  });

  it('checkpoints with optimizer, scheduler, RNG and step → saveCheckpoint / loadCheckpoint (@ghostflow/nn/node)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gf-port-'));
    try {
      const model = new Linear(2, 1);
      const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      await saveCheckpoint(join(dir, 'ckpt.safetensors'), { model, optimizer, step: 7 });
      const fresh = new Linear(2, 1);
      const freshOpt = new SGD(fresh.parameters(), { lr: 0.1, momentum: 0.9 });
      const info = await loadCheckpoint(join(dir, 'ckpt.safetensors'), { model: fresh, optimizer: freshOpt });
      expect(info.step).toBe(7);
      expect(values(fresh.weight)).toEqual(values(model.weight));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Dataset / DataLoader(batch_size, shuffle) → TensorDataset / DataLoader({ batchSize, shuffle })', async () => {
    const data = new TensorDataset(tensor([0, 1, 2, 3, 4]), tensor([10, 11, 12, 13, 14]));
    const loader = new DataLoader(data, { batchSize: 2, shuffle: true, generator: new Generator(0) });
    const seen: number[] = [];
    const sizes: number[] = [];
    for await (const [x, y] of loader) {
      sizes.push(x.shape[0]);
      const xs = values(x);
      expect(values(y)).toEqual(xs.map((v) => v + 10)); // pairs stay together
      seen.push(...xs);
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4]); // each item once per epoch
  });

  it('torch.manual_seed(0) → manualSeed(0) (GhostFlow streams, not PyTorch numbers: load weights to compare)', () => {
    manualSeed(0);
    const a = values(randn([3]));
    manualSeed(0);
    expect(values(randn([3]))).toEqual(a);
  });

  it('x.view(-1, V) / torch.cat / torch.bmm / x.permute → reshape or view / cat / matmul / permute', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], { shape: [1, 2, 3] });
    expect(x.view(-1, 3).shape).toEqual([2, 3]);
    expect(x.permute(2, 0, 1).shape).toEqual([3, 1, 2]);
    const w = tensor([0.5, 0.5], { shape: [1, 1, 2] });
    expect(values(w.matmul(x))).toEqual([2.5, 3.5, 4.5]); // batched [1,1,2] @ [1,2,3]
  });

  it('model.train() / model.eval() → the same (dropout off in eval)', () => {
    const m = new Linear(2, 2);
    m.eval();
    expect(m.training).toBe(false);
    m.train();
    expect(m.training).toBe(true);
  });
});
