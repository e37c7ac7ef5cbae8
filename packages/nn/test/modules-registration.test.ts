/**
 * Modules that read like PyTorch (issue 11): fields assigned a submodule or Parameter are
 * registered in assignment order (constructor body and class fields), weight tying by
 * assignment (parameters() once, state dicts under both names, loads consistent), PyTorch's
 * refusals, aliases (camelCase field, snake_case key), requiresGrad_ freezing, forward hooks,
 * and the names PyTorch 1.13 gives the same models (test/cases/modules_init.json, from
 * tools/torch-cases/modules_init.py).
 */
import { readFileSync } from 'node:fs';
import '@ghostflow/backend-cpu';
import { type Tensor, manualSeed, ones, randn, setBackend, tensor, zeros } from '@ghostflow/core';
import {
  Dropout,
  Embedding,
  LSTM,
  LSTMCell,
  Linear,
  Module,
  MultiheadAttention,
  Parameter,
  SGD,
  crossEntropy,
  isParameter,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const cases = JSON.parse(readFileSync(new URL('./cases/modules_init.json', import.meta.url), 'utf8')) as {
  registration: Record<string, { namedParameters: string[]; stateDict: string[]; namedModules: string[]; numParameters: number }>;
};

function vals(t: Tensor | null): number[] {
  return Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);
}

/** pytorch/examples time_sequence_prediction, ported line by line (constructor-body assignments). */
class Sequence extends Module {
  lstm1: LSTMCell;
  lstm2: LSTMCell;
  linear: Linear;
  constructor() {
    super();
    this.lstm1 = new LSTMCell(1, 51);
    this.lstm2 = new LSTMCell(51, 51);
    this.linear = new Linear(51, 1);
  }
  forward(x: Tensor): Tensor {
    return this.linear.forward(this.lstm2.forward(this.lstm1.forward(x)[0])[0]);
  }
}

/** word_language_model's RNNModel with tied weights, written with class fields. */
class TiedLM extends Module {
  drop = new Dropout(0.5);
  encoder = new Embedding(10, 6);
  rnn = new LSTM(6, 6, { numLayers: 2 });
  decoder = new Linear(6, 10);
  scale = new Parameter(ones([3]));
  constructor() {
    super();
    this.decoder.weight = this.encoder.weight;
  }
  forward(x: Tensor): Tensor {
    const [out] = this.rnn.forward(this.drop.forward(this.encoder.forward(x)));
    return this.decoder.forward(out as Tensor);
  }
}

describe('registration by assignment', () => {
  it("registers what a constructor body assigns, in order, with PyTorch's names", () => {
    const m = new Sequence();
    const want = cases.registration.Sequence;
    expect(m.namedParameters().map(([n]) => n)).toEqual(want.namedParameters);
    expect(Object.keys(m.stateDict())).toEqual(want.stateDict);
    expect(m.namedModules().map(([n]) => n)).toEqual(want.namedModules);
    expect(m.parameters().length).toBe(want.numParameters);
    expect(new SGD(m.parameters(), { lr: 0.1 }).paramGroups[0].params.length).toBe(10);
  });

  it('registers class fields (defined, not assigned) and a tied weight as PyTorch does', () => {
    const m = new TiedLM();
    const want = cases.registration.TiedLM;
    // PyTorch lists `scale` first: its own parameters precede the children's.
    expect(m.namedParameters().map(([n]) => n)).toEqual(want.namedParameters);
    expect(Object.keys(m.stateDict())).toEqual(want.stateDict);
    expect(m.namedModules().map(([n]) => n)).toEqual(want.namedModules);
    expect(m.parameters().length).toBe(want.numParameters);
    expect(m.decoder.weight).toBe(m.encoder.weight);
    expect(m.stateDict()['decoder.weight']).toBe(m.stateDict()['encoder.weight']);
    // removeDuplicate=false lists the tied tensor under both names.
    const all = m.namedParameters('', true, false).map(([n]) => n);
    expect(all).toContain('decoder.weight');
    expect(all.length).toBe(want.numParameters + 1);
  });

  it('tying trains one tensor: gradients from both uses accumulate into it, and SGD updates both views', () => {
    manualSeed(3);
    const m = new TiedLM().eval();
    const before = vals(m.encoder.weight);
    const opt = new SGD(m.parameters(), { lr: 0.5 });
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'int32' },
    );
    const loss = crossEntropy(m.forward(x).reshape([-1, 10]), tensor([1, 2, 3, 4], { dtype: 'int32' }));
    loss.backward();
    const g = m.encoder.weight.grad as Tensor;
    // Row 0 is never embedded (no input is 0): its gradient comes from the decoder use alone.
    expect(
      vals(g)
        .slice(0, 6)
        .some((v) => v !== 0),
    ).toBe(true);
    opt.step();
    expect(vals(m.decoder.weight)).toEqual(vals(m.encoder.weight));
    expect(vals(m.encoder.weight)).not.toEqual(before);
  });

  it('loadStateDict fills the tied tensor from both keys (the later key wins, as copy_ in order does)', () => {
    const src = new TiedLM();
    const dst = new TiedLM();
    const sd = { ...src.stateDict() };
    const dec = randn([10, 6]);
    sd['decoder.weight'] = dec;
    const r = dst.loadStateDict(sd);
    expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(dst.decoder.weight).toBe(dst.encoder.weight);
    expect(vals(dst.encoder.weight)).toEqual(vals(dec));
  });

  it('reassigning replaces in place of the old entry; the replaced tensor is freed unless still held elsewhere', () => {
    const m = new TiedLM();
    const own = m.decoder.bias as Tensor;
    m.decoder.bias = new Parameter(zeros([10]));
    expect(own.isDisposed).toBe(true);
    expect(Object.keys(m.decoder.stateDict())).toEqual(['weight', 'bias']);
    // The tied weight leaves the decoder but the encoder still holds it: not disposed.
    const tied = m.decoder.weight;
    m.decoder.weight = new Parameter(zeros([10, 6]));
    expect(tied.isDisposed).toBe(false);
    expect(m.parameters().length).toBe(12);
    // A plain tensor is not a parameter: refused with PyTorch's message.
    expect(() => {
      m.decoder.weight = zeros([10, 6]) as Parameter;
    }).toThrow("cannot assign 'Tensor' as parameter 'weight' (Parameter or null expected)");
    expect(() => {
      (m as unknown as { encoder: unknown }).encoder = 3;
    }).toThrow("cannot assign 'number' as child module 'encoder' (Module or null expected)");
    m.decoder.bias = null;
    expect(Object.keys(m.decoder.stateDict())).toEqual(['weight']);
  });

  it('a plain tensor on a new field is an attribute (as in PyTorch); a buffer field accepts tensors', () => {
    class WithState extends Module {
      h0: Tensor = zeros([2]);
      pe: Tensor;
      constructor() {
        super();
        this.pe = this.registerBuffer('pe', zeros([3])) as Tensor;
      }
      forward(x: Tensor) {
        return x;
      }
    }
    const m = new WithState();
    expect(m.parameters().length).toBe(0);
    expect(Object.keys(m.stateDict())).toEqual(['pe']);
    m.pe = ones([3]);
    expect(vals(m.stateDict().pe)).toEqual([1, 1, 1]);
    expect(() => {
      (m as unknown as { pe: unknown }).pe = 'x';
    }).toThrow("cannot assign 'string' as buffer 'pe' (Tensor or null expected)");
    // registerX makes the entry readable as a property, like PyTorch's attribute access.
    m.registerBuffer('extra', tensor([7]));
    expect(vals((m as unknown as { extra: Tensor }).extra)).toEqual([7]);
  });

  it('a Parameter assigned to a field that held a module or buffer moves registries; delete unregisters', () => {
    class M extends Module {
      a: Module | Parameter = new Linear(2, 2);
      forward(x: Tensor) {
        return x;
      }
    }
    const m = new M();
    expect(m.namedModules().map(([n]) => n)).toEqual(['', 'a']);
    m.a = new Parameter(zeros([2]));
    expect(m.namedModules().map(([n]) => n)).toEqual(['']);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['a']);
    // biome-ignore lint/performance/noDelete: `delete` is the operation under test (PyTorch's __delattr__)
    delete (m as Partial<M>).a;
    expect(m.parameters().length).toBe(0);
  });

  it('a field assigned what this module registered under another name is an alias (camelCase field, PyTorch key)', () => {
    const mha = new MultiheadAttention(4, 2);
    expect(Object.keys(mha.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    const w = new Parameter(zeros([12, 4]));
    mha.inProjWeight = w;
    expect(mha.stateDict().in_proj_weight).toBe(w);
    expect(Object.keys(mha.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    class Port extends Module {
      wordEmbeddings: Embedding;
      constructor() {
        super();
        this.wordEmbeddings = this.registerModule('word_embeddings', new Embedding(5, 2));
      }
      forward(x: Tensor) {
        return x;
      }
    }
    const p = new Port();
    expect(Object.keys(p.stateDict())).toEqual(['word_embeddings.weight']);
    p.wordEmbeddings = new Embedding(7, 2);
    expect(p.stateDict()['word_embeddings.weight'].shape).toEqual([7, 2]);
    expect(p.getSubmodule('word_embeddings')).toBe(p.wordEmbeddings);
  });

  it('an optimizer given an empty module says the module registered nothing and how to register', () => {
    class Forgot extends Module {
      layers = [new Linear(2, 2)];
      forward(x: Tensor) {
        return x;
      }
    }
    const m = new Forgot();
    expect(() => new SGD(m.parameters(), { lr: 0.1 })).toThrow(
      /empty parameter list: Forgot.parameters\(\) is empty: the module registered no parameters.*ModuleList/,
    );
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/^optimizer got an empty parameter list$/);
    expect(() => m.loadStateDict({ w: zeros([1]) })).toThrow(/unexpected keys: w \(Forgot has no parameters or buffers/);
  });
});

describe('Parameter', () => {
  it('marks the tensor itself, requiring grad; instanceof tells parameters from tensors', () => {
    const t = zeros([2]);
    const p = new Parameter(t);
    expect(p).toBe(t);
    expect(p.requiresGrad).toBe(true);
    expect(p instanceof Parameter).toBe(true);
    expect(zeros([1]) instanceof Parameter).toBe(false);
    expect(isParameter(new Parameter(zeros([1]), false))).toBe(true);
    expect(new Parameter(zeros([1]), false).requiresGrad).toBe(false);
    const nonLeaf = zeros([2], { requiresGrad: true }).mul(2);
    expect(() => new Parameter(nonLeaf)).toThrow(/must be a leaf tensor.*detach\(\) it first/);
  });
});

describe('freezing and hooks', () => {
  it('requiresGrad_(false) freezes every parameter: no grads, and re-tying keeps the frozen state', () => {
    const m = new TiedLM();
    m.encoder.requiresGrad_(false);
    expect(m.encoder.weight.requiresGrad).toBe(false);
    m.decoder.weight = m.encoder.weight;
    expect(m.decoder.weight.requiresGrad).toBe(false);
    const y = m.eval().forward(tensor([[1]], { dtype: 'int32' }));
    y.sum().backward();
    expect(m.encoder.weight.grad).toBeNull();
    expect(m.decoder.bias?.grad).not.toBeNull();
    expect(m.requiresGrad_()).toBe(m);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('forward pre-hooks can replace the input, forward hooks the output; remove() detaches them', () => {
    const lin = new Linear(2, 2);
    const calls: string[] = [];
    const x = tensor([[1, 2]]);
    const plain = vals(lin.forward(x));
    const pre = lin.registerForwardPreHook((m, args) => {
      calls.push(`pre:${m === lin}:${args.length}`);
      return [(args[0] as Tensor).mul(0)];
    });
    const post = lin.registerForwardHook((_m, args, out) => {
      calls.push(`post:${vals(args[0] as Tensor).join(',')}`);
      return (out as Tensor).add(1);
    });
    const y = lin.forward(x);
    expect(vals(y)).toEqual(vals(lin.bias).map((b) => Math.fround(b + 1)));
    expect(calls).toEqual(['pre:true:1', 'post:0,0']);
    pre.remove();
    post.remove();
    post.remove();
    expect(vals(lin.forward(x))).toEqual(plain);
    expect(Object.hasOwn(lin, 'forward')).toBe(false);
    expect(calls.length).toBe(2);
  });

  it('hooks on a submodule see the calls its parent makes', () => {
    const m = new Sequence();
    const seen: number[][] = [];
    m.linear.registerForwardHook((_m, _a, out) => {
      seen.push([...(out as Tensor).shape]);
    });
    m.forward(zeros([3, 1]));
    expect(seen).toEqual([[3, 1]]);
  });
});
