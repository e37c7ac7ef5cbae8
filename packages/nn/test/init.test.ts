/**
 * nn.init additions (issue 11): calculateGain and the std/bound formulas against PyTorch 1.13
 * (test/cases/modules_init.json from tools/torch-cases/modules_init.py), and the
 * distributions by sampling with fixed seeds: xavierNormal_ / kaimingNormal_ mean and std,
 * truncNormal_ bounds and moments (PyTorch's closed form), orthogonal_ orthonormality in
 * PyTorch's orientation, eye_ / dirac_ exact values.
 */
import { readFileSync } from 'node:fs';
import '@ghostflow/backend-cpu';
import { type Tensor, getRngState, manualSeed, rand, randn, setBackend, zeros } from '@ghostflow/core';
import { conv2d, init } from '@ghostflow/nn';

const empty = (shape: number[]) => zeros(shape);
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const cases = JSON.parse(readFileSync(new URL('./cases/modules_init.json', import.meta.url), 'utf8')) as {
  gains: { nonlinearity: init.Nonlinearity; param: number | null; gain: number }[];
  fans: {
    shape: number[];
    fanIn: number;
    fanOut: number;
    xavierNormalStd: number;
    xavierNormalStdTanh: number;
    kaimingNormalStd: number;
    kaimingNormalStdReluFanOut: number;
    kaimingUniformBoundSqrt5: number;
  }[];
  orthogonal: { shape: number[]; orthonormalRows: boolean; orthonormalCols: boolean }[];
  truncNormal: { mean: number; std: number; a: number; b: number; expectedMean: number; expectedStd: number }[];
};

function vals(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, Number);
}

const minOf = (v: number[]) => v.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
const maxOf = (v: number[]) => v.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);

function moments(v: number[]): { mean: number; std: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

describe('calculateGain', () => {
  it("equals PyTorch's calculate_gain for every nonlinearity and slope", () => {
    for (const c of cases.gains) expect(init.calculateGain(c.nonlinearity, c.param ?? undefined)).toBe(c.gain);
  });
  it('refuses unknown nonlinearities and bad slopes as PyTorch does', () => {
    expect(() => init.calculateGain('gelu' as init.Nonlinearity)).toThrow('Unsupported nonlinearity gelu');
    expect(() => init.calculateGain('leaky_relu', Number.NaN)).toThrow(/not a valid number/);
  });
});

describe('normal initialisers: PyTorch std, sampled moments', () => {
  it('fanInOut and the std / bound of xavier_normal_, kaiming_normal_, kaiming_uniform_ match PyTorch', () => {
    for (const c of cases.fans) {
      expect(init.fanInOut(c.shape)).toEqual({ fanIn: c.fanIn, fanOut: c.fanOut });
      if (c.shape.reduce((a, b) => a * b, 1) < 20000) continue;
      manualSeed(11);
      const x = init.xavierNormal_(empty(c.shape));
      const mx = moments(vals(x));
      expect(Math.abs(mx.mean)).toBeLessThan(0.01 * c.xavierNormalStd * 10);
      expect(mx.std / c.xavierNormalStd).toBeCloseTo(1, 1);
      const k = init.kaimingNormal_(empty(c.shape), 0, 'fan_out', 'relu');
      expect(moments(vals(k)).std / c.kaimingNormalStdReluFanOut).toBeCloseTo(1, 1);
    }
  });

  it('matches the exact formula per shape (sampled std within 2% for 60 000 values)', () => {
    for (const c of cases.fans) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const reps = Math.ceil(60000 / n);
      const xs: number[] = [];
      const ks: number[] = [];
      const ts: number[] = [];
      const us: number[] = [];
      manualSeed(5);
      for (let r = 0; r < reps; r++) {
        xs.push(...vals(init.xavierNormal_(empty(c.shape), 5 / 3)));
        ks.push(...vals(init.kaimingNormal_(empty(c.shape))));
        ts.push(...vals(init.kaimingNormal_(empty(c.shape), 0, 'fan_out', 'relu')));
        us.push(...vals(init.kaimingUniform_(empty(c.shape))));
      }
      expect(Math.abs(moments(xs).std / c.xavierNormalStdTanh - 1)).toBeLessThan(0.02);
      expect(Math.abs(moments(ks).std / c.kaimingNormalStd - 1)).toBeLessThan(0.02);
      expect(Math.abs(moments(ts).std / c.kaimingNormalStdReluFanOut - 1)).toBeLessThan(0.02);
      expect(maxOf(us.map(Math.abs))).toBeLessThanOrEqual(c.kaimingUniformBoundSqrt5);
      expect(maxOf(us.map(Math.abs))).toBeGreaterThan(0.99 * c.kaimingUniformBoundSqrt5);
      expect(Math.abs(moments(ks).mean)).toBeLessThan(0.02 * c.kaimingNormalStd);
    }
  });

  it('refuses bad modes and 1-D tensors', () => {
    expect(() => init.kaimingNormal_(zeros([3, 3]), 0, 'fan_avg' as init.FanMode)).toThrow(/Mode fan_avg not supported/);
    expect(() => init.xavierNormal_(zeros([3]))).toThrow(/at least 2 dims/);
  });
});

describe('truncNormal_', () => {
  it("stays inside [a, b] and has the truncated normal's mean and std (PyTorch's closed form)", () => {
    for (const c of cases.truncNormal) {
      manualSeed(7);
      const v = vals(init.truncNormal_(empty([200000]), c.mean, c.std, c.a, c.b));
      expect(minOf(v)).toBeGreaterThanOrEqual(c.a);
      expect(maxOf(v)).toBeLessThanOrEqual(c.b);
      const m = moments(v);
      expect(Math.abs(m.mean - c.expectedMean)).toBeLessThan(0.01 * c.std);
      expect(Math.abs(m.std / c.expectedStd - 1)).toBeLessThan(0.01);
      // Both tails are reached (the inverse CDF covers the whole interval).
      expect(minOf(v)).toBeLessThan(c.a + 0.01 * (c.b - c.a));
      expect(maxOf(v)).toBeGreaterThan(c.b - 0.01 * (c.b - c.a));
    }
  });

  it('draws from the global stream: reproducible by seed, and advances it like rand of the same size', () => {
    manualSeed(1);
    const a = vals(init.truncNormal_(empty([50]), 0, 1));
    const after = getRngState();
    manualSeed(1);
    const b = vals(init.truncNormal_(empty([50]), 0, 1));
    expect(b).toEqual(a);
    manualSeed(1);
    rand([50]);
    expect(getRngState()).toEqual(after);
  });
});

describe('orthogonal_', () => {
  it("is orthonormal to 1e-5 in PyTorch's orientation for every shape, scaled by gain", () => {
    for (const c of cases.orthogonal) {
      manualSeed(2);
      const t = init.orthogonal_(empty(c.shape));
      const rows = c.shape[0];
      const cols = t.size / rows;
      const v = vals(t);
      const gram = (byRows: boolean) => {
        const n = byRows ? rows : cols;
        let worst = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let dot = 0;
            if (byRows) for (let k = 0; k < cols; k++) dot += v[i * cols + k] * v[j * cols + k];
            else for (let k = 0; k < rows; k++) dot += v[k * cols + i] * v[k * cols + j];
            worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
          }
        }
        return worst;
      };
      if (c.orthonormalRows) expect(gram(true)).toBeLessThan(1e-5);
      if (c.orthonormalCols) expect(gram(false)).toBeLessThan(1e-5);
      if (!c.orthonormalRows) expect(gram(true)).toBeGreaterThan(1e-2);
      if (!c.orthonormalCols) expect(gram(false)).toBeGreaterThan(1e-2);
    }
    manualSeed(2);
    const g = vals(init.orthogonal_(empty([4, 4]), 2));
    const row0 = g.slice(0, 4).reduce((a, b) => a + b * b, 0);
    expect(row0).toBeCloseTo(4, 5);
  });

  it('is the Q of a QR of the same normal draws: a fresh seed gives a different matrix, the same seed the same', () => {
    manualSeed(9);
    const a = vals(init.orthogonal_(empty([5, 3])));
    manualSeed(9);
    const b = vals(init.orthogonal_(empty([5, 3])));
    manualSeed(10);
    const c = vals(init.orthogonal_(empty([5, 3])));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(() => init.orthogonal_(zeros([4]))).toThrow(/2 or more dimensions/);
  });

  it('is Haar-like: entries of a large orthogonal matrix average 0 with variance 1/n', () => {
    manualSeed(4);
    const n = 64;
    const v = vals(init.orthogonal_(empty([n, n])));
    const m = moments(v);
    expect(Math.abs(m.mean)).toBeLessThan(0.01);
    expect(Math.abs(m.std * Math.sqrt(n) - 1)).toBeLessThan(0.03);
  });
});

describe('eye_ and dirac_', () => {
  it('eye_ writes the identity (rectangular too)', () => {
    expect(vals(init.eye_(randn([2, 3])))).toEqual([1, 0, 0, 0, 1, 0]);
    expect(() => init.eye_(zeros([2, 2, 2]))).toThrow(/2 dimensions/);
  });

  it('dirac_ makes a convolution that passes channels through (groups too)', () => {
    const w = init.dirac_(randn([2, 2, 3, 3]));
    const x = randn([1, 2, 5, 5]);
    expect(vals(conv2d(x, w, null, { padding: 1 }))).toEqual(vals(x));
    const g = vals(init.dirac_(zeros([4, 1, 3]), 2));
    // Each group's first output channel takes input channel 0 at the centre tap.
    expect(g).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(() => init.dirac_(zeros([3, 1, 3]), 2)).toThrow(/divisible by groups/);
  });
});
