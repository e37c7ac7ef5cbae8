/** Linear, Embedding, LayerNorm, Dropout and the activation modules/functions. */
import '@ghostflow/backend-cpu';
import { type Tensor, gradcheck, manualSeed, setBackend, tensor } from '@ghostflow/core';
import {
  Dropout,
  ELU,
  Embedding,
  F,
  GELU,
  LayerNorm,
  LeakyReLU,
  Linear,
  LogSoftmax,
  Mish,
  ReLU,
  SELU,
  SELU_ALPHA,
  SELU_SCALE,
  SiLU,
  Sigmoid,
  Softmax,
  Softplus,
  Swish,
  Tanh,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const vals = (t: Tensor | null): number[] => Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);

function expectAllClose(got: number[], want: number[], tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) =>
    expect(Math.abs(g - want[i]), `element ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(tol + tol * Math.abs(want[i])),
  );
}

describe('Linear', () => {
  it('has PyTorch names, shapes and init bounds', () => {
    manualSeed(1);
    const lin = new Linear(16, 8);
    expect(Object.keys(lin.stateDict())).toEqual(['weight', 'bias']);
    expect(lin.weight.shape).toEqual([8, 16]);
    expect((lin.bias as Tensor).shape).toEqual([8]);
    // kaiming_uniform(a=sqrt(5)) gives bound gain*sqrt(3/fanIn) = 1/sqrt(fanIn); bias the same.
    const bound = 1 / Math.sqrt(16);
    for (const v of [...vals(lin.weight), ...vals(lin.bias)]) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    // Spread: not all tiny (the draw uses the whole range).
    expect(Math.max(...vals(lin.weight).map(Math.abs))).toBeGreaterThan(bound * 0.8);
    expect(lin.weight.requiresGrad).toBe(true);
  });

  it('computes x W^T + b on any leading shape, with gradients', () => {
    const lin = new Linear(3, 2);
    lin.loadStateDict({
      weight: tensor([
        [1, 2, 3],
        [-1, 0, 0.5],
      ]),
      bias: tensor([0.5, -1]),
    });
    const x = tensor([[[1, 0, 2]], [[0, 1, -1]]]).requiresGrad_(); // [2, 1, 3]
    const y = lin.forward(x);
    expect(y.shape).toEqual([2, 1, 2]);
    expectAllClose(vals(y), [1 + 6 + 0.5, -1 + 1 - 1, 2 - 3 + 0.5, -0.5 - 1]);
    y.sum().backward();
    expectAllClose(vals(lin.weight.grad), [1, 1, 1, 1, 1, 1]);
    expectAllClose(vals(lin.bias?.grad ?? null), [2, 2]);
    expectAllClose(vals(x.grad), [0, 2, 3.5, 0, 2, 3.5]);
  });

  it('can drop the bias', () => {
    const lin = new Linear(4, 2, { bias: false });
    expect(lin.bias).toBeNull();
    expect(Object.keys(lin.stateDict())).toEqual(['weight']);
    expect(lin.forward(tensor([[1, 1, 1, 1]])).shape).toEqual([1, 2]);
  });
});

describe('Embedding', () => {
  it('initialises N(0, 1) with the padding row zeroed', () => {
    manualSeed(3);
    const emb = new Embedding(50, 8, { paddingIdx: 2 });
    const w = vals(emb.weight);
    expect(w.slice(16, 24)).toEqual(new Array(8).fill(0));
    const rest = [...w.slice(0, 16), ...w.slice(24)];
    const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
    const std = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length);
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(std).toBeGreaterThan(0.85);
    expect(std).toBeLessThan(1.15);
  });

  it('looks up indices of any shape; the padding row gets no gradient', () => {
    const emb = new Embedding(4, 2, { paddingIdx: -1 });
    expect(emb.paddingIdx).toBe(3);
    emb.loadStateDict({
      weight: tensor([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ]),
    });
    const idx = tensor(
      [
        [3, 1, 1],
        [0, 3, 1],
      ],
      { dtype: 'int32' },
    );
    const out = emb.forward(idx);
    expect(out.shape).toEqual([2, 3, 2]);
    // The padding row's (loaded, non-zero) value is read as is, as in PyTorch.
    expect(vals(out)).toEqual([6, 7, 2, 3, 2, 3, 0, 1, 6, 7, 2, 3]);
    out
      .mul(tensor([1, 10]))
      .sum()
      .backward();
    expect(vals(emb.weight.grad)).toEqual([1, 10, 3, 30, 0, 0, 0, 0]);
    const scalarIdx = emb.forward(tensor(2, { dtype: 'int32' }));
    expect(scalarIdx.shape).toEqual([2]);
    expect(vals(scalarIdx)).toEqual([4, 5]);
  });

  it('rejects float indices and bad paddingIdx', () => {
    const emb = new Embedding(4, 2);
    expect(() => emb.forward(tensor([1, 2]))).toThrow(/int32/);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow(/paddingIdx/);
  });
});

describe('LayerNorm', () => {
  it('normalises the trailing dims with affine parameters', () => {
    const ln = new LayerNorm([2, 2], { eps: 1e-5 });
    expect(Object.keys(ln.stateDict())).toEqual(['weight', 'bias']);
    ln.loadStateDict({
      weight: tensor([
        [1, 2],
        [3, 4],
      ]),
      bias: tensor([
        [0, 0],
        [0, 1],
      ]),
    });
    const x = tensor([
      [
        [1, 2],
        [3, 4],
      ],
    ]);
    const y = ln.forward(x);
    const mean = 2.5;
    const std = Math.sqrt(1.25 + 1e-5);
    const n = [1, 2, 3, 4].map((v) => (v - mean) / std);
    expectAllClose(vals(y), [n[0] * 1, n[1] * 2, n[2] * 3, n[3] * 4 + 1], 1e-5);
  });

  it('without elementwiseAffine has no parameters', () => {
    const ln = new LayerNorm(3, { elementwiseAffine: false });
    expect(Object.keys(ln.stateDict())).toEqual([]);
    const y = ln.forward(tensor([[0, 3, 6]]));
    const s = Math.sqrt(6 + 1e-5);
    expectAllClose(vals(y), [-3 / s, 0, 3 / s]);
  });
});

describe('Dropout', () => {
  it('is the identity in eval mode and with p = 0', () => {
    const x = tensor([1, 2, 3]);
    const d = new Dropout(0.5).eval();
    expect(d.forward(x)).toBe(x);
    expect(F.dropout(x, 0)).toBe(x);
  });

  it('zeroes about p of the elements and scales the rest by 1/(1-p), gradient = mask/(1-p)', () => {
    manualSeed(7);
    const x = tensor(new Float32Array(4000).fill(2)).requiresGrad_();
    const y = new Dropout(0.25).forward(x);
    const out = vals(y);
    const zeros = out.filter((v) => v === 0).length;
    for (const v of out) expect(v === 0 || Math.abs(v - 2 / 0.75) < 1e-6).toBe(true);
    expect(zeros / out.length).toBeGreaterThan(0.22);
    expect(zeros / out.length).toBeLessThan(0.28);
    y.sum().backward();
    vals(x.grad).forEach((g, i) => expect(g).toBeCloseTo(out[i] === 0 ? 0 : 1 / 0.75, 6));
  });

  it('p = 1 gives zeros; p outside [0, 1] throws', () => {
    expect(vals(F.dropout(tensor([1, 2]), 1))).toEqual([0, 0]);
    expect(() => new Dropout(1.5)).toThrow(/between 0 and 1/);
  });
});

describe('activations', () => {
  const xs = [-30, -3, -1, -0.5, 0, 0.5, 1, 3, 30];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const sp = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
  const erf = (v: number) => {
    // Abramowitz-Stegun 7.1.26 is too coarse; use a series/continued-fraction-free high-precision approach.
    const t = 1 / (1 + 0.5 * Math.abs(v));
    const y =
      1 -
      t *
        Math.exp(
          -v * v -
            1.26551223 +
            t *
              (1.00002368 +
                t *
                  (0.37409196 +
                    t *
                      (0.09678418 +
                        t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
        );
    return v >= 0 ? y : -y;
  };
  const cases: [string, { forward(x: Tensor): Tensor }, (v: number) => number, (v: number) => number][] = [
    ['ReLU', new ReLU(), (v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0)],
    ['LeakyReLU', new LeakyReLU(0.2), (v) => (v > 0 ? v : 0.2 * v), (v) => (v > 0 ? 1 : 0.2)],
    ['ELU', new ELU(0.7), (v) => (v > 0 ? v : 0.7 * Math.expm1(v)), (v) => (v > 0 ? 1 : 0.7 * Math.exp(v))],
    [
      'SELU',
      new SELU(),
      (v) => SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)),
      (v) => SELU_SCALE * (v > 0 ? 1 : SELU_ALPHA * Math.exp(v)),
    ],
    ['Tanh', new Tanh(), Math.tanh, (v) => 1 - Math.tanh(v) ** 2],
    ['Sigmoid', new Sigmoid(), sig, (v) => sig(v) * (1 - sig(v))],
    ['SiLU', new SiLU(), (v) => v * sig(v), (v) => sig(v) * (1 + v * (1 - sig(v)))],
    ['Swish', new Swish(), (v) => v * sig(v), (v) => sig(v) * (1 + v * (1 - sig(v)))],
    ['Mish', new Mish(), (v) => v * Math.tanh(sp(v)), (v) => Math.tanh(sp(v)) + v * sig(v) * (1 - Math.tanh(sp(v)) ** 2)],
    ['Softplus', new Softplus(2, 10), (v) => (2 * v > 10 ? v : Math.log1p(Math.exp(2 * v)) / 2), (v) => (2 * v > 10 ? 1 : sig(2 * v))],
    [
      'GELU',
      new GELU(),
      (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
      (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp((-v * v) / 2)) / Math.sqrt(2 * Math.PI),
    ],
    [
      'GELU tanh',
      new GELU({ approximate: 'tanh' }),
      (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
      (v) => {
        const k = Math.sqrt(2 / Math.PI);
        const t = Math.tanh(k * (v + 0.044715 * v ** 3));
        return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
      },
    ],
  ];
  for (const [name, mod, f, df] of cases) {
    it(`${name}: values and gradients (incl. 0 and large inputs, no NaN)`, () => {
      const x = tensor(xs).requiresGrad_();
      const y = mod.forward(x);
      expectAllClose(vals(y), xs.map(f), 2e-6);
      y.sum().backward();
      const g = vals(x.grad);
      for (const v of g) expect(Number.isFinite(v)).toBe(true);
      expectAllClose(g, xs.map(df), 2e-6);
    });
  }

  it('Softmax / LogSoftmax along dim, and the legacy implicit dim', () => {
    const x = tensor([
      [1, 2, 3],
      [1, 1, 1],
    ]);
    const rows = [
      [1, 2, 3],
      [1, 1, 1],
    ].map((r) => {
      const z = r.reduce((a, b) => a + Math.exp(b), 0);
      return r.map((v) => Math.exp(v) / z);
    });
    expectAllClose(vals(new Softmax(1).forward(x)), rows.flat());
    expectAllClose(vals(new Softmax().forward(x)), rows.flat()); // 2-D: implicit dim 1
    expectAllClose(vals(new LogSoftmax(-1).forward(x)), rows.flat().map(Math.log));
    expect(F.implicitSoftmaxDim(3)).toBe(0);
    expect(F.implicitSoftmaxDim(4)).toBe(1);
    const cols = vals(new Softmax(0).forward(x));
    expectAllClose([cols[0] + cols[3], cols[1] + cols[4], cols[2] + cols[5]], [1, 1, 1]);
  });

  it('composed activations pass gradcheck', async () => {
    const x = tensor([-2.3, -0.7, 0.4, 1.9]);
    for (const fn of [F.mish, (t: Tensor) => F.elu(t, 1.3), F.selu, (t: Tensor) => F.leakyRelu(t, 0.1)]) {
      const r = await gradcheck(fn, [x]);
      expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
    }
  });
});
