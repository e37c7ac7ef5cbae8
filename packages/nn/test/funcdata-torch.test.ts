/**
 * PyTorch reference cases of tools/torch-cases/funcdata.py (cases/funcdata.json): RMSNorm,
 * KLDivLoss, CTCLoss, normalize, cosineSimilarity, pairwiseDistance, scaledDotProductAttention
 * (PyTorch 2's mask convention) and the tutorial's sinusoidal table. Values and the gradients of
 * `sum_k sum(out_k * w_k)` (w the generators' fixed weight) w.r.t. the inputs torch recorded.
 */
import '@ghostflow/backend-cpu';
import { type Tensor, gradients, logSoftmax, memory, setBackend, tensor, tidy } from '@ghostflow/core';
import {
  CTCLoss,
  CosineSimilarity,
  KLDivLoss,
  RMSNorm,
  rmsNorm,
  SinusoidalPositionalEncoding,
  ctcLoss,
  cosineSimilarity,
  klDiv,
  normalize,
  pairwiseDistance,
  scaledDotProductAttention,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import file from './cases/funcdata.json';

/** A tensor as tools/torch-cases/common.py writes it. */
interface CaseTensor {
  data: (number | string)[];
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

function caseValues(t: CaseTensor): number[] {
  return t.data.map((v) =>
    typeof v === 'number' ? v : v === 'nan' ? Number.NaN : v === 'inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,
  );
}

function caseTensor(t: CaseTensor, grad = false): Tensor {
  const v = caseValues(t);
  const values = t.dtype === 'float32' ? Float32Array.from(v) : t.dtype === 'int32' ? Int32Array.from(v) : Uint8Array.from(v);
  return tensor(values, { shape: t.shape, dtype: t.dtype, requiresGrad: grad && t.dtype === 'float32' });
}

/** `sum_k sum(out_k * w_k)`, `w[i] = ((7 i) mod 11) / 11 - 0.3` (common.weight). */
function weightedLoss(outs: readonly Tensor[]): Tensor {
  return tidy(() =>
    outs
      .filter((o) => o.requiresGrad)
      .map((o) =>
        o
          .mul(
            tensor(
              Float32Array.from({ length: o.size }, (_, i) => ((7 * i) % 11) / 11 - 0.3),
              { shape: o.shape },
            ),
          )
          .sum(),
      )
      .reduce((a, b) => a.add(b)),
  );
}

interface TorchCase {
  config: Record<string, unknown>;
  inputs: Record<string, CaseTensor>;
  outputs: CaseTensor[];
  grads: Record<string, CaseTensor>;
}

const cases = (file as unknown as { cases: Record<string, TorchCase> }).cases;
const TOL = { atol: 2e-5, rtol: 1e-4 };

beforeAll(async () => {
  await setBackend('cpu');
});

function close(actual: Tensor, expected: CaseTensor, label: string, tol = TOL): void {
  expect([...actual.shape], `${label}: shape`).toEqual(expected.shape);
  const want = caseValues(expected);
  const got = Array.from(actual.dataSync() as ArrayLike<number>, Number);
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (!Number.isFinite(w)) {
      expect(g, `${label}[${i}]`).toBe(w);
      continue;
    }
    if (!(Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w))) {
      expect.fail(`${label}: element ${i} is ${g}, expected ${w}`);
    }
  }
}

/**
 * Runs `fn` on the case's inputs (those with recorded gradients require grad), checks the
 * outputs and the gradients; returns nothing, leaves no tensor behind.
 */
function check(name: string, fn: (x: Record<string, Tensor>) => Tensor | Tensor[], tol = TOL): void {
  const c = cases[name];
  expect(c, `case ${name}`).toBeDefined();
  const before = memory().buffers;
  tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) inputs[k] = caseTensor(v, k in c.grads);
    const out = fn(inputs);
    const outs = Array.isArray(out) ? out : [out];
    expect(outs.length, `${name}: outputs`).toBe(c.outputs.length);
    outs.forEach((o, i) => close(o, c.outputs[i], `${name} output ${i}`, tol));
    const names = Object.keys(c.grads);
    if (names.length > 0) {
      const gs = gradients(
        weightedLoss(outs),
        names.map((k) => inputs[k]),
      );
      names.forEach((k, i) => close(gs[i] as Tensor, c.grads[k], `${name} grad ${k}`, tol));
    }
  });
  expect(memory().buffers, `${name}: buffers left`).toBe(before);
}

describe('RMSNorm vs PyTorch 2.4 (by hand in torch 1.13)', () => {
  it('default eps (float32 eps), 2-d normalized shape, no affine with tiny inputs', () => {
    check('rmsnorm_default_eps', ({ x, weight }) => rmsNorm(x, [6], weight));
    check('rmsnorm_2d_eps', ({ x, weight }) => rmsNorm(x, [3, 4], weight, 1e-5));
    check('rmsnorm_no_affine_small', ({ x }) => {
      const m = new RMSNorm(5, { eps: 1e-6, elementwiseAffine: false });
      expect(m.weight).toBeNull();
      expect(m.parameters()).toHaveLength(0);
      return m.forward(x);
    });
  });

  it('the module: eps null by default, weight a parameter (loaded by state dict) that receives the gradient', () => {
    const c = cases.rmsnorm_default_eps;
    const m = new RMSNorm([6]);
    expect(m.eps).toBeNull();
    expect(Array.from(m.weight?.dataSync() as Float32Array)).toEqual([1, 1, 1, 1, 1, 1]);
    m.loadStateDict({ weight: caseTensor(c.inputs.weight) });
    const x = caseTensor(c.inputs.x);
    weightedLoss([m.forward(x)]).backward();
    close(m.weight?.grad as Tensor, c.grads.weight, 'weight.grad');
    expect(() => m.forward(caseTensor(c.inputs.weight).reshape(2, 3))).toThrow(/expected input with shape \[\*, 6\]/);
  });
});

describe('KLDivLoss vs PyTorch', () => {
  for (const red of ['none', 'sum', 'mean', 'batchmean'] as const) {
    it(`reduction '${red}', probabilities and log-probabilities as target`, () => {
      check(`kl_div_${red}`, ({ input, target }) => klDiv(input, target, { reduction: red }));
      check(`kl_div_${red}_log_target`, ({ input, target }) => new KLDivLoss({ reduction: red, logTarget: true }).forward(input, target));
    });
  }
});

describe('CTCLoss vs PyTorch', () => {
  const lens = (t: Tensor) => Array.from(t.dataSync() as Int32Array);
  for (const red of ['none', 'sum', 'mean'] as const) {
    it(`padded targets, repeated labels, an empty target, reduction '${red}' (gradient through logSoftmax)`, () => {
      check(`ctc_${red}`, ({ logits, targets, input_lengths, target_lengths }) =>
        ctcLoss(logSoftmax(logits, -1), targets, input_lengths, lens(target_lengths), { reduction: red }),
      );
    });
  }

  it('targets as number[][] (ragged rows, for backends that cannot read synchronously) equal the padded tensor', () => {
    check('ctc_sum', ({ logits }) =>
      ctcLoss(logSoftmax(logits, -1), [[1, 2, 3], [2, 2, 4], [4, 1, 3, 2], []], [7, 5, 7, 3], [3, 3, 4, 0], { reduction: 'sum' }),
    );
  });

  it("gradient w.r.t. logProbs as a leaf is PyTorch's (exp(lp) - occupancy)", () => {
    check('ctc_log_probs_leaf', ({ log_probs, targets, input_lengths, target_lengths }) =>
      new CTCLoss().forward(log_probs, targets, input_lengths, target_lengths),
    );
  });

  it('blank as the last class with concatenated targets; unbatched input', () => {
    check('ctc_blank_last_concat', ({ logits, targets, input_lengths, target_lengths }) =>
      ctcLoss(logSoftmax(logits, -1), targets, input_lengths, target_lengths, { blank: 4, reduction: 'sum' }),
    );
    check('ctc_unbatched', ({ logits, targets }) => ctcLoss(logSoftmax(logits, -1), targets, 6, 3));
  });

  it('impossible alignments are infinite; zeroInfinity zeroes them and their gradients', () => {
    check('ctc_impossible_none', ({ logits, targets, input_lengths, target_lengths }) =>
      ctcLoss(logSoftmax(logits, -1), targets, input_lengths, target_lengths, { reduction: 'none' }),
    );
    for (const red of ['none', 'mean'] as const) {
      check(`ctc_zero_infinity_${red}`, ({ logits, targets, input_lengths, target_lengths }) =>
        ctcLoss(logSoftmax(logits, -1), targets, input_lengths, target_lengths, { reduction: red, zeroInfinity: true }),
      );
    }
  });

  it('refuses blanks in the targets and bad lengths, naming them', () => {
    const c = cases.ctc_none;
    const lp = caseTensor(c.inputs.logits);
    expect(() => ctcLoss(lp, [1, 0, 2], [7, 7, 7, 7], [1, 1, 1, 0])).toThrow(/target 0 \(sample 1, position 0\).*blank 0/);
    expect(() => ctcLoss(lp, [1, 2, 3, 4], [8, 7, 7, 7], [1, 1, 1, 1])).toThrow(/input length 8 of sample 0 must be in \[1, 7\]/);
    expect(() => ctcLoss(lp, [1, 2], [7, 7, 7, 7], [1, 1, 1, 1])).toThrow(/need 4 labels/);
  });
});

describe('normalize, cosineSimilarity, pairwiseDistance vs PyTorch', () => {
  it('normalize: p = 2, 1, 3; a zero row clamped by eps', () => {
    check('normalize_p2_dim1', ({ x }) => normalize(x));
    check('normalize_p1_dim0', ({ x }) => normalize(x, { p: 1, dim: 0 }));
    check('normalize_zero_row_eps', ({ x }) => normalize(x, { dim: 1, eps: 0.1 }));
    check('normalize_p3_dim_last_3d', ({ x }) => normalize(x, { p: 3, dim: -1 }));
  });

  it('cosineSimilarity (function and module, broadcasting) and pairwiseDistance', () => {
    check('cosine_similarity_dim1', ({ x1, x2 }) => cosineSimilarity(x1, x2));
    check('cosine_similarity_broadcast_dim_last', ({ x1, x2 }) => new CosineSimilarity({ dim: -1 }).forward(x1, x2));
    check('pairwise_distance_p2', ({ x1, x2 }) => pairwiseDistance(x1, x2));
  });
});

describe('scaledDotProductAttention vs PyTorch 2 semantics (explicit softmax in torch 1.13)', () => {
  it('no mask; bool mask true = takes part (2-d and batched [B, 1, L, S]); float mask added', () => {
    check('sdpa_plain', ({ q, k, v }) => scaledDotProductAttention(q, k, v));
    check('sdpa_bool_mask', ({ q, k, v, attn_mask }) => scaledDotProductAttention(q, k, v, { attnMask: attn_mask }));
    check('sdpa_bool_mask_batched', ({ q, k, v, attn_mask }) => scaledDotProductAttention(q, k, v, { attnMask: attn_mask }));
    check('sdpa_float_mask', ({ q, k, v, attn_mask }) => scaledDotProductAttention(q, k, v, { attnMask: attn_mask }));
  });

  it('isCausal (top-left, L < S) with a custom scale; enableGqa repeats key/value heads', () => {
    check('sdpa_causal_scale', ({ q, k, v }) => scaledDotProductAttention(q, k, v, { isCausal: true, scale: 0.2 }));
    check('sdpa_gqa', ({ q, k, v, attn_mask }) => scaledDotProductAttention(q, k, v, { attnMask: attn_mask, enableGqa: true }));
  });

  it('enableGqa refuses head counts that do not divide', () => {
    const c = cases.sdpa_gqa;
    const q = caseTensor(c.inputs.q);
    const k = caseTensor(c.inputs.k).narrow(1, 0, 1).expand([2, 4, 6, 8]);
    expect(() => scaledDotProductAttention(q, k, k, { enableGqa: true })).toThrow(/query heads \(6\) to be a multiple/);
  });
});

describe("SinusoidalPositionalEncoding equals the PyTorch tutorial's table", () => {
  for (const d of [16, 512]) {
    it(`dModel ${d}: rows up to 4999 (float32 div_term, as the tutorial)`, () => {
      const c = cases[`positional_table_d${d}`];
      const pe = new SinusoidalPositionalEncoding(d);
      expect(pe.pe.shape).toEqual([5000, 1, d]);
      const rows = caseTensor(c.inputs.rows);
      const got = pe.pe.squeeze(1).indexSelect(0, rows);
      close(got, c.outputs[0], `pe d=${d}`, { atol: 1e-6, rtol: 0 });
    });
  }
});
