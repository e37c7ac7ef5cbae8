/**
 * Losses against independent JavaScript references of PyTorch's formulas (the fixtures
 * cover the default options; these cover weights, ignoreIndex, smoothing with weights,
 * reductions, posWeight, swap, ...), plus gradchecks and the module classes.
 */
import '@ghostflow/backend-cpu';
import { type Tensor, enableGrad, grad, gradcheck, gradients, randn, setBackend, tensor } from '@ghostflow/core';
import {
  BCELoss,
  BCEWithLogitsLoss,
  ContrastiveLoss,
  CosineEmbeddingLoss,
  CrossEntropyLoss,
  F,
  HuberLoss,
  L1Loss,
  MSELoss,
  NLLLoss,
  SigmoidFocalLoss,
  SmoothL1Loss,
  TripletMarginLoss,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const vals = (t: Tensor | null): number[] => Array.from((t as Tensor).dataSync() as ArrayLike<number>, Number);
const int = (v: number[] | number[][]) => tensor(v, { dtype: 'int32' });

function close(got: number[] | number, want: number[] | number, tol = 1e-5): void {
  const g = Array.isArray(got) ? got : [got];
  const w = Array.isArray(want) ? want : [want];
  expect(g.length).toBe(w.length);
  g.forEach((v, i) => expect(Math.abs(v - w[i]), `element ${i}: got ${v}, want ${w[i]}`).toBeLessThanOrEqual(tol + tol * Math.abs(w[i])));
}

const LOGITS = [
  [0.2, -1.3, 0.8, 2.1],
  [1.5, 0.3, -0.4, 0.0],
  [-0.6, 0.9, 1.1, -2.0],
  [0.0, 0.0, 0.5, 0.25],
  [2.2, -0.1, 0.3, 0.7],
];
const TARGET = [3, 0, 2, 1, 1];
const WEIGHT = [0.5, 2.0, 1.0, 1.5];

function logSoftmaxRow(r: number[]): number[] {
  const m = Math.max(...r);
  const lse = m + Math.log(r.reduce((a, b) => a + Math.exp(b - m), 0));
  return r.map((v) => v - lse);
}

/** PyTorch 1.13's cross_entropy with class-index targets, in double precision. */
function refCrossEntropy(
  x: number[][],
  t: number[],
  opts: { weight?: number[]; ignoreIndex?: number; eps?: number; reduction?: 'mean' | 'sum' | 'none' },
): number | number[] {
  const C = x[0].length;
  const w = opts.weight ?? new Array(C).fill(1);
  const ign = opts.ignoreIndex ?? -100;
  const eps = opts.eps ?? 0;
  const nll: number[] = [];
  const smooth: number[] = [];
  const wt: number[] = [];
  x.forEach((row, i) => {
    const lp = logSoftmaxRow(row);
    if (t[i] === ign) {
      nll.push(0);
      smooth.push(0);
      wt.push(0);
      return;
    }
    nll.push(-w[t[i]] * lp[t[i]]);
    smooth.push(-lp.reduce((a, v, c) => a + v * w[c], 0));
    wt.push(w[t[i]]);
  });
  const sum = (a: number[]) => a.reduce((p, q) => p + q, 0);
  const r = opts.reduction ?? 'mean';
  if (r === 'none') return nll.map((v, i) => (1 - eps) * v + (eps / C) * smooth[i]);
  if (r === 'sum') return (1 - eps) * sum(nll) + (eps / C) * sum(smooth);
  const denomNll = sum(wt);
  const denomSmooth = opts.weight ? sum(wt) : t.filter((v) => v !== ign).length;
  return ((1 - eps) * sum(nll)) / denomNll + ((eps / C) * sum(smooth)) / denomSmooth;
}

describe('crossEntropy / nllLoss', () => {
  const variants: { name: string; opts: { weight?: number[]; ignoreIndex?: number; eps?: number; reduction?: 'mean' | 'sum' | 'none' } }[] =
    [
      { name: 'plain', opts: {} },
      { name: 'weighted mean (denominator = sum of target weights)', opts: { weight: WEIGHT } },
      { name: 'ignoreIndex', opts: { ignoreIndex: 1 } },
      { name: 'weight + ignoreIndex + smoothing', opts: { weight: WEIGHT, ignoreIndex: 1, eps: 0.2 } },
      { name: 'smoothing + ignoreIndex', opts: { ignoreIndex: 1, eps: 0.1 } },
      { name: 'sum', opts: { weight: WEIGHT, eps: 0.3, reduction: 'sum' } },
      { name: 'none', opts: { weight: WEIGHT, ignoreIndex: 0, eps: 0.3, reduction: 'none' } },
    ];
  for (const { name, opts } of variants) {
    it(name, () => {
      const out = F.crossEntropy(tensor(LOGITS), int(TARGET), {
        weight: opts.weight ? tensor(opts.weight) : null,
        ignoreIndex: opts.ignoreIndex,
        labelSmoothing: opts.eps,
        reduction: opts.reduction,
      });
      close(vals(out), refCrossEntropy(LOGITS, TARGET, opts));
    });
  }

  it('[N, C, d] input equals the flattened [N*d, C] case, and has a correct gradient', async () => {
    // input [2, 3, 2] (N=2, C=3, d=2); target [2, 2]
    const x = tensor([
      [
        [0.1, 1.2],
        [-0.5, 0.3],
        [2.0, -1.0],
      ],
      [
        [0.7, 0.0],
        [0.2, 0.9],
        [-0.3, 0.4],
      ],
    ]);
    const t = int([
      [2, 0],
      [1, -100],
    ]);
    const flatRows = [
      [0.1, -0.5, 2.0],
      [1.2, 0.3, -1.0],
      [0.7, 0.2, -0.3],
      [0.0, 0.9, 0.4],
    ];
    close(
      vals(F.crossEntropy(x, t, { weight: tensor([1, 2, 3]), labelSmoothing: 0.1 })),
      refCrossEntropy(flatRows, [2, 0, 1, -100], { weight: [1, 2, 3], eps: 0.1 }),
    );
    const none = F.crossEntropy(x, t, { reduction: 'none' });
    expect(none.shape).toEqual([2, 2]);
    expect(vals(none)[3]).toBe(0);
    const r = await gradcheck((a: Tensor) => F.crossEntropy(a, t, { weight: tensor([1, 2, 3]), labelSmoothing: 0.1 }), [x]);
    expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
  });

  it('class-index gradient (one log-softmax + pick node) equals log-softmax then nllLoss, and is twice differentiable', async () => {
    const x = randn([3, 5, 2]);
    const t = int([
      [4, 0],
      [1, -100],
      [2, 2],
    ]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const opts = { weight: tensor([1, 2, 3, 0.5, 1.5]), reduction };
      const [gx] = grad((a: Tensor) => F.crossEntropy(a, t, opts).sum())(x);
      const [want] = grad((a: Tensor) => F.nllLoss(a.logSoftmax(1), t, opts).sum())(x);
      close(vals(gx), vals(want), 1e-6);
    }
    // Second order: the gradient rule is built from differentiable ops.
    const v = randn([3, 5, 2]);
    const r = await gradcheck(
      (a: Tensor) =>
        enableGrad(() => {
          // gradcheck's finite differences call this under noGrad with a plain tensor.
          const l = a.requiresGrad ? a : a.detach().requiresGrad_(true);
          const [g] = gradients(F.crossEntropy(l, t, { weight: tensor([1, 2, 3, 0.5, 1.5]) }), [l], null, { createGraph: true });
          return (g as Tensor).mul(v).sum();
        }),
      [x],
    );
    expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
  });

  it('no weight and no ignored target: the same values and gradients, to the bit, as the weighted path with unit weights', async () => {
    // Unit weights take the general path (mask, weights and their sum); without them every
    // target counts once and only the picked log-probabilities are reduced.
    const x = randn([6, 7, 3]);
    const t = int([
      [0, 6, 3],
      [1, 1, 2],
      [5, 4, 0],
      [2, 3, 6],
      [6, 0, 1],
      [3, 5, 4],
    ]);
    const ones = tensor([1, 1, 1, 1, 1, 1, 1]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const [fast, fastGrad] = [F.crossEntropy(x, t, { reduction }), grad((a: Tensor) => F.crossEntropy(a, t, { reduction }).sum())(x)[0]];
      const slow = F.crossEntropy(x, t, { reduction, weight: ones });
      const [slowGrad] = grad((a: Tensor) => F.crossEntropy(a, t, { reduction, weight: ones }).sum())(x);
      expect(fast.shape).toEqual(slow.shape);
      expect(vals(fast)).toEqual(vals(slow));
      expect(vals(fastGrad)).toEqual(vals(slowGrad));
    }
    // Unbatched, reduction none: a 0-d loss.
    const one = F.crossEntropy(tensor(LOGITS[1]), tensor(2, { dtype: 'int32' }), { reduction: 'none' });
    expect(one.shape).toEqual([]);
    close(vals(one), refCrossEntropy([LOGITS[1]], [2], { reduction: 'none' }) as number[]);
    // Twice differentiable on this path too.
    const v = randn([6, 7, 3]);
    const r = await gradcheck(
      (a: Tensor) =>
        enableGrad(() => {
          const l = a.requiresGrad ? a : a.detach().requiresGrad_(true);
          const [g] = gradients(F.crossEntropy(l, t), [l], null, { createGraph: true });
          return (g as Tensor).mul(v).sum();
        }),
      [x],
    );
    expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
  });

  it('unbatched input [C] with a 0-d target', () => {
    close(vals(F.crossEntropy(tensor(LOGITS[0]), tensor(3, { dtype: 'int32' }))), refCrossEntropy([LOGITS[0]], [3], {}) as number);
  });

  it('probability targets (with smoothing and weights)', () => {
    const probs = [
      [0.1, 0.2, 0.3, 0.4],
      [1, 0, 0, 0],
    ];
    const want =
      probs
        .map((p, i) => {
          const lp = logSoftmaxRow(LOGITS[i]);
          return -lp.reduce((a, v, c) => a + v * WEIGHT[c] * (p[c] * 0.8 + 0.2 / 4), 0);
        })
        .reduce((a, b) => a + b, 0) / 2;
    close(vals(F.crossEntropy(tensor(LOGITS.slice(0, 2)), tensor(probs), { weight: tensor(WEIGHT), labelSmoothing: 0.2 })), want);
  });

  it('nllLoss equals crossEntropy on log-probabilities (weighted, ignored)', () => {
    const lp = tensor(LOGITS).logSoftmax(1);
    const a = F.nllLoss(lp, int(TARGET), { weight: tensor(WEIGHT), ignoreIndex: 2 });
    close(vals(a), refCrossEntropy(LOGITS, TARGET, { weight: WEIGHT, ignoreIndex: 2 }));
    const m = new NLLLoss({ reduction: 'sum' });
    close(vals(m.forward(lp, int(TARGET))), refCrossEntropy(LOGITS, TARGET, { reduction: 'sum' }));
  });

  it('CrossEntropyLoss module keeps the class weight as a buffer named weight', () => {
    const m = new CrossEntropyLoss({ weight: tensor(WEIGHT), labelSmoothing: 0.2, ignoreIndex: 1 });
    expect(Object.keys(m.stateDict())).toEqual(['weight']);
    close(vals(m.forward(tensor(LOGITS), int(TARGET))), refCrossEntropy(LOGITS, TARGET, { weight: WEIGHT, ignoreIndex: 1, eps: 0.2 }));
  });

  it('rejects float class targets of the wrong shape and bad weights', () => {
    expect(() => F.crossEntropy(tensor(LOGITS), int([1, 2]))).toThrow(/target must have shape/);
    expect(() => F.crossEntropy(tensor(LOGITS), int(TARGET), { weight: tensor([1, 2]) })).toThrow(/weight must have shape \[4\]/);
    expect(() => F.nllLoss(tensor(LOGITS), tensor(TARGET))).toThrow(/int32/);
  });
});

describe('regression losses', () => {
  const x = [0.5, -1.2, 3.0, 0.0, 2.0, -0.3];
  const y = [0.0, -1.0, 1.0, 0.5, 2.0, 0.7];
  const d = x.map((v, i) => v - y[i]);
  const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;

  it('mse / l1 with every reduction', () => {
    close(vals(F.mseLoss(tensor(x), tensor(y))), mean(d.map((v) => v * v)));
    close(
      vals(new MSELoss({ reduction: 'sum' }).forward(tensor(x), tensor(y))),
      d.reduce((a, v) => a + v * v, 0),
    );
    close(vals(new L1Loss({ reduction: 'none' }).forward(tensor(x), tensor(y))), d.map(Math.abs));
    expect(() => F.mseLoss(tensor(x), tensor([1, 2]))).toThrow(/shape/);
  });

  it('huber (delta) and smooth L1 (beta), including the boundary |d| = delta', () => {
    const huber = (v: number, delta: number) => (Math.abs(v) < delta ? 0.5 * v * v : delta * (Math.abs(v) - 0.5 * delta));
    const sl1 = (v: number, beta: number) => (Math.abs(v) < beta ? (0.5 * v * v) / beta : Math.abs(v) - 0.5 * beta);
    close(
      vals(new HuberLoss({ delta: 0.5, reduction: 'none' }).forward(tensor(x), tensor(y))),
      d.map((v) => huber(v, 0.5)),
    );
    close(vals(F.huberLoss(tensor(x), tensor(y), { delta: 1 })), mean(d.map((v) => huber(v, 1))));
    close(
      vals(new SmoothL1Loss({ beta: 0.5, reduction: 'none' }).forward(tensor(x), tensor(y))),
      d.map((v) => sl1(v, 0.5)),
    );
    close(vals(F.smoothL1Loss(tensor(x), tensor(y), { beta: 0 })), mean(d.map(Math.abs)));
    // gradient at |d| = delta is delta * sign(d), as PyTorch's.
    const a = tensor([1.5]).requiresGrad_();
    F.huberLoss(a, tensor([1.0]), { delta: 0.5 }).backward();
    close(vals(a.grad), [0.5]);
  });
});

describe('binary losses', () => {
  const logits = [-3.0, -0.4, 0.0, 0.7, 2.5, 12.0];
  const t = [0.0, 1.0, 0.3, 1.0, 0.0, 1.0];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const sp = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

  it('binaryCrossEntropy on probabilities, weight, log clamp at -100', () => {
    const p = logits.map(sig);
    const w = [1, 2, 1, 0.5, 1, 3];
    const want = p.map((q, i) => -w[i] * (t[i] * Math.max(Math.log(q), -100) + (1 - t[i]) * Math.max(Math.log(1 - q), -100)));
    close(vals(F.binaryCrossEntropy(tensor(p), tensor(t), { weight: tensor(w), reduction: 'none' })), want, 1e-4);
    close(vals(F.binaryCrossEntropy(tensor([0, 1]), tensor([1, 0]))), 100);
  });

  it('binaryCrossEntropyWithLogits with posWeight: values and PyTorch gradients', () => {
    const pw = 2.5;
    const want = logits.map((x, i) => (1 + (pw - 1) * t[i]) * sp(-x) + (1 - t[i]) * x);
    const xi = tensor(logits).requiresGrad_();
    const ti = tensor(t).requiresGrad_();
    const m = new BCEWithLogitsLoss({ posWeight: tensor([pw]), reduction: 'sum' });
    expect(Object.keys(m.stateDict())).toEqual(['pos_weight']);
    const loss = m.forward(xi, ti);
    close(
      vals(loss),
      want.reduce((a, b) => a + b, 0),
      1e-5,
    );
    loss.backward();
    // d/dx = (pw t + 1 - t) sigmoid(x) - pw t; d/dt = -x - (pw - 1) log(sigmoid(x))
    close(
      vals(xi.grad),
      logits.map((x, i) => (pw * t[i] + 1 - t[i]) * sig(x) - pw * t[i]),
      1e-5,
    );
    close(
      vals(ti.grad),
      logits.map((x) => -x - (pw - 1) * -sp(-x)),
      1e-5,
    );
  });

  it("sigmoidFocalLoss equals torchvision's formula; reduction defaults to none", () => {
    const want = logits.map((x, i) => {
      const p = sig(x);
      const ce = sp(-x) + (1 - t[i]) * x;
      const pt = p * t[i] + (1 - p) * (1 - t[i]);
      const at = 0.25 * t[i] + 0.75 * (1 - t[i]);
      return at * ce * (1 - pt) ** 2;
    });
    close(vals(new SigmoidFocalLoss().forward(tensor(logits), tensor(t))), want, 1e-5);
    close(
      vals(F.sigmoidFocalLoss(tensor(logits), tensor(t), { alpha: -1, gamma: 0, reduction: 'mean' })),
      logits.reduce((a, x, i) => a + sp(-x) + (1 - t[i]) * x, 0) / logits.length,
      1e-5,
    );
  });
});

describe('embedding losses', () => {
  const A = [
    [0.1, 0.5, -0.3],
    [1.0, 0.0, 2.0],
  ];
  const P = [
    [0.2, 0.4, -0.1],
    [0.0, 1.0, 2.5],
  ];
  const N = [
    [0.1, 0.4, -0.2],
    [3.0, 0.5, -1.0],
  ];
  const dist = (a: number[], b: number[], p = 2, eps = 1e-6) => a.reduce((s, v, i) => s + Math.abs(v - b[i] + eps) ** p, 0) ** (1 / p);

  it('tripletMarginLoss (p = 2 and 1, swap, none)', () => {
    const want = A.map((a, i) => Math.max(dist(a, P[i]) - dist(a, N[i]) + 1, 0));
    close(vals(new TripletMarginLoss({ reduction: 'none' }).forward(tensor(A), tensor(P), tensor(N))), want);
    const want1 = A.map((a, i) => Math.max(dist(a, P[i], 1) - Math.min(dist(a, N[i], 1), dist(P[i], N[i], 1)) + 0.5, 0));
    close(vals(F.tripletMarginLoss(tensor(A), tensor(P), tensor(N), { p: 1, margin: 0.5, swap: true })), (want1[0] + want1[1]) / 2);
    close(
      vals(F.pairwiseDistance(tensor(A), tensor(P))),
      A.map((a, i) => dist(a, P[i])),
    );
  });

  it('cosineEmbeddingLoss with margin, int and float targets', () => {
    const cos = (a: number[], b: number[]) => {
      const dot = a.reduce((s, v, i) => s + v * b[i], 0);
      const n1 = a.reduce((s, v) => s + v * v, 0) + 1e-12;
      const n2 = b.reduce((s, v) => s + v * v, 0) + 1e-12;
      return dot / Math.sqrt(n1 * n2);
    };
    const want = [1 - cos(A[0], P[0]), Math.max(cos(A[1], P[1]) - 0.1, 0)];
    close(vals(new CosineEmbeddingLoss({ margin: 0.1, reduction: 'none' }).forward(tensor(A), tensor(P), int([1, -1]))), want);
    close(vals(F.cosineEmbeddingLoss(tensor(A), tensor(P), tensor([1, -1]), { margin: 0.1 })), (want[0] + want[1]) / 2);
  });

  it('contrastiveLoss (Hadsell et al.): similar pairs pay d²/2, dissimilar max(0, m - d)²/2', () => {
    const d = A.map((a, i) => dist(a, N[i]));
    const want = [0.5 * d[0] ** 2, 0.5 * Math.max(0, 2 - d[1]) ** 2];
    close(vals(new ContrastiveLoss({ margin: 2, reduction: 'none' }).forward(tensor(A), tensor(N), int([1, 0]))), want);
    close(
      vals(F.contrastiveLoss(tensor(A), tensor(N), tensor([0, 1]), { margin: 2 })),
      (0.5 * Math.max(0, 2 - d[0]) ** 2 + 0.5 * d[1] ** 2) / 2,
    );
  });

  it('gradchecks', async () => {
    const a = tensor(A);
    const p = tensor(P);
    const n = tensor(N);
    const checks: [(...t: Tensor[]) => Tensor, Tensor[]][] = [
      [(x, y, z) => F.tripletMarginLoss(x, y, z, { margin: 2 }), [a, p, n]],
      [(x, y) => F.cosineEmbeddingLoss(x, y, int([1, -1]), { margin: -0.5 }), [a, p]],
      [(x, y) => F.contrastiveLoss(x, y, int([1, 0]), { margin: 5 }), [a, n]],
    ];
    for (const [fn, inputs] of checks) {
      const r = await gradcheck(fn, inputs);
      expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
    }
  });
});

describe('every loss: reductions none / mean / sum, module = function', () => {
  const X = [
    [0.3, -1.2, 0.8],
    [1.5, 0.1, -0.4],
  ];
  const Y = [
    [0.0, -1.0, 1.5],
    [1.0, 0.5, -0.4],
  ];
  const P = [
    [0.2, 0.7, 0.9],
    [0.4, 0.1, 0.5],
  ];
  const T01 = [
    [0, 1, 1],
    [1, 0, 0],
  ];
  type Case = {
    name: string;
    /** Element count `none` returns. */
    n: number;
    fn: (reduction: F.Reduction) => Tensor;
    module: (reduction: F.Reduction) => Tensor;
  };
  const cases: Case[] = [
    {
      name: 'mse',
      n: 6,
      fn: (r) => F.mseLoss(tensor(X), tensor(Y), { reduction: r }),
      module: (r) => new MSELoss({ reduction: r }).forward(tensor(X), tensor(Y)),
    },
    {
      name: 'l1',
      n: 6,
      fn: (r) => F.l1Loss(tensor(X), tensor(Y), { reduction: r }),
      module: (r) => new L1Loss({ reduction: r }).forward(tensor(X), tensor(Y)),
    },
    {
      name: 'huber',
      n: 6,
      fn: (r) => F.huberLoss(tensor(X), tensor(Y), { delta: 0.6, reduction: r }),
      module: (r) => new HuberLoss({ delta: 0.6, reduction: r }).forward(tensor(X), tensor(Y)),
    },
    {
      name: 'smoothL1',
      n: 6,
      fn: (r) => F.smoothL1Loss(tensor(X), tensor(Y), { beta: 0.6, reduction: r }),
      module: (r) => new SmoothL1Loss({ beta: 0.6, reduction: r }).forward(tensor(X), tensor(Y)),
    },
    {
      name: 'bce',
      n: 6,
      fn: (r) => F.binaryCrossEntropy(tensor(P), tensor(T01), { reduction: r }),
      module: (r) => new BCELoss({ reduction: r }).forward(tensor(P), tensor(T01)),
    },
    {
      name: 'bceWithLogits',
      n: 6,
      fn: (r) => F.binaryCrossEntropyWithLogits(tensor(X), tensor(T01), { reduction: r }),
      module: (r) => new BCEWithLogitsLoss({ reduction: r }).forward(tensor(X), tensor(T01)),
    },
    {
      name: 'sigmoidFocal',
      n: 6,
      fn: (r) => F.sigmoidFocalLoss(tensor(X), tensor(T01), { reduction: r }),
      module: (r) => new SigmoidFocalLoss({ reduction: r }).forward(tensor(X), tensor(T01)),
    },
    {
      name: 'nll',
      n: 2,
      fn: (r) => F.nllLoss(tensor(X), int([2, 0]), { reduction: r }),
      module: (r) => new NLLLoss({ reduction: r }).forward(tensor(X), int([2, 0])),
    },
    {
      name: 'crossEntropy',
      n: 2,
      fn: (r) => F.crossEntropy(tensor(X), int([2, 0]), { reduction: r }),
      module: (r) => new CrossEntropyLoss({ reduction: r }).forward(tensor(X), int([2, 0])),
    },
    {
      name: 'tripletMargin',
      n: 2,
      fn: (r) => F.tripletMarginLoss(tensor(X), tensor(Y), tensor(P), { margin: 2, reduction: r }),
      module: (r) => new TripletMarginLoss({ margin: 2, reduction: r }).forward(tensor(X), tensor(Y), tensor(P)),
    },
    {
      name: 'cosineEmbedding',
      n: 2,
      fn: (r) => F.cosineEmbeddingLoss(tensor(X), tensor(Y), int([1, -1]), { margin: -0.5, reduction: r }),
      module: (r) => new CosineEmbeddingLoss({ margin: -0.5, reduction: r }).forward(tensor(X), tensor(Y), int([1, -1])),
    },
    {
      name: 'contrastive',
      n: 2,
      fn: (r) => F.contrastiveLoss(tensor(X), tensor(Y), int([1, 0]), { margin: 3, reduction: r }),
      module: (r) => new ContrastiveLoss({ margin: 3, reduction: r }).forward(tensor(X), tensor(Y), int([1, 0])),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const none = vals(c.fn('none'));
      expect(none.length).toBe(c.n);
      expect(
        none.some((v) => v !== 0),
        'a non-trivial case',
      ).toBe(true);
      const total = none.reduce((a, b) => a + b, 0);
      close(vals(c.fn('sum')), total);
      close(vals(c.fn('mean')), total / c.n);
      expect(c.fn('mean').shape).toEqual([]);
      for (const r of ['none', 'mean', 'sum'] as const) close(vals(c.module(r)), vals(c.fn(r)));
    });
  }
});
