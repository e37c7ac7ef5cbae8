/**
 * A small parallel corpus generated deterministically from a toy grammar: English sentences
 * "the [adj] noun verb the [adj] noun" and their translation into a pseudo-language with
 * subject-object-verb order, adjectives after nouns and an object marker "ko":
 *
 *   the big cat sees the old dog  →  miro gron wanu vel ko vidu
 *
 * Word order changes, so the decoder must attend to the right source word at each step.
 */
const NOUNS = { cat: 'miro', dog: 'wanu', bird: 'pela', fox: 'suka', girl: 'tami', boy: 'deno' };
const ADJECTIVES = { big: 'gron', small: 'lit', red: 'rua', old: 'vel' };
const VERBS = { sees: 'vidu', eats: 'manja', likes: 'ama', chases: 'kuri' };

/** mulberry32: a tiny seeded PRNG, so the corpus and its split are the same on every run. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `items` in place (Fisher–Yates) with the uniform draws of `random`; returns it. */
export function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Every sentence of the grammar with its translation: [english words, pseudo words]. */
function allPairs() {
  const adjs = [null, ...Object.keys(ADJECTIVES)];
  const pairs = [];
  for (const s of Object.keys(NOUNS))
    for (const sa of adjs)
      for (const v of Object.keys(VERBS))
        for (const o of Object.keys(NOUNS))
          for (const oa of adjs) {
            const en = ['the', ...(sa ? [sa] : []), s, v, 'the', ...(oa ? [oa] : []), o];
            const xx = [NOUNS[s], ...(sa ? [ADJECTIVES[sa]] : []), NOUNS[o], ...(oa ? [ADJECTIVES[oa]] : []), 'ko', VERBS[v]];
            pairs.push([en, xx]);
          }
  return pairs;
}

/**
 * `count` distinct pairs drawn with a seeded shuffle, split into `count - heldOut` for training
 * and `heldOut` never seen in training.
 */
export function makeCorpus(count = 600, heldOut = 100, seed = 1) {
  const pairs = shuffle(allPairs(), rng(seed));
  const chosen = pairs.slice(0, count);
  return { train: chosen.slice(0, count - heldOut), test: chosen.slice(count - heldOut) };
}

/** The tutorial's Lang: word ↔ index, with SOS = 0 and EOS = 1. */
export class Lang {
  constructor(name) {
    this.name = name;
    this.word2index = new Map();
    this.index2word = ['SOS', 'EOS'];
  }
  addSentence(words) {
    for (const w of words) {
      if (!this.word2index.has(w)) {
        this.word2index.set(w, this.index2word.length);
        this.index2word.push(w);
      }
    }
  }
  get nWords() {
    return this.index2word.length;
  }
}
