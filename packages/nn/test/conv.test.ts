/**
 * Convolutions (the PyTorch conv golden cases run in torch-fixtures.test.ts, through the
 * conformance kit's fixture runner): gradchecks (strided + dilated + grouped conv,
 * transposed conv), 'same' padding against a hand computation, unbatched inputs, init
 * bounds, and the errors.
 */
import '@ghostflow/backend-cpu';
import { type Tensor, enableGrad, gradcheck, gradients, manualSeed, setBackend, tensor } from '@ghostflow/core';
import {
  Conv1d,
  Conv2d,
  Conv3d,
  ConvTranspose1d,
  ConvTranspose2d,
  type ConvNdBase,
  conv1d,
  conv2d,
  conv3d,
  convTranspose1d,
  convTranspose2d,
  convTranspose3d,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

function vals(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, Number);
}

function expectAllClose(got: number[], want: number[], atol = 1e-5): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i] - w), `[${i}] got ${got[i]} want ${w}`).toBeLessThanOrEqual(atol));
}

/** Deterministic values in [-1, 1). */
function det(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.9);
  return tensor(data, { shape });
}

describe('gradcheck', () => {
  it('strided + dilated + grouped conv2d', async () => {
    const x = det([1, 4, 6, 7], 1);
    const w = det([4, 2, 2, 3], 2);
    const b = det([4], 3);
    const r = await gradcheck(
      (xi, wi, bi) => conv2d(xi, wi, bi, { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2 }),
      [x, w, b],
    );
    expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
  });

  it('strided + dilated + grouped conv1d with same-size output and conv3d', async () => {
    const r1 = await gradcheck(
      (xi, wi) => conv1d(xi, wi, null, { padding: 'same', dilation: 2, groups: 3 }),
      [det([2, 3, 7], 4), det([6, 1, 4], 5)],
    );
    expect(r1.ok, JSON.stringify(r1.mismatches)).toBe(true);
    const r3 = await gradcheck(
      (xi, wi, bi) => conv3d(xi, wi, bi, { stride: 2, padding: 1 }),
      [det([1, 2, 3, 4, 3], 6), det([2, 2, 2, 2, 2], 7), det([2], 8)],
    );
    expect(r3.ok, JSON.stringify(r3.mismatches)).toBe(true);
  });

  it('transposed conv2d: stride, padding, outputPadding, dilation, groups', async () => {
    const x = det([2, 4, 3, 2], 9);
    const w = det([4, 3, 3, 2], 10); // groups 2 → out channels 6
    const b = det([6], 11);
    const r = await gradcheck(
      (xi, wi, bi) => convTranspose2d(xi, wi, bi, { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], dilation: [1, 2], groups: 2 }),
      [x, w, b],
    );
    expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
  });

  it('second order (createGraph): gradcheck of d/dx sum(conv2d(x, w)^2)', async () => {
    // gradcheck's finite-difference evaluations pass inputs that do not require grad.
    const f = (xi: Tensor, wi: Tensor) =>
      enableGrad(() => {
        const x = xi.requiresGrad ? xi : xi.detach().requiresGrad_(true);
        const y = conv2d(x, wi, null, { stride: 2, padding: 1, groups: 2 });
        return gradients(y.square().sum(), [x], null, { createGraph: true })[0] as Tensor;
      });
    const r = await gradcheck(f, [det([1, 2, 4, 5], 23), det([2, 1, 3, 2], 24)]);
    expect(r.ok, JSON.stringify(r.mismatches)).toBe(true);
  });
});

/** Direct (loop) conv1d reference, batch 1, groups 1: x [C, L], w [O, C, k], explicit left/right pads. */
function refConv1d(x: number[][], w: number[][][], left: number, right: number, stride = 1, dilation = 1): number[][] {
  const L = x[0].length + left + right;
  const k = w[0][0].length;
  const outLen = Math.floor((L - dilation * (k - 1) - 1) / stride) + 1;
  return w.map((wo) =>
    Array.from({ length: outLen }, (_, t) => {
      let s = 0;
      wo.forEach((wc, c) =>
        wc.forEach((wv, j) => {
          const pos = t * stride + j * dilation - left;
          if (pos >= 0 && pos < x[0].length) s += wv * x[c][pos];
        }),
      );
      return s;
    }),
  );
}

/** Direct transposed conv1d reference (scatter form), batch 1, groups 1: x [C_in, L], w [C_in, O, k]. */
function refConvT1d(x: number[][], w: number[][][], stride: number, padding: number, outputPadding: number, dilation: number): number[][] {
  const k = w[0][0].length;
  const L = x[0].length;
  const outLen = (L - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1;
  const out = w[0].map(() => new Array<number>(outLen).fill(0));
  x.forEach((xc, c) =>
    xc.forEach((xv, i) =>
      w[c].forEach((wo, o) =>
        wo.forEach((wv, j) => {
          const pos = i * stride + j * dilation - padding;
          if (pos >= 0 && pos < outLen) out[o][pos] += xv * wv;
        }),
      ),
    ),
  );
  return out;
}

describe("padding 'same' and 'valid'", () => {
  it("'same' with an even kernel pads the extra element on the right (hand computation)", () => {
    // x = [1, 2, 3, 4, 5], kernel [1, 10, 100, 1000]: total pad 3 → left 1, right 2.
    // out[t] = sum_j w[j] * xpad[t + j], xpad = [0, 1, 2, 3, 4, 5, 0, 0].
    const x = tensor([[[1, 2, 3, 4, 5]]]);
    const w = tensor([[[1, 10, 100, 1000]]]);
    const y = conv1d(x, w, null, { padding: 'same' });
    expect([...y.shape]).toEqual([1, 1, 5]);
    expectAllClose(vals(y), [0 + 10 + 200 + 3000, 1 + 20 + 300 + 4000, 2 + 30 + 400 + 5000, 3 + 40 + 500 + 0, 4 + 50 + 0 + 0]);
  });

  it("'same' in 2-d with an even kernel and dilation matches the reference; module too", () => {
    const x = det([1, 2, 5, 4], 12);
    const conv = new Conv2d(2, 3, [2, 4], { padding: 'same', dilation: [3, 1] });
    const y = conv.forward(x);
    expect([...y.shape]).toEqual([1, 3, 5, 4]);
    // H: total 3·(2−1) = 3 → (1, 2); W: total 3 → (1, 2).
    const manual = conv2d(x, conv.weight, conv.bias, { padding: 0, dilation: [3, 1] });
    expect([...manual.shape]).toEqual([1, 3, 2, 1]);
    const padded = conv2d(
      tensor(
        Float32Array.from({ length: 2 * 8 * 7 }, (_, i) => {
          const c = Math.floor(i / 56);
          const h = Math.floor((i % 56) / 7) - 1;
          const ww = (i % 7) - 1;
          return h >= 0 && h < 5 && ww >= 0 && ww < 4 ? (x.dataSync() as Float32Array)[c * 20 + h * 4 + ww] : 0;
        }),
        { shape: [1, 2, 8, 7] },
      ),
      conv.weight,
      conv.bias,
      { dilation: [3, 1] },
    );
    expectAllClose(vals(y), vals(padded));
  });

  it("1-d stride/dilation/'valid' match the loop reference", () => {
    const x = det([1, 2, 11], 13);
    const w = det([3, 2, 3], 14);
    const xs = (x.arraySync() as number[][][])[0];
    const ws = w.arraySync() as number[][][];
    expectAllClose(vals(conv1d(x, w, null, { padding: 'valid', stride: 3, dilation: 2 })), refConv1d(xs, ws, 0, 0, 3, 2).flat());
    expectAllClose(vals(conv1d(x, w, null, { padding: 2, stride: 2 })), refConv1d(xs, ws, 2, 2, 2, 1).flat());
  });

  it('transposed conv1d matches the scatter reference', () => {
    const x = det([1, 2, 5], 15);
    const w = det([2, 3, 3], 16);
    const xs = (x.arraySync() as number[][][])[0];
    const ws = w.arraySync() as number[][][];
    for (const [s, p, op, d] of [
      [1, 0, 0, 1],
      [2, 1, 1, 1],
      [3, 2, 0, 2],
      [2, 4, 1, 1], // padding larger than dilation·(k−1): a crop
      [1, 1, 1, 2],
    ]) {
      const y = convTranspose1d(x, w, null, { stride: s, padding: p, outputPadding: op, dilation: d });
      const want = refConvT1d(xs, ws, s, p, op, d);
      expect([...y.shape]).toEqual([1, 3, want[0].length]);
      expectAllClose(vals(y), want.flat());
    }
  });
});

describe('layers', () => {
  it('parameter names, shapes and PyTorch init bounds (incl. transposed fanIn)', () => {
    manualSeed(0);
    const c = new Conv2d(6, 8, [3, 5], { groups: 2 });
    expect([...c.weight.shape]).toEqual([8, 3, 3, 5]);
    expect([...(c.bias as Tensor).shape]).toEqual([8]);
    expect([...c.namedParameters()].map(([n]) => n)).toEqual(['weight', 'bias']);
    const fanIn = 3 * 15;
    // kaiming-uniform a=sqrt(5): bound = sqrt(1/3)·sqrt(3/fanIn) = 1/sqrt(fanIn).
    expect(Math.max(...vals(c.weight).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    expect(Math.max(...vals(c.weight).map(Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(fanIn));
    expect(Math.max(...vals(c.bias as Tensor).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    const t = new ConvTranspose2d(4, 6, 3, { groups: 2, bias: false });
    expect([...t.weight.shape]).toEqual([4, 3, 3, 3]);
    expect(t.bias).toBeNull();
    expect(Math.max(...vals(t.weight).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3 * 9)); // fanIn = out/groups · k
    expect(new Conv1d(2, 4, 3, { stride: 2, dilation: 2 }).toString()).toContain(
      'Conv1d(2, 4, kernelSize=(3,), stride=(2,), dilation=(2,))',
    );
  });

  it('unbatched inputs give unbatched outputs equal to the batched ones', () => {
    const c1 = new Conv1d(2, 3, 3, { padding: 1 });
    const x1 = det([2, 6], 17);
    const y1 = c1.forward(x1);
    expect([...y1.shape]).toEqual([3, 6]);
    expectAllClose(vals(y1), vals(c1.forward(x1.unsqueeze(0))));
    const c3 = new Conv3d(1, 2, 2);
    expect([...c3.forward(det([1, 3, 3, 3], 18)).shape]).toEqual([2, 2, 2, 2]);
    const t = new ConvTranspose2d(2, 3, 2, { stride: 2 });
    const x2 = det([2, 3, 4], 19);
    const y2 = t.forward(x2);
    expect([...y2.shape]).toEqual([3, 6, 8]);
    expectAllClose(vals(y2), vals(t.forward(x2.unsqueeze(0))));
  });

  it('ConvTranspose outputSize picks the output padding', () => {
    const t = new ConvTranspose1d(1, 1, 3, { stride: 3, padding: 1 });
    const x = det([1, 1, 4], 20);
    expect([...t.forward(x).shape]).toEqual([1, 1, 10]);
    expect([...t.forward(x, [12]).shape]).toEqual([1, 1, 12]);
    expect([...t.forward(x, [1, 1, 11]).shape]).toEqual([1, 1, 11]);
    expect(() => t.forward(x, [13])).toThrow(/valid sizes range from \[10\] to \[12\]/);
  });

  it('convTranspose3d runs (shared N-d path)', () => {
    const y = convTranspose3d(det([1, 2, 2, 2, 2], 21), det([2, 1, 2, 2, 2], 22), null, { stride: 2 });
    expect([...y.shape]).toEqual([1, 1, 4, 4, 4]);
  });
});

describe('errors', () => {
  it('channels not divisible by groups', () => {
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/inChannels \(3\) must be divisible by groups \(2\)/);
    expect(() => new ConvTranspose2d(4, 3, 3, { groups: 2 })).toThrow(/outChannels \(3\) must be divisible by groups \(2\)/);
    expect(() => conv2d(det([1, 4, 5, 5], 1), det([3, 2, 3, 3], 2), null, { groups: 2 })).toThrow(
      /3 output channels, which is not divisible by groups=2/,
    );
  });

  it('wrong input rank and channel count name expected and got', () => {
    const c = new Conv2d(2, 3, 3);
    expect(() => c.forward(det([2, 5], 1))).toThrow(
      /conv2d: expected 3D \(unbatched\) or 4D \(batched\) input, but got input of size \[2, 5\]/,
    );
    expect(() => c.forward(det([1, 3, 5, 5], 1))).toThrow(/expected input \[1, 3, 5, 5\] to have 2 channels, but got 3 channels instead/);
    expect(() => conv1d(det([1, 2, 5], 1), det([3, 2, 3, 3], 2))).toThrow(/expected a 3D weight/);
    expect(() => new ConvTranspose2d(2, 3, 3).forward(det([1, 2, 2, 2, 2], 1))).toThrow(
      /conv_transpose2d: expected 3D \(unbatched\) or 4D \(batched\) input/,
    );
  });

  it('padding mode, same+stride, kernel too large, bad outputPadding, bad tuples', () => {
    expect(() => new Conv2d(2, 3, 3, { paddingMode: 'reflect' })).toThrow(/paddingMode 'reflect' is not supported; only 'zeros'/);
    expect(() => new Conv2d(2, 3, 3, { padding: 'same', stride: 2 })).toThrow(/padding='same' is not supported for strided convolutions/);
    expect(() => conv1d(det([1, 1, 5], 1), det([1, 1, 3], 2), null, { padding: 'same', stride: 2 })).toThrow(/strided/);
    expect(() => conv2d(det([1, 1, 3, 3], 1), det([1, 1, 5, 5], 2))).toThrow(/Kernel size can't be greater than actual input size/);
    expect(() => new ConvTranspose2d(2, 3, 3, { stride: 2, outputPadding: 2 })).toThrow(/must be smaller than either stride/);
    expect(() => conv2d(det([1, 1, 5, 5], 1), det([1, 1, 3, 3], 2), null, { stride: [1, 2, 3] })).toThrow(
      /stride to be a single int or a tuple of 2 ints, got \[1, 2, 3\]/,
    );
    expect(() => new Conv2d(2, 3, 0)).toThrow(/kernelSize to be positive integers/);
    expect(() => conv2d(det([1, 1, 5, 5], 1), det([2, 1, 3, 3], 2), det([3], 3))).toThrow(/bias of shape \[2\]/);
  });
});
