/** Drawing the next token from logits: greedy, or temperature / top-k / top-p sampling. */
import { type Generator, type Tensor, GhostFlowError, argmax, multinomial, reshape, softmax, tidy } from '@ghostflow/core';
import { type FilterLogitsOptions, checkFilterOptions, filterLogits } from './filter.js';

/** Options of {@link sampleLogits}. */
export interface SampleLogitsOptions extends FilterLogitsOptions {
  /** Divides the logits before filtering (Hugging Face's order); default 1. 0 means greedy (argmax). */
  temperature?: number;
  /** Draw from this generator instead of the global one (seeded runs). */
  generator?: Generator;
}

/**
 * The most probable next token of each row: `argmax` over the last dim (ties: the first).
 * @example
 * ```ts
 * import { tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { greedyToken } from '@ghostflow/nn';
 * greedyToken(tensor([[0.1, 2, 0.3]])); // int32 [1]
 * ```
 * @param logits float32 `[V]` or `[B, V]`
 * @returns int32 `[]` or `[B]`
 */
export function greedyToken(logits: Tensor): Tensor {
  checkLogits('greedyToken()', logits);
  return argmax(logits, -1);
}

/**
 * Samples the next token of each row the way Hugging Face's `generate(do_sample=True)` does:
 * logits divided by `temperature`, then top-k, then top-p filtering ({@link filterLogits}),
 * then one draw from the softmax with `multinomial`. `temperature: 0` is greedy.
 * @example
 * ```ts
 * import { Generator, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { sampleLogits } from '@ghostflow/nn';
 * const logits = randn([2, 1000]); // [B, V]
 * const g = new Generator(42);
 * const next = sampleLogits(logits, { temperature: 0.8, topK: 50, topP: 0.95, generator: g }); // int32 [B]
 * ```
 * @param logits float32 `[V]` or `[B, V]`
 * @param options `temperature` (default 1), `topK`, `topP`, `generator`
 * @returns int32 `[]` or `[B]`
 */
export function sampleLogits(logits: Tensor, options: SampleLogitsOptions = {}): Tensor {
  checkLogits('sampleLogits()', logits);
  checkFilterOptions('sampleLogits()', options);
  const temperature = options.temperature ?? 1;
  if (!(temperature >= 0) || temperature === Number.POSITIVE_INFINITY) {
    throw new GhostFlowError(`sampleLogits(): temperature must be a finite number >= 0 (0 = greedy), got ${temperature}`);
  }
  if (temperature === 0) return greedyToken(logits);
  return tidy(() => {
    const scaled = temperature === 1 ? logits : logits.div(temperature);
    const probs = softmax(filterLogits(scaled, options), -1);
    const drawn = multinomial(probs, 1, { generator: options.generator });
    return reshape(drawn, logits.shape.slice(0, -1));
  });
}

function checkLogits(op: string, logits: Tensor): void {
  if (logits.rank !== 1 && logits.rank !== 2) {
    throw new GhostFlowError(`${op}: expected logits [V] or [B, V], got shape [${logits.shape.join(', ')}]`);
  }
  if (logits.dtype !== 'float32') throw new GhostFlowError(`${op}: expected float32 logits, got ${logits.dtype}`);
}
