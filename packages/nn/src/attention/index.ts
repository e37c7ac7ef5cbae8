/** Attention: scaled dot-product attention, multi-head attention, KV cache, positional encodings. */
export {
  scaledDotProductAttention,
  scaledDotProductAttentionWithWeights,
  causalMask,
  mergeMasks,
} from './sdpa.js';
export type { ScaledDotProductAttentionOptions, AttentionResult } from './sdpa.js';
export { MultiheadAttention } from './multihead-attention.js';
export type { MultiheadAttentionOptions, MultiheadAttentionForwardOptions } from './multihead-attention.js';
export { KVCache } from './kv-cache.js';
export { SinusoidalPositionalEncoding, sinusoidalTable, RotaryEmbedding, applyRotaryEmbedding } from './positional.js';
export type { SinusoidalPositionalEncodingOptions, RotaryEmbeddingOptions } from './positional.js';
