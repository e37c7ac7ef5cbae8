/** Autoregressive generation (greedy or sampled) through a {@link DecodeStep}. */
import { type Tensor, GhostFlowError, noGrad, reshape, tidy } from '@ghostflow/core';
import { type SampleLogitsOptions, greedyToken, sampleLogits } from './sample.js';
import { type DecodeStep, releaseState } from './step.js';

/** Options of {@link generate}. */
export interface GenerateOptions extends SampleLogitsOptions {
  /** How many tokens to generate at most per row. */
  maxNewTokens: number;
  /** Token that ends a row (it is included in the row's output); rows stop independently. */
  eos?: number;
  /** Always take the most probable token (same as `temperature: 0`). Default false. */
  greedy?: boolean;
}

/**
 * Generates tokens after `prompt` with any model behind a {@link DecodeStep}: the prompt is
 * fed once (prefill), then each drawn token is fed back, `[B, 1]` at a time. Each row stops
 * at `eos` (the other rows go on) or after `maxNewTokens`. Tokens are greedy
 * (`greedy: true` or `temperature: 0`) or drawn by {@link sampleLogits} (temperature, top-k,
 * top-p, `generator`). Runs without grad. The caller keeps its `state`; every state a step
 * returns is freed once replaced, and the last one at the end.
 * @example
 * ```ts
 * import { Generator, type Tensor, tensor, zeros } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { type DecodeStep, Embedding, GRU, Linear, generate } from '@ghostflow/nn';
 * const embed = new Embedding(100, 32);
 * const gru = new GRU(32, 64, { batchFirst: true });
 * const head = new Linear(64, 100);
 * const prompt = tensor([[1, 5, 7]], { dtype: 'int32' });
 * const h0 = zeros([1, 1, 64]);
 * // An RNN: state = hidden [layers, B, H]
 * const step: DecodeStep<Tensor> = (tokens, h) => {
 *   const [output, hN] = gru.forward(embed.forward(tokens), h); // batchFirst GRU
 *   return { logits: head.forward(output.select(1, -1)), state: hN };
 * };
 * const rows = await generate(step, prompt, h0, { maxNewTokens: 20, topK: 10, generator: new Generator(0) });
 * ```
 * @param step the model's decoding step
 * @param prompt int32 `[B, T]`, T >= 1
 * @param state the model's state before the prompt
 * @param options `maxNewTokens`, `eos`, `greedy`, `temperature`, `topK`, `topP`, `generator`
 * @returns the generated tokens of each row (without the prompt)
 */
export async function generate<S>(step: DecodeStep<S>, prompt: Tensor, state: S, options: GenerateOptions): Promise<number[][]> {
  const { maxNewTokens } = options;
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) {
    throw new GhostFlowError(`generate(): maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  }
  checkPrompt('generate()', prompt);
  const batch = prompt.shape[0];
  const rows: number[][] = Array.from({ length: batch }, () => []);
  const done = new Array<boolean>(batch).fill(false);
  const pick = (logits: Tensor): Tensor => (options.greedy ? greedyToken(logits) : sampleLogits(logits, options));
  let tokens = prompt;
  let current = state;
  try {
    for (let i = 0; i < maxNewTokens && done.includes(false); i++) {
      const fed = tokens;
      const out = noGrad(() => tidy(() => step(fed, current)));
      const next = noGrad(() => tidy(() => pick(checkLogits('generate()', out.logits, batch))));
      out.logits.dispose();
      releaseState(current, out.state, state);
      current = out.state;
      const ids = await next.data();
      for (let b = 0; b < batch; b++) {
        if (done[b]) continue;
        rows[b].push(ids[b]);
        if (ids[b] === options.eos) done[b] = true;
      }
      if (tokens !== prompt) tokens.dispose();
      tokens = reshape(next, [batch, 1]);
      next.dispose();
    }
  } finally {
    if (tokens !== prompt) tokens.dispose();
    releaseState(current, null, state);
  }
  return rows;
}

/** Checks a prompt is int32 `[B, T]` with T >= 1. */
export function checkPrompt(op: string, prompt: Tensor): void {
  if (prompt.rank !== 2 || prompt.shape[1] < 1 || prompt.dtype !== 'int32') {
    throw new GhostFlowError(`${op}: prompt must be int32 [B, T] with T >= 1, got ${prompt.dtype} [${prompt.shape.join(', ')}]`);
  }
}

/** Checks a step's logits are float32 `[B, V]` for the expected B, and returns them. */
export function checkLogits(op: string, logits: Tensor, batch: number): Tensor {
  if (logits.rank !== 2 || logits.shape[0] !== batch) {
    throw new GhostFlowError(`${op}: the step must return logits [${batch}, V] (one row per sequence), got [${logits.shape.join(', ')}]`);
  }
  return logits;
}
