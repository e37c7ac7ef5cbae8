/**
 * Decoding helpers: top-k / top-p filtering against Hugging Face's definition run in PyTorch
 * (tools/torch-cases/decoding_filter.py), sampled frequencies against the filtered
 * distribution, beam search on a hand-built model where it beats greedy, and the same decoding
 * through a GRU and a Transformer with KV caches (cache == full recompute).
 */
import '@ghostflow/backend-cpu';
import {
  Generator,
  cat,
  type Tensor,
  expand,
  indexSelect,
  manualSeed,
  memory,
  noGrad,
  setBackend,
  tensor,
  tidy,
  zeros,
} from '@ghostflow/core';
import {
  type DecodeStep,
  Embedding,
  GRU,
  KVCache,
  Linear,
  TransformerEncoder,
  TransformerEncoderLayer,
  beamSearch,
  filterLogits,
  generate,
  greedyToken,
  sampleLogits,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import filterCases from './cases/decoding_filter.json';

interface CaseTensor {
  data: (number | string)[];
  shape: number[];
}
const num = (v: number | string): number => (v === '-inf' ? Number.NEGATIVE_INFINITY : Number(v));
const fromCase = (t: CaseTensor): Tensor => tensor(t.data.map(num), { shape: t.shape });

beforeAll(async () => {
  await setBackend('cpu');
});

describe('filterLogits / sampleLogits vs Hugging Face top_k_top_p_filtering in PyTorch', () => {
  for (const c of filterCases.cases) {
    it(c.name, () => {
      const logits = fromCase(c.logits);
      const { filtered, probs } = tidy(() => {
        const filtered = filterLogits(logits.div(c.temperature), { topK: c.topK, topP: c.topP });
        return { filtered, probs: filtered.softmax(-1) };
      });
      const got = Array.from(filtered.dataSync());
      const want = c.filtered.data.map(num);
      expect(filtered.shape).toEqual(c.filtered.shape);
      got.forEach((v, i) => {
        if (want[i] === Number.NEGATIVE_INFINITY) expect(v, `element ${i} removed`).toBe(Number.NEGATIVE_INFINITY);
        else expect(Math.abs(v - want[i]), `element ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(1e-5);
      });
      const p = Array.from(probs.dataSync());
      c.probs.data.map(num).forEach((w, i) => expect(Math.abs(p[i] - w), `prob ${i}`).toBeLessThanOrEqual(1e-6));
      for (const t of [logits, filtered, probs]) t.dispose();
    });
  }

  it('sampled frequencies follow the filtered distribution (chi-square, seeded) and never draw a removed token', () => {
    const c = filterCases.cases.find((x) => x.name.startsWith('temperature 0.7'));
    if (!c) throw new Error('case missing');
    const V = c.logits.shape[1];
    const want = c.probs.data.slice(0, V).map(num); // row 0
    const N = 10000;
    const drawn = tidy(() => {
      const row = fromCase(c.logits).select(0, 0);
      const rows = expand(row.unsqueeze(0), [N, V]);
      return sampleLogits(rows, { temperature: c.temperature, topK: c.topK, topP: c.topP, generator: new Generator(7) });
    });
    expect(drawn.shape).toEqual([N]);
    const counts = new Array<number>(V).fill(0);
    for (const t of drawn.dataSync()) counts[t]++;
    let chi2 = 0;
    let kept = 0;
    want.forEach((p, k) => {
      if (p === 0) expect(counts[k], `removed token ${k} drawn`).toBe(0);
      else {
        kept++;
        chi2 += (counts[k] - N * p) ** 2 / (N * p);
      }
    });
    // 99.9% quantile of chi-square with kept - 1 = 3 degrees of freedom: 16.27.
    expect(kept).toBe(4);
    expect(chi2).toBeLessThan(16.27);
    // The same seed draws the same tokens.
    const again = tidy(() =>
      sampleLogits(expand(fromCase(c.logits).select(0, 0).unsqueeze(0), [N, V]), {
        temperature: c.temperature,
        topK: c.topK,
        topP: c.topP,
        generator: new Generator(7),
      }),
    );
    expect(Array.from(again.dataSync())).toEqual(Array.from(drawn.dataSync()));
    drawn.dispose();
    again.dispose();
  });

  it('temperature 0 is greedy; bad options are refused naming the value', () => {
    const logits = tensor([
      [0.1, 2, 0.3],
      [5, -1, 4.9],
    ]);
    expect(Array.from(sampleLogits(logits, { temperature: 0 }).dataSync())).toEqual([1, 0]);
    expect(Array.from(greedyToken(logits).dataSync())).toEqual([1, 0]);
    expect(() => sampleLogits(logits, { topP: 0 })).toThrow(/topP must be in \(0, 1\], got 0/);
    expect(() => sampleLogits(logits, { topK: 1.5 })).toThrow(/topK must be a non-negative integer/);
    expect(() => sampleLogits(logits, { temperature: -1 })).toThrow(/temperature must be a finite number >= 0/);
    expect(() => sampleLogits(tensor([[[1]]]))).toThrow(/expected logits \[V\] or \[B, V\], got shape \[1, 1, 1\]/);
  });
});

// A hand-built "RNN": the next-token distribution depends on the last token only (a table).
const EOS = 0;
const A = 1;
const B = 2;
const BOS = 3;
const TABLE = [
  [0.25, 0.25, 0.25, 0.25], // after EOS (never fed)
  [0.4, 0.3, 0.25, 0.05], // after A
  [0.9, 0.04, 0.04, 0.02], // after B
  [0.1, 0.5, 0.35, 0.05], // after BOS
];

/** state: the number of tokens fed so far per row, to check the beams carry their own state. */
function tableModel(): { step: DecodeStep<Tensor>; table: Embedding } {
  const table = new Embedding(4, 4);
  noGrad(() => table.weight.copy_(tensor(TABLE.flat().map(Math.log), { shape: [4, 4] })));
  const step: DecodeStep<Tensor> = (tokens, fed) => ({
    logits: table.forward(tokens.select(1, tokens.shape[1] - 1)),
    state: fed.add(tokens.shape[1]),
  });
  return { step, table };
}

describe('generate and beamSearch through a step function', () => {
  it('beam search finds a better sequence than greedy on a hand-built model (exact sequences and scores)', async () => {
    const { step } = tableModel();
    const prompt = tensor([[BOS]], { dtype: 'int32' });
    const fed = tensor([0]);
    const before = memory().buffers;
    const greedy = await generate(step, prompt, fed, { maxNewTokens: 5, eos: EOS, greedy: true });
    expect(greedy).toEqual([[A, EOS]]); // p = 0.5 * 0.4 = 0.2
    const reorder = (state: Tensor, idx: Tensor): Tensor => indexSelect(state, 0, idx);
    const hyps = await beamSearch(step, prompt, fed, { beamWidth: 2, maxLength: 5, eos: EOS, reorder });
    // Step 2's candidates: B EOS 0.315, A EOS 0.2 (both finished), A A 0.15, A B 0.125 (alive);
    // two finished, and the best alive (0.15 / 2) cannot beat the worst finished (0.2 / 2): done.
    expect(hyps.map((h) => h.tokens)).toEqual([
      [B, EOS],
      [A, EOS],
    ]);
    expect(hyps[0].logProb).toBeCloseTo(Math.log(0.35 * 0.9), 6);
    expect(hyps[0].score).toBeCloseTo(Math.log(0.35 * 0.9) / 2, 6);
    expect(hyps[1].score).toBeCloseTo(Math.log(0.5 * 0.4) / 2, 6);
    // lengthPenalty 0 ranks by log-probability; width 1 is greedy.
    const one = await beamSearch(step, prompt, fed, { beamWidth: 1, maxLength: 5, eos: EOS, reorder });
    expect(one.map((h) => h.tokens)).toEqual([[A, EOS]]);
    // maxLength cuts live beams: they finish as they are.
    const cut = await beamSearch(step, prompt, fed, { beamWidth: 2, maxLength: 1, eos: EOS, lengthPenalty: 0, reorder });
    expect(cut.map((h) => [h.tokens, h.score])).toEqual([
      [[A], expect.closeTo(Math.log(0.5), 6)],
      [[B], expect.closeTo(Math.log(0.35), 6)],
    ]);
    expect(memory().buffers).toBe(before);
    prompt.dispose();
    fed.dispose();
  });

  it('a GRU decoder: beams carry their own hidden state (incremental log-probs equal a recompute of each sequence)', async () => {
    manualSeed(3);
    const V = 6;
    const embed = new Embedding(V, 8);
    const gru = new GRU(8, 12, { batchFirst: true });
    const head = new Linear(12, V);
    const step: DecodeStep<Tensor> = (tokens, h) => {
      const [output, hN] = gru.forward(embed.forward(tokens), h);
      return { logits: head.forward(output.select(1, tokens.shape[1] - 1)), state: hN };
    };
    const h0 = tensor(new Array(12).fill(0), { shape: [1, 1, 12] });
    const prompt = tensor([[1, 4]], { dtype: 'int32' });
    const before = memory().buffers;
    const hyps = await beamSearch(step, prompt, h0, { beamWidth: 3, maxLength: 6, eos: 0, reorder: (h, idx) => indexSelect(h, 1, idx) });
    expect(hyps.length).toBe(3);
    expect(memory().buffers).toBe(before);
    for (const h of hyps) {
      // Recompute: run the whole prompt + sequence at once and sum the log-probs of the tokens.
      const lp = tidy(() => {
        const seq = tensor([1, 4, ...h.tokens], { shape: [1, 2 + h.tokens.length], dtype: 'int32' });
        const [out] = gru.forward(embed.forward(seq), h0);
        const logp = head.forward(out).logSoftmax(-1); // [1, T, V]
        let total = 0;
        const data = logp.dataSync();
        h.tokens.forEach((t, i) => {
          total += data[(1 + i) * V + t];
        });
        return total;
      });
      expect(Math.abs(h.logProb - lp), `${h.tokens}`).toBeLessThan(1e-5);
      expect(h.score).toBeCloseTo(h.logProb / h.tokens.length, 6);
    }
    // Greedy generate equals width-1 beam search when the greedy sequence ends in eos.
    const greedy = await generate(step, prompt, h0, { maxNewTokens: 6, eos: 0, greedy: true });
    const width1 = await beamSearch(step, prompt, h0, { beamWidth: 1, maxLength: 6, eos: 0, reorder: (h, idx) => indexSelect(h, 1, idx) });
    expect(width1[0].tokens).toEqual(greedy[0]);
    expect(memory().buffers).toBe(before);
  });
});

describe('a Transformer decoder with KV caches', () => {
  const V = 7;
  const D = 16;
  const HEADS = 2;
  const LAYERS = 2;
  function build() {
    manualSeed(11);
    const tok = new Embedding(V, D);
    const pos = new Embedding(32, D);
    const encoder = new TransformerEncoder(
      new TransformerEncoderLayer(D, HEADS, { dimFeedforward: 32, dropout: 0, batchFirst: true }),
      LAYERS,
    );
    const head = new Linear(D, V);
    // A peaked next-token distribution, so the beams come from different parents.
    noGrad(() => head.weight.mul_(4));
    const embed = (tokens: Tensor, start: number): Tensor =>
      tok.forward(tokens).add(
        pos.forward(
          tensor(
            Array.from({ length: tokens.shape[1] }, (_, i) => start + i),
            { dtype: 'int32' },
          ),
        ),
      );
    /** Full recompute: state = every token so far [B, t]. */
    const full: DecodeStep<Tensor> = (tokens, past) => {
      const seq = past.shape[1] === 0 ? tokens.add(0) : cat([past, tokens], 1);
      const h = encoder.forward(embed(seq, 0), { isCausal: true });
      return { logits: head.forward(h.select(1, seq.shape[1] - 1)), state: seq };
    };
    interface Cached {
      caches: KVCache[];
      length: number;
    }
    const cached: DecodeStep<Cached> = (tokens, s) => {
      const h = encoder.forward(embed(tokens, s.length), { isCausal: true, kvCaches: s.caches });
      return { logits: head.forward(h.select(1, tokens.shape[1] - 1)), state: { caches: s.caches, length: s.length + tokens.shape[1] } };
    };
    const reorderCached = (s: Cached, idx: Tensor): Cached => {
      for (const c of s.caches) c.reorderBatch(idx, HEADS);
      return s;
    };
    const newCaches = (): Cached => ({ caches: Array.from({ length: LAYERS }, () => new KVCache()), length: 0 });
    return { full, cached, reorderCached, newCaches };
  }

  it('cached decoding gives the logits of a full recompute (1e-5), token by token', () => {
    const { full, cached, newCaches } = build();
    const seq = [
      [2, 5, 1, 3, 3, 6, 0, 4],
      [1, 1, 4, 2, 6, 5, 3, 2],
    ];
    const s = newCaches();
    let state = { caches: s.caches, length: 0 };
    noGrad(() => {
      // Prefill with 3 tokens, then one at a time.
      for (let t = 3; t <= seq[0].length; t++) {
        const fed = t === 3 ? seq.map((r) => r.slice(0, 3)) : seq.map((r) => [r[t - 1]]);
        const x = tensor(fed.flat(), { shape: [2, fed[0].length], dtype: 'int32' });
        const out = tidy(() => cached(x, state));
        state = out.state;
        const prefix = tensor(
          seq.flatMap((r) => r.slice(0, t)),
          { shape: [2, t], dtype: 'int32' },
        );
        const empty = tensor([], { shape: [2, 0], dtype: 'int32' });
        const ref = tidy(() => full(prefix, empty));
        const a = out.logits.dataSync();
        const b = ref.logits.dataSync();
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `t=${t} logit ${i}`).toBeLessThanOrEqual(1e-5);
        expect(s.caches[0].length).toBe(t);
        for (const z of [x, out.logits, prefix, empty, ref.logits, ref.state]) z.dispose();
      }
    });
    for (const c of s.caches) c.dispose();
  });

  it('beam search with reordered KV caches finds what beam search with full recompute finds', async () => {
    const { full, cached, reorderCached, newCaches } = build();
    const prompt = tensor([[3, 1]], { dtype: 'int32' });
    const empty = tensor([], { shape: [1, 0], dtype: 'int32' });
    const options = { beamWidth: 3, maxLength: 7, eos: 2, lengthPenalty: 0.6 };
    const ref = await beamSearch(full, prompt, empty, { ...options, reorder: (s, idx) => indexSelect(s, 0, idx) });
    const state = newCaches();
    const got = await beamSearch(cached, prompt, state, { ...options, reorder: reorderCached });
    expect(got.map((h) => h.tokens)).toEqual(ref.map((h) => h.tokens));
    got.forEach((h, i) => expect(Math.abs(h.logProb - ref[i].logProb)).toBeLessThan(1e-5));
    // Sampling through the cache: the same seed gives the same tokens as through the recompute.
    for (const c of state.caches) c.reset();
    const sampledCached = await generate(cached, prompt, newCaches(), { maxNewTokens: 10, topK: 4, generator: new Generator(5) });
    const sampledFull = await generate(full, prompt, empty, { maxNewTokens: 10, topK: 4, generator: new Generator(5) });
    expect(sampledCached).toEqual(sampledFull);
    expect(() => state.caches[0].reorderBatch(tensor([0], { dtype: 'int32' }), 5)).not.toThrow(); // empty cache: no-op
  });
});

describe('decoding refuses malformed input, naming what was expected', () => {
  it('prompts, step outputs, beam options and KV-cache reorders', async () => {
    const { step } = tableModel();
    const fed = tensor([0]);
    const reorder = (s: Tensor, idx: Tensor): Tensor => indexSelect(s, 0, idx);
    await expect(generate(step, tensor([BOS], { dtype: 'int32' }), fed, { maxNewTokens: 2 })).rejects.toThrow(
      /prompt must be int32 \[B, T\] with T >= 1, got int32 \[1\]/,
    );
    await expect(generate(step, tensor([[BOS]], { dtype: 'int32' }), fed, { maxNewTokens: -1 })).rejects.toThrow(
      /maxNewTokens must be a non-negative integer, got -1/,
    );
    const wide = tensor([[BOS], [BOS]], { dtype: 'int32' });
    await expect(beamSearch(step, wide, fed, { beamWidth: 2, maxLength: 3, eos: EOS, reorder })).rejects.toThrow(
      /prompt must be one sequence \[1, T\], got \[2, 1\]/,
    );
    await expect(
      beamSearch(step, tensor([[BOS]], { dtype: 'int32' }), fed, { beamWidth: 0, maxLength: 3, eos: EOS, reorder }),
    ).rejects.toThrow(/beamWidth must be an integer >= 1, got 0/);
    const flat: DecodeStep<Tensor> = (tokens, s) => ({ logits: tensor([0, 1, 2]), state: s });
    await expect(generate(flat, tensor([[BOS]], { dtype: 'int32' }), fed, { maxNewTokens: 2 })).rejects.toThrow(
      /the step must return logits \[1, V\] \(one row per sequence\), got \[3\]/,
    );
    const cache = new KVCache();
    cache.append(zeros([4, 2, 3]), zeros([4, 2, 3])); // batch 2 x 2 heads
    expect(() => cache.reorderBatch(tensor([0, 1]), 2)).toThrow(/batchIndices must be int32 \[B'\], got float32 \[2\]/);
    expect(() => cache.reorderBatch(tensor([0, 1], { dtype: 'int32' }), 3)).toThrow(
      /heads must be a positive divisor of the cached rows \(4/,
    );
    cache.reorderBatch(tensor([1, 1, 0], { dtype: 'int32' }), 2);
    expect(cache.key?.shape).toEqual([6, 2, 3]);
    cache.dispose();
  });
});
