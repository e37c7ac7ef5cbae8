/**
 * The playground's model and training loop: a character-level language model
 * (Embedding → GRU → Linear over the characters), trained with Adam on random windows of the
 * shipped text, sampled one character at a time by carrying the GRU's hidden state.
 * Everything runs on the active GhostFlow backend (`setBackend` before `createTrainer`).
 */
import { type Tensor, manualSeed, noGrad, tensor, tidy } from '@ghostflow/core';
import { Adam, Embedding, GRU, Linear, Module, clipGradNorm, crossEntropy } from '@ghostflow/nn';

export interface TrainerOptions {
  /** Characters per training window. */
  context: number;
  /** Windows per step. */
  batch: number;
  /** Embedding width. */
  embed: number;
  /** GRU hidden size. */
  hidden: number;
  /** Adam learning rate. */
  lr: number;
  /** Seed for parameter init (manualSeed) and for the window/sampling PRNG. */
  seed: number;
}

export const DEFAULT_OPTIONS: TrainerOptions = { context: 32, batch: 16, embed: 32, hidden: 64, lr: 1e-2, seed: 0 };

/** mulberry32: a small seeded PRNG, so windows and samples are the same on every backend. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class CharGRU extends Module {
  readonly emb: Embedding;
  readonly gru: GRU;
  readonly head: Linear;
  constructor(vocab: number, embed: number, hidden: number) {
    super();
    this.emb = this.registerModule('emb', new Embedding(vocab, embed));
    this.gru = this.registerModule('gru', new GRU(embed, hidden, { batchFirst: true }));
    this.head = this.registerModule('head', new Linear(hidden, vocab));
  }
  /** x [B, T] int32 → logits [B, T, vocab] and the last hidden state [1, B, hidden]. */
  forward(x: Tensor, h?: Tensor | null): [Tensor, Tensor] {
    const [out, hN] = this.gru.forward(this.emb.forward(x), h ?? null);
    return [this.head.forward(out), hN];
  }
}

export interface Trainer {
  readonly vocab: string[];
  readonly parameters: number;
  /** One optimisation step; resolves with its loss (read back from the device). */
  step(): Promise<number>;
  /** Samples `n` characters after `prompt` with the given temperature. */
  sample(prompt: string, n: number, temperature?: number): Promise<string>;
  dispose(): void;
}

/** Builds a fresh model on the active backend (seeded) and returns its training/sampling handle. */
export function createTrainer(text: string, options: Partial<TrainerOptions> = {}): Trainer {
  const o = { ...DEFAULT_OPTIONS, ...options };
  const vocab = [...new Set(text)].sort();
  const ids = Int32Array.from(text, (c) => vocab.indexOf(c));
  manualSeed(o.seed);
  const random = rng(o.seed + 1);
  const model = new CharGRU(vocab.length, o.embed, o.hidden);
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);

  async function step(): Promise<number> {
    const x = new Int32Array(o.batch * o.context);
    const y = new Int32Array(o.batch * o.context);
    for (let b = 0; b < o.batch; b++) {
      const s = Math.floor(random() * (ids.length - o.context - 1));
      x.set(ids.subarray(s, s + o.context), b * o.context);
      y.set(ids.subarray(s + 1, s + o.context + 1), b * o.context);
    }
    const loss = tidy(() => {
      optimizer.zeroGrad();
      const xt = tensor(x, { shape: [o.batch, o.context], dtype: 'int32' });
      const yt = tensor(y, { shape: [o.batch * o.context], dtype: 'int32' });
      const [logits] = model.forward(xt);
      const loss = crossEntropy(logits.reshape(-1, vocab.length), yt);
      loss.backward();
      clipGradNorm(model.parameters(), 1.0);
      optimizer.step();
      return loss.detach();
    });
    const v = await loss.item();
    loss.dispose();
    return v;
  }

  async function sample(prompt: string, n: number, temperature = 0.7): Promise<string> {
    const known = [...prompt].filter((c) => vocab.includes(c));
    const out = known.length > 0 ? known.map((c) => vocab.indexOf(c)) : [0];
    let h: Tensor | null = null;
    // The whole prompt first, then one character at a time, carrying the GRU's hidden state.
    let input = out.slice();
    for (let i = 0; i < n; i++) {
      const prev: Tensor | null = h;
      const xs = input;
      const [probs, hN] = tidy(() =>
        noGrad(() => {
          const xt = tensor(Int32Array.from(xs), { shape: [1, xs.length], dtype: 'int32' });
          const [logits, hN] = model.forward(xt, prev);
          return [
            logits
              .select(1, xs.length - 1)
              .select(0, 0)
              .div(temperature)
              .softmax(0),
            hN,
          ] as [Tensor, Tensor];
        }),
      );
      prev?.dispose();
      h = hN;
      const p = await probs.data();
      probs.dispose();
      let r = random();
      let next = p.length - 1;
      for (let k = 0; k < p.length; k++) {
        r -= p[k] as number;
        if (r <= 0) {
          next = k;
          break;
        }
      }
      out.push(next);
      input = [next];
    }
    (h as Tensor | null)?.dispose();
    return out.map((k) => vocab[k]).join('');
  }

  return {
    vocab,
    parameters,
    step,
    sample,
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
}
