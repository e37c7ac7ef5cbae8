/**
 * Attention (the MultiheadAttention PyTorch golden cases run in torch-fixtures.test.ts,
 * through the conformance kit's fixture runner): scaled dot-product attention semantics (masks, fully masked rows, causal), positional
 * encodings (sinusoidal, RoPE in both layouts against a direct formula) and the KV cache
 * (step-by-step decoding equals the full causal pass).
 */
import '@ghostflow/backend-cpu';
import { type Tensor, cat, memory, noGrad, randn, setBackend, tensor, tidy, zeros } from '@ghostflow/core';
import {
  KVCache,
  MultiheadAttention,
  RotaryEmbedding,
  SinusoidalPositionalEncoding,
  TransformerEncoder,
  TransformerEncoderLayer,
  applyRotaryEmbedding,
  causalMask,
  generateSquareSubsequentMask,
  scaledDotProductAttention,
  scaledDotProductAttentionWithWeights,
  sinusoidalTable,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectTensorsClose } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('scaledDotProductAttention', () => {
  /** Reference attention in plain JS (float64) for [L,E]·[S,E]·[S,Ev], masked (bool true = out). */
  function reference(q: number[][], k: number[][], v: number[][], masked: boolean[][] | null): number[][] {
    const E = q[0].length;
    return q.map((qi, i) => {
      const s = k.map((kj, j) => (masked?.[i][j] ? Number.NEGATIVE_INFINITY : qi.reduce((acc, x, e) => acc + x * kj[e], 0) / Math.sqrt(E)));
      const m = Math.max(...s);
      if (m === Number.NEGATIVE_INFINITY) return v[0].map(() => 0);
      const ex = s.map((x) => Math.exp(x - m));
      const z = ex.reduce((a, b) => a + b, 0);
      return v[0].map((_, c) => ex.reduce((acc, w, j) => acc + (w / z) * v[j][c], 0));
    });
  }

  it('matches a direct computation, with and without a bool mask', () => {
    const q = randn([3, 4]);
    const k = randn([5, 4]);
    const v = randn([5, 2]);
    const masked = [
      [false, true, false, false, true],
      [true, true, true, true, false],
      [false, false, false, false, false],
    ];
    const qa = q.arraySync() as number[][];
    const ka = k.arraySync() as number[][];
    const va = v.arraySync() as number[][];
    const ref0 = reference(qa, ka, va, null);
    expectClose(scaledDotProductAttention(q, k, v), { shape: [3, 2], data: ref0.flat() }, { atol: 1e-5, rtol: 1e-5 }, 'no mask');
    const ref1 = reference(qa, ka, va, masked);
    expectClose(
      scaledDotProductAttention(q, k, v, { attnMask: tensor(masked).logicalNot() }),
      { shape: [3, 2], data: ref1.flat() },
      { atol: 1e-5, rtol: 1e-5 },
      'bool mask',
    );
  });

  it('bool false = masked out (PyTorch 2 SDPA: true takes part) equals the additive -inf float mask; custom scale', () => {
    const q = randn([2, 3, 4]);
    const k = randn([2, 5, 4]);
    const v = randn([2, 5, 3]);
    const bool = tensor([
      [false, true, false, false, true],
      [false, false, false, true, false],
      [true, false, false, false, false],
    ]);
    const float = zeros([3, 5]).maskedFill(bool, Number.NEGATIVE_INFINITY);
    expectTensorsClose(
      scaledDotProductAttention(q, k, v, { attnMask: bool.logicalNot() }),
      scaledDotProductAttention(q, k, v, { attnMask: float }),
      1e-6,
      'bool vs float',
    );
    const scaled = scaledDotProductAttention(q, k, v, { scale: 0.3 });
    const manual = q.mul(0.3).matmul(k.transpose(-2, -1)).softmax(-1).matmul(v);
    expectTensorsClose(scaled, manual, 1e-6, 'scale');
  });

  it('fully masked rows give zeros, not NaN, and finite gradients (bool and float masks)', () => {
    for (const kind of ['bool', 'float'] as const) {
      const q = randn([2, 3, 4]).requiresGrad_();
      const k = randn([2, 5, 4]).requiresGrad_();
      const v = randn([2, 5, 3]).requiresGrad_();
      const rows = [
        [false, true, false, false, false],
        [true, true, true, true, true],
        [false, false, false, false, false],
      ];
      const bool = tensor(rows);
      const mask = kind === 'bool' ? bool.logicalNot() : zeros([3, 5]).maskedFill(bool, Number.NEGATIVE_INFINITY);
      const { output, weights } = scaledDotProductAttentionWithWeights(q, k, v, { attnMask: mask });
      const out = output.arraySync() as number[][][];
      const w = weights.arraySync() as number[][][];
      for (let b = 0; b < 2; b++) {
        expect(out[b][1]).toEqual([0, 0, 0]);
        expect(w[b][1]).toEqual([0, 0, 0, 0, 0]);
        expect(out[b].flat().every(Number.isFinite)).toBe(true);
      }
      output
        .mul(randn([2, 3, 3]))
        .sum()
        .add(weights.sum())
        .backward();
      for (const t of [q, k, v])
        expect(Array.from(t.grad?.dataSync() as Float32Array).every(Number.isFinite), `${kind} grad finite`).toBe(true);
      const gq = q.grad?.arraySync() as number[][][];
      expect(gq[0][1]).toEqual([0, 0, 0, 0]);
      // The other rows are unaffected by the dead one.
      const partial = scaledDotProductAttention(q.detach().narrow(1, 0, 1), k.detach(), v.detach(), {
        attnMask: bool.narrow(0, 0, 1).logicalNot(),
      });
      expectTensorsClose(output.detach().narrow(1, 0, 1), partial, 1e-6, 'row 0');
    }
  });

  it('isCausal equals an explicit causal mask, and both at once throws', () => {
    const q = randn([2, 4, 8]);
    const k = randn([2, 6, 8]);
    const v = randn([2, 6, 3]);
    const explicit = tensor(Array.from({ length: 4 }, (_, i) => Array.from({ length: 6 }, (_, j) => j <= i)));
    expectTensorsClose(
      scaledDotProductAttention(q, k, v, { isCausal: true }),
      scaledDotProductAttention(q, k, v, { attnMask: explicit }),
      1e-6,
      'causal',
    );
    expect(() => scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: explicit })).toThrow(/either attnMask or isCausal/);
    expect(causalMask(3, 3).arraySync()).toEqual([
      [false, true, true],
      [false, false, true],
      [false, false, false],
    ]);
  });

  it('dropoutP = 1 zeroes everything; shape errors name the shapes', () => {
    const q = randn([3, 4]);
    expect(Array.from(scaledDotProductAttention(q, q, q, { dropoutP: 1 }).dataSync())).toEqual(new Array(12).fill(0));
    expect(() => scaledDotProductAttention(q, randn([3, 5]), q)).toThrow(/last dim/);
  });
});

describe('mask polarity: MultiheadAttention (true = masked out) vs scaledDotProductAttention (true = takes part)', () => {
  it('MHA with a bool mask equals its projections through sdpa with the inverted mask', () => {
    const E = 8;
    const H = 2;
    const mha = new MultiheadAttention(E, H, { batchFirst: true });
    const x = randn([2, 5, E]);
    const maskedOut = tensor(Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (i + j) % 3 === 0 && j !== i)));
    const [out] = mha.forward(x, x, x, { attnMask: maskedOut });
    const manual = tidy(() => {
      const w = mha.inProjWeight as Tensor;
      const b = mha.inProjBias as Tensor;
      const heads = (t: Tensor) => t.reshape(2, 5, H, E / H).transpose(1, 2); // [N, H, L, hd]
      const [q, k, v] = [0, 1, 2].map((i) => heads(x.matmul(w.narrow(0, i * E, E).t()).add(b.narrow(0, i * E, E))));
      const o = scaledDotProductAttention(q, k, v, { attnMask: maskedOut.logicalNot() });
      return mha.outProj.forward(o.transpose(1, 2).reshape(2, 5, E));
    });
    expectTensorsClose(out, manual, 1e-5, 'MHA vs sdpa(logicalNot(mask))');
    // The same mask uninverted attends to the complement: a different result.
    const wrong = tidy(() => {
      const w = mha.inProjWeight as Tensor;
      const b = mha.inProjBias as Tensor;
      const heads = (t: Tensor) => t.reshape(2, 5, H, E / H).transpose(1, 2);
      const [q, k, v] = [0, 1, 2].map((i) => heads(x.matmul(w.narrow(0, i * E, E).t()).add(b.narrow(0, i * E, E))));
      return mha.outProj.forward(scaledDotProductAttention(q, k, v, { attnMask: maskedOut }).transpose(1, 2).reshape(2, 5, E));
    });
    const diff = out.sub(wrong).abs().max().itemSync();
    expect(diff).toBeGreaterThan(1e-3);
  });
});

describe('MultiheadAttention semantics', () => {
  it('needWeights=false gives null; averageAttnWeights=false gives [B, heads, L, S] whose mean is the average', () => {
    const mha = new MultiheadAttention(8, 2, { batchFirst: true });
    const q = randn([3, 4, 8]);
    const kv = randn([3, 6, 8]);
    const [out1, none] = mha.forward(q, kv, kv, { needWeights: false });
    expect(none).toBeNull();
    const [out2, avg] = mha.forward(q, kv, kv);
    const [, perHead] = mha.forward(q, kv, kv, { averageAttnWeights: false });
    expectTensorsClose(out1, out2, 1e-6, 'output unaffected by needWeights');
    expect(perHead?.shape).toEqual([3, 2, 4, 6]);
    expect(avg?.shape).toEqual([3, 4, 6]);
    expectTensorsClose((perHead as Tensor).mean(1), avg as Tensor, 1e-6, 'average of heads');
  });

  it('isCausal equals an explicit causal mask (bool and torch-style float)', () => {
    const mha = new MultiheadAttention(8, 2);
    const x = randn([5, 2, 8]);
    const [a, wa] = mha.forward(x, x, x, { isCausal: true });
    const [b, wb] = mha.forward(x, x, x, { attnMask: causalMask(5, 5) });
    const [c] = mha.forward(x, x, x, { attnMask: generateSquareSubsequentMask(5) });
    expectTensorsClose(a, b, 1e-6, 'causal vs bool');
    expectTensorsClose(a, c, 1e-6, 'causal vs float');
    expectTensorsClose(wa as Tensor, wb as Tensor, 1e-6, 'weights');
  });

  it('unbatched input equals a batch of one; 3-D masks per head', () => {
    const mha = new MultiheadAttention(8, 2, { batchFirst: true });
    const q = randn([4, 8]);
    const kv = randn([6, 8]);
    const mask = tensor(
      Array.from({ length: 2 }, (_, h) => Array.from({ length: 4 }, (_, i) => Array.from({ length: 6 }, (_, j) => (i + j + h) % 3 === 0))),
    );
    const [o1, w1] = mha.forward(q, kv, kv, { attnMask: mask, keyPaddingMask: tensor([false, false, false, false, false, true]) });
    const [o2, w2] = mha.forward(q.unsqueeze(0), kv.unsqueeze(0), kv.unsqueeze(0), {
      attnMask: mask,
      keyPaddingMask: tensor([[false, false, false, false, false, true]]),
    });
    expect(o1.shape).toEqual([4, 8]);
    expect(w1?.shape).toEqual([4, 6]);
    expectTensorsClose(o1, o2.squeeze(0), 1e-6, 'output');
    expectTensorsClose(w1 as Tensor, (w2 as Tensor).squeeze(0), 1e-6, 'weights');
    expect(() => mha.forward(q.unsqueeze(0), kv.unsqueeze(0), kv.unsqueeze(0), { attnMask: zeros([3, 4, 6]) })).toThrow(
      /3-D attnMask must be \[2, 4, 6\]/,
    );
  });

  it('a batch whose every key is padding gives out_proj.bias, not NaN', () => {
    const mha = new MultiheadAttention(4, 2, { batchFirst: true });
    noGrad(() => mha.outProj.bias?.assign(tensor([1, 2, 3, 4])));
    const x = randn([2, 3, 4]).requiresGrad_();
    const [out, w] = mha.forward(x, x, x, {
      keyPaddingMask: tensor([
        [true, true, true],
        [false, true, false],
      ]),
    });
    const o = out.arraySync() as number[][][];
    for (const row of o[0]) expect(row.map((v) => Math.round(v * 1e5) / 1e5)).toEqual([1, 2, 3, 4]);
    expect((w as Tensor).arraySync()).toSatisfy((a: number[][][]) => a[0].flat().every((v) => v === 0));
    out.sum().backward();
    expect(Array.from(x.grad?.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('parameter names and shapes follow PyTorch (packed, kdim/vdim, no bias, addBiasKv, addZeroAttn)', () => {
    const names = (m: MultiheadAttention) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, [...t.shape]]));
    expect(names(new MultiheadAttention(8, 2))).toEqual({
      in_proj_weight: [24, 8],
      in_proj_bias: [24],
      'out_proj.weight': [8, 8],
      'out_proj.bias': [8],
    });
    expect(names(new MultiheadAttention(8, 2, { kdim: 5, vdim: 3 }))).toEqual({
      q_proj_weight: [8, 8],
      k_proj_weight: [8, 5],
      v_proj_weight: [8, 3],
      in_proj_bias: [24],
      'out_proj.weight': [8, 8],
      'out_proj.bias': [8],
    });
    expect(names(new MultiheadAttention(8, 2, { bias: false }))).toEqual({ in_proj_weight: [24, 8], 'out_proj.weight': [8, 8] });
    const kv = new MultiheadAttention(8, 2, { addBiasKv: true, addZeroAttn: true });
    expect(names(kv)).toEqual({
      in_proj_weight: [24, 8],
      in_proj_bias: [24],
      bias_k: [1, 1, 8],
      bias_v: [1, 1, 8],
      'out_proj.weight': [8, 8],
      'out_proj.bias': [8],
    });
    const x = randn([3, 2, 8]);
    const [out, w] = kv.forward(x, x, x, {
      attnMask: causalMask(3, 3),
      keyPaddingMask: tensor([
        [false, false, true],
        [false, false, false],
      ]),
    });
    expect(out.shape).toEqual([3, 2, 8]);
    expect(w?.shape).toEqual([2, 3, 5]);
    // torch init: zero biases.
    expect(Array.from(new MultiheadAttention(8, 2).inProjBias?.dataSync() as Float32Array).every((v) => v === 0)).toBe(true);
    expect(() => new MultiheadAttention(8, 3)).toThrow(/divisible/);
  });
});

describe('positional encodings', () => {
  it('sinusoidal table matches the formula; module adds it (seq-first and batch-first, offset)', () => {
    const d = 6;
    const table = sinusoidalTable(7, d, { offset: 3 }).arraySync() as number[][];
    for (let p = 0; p < 7; p++) {
      for (let i = 0; i < d / 2; i++) {
        const angle = (p + 3) / 10000 ** ((2 * i) / d);
        expect(table[p][2 * i]).toBeCloseTo(Math.sin(angle), 6);
        expect(table[p][2 * i + 1]).toBeCloseTo(Math.cos(angle), 6);
      }
    }
    const pe = new SinusoidalPositionalEncoding(d, { maxLen: 20 });
    // Persistent, [maxLen, 1, dModel], as the PyTorch tutorial's register_buffer('pe', pe).
    expect(Object.keys(pe.stateDict())).toEqual(['pe']);
    expect(pe.pe.shape).toEqual([20, 1, d]);
    const old = new SinusoidalPositionalEncoding(d, { maxLen: 20, persistent: false });
    expect(Object.keys(old.stateDict())).toEqual([]);
    // A PyTorch state dict holding pe loads strictly; an older GhostFlow one (no pe) needs
    // strict: false, or persistent: false.
    expect(pe.loadStateDict({ pe: sinusoidalTable(20, d).unsqueeze(1) })).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(() => pe.loadStateDict({})).toThrow(/missing keys: pe/);
    expect(pe.loadStateDict({}, { strict: false }).missingKeys).toEqual(['pe']);
    expect(old.loadStateDict({})).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const x = randn([4, 2, d]);
    expectTensorsClose(pe.forward(x, 3), x.add(sinusoidalTable(4, d, { offset: 3 }).unsqueeze(1)), 1e-6, 'seq-first');
    const bf = new SinusoidalPositionalEncoding(d, { maxLen: 20, batchFirst: true });
    const y = randn([2, 4, d]);
    expectTensorsClose(bf.forward(y), y.add(sinusoidalTable(4, d).unsqueeze(0)), 1e-6, 'batch-first');
    expect(() => pe.forward(x, 18)).toThrow(/maxLen/);
  });

  /** Direct RoPE in plain JS: x [L][D] at positions offset.., rotate-half or interleaved pairs. */
  function ropeReference(x: number[][], offset: number, interleaved: boolean, base = 10000): number[][] {
    const D = x[0].length;
    const half = D / 2;
    return x.map((row, t) => {
      const out = new Array<number>(D);
      for (let i = 0; i < half; i++) {
        const theta = (t + offset) * base ** (-(2 * i) / D);
        const [ia, ib] = interleaved ? [2 * i, 2 * i + 1] : [i, i + half];
        out[ia] = row[ia] * Math.cos(theta) - row[ib] * Math.sin(theta);
        out[ib] = row[ib] * Math.cos(theta) + row[ia] * Math.sin(theta);
      }
      return out;
    });
  }

  for (const interleaved of [false, true]) {
    it(`RoPE ${interleaved ? 'interleaved' : 'rotate-half'} matches the direct formula with an offset, batched over heads`, () => {
      const x = randn([2, 3, 5, 8]);
      const offset = 7;
      const got = applyRotaryEmbedding(x, offset, { interleaved }).arraySync() as number[][][][];
      const xs = x.arraySync() as number[][][][];
      for (let b = 0; b < 2; b++) {
        for (let h = 0; h < 3; h++) {
          const want = ropeReference(xs[b][h], offset, interleaved);
          expectClose(tensor(got[b][h]), { shape: [5, 8], data: want.flat() }, { atol: 1e-5, rtol: 1e-5 }, `b${b} h${h}`);
        }
      }
      const mod = new RotaryEmbedding(8, { interleaved, base: 500 });
      const want = ropeReference(xs[0][0], 2, interleaved, 500);
      expectClose(mod.forward(x.select(0, 0).select(0, 0), 2), { shape: [5, 8], data: want.flat() }, { atol: 1e-5, rtol: 1e-5 }, 'module');
      // Relative: <rope(q, m), rope(k, n)> depends on m - n only.
      const q = randn([1, 8]);
      const k = randn([1, 8]);
      const dot = (m: number, n: number) =>
        applyRotaryEmbedding(q, m, { interleaved })
          .mul(applyRotaryEmbedding(k, n, { interleaved }))
          .sum()
          .itemSync() as number;
      expect(dot(5, 2)).toBeCloseTo(dot(13, 10), 4);
      // Differentiable: gradient of sum(rope(x) * g) is rope^T(g) (a rotation by -θ).
      const xg = randn([4, 8]).requiresGrad_();
      const g = randn([4, 8]);
      applyRotaryEmbedding(xg, 1, { interleaved }).mul(g).sum().backward();
      const ga = g.arraySync() as number[][];
      const inv = ga.map((row, t) => {
        const D = 8;
        const out = new Array<number>(D);
        for (let i = 0; i < 4; i++) {
          const theta = (t + 1) * 10000 ** (-(2 * i) / D);
          const [ia, ib] = interleaved ? [2 * i, 2 * i + 1] : [i, i + 4];
          out[ia] = row[ia] * Math.cos(theta) + row[ib] * Math.sin(theta);
          out[ib] = row[ib] * Math.cos(theta) - row[ia] * Math.sin(theta);
        }
        return out;
      });
      expectClose(xg.grad, { shape: [4, 8], data: inv.flat() }, { atol: 1e-5, rtol: 1e-5 }, 'grad');
    });
  }
});

describe('KV cache (incremental causal decoding)', () => {
  it('MultiheadAttention: token-by-token (and chunked) decoding with the cache equals the full causal pass', () => {
    const mha = new MultiheadAttention(8, 2, { batchFirst: true });
    mha.eval();
    const x = randn([2, 6, 8]);
    const [full] = mha.forward(x, x, x, { isCausal: true, needWeights: false });
    noGrad(() => {
      const cache = new KVCache();
      const steps: Tensor[] = [];
      for (let t = 0; t < 6; t++) {
        const xt = x.narrow(1, t, 1);
        steps.push(mha.forward(xt, xt, xt, { isCausal: true, kvCache: cache, needWeights: false })[0]);
        expect(cache.length).toBe(t + 1);
      }
      expectTensorsClose(cat(steps, 1), full, 1e-5, 'token by token');
      const chunked = new KVCache();
      const a = x.narrow(1, 0, 4);
      const b = x.narrow(1, 4, 2);
      const outA = mha.forward(a, a, a, { isCausal: true, kvCache: chunked })[0];
      const outB = mha.forward(b, b, b, { isCausal: true, kvCache: chunked })[0];
      expectTensorsClose(cat([outA, outB], 1), full, 1e-5, 'chunks of 4 then 2');
      cache.dispose();
      chunked.dispose();
      expect(cache.length).toBe(0);
    });
  });

  it('decoder-only stack (causal TransformerEncoder, pre-LN and post-LN) with RoPE-free sinusoidal positions', () => {
    for (const normFirst of [false, true]) {
      const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true, normFirst, activation: 'gelu' });
      const model = new TransformerEncoder(layer, 2);
      model.eval();
      const pe = new SinusoidalPositionalEncoding(8, { batchFirst: true, maxLen: 32 });
      const x = randn([2, 5, 8]);
      const full = model.forward(pe.forward(x), { isCausal: true });
      noGrad(() => {
        const caches = [new KVCache(), new KVCache()];
        const steps: Tensor[] = [];
        for (let t = 0; t < 5; t++) steps.push(model.forward(pe.forward(x.narrow(1, t, 1), t), { isCausal: true, kvCaches: caches }));
        expectTensorsClose(cat(steps, 1), full, 1e-5, `normFirst=${normFirst}`);
        expect(caches.map((c) => c.length)).toEqual([5, 5]);
      });
      expect(() => model.forward(x, { kvCaches: [new KVCache()] })).toThrow(/2 KV caches/);
    }
  });
});

describe('memory', () => {
  it('MultiheadAttention forward/backward and KV-cache decoding inside tidy leave no buffers behind', () => {
    const mha = new MultiheadAttention(8, 2, { batchFirst: true });
    const x = randn([2, 5, 8]);
    const mask = tensor([
      [false, false, false, true, true],
      [false, false, false, false, false],
    ]);
    const before = memory().buffers;
    tidy(() => {
      const [out, w] = mha.forward(x, x, x, { keyPaddingMask: mask, isCausal: true });
      out
        .sum()
        .add((w as Tensor).sum())
        .backward();
    });
    mha.zeroGrad();
    expect(memory().buffers).toBe(before);
    noGrad(() => {
      const cache = new KVCache();
      tidy(() => {
        for (let t = 0; t < 5; t++)
          mha.forward(x.narrow(1, t, 1), x.narrow(1, t, 1), x.narrow(1, t, 1), { isCausal: true, kvCache: cache });
      });
      expect(memory().buffers).toBe(before + 2);
      cache.dispose();
    });
    expect(memory().buffers).toBe(before);
    // With grad on too, each append frees the previous keys/values (the graph keeps what
    // backward needs), and backward through every step still works.
    const cache = new KVCache();
    const outs: Tensor[] = [];
    for (let t = 0; t < 5; t++) {
      const xt = x.narrow(1, t, 1);
      const [o, w] = mha.forward(xt, xt, xt, { isCausal: true, kvCache: cache });
      outs.push(o);
      w?.dispose();
      xt.dispose();
    }
    tidy(() => outs.reduce((acc, o) => acc.add(o.sum()), outs[0].sum().mul(0)).backward());
    expect(mha.inProjWeight?.grad).not.toBeNull();
    for (const o of outs) o.dispose();
    mha.zeroGrad();
    expect(memory().buffers - before, 'only the cache (keys, values) is left').toBe(2);
    cache.dispose();
    mha.zeroGrad();
    expect(memory().buffers).toBe(before);
  });
});
