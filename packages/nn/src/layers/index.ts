/** Basic layers: Linear, Embedding, LayerNorm, Dropout and activation modules. */
export { Linear } from './linear.js';
export type { LinearOptions } from './linear.js';
export { Embedding, embedding } from './embedding.js';
export type { EmbeddingOptions } from './embedding.js';
export { LayerNorm } from './layer-norm.js';
export type { LayerNormOptions } from './layer-norm.js';
export { Dropout } from './dropout.js';
export { ReLU, LeakyReLU, GELU, SiLU, Swish, Mish, ELU, SELU, Tanh, Sigmoid, Softplus, Softmax, LogSoftmax } from './activations.js';
export { Identity } from './identity.js';
export { Flatten, Unflatten } from './flatten.js';
export { RMSNorm, rmsNorm } from './rms-norm.js';
export type { RMSNormOptions } from './rms-norm.js';
export { CosineSimilarity, PairwiseDistance } from './distance.js';
export type { PairwiseDistanceOptions } from './distance.js';
