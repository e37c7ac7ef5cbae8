/**
 * The Module base: PyTorch's dotted names, the summary with parameter counts, train()/eval()
 * reaching nested modules, zeroGrad, loadStateDict (strict and non-strict), to(backend) moving
 * parameters and buffers, and seedable default initialisation.
 */
import '@ghostflow/backend-cpu';
import { createCpuBackend } from '@ghostflow/backend-cpu';
import { type Backend, type Tensor, manualSeed, registerBackend, setBackend, tensor, zeros } from '@ghostflow/core';
import { CrossEntropyLoss, Dropout, LSTM, Linear, Module, ModuleList, ReLU, SGD, Sequential } from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

// A second, independent CPU backend (own buffers) under another name: a real move target for
// to(). Tensors take their device from the backend's `name`, so the instance carries it.
registerBackend('cpu-second', () => Object.assign(Object.create(createCpuBackend()) as Backend, { name: 'cpu-second' }));

beforeAll(async () => {
  await setBackend('cpu');
});

function vals(t: Tensor | null): number[] {
  return Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);
}

/** Linear → ReLU → Dropout body, a bias-free head, a ModuleList and a buffer. */
class Net extends Module {
  readonly body = this.registerModule('body', new Sequential(new Linear(3, 4), new ReLU(), new Dropout(0.5)));
  readonly head = this.registerModule('head', new Linear(4, 2, { bias: false }));
  readonly extra = this.registerModule('extra', new ModuleList([new Linear(2, 1)]));
  readonly scale: Tensor;

  constructor() {
    super();
    this.scale = this.registerBuffer('scale', tensor([2])) as Tensor;
  }

  forward(x: Tensor): Tensor {
    const h = this.head.forward(this.body.forward(x) as Tensor);
    return this.extra.at(0).forward(h).mul(this.scale);
  }
}

describe('names and summary', () => {
  it('namedParameters / stateDict use PyTorch dotted names; buffers are in the state dict', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'body.0.weight',
      'body.0.bias',
      'head.weight',
      'extra.0.weight',
      'extra.0.bias',
    ]);
    expect(Object.keys(net.stateDict())).toEqual([
      'scale',
      'body.0.weight',
      'body.0.bias',
      'head.weight',
      'extra.0.weight',
      'extra.0.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['scale']);
    expect(net.numParameters()).toBe(16 + 8 + 3);
  });

  it('toString is a readable tree with parameter counts', () => {
    expect(new Net().toString()).toBe(
      [
        'Net(params=27) (',
        '  (body): Sequential(params=16) (',
        '    (0): Linear(inFeatures=3, outFeatures=4, bias=true)  [16 params]',
        '    (1): ReLU()  [0 params]',
        '    (2): Dropout(p=0.5)  [0 params]',
        '  )',
        '  (head): Linear(inFeatures=4, outFeatures=2, bias=false)  [8 params]',
        '  (extra): ModuleList(params=3) (',
        '    (0): Linear(inFeatures=2, outFeatures=1, bias=true)  [3 params]',
        '  )',
        ')',
      ].join('\n'),
    );
    expect(new LSTM(3, 4).toString()).toContain('[144 params]');
  });
});

describe('modes and gradients', () => {
  it('train() / eval() reach every nested module, and dropout follows', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    const x = tensor([[1, 2, 3]]);
    expect(vals(net.forward(x))).toEqual(vals(net.forward(x)));
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    const dropout = net.body.at(2) as Dropout;
    const ones = zeros([1, 1000]).add(1);
    const dropped = vals(dropout.forward(ones));
    expect(dropped.some((v) => v === 0)).toBe(true);
    expect(dropped.some((v) => v === 2)).toBe(true);
  });

  it('zeroGrad clears the gradient of every nested parameter', () => {
    const net = new Net().eval();
    net
      .forward(tensor([[1, 2, 3]]))
      .sum()
      .backward();
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('loadStateDict', () => {
  it('strict (default) lists missing and unexpected keys; shapes must match', () => {
    const a = new Linear(3, 2);
    expect(() => a.loadStateDict({ weight: zeros([2, 3]) })).toThrow(/missing keys: bias/);
    expect(() => a.loadStateDict({ weight: zeros([2, 3]), bias: zeros([2]), extra: zeros([1]) })).toThrow(/unexpected keys: extra/);
    expect(() => a.loadStateDict({ weight: zeros([3, 2]), bias: zeros([2]) })).toThrow(
      /'weight' has shape \[3, 2\] in the dict but \[2, 3\] in the module/,
    );
  });

  it('non-strict loads what matches and reports the rest; copies values in place', () => {
    const a = new Linear(3, 2);
    const weight = a.weight;
    const bias = vals(a.bias);
    const result = a.loadStateDict(
      {
        weight: tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        other: zeros([1]),
      },
      { strict: false },
    );
    expect(result).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['other'] });
    expect(a.weight).toBe(weight);
    expect(vals(a.weight)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(vals(a.bias)).toEqual(bias);
    const b = new Linear(3, 2);
    b.loadStateDict(a.stateDict());
    const x = tensor([[0.5, -1, 2]]);
    expect(vals(b.forward(x))).toEqual(vals(a.forward(x)));
  });
});

describe('loadStateDict validation', () => {
  it('refuses non-tensor values (null included) with the key named, and writes nothing when any entry is bad', () => {
    const a = new Linear(3, 2);
    const before = vals(a.weight);
    const weight = a.weight;
    const good = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    for (const bad of [null, 5, [1, 2], { data: [1] }]) {
      const dict = { weight: good, bias: bad } as unknown as Record<string, Tensor>;
      expect(() => a.loadStateDict(dict)).toThrow(/loadStateDict: 'bias' must be a Tensor, got/);
      expect(vals(a.weight)).toEqual(before);
    }
    expect(() => a.loadStateDict(null as unknown as Record<string, Tensor>)).toThrow(
      /expected an object mapping names to tensors, got null/,
    );
    // A good dict is copied into the same parameter objects.
    a.loadStateDict({ weight: good, bias: tensor([7, 8]) });
    expect(a.weight).toBe(weight);
    expect(vals(a.weight)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('to(backend)', () => {
  it('moves every parameter and buffer, keeps values and trainability, and runs there', async () => {
    const net = new Net().eval();
    const x = tensor([[1, -2, 0.5]]);
    const before = vals(net.forward(x));
    const state = Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, vals(v)]));
    const params = net.parameters();
    const opt = new SGD(params, { lr: 0.1 });
    expect(await net.to('cpu-second')).toBe(net);
    // As in PyTorch, the parameter objects stay the same, so an optimizer made before to() works.
    expect(net.parameters()).toEqual(params);
    net.parameters().forEach((p, i) => expect(p).toBe(params[i]));
    for (const [k, t] of Object.entries(net.stateDict())) {
      expect(t.device, k).toBe('cpu-second');
      expect(vals(t), k).toEqual(state[k]);
    }
    for (const p of net.parameters()) {
      expect(p.requiresGrad).toBe(true);
      expect(p.isLeaf).toBe(true);
    }
    const xs = await x.to('cpu-second');
    const y = net.forward(xs);
    expect(y.device).toBe('cpu-second');
    expect(vals(y)).toEqual(before);
    y.sum().backward();
    expect(net.head.weight.grad?.device).toBe('cpu-second');
    const w0 = vals(net.head.weight);
    const g0 = vals(net.head.weight.grad as Tensor);
    opt.step();
    expect(net.head.weight.device).toBe('cpu-second');
    vals(net.head.weight).forEach((v, i) => expect(v).toBeCloseTo(w0[i] - 0.1 * g0[i], 6));
    opt.dispose();
    // A tensor shared by two modules (weight tying) stays one tensor.
    const enc = new Linear(2, 2);
    const dec = new Linear(2, 2);
    dec.registerParameter('weight', enc.weight);
    (dec as { weight: Tensor }).weight = enc.weight;
    const tied = new Sequential(enc, dec);
    expect(tied.parameters().length).toBe(3);
    await tied.to('cpu-second');
    expect(dec.weight).toBe(enc.weight);
    expect(dec.getParameter('weight')).toBe(enc.weight);
    expect(enc.weight.device).toBe('cpu-second');
    expect(tied.parameters().length).toBe(3);
    // Loss buffers move too.
    const ce = new CrossEntropyLoss({ weight: tensor([1, 2]) });
    await ce.to('cpu-second');
    expect(ce.buffers().map((b) => b.device)).toEqual(['cpu-second']);
  });
});

describe('initialisation', () => {
  it('is reproducible through manualSeed', () => {
    manualSeed(42);
    const a = new Net();
    manualSeed(42);
    const b = new Net();
    for (const [k, t] of Object.entries(a.stateDict())) expect(vals(b.stateDict()[k]), k).toEqual(vals(t));
    const c = new Net();
    expect(vals(c.head.weight)).not.toEqual(vals(a.head.weight));
  });
});
