/**
 * Recurrent layers (`RNNCell`, `LSTMCell`, `GRUCell`, `RNN`, `LSTM`, `GRU`) and
 * variable-length batch utilities (`PackedSequence` and the pack/pad functions).
 */
export { RNNCellBase, RNNCell, LSTMCell, GRUCell } from './cells.js';
export type { RNNCellBaseOptions, RNNCellOptions, LSTMCellOptions, GRUCellOptions } from './cells.js';
export { RNNBase, RNN, LSTM, GRU } from './rnn.js';
export type { RNNBaseOptions, RNNOptions, LSTMOptions, GRUOptions, RNNMode } from './rnn.js';
export { PackedSequence, packPaddedSequence, padPackedSequence, padSequence, packSequence } from './packing.js';
export type { HostInts, PackPaddedOptions, PadPackedOptions, PadSequenceOptions, PackSequenceOptions } from './packing.js';
