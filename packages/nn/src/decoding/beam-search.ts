/** Beam search through a {@link DecodeStep}: the `beamWidth` best partial sequences at each step. */
import { type Tensor, GhostFlowError, logSoftmax, noGrad, tensor, tidy, topk } from '@ghostflow/core';
import { checkLogits, checkPrompt } from './generate.js';
import { type DecodeStep, type ReorderState, releaseState } from './step.js';

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions<S> {
  /** Number of beams kept at each step (>= 1; 1 is greedy decoding). */
  beamWidth: number;
  /** Most tokens a hypothesis may generate (its `eos` included). */
  maxLength: number;
  /** The end-of-sequence token: a beam that emits it is finished. */
  eos: number;
  /**
   * Exponent of the length in the final score `logProb / length ** lengthPenalty` (Hugging
   * Face's `length_penalty`): > 0 favours longer sequences, < 0 shorter, 0 ranks by log-probability. Default 1.
   */
  lengthPenalty?: number;
  /** Reorders the state's batch dim to follow the surviving beams (see {@link ReorderState}). */
  reorder: ReorderState<S>;
}

/** A finished hypothesis. */
export interface BeamHypothesis {
  /** The generated tokens (prompt excluded), ending with `eos` unless cut at `maxLength`. */
  tokens: number[];
  /** Sum of the tokens' log-probabilities. */
  logProb: number;
  /** `logProb / tokens.length ** lengthPenalty`, what the hypotheses are ranked by. */
  score: number;
}

interface Beam {
  tokens: number[];
  logProb: number;
}

/**
 * Beam search for one prompt, with Hugging Face's rules (`num_beams`, `length_penalty`,
 * `early_stopping=False`): at each step the `2 * beamWidth` best continuations of all beams
 * (sum of log-softmax scores) are taken in order; one ending in `eos` among the first
 * `beamWidth` becomes a finished hypothesis, the others fill the next `beamWidth` beams.
 * Search stops when `beamWidth` hypotheses are finished and none of the live beams
 * (scored at its current length) beats the worst of them, or at `maxLength`, where the live
 * beams are finished as they are. Lengths count generated tokens only (the prompt is not
 * part of the length penalty, as in recent Hugging Face versions). The state is reordered with `reorder` after each step,
 * so the prompt's state (batch 1) fans out to the beams. Runs without grad; the caller keeps
 * its `state`, the search frees every state it gets from `step` or `reorder`.
 * @example
 * ```ts
 * import { type Tensor, indexSelect, tensor, zeros } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { type DecodeStep, beamSearch } from '@ghostflow/nn';
 * declare const step: DecodeStep<Tensor>; // the model's step, state = GRU hidden
 * const prompt = tensor([[1, 5, 7]], { dtype: 'int32' });
 * const h0 = zeros([1, 1, 64]);
 * const EOS = 2;
 * const best = (await beamSearch(step, prompt, h0, {
 *   beamWidth: 4, maxLength: 20, eos: EOS, lengthPenalty: 1,
 *   reorder: (h, idx) => indexSelect(h, 1, idx), // GRU hidden [layers, B, H]
 * }))[0];
 * ```
 * @param step the model's decoding step
 * @param prompt int32 `[1, T]`
 * @param state the model's state for a batch of one
 * @param options `beamWidth`, `maxLength`, `eos`, `lengthPenalty`, `reorder`
 * @returns up to `beamWidth` hypotheses, best first
 */
export async function beamSearch<S>(
  step: DecodeStep<S>,
  prompt: Tensor,
  state: S,
  options: BeamSearchOptions<S>,
): Promise<BeamHypothesis[]> {
  const { beamWidth, maxLength, eos } = options;
  const lengthPenalty = options.lengthPenalty ?? 1;
  if (!(Number.isInteger(beamWidth) && beamWidth >= 1))
    throw new GhostFlowError(`beamSearch(): beamWidth must be an integer >= 1, got ${beamWidth}`);
  if (!(Number.isInteger(maxLength) && maxLength >= 1))
    throw new GhostFlowError(`beamSearch(): maxLength must be an integer >= 1, got ${maxLength}`);
  if (!Number.isFinite(lengthPenalty)) throw new GhostFlowError(`beamSearch(): lengthPenalty must be finite, got ${lengthPenalty}`);
  checkPrompt('beamSearch()', prompt);
  if (prompt.shape[0] !== 1) throw new GhostFlowError(`beamSearch(): prompt must be one sequence [1, T], got [${prompt.shape.join(', ')}]`);

  const score = (logProb: number, length: number): number => logProb / length ** lengthPenalty;
  const finished: BeamHypothesis[] = [];
  const addFinished = (tokens: number[], logProb: number): void => {
    finished.push({ tokens, logProb, score: score(logProb, tokens.length) });
    finished.sort((a, b) => b.score - a.score);
    if (finished.length > beamWidth) finished.pop();
  };

  let beams: Beam[] = [{ tokens: [], logProb: 0 }];
  let tokens = prompt;
  let current = state;
  try {
    for (let length = 1; length <= maxLength; length++) {
      const fed = tokens;
      const out = noGrad(() => tidy(() => step(fed, current)));
      const logits = checkLogits('beamSearch()', out.logits, beams.length);
      const vocab = logits.shape[1];
      const k = Math.min(2 * beamWidth, beams.length * vocab);
      const prior = beams.map((b) => b.logProb);
      const best = noGrad(() =>
        tidy(() => {
          const total = logSoftmax(logits, -1).add(tensor(prior, { device: logits.device }).reshape(-1, 1));
          return topk(total.reshape(-1), k);
        }),
      );
      logits.dispose();
      const [values, indices] = await Promise.all([best.values.data(), best.indices.data()]);
      best.values.dispose();
      best.indices.dispose();

      const next: Beam[] = [];
      const parents: number[] = [];
      for (let rank = 0; rank < k && next.length < beamWidth; rank++) {
        const parent = Math.floor(indices[rank] / vocab);
        const token = indices[rank] % vocab;
        const seq = [...beams[parent].tokens, token];
        if (token === eos) {
          // Hugging Face: an eos outside the first beamWidth candidates is not a hypothesis.
          if (rank < beamWidth) addFinished(seq, values[rank]);
        } else {
          next.push({ tokens: seq, logProb: values[rank] });
          parents.push(parent);
        }
      }
      const lastStep = length === maxLength || next.length === 0;
      const settled =
        finished.length >= beamWidth && finished[finished.length - 1].score >= score(next[0]?.logProb ?? Number.NEGATIVE_INFINITY, length);
      if (lastStep || settled) {
        if (lastStep) for (const b of next) addFinished(b.tokens, b.logProb);
        releaseState(current, out.state, state);
        current = out.state;
        break;
      }
      const order = tensor(parents, { dtype: 'int32', device: prompt.device });
      const reordered = noGrad(() => tidy(() => options.reorder(out.state, order)));
      order.dispose();
      releaseState(current, reordered, state);
      releaseState(out.state, reordered, state);
      current = reordered;
      beams = next;
      if (tokens !== prompt) tokens.dispose();
      tokens = tensor(
        next.map((b) => b.tokens[b.tokens.length - 1]),
        { shape: [next.length, 1], dtype: 'int32', device: prompt.device },
      );
    }
  } finally {
    if (tokens !== prompt) tokens.dispose();
    releaseState(current, null, state);
  }
  return finished;
}
