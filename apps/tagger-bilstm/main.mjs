/**
 * GhostFlow example: a bidirectional LSTM sequence tagger whose tags need both left and right context.
 *
 *   npx --yes pnpm@9.15.9 build && npx --yes pnpm@9.15.9 --filter @ghostflow/example-tagger-bilstm start
 *
 * - Data (generated, seeded): sequences of symbols a..h of length MIN_LEN..MAX_LEN. Each token is tagged
 *   by where it stands among the occurrences of its own symbol in the sequence:
 *     ONLY   the symbol occurs once,
 *     FIRST  it occurs again later but not before,
 *     MID    it occurred before and occurs again later,
 *     LAST   it occurred before but not after.
 *   "occurs again later" is only visible from the right, "occurred before" only from the left, at any
 *   distance: a left-to-right LSTM cannot tell ONLY from FIRST (nor MID from LAST); the backward
 *   direction of a bidirectional one can.
 * - Model: Embedding → bidirectional LSTM on a packed batch (`packPaddedSequence` /
 *   `padPackedSequence`) → Linear over the concatenated directions → 4 tags; padding is skipped
 *   by crossEntropy's `ignoreIndex`.
 * - Metric: token accuracy (and whole-sequence accuracy) on held-out sequences.
 * Exits with status 1 if token accuracy is below the threshold or memory grew.
 */
import { getBackendName, manualSeed, memory, noGrad, tensor, tidy } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { Adam, Embedding, LSTM, Linear, Module, clipGradNorm, crossEntropy, packPaddedSequence, padPackedSequence } from '@ghostflow/nn';

const STEPS = Number(process.env.STEPS ?? 800);
const BATCH = 32;
const MIN_LEN = 5;
const MAX_LEN = 12;
const SYMBOLS = 'abcdefgh';
const EMBED = 16;
const HIDDEN = 32;
const LR = 1e-2;
const MIN_TOKEN_ACCURACY = 0.93;
const TAGS = ['ONLY', 'FIRST', 'MID', 'LAST'];
const IGNORE = -100;
const PAD = SYMBOLS.length; // padding symbol id

manualSeed(0);

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
const random = rng(3);

/** A sequence of symbol ids and its tags. */
function example() {
  const n = MIN_LEN + Math.floor(random() * (MAX_LEN - MIN_LEN + 1));
  const xs = Array.from({ length: n }, () => Math.floor(random() * SYMBOLS.length));
  const tags = xs.map((x, t) => {
    const before = xs.slice(0, t).includes(x);
    const after = xs.slice(t + 1).includes(x);
    return before ? (after ? 2 : 3) : after ? 1 : 0;
  });
  return { xs, tags };
}
const key = (e) => e.xs.join(',');
const test = Array.from({ length: 500 }, example);
const testKeys = new Set(test.map(key));
function trainingBatch() {
  const items = [];
  while (items.length < BATCH) {
    const e = example();
    if (!testKeys.has(key(e))) items.push(e);
  }
  return items;
}

/** ids [B, T] (padded), lengths, tags [B, T] (IGNORE past each length). */
function batchOf(items) {
  const T = Math.max(...items.map((e) => e.xs.length));
  const ids = new Int32Array(items.length * T).fill(PAD);
  const tags = new Int32Array(items.length * T).fill(IGNORE);
  for (const [b, e] of items.entries()) {
    ids.set(e.xs, b * T);
    tags.set(e.tags, b * T);
  }
  return {
    ids: tensor(ids, { shape: [items.length, T], dtype: 'int32' }),
    lengths: items.map((e) => e.xs.length),
    tags: tensor(tags, { shape: [items.length, T], dtype: 'int32' }),
  };
}

class BiLSTMTagger extends Module {
  constructor() {
    super();
    this.embedding = this.registerModule('embedding', new Embedding(SYMBOLS.length + 1, EMBED, { paddingIdx: PAD }));
    this.lstm = this.registerModule('lstm', new LSTM(EMBED, HIDDEN, { bidirectional: true, batchFirst: true }));
    this.head = this.registerModule('head', new Linear(2 * HIDDEN, TAGS.length));
  }
  /** ids [B, T] → tag logits [B, T, 4]. */
  forward(ids, lengths) {
    const packed = packPaddedSequence(this.embedding.forward(ids), lengths, { batchFirst: true, enforceSorted: false });
    const [out] = this.lstm.forward(packed);
    const [padded] = padPackedSequence(out, { batchFirst: true, totalLength: ids.shape[1] }); // [B, T, 2H]
    return this.head.forward(padded);
  }
}

const model = new BiLSTMTagger();
const optimizer = new Adam(model.parameters(), { lr: LR });
const nParams = model.parameters().reduce((n, p) => n + p.size, 0);

async function evaluate(items) {
  const pred = tidy(() =>
    noGrad(() => {
      const { ids, lengths } = batchOf(items);
      return model.forward(ids, lengths).argmax(2);
    }),
  );
  const flat = await pred.data();
  const T = pred.shape[1];
  pred.dispose();
  let tokens = 0;
  let correct = 0;
  let whole = 0;
  const predicted = items.map((e, b) => {
    const p = Array.from(flat.subarray(b * T, b * T + e.xs.length));
    const c = p.filter((tag, t) => tag === e.tags[t]).length;
    tokens += e.xs.length;
    correct += c;
    if (c === e.xs.length) whole++;
    return p;
  });
  return { tokenAccuracy: correct / tokens, sequenceAccuracy: whole / items.length, predicted };
}

console.log(
  `GhostFlow tagger-bilstm: Embedding → BiLSTM(${HIDDEN}+${HIDDEN}) → Linear(${TAGS.length}), ${nParams} parameters, backend '${getBackendName()}'`,
);
const counts = TAGS.map((_, k) => test.reduce((n, e) => n + e.tags.filter((t) => t === k).length, 0));
const total = counts.reduce((a, b) => a + b);
console.log(
  `tags on the ${test.length} held-out sequences: ${TAGS.map((t, k) => `${t} ${((counts[k] / total) * 100).toFixed(0)}%`).join(', ')} (majority baseline ${((Math.max(...counts) / total) * 100).toFixed(1)}%)`,
);

const buffersBefore = memory().buffers;
let buffersAfterFirst = 0;
const t0 = performance.now();
let running = 0;
const EVERY = 100;
for (let step = 1; step <= STEPS; step++) {
  const loss = tidy(() => {
    const { ids, lengths, tags } = batchOf(trainingBatch());
    optimizer.zeroGrad();
    const loss = crossEntropy(model.forward(ids, lengths).reshape(-1, TAGS.length), tags.reshape(-1), { ignoreIndex: IGNORE });
    loss.backward();
    clipGradNorm(model.parameters(), 1.0);
    optimizer.step();
    return loss.detach();
  });
  running += await loss.item();
  loss.dispose();
  if (step === 1) buffersAfterFirst = memory().buffers; // + Adam's state, created by the first step
  if (step % EVERY === 0) {
    console.log(
      `step ${String(step).padStart(4)}  loss ${(running / EVERY).toFixed(4)}  (${((performance.now() - t0) / 1000).toFixed(1)}s)`,
    );
    running = 0;
  }
}
const buffersAfter = memory().buffers;

const { tokenAccuracy, sequenceAccuracy, predicted } = await evaluate(test);
console.log('held-out examples (tags: o ONLY, f FIRST, m MID, l LAST):');
const short = 'ofml';
for (const [b, e] of test.slice(0, 5).entries()) {
  console.log(`  input     ${e.xs.map((x) => SYMBOLS[x]).join(' ')}`);
  console.log(`  predicted ${predicted[b].map((t) => short[t]).join(' ')}`);
  console.log(`  true      ${e.tags.map((t) => short[t]).join(' ')}`);
}
console.log(
  `held-out token accuracy ${(tokenAccuracy * 100).toFixed(1)}%, whole-sequence accuracy ${(sequenceAccuracy * 100).toFixed(1)}%`,
);
console.log(
  `memory().buffers: ${buffersBefore} before training, ${buffersAfterFirst} after step 1 (Adam's state added), ${buffersAfter} after ${STEPS} steps`,
);
if (!(tokenAccuracy >= MIN_TOKEN_ACCURACY) || buffersAfter !== buffersAfterFirst) {
  console.error(`FAILED: token accuracy should be at least ${MIN_TOKEN_ACCURACY * 100}% and the buffer count should not grow`);
  process.exit(1);
}
