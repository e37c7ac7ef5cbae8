/** Transformer layers, stacks and the encoder-decoder model. */
export { TransformerEncoderLayer, TransformerDecoderLayer } from './layers.js';
export type {
  TransformerActivation,
  TransformerLayerOptions,
  TransformerEncoderLayerForwardOptions,
  TransformerDecoderLayerForwardOptions,
} from './layers.js';
export { TransformerEncoder, TransformerDecoder, Transformer, generateSquareSubsequentMask } from './transformer.js';
export type {
  TransformerEncoderForwardOptions,
  TransformerDecoderForwardOptions,
  TransformerOptions,
  TransformerForwardOptions,
} from './transformer.js';
