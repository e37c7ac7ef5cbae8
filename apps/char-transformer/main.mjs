/**
 * GhostFlow example: a small character-level Transformer language model (decoder-only: a stack of
 * `TransformerEncoderLayer`s with a causal mask from `generateSquareSubsequentMask`), trained on the
 * short text in `text.txt`, then sampled.
 *
 *   npx --yes pnpm@9.15.9 build && npx --yes pnpm@9.15.9 --filter @ghostflow/example-char-transformer start
 *
 * - Data: the characters of text.txt; the last 10% is held out. Training batches are random windows
 *   of CONTEXT characters; the target is the window shifted by one character.
 * - Model: token Embedding + learned position Embedding → LAYERS pre-LN TransformerEncoderLayers
 *   (causal mask: position t attends to positions ≤ t) → LayerNorm → Linear over the characters.
 * - Metric: held-out cross-entropy (nats per character), compared with the unigram baseline
 *   (the entropy of the character frequencies, what a model with no context can reach).
 * - After training it generates text from a prompt with `generate()` from @ghostflow/nn (temperature
 *   0.6, seeded Generator), twice: with a KVCache per layer (each new character attends over the
 *   cached keys/values) and by recomputing the whole context for every character; it prints the
 *   tokens/s of both and checks they sample the same text.
 * Exits with status 1 if the held-out loss is not clearly below the unigram baseline, or memory grew.
 */
import { readFileSync } from 'node:fs';
import { Generator, arange, getBackendName, manualSeed, memory, noGrad, tensor, tidy } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import {
  AdamW,
  Embedding,
  KVCache,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  TransformerEncoderLayer,
  clipGradNorm,
  crossEntropy,
  generate,
  generateSquareSubsequentMask,
} from '@ghostflow/nn';

const STEPS = Number(process.env.STEPS ?? 300);
const BATCH = 16;
const CONTEXT = 32;
const D_MODEL = 48;
const HEADS = 4;
const LAYERS = 2;
const FF = 128;
const LR = 3e-3;
const MAX_LOSS_RATIO = 0.5; // held-out loss must be below 50% of the unigram entropy (measured: 29%)

manualSeed(0);

const text = readFileSync(new URL('./text.txt', import.meta.url), 'utf8');
const chars = [...new Set(text)].sort();
const VOCAB = chars.length;
const ids = Int32Array.from(text, (c) => chars.indexOf(c));
const split = Math.floor(ids.length * 0.9);
const trainIds = ids.subarray(0, split);
const valIds = ids.subarray(split);

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(1);

/** x, y [B, CONTEXT] int32: windows starting at `starts` and the same shifted by one. */
function windows(source, starts) {
  const x = new Int32Array(starts.length * CONTEXT);
  const y = new Int32Array(starts.length * CONTEXT);
  starts.forEach((s, b) => {
    x.set(source.subarray(s, s + CONTEXT), b * CONTEXT);
    y.set(source.subarray(s + 1, s + CONTEXT + 1), b * CONTEXT);
  });
  return {
    x: tensor(x, { shape: [starts.length, CONTEXT], dtype: 'int32' }),
    y: tensor(y, { shape: [starts.length, CONTEXT], dtype: 'int32' }),
  };
}

class CharTransformer extends Module {
  constructor() {
    super();
    this.tok = this.registerModule('tok', new Embedding(VOCAB, D_MODEL));
    this.pos = this.registerModule('pos', new Embedding(CONTEXT, D_MODEL));
    this.layers = this.registerModule(
      'layers',
      new ModuleList(
        Array.from(
          { length: LAYERS },
          () =>
            new TransformerEncoderLayer(D_MODEL, HEADS, {
              dimFeedforward: FF,
              dropout: 0,
              batchFirst: true,
              normFirst: true,
              activation: 'gelu',
            }),
        ),
      ),
    );
    this.norm = this.registerModule('norm', new LayerNorm(D_MODEL));
    this.head = this.registerModule('head', new Linear(D_MODEL, VOCAB));
  }
  /** x [B, T] (T ≤ CONTEXT) → logits [B, T, VOCAB]; position t sees only positions ≤ t. */
  forward(x) {
    const T = x.shape[1];
    const mask = generateSquareSubsequentMask(T); // [T, T]: 0 on and below the diagonal, -inf above
    let h = this.tok
      .forward(x)
      .mul(0.2)
      .add(this.pos.forward(arange(0, T, 1, { dtype: 'int32' })).mul(0.2));
    for (const layer of this.layers) h = layer.forward(h, { srcMask: mask, isCausal: true });
    return this.head.forward(this.norm.forward(h));
  }
  /**
   * Incremental decoding: x [B, T] holds positions start .. start+T-1; each layer appends their
   * keys/values to its cache and attends over everything cached (causal within x).
   */
  forwardCached(x, start, caches) {
    const T = x.shape[1];
    let h = this.tok
      .forward(x)
      .mul(0.2)
      .add(this.pos.forward(arange(start, start + T, 1, { dtype: 'int32' })).mul(0.2));
    let i = 0;
    for (const layer of this.layers) h = layer.forward(h, { isCausal: true, kvCache: caches[i++] });
    return this.head.forward(this.norm.forward(h));
  }
}

const model = new CharTransformer();
const optimizer = new AdamW(model.parameters(), { lr: LR, weightDecay: 0.01 });
const nParams = model.parameters().reduce((n, p) => n + p.size, 0);

/** Mean held-out loss over non-overlapping windows of the validation text. */
async function validationLoss() {
  const starts = [];
  for (let s = 0; s + CONTEXT + 1 <= valIds.length; s += CONTEXT) starts.push(s);
  const loss = tidy(() =>
    noGrad(() => {
      const { x, y } = windows(valIds, starts);
      return crossEntropy(model.forward(x).reshape(-1, VOCAB), y.reshape(-1));
    }),
  );
  const v = await loss.item();
  loss.dispose();
  return v;
}

/**
 * The context the model sees: at most CONTEXT positions (the learned position table's size).
 * When a new character would overflow it, only the last CONTEXT / 2 characters are kept, so the
 * cached decoder re-fills its caches once every CONTEXT / 2 characters instead of every one.
 */
function nextWindow(window, tokens) {
  const grown = [...window, ...tokens];
  return grown.length <= CONTEXT ? grown : grown.slice(-CONTEXT / 2);
}

/** Decoding step without a cache: recompute the whole window for every new character. */
function recomputeStep(tokens, window) {
  const next = nextWindow(window, tokens.dataSync());
  const x = tensor(Int32Array.from(next), { shape: [1, next.length], dtype: 'int32' });
  return { logits: model.forward(x).select(1, next.length - 1), state: next };
}

/** Decoding step with one KVCache per layer: only the new character goes through the model. */
function cachedStep(tokens, { window, caches }) {
  const fed = Array.from(tokens.dataSync());
  const next = nextWindow(window, fed);
  // Overflow: restart the caches from the kept window (one prefill), else feed only the new ones.
  const restart = next.length < window.length + fed.length;
  if (restart) for (const c of caches) c.reset();
  const feed = restart ? next : fed;
  const x = tensor(Int32Array.from(feed), { shape: [1, feed.length], dtype: 'int32' });
  const logits = model.forwardCached(x, next.length - feed.length, caches).select(1, feed.length - 1);
  return { logits, state: { window: next, caches } };
}

/** `n` characters after `prompt`, sampled at `temperature` from a seeded generator, and the tokens/s. */
async function sample(prompt, n, cached, temperature = 0.6) {
  const ids = Int32Array.from(prompt, (c) => chars.indexOf(c));
  const x = tensor(ids, { shape: [1, ids.length], dtype: 'int32' });
  const caches = Array.from({ length: LAYERS }, () => new KVCache());
  const options = { maxNewTokens: n, temperature, generator: new Generator(1) };
  const t = performance.now();
  const [row] = cached ? await generate(cachedStep, x, { window: [], caches }, options) : await generate(recomputeStep, x, [], options);
  const seconds = (performance.now() - t) / 1000;
  x.dispose();
  for (const c of caches) c.dispose();
  return { text: prompt + row.map((k) => chars[k]).join(''), tokensPerSecond: n / seconds };
}

const counts = new Array(VOCAB).fill(0);
for (const k of valIds) counts[k]++;
const trainCounts = new Array(VOCAB).fill(0);
for (const k of trainIds) trainCounts[k]++;
// unigram baseline: cross-entropy of held-out characters under the training character frequencies
const unigram =
  -counts.reduce((acc, c, k) => acc + (c ? c * Math.log((trainCounts[k] + 1) / (trainIds.length + VOCAB)) : 0), 0) / valIds.length;

console.log(
  `GhostFlow char-transformer: ${LAYERS} causal TransformerEncoderLayers (d=${D_MODEL}, ${HEADS} heads, ff ${FF}), context ${CONTEXT}, ${nParams} parameters, backend '${getBackendName()}'`,
);
console.log(`text.txt: ${text.length} characters, ${VOCAB} distinct; ${trainIds.length} for training, ${valIds.length} held out`);
console.log(`unigram baseline on the held-out text: ${unigram.toFixed(3)} nats/char`);

const buffersBefore = memory().buffers;
let buffersAfterFirst = 0;
const t0 = performance.now();
let running = 0;
const EVERY = 25;
for (let step = 1; step <= STEPS; step++) {
  const starts = Array.from({ length: BATCH }, () => Math.floor(random() * (trainIds.length - CONTEXT - 1)));
  const loss = tidy(() => {
    const { x, y } = windows(trainIds, starts);
    optimizer.zeroGrad();
    const loss = crossEntropy(model.forward(x).reshape(-1, VOCAB), y.reshape(-1));
    loss.backward();
    clipGradNorm(model.parameters(), 1.0);
    optimizer.step();
    return loss.detach();
  });
  running += await loss.item();
  loss.dispose();
  if (step === 1) buffersAfterFirst = memory().buffers; // + AdamW's state, created by the first step
  if (step % EVERY === 0) {
    const extra = step % (EVERY * 4) === 0 ? `  held-out ${(await validationLoss()).toFixed(3)}` : '';
    console.log(
      `step ${String(step).padStart(4)}  loss ${(running / EVERY).toFixed(3)}${extra}  (${((performance.now() - t0) / 1000).toFixed(1)}s)`,
    );
    running = 0;
  }
}
const buffersAfter = memory().buffers;
const val = await validationLoss();

const SAMPLE = Number(process.env.SAMPLE ?? 160);
const withCache = await sample('The miller ', SAMPLE, true);
const withoutCache = await sample('The miller ', SAMPLE, false);
console.log(`sample (prompt "The miller ", temperature 0.6):\n  ${withCache.text.replace(/\n/g, '\n  ')}`);
console.log(
  `sampling ${SAMPLE} characters: ${withCache.tokensPerSecond.toFixed(0)} tokens/s with the KV cache, ${withoutCache.tokensPerSecond.toFixed(0)} tokens/s recomputing the context (${(withCache.tokensPerSecond / withoutCache.tokensPerSecond).toFixed(1)}x); same text: ${withCache.text === withoutCache.text ? 'yes' : 'no'}`,
);
const buffersAfterSampling = memory().buffers;
console.log(`held-out loss ${val.toFixed(3)} nats/char vs unigram ${unigram.toFixed(3)} (${((val / unigram) * 100).toFixed(0)}%)`);
console.log(
  `memory().buffers: ${buffersBefore} before training, ${buffersAfterFirst} after step 1 (AdamW's state added), ${buffersAfter} after ${STEPS} steps`,
);
if (!(val <= unigram * MAX_LOSS_RATIO) || buffersAfter !== buffersAfterFirst || buffersAfterSampling !== buffersAfter) {
  console.error(
    `FAILED: held-out loss should be below ${MAX_LOSS_RATIO * 100}% of the unigram baseline and the buffer count should not grow (training or sampling)`,
  );
  process.exit(1);
}
