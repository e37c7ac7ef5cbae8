/**
 * @ghostflow/nn: modules, layers, recurrent models, losses, optimizers and serialization,
 * with PyTorch's names and numbers. Uses only @ghostflow/core's public API.
 * @packageDocumentation
 */
export { Module } from './module.js';
export type { StateDict, LoadStateDictResult, RemovableHandle, ForwardHook, ForwardPreHook } from './module.js';
export { Parameter, isParameter } from './parameter.js';
export type { ParameterConstructor } from './parameter.js';
export { Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict } from './containers.js';
export type { UnaryModule } from './containers.js';
export { Identity, Flatten, Unflatten } from './layers/index.js';
export { checkpoint } from './checkpoint.js';
export * as init from './init.js';

// Recurrent layers and packed sequences.
export {
  RNNCellBase,
  RNNCell,
  LSTMCell,
  GRUCell,
  RNNBase,
  RNN,
  LSTM,
  GRU,
  PackedSequence,
  packPaddedSequence,
  padPackedSequence,
  padSequence,
  packSequence,
} from './recurrent/index.js';
export type {
  RNNCellBaseOptions,
  RNNCellOptions,
  LSTMCellOptions,
  GRUCellOptions,
  RNNBaseOptions,
  RNNOptions,
  LSTMOptions,
  GRUOptions,
  RNNMode,
  HostInts,
  PackPaddedOptions,
  PadPackedOptions,
  PadSequenceOptions,
  PackSequenceOptions,
} from './recurrent/index.js';

// Layers: Linear, Embedding, LayerNorm, Dropout, activation modules.
export {
  Linear,
  Embedding,
  LayerNorm,
  Dropout,
  ReLU,
  LeakyReLU,
  GELU,
  SiLU,
  Swish,
  Mish,
  ELU,
  SELU,
  Tanh,
  Sigmoid,
  Softplus,
  Softmax,
  LogSoftmax,
  RMSNorm,
  rmsNorm,
  CosineSimilarity,
  PairwiseDistance,
} from './layers/index.js';
export type { LinearOptions, EmbeddingOptions, LayerNormOptions, RMSNormOptions, PairwiseDistanceOptions } from './layers/index.js';

// Functional API (torch.nn.functional): `functional` / `F` namespaces; losses and the activations core lacks also by name.
export * as functional from './functional/index.js';
export * as F from './functional/index.js';
export { leakyRelu, elu, selu, mish, swish, dropout, implicitSoftmaxDim, SELU_ALPHA, SELU_SCALE } from './functional/activation.js';
export {
  mseLoss,
  l1Loss,
  huberLoss,
  smoothL1Loss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  nllLoss,
  crossEntropy,
  sigmoidFocalLoss,
  pairwiseDistance,
  tripletMarginLoss,
  cosineEmbeddingLoss,
  contrastiveLoss,
  klDiv,
} from './functional/loss.js';
export { normalize, cosineSimilarity } from './functional/distance.js';
export type { NormalizeOptions, CosineSimilarityOptions } from './functional/distance.js';
export { ctcLoss } from './functional/ctc.js';
export type { CTCLossOptions } from './functional/ctc.js';
export type {
  Reduction,
  ReductionOptions,
  HuberLossOptions,
  SmoothL1LossOptions,
  BinaryCrossEntropyOptions,
  BinaryCrossEntropyWithLogitsOptions,
  NLLLossOptions,
  CrossEntropyOptions,
  SigmoidFocalLossOptions,
  TripletMarginLossOptions,
  CosineEmbeddingLossOptions,
  ContrastiveLossOptions,
  KLDivOptions,
} from './functional/loss.js';

// Loss modules.
export {
  Loss,
  MSELoss,
  L1Loss,
  HuberLoss,
  SmoothL1Loss,
  BCELoss,
  BCEWithLogitsLoss,
  NLLLoss,
  CrossEntropyLoss,
  SigmoidFocalLoss,
  TripletMarginLoss,
  CosineEmbeddingLoss,
  ContrastiveLoss,
  KLDivLoss,
  CTCLoss,
} from './losses/index.js';

// Optimizers, gradient clipping, LR schedulers (torch.optim); in this package, not a subpath: see README.
export {
  Optimizer,
  ParamState,
  disposeOptimizerStateDict,
  SGD,
  Adam,
  AdamW,
  RMSprop,
  Adagrad,
  Adamax,
  NAdam,
  RAdam,
  LBFGS,
  clipGradNorm,
  clipGradValue,
  LRScheduler,
  LambdaLR,
  MultiplicativeLR,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  ConstantLR,
  LinearLR,
  PolynomialLR,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  OneCycleLR,
  CyclicLR,
  SequentialLR,
  ChainedScheduler,
  ReduceLROnPlateau,
} from './optim/index.js';
export type {
  BaseGroupOptions,
  Closure,
  ParamGroup,
  ParamGroupInput,
  ParamsInput,
  OptimizerStateDict,
  ParamGroupState,
  ParamStateEntry,
  SGDOptions,
  AdamOptions,
  RMSpropOptions,
  AdagradOptions,
  AdamaxOptions,
  NAdamOptions,
  RAdamOptions,
  LBFGSOptions,
  SchedulerLike,
  SchedulerStateDict,
  SchedulerOptions,
  StepLROptions,
  MultiStepLROptions,
  ExponentialLROptions,
  ConstantLROptions,
  LinearLROptions,
  PolynomialLROptions,
  CosineAnnealingLROptions,
  CosineAnnealingWarmRestartsOptions,
  OneCycleLROptions,
  CyclicLROptions,
  ReduceLROnPlateauOptions,
} from './optim/index.js';

// Serialization: safetensors.
// Node file helpers (`save`/`load`) are in '@ghostflow/nn/node', browser ones in '@ghostflow/nn/browser':
// this entry imports nothing platform-specific, so it bundles for browsers without warnings.
export { saveSafetensors, saveSafetensorsSync, loadSafetensors, readSafetensorsHeader } from './serialization/index.js';
export { encodeCheckpoint, decodeCheckpoint } from './serialization/index.js';
export type {
  SafetensorsMetadata,
  SaveSafetensorsOptions,
  LoadSafetensorsOptions,
  SafetensorsEntry,
  SafetensorsHeader,
  TensorDict,
  CheckpointParts,
  CheckpointTargets,
  RestoredCheckpoint,
} from './serialization/index.js';

// Attention and Transformer: scaled dot-product attention, MultiheadAttention, KV cache, positional encodings, Transformer layers.
export {
  scaledDotProductAttention,
  scaledDotProductAttentionWithWeights,
  causalMask,
  mergeMasks,
  MultiheadAttention,
  KVCache,
  SinusoidalPositionalEncoding,
  sinusoidalTable,
  RotaryEmbedding,
  applyRotaryEmbedding,
} from './attention/index.js';
export type {
  ScaledDotProductAttentionOptions,
  AttentionResult,
  MultiheadAttentionOptions,
  MultiheadAttentionForwardOptions,
  SinusoidalPositionalEncodingOptions,
  RotaryEmbeddingOptions,
} from './attention/index.js';
export {
  TransformerEncoderLayer,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerDecoder,
  Transformer,
  generateSquareSubsequentMask,
} from './transformer/index.js';
export type {
  TransformerActivation,
  TransformerLayerOptions,
  TransformerEncoderLayerForwardOptions,
  TransformerDecoderLayerForwardOptions,
  TransformerEncoderForwardOptions,
  TransformerDecoderForwardOptions,
  TransformerOptions,
  TransformerForwardOptions,
} from './transformer/index.js';

// Decoding: greedy / temperature / top-k / top-p sampling, generation and beam search through one step interface.
export { filterLogits, greedyToken, sampleLogits, generate, beamSearch } from './decoding/index.js';
export type {
  FilterLogitsOptions,
  SampleLogitsOptions,
  DecodeStep,
  StepOutput,
  ReorderState,
  GenerateOptions,
  BeamSearchOptions,
  BeamHypothesis,
} from './decoding/index.js';

// Convolutions: layers and functional forms (one N-d implementation; see functional/conv.ts).
export {
  ConvNdBase,
  ConvNd,
  Conv1d,
  Conv2d,
  Conv3d,
  ConvTransposeNd,
  ConvTranspose1d,
  ConvTranspose2d,
  ConvTranspose3d,
} from './layers/conv.js';
export type { ConvPaddingMode, ConvLayerBaseOptions, ConvLayerOptions, ConvTransposeLayerOptions } from './layers/conv.js';
export {
  convNd,
  conv1d,
  conv2d,
  conv3d,
  convTransposeNd,
  convTranspose1d,
  convTranspose2d,
  convTranspose3d,
  convTransposeOutputSize,
  convTuple,
} from './functional/conv.js';
export type { ConvSize, ConvPadding, ConvOptions, ConvTransposeOptions } from './functional/conv.js';

// Data loading (torch.utils.data): datasets, samplers, collates, DataLoader, randomSplit.
export {
  Dataset,
  IterableDataset,
  TensorDataset,
  Subset,
  ConcatDataset,
  SequentialSampler,
  RandomSampler,
  BatchSampler,
  defaultCollate,
  padCollate,
  packCollate,
  DataLoader,
  randomSplit,
} from './data/index.js';
export type {
  Sampler,
  BatchIndexSampler,
  RandomSamplerOptions,
  CollateFn,
  Collated,
  PadCollated,
  PackCollated,
  PaddedBatch,
  PadCollateOptions,
  DataLoaderOptions,
  RandomSplitOptions,
} from './data/index.js';

// Training UX: progress bar, metrics logger and TensorBoard event records (file writing: `@ghostflow/nn/node`).
export {
  ProgressBar,
  formatDuration,
  MetricsLogger,
  jsonLinesSink,
  tfeventsSink,
  memorySink,
  crc32c,
  maskedCrc32c,
  encodeEvent,
  frameRecord,
  fileVersionRecord,
  scalarsRecord,
  TFEVENTS_FILE_VERSION,
} from './training/index.js';
export type {
  ProgressMode,
  ProgressOptions,
  ProgressState,
  MetricsRecord,
  MetricsSink,
  MetricsLoggerOptions,
  TfEvent,
} from './training/index.js';
