/**
 * GhostFlow example: the PyTorch tutorial "NLP From Scratch: Translation with a Sequence to
 * Sequence Network and Attention" ported line by line (model.mjs: EncoderRNN with a GRU,
 * BahdanauAttention, AttnDecoderRNN; train.mjs: the teacher-forced training step and greedy
 * evaluate), trained on a corpus generated from a toy grammar (corpus.mjs: English → a
 * subject-object-verb pseudo-language), then scored by exact match on held-out sentences.
 *
 *   npx --yes pnpm@9.15.9 example:seq2seq-attention
 *
 * Exits with status 1 if held-out exact match is below MIN_EXACT or memory grew.
 */
import { getBackendName, manualSeed, memory, tensor } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { Adam } from '@ghostflow/nn';
import { Lang, makeCorpus, rng, shuffle } from './corpus.mjs';
import { AttnDecoderRNN, EOS_TOKEN, EncoderRNN } from './model.mjs';
import { evaluate, trainBatch } from './train.mjs';

const EPOCHS = Number(process.env.EPOCHS ?? 8);
const HIDDEN = 48;
const BATCH = 32;
const LR = 0.005;
const MAX_LENGTH = 8; // longest sentence (7 words) + EOS
const MIN_EXACT = 0.8;

manualSeed(0);
const { train, test } = makeCorpus(600, 100);
const input = new Lang('eng');
const output = new Lang('xx');
for (const [en, xx] of [...train, ...test]) {
  input.addSentence(en);
  output.addSentence(xx);
}

/** The tutorial's get_dataloader: ids, then EOS, then zeros, as [n, MAX_LENGTH] int32. */
function padded(lang, sentences) {
  const ids = new Int32Array(sentences.length * MAX_LENGTH);
  sentences.forEach((words, b) => {
    words.forEach((w, i) => {
      ids[b * MAX_LENGTH + i] = lang.word2index.get(w);
    });
    ids[b * MAX_LENGTH + words.length] = EOS_TOKEN;
  });
  return tensor(ids, { shape: [sentences.length, MAX_LENGTH], dtype: 'int32' });
}

const encoder = new EncoderRNN(input.nWords, HIDDEN);
const decoder = new AttnDecoderRNN(HIDDEN, output.nWords, MAX_LENGTH);
const encoderOptimizer = new Adam(encoder.parameters(), { lr: LR });
const decoderOptimizer = new Adam(decoder.parameters(), { lr: LR });
const nParams = [...encoder.parameters(), ...decoder.parameters()].reduce((n, p) => n + p.size, 0);

console.log(
  `GhostFlow seq2seq-attention (PyTorch tutorial port): GRU encoder + Bahdanau attention decoder, hidden ${HIDDEN}, ${nParams} parameters, backend '${getBackendName()}'`,
);
console.log(
  `corpus: ${train.length} training pairs, ${test.length} held out; vocabularies ${input.nWords} (eng) and ${output.nWords} (pseudo)`,
);
console.log(`  e.g. "${test[0][0].join(' ')}" → "${test[0][1].join(' ')}"`);

/** Greedy translations of `pairs`, cut at EOS; returns the fraction translated exactly and a few examples. */
async function exactMatch(pairs) {
  encoder.eval();
  decoder.eval();
  const src = padded(
    input,
    pairs.map(([en]) => en),
  );
  const [decoded, attentions] = evaluate(encoder, decoder, src);
  const ids = await decoded.data();
  for (const t of [src, decoded, attentions]) t.dispose();
  encoder.train();
  decoder.train();
  let exact = 0;
  const outputs = pairs.map(([, want], b) => {
    const words = [];
    for (let i = 0; i < MAX_LENGTH; i++) {
      const id = ids[b * MAX_LENGTH + i];
      if (id === EOS_TOKEN) break;
      words.push(output.index2word[id]);
    }
    if (words.join(' ') === want.join(' ')) exact++;
    return words;
  });
  return { exact: exact / pairs.length, outputs };
}

// Batches are built once (the tutorial's DataLoader with RandomSampler reshuffles each epoch;
// here a seeded shuffle of the batch order per epoch).
const batches = [];
for (let s = 0; s < train.length; s += BATCH) {
  const chunk = train.slice(s, s + BATCH);
  batches.push({
    input: padded(
      input,
      chunk.map(([en]) => en),
    ),
    target: padded(
      output,
      chunk.map(([, xx]) => xx),
    ),
  });
}
const random = rng(7);

const t0 = performance.now();
let buffersAfterFirst = 0;
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const order = shuffle(
    batches.map((_, i) => i),
    random,
  );
  let total = 0;
  for (const i of order) {
    const loss = trainBatch(encoder, decoder, encoderOptimizer, decoderOptimizer, batches[i].input, batches[i].target);
    total += await loss.item();
    loss.dispose();
    if (buffersAfterFirst === 0) buffersAfterFirst = memory().buffers; // + Adam's state, made by the first step
  }
  if (epoch % 2 === 0) {
    const { exact } = await exactMatch(test);
    console.log(
      `epoch ${String(epoch).padStart(2)}  loss ${(total / batches.length).toFixed(4)}  held-out exact match ${(exact * 100).toFixed(0)}%  (${((performance.now() - t0) / 1000).toFixed(1)}s)`,
    );
  }
}
const buffersAfter = memory().buffers;
const { exact, outputs } = await exactMatch(test);
for (let i = 0; i < 4; i++) {
  console.log(`  > ${test[i][0].join(' ')}\n  = ${test[i][1].join(' ')}\n  < ${outputs[i].join(' ')}`);
}
console.log(`held-out exact match ${(exact * 100).toFixed(1)}% of ${test.length} sentences never seen in training`);
console.log(`memory().buffers: ${buffersAfterFirst} after step 1, ${buffersAfter} after ${EPOCHS} epochs`);
if (!(exact >= MIN_EXACT) || buffersAfter !== buffersAfterFirst) {
  console.error(`FAILED: held-out exact match should reach ${MIN_EXACT * 100}% and the buffer count should not grow`);
  process.exit(1);
}
